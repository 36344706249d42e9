"""Snapshots: recovery from the newest usable one plus the journal's tail, and fallbacks."""

import itertools
import random

from exchange.engine import Sequencer, state
from exchange.store import recover, snapshots

from tests.helpers.store_streams import journal, random_commands, setup_commands, snapshot


async def _history(pool, seed=5, first=1_500, then=700):
    """Journal a random stream; return (the sequencer, a copy taken after ``first`` commands)."""
    rng = random.Random(seed)
    seq = Sequencer()
    await journal(pool, seq, itertools.chain(setup_commands(), random_commands(rng, seq, first)))
    at = snapshots.dumps(seq)
    await journal(pool, seq, random_commands(rng, seq, then, ts=10**7))
    return seq, at


async def test_recovery_starts_from_the_newest_snapshot_and_replays_only_the_tail(pool):
    seq, at = await _history(pool)
    earlier = Sequencer()
    await snapshots.store(pool, 1, 0, snapshots.dumps(earlier))  # an older one: not chosen
    taken = snapshots.loads(at)
    await snapshots.store(pool, taken.seq, 0, at)
    report = {}
    rebuilt = await recover(pool, report=report)
    assert report == {"snapshot": taken.seq, "replayed": seq.seq - taken.seq}
    assert report["replayed"] > 0
    assert snapshot(rebuilt) == snapshot(seq)
    for symbol, market in seq.markets.items():   # book priority, spelled out
        assert list(rebuilt.markets[symbol].book.orders()) == list(market.book.orders())


async def test_a_snapshot_of_an_unknown_format_or_another_day_end_is_not_used(pool):
    seq, at = await _history(pool)
    taken_seq = snapshots.loads(at).seq
    await snapshots.store(pool, taken_seq, 0, at, format=state.FORMAT + 1)   # newer code's
    await snapshots.store(pool, taken_seq + 1, 3600, at)    # taken under another day end
    report = {}
    rebuilt = await recover(pool, report=report)
    assert report == {"snapshot": None, "replayed": seq.seq}
    assert snapshot(rebuilt) == snapshot(seq)


async def test_a_snapshot_that_does_not_decode_is_not_used(pool):
    seq, at = await _history(pool)
    taken_seq = snapshots.loads(at).seq
    await snapshots.store(pool, taken_seq, 0, at[:len(at) // 2])   # cut short
    report = {}
    rebuilt = await recover(pool, report=report)
    assert report == {"snapshot": None, "replayed": seq.seq}
    assert snapshot(rebuilt) == snapshot(seq)


async def test_a_snapshot_stores_the_state_format_and_no_code_digest(pool):
    _, at = await _history(pool)
    taken_seq = snapshots.loads(at).seq
    await snapshots.store(pool, taken_seq, 0, at)
    row = await pool.fetchrow("SELECT * FROM snapshots WHERE seq = $1", taken_seq)
    assert row["format"] == state.FORMAT and "engine" not in row.keys()
    assert snapshots.decode(at)["format"] == state.FORMAT


async def test_a_snapshot_that_fails_the_checks_gives_way_to_the_whole_journal(pool):
    seq, at = await _history(pool)
    wrong = snapshots.loads(at)
    account, asset = 1, "USD"
    wrong.ledger.balance(account, asset).free += 1   # money from nowhere: the tables disagree
    await snapshots.store(pool, wrong.seq, 0, snapshots.dumps(wrong))
    report = {}
    rebuilt = await recover(pool, report=report)
    assert report == {"snapshot": None, "replayed": seq.seq}
    assert snapshot(rebuilt) == snapshot(seq)


async def test_a_snapshot_missing_a_part_is_not_used(pool):
    seq, at = await _history(pool)
    taken_seq = snapshots.loads(at).seq
    await snapshots.store(pool, taken_seq, 0, at)
    await pool.execute("UPDATE snapshots SET parts = parts + 1 WHERE seq = $1", taken_seq)
    report = {}
    rebuilt = await recover(pool, report=report)
    assert report["snapshot"] is None and snapshot(rebuilt) == snapshot(seq)


async def test_take_forks_and_stores_the_state_at_the_fork(pool, tmp_path, monkeypatch):
    monkeypatch.setattr(snapshots, "PART_BYTES", 512)   # several parts
    rng = random.Random(9)
    seq = Sequencer()
    batcher = await journal(pool, seq, itertools.chain(setup_commands(),
                                                        random_commands(rng, seq, 800)))
    taken = await snapshots.take(seq, batcher, pool, tmp_path, 0)
    assert taken == seq.seq
    assert list(tmp_path.iterdir()) == []   # the child's file is gone once stored
    parts = await pool.fetchval("SELECT parts FROM snapshots WHERE seq = $1", taken)
    assert parts > 1
    report = {}
    rebuilt = await recover(pool, report=report)
    assert report == {"snapshot": taken, "replayed": 0}
    assert snapshot(rebuilt) == snapshot(seq)


async def test_only_the_newest_snapshots_are_kept(pool):
    for s in (1, 2, 3, 4):
        await snapshots.store(pool, s, 0, b"x")
    kept = [r[0] for r in await pool.fetch("SELECT seq FROM snapshots ORDER BY seq")]
    assert kept == [3, 4]
    assert await pool.fetchval("SELECT count(*) FROM snapshot_parts") == 2
