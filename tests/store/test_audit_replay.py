"""``exchange audit replay``: the whole journal replayed, every table row and snapshot compared.

Start-up recovery checks digests of the tables (sums and counts); this audit
is the full proof, and names the rows or the snapshot that differ.
"""

import asyncio
import itertools
import os
import pathlib
import random
import subprocess
import sys

import pytest

from exchange.engine import Sequencer
from exchange.store import RecoveryError, snapshots
from exchange.store.recovery import audit_replay

from tests.helpers.store_streams import journal, random_commands, setup_commands

ROOT = pathlib.Path(__file__).resolve().parents[2]


@pytest.fixture
async def history(pool, tmp_path):
    """A journal with a snapshot taken (as the server takes one) part of the way."""
    rng = random.Random(3)
    seq = Sequencer()
    batcher = await journal(pool, seq, itertools.chain(setup_commands(),
                                                        random_commands(rng, seq, 900)))
    taken = await snapshots.take(seq, batcher, pool, tmp_path / "shots", 0)
    await journal(pool, seq, random_commands(rng, seq, 400, ts=10**7))
    return pool, seq, taken


async def test_the_audit_replays_everything_and_compares_every_row_and_snapshot(history):
    pool, seq, taken = history
    found = await audit_replay(pool)
    assert found["replayed"] == seq.seq and found["snapshots"] == [taken]
    assert found["open_orders"] == len(seq.orders) > 0
    assert found["balances"] == await pool.fetchval("SELECT count(*) FROM balances")
    assert found["instruments"] == 2


async def test_the_audit_names_a_tampered_row(history):
    pool, seq, _ = history
    oid = min(seq.orders)
    await pool.execute("UPDATE orders SET executed_qty = executed_qty + 1 WHERE order_id = $1",
                       oid)
    with pytest.raises(RecoveryError, match=f"1 open orders differ.*{oid}: replayed"):
        await audit_replay(pool)


async def test_the_audit_names_a_snapshot_that_is_not_the_journal_s_state(history):
    pool, _, taken = history
    wrong = snapshots.loads(await _blob(pool, taken))
    wrong.next_trade_id += 1
    await pool.execute("DELETE FROM snapshots WHERE seq = $1", taken)
    await snapshots.store(pool, taken, 0, snapshots.dumps(wrong))
    with pytest.raises(RecoveryError, match=f"snapshot at seq {taken} differs .* next_trade_id"):
        await audit_replay(pool)


async def _blob(pool, seq):
    rows = await pool.fetch("SELECT data FROM snapshot_parts WHERE seq = $1 ORDER BY part", seq)
    return b"".join(r[0] for r in rows)


def _cli(dsn, tmp_path):
    env = {**os.environ, "EXCHANGE_DATABASE_URL": dsn, "EXCHANGE_DATA_DIR": str(tmp_path)}
    return subprocess.run([sys.executable, "-m", "exchange.cli", "audit", "replay"], cwd=ROOT,
                          env=env, capture_output=True, text=True, timeout=120)


async def test_the_cli_exits_0_when_the_tables_are_the_journal_s_and_1_naming_a_difference(
        history, fresh_dsn, tmp_path):
    pool, seq, taken = history
    done = await asyncio.to_thread(_cli, fresh_dsn, tmp_path)
    assert done.returncode == 0, done.stderr
    assert f"replay: {seq.seq:,} journal commands replayed from the first" in done.stdout
    assert f"the snapshots at seq {taken}" in done.stdout
    await pool.execute("UPDATE balances SET locked = locked + 5 "
                       "WHERE account_id = 2 AND asset = 'USD'")
    done = await asyncio.to_thread(_cli, fresh_dsn, tmp_path)
    assert done.returncode == 1 and done.stdout == ""
    assert "exchange: audit: replay: 1 balances differ" in done.stderr
    assert "(2, 'USD'): replayed" in done.stderr


async def test_a_change_that_keeps_every_sum_passes_the_start_up_digest_but_not_the_audit(
        history):
    pool, seq, _ = history
    from exchange.store import recover
    a, b = sorted(o.order_id for o in seq.orders.values()
                  if o.symbol == "AAA" and o.status == "NEW" and o.working)[:2]
    # the two orders trade their prices: per symbol and status, every sum stays the same
    await pool.execute("UPDATE orders o SET price = p.price FROM orders p "
                       "WHERE (o.order_id, p.order_id) IN (($1, $2), ($2, $1))", a, b)
    assert seq.orders[a].price != seq.orders[b].price
    report = {}
    await recover(pool, report=report)   # sums and counts: a cheap check, not a proof
    assert report["snapshot"] is not None
    with pytest.raises(RecoveryError, match=f"2 open orders differ.*{a}: replayed"):
        await audit_replay(pool)
