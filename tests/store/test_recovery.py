"""Recovery replays the journal into an identical sequencer and refuses tampered state."""

import asyncio
import itertools
import random

import pytest

from exchange.engine import CancelOrder, PlaceOrder, Sequencer
from exchange.store import Batcher, RecoveryError, recover

from tests.helpers.store_streams import random_commands, setup_commands, snapshot


async def _journal(pool, seq, cmds):
    batcher = Batcher(pool, max_batch=500)
    batcher.start()
    futures = []
    for i, cmd in enumerate(cmds):
        events = seq.apply(cmd)
        futures.append(batcher.append(seq.seq, cmd, events))
        if i % 211 == 0:
            await asyncio.sleep(0)
    await asyncio.gather(*futures)
    await batcher.stop()


def _resting(rng, ts, n):
    """Orders that rest (and stops that wait) at many prices: book priority to rebuild."""
    for i in range(n):
        side = rng.choice(("buy", "sell"))
        sym = rng.choice(("AAA", "BBB"))
        mid = {"AAA": 1000, "BBB": 200}[sym]
        away = rng.randint(20, 30)
        price = mid - away if side == "buy" else mid + away
        if i % 10 == 0:  # a stop far from the market: it waits
            yield PlaceOrder(ts + i, 1 + i % 8, sym, side, "STOP_LOSS_LIMIT", qty=2, price=price,
                             stop_price=mid - 40 if side == "sell" else mid + 40)
        else:
            yield PlaceOrder(ts + i, 1 + i % 8, sym, side, "LIMIT", qty=rng.randint(1, 5),
                             price=price, client_order_id=f"r{i}" if i % 3 else None)


@pytest.fixture
async def journaled(pool):
    """A pool whose journal holds a random stream, and the sequencer that produced it."""
    rng = random.Random(11)
    seq = Sequencer()
    stream = random_commands(rng, seq, 2_000)
    cmds = itertools.chain(setup_commands(), stream, _resting(rng, 10**7, 300))
    await _journal(pool, seq, cmds)
    seq.check()
    return pool, seq


async def test_recovery_of_an_empty_journal_is_a_fresh_sequencer(pool):
    rebuilt = await recover(pool)
    assert snapshot(rebuilt) == snapshot(Sequencer())


async def test_recovery_rebuilds_an_identical_sequencer(journaled):
    pool, seq = journaled
    rebuilt = await recover(pool)
    before, after = snapshot(seq), snapshot(rebuilt)
    assert len(before["orders"]) > 100
    assert any(not o.working for o in seq.orders.values())
    for key in before:
        assert after[key] == before[key], key
    # Book priority, spelled out: the same orders in the same queue order.
    for symbol, market in seq.markets.items():
        assert list(rebuilt.markets[symbol].book.orders()) == list(market.book.orders())
    # And the same future: the next commands give identical events on both.
    oid = next(iter(seq.orders))
    o = seq.orders[oid]
    for cmd in (PlaceOrder(10**8, 3, "AAA", "sell", "MARKET", qty=7),
                PlaceOrder(10**8 + 1, 4, "BBB", "buy", "LIMIT", qty=30, price=235),
                CancelOrder(10**8 + 2, o.account, o.symbol, order_id=oid)):
        assert rebuilt.apply(cmd) == seq.apply(cmd)
    assert snapshot(rebuilt) == snapshot(seq)


async def test_recovery_detects_a_tampered_balance(journaled):
    pool, _ = journaled
    async with pool.acquire() as conn:
        await conn.execute("UPDATE balances SET free = free + 1 "
                           "WHERE account_id = 3 AND asset = 'USD'")
    with pytest.raises(RecoveryError, match=r"balances differ.*\(3, 'USD'\)"):
        await recover(pool)


async def test_recovery_detects_a_missing_balance_row(journaled):
    pool, _ = journaled
    async with pool.acquire() as conn:
        await conn.execute("DELETE FROM balances WHERE account_id = 5 AND asset = 'AAA'")
    with pytest.raises(RecoveryError, match=r"\(5, 'AAA'\): replayed \(\d+, \d+\), table None"):
        await recover(pool)


async def test_recovery_detects_a_tampered_open_order(journaled):
    pool, seq = journaled
    oid = max(seq.orders)
    async with pool.acquire() as conn:
        await conn.execute("UPDATE orders SET status = 'CANCELED' WHERE order_id = $1", oid)
    with pytest.raises(RecoveryError, match=f"open orders differ.*{oid}: replayed"):
        await recover(pool)


async def test_recovery_detects_a_rewritten_rejection(journaled):
    pool, _ = journaled
    async with pool.acquire() as conn:
        seq_no = await conn.fetchval(
            "SELECT min(seq) FROM journal WHERE rejected = 'UNKNOWN_ORDER'")
        await conn.execute("UPDATE journal SET rejected = 'MARKET_CLOSED' WHERE seq = $1", seq_no)
    with pytest.raises(RecoveryError, match=f"seq {seq_no} .*rejected MARKET_CLOSED but "
                                            "replays as rejected UNKNOWN_ORDER"):
        await recover(pool)


async def test_recovery_detects_a_gap_in_the_journal(journaled):
    pool, _ = journaled
    async with pool.acquire() as conn:
        await conn.execute("DELETE FROM journal WHERE seq = 40")
    with pytest.raises(RecoveryError, match="seq 41 replayed as seq 40"):
        await recover(pool)


async def test_recovery_detects_an_undecodable_command(journaled):
    pool, _ = journaled
    async with pool.acquire() as conn:
        await conn.execute("UPDATE journal SET command = command || '{\"colour\": 1}' "
                           "WHERE seq = 2")
    with pytest.raises(RecoveryError, match="seq 2: undecodable command.*colour"):
        await recover(pool)


async def test_recovery_detects_a_tampered_pending_withdrawal(pool):
    from exchange.engine import RequestWithdrawal
    seq = Sequencer()
    await _journal(pool, seq, itertools.chain(setup_commands(), [
        RequestWithdrawal(5, 2, "USD", 700, "w-1"), RequestWithdrawal(6, 3, "USD", 900, "w-2")]))
    assert len(seq.withdrawals) == 2
    rebuilt = await recover(pool)
    assert rebuilt.withdrawals == seq.withdrawals
    async with pool.acquire() as conn:
        await conn.execute("UPDATE withdrawals SET amount = 800 WHERE withdrawal_id = 'w-1'")
    with pytest.raises(RecoveryError, match=r"pending withdrawals differ.*w-1: replayed "
                                            r"\(2, 'USD', 700\), table \(2, 'USD', 800\)"):
        await recover(pool)


async def test_recovery_detects_a_tampered_instrument_status(journaled):
    pool, _ = journaled
    async with pool.acquire() as conn:
        await conn.execute("UPDATE instruments SET status = 'HALT' WHERE symbol = 'BBB'")
    with pytest.raises(RecoveryError, match=r"instruments differ.*BBB: replayed \w+, table HALT"):
        await recover(pool)


async def test_recovery_on_a_pool_of_one_connection_reads_the_digests_on_it(journaled,
                                                                             fresh_dsn,
                                                                             tmp_path):
    from exchange.store import open_database
    pool, seq = journaled
    one = await open_database(fresh_dsn, tmp_path, min_size=1, max_size=1)
    try:
        assert snapshot(await recover(one.pool)) == snapshot(seq)
        await pool.execute("UPDATE balances SET locked = locked + 1 "
                           "WHERE account_id = 4 AND asset = 'AAA'")
        with pytest.raises(RecoveryError, match=r"balances differ.*\(4, 'AAA'\)"):
            await recover(one.pool)
    finally:
        await one.close()


async def test_journal_rows_written_before_the_opaque_fields_still_replay(pool):
    """Rows journaled before RequestWithdrawal had ``destination`` and operators' commands
    ``admin`` (and ResolveWithdrawal ``note``) replay to the same state."""
    from exchange.engine import RequestWithdrawal, ResolveWithdrawal, SetKillSwitch

    seq = Sequencer()
    await _journal(pool, seq, setup_commands() + [
        RequestWithdrawal(5, 1, "USD", 100, "w1"), RequestWithdrawal(5, 2, "USD", 200, "w2"),
        ResolveWithdrawal(6, "w1", True), SetKillSwitch(6, 3, True)])
    # what the old code journaled: the same commands without the new keys
    await pool.execute("UPDATE journal SET command = command - 'destination' - 'note' - 'admin' "
                       "WHERE kind IN ('RequestWithdrawal', 'ResolveWithdrawal', "
                       "'SetKillSwitch', 'Deposit', 'ListInstrument')")
    assert not await pool.fetchval("SELECT count(*) FROM journal WHERE command ? 'admin'")
    rebuilt = await recover(pool)
    assert snapshot(rebuilt) == snapshot(seq)
    assert rebuilt.withdrawals == {"w2": (2, "USD", 200)} and 3 in rebuilt.killed
