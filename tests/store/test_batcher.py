"""The batcher commits before it acknowledges, in few transactions, and mirrors memory."""

import asyncio
import itertools
import random

import asyncpg
import pytest

from exchange.engine import Deposit, PlaceOrder, Sequencer
from exchange.engine.orders import OPEN
from exchange.store import Batcher
from exchange.store.audit import GENESIS

from tests.helpers.store_streams import random_commands, setup_commands


def _apply_all(seq, batcher, cmds):
    """Apply each command and journal it, as Venue.submit does."""
    futures = []
    for cmd in cmds:
        events = seq.apply(cmd)
        futures.append(batcher.append(seq.seq, cmd, events))
    return futures


async def test_future_resolves_only_after_rows_are_visible_elsewhere(pool, fresh_dsn):
    seq, batcher = Sequencer(), Batcher(pool)
    batcher.start()
    other = await asyncpg.connect(fresh_dsn)
    try:
        # Hold a lock that blocks the batch's COPY into the journal: no commit, no ack.
        blocker = other.transaction()
        await blocker.start()
        await other.execute("LOCK TABLE journal IN SHARE MODE")
        futures = _apply_all(seq, batcher, setup_commands())
        await asyncio.sleep(0.3)
        assert not any(f.done() for f in futures)
        assert batcher.backlog == len(futures)
        await blocker.rollback()
        await asyncio.gather(*futures)
        assert batcher.backlog == 0
        # Once a future resolved, another connection sees the whole batch.
        assert await other.fetchval("SELECT count(*) FROM journal") == len(futures)
        assert await other.fetchval("SELECT count(*) FROM balances") > 0
    finally:
        await other.close()
        await batcher.stop()


async def test_each_resolved_future_sees_its_own_row(pool, fresh_dsn):
    seq, batcher = Sequencer(), Batcher(pool)
    batcher.start()
    other = await asyncpg.connect(fresh_dsn)
    try:
        for cmd in setup_commands()[:5]:
            await batcher.append(seq.seq + 1, cmd, seq.apply(cmd))
            assert await other.fetchval("SELECT max(seq) FROM journal") == seq.seq
    finally:
        await other.close()
        await batcher.stop()


async def test_many_appends_share_few_transactions(pool):
    seq, batcher = Sequencer(), Batcher(pool)
    batcher.start()
    cmds = setup_commands() + [Deposit(2, 1 + i % 8, "USD", 1 + i) for i in range(3_000)]
    await asyncio.gather(*_apply_all(seq, batcher, cmds))
    await batcher.stop()
    async with pool.acquire() as conn:
        assert await conn.fetchval("SELECT count(*) FROM journal") == len(cmds)
        transactions = await conn.fetchval("SELECT count(DISTINCT xmin::text) FROM journal")
    assert transactions == batcher.batches
    assert transactions <= 3  # all appended before the writer first ran


async def test_batches_are_bounded_by_max_batch(pool):
    seq, batcher = Sequencer(), Batcher(pool, max_batch=100)
    batcher.start()
    cmds = setup_commands() + [Deposit(2, 1, "USD", 1 + i) for i in range(1_000)]
    await asyncio.gather(*_apply_all(seq, batcher, cmds))
    await batcher.stop()
    async with pool.acquire() as conn:
        sizes = [r[0] for r in await conn.fetch(
            "SELECT count(*) FROM journal GROUP BY xmin::text")]
    assert max(sizes) <= 100 and sum(sizes) == len(cmds)


async def test_writing_overlaps_filling(pool):
    """While a batch is written, appends go to the next batch; all commit in order."""
    # Given the chain head (a fresh journal's), the writer starts its first batch at once
    # instead of reading the head first, while the appends below go on.
    seq, batcher = Sequencer(), Batcher(pool, chain_head=GENESIS)
    committed = []
    batcher.on_commit(committed.extend)
    batcher.start()
    futures = _apply_all(seq, batcher, setup_commands())
    for i in range(20):
        await asyncio.sleep(0)
        futures += _apply_all(seq, batcher, [Deposit(3, 1, "USD", 1 + i)])
    await asyncio.gather(*futures)
    await batcher.stop()
    assert [s for s, _ in committed] == list(range(1, seq.seq + 1))
    assert 1 < batcher.batches


async def test_a_cut_derives_events_when_a_batch_ends_the_backlog(pool):
    """``cut`` runs when a batch takes everything appended (the state is then exactly
    the batch's), and its events reach the listeners after the batch's commands; a batch
    that leaves a backlog behind gets none (its state is already ahead)."""
    cuts = []

    def cut():
        cuts.append(seq.seq)
        return [("derived", seq.seq)]

    seq = Sequencer()
    batcher = Batcher(pool, max_batch=100, chain_head=GENESIS, cut=cut)
    batches = []
    batcher.on_commit(batches.append)
    batcher.start()
    cmds = setup_commands() + [Deposit(2, 1, "USD", 1 + i) for i in range(250)]
    await asyncio.gather(*_apply_all(seq, batcher, cmds))
    await batcher.stop()
    assert cuts == [seq.seq]                     # one backlog: cut once, when it ended
    assert [len(b) for b in batches] == [100, 100, len(cmds) - 200 + 1]
    assert batches[-1][-1] == (seq.seq, [("derived", seq.seq)])
    assert all(type(events) is list and ("derived", seq.seq) not in events
               for b in batches for _, events in b[:-1])


async def test_stop_flushes_everything(pool):
    seq, batcher = Sequencer(), Batcher(pool)
    batcher.start()
    futures = _apply_all(seq, batcher, setup_commands())
    await batcher.stop()
    assert all(f.done() and f.exception() is None for f in futures)
    async with pool.acquire() as conn:
        assert await conn.fetchval("SELECT max(seq) FROM journal") == seq.seq


async def test_tables_mirror_the_sequencer_after_a_random_stream(pool):
    rng = random.Random(7)
    seq, batcher = Sequencer(), Batcher(pool, max_batch=300)
    committed = []
    batcher.on_commit(committed.extend)
    batcher.start()
    last_report = {}
    trades = ledger = 0
    futures = []
    stream = random_commands(rng, seq, 2_500)
    for i, cmd in enumerate(itertools.chain(setup_commands(), stream)):
        events = seq.apply(cmd)
        for ev in events:
            name = type(ev).__name__
            if name == "OrderUpdated":
                last_report[ev.order_id] = ev
            trades += name == "Traded"
            ledger += name == "BalanceChanged"
        futures.append(batcher.append(seq.seq, cmd, events))
        if i % 97 == 0:
            await asyncio.sleep(0)  # let the writer take a batch mid-stream
    seq.check()
    await asyncio.gather(*futures)
    await batcher.stop()
    assert [s for s, _ in committed] == list(range(1, seq.seq + 1))
    assert batcher.backlog == 0 and batcher.committed_seq == seq.seq

    async with pool.acquire() as conn:
        balances = {(r[0], r[1]): (int(r[2]), int(r[3])) for r in await conn.fetch(
            "SELECT account_id, asset, free, locked FROM balances")}
        orders = {r["order_id"]: r for r in await conn.fetch("SELECT * FROM orders")}
        assert await conn.fetchval("SELECT count(*) FROM trades") == trades > 0
        assert await conn.fetchval("SELECT count(*) FROM ledger_entries") == ledger
        rejected = await conn.fetchval("SELECT count(*) FROM journal WHERE rejected IS NOT NULL")
        assert rejected > 0
        # Double entry: per seq and asset the deltas sum to zero, except funding.
        unbalanced = await conn.fetchval("""
            SELECT count(*) FROM (
                SELECT seq, asset FROM ledger_entries
                WHERE reason NOT IN ('DEPOSIT', 'WITHDRAWAL')
                GROUP BY seq, asset HAVING sum(free_delta + locked_delta) <> 0) x""")
        assert unbalanced == 0

    memory = {(b.account, b.asset): (b.free, b.locked) for b in seq.ledger.balances()
              if b.free or b.locked}
    assert {k: v for k, v in balances.items() if v != (0, 0)} == memory
    assert orders.keys() == last_report.keys()
    for oid, ev in last_report.items():
        row = orders[oid]
        assert (row["account_id"], row["symbol"], row["side"], row["type"], row["tif"],
                row["price"], row["qty"], row["stop_price"], row["display_qty"], row["stp"],
                row["expire_ts_ns"], row["working"], row["status"], row["executed_qty"],
                int(row["cum_quote"]), row["created_ts_ns"], row["updated_ts_ns"],
                row["updated_seq"], row["client_order_id"]) == (
            ev.account, ev.symbol, ev.side, ev.type, ev.tif, ev.price, ev.qty, ev.stop_price,
            ev.display_qty, ev.stp, ev.expire_ts_ns, ev.working, ev.status, ev.executed_qty,
            ev.cum_quote, ev.created_ts_ns, ev.ts_ns, ev.seq, ev.client_order_id)
        assert (row["status"] in OPEN) == (oid in seq.orders)


async def test_a_failed_commit_fails_every_pending_future_and_calls_on_fatal(pool):
    seq = Sequencer()
    fatal = []
    batcher = Batcher(pool, on_fatal=fatal.append)
    cmds = setup_commands()
    async with pool.acquire() as conn:  # a row where the batch's first command must go
        await conn.execute("INSERT INTO journal (seq, ts_ns, kind, command, hash) "
                           "VALUES (1, 0, 'X', '{}'::jsonb, $1)", GENESIS)
    futures = _apply_all(seq, batcher, cmds)
    batcher.start()
    await batcher.stop()
    assert len(fatal) == 1 and isinstance(fatal[0], asyncpg.UniqueViolationError)
    for f in futures:
        with pytest.raises(asyncpg.UniqueViolationError):
            f.result()
    later = batcher.append(seq.seq + 1, Deposit(5, 1, "USD", 1), [])
    with pytest.raises(asyncpg.UniqueViolationError):
        await later
    async with pool.acquire() as conn:  # nothing of the failed batch is there
        assert await conn.fetchval("SELECT count(*) FROM balances") == 0


async def test_a_cancelled_waiter_does_not_break_the_batcher(pool):
    seq, batcher = Sequencer(), Batcher(pool)
    batcher.start()
    futures = _apply_all(seq, batcher, setup_commands())
    futures[0].cancel()
    await asyncio.gather(*futures[1:])
    await batcher.stop()
    assert batcher.error is None and batcher.committed_seq == seq.seq


async def test_instruments_rows_follow_listing_and_status(pool):
    seq, batcher = Sequencer(), Batcher(pool)
    batcher.start()
    from exchange.engine import SetInstrumentStatus
    await asyncio.gather(*_apply_all(seq, batcher, setup_commands()))
    await asyncio.gather(*_apply_all(seq, batcher, [SetInstrumentStatus(5, "AAA", "HALT")]))
    await batcher.stop()
    async with pool.acquire() as conn:
        rows = {r[0]: r for r in await conn.fetch("SELECT * FROM instruments")}
    assert rows["AAA"]["status"] == "HALT" and rows["BBB"]["status"] == "TRADING"
    assert rows["AAA"]["definition"]["tick_size"] == "0.01"
    assert rows["AAA"]["updated_seq"] == seq.seq


async def test_venue_journals_its_own_copy_of_each_command(pool):
    # The batcher encodes commands after submit returns (write-behind), so the
    # venue must journal a copy the caller cannot change afterwards.
    from exchange.engine import Sequencer
    from exchange.venue import Venue

    batcher = Batcher(pool, chain_head=GENESIS)
    batcher.start()
    venue = Venue(Sequencer(), batcher, durability="async")
    for setup in setup_commands():
        await venue.submit(setup)
    cmd = PlaceOrder(1, 1, "AAA", "buy", "LIMIT", qty=1, price=1)
    await venue.submit(cmd)             # returns before its batch is written
    cmd.qty = 2
    await batcher.wait_committed(venue.sequencer.seq)
    await batcher.stop()
    command = await pool.fetchval("SELECT command FROM journal WHERE kind = 'PlaceOrder'")
    assert command["qty"] == 1


async def test_amounts_past_64_bits_are_written_exactly(pool):
    """numeric columns hold any integer: one orjson cannot write goes as text, exactly."""
    seq, batcher = Sequencer(), Batcher(pool, chain_head=GENESIS)
    batcher.start()
    huge = 10**25 + 7
    await asyncio.gather(*_apply_all(seq, batcher, setup_commands()
                                     + [Deposit(2, 1, "USD", huge, ref="big")]))
    await batcher.stop()
    async with pool.acquire() as conn:
        free = await conn.fetchval(
            "SELECT free FROM balances WHERE account_id = 1 AND asset = 'USD'")
        delta = await conn.fetchval("SELECT free_delta FROM ledger_entries WHERE ref = 'big'")
    assert (free, delta) == (10**9 + huge, huge)
