"""Seeded random command streams over the whole command vocabulary, and state snapshots."""

import asyncio
import random
from decimal import Decimal

from exchange.engine import (AmendOrder, CancelAll, CancelOrder, CancelReplace, Deposit,
                             ExpireOrders, Instrument, ListInstrument, PlaceOrder,
                             SetInstrumentStatus, Withdraw)

ACCOUNTS = range(1, 9)
AAA = Instrument("AAA", "AAA", "USD", Decimal("0.01"), Decimal("1"), base_decimals=0,
                 quote_decimals=2, maker_fee_ppm=1000, taker_fee_ppm=2000, max_qty=1000)
BBB = Instrument("BBB", "BBB", "USD", Decimal("0.5"), Decimal("0.1"), base_decimals=3,
                 quote_decimals=2, price_band_bps=2000, reference_price=200,
                 min_notional=2_000, taker_fee_ppm=500)


def setup_commands(ts=1):
    cmds = [ListInstrument(ts, AAA), ListInstrument(ts, BBB)]
    for acct in ACCOUNTS:
        cmds += [Deposit(ts, acct, "USD", 10**9, ref=f"d{acct}"),
                 Deposit(ts, acct, "AAA", 10**5), Deposit(ts, acct, "BBB", 10**7)]
    return cmds


def random_commands(rng: random.Random, sequencer, n: int, ts: int = 2):
    """Yield ``n`` commands; apply each to ``sequencer`` before asking for the next."""
    mid = {"AAA": 1000, "BBB": 200}
    for _ in range(n):
        ts += rng.randint(1, 1000)
        sym = rng.choice(("AAA", "BBB"))
        acct = rng.choice(ACCOUNTS)
        side = rng.choice(("buy", "sell"))
        price = mid[sym] + (rng.randint(-15, 3) if side == "buy" else rng.randint(-3, 15))
        qty = rng.randint(1, 40)
        mine = [o for o in sequencer.by_account.get(acct, {}).values() if o.symbol == sym]
        r = rng.random()
        if sequencer.markets[sym].status != "TRADING" and rng.random() < 0.1:
            yield SetInstrumentStatus(ts, sym, "TRADING")  # keep halts short
        elif r < 0.42:
            tif = rng.choice(("GTC", "GTC", "GTC", "IOC", "FOK", "GTD"))
            yield PlaceOrder(ts, acct, sym, side, rng.choice(("LIMIT", "LIMIT", "LIMIT_MAKER"))
                             if tif in ("GTC", "GTD") else "LIMIT", qty=qty, price=price, tif=tif,
                             expire_ts_ns=ts + rng.randint(1, 20_000) if tif == "GTD" else None,
                             display_qty=rng.randint(1, qty - 1) if qty > 1 and tif == "GTC"
                             and rng.random() < 0.1 else None,
                             client_order_id=f"c{ts}" if rng.random() < 0.3 else None,
                             stp=rng.choice((None, "NONE", "EXPIRE_TAKER", "EXPIRE_BOTH")))
        elif r < 0.48:
            if rng.random() < 0.5:
                yield PlaceOrder(ts, acct, sym, side, "MARKET", qty=qty)
            else:
                yield PlaceOrder(ts, acct, sym, side, "MARKET", quote_qty=rng.randint(100, 50_000))
        elif r < 0.54:
            kind = rng.choice(("STOP_LOSS", "STOP_LOSS_LIMIT", "TAKE_PROFIT", "TAKE_PROFIT_LIMIT"))
            yield PlaceOrder(ts, acct, sym, side, kind, qty=qty,
                             stop_price=mid[sym] + rng.randint(-10, 10),
                             price=price if kind.endswith("LIMIT") else None)
        elif r < 0.64:
            if mine and rng.random() < 0.9:
                o = rng.choice(mine)
                if o.client_order_id and rng.random() < 0.5:
                    yield CancelOrder(ts, acct, sym, client_order_id=o.client_order_id)
                else:
                    yield CancelOrder(ts, acct, sym, order_id=o.order_id)
            else:
                yield CancelOrder(ts, acct, sym, order_id=rng.randint(1, 10**6))
        elif r < 0.76:
            oid = rng.choice(mine).order_id if mine else rng.randint(1, 10**6)
            yield AmendOrder(ts, acct, sym, oid, qty=rng.choice((None, qty)),
                             price=rng.choice((None, price)))
        elif r < 0.82:
            oid = rng.choice(mine).order_id if mine else rng.randint(1, 10**6)
            yield CancelReplace(ts, acct, sym, PlaceOrder(ts, acct, sym, side, "LIMIT", qty=qty,
                                                          price=price),
                                cancel_order_id=oid,
                                mode=rng.choice(("STOP_ON_FAILURE", "ALLOW_FAILURE")))
        elif r < 0.83:
            yield CancelAll(ts, acct, sym)
        elif r < 0.87:
            yield Deposit(ts, acct, rng.choice(("USD", "AAA", "BBB", "ZZZ")),
                          rng.choice((rng.randint(1, 10**6), 10**30, 0)))
        elif r < 0.90:
            yield Withdraw(ts, acct, rng.choice(("USD", "AAA", "BBB")), rng.randint(1, 10**6))
        elif r < 0.91:
            halted = sequencer.markets[sym].status != "TRADING"
            yield SetInstrumentStatus(ts, sym, "TRADING" if halted and rng.random() < 0.9 else
                                      rng.choice(("TRADING", "HALT", "CANCEL_ONLY", "BOGUS")))
        elif r < 0.95:
            yield ExpireOrders(ts)
        else:  # requests the sequencer must refuse, journaled all the same
            yield rng.choice((
                PlaceOrder(ts, acct, "NOPE", side, "LIMIT", qty=qty, price=price),
                PlaceOrder(ts, acct, sym, "up", "LIMIT", qty=qty, price=price),
                PlaceOrder(ts, acct, sym, side, "LIMIT", qty=qty, price=price,
                           client_order_id="bad\x00id"),
                PlaceOrder(ts, acct, sym, side, "LIMIT", qty=10**40, price=price),
                ListInstrument(ts, AAA),
            ))


def snapshot(seq):
    """Everything observable of a sequencer, as plain comparable data."""
    markets = {}
    for symbol, m in seq.markets.items():
        markets[symbol] = (m.inst, m.status, m.last_price, list(m.book.orders()),
                           list(m.rising), list(m.falling))
    orders = {oid: (o.account, o.symbol, o.client_order_id, o.side, o.type, o.tif, o.price,
                    o.qty, o.quote_qty, o.stop_price, o.display_qty, o.stp,
                    o.status, o.open, o.executed_qty, o.cum_quote, o.hold, o.hold_balance.asset,
                    o.budget, o.working, o.stop_key, o.spec)
              for oid, o in seq.orders.items()}
    balances = {(b.account, b.asset): (b.free, b.locked) for b in seq.ledger.balances()
                if b.free or b.locked}
    return {"seq": seq.seq, "next_order_id": seq.next_order_id,
            "next_trade_id": seq.next_trade_id, "markets": markets, "orders": orders,
            "balances": balances, "external": seq.ledger.external, "assets": seq.assets,
            "by_client": sorted(seq.by_client), "expiries": sorted(seq._expiries)}


async def journal(pool, seq, cmds, *, max_batch: int = 400):
    """Apply ``cmds`` to ``seq`` and journal them through a real Batcher; return it, stopped."""
    from exchange.store import Batcher
    batcher = Batcher(pool, max_batch=max_batch)
    batcher.start()
    futures = []
    for cmd in cmds:
        events = seq.apply(cmd)
        futures.append(batcher.append(seq.seq, cmd, events))
    await asyncio.gather(*futures)
    await batcher.stop()
    return batcher
