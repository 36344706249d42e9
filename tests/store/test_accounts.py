"""Accounts get their ids from an identity column, through the one function that creates
them: concurrent creations get distinct ids, and the migration keeps the ids already there."""

import asyncio
import shutil

import asyncpg
import pytest

from exchange.store.db import open_database
from exchange.store.migrate import MIGRATIONS_DIR, migrate
from exchange.store.queries import accounts


async def test_concurrent_creations_get_distinct_ids(db):
    # many connections at once, each in a transaction of its own (no table lock taken)
    async def create(i):
        async with db.pool.acquire() as conn:
            async with conn.transaction():
                return (await accounts.create(conn, f"trader-{i}"))["account_id"]

    ids = await asyncio.gather(*[create(i) for i in range(40)])
    assert sorted(ids) == list(range(1, 41))
    assert await accounts.exists(db.pool, 40) and not await accounts.exists(db.pool, 41)


async def test_a_name_is_taken_once_and_a_refused_creation_leaves_nothing(db):
    first = await accounts.create(db.pool, "ada")
    with pytest.raises(asyncpg.UniqueViolationError):
        await accounts.create(db.pool, "ada")
    assert await db.pool.fetchval("SELECT count(*) FROM accounts") == 1
    assert (await accounts.create(db.pool, "bob"))["account_id"] > first["account_id"]


async def test_an_insert_that_names_an_id_is_refused(db):
    with pytest.raises(asyncpg.GeneratedAlwaysError):
        await db.pool.execute("INSERT INTO accounts (account_id, name) VALUES (7, 'x')")


async def test_the_migration_keeps_existing_ids_and_continues_after_them(empty_dsn, tmp_path):
    before = tmp_path / "migrations"
    before.mkdir()
    for path in MIGRATIONS_DIR.glob("*.sql"):
        if int(path.name[:4]) < 11:
            shutil.copy(path, before / path.name)
    db = await open_database(empty_dsn, tmp_path)
    try:
        await migrate(db.pool, before)
        # ids as the old max + 1 code made them, with a gap
        await db.pool.execute("INSERT INTO accounts (account_id, name) VALUES (1, 'a'), (5, 'b')")
        await migrate(db.pool)
        assert (await accounts.create(db.pool, "c"))["account_id"] == 6
        assert await db.pool.fetchval("SELECT name FROM accounts WHERE account_id = 5") == "b"
    finally:
        await db.close()
