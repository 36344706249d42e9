"""Each inlined copy of a helper (``# inline copy of <helper>``) against the helper itself.

The hot paths keep at most one inlined copy of any helper. Each test drives the
path that holds a copy on random inputs and compares what the copy did with
what the helper does from the same state.
"""

from decimal import Decimal
from types import SimpleNamespace

from hypothesis import given, settings
from hypothesis import strategies as st

from exchange.engine import (AmendOrder, BalanceChanged, CancelOrder, CommandRejected, Deposit,
                             ExecType, Instrument, ListInstrument, OrderBook, OrderUpdated,
                             PlaceOrder, Reason, Rejected, Sequencer, Traded)
from exchange.engine.book import MOVED_REQUEUED, _amended, _crosses
from exchange.engine.core import BUY, SELL, positive
from exchange.engine.ledger import Ledger

SYM = "ABC"
SOME = settings(max_examples=60, deadline=None)


def venue(maker_fee_ppm, taker_fee_ppm):
    inst = Instrument(SYM, SYM, "USD", Decimal("0.01"), Decimal("1"), base_decimals=0,
                      quote_decimals=2, maker_fee_ppm=maker_fee_ppm, taker_fee_ppm=taker_fee_ppm)
    seq = Sequencer()
    seq.apply(ListInstrument(1, inst))
    for account in (1, 2, 3):
        seq.apply(Deposit(1, account, "USD", 10**12))
        seq.apply(Deposit(1, account, SYM, 10**6))
    return seq, inst


orders = st.lists(st.tuples(st.sampled_from(["buy", "sell"]), st.integers(1, 10),
                            st.integers(1, 30), st.integers(1, 3)), min_size=1, max_size=12)
amends = st.lists(st.tuples(st.integers(0, 100), st.one_of(st.none(), st.integers(1, 40)),
                            st.one_of(st.none(), st.integers(-5, 5))), min_size=1, max_size=25)
fees = st.integers(0, 9_999)


def place_all(seq, placed):
    """Rest each (side, distance from 1,000, qty, account): bids below 1,000, asks above."""
    for side, distance, qty, account in placed:
        price = 1_000 - distance if side == "buy" else 1_000 + distance
        seq.apply(PlaceOrder(2, account, SYM, side, "LIMIT", qty=qty, price=price))


@SOME
@given(placed=orders, steps=amends, maker=fees, taker=fees)
def test_amends_copies_of_report_touch_buy_hold_and_ledger_hold(placed, steps, maker, taker):
    seq, inst = venue(maker, taker)
    place_all(seq, placed)
    mkt = seq.markets[SYM]
    for pick, qty, move in steps:
        if not seq.orders:
            break
        o = list(seq.orders.values())[pick % len(seq.orders)]
        price = None if move is None else max(1, o.price + move)
        seq.depth_changes()   # forget the levels touched so far
        old_level, held = o.level, o.hold
        before = (o.hold_balance.free, o.hold_balance.locked)
        events = seq.apply(AmendOrder(3, o.account, SYM, o.order_id, qty=qty, price=price))
        seq.check()
        if any(type(e) in (CommandRejected, Traded) or (
                type(e) is OrderUpdated and e.exec_type is not ExecType.AMENDED) for e in events):
            continue   # refused, or crossed (what it matched changes the order after the copies)
        # _report
        helper = []
        seq._report(o, ExecType.AMENDED, None, 3, helper)
        assert [e for e in events if type(e) is OrderUpdated] == helper
        # Instrument.buy_hold
        if o.side is BUY:
            assert o.hold == inst.buy_hold(o.price, o.open)
        # Ledger.hold
        scratch = Ledger()
        b = scratch.balance(o.account, o.hold_balance.asset)
        b.free, b.locked = before
        helper = []
        scratch.hold(seq.seq, b, o.hold - held, o.order_id, helper)
        assert [e for e in events if type(e) is BalanceChanged] == helper
        # _touch (the old level, then the new)
        copied = (set(mkt.touched_bids), set(mkt.touched_asks))
        mkt.touched_bids.clear()
        mkt.touched_asks.clear()
        seq._touch(mkt, SimpleNamespace(side=o.side, level=old_level))
        seq._touch(mkt, o)
        assert copied == (set(mkt.touched_bids), set(mkt.touched_asks))


@SOME
@given(placed=orders, picks=st.lists(st.integers(0, 100), min_size=1, max_size=10),
       maker=fees, taker=fees)
def test_closes_copy_of_ledger_release(placed, picks, maker, taker):
    seq, _ = venue(maker, taker)
    place_all(seq, placed)
    for pick in picks:
        if not seq.orders:
            break
        o = list(seq.orders.values())[pick % len(seq.orders)]
        before, held = (o.hold_balance.free, o.hold_balance.locked), o.hold
        events = seq.apply(CancelOrder(4, o.account, SYM, order_id=o.order_id))
        scratch = Ledger()
        b = scratch.balance(o.account, o.hold_balance.asset)
        b.free, b.locked = before
        helper = []
        scratch.release(seq.seq, b, held, o.order_id, helper)
        assert [e for e in events if type(e) is BalanceChanged] == helper
        seq.check()


@SOME
@given(price=st.one_of(st.integers(-3, 3), st.integers(-2**70, 2**70)))
def test_a_limit_price_is_refused_exactly_when_it_is_not_positive(price):
    # _check_place tests "None or <= 0" (the command checked the type), where it once
    # held a copy of positive: the two must agree on every int.
    seq, _ = venue(0, 0)
    events = seq.apply(PlaceOrder(2, 1, SYM, "buy", "LIMIT", qty=1, price=price))
    refused = type(events[0]) is CommandRejected and events[0].reason is Reason.INVALID_PRICE
    assert refused == (not positive(price))


book_orders = st.lists(st.tuples(st.sampled_from([BUY, SELL]), st.integers(1, 10),
                                 st.integers(1, 9)), min_size=1, max_size=15)


class _Record:
    __slots__ = ("order_id", "side", "price", "open", "visible", "display", "post_only", "owner",
                 "stp", "level", "book_side")


def twin_books_of(placed):
    books, records = (OrderBook(), OrderBook()), ({}, {})
    for i, (side, distance, qty) in enumerate(placed):
        price = 100 - distance if side is BUY else 100 + distance
        for book, recs in zip(books, records):
            rec = recs[i] = _Record()
            book.limit(i, side, price, qty, record=rec)
    return books, records


@SOME
@given(placed=book_orders, steps=st.lists(st.tuples(st.integers(0, 100), st.integers(1, 12),
                                                    st.integers(-9, 9)), min_size=1, max_size=20))
def test_moves_copies_of_unlink_and_rest(placed, steps):
    (fast, slow), (fast_recs, slow_recs) = twin_books_of(placed)
    for pick, qty, move in steps:
        oid = pick % len(placed)
        o, twin = fast_recs[oid], slow_recs[oid]
        if oid not in fast:
            continue
        price = o.price + move
        side = o.book_side
        if price <= 0 or (price >= side.opp.best if side.bid else price <= side.opp.best):
            continue   # a move that crosses is no copy: it matches
        if price == o.price and qty <= o.open:
            continue   # a decrease in place: _reduce, called
        assert fast.move(o, qty, price) is MOVED_REQUEUED
        slow._unlink(twin)   # the helpers the copies stand for
        twin.price = price
        slow._rest(twin, qty, [])
        assert list(fast.orders()) == list(slow.orders())
        assert fast.depth(100) == slow.depth(100)
        fast.check()
        slow.check()


@SOME
@given(placed=book_orders, side=st.sampled_from([BUY, SELL]), price=st.integers(1, 200))
def test_submits_copy_of_crosses(placed, side, price):
    (book, _), _ = twin_books_of(placed)
    opp = book._asks if side is BUY else book._bids
    crosses = _crosses(opp, price)
    events = book.limit("new", side, price, 1, post_only=True)
    assert (events == [Rejected.of("new", Reason.POST_ONLY_WOULD_TAKE)]) == crosses


@SOME
@given(placed=book_orders, pick=st.integers(0, 100), qty=st.integers(1, 12),
       move=st.integers(-9, 9))
def test_amends_copy_of_amended(placed, pick, qty, move):
    (book, _), (recs, _) = twin_books_of(placed)
    oid = pick % len(placed)
    o = recs[oid]
    old_price, old_open, side = o.price, o.open, o.side
    price = old_price + move
    book_side = o.book_side
    if price <= 0 or (price >= book_side.opp.best if book_side.bid else price <= book_side.opp.best):
        return   # crossing: amend returns the match's events, built by _amended itself
    events = book.amend(oid, qty, price)
    kept = price == old_price and qty <= old_open
    assert events == [_amended(oid, side, price, qty, kept)]
