"""Sequencer.depth_changes(): what the depth stream and /depth's lastUpdateId are built from.

Called when a batch is cut for the journal, it returns one DepthUpdated per
symbol whose book changed since the last call, carrying the next per-symbol
update id and the visible quantity now of every level that changed (0 when
the level emptied), best first. Commands themselves yield no depth events;
commands that change no book leave nothing to report. (The random-stream
model test checks that a mirror fed only from these events is the book.)
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


def depth(seq):
    """The depth changes since the last call, as (symbol, update id, bids, asks)."""
    return [(e.symbol, e.update_id, e.bids, e.asks) for e in seq.depth_changes()]


def after(events, seq):
    """The depth changes a command (whose events are given) left, as ``depth``."""
    assert not any(type(e) is DepthUpdated for e in events)   # commands carry none
    return depth(seq)


def place(seq, account, side, *, qty, price=None, symbol="ABC", ts=1, **kw):
    type_ = kw.pop("type_", "LIMIT" if price is not None else "MARKET")
    return seq.apply(PlaceOrder(ts, account, symbol, side, type_, qty=qty, price=price, **kw))


def test_a_resting_order_reports_its_level_with_the_first_update_id():
    seq = venue()
    place(seq, 1, "buy", qty=10, price=100)
    (ev,) = seq.depth_changes()
    assert (ev.symbol, ev.update_id, ev.bids, ev.asks, ev.seq) == (
        "ABC", 1, ((100, 10),), (), seq.seq)
    assert seq.depth_changes() == []                    # nothing changed since
    assert after(place(seq, 2, "buy", qty=5, price=100), seq) == [("ABC", 2, ((100, 15),), ())]


def test_a_trade_reports_the_makers_level_and_the_takers_rest():
    seq = venue()
    place(seq, 1, "sell", qty=10, price=101)
    place(seq, 1, "sell", qty=10, price=102)
    depth(seq)
    place(seq, 2, "buy", qty=15, price=103)            # takes 101 and half of 102, rests nothing
    assert depth(seq) == [("ABC", 2, (), ((101, 0), (102, 5)))]
    place(seq, 2, "buy", qty=8, price=102)             # takes the 5 left, rests 3 at 102
    assert depth(seq) == [("ABC", 3, ((102, 3),), ((102, 0),))]


def test_cancel_and_cancel_all_report_the_emptied_levels():
    seq = venue()
    place(seq, 1, "buy", qty=10, price=100)
    place(seq, 1, "buy", qty=10, price=99)
    place(seq, 1, "sell", qty=10, price=105)
    depth(seq)
    assert after(seq.apply(CancelOrder(1, 1, "ABC", order_id=1)), seq) == [
        ("ABC", 2, ((100, 0),), ())]
    assert after(seq.apply(CancelAll(1, 1, "ABC")), seq) == [("ABC", 3, ((99, 0),), ((105, 0),))]


def test_amend_reports_the_old_and_the_new_level():
    seq = venue()
    place(seq, 1, "buy", qty=10, price=100)
    depth(seq)
    assert after(seq.apply(AmendOrder(1, 1, "ABC", 1, qty=4)), seq) == [("ABC", 2, ((100, 4),), ())]
    assert after(seq.apply(AmendOrder(1, 1, "ABC", 1, price=98)), seq) == [
        ("ABC", 3, ((100, 0), (98, 4)), ())]


def test_an_iceberg_shows_only_its_display_quantity_and_refreshes():
    seq = venue()
    assert after(place(seq, 1, "sell", qty=10, price=100,
                       display_qty=3), seq) == [("ABC", 1, (), ((100, 3),))]
    assert after(place(seq, 2, "buy", qty=3, price=100), seq) == [("ABC", 2, (), ((100, 3),))]


def test_expiry_reports_the_level_of_the_expired_order():
    seq = venue()
    place(seq, 1, "buy", qty=10, price=100, tif="GTD", expire_ts_ns=50)
    depth(seq)
    assert after(seq.apply(ExpireOrders(50)), seq) == [("ABC", 2, ((100, 0),), ())]


def test_self_trade_prevention_reports_the_expired_makers_level():
    seq = venue()
    place(seq, 1, "sell", qty=10, price=100)
    depth(seq)
    place(seq, 1, "buy", qty=5, price=100, stp="EXPIRE_MAKER")
    assert depth(seq) == [("ABC", 2, ((100, 5),), ((100, 0),))]


def test_each_symbol_counts_its_own_updates():
    seq = venue()
    place(seq, 1, "buy", qty=10, price=100)
    depth(seq)
    assert after(place(seq, 1, "buy", qty=10, price=100,
                       symbol="XYZ"), seq) == [("XYZ", 1, ((100, 10),), ())]
    assert after(place(seq, 1, "buy", qty=1, price=100), seq) == [("ABC", 2, ((100, 11),), ())]


def test_commands_that_change_no_book_report_nothing():
    seq = venue()
    place(seq, 1, "buy", qty=10, price=100)
    depth(seq)
    assert after(seq.apply(Deposit(1, 1, "USD", 5)), seq) == []
    assert after(seq.apply(Withdraw(1, 1, "USD", 5)), seq) == []
    assert after(seq.apply(CancelOrder(1, 1, "ABC", order_id=99)), seq) == []      # refused
    assert after(place(seq, 2, "sell", qty=10, price=90,
                       type_="LIMIT_MAKER"), seq) == []   # refused
    assert after(place(seq, 2, "sell", qty=5, type_="STOP_LOSS", stop_price=50), seq) == []  # waits
    assert seq.markets["ABC"].update_id == 1


def test_the_changes_of_several_commands_come_as_one_update_with_the_last_state():
    seq = venue()
    place(seq, 1, "buy", qty=10, price=100)
    place(seq, 1, "buy", qty=5, price=99)
    seq.apply(CancelOrder(1, 1, "ABC", order_id=1))
    place(seq, 2, "sell", qty=7, price=101, symbol="XYZ")
    assert depth(seq) == [("ABC", 1, ((100, 0), (99, 5)), ()), ("XYZ", 1, (), ((101, 7),))]


def test_after_recovery_update_ids_start_at_the_seq():
    seq = venue()
    place(seq, 1, "buy", qty=10, price=100)
    seq.reset_depth_ids()
    assert seq.depth_changes() == []
    assert after(place(seq, 1, "buy", qty=1,
                       price=100), seq) == [("ABC", seq.seq, ((100, 11),), ())]
