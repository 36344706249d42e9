"""``exchange demo``: a small venue run through the engine, printed as it trades.

Lists the demo instruments, funds two accounts, and replays a short session
(resting orders, a taker sweep, an iceberg, a stop that triggers, a cancel),
printing the book and the balances. Uses only ``exchange.engine``.
"""

from decimal import Decimal

from .engine import (Deposit, Instrument, ListInstrument, PlaceOrder, Sequencer, Traded,
                     CommandRejected, OrderUpdated)

DEMO_SYMBOLS = ("AAPL", "MSFT", "NVDA", "AMZN", "TSLA")


def demo_instruments():
    """US stocks quoted in USD: tick 0.01, step 1 share, every STP mode allowed."""
    return [Instrument(sym, sym, "USD", Decimal("0.01"), Decimal("1"), base_decimals=0,
                       quote_decimals=2, maker_fee_ppm=100, taker_fee_ppm=200,
                       price_band_bps=2000, reference_price=100_00)
            for sym in DEMO_SYMBOLS]


def main():
    seq = Sequencer()
    aapl = demo_instruments()[0]
    ts = iter(range(1, 10**6))

    def run(title, cmd):
        events = seq.apply(cmd)
        seq.check()
        print(f"\n# {title}")
        for ev in events:
            if type(ev) is Traded:
                print(f"  trade #{ev.trade_id}: {aapl.qty_str(ev.qty)} @ {aapl.price_str(ev.price)}"
                      f" (maker order {ev.maker_order_id}, taker order {ev.taker_order_id})")
            elif type(ev) is OrderUpdated:
                print(f"  order {ev.order_id} {ev.side} {ev.type}: {ev.exec_type} -> {ev.status}"
                      f" ({aapl.qty_str(ev.executed_qty)} done)")
            elif type(ev) is CommandRejected:
                print(f"  rejected: {ev.reason}")
        return events

    for inst in demo_instruments():
        seq.apply(ListInstrument(next(ts), inst))
    for account in (1, 2):
        seq.apply(Deposit(next(ts), account, "USD", aapl.quote_units("100000.00")))
        seq.apply(Deposit(next(ts), account, "AAPL", 1_000))
    p = aapl.price_ticks
    run("alice bids 10 @ 99.50", PlaceOrder(next(ts), 1, "AAPL", "buy", "LIMIT", qty=10, price=p("99.50")))
    run("alice bids 10 @ 98.90", PlaceOrder(next(ts), 1, "AAPL", "buy", "LIMIT", qty=10, price=p("98.90")))
    run("alice rests an iceberg bid @ 99.40, 5 shown of 30",
        PlaceOrder(next(ts), 1, "AAPL", "buy", "LIMIT", qty=30, price=p("99.40"), display_qty=5))
    run("bob places a sell stop at 99.00",
        PlaceOrder(next(ts), 2, "AAPL", "sell", "STOP_LOSS", qty=5, stop_price=p("99.00")))
    run("bob sells 20 at market: sweeps 99.50 then the iceberg",
        PlaceOrder(next(ts), 2, "AAPL", "sell", "MARKET", qty=20))
    run("bob sells 25 down to 98.90: the stop triggers and sells 5 more",
        PlaceOrder(next(ts), 2, "AAPL", "sell", "LIMIT", qty=25, price=p("98.90")))
    run("an off-band price is refused",
        PlaceOrder(next(ts), 1, "AAPL", "buy", "LIMIT", qty=1, price=p("500.00")))
    bids, asks = seq.market_views["AAPL"].depth(5)
    print("\nbook: bids", [(aapl.price_str(pr), q, n) for pr, q, n in bids],
          "asks", [(aapl.price_str(pr), q, n) for pr, q, n in asks])
    for account in (1, 2, 0):
        usd_free, usd_locked = seq.ledger.amounts(account, "USD")
        free, locked = seq.ledger.amounts(account, "AAPL")
        print(f"account {account}: USD free {aapl.quote_str(usd_free)} locked "
              f"{aapl.quote_str(usd_locked)}, AAPL free {free} locked {locked}")


if __name__ == "__main__":
    main()
