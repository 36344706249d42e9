"""Migrations apply once each, in order, recorded, and survive a race."""

import asyncio
import shutil

import asyncpg
import pytest

from exchange.store.db import open_database
from exchange.store.migrate import MIGRATIONS_DIR, MigrationError, discover, migrate

CORE_TABLES = {"journal", "instruments", "accounts", "api_keys", "orders", "trades",
               "ledger_entries", "balances", "schema_migrations"}


async def _tables(conn):
    rows = await conn.fetch("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
    return {r[0] for r in rows}


async def test_migrate_applies_every_file_once_and_records_it(empty_dsn, tmp_path):
    db = await open_database(empty_dsn, tmp_path)
    try:
        names = [name for _, name, _ in discover()]
        assert await migrate(db.pool) == names
        assert await migrate(db.pool) == []
        async with db.pool.acquire() as conn:
            assert CORE_TABLES <= await _tables(conn)
            rows = await conn.fetch("SELECT version, name FROM schema_migrations ORDER BY version")
            assert [r["name"] for r in rows] == names
    finally:
        await db.close()


async def test_two_racing_runners_apply_each_migration_once(empty_dsn):
    conns = [await asyncpg.connect(empty_dsn) for _ in range(3)]
    try:
        results = await asyncio.gather(*(migrate(c) for c in conns))
        assert sorted(len(r) for r in results) == [0, 0, len(discover())]
        count = await conns[0].fetchval("SELECT count(*) FROM schema_migrations")
        assert count == len(discover())
    finally:
        for c in conns:
            await c.close()


async def test_a_failing_migration_leaves_nothing_behind(empty_dsn, tmp_path):
    shutil.copytree(MIGRATIONS_DIR, tmp_path / "m")
    (tmp_path / "m" / "9999_broken.sql").write_text(
        "CREATE TABLE half_done (x int); SELECT no_such_function();")
    conn = await asyncpg.connect(empty_dsn)
    try:
        with pytest.raises(asyncpg.PostgresError):
            await migrate(conn, tmp_path / "m")
        assert "half_done" not in await _tables(conn)
        assert "journal" in await _tables(conn)  # earlier files stay applied
        assert await conn.fetchval("SELECT max(version) FROM schema_migrations") < 9999
    finally:
        await conn.close()


async def test_an_edited_applied_migration_is_refused(empty_dsn, tmp_path):
    shutil.copytree(MIGRATIONS_DIR, tmp_path / "m")
    conn = await asyncpg.connect(empty_dsn)
    try:
        await migrate(conn, tmp_path / "m")
        first = sorted((tmp_path / "m").glob("0001_*.sql"))[0]
        first.write_text(first.read_text() + "\n-- edited\n")
        with pytest.raises(MigrationError, match="changed after it was applied"):
            await migrate(conn, tmp_path / "m")
    finally:
        await conn.close()


def test_badly_named_files_are_refused(tmp_path):
    (tmp_path / "1_x.sql").write_text("")
    with pytest.raises(MigrationError):
        discover(tmp_path)
