"""The journal is a hash chain: it verifies after real traffic, and any edit, deletion or
reordering of rows is reported at the right seq (exchange.store.audit, `exchange audit verify`)."""

import asyncio
import itertools
import os
import pathlib
import random
import shutil
import subprocess
import sys

import asyncpg
import pytest

from exchange.engine import Deposit, PlaceOrder, Sequencer
from exchange.server import migrate_only
from exchange.settings import Settings
from exchange.store import Batcher, codec
from exchange.store.audit import (GENESIS, AuditError, canonical, chain_head, row_hash,
                                  seal_legacy, verify)
from exchange.store.db import open_database
from exchange.store.migrate import MIGRATIONS_DIR, migrate

from tests.helpers.store_streams import random_commands, setup_commands

ROOT = pathlib.Path(__file__).resolve().parents[2]


def _odd_commands(ts):
    """Values the codec tags or jsonb could change: non-ASCII, NUL, lone surrogates, > int64.

    The NUL and the surrogate ride on a rejected order: only the journal keeps them.
    """
    return [Deposit(ts, 1, "USD", 5, ref="café ☃ \"quoted\" \\ end"),
            Deposit(ts, 2, "USD", 10**30, ref="big"),
            PlaceOrder(ts, 3, "NOPE", "buy", "LIMIT", qty=2**70, price=1,
                       client_order_id="\ud800 lone \x00 nul")]


async def _journal(pool, seq, cmds, **kw):
    """Apply and journal ``cmds`` through a fresh Batcher (it reads the chain head itself)."""
    batcher = Batcher(pool, max_batch=100, **kw)
    batcher.start()
    futures = []
    for i, cmd in enumerate(cmds):
        futures.append(batcher.append(seq.seq + 1, cmd, seq.apply(cmd)))
        if i % 37 == 0:
            await asyncio.sleep(0)
    await asyncio.gather(*futures)
    await batcher.stop()
    return batcher


@pytest.fixture
async def journaled(pool):
    """A journal written by two batchers in turn (the second continues the first's chain)."""
    rng = random.Random(7)
    seq = Sequencer()
    first = itertools.chain(setup_commands(), _odd_commands(2),
                            random_commands(rng, seq, 300, ts=3))
    await _journal(pool, seq, first)
    await _journal(pool, seq, random_commands(rng, seq, 200, ts=10**7))
    return pool, seq.seq


async def _verify(pool):
    async with pool.acquire() as conn:
        return await verify(conn)


async def _row_seq(conn, where):
    return await conn.fetchval(f"SELECT min(seq) FROM journal WHERE {where} AND seq > 50")


async def test_the_chain_verifies_after_traffic_through_the_batcher(journaled):
    pool, last = journaled
    verdict = await _verify(pool)
    assert verdict.ok, verdict.message()
    assert (verdict.rows, verdict.head_seq) == (last, last)
    async with pool.acquire() as conn:
        rows = await conn.fetch("SELECT seq, ts_ns, kind, command, rejected, hash FROM journal "
                                "ORDER BY seq")
        assert verdict.head_hash == rows[-1]["hash"] == await chain_head(conn)
    # Every stored hash is reproducible from the stored row and its predecessor's hash.
    prev = GENESIS
    for r in rows:
        assert r["hash"] == row_hash(prev, r["seq"], r["ts_ns"], r["kind"],
                                     canonical(r["command"]), r["rejected"])
        prev = r["hash"]
    assert any(r["rejected"] for r in rows) and any(not r["rejected"] for r in rows)


async def test_the_canonical_bytes_survive_jsonb(pool):
    """What the batcher hashed is what the verifier recomputes from jsonb's reordered value."""
    cmds = setup_commands() + _odd_commands(2)
    async with pool.acquire() as conn:
        for cmd in cmds:
            sent = canonical(codec.encode(cmd))
            back = await conn.fetchval("SELECT $1::jsonb", sent)
            assert canonical(back) == sent


async def test_an_edited_command_breaks_the_chain_at_its_seq(journaled):
    pool, _ = journaled
    async with pool.acquire() as conn:
        target = await _row_seq(conn, "kind = 'PlaceOrder'")
        await conn.execute("UPDATE journal SET command = jsonb_set(command, '{qty}', '999') "
                           "WHERE seq = $1", target)
    verdict = await _verify(pool)
    assert (verdict.ok, verdict.broken_seq, verdict.head_seq) == (False, target, target - 1)
    assert f"broken at seq {target}" in verdict.message()


@pytest.mark.parametrize("column, value", [("ts_ns", "ts_ns + 1"), ("kind", "'Deposit'"),
                                           ("rejected", "'EDITED'")])
async def test_an_edit_of_any_hashed_column_is_detected(journaled, column, value):
    pool, _ = journaled
    async with pool.acquire() as conn:
        target = await _row_seq(conn, "kind = 'PlaceOrder'")
        await conn.execute(f"UPDATE journal SET {column} = {value} WHERE seq = $1", target)
    assert (await _verify(pool)).broken_seq == target


async def test_an_edit_with_a_recomputed_hash_breaks_the_next_link(journaled):
    pool, _ = journaled
    async with pool.acquire() as conn:
        target = await _row_seq(conn, "kind = 'PlaceOrder'")
        prev = await conn.fetchval("SELECT hash FROM journal WHERE seq = $1", target - 1)
        row = await conn.fetchrow("SELECT * FROM journal WHERE seq = $1", target)
        command = {**row["command"], "qty": 999}
        forged = row_hash(prev, target, row["ts_ns"], row["kind"], canonical(command),
                          row["rejected"])
        await conn.execute("UPDATE journal SET command = $2, hash = $3 WHERE seq = $1",
                           target, command, forged)
    assert (await _verify(pool)).broken_seq == target + 1


async def test_a_deleted_row_is_reported_as_missing(journaled):
    pool, _ = journaled
    async with pool.acquire() as conn:
        await conn.execute("DELETE FROM journal WHERE seq = 77")
    verdict = await _verify(pool)
    assert (verdict.ok, verdict.broken_seq, verdict.rows) == (False, 77, 76)
    assert "seq 77 missing" in verdict.message()


async def test_rows_deleted_from_the_end_are_reported_by_the_tables_naming_them(journaled):
    pool, last = journaled
    async with pool.acquire() as conn:
        cut = await conn.fetchval("SELECT max(seq) FROM ledger_entries")
        await conn.execute("DELETE FROM journal WHERE seq >= $1", cut)
    verdict = await _verify(pool)
    assert (verdict.ok, verdict.broken_seq) == (False, cut)
    assert "missing from the end" in verdict.reason


@pytest.mark.parametrize("with_hashes", [False, True])
async def test_two_swapped_rows_are_reported_at_the_first(journaled, with_hashes):
    pool, _ = journaled
    a, b = 60, 90
    moved = "ts_ns = o.ts_ns, kind = o.kind, command = o.command, rejected = o.rejected"
    if with_hashes:
        moved += ", hash = o.hash"
    async with pool.acquire() as conn:
        await conn.execute(f"UPDATE journal j SET {moved} FROM journal o "
                           "WHERE (j.seq, o.seq) IN (($1, $2), ($2, $1))", a, b)
        assert await conn.fetchval("SELECT command FROM journal WHERE seq = $1", a) != \
            await conn.fetchval("SELECT command FROM journal WHERE seq = $1", b)
    assert (await _verify(pool)).broken_seq == a


async def test_a_legacy_journal_is_sealed_once_and_the_batcher_continues_its_chain(journaled):
    pool, last = journaled
    async with pool.acquire() as conn:
        await conn.execute("UPDATE journal SET hash = NULL")  # as written before 0004
        with pytest.raises(AuditError, match=f"seq {last} has no hash"):
            await chain_head(conn)
    assert not (await _verify(pool)).ok
    assert await seal_legacy(pool) == last
    assert await seal_legacy(pool) == 0
    assert (await _verify(pool)).ok
    seq = Sequencer()
    async with pool.acquire() as conn:  # the sequencer's seq only; state does not matter here
        seq.seq = await conn.fetchval("SELECT max(seq) FROM journal")
    await _journal(pool, seq, [Deposit(10**8, 1, "USD", 1 + i) for i in range(5)])
    verdict = await _verify(pool)
    assert verdict.ok and verdict.head_seq == last + 5


async def test_a_hash_removed_after_the_chain_started_is_not_resealed(journaled):
    pool, _ = journaled
    async with pool.acquire() as conn:
        await conn.execute("UPDATE journal SET hash = NULL WHERE seq = 70")
    assert await seal_legacy(pool) == 0
    verdict = await _verify(pool)
    assert (verdict.broken_seq, verdict.reason) == (70, "no hash")


async def test_a_batcher_refuses_to_chain_onto_an_unsealed_journal(journaled):
    pool, last = journaled
    async with pool.acquire() as conn:
        await conn.execute("UPDATE journal SET hash = NULL")
    fatal = []
    batcher = Batcher(pool, on_fatal=fatal.append)
    batcher.start()
    await batcher.stop()
    assert len(fatal) == 1 and isinstance(fatal[0], AuditError)
    assert not batcher.running


def _cli(dsn, tmp_path):
    env = {**os.environ, "EXCHANGE_DATABASE_URL": dsn, "EXCHANGE_DATA_DIR": str(tmp_path)}
    return subprocess.run([sys.executable, "-m", "exchange.cli", "audit", "verify"], cwd=ROOT,
                          env=env, capture_output=True, text=True, timeout=60)


async def test_the_cli_exits_0_when_intact_and_1_naming_the_broken_seq(journaled, fresh_dsn,
                                                                         tmp_path):
    pool, last = journaled
    done = await asyncio.to_thread(_cli, fresh_dsn, tmp_path)
    assert done.returncode == 0, done.stderr
    assert f"journal intact: {last} rows, head seq {last}" in done.stdout
    async with pool.acquire() as conn:
        await conn.execute("UPDATE journal SET command = jsonb_set(command, '{amount}', '1') "
                           "WHERE seq = 10")
    done = await asyncio.to_thread(_cli, fresh_dsn, tmp_path)
    assert done.returncode == 1
    assert "journal broken at seq 10" in done.stderr and done.stdout == ""


async def test_the_cli_exits_1_on_a_database_without_the_chain(empty_dsn, tmp_path):
    done = await asyncio.to_thread(_cli, empty_dsn, tmp_path)  # never migrated
    assert done.returncode == 1
    assert "no hash column" in done.stderr and "run exchange migrate" in done.stderr


async def test_a_journal_from_before_the_chain_migrates_and_is_sealed_by_exchange_migrate(
        empty_dsn, tmp_path):
    old = tmp_path / "old"
    old.mkdir()
    for name in ("0001_core.sql", "0002_platform_auth.sql"):
        shutil.copy(MIGRATIONS_DIR / name, old / name)
    seq, rows = Sequencer(), []
    for cmd in setup_commands():
        seq.apply(cmd)
        rows.append((seq.seq, cmd.ts_ns, type(cmd).__name__, codec.dumps(cmd)))
    conn = await asyncpg.connect(empty_dsn)
    try:
        await migrate(conn, old)
        await conn.executemany("INSERT INTO journal (seq, ts_ns, kind, command) "
                               "VALUES ($1, $2, $3, $4::text::jsonb)",
                               [(s, t, k, c.decode()) for s, t, k, c in rows])
    finally:
        await conn.close()
    await migrate_only(Settings(database_url=empty_dsn, data_dir=str(tmp_path)))
    db = await open_database(empty_dsn, tmp_path)
    try:
        verdict = await _verify(db.pool)
        assert verdict.ok and verdict.rows == len(rows), verdict.message()
        await _journal(db.pool, seq, [Deposit(10**8, 1, "USD", 5)])
        assert (await _verify(db.pool)).head_seq == len(rows) + 1
    finally:
        await db.close()


async def test_the_chain_migration_needs_only_the_core_and_auth_migrations(empty_dsn, tmp_path):
    for name in ("0001_core.sql", "0002_platform_auth.sql", "0004_audit_chain.sql"):
        shutil.copy(MIGRATIONS_DIR / name, tmp_path / name)
    conn = await asyncpg.connect(empty_dsn)
    try:
        assert await migrate(conn, tmp_path) == ["0001_core.sql", "0002_platform_auth.sql",
                                                 "0004_audit_chain.sql"]
        assert await conn.fetchval("SELECT format_type(atttypid, atttypmod) FROM pg_attribute "
                                   "WHERE attrelid = 'journal'::regclass "
                                   "AND attname = 'hash'") == "bytea"
    finally:
        await conn.close()
