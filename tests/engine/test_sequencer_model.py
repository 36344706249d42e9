"""Seeded random command streams against the sequencer.

Each stream lists two instruments, funds several accounts and then sends a
mix of every command: all order types and times in force, icebergs, client
ids, STP modes, cancels, amends, cancel-replaces, deposits and withdrawals,
status changes and time moving forward (so DAY/GTD orders expire). After every
step it runs ``Sequencer.check()`` and an independent check of its own:

* a reference ledger built only from the BalanceChanged events (sum of deltas
  per account and asset) equals the ledger, and each event's resulting
  balance equals the running sum;
* Traded quantities and quote amounts per order equal the executed_qty and
  cum_quote the OrderUpdated events report; fees are the rates rounded down;
  limit orders never trade through their price; a market buy by quote amount
  never spends more than it;
* order statuses seen in events move only through TRANSITIONS;
* a depth mirror fed only from the DepthUpdated events of ``depth_changes()``,
  taken after random runs of commands (as batches are cut), equals each book's
  depth then, and each symbol's update id goes up by exactly one per event;
* a refused command yields exactly one CommandRejected and leaves the state
  as it was (balances, open orders, books, stops, ids).

Finally the recorded commands are replayed into a fresh Sequencer, which must
produce the same events.
"""

import random
from decimal import Decimal as D

from hypothesis import given, settings, strategies as st

from exchange.engine import (FEE_ACCOUNT, STP, TRANSITIONS, AmendOrder, BalanceChanged,
                             CancelAll, CancelOrder, CancelReplace, CommandRejected,
                             Deposit, ExpireOrders, Instrument, InstrumentChanged, ListInstrument,
                             OrderUpdated, PlaceOrder, Sequencer, SetInstrumentStatus, Traded,
                             Withdraw)
from exchange.engine.instrument import PPM

DAY_NS = 86_400 * 10**9
ACCOUNTS = (1, 2, 3, 4)
TYPES = ("LIMIT", "LIMIT", "LIMIT", "LIMIT_MAKER", "MARKET", "MARKET", "STOP_LOSS",
         "STOP_LOSS_LIMIT", "TAKE_PROFIT", "TAKE_PROFIT_LIMIT")
TIFS = ("GTC", "GTC", "IOC", "FOK", "DAY", "GTD")
STPS = (None, None, "NONE", "EXPIRE_TAKER", "EXPIRE_MAKER", "EXPIRE_BOTH")
COIDS = ("a", "b", "c")

INSTRUMENTS = [
    Instrument(symbol="ABC", base="ABC", quote="USD", tick_size=D("0.01"), step_size=D("1"),
               base_decimals=0, quote_decimals=2),
    Instrument(symbol="XYZ", base="XYZ", quote="USD", tick_size=D("0.05"), step_size=D("1"),
               base_decimals=2, quote_decimals=2, maker_fee_ppm=1500, taker_fee_ppm=2500,
               price_band_bps=3000, reference_price=100, min_notional=100, min_qty=1,
               max_qty=500),
]
ASSETS = ("ABC", "USD", "XYZ")


def snapshot(seq):
    balances = {(b.account, b.asset): (b.free, b.locked)
                for b in seq.ledger.balances() if b.free or b.locked}
    orders = {oid: (o.status, o.open, o.qty, o.price, o.hold, o.executed_qty, o.cum_quote,
                    o.working, o.stop_key, o.client_order_id)
              for oid, o in seq.orders.items()}
    markets = {sym: (m.book.depth(1000), list(m.book.orders()), list(m.rising),
                     list(m.falling), m.last_price, m.status, m.update_id,
                     sorted(lvl.price for lvl in m.touched_bids),
                     sorted(lvl.price for lvl in m.touched_asks))
               for sym, m in seq.markets.items()}
    return (balances, orders, markets, sorted(seq.by_client), seq.next_order_id,
            seq.next_trade_id, dict(seq.ledger.external), sorted(seq._expiries))


class Model:
    """The independent bookkeeping, fed only from events."""

    def __init__(self, seq):
        self.seq = seq
        self.balances = {}      # (account, asset) -> [free, locked]
        self.traded = {}        # order_id -> [lots, quote]
        self.status = {}        # order_id -> last reported status
        self.spec = {}          # order_id -> OrderSpec
        self.closed = set()
        self.insts = {i.symbol: i for i in INSTRUMENTS}
        self.depth = {}         # symbol -> (update_id, {price: qty} bids, {price: qty} asks)

    def take_depth(self):
        """Take the depth changes (as a batch cut does); the mirror must then be the books."""
        seq = self.seq
        changes = seq.depth_changes()
        assert len({e.symbol for e in changes}) == len(changes), "two updates for a symbol"
        for e in changes:
            assert e.seq == seq.seq
            last, bids, asks = self.depth.get(e.symbol, (0, {}, {}))
            assert e.update_id == last + 1, e
            assert list(e.bids) == sorted(e.bids, reverse=True) and list(e.asks) == sorted(e.asks)
            for levels, changed in ((bids, e.bids), (asks, e.asks)):
                for price, qty in changed:
                    if qty:
                        levels[price] = qty
                    else:
                        levels.pop(price, None)
            self.depth[e.symbol] = (e.update_id, bids, asks)
        for symbol, mkt in seq.markets.items():  # the mirror is the book
            update_id, bids, asks = self.depth.get(symbol, (0, {}, {}))
            book_bids, book_asks = mkt.book.depth(10**6)
            assert sorted(bids.items(), reverse=True) == [(p, q) for p, q, _ in book_bids]
            assert sorted(asks.items()) == [(p, q) for p, q, _ in book_asks]
            assert mkt.update_id == update_id

    def step(self, cmd, events):
        seq = self.seq
        seq.check()
        assert all(e.seq == seq.seq for e in events), "event with another seq"
        spent = {}  # market-by-quote buys: order_id -> quote spent in this command
        for e in events:
            t = type(e)
            if t is BalanceChanged:
                b = self.balances.setdefault((e.account, e.asset), [0, 0])
                b[0] += e.free_delta
                b[1] += e.locked_delta
                assert (e.free, e.locked) == tuple(b), e
                assert e.free >= 0 and e.locked >= 0, e
            elif t is Traded:
                inst = self.insts[e.symbol]
                assert e.quote_qty == inst.notional(e.price, e.qty)
                assert e.maker_fee == e.quote_qty * inst.maker_fee_ppm // PPM
                assert e.taker_fee == e.quote_qty * inst.taker_fee_ppm // PPM
                maker, taker = self.spec[e.maker_order_id], self.spec[e.taker_order_id]
                assert (maker.account, taker.account) == (e.maker_account, e.taker_account)
                assert maker.side != taker.side == e.taker_side
                if maker.account == taker.account:
                    assert taker.stp == STP.NONE, "self-trade despite STP"
                for oid in (e.maker_order_id, e.taker_order_id):
                    tr = self.traded.setdefault(oid, [0, 0])
                    tr[0] += e.qty
                    tr[1] += e.quote_qty
                if taker.quote_qty is not None and taker.side == "buy":
                    spent[taker.order_id] = spent.get(taker.order_id, 0) + e.quote_qty + e.taker_fee
            elif t is OrderUpdated:
                oid = e.order_id
                assert oid not in self.closed, f"update for closed order {oid}"
                if e.exec_type == "NEW":
                    assert oid not in self.status
                    self.spec[oid] = e.spec
                assert e.spec is self.spec[oid] or e.spec == self.spec[oid]
                assert e.status in TRANSITIONS[self.status.get(oid)], (
                    self.status.get(oid), e)
                self.status[oid] = e.status
                lots, quote = self.traded.get(oid, (0, 0))
                assert (e.executed_qty, e.cum_quote) == (lots, quote), e
                if e.qty is not None:
                    assert e.executed_qty <= e.qty
                if e.status not in ("NEW", "PARTIALLY_FILLED"):
                    self.closed.add(oid)
                    assert oid not in seq.orders
        for e in events:
            if type(e) is Traded and e.taker_order_id in self.spec:
                taker = self.spec[e.taker_order_id]
                o_price = self._price_of(e.taker_order_id, events)
                if o_price is not None:   # a limit taker never trades through its price
                    assert e.price <= o_price if taker.side == "buy" else e.price >= o_price
        for oid, amount in spent.items():
            assert amount <= self.spec[oid].quote_qty, "market buy spent more than its quote"
        # the ledger equals the sums of the deltas
        ledger = {(b.account, b.asset): [b.free, b.locked] for b in seq.ledger.balances()
                  if b.free or b.locked}
        mine = {k: v for k, v in self.balances.items() if v != [0, 0]}
        assert ledger == mine

    @staticmethod
    def _price_of(order_id, events):
        for e in events:
            if type(e) is OrderUpdated and e.order_id == order_id:
                return e.price
        return None


class Stream:
    """Generates commands from a seeded RNG and what the events revealed."""

    def __init__(self, rng):
        self.rng = rng
        self.ts = 1
        self.order_ids = []
        self.open = {}          # order_id -> (account, symbol), as the events tell
        self.closed_markets = set()

    def next(self):
        r = self.rng
        roll = r.random()
        if r.random() < 0.15:
            self.ts += r.choice((1, 10**9, 3600 * 10**9, DAY_NS // 3))
        ts = self.ts
        if self.closed_markets and r.random() < 0.1:
            return SetInstrumentStatus(ts, r.choice(sorted(self.closed_markets)), "TRADING")
        account = r.choice(ACCOUNTS)
        symbol = r.choice(("ABC", "XYZ", "XYZ", "NOPE") if r.random() < 0.05 else ("ABC", "XYZ"))
        if roll < 0.06:
            return Deposit(ts, account, r.choice(ASSETS), r.choice((1, 100, 5000, 10**5, 0)))
        if roll < 0.10:
            return Withdraw(ts, account, r.choice(ASSETS), r.choice((1, 50, 1000, 10**6)))
        if roll < 0.62:
            return self.order(ts, account, symbol)
        if roll < 0.74:
            if r.random() < 0.3:
                return CancelOrder(ts, account, symbol, client_order_id=r.choice(COIDS))
            oid, account, symbol = self.some_order(account, symbol)
            return CancelOrder(ts, account, symbol, order_id=oid)
        if roll < 0.77:
            return CancelAll(ts, account, symbol)
        if roll < 0.90:
            oid, account, symbol = self.some_order(account, symbol)
            return AmendOrder(ts, account, symbol, oid,
                              qty=r.choice((None, None, 1, 3, 8, 20, 0)),
                              price=r.choice((None, None, 95, 99, 100, 101, 105, 200)))
        if roll < 0.955:
            oid, account, symbol = self.some_order(account, symbol)
            return CancelReplace(ts, account, symbol, self.order(ts, account, symbol),
                                 cancel_order_id=oid,
                                 mode=r.choice(("STOP_ON_FAILURE", "ALLOW_FAILURE")))
        if roll < 0.97:
            return SetInstrumentStatus(ts, symbol, r.choice(
                ("TRADING", "TRADING", "TRADING", "TRADING", "HALT", "CANCEL_ONLY", "AUCTION")))
        return ExpireOrders(ts)

    def some_order(self, account, symbol):
        """A recent order id, mostly with its owner and symbol (else a stranger's)."""
        r = self.rng
        if not self.order_ids or r.random() < 0.1:
            return r.randint(1, 500), account, symbol
        if self.open and r.random() < 0.8:
            oid = r.choice(sorted(self.open))
            owner, sym = self.open[oid]
        else:
            oid, owner, sym = r.choice(self.order_ids[-30:])
        if r.random() < 0.8:
            return oid, owner, sym
        return oid, account, symbol

    def order(self, ts, account, symbol):
        r = self.rng
        type_ = r.choice(TYPES)
        side = r.choice(("buy", "sell"))
        kw = {}
        price = r.choice((96, 98, 99, 100, 100, 101, 102, 104, 140, 1))
        if type_ in ("LIMIT", "LIMIT_MAKER", "STOP_LOSS_LIMIT", "TAKE_PROFIT_LIMIT"):
            kw["price"] = price
        if type_ == "MARKET" and r.random() < 0.4:
            kw["quote_qty"] = r.choice((50, 300, 1000, 5000))
        else:
            kw["qty"] = r.choice((1, 2, 3, 5, 8, 13, 30, 0, 600))
        if type_.startswith(("STOP", "TAKE")):
            kw["stop_price"] = r.choice((95, 97, 99, 100, 101, 103, 105))
        if type_ in ("LIMIT", "LIMIT_MAKER", "STOP_LOSS_LIMIT", "TAKE_PROFIT_LIMIT"):
            tif = r.choice(TIFS)
            kw["tif"] = tif
            if tif == "GTD":
                kw["expire_ts_ns"] = ts + r.choice((1, 10**9, DAY_NS))
            if r.random() < 0.15:
                kw["display_qty"] = r.choice((1, 2, 5))
        if r.random() < 0.2:
            kw["client_order_id"] = r.choice(COIDS)
        stp = r.choice(STPS)
        if stp is not None:
            kw["stp"] = stp
        return PlaceOrder(ts, account, symbol, side, type_, **kw)

    def saw(self, events):
        for e in events:
            if type(e) is OrderUpdated:
                if e.exec_type == "NEW":
                    self.order_ids.append((e.order_id, e.account, e.symbol))
                if e.status in ("NEW", "PARTIALLY_FILLED"):
                    self.open[e.order_id] = (e.account, e.symbol)
                else:
                    self.open.pop(e.order_id, None)
            elif type(e) is InstrumentChanged:
                if e.status == "TRADING":
                    self.closed_markets.discard(e.symbol)
                else:
                    self.closed_markets.add(e.symbol)


def setup_commands():
    cmds = [ListInstrument(0, inst) for inst in INSTRUMENTS]
    cmds += [Deposit(0, a, asset, amount) for a in ACCOUNTS
             for asset, amount in (("ABC", 200), ("USD", 50_000 * a), ("XYZ", 5000))]
    return cmds


def run_stream(seed, steps):
    rng = random.Random(seed)
    seq = Sequencer(day_end_s=rng.choice((0, 3600 * 22)))
    model = Model(seq)
    stream = Stream(rng)
    cuts = random.Random(seed + 1)   # when batches are cut (its own draws: the stream's stay)
    log = []
    for cmd in setup_commands():
        events = seq.apply(cmd)
        model.step(cmd, events)
        log.append((cmd, events))
    for _ in range(steps):
        cmd = stream.next()
        before = snapshot(seq)
        due = bool(seq._expiries) and seq._expiries[0][0] <= cmd.ts_ns
        events = seq.apply(cmd)
        model.step(cmd, events)
        stream.saw(events)
        log.append((cmd, events))
        rejections = [e for e in events if type(e) is CommandRejected]
        if rejections and type(cmd) is not CancelReplace:
            if not due:
                assert events == rejections, "a refused command did more than refuse"
                assert snapshot(seq) == before, f"refused {cmd} changed state"
            else:  # due expiries ran first; the rest is the refusal alone
                assert len(rejections) == 1 and events[-1] is rejections[0], events
                assert all(type(e) in (OrderUpdated, BalanceChanged) for e in events[:-1])
                assert all(e.reason == "TIME" for e in events[:-1] if type(e) is OrderUpdated)
        if cuts.random() < 0.3:   # a batch is cut now
            model.take_depth()
    model.take_depth()
    # everything the fee account holds came from fees
    fees = sum(e.maker_fee + e.taker_fee for _, evs in log for e in evs if type(e) is Traded)
    assert seq.ledger.balance(FEE_ACCOUNT, "USD").free == fees
    return log


def replay(log, day_end_s):
    seq = Sequencer(day_end_s=day_end_s)
    return [seq.apply(cmd) for cmd, _ in log]


@settings(max_examples=100, derandomize=True, deadline=None, database=None)
@given(seed=st.integers(0, 2**32 - 1))
def test_random_streams_keep_every_invariant_and_the_reference_ledger(seed):
    log = run_stream(seed, 300)
    rng = random.Random(seed)
    day_end_s = rng.choice((0, 3600 * 22))
    assert replay(log, day_end_s) == [events for _, events in log]


def test_a_long_stream_trades_and_exercises_every_path():
    log = run_stream(12345, 2500)
    kinds = {e.exec_type for _, evs in log for e in evs if type(e) is OrderUpdated}
    assert {"NEW", "TRADE", "CANCELED", "AMENDED", "EXPIRED", "TRIGGERED"} <= kinds
    reasons = {e.reason for _, evs in log for e in evs if type(e) is CommandRejected}
    assert len(reasons) >= 10
    assert sum(1 for _, evs in log for e in evs if type(e) is Traded) > 100
