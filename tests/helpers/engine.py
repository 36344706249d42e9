"""The engine tests' venue: a Sequencer checked after every command, the instruments ABC and XYZ,
and the helpers that read its events."""

from decimal import Decimal as D

from exchange.engine import (CommandRejected, Deposit, Instrument, InstrumentChanged,
                             ListInstrument, OrderUpdated, PlaceOrder, Sequencer)

BUY, SELL = "buy", "sell"
DAY_NS = 86_400 * 10**9


def abc(**kw):
    args = dict(symbol="ABC", base="ABC", quote="USD", tick_size=D("0.01"), step_size=D("1"),
                base_decimals=0, quote_decimals=2)
    args.update(kw)
    return Instrument(**args)


def xyz(**kw):
    return abc(symbol="XYZ", base="XYZ", maker_fee_ppm=1000, taker_fee_ppm=2000, **kw)


class Venue:
    """A Sequencer that checks its invariants after every command."""

    def __init__(self, *instruments, day_end_s=0, funds=True):
        self.seq = Sequencer(day_end_s)
        for inst in instruments or (abc(),):
            assert type(self.apply(ListInstrument(0, inst))[0]) is InstrumentChanged
        if funds:
            for account in (1, 2, 3):
                for asset in sorted(self.seq.assets):
                    self.apply(Deposit(0, account, asset, 1_000_000))

    def apply(self, cmd):
        """Apply ``cmd``, check the invariants and that its depth changes (specified by
        tests/engine/test_depth_updates.py) match the book; return its events."""
        events = self.seq.apply(cmd)
        self.seq.check()
        for e in self.seq.depth_changes():
            book = self.seq.markets[e.symbol].book
            for side, levels in (("buy", e.bids), ("sell", e.asks)):
                assert all(book.level_qty(side, p) == q for p, q in levels), e
        return events

    def place(self, account, side, type_="LIMIT", symbol="ABC", ts=1, **kw):
        return self.apply(PlaceOrder(ts, account, symbol, side, type_, **kw))

    def bal(self, account, asset):
        b = self.seq.ledger.balance(account, asset)
        return b.free, b.locked

    def order(self, order_id):
        return self.seq.orders.get(order_id)


def of(events, kind):
    return [e for e in events if type(e) is kind]


def updates(events):
    return [(e.order_id, e.status, e.exec_type) for e in events if type(e) is OrderUpdated]


def rejected(events, reason):
    """Assert ``events`` is exactly one CommandRejected with ``reason``."""
    assert len(events) == 1 and type(events[0]) is CommandRejected, events
    assert events[0].reason == reason, events[0]
    return events[0]


def snapshot(seq):
    """Everything a command may change, as comparable values."""
    balances = {(b.account, b.asset): (b.free, b.locked)
                for b in seq.ledger.balances() if b.free or b.locked}
    orders = {oid: (o.status, o.open, o.qty, o.price, o.hold, o.executed_qty, o.cum_quote,
                    o.working, o.stop_key, o.client_order_id)
              for oid, o in seq.orders.items()}
    markets = {sym: (m.book.depth(1000), list(m.book.orders()), list(m.rising),
                     list(m.falling), m.last_price, m.status)
               for sym, m in seq.markets.items()}
    return (balances, orders, markets, sorted(seq.by_client), seq.next_order_id,
            seq.next_trade_id, dict(seq.ledger.external), sorted(seq._expiries))
