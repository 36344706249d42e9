"""DepthUpdated: what the depth stream and /depth's lastUpdateId are built from.

Each command that changes a book yields one DepthUpdated for that symbol, last
among its events, carrying the next per-symbol update id and the new visible
quantity of every level it changed (0 when the level emptied), best first.
Commands that change no book yield none. (The random-stream model test checks
that a mirror fed only from these events is the book, after every command.)
"""

from decimal import Decimal as D

from exchange.engine import (AmendOrder, CancelAll, CancelOrder, Deposit, DepthUpdated,
                             ExpireOrders, Instrument, ListInstrument, PlaceOrder, Sequencer,
                             Withdraw)

ABC = Instrument(symbol="ABC", base="ABC", quote="USD", tick_size=D("0.01"), step_size=D("1"),
                 base_decimals=0, quote_decimals=2)
XYZ = Instrument(symbol="XYZ", base="XYZ", quote="USD", tick_size=D("0.01"), step_size=D("1"),
                 base_decimals=0, quote_decimals=2)


def venue():
    seq = Sequencer()
    for inst in (ABC, XYZ):
        seq.apply(ListInstrument(0, inst))
    for account in (1, 2):
        for asset in ("ABC", "USD", "XYZ"):
            seq.apply(Deposit(0, account, asset, 10_000_000))
    return seq


def depth(events):
    return [(e.symbol, e.update_id, e.bids, e.asks) for e in events if type(e) is DepthUpdated]


def place(seq, account, side, qty, price=None, symbol="ABC", ts=1, **kw):
    type_ = kw.pop("type_", "LIMIT" if price is not None else "MARKET")
    return seq.apply(PlaceOrder(ts, account, symbol, side, type_, qty=qty, price=price, **kw))


def test_a_resting_order_reports_its_level_with_the_first_update_id():
    seq = venue()
    events = place(seq, 1, "buy", 10, 100)
    assert depth(events) == [("ABC", 1, ((100, 10),), ())]
    assert type(events[-1]) is DepthUpdated and events[-1].seq == seq.seq
    assert depth(place(seq, 2, "buy", 5, 100)) == [("ABC", 2, ((100, 15),), ())]


def test_a_trade_reports_the_makers_level_and_the_takers_rest():
    seq = venue()
    place(seq, 1, "sell", 10, 101)
    place(seq, 1, "sell", 10, 102)
    events = place(seq, 2, "buy", 15, 103)   # takes 101 and half of 102, rests nothing
    assert depth(events) == [("ABC", 3, (), ((101, 0), (102, 5)))]
    events = place(seq, 2, "buy", 8, 102)    # takes the 5 left, rests 3 at 102
    assert depth(events) == [("ABC", 4, ((102, 3),), ((102, 0),))]


def test_cancel_and_cancel_all_report_the_emptied_levels():
    seq = venue()
    place(seq, 1, "buy", 10, 100)
    place(seq, 1, "buy", 10, 99)
    place(seq, 1, "sell", 10, 105)
    assert depth(seq.apply(CancelOrder(1, 1, "ABC", order_id=1))) == [
        ("ABC", 4, ((100, 0),), ())]
    assert depth(seq.apply(CancelAll(1, 1, "ABC"))) == [("ABC", 5, ((99, 0),), ((105, 0),))]


def test_amend_reports_the_old_and_the_new_level():
    seq = venue()
    place(seq, 1, "buy", 10, 100)
    assert depth(seq.apply(AmendOrder(1, 1, "ABC", 1, qty=4))) == [("ABC", 2, ((100, 4),), ())]
    assert depth(seq.apply(AmendOrder(1, 1, "ABC", 1, price=98))) == [
        ("ABC", 3, ((100, 0), (98, 4)), ())]


def test_an_iceberg_shows_only_its_display_quantity_and_refreshes():
    seq = venue()
    assert depth(place(seq, 1, "sell", 10, 100, display_qty=3)) == [("ABC", 1, (), ((100, 3),))]
    assert depth(place(seq, 2, "buy", 3, 100)) == [("ABC", 2, (), ((100, 3),))]


def test_expiry_reports_the_level_of_the_expired_order():
    seq = venue()
    place(seq, 1, "buy", 10, 100, tif="GTD", expire_ts_ns=50)
    assert depth(seq.apply(ExpireOrders(50))) == [("ABC", 2, ((100, 0),), ())]


def test_self_trade_prevention_reports_the_expired_makers_level():
    seq = venue()
    place(seq, 1, "sell", 10, 100)
    events = place(seq, 1, "buy", 5, 100, stp="EXPIRE_MAKER")
    assert depth(events) == [("ABC", 2, ((100, 5),), ((100, 0),))]


def test_each_symbol_counts_its_own_updates():
    seq = venue()
    place(seq, 1, "buy", 10, 100)
    assert depth(place(seq, 1, "buy", 10, 100, symbol="XYZ")) == [("XYZ", 1, ((100, 10),), ())]
    assert depth(place(seq, 1, "buy", 1, 100)) == [("ABC", 2, ((100, 11),), ())]


def test_commands_that_change_no_book_report_nothing():
    seq = venue()
    place(seq, 1, "buy", 10, 100)
    assert depth(seq.apply(Deposit(1, 1, "USD", 5))) == []
    assert depth(seq.apply(Withdraw(1, 1, "USD", 5))) == []
    assert depth(seq.apply(CancelOrder(1, 1, "ABC", order_id=99))) == []      # refused
    assert depth(place(seq, 2, "sell", 10, 90, type_="LIMIT_MAKER")) == []   # refused
    assert depth(place(seq, 2, "sell", 5, type_="STOP_LOSS", stop_price=50)) == []  # waits
    assert seq.markets["ABC"].update_id == 1
