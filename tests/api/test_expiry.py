"""The server's expiry clock: a GTD order expires on a quiet venue, durably, its hold released."""

import asyncio
import time

from exchange.keys import EXPIRY_CLOCK, POOL, VENUE
from exchange.engine import OrderUpdated, PlaceOrder


async def test_gtd_order_expires_on_time_without_other_commands(app, alice):
    venue = app[VENUE]
    assert not app[EXPIRY_CLOCK].done()
    expire_ts_ns = time.time_ns() + 400_000_000
    # The REST dialect has no GTD: place it through the venue, as an engine client would.
    events = await venue.submit(PlaceOrder(0, alice.account_id, "AAPL", "buy", "LIMIT", qty=3,
                                           price=99_00, tif="GTD", expire_ts_ns=expire_ts_ns))
    placed = next(e for e in events if type(e) is OrderUpdated)
    order_id = placed.spec.order_id
    assert placed.status == "NEW" and venue.sequencer.due_ns == expire_ts_ns
    status, account, _ = await alice.signed("GET", "/api/v3/account", {"omitZeroBalances": "true"})
    usd = next(b for b in account["balances"] if b["asset"] == "USD")
    assert usd["locked"] == "297.06"  # 3 x 99.00 plus the larger fee (0.02%)
    seq_before = venue.sequencer.seq

    query = {"symbol": "AAPL", "orderId": order_id}
    deadline = time.monotonic() + 5
    while True:
        status, order, _ = await alice.signed("GET", "/api/v3/order", query)
        assert status == 200
        if order["status"] != "NEW" or time.monotonic() > deadline:
            break
        await asyncio.sleep(0.05)

    assert order["status"] == "EXPIRED" and order["executedQty"] == "0"
    assert time.time_ns() >= expire_ts_ns
    assert venue.sequencer.seq == seq_before + 1  # exactly one ExpireOrders tick
    row = await app[POOL].fetchrow("SELECT status, updated_ts_ns FROM orders WHERE order_id = $1",
                                   order_id)
    assert row["status"] == "EXPIRED" and row["updated_ts_ns"] >= expire_ts_ns
    kind = await app[POOL].fetchval("SELECT kind FROM journal WHERE seq = $1", seq_before + 1)
    assert kind == "ExpireOrders"
    status, opened, _ = await alice.signed("GET", "/api/v3/openOrders", {"symbol": "AAPL"})
    assert opened == []
    status, account, _ = await alice.signed("GET", "/api/v3/account", {"omitZeroBalances": "true"})
    usd = next(b for b in account["balances"] if b["asset"] == "USD")
    assert usd == {"asset": "USD", "free": "1000000.00", "locked": "0.00"}
    assert venue.sequencer.due_ns is None
    venue.sequencer.check()


async def test_expiry_clock_is_idle_and_stops_with_the_server(app_server):
    app, client = app_server
    task = app[EXPIRY_CLOCK]
    await asyncio.sleep(0.3)  # nothing due: no command is submitted
    assert app[VENUE].sequencer.seq == app[VENUE].journal.committed_seq
    seq = app[VENUE].sequencer.seq
    await asyncio.sleep(0.3)
    assert app[VENUE].sequencer.seq == seq
    await client.close()
    assert task.cancelled()
