"""The sequencer as a specification: each test names a behaviour and checks
the events it produces; every apply is followed by ``Sequencer.check()``.

Units used throughout: instrument ABC (base ABC, quote USD) has tick 0.01 USD,
step 1 ABC, 0 base decimals and 2 quote decimals, so one tick x one lot is one
quote minor unit (a cent) and one lot is one base minor unit: a price of 100
ticks is 1.00 USD and 100 lots at 100 ticks cost 10000 cents. XYZ (base XYZ,
quote USD) has the same grid, with a maker fee of 0.1 % and a taker fee of 0.2 %.
"""

from decimal import Decimal as D

import pytest

from exchange.engine import (FEE_ACCOUNT, STP, TRANSITIONS, AmendOrder, BalanceChanged,
                             CancelAll, CancelOrder, CancelReplace, CommandRejected, Deposit,
                             Entry, ExpireOrders, IllegalTransition, InstrumentChanged,
                             InstrumentStatus, ListInstrument, Order, OrderSpec, OrderStatus,
                             OrderUpdated, PlaceOrder, Reason, Sequencer, SetInstrumentStatus,
                             Traded, Withdraw)
from tests.helpers.engine import BUY, DAY_NS, SELL, Venue, abc, of, rejected, snapshot, updates, xyz


def build(make):
    """Build a command with ``make()``; None if the command's own type check
    refused the values (a TypeError when built is a valid refusal too)."""
    try:
        return make()
    except TypeError:
        return None


def refused(v, make, reason):
    """Assert the command ``make()`` builds is refused with ``reason`` (or
    cannot be built at all) and changes nothing."""
    cmd = build(make)
    if cmd is None:
        return
    before = snapshot(v.seq)
    rejected(v.apply(cmd), reason)
    assert snapshot(v.seq) == before


def upd(seq, *, order_id, account, side, status, exec_type, created=1, **kw):
    """The OrderUpdated expected for an order, fixed fields defaulted."""
    spec = dict(order_id=order_id, account=account, symbol="ABC", client_order_id=None,
                side=side, type="LIMIT", tif="GTC", quote_qty=None, stop_price=None,
                display_qty=None, stp=STP.EXPIRE_MAKER, expire_ts_ns=None, created_ts_ns=created)
    state = dict(seq=seq, ts_ns=1, price=None, qty=None, working=True, status=status,
                 exec_type=exec_type, executed_qty=0, cum_quote=0, reason=None)
    for k, value in kw.items():
        (spec if k in spec else state)[k] = value
    return OrderUpdated.of(spec=OrderSpec.of(**spec), **state)


def bc(seq, account, asset, *, free_delta, locked_delta, free, locked, reason, ref):
    return BalanceChanged.of(seq, account, asset, free_delta, locked_delta, free, locked,
                             reason, ref)


# ---- listing and funding ----------------------------------------------------------


def test_listing_an_instrument_reports_its_status():
    s = Sequencer()
    assert s.apply(ListInstrument(5, abc())) == [
        InstrumentChanged.of(1, 5, "ABC", InstrumentStatus.TRADING)]
    s.check()


def test_listing_a_symbol_twice_is_refused():
    v = Venue(funds=False)
    rejected(v.apply(ListInstrument(1, abc(tick_size=D("1")))), Reason.DUPLICATE_SYMBOL)


def test_listing_an_incoherent_instrument_is_refused():
    v = Venue(funds=False)
    rejected(v.apply(ListInstrument(1, abc(symbol="DEF", base="DEF", min_qty=0))),
             Reason.INVALID_INSTRUMENT)
    refused(v, lambda: ListInstrument(1, "not an instrument"), Reason.INVALID_INSTRUMENT)
    assert list(v.seq.markets) == ["ABC"]


def test_listing_with_other_decimals_for_a_known_asset_is_refused():
    v = Venue(funds=False)
    rejected(v.apply(ListInstrument(1, abc(symbol="DEF", base="DEF", quote_decimals=4))),
             Reason.INVALID_INSTRUMENT)
    assert "DEF" not in v.seq.assets


def test_instrument_listed_with_plain_string_status_trades():
    # The enums are StrEnums precisely so that "TRADING" and the member are
    # interchangeable; an instrument built from config text must trade.
    v = Venue(abc(status="TRADING"))
    events = v.place(1, SELL, qty=1, price=100)
    assert not of(events, CommandRejected), events


def test_deposit_credits_free_balance():
    v = Venue(funds=False)
    assert v.apply(Deposit(3, 7, "USD", 500, "d1")) == [
        bc(1 + 1, 7, "USD", free_delta=500, locked_delta=0, free=500, locked=0,
           reason=Entry.DEPOSIT, ref="d1")]
    assert v.seq.ledger.external["USD"] == 500


@pytest.mark.parametrize("amount", [0, -1, 1.5, True, None, "10"])
def test_deposit_of_a_non_positive_integer_amount_is_refused(amount):
    refused(Venue(), lambda: Deposit(1, 1, "USD", amount), Reason.INVALID_AMOUNT)


def test_deposit_of_an_unknown_asset_is_refused():
    v = Venue()
    rejected(v.apply(Deposit(1, 1, "EUR", 5)), Reason.UNKNOWN_ASSET)
    rejected(v.apply(Withdraw(1, 1, "EUR", 5)), Reason.UNKNOWN_ASSET)


def test_withdrawal_debits_free_balance():
    v = Venue()
    events = v.apply(Withdraw(1, 1, "USD", 400, "w1"))
    assert events == [bc(v.seq.seq, 1, "USD", free_delta=-400, locked_delta=0, free=999_600,
                         locked=0, reason=Entry.WITHDRAWAL, ref="w1")]
    assert v.seq.ledger.external["USD"] == 3 * 1_000_000 - 400


def test_withdrawal_cannot_take_locked_funds():
    v = Venue()
    v.place(1, BUY, qty=1000, price=900)  # locks 900_000
    before = snapshot(v.seq)
    rejected(v.apply(Withdraw(1, 1, "USD", 100_001)), Reason.INSUFFICIENT_BALANCE)
    assert snapshot(v.seq) == before
    assert of(v.apply(Withdraw(1, 1, "USD", 100_000)), BalanceChanged)


# ---- limit orders, holds and settlement -------------------------------------------------


def test_resting_sell_holds_its_base_and_reports_new():
    v = Venue()
    events = v.place(1, SELL, qty=10, price=100, client_order_id="s-1")
    s = v.seq.seq
    assert events == [
        bc(s, 1, "ABC", free_delta=-10, locked_delta=10, free=999_990, locked=10,
           reason=Entry.HOLD, ref=1),
        upd(s, order_id=1, account=1, side="sell", status=OrderStatus.NEW, exec_type="NEW",
            price=100, qty=10, client_order_id="s-1"),
    ]
    assert v.seq.markets["ABC"].book.depth() == ([], [(100, 10, 1)])


def test_limit_buy_holds_price_times_qty_plus_the_larger_fee_rounded_up():
    v = Venue(xyz())
    v.place(1, BUY, symbol="XYZ", qty=7, price=101)       # 707 + 0.2 % = 708.414 -> 709
    assert v.bal(1, "USD") == (1_000_000 - 709, 709)
    assert v.order(1).hold == 709


def test_crossing_limit_trades_at_the_maker_price_and_settles_both_sides():
    v = Venue()
    v.place(1, SELL, qty=10, price=100)
    events = v.place(2, BUY, qty=10, price=100, ts=2)
    s = v.seq.seq
    assert events == [
        bc(s, 2, "USD", free_delta=-1000, locked_delta=1000, free=999_000, locked=1000,
           reason=Entry.HOLD, ref=2),
        upd(s, order_id=2, account=2, side="buy", status=OrderStatus.NEW, exec_type="NEW",
            price=100, qty=10, ts_ns=2, created=2),
        bc(s, 2, "USD", free_delta=0, locked_delta=-1000, free=999_000, locked=0,
           reason=Entry.TRADE, ref=1),
        bc(s, 1, "ABC", free_delta=0, locked_delta=-10, free=999_990, locked=0, reason=Entry.TRADE,
           ref=1),
        bc(s, 2, "ABC", free_delta=10, locked_delta=0, free=1_000_010, locked=0,
           reason=Entry.TRADE, ref=1),
        bc(s, 1, "USD", free_delta=1000, locked_delta=0, free=1_001_000, locked=0,
           reason=Entry.TRADE, ref=1),
        Traded.of(s, 2, 1, "ABC", 100, 10, 1000, 1, 2, 1, 2, "buy", 0, 0),
        upd(s, order_id=1, account=1, side="sell", status=OrderStatus.FILLED, exec_type="TRADE",
            price=100, qty=10, executed_qty=10,
            cum_quote=1000, ts_ns=2),
        upd(s, order_id=2, account=2, side="buy", status=OrderStatus.FILLED, exec_type="TRADE",
            price=100, qty=10, executed_qty=10,
            cum_quote=1000, ts_ns=2, created=2),
    ]
    assert v.seq.orders == {}
    assert v.seq.markets["ABC"].last_price == 100


def test_buy_filled_below_limit_releases_the_difference():
    v = Venue()
    v.place(1, SELL, qty=10, price=90)
    events = v.place(2, BUY, qty=10, price=100)
    s = v.seq.seq
    # holds 1000, pays 900, gets 100 back in the same posting
    assert bc(s, 2, "USD", free_delta=100, locked_delta=-1000, free=1_000_000 - 900, locked=0,
              reason=Entry.TRADE, ref=1) in events
    assert v.bal(2, "USD") == (999_100, 0)
    assert of(events, Traded)[0].price == 90


def test_partially_filled_buy_keeps_exactly_what_its_open_part_needs():
    v = Venue(xyz())
    v.place(1, SELL, symbol="XYZ", qty=4, price=95)
    events = v.place(2, BUY, symbol="XYZ", qty=10, price=100)
    o = v.order(2)
    assert (o.status, o.open, o.executed_qty, o.cum_quote) == (
        OrderStatus.PARTIALLY_FILLED, 6, 4, 380)
    assert o.hold == v.seq.markets["XYZ"].inst.buy_hold(100, 6) == 602
    assert updates(events)[-2:] == [(1, OrderStatus.FILLED, "TRADE"),
                                    (2, OrderStatus.PARTIALLY_FILLED, "TRADE")]
    assert v.bal(2, "USD") == (1_000_000 - 380 - 0 - 602, 602)  # taker fee 0.76 -> 0


def test_fees_are_rounded_down_charged_in_quote_and_paid_to_the_fee_account():
    v = Venue(xyz())
    v.place(1, SELL, symbol="XYZ", qty=333, price=301)      # maker
    events = v.place(2, BUY, symbol="XYZ", qty=333, price=301)  # taker
    notional = 333 * 301                                     # 100233
    maker_fee, taker_fee = notional * 1000 // 10**6, notional * 2000 // 10**6
    assert (maker_fee, taker_fee) == (100, 200)
    tr = of(events, Traded)[0]
    assert (tr.quote_qty, tr.maker_fee, tr.taker_fee) == (notional, maker_fee, taker_fee)
    assert v.bal(2, "USD") == (1_000_000 - notional - taker_fee, 0)
    assert v.bal(1, "USD") == (1_000_000 + notional - maker_fee, 0)
    assert v.bal(FEE_ACCOUNT, "USD") == (maker_fee + taker_fee, 0)
    assert bc(v.seq.seq, FEE_ACCOUNT, "USD", free_delta=300, locked_delta=0, free=300, locked=0,
              reason=Entry.FEE, ref=1) in events


def test_seller_taker_pays_the_taker_fee_and_buyer_maker_the_maker_fee():
    v = Venue(xyz())
    v.place(1, BUY, symbol="XYZ", qty=1000, price=100)      # maker buyer, holds 100200
    assert v.order(1).hold == 100_000 + 200
    v.place(2, SELL, symbol="XYZ", qty=1000, price=100)     # taker seller
    assert v.bal(1, "USD") == (1_000_000 - 100_000 - 100, 0)
    assert v.bal(2, "USD") == (1_000_000 + 100_000 - 200, 0)
    assert v.bal(FEE_ACCOUNT, "USD") == (300, 0)


def test_a_taker_sweeps_levels_best_price_first_fifo_within_a_level():
    v = Venue()
    v.place(1, SELL, qty=5, price=101)
    v.place(2, SELL, qty=5, price=100)
    v.place(3, SELL, qty=5, price=100)
    events = v.place(3, BUY, qty=12, price=101, stp="NONE")
    trades = [(t.maker_order_id, t.price, t.qty) for t in of(events, Traded)]
    assert trades == [(2, 100, 5), (3, 100, 5), (1, 101, 2)]
    assert [t.trade_id for t in of(events, Traded)] == [1, 2, 3]


def test_ioc_remainder_expires_and_releases_its_hold():
    v = Venue()
    v.place(1, SELL, qty=3, price=100)
    events = v.place(2, BUY, qty=10, price=100, tif="IOC")
    assert updates(events)[-1] == (2, OrderStatus.EXPIRED, "EXPIRED")
    assert events[-1].reason == Reason.IOC and events[-1].executed_qty == 3
    assert v.bal(2, "USD") == (1_000_000 - 300, 0)
    assert v.seq.orders == {}


def test_fok_that_cannot_fill_entirely_expires_without_trading():
    v = Venue()
    v.place(1, SELL, qty=3, price=100)
    events = v.place(2, BUY, qty=4, price=100, tif="FOK")
    assert not of(events, Traded)
    assert updates(events) == [(2, OrderStatus.NEW, "NEW"), (2, OrderStatus.EXPIRED, "EXPIRED")]
    assert events[-1].reason == Reason.FOK
    assert v.bal(2, "USD") == (1_000_000, 0)
    events = v.place(2, BUY, qty=3, price=100, tif="FOK")
    assert updates(events)[-1] == (3, OrderStatus.FILLED, "TRADE")


def test_limit_maker_rests_or_is_refused_if_it_would_take():
    v = Venue()
    v.place(1, SELL, qty=3, price=100)
    before = snapshot(v.seq)
    rejected(v.place(2, BUY, "LIMIT_MAKER", qty=1, price=100), Reason.POST_ONLY_WOULD_TAKE)
    assert snapshot(v.seq) == before
    events = v.place(2, BUY, "LIMIT_MAKER", qty=1, price=99)
    assert updates(events) == [(2, OrderStatus.NEW, "NEW")]
    rejected(v.place(2, BUY, "LIMIT_MAKER", qty=1, price=99, tif="IOC"), Reason.INVALID_TIF)


def test_iceberg_shows_only_its_display_quantity_and_refreshes():
    v = Venue()
    v.place(1, SELL, qty=10, price=100, display_qty=3)
    v.place(1, SELL, qty=2, price=100)
    assert v.seq.markets["ABC"].book.depth() == ([], [(100, 5, 2)])
    events = v.place(2, BUY, qty=4, price=100)
    # slice of 3 from the iceberg, then order 2 (the refreshed slice went to the back)
    assert [(t.maker_order_id, t.qty) for t in of(events, Traded)] == [(1, 3), (2, 1)]
    assert v.order(1).open == 7


@pytest.mark.parametrize("kw", [
    dict(type_="LIMIT", qty=10, price=100, display_qty=10),
    dict(type_="LIMIT", qty=10, price=100, display_qty=0),
    dict(type_="LIMIT", qty=10, price=100, display_qty=3, tif="IOC"),
    dict(type_="LIMIT", qty=10, price=100, display_qty=3, tif="FOK"),
    dict(type_="MARKET", qty=10, display_qty=3),
    dict(type_="STOP_LOSS", qty=10, stop_price=200, display_qty=3),
])
def test_iceberg_rules_are_enforced(kw):
    v = Venue()
    before = snapshot(v.seq)
    rejected(v.place(1, BUY, **kw), Reason.FILTER_ICEBERG)
    assert snapshot(v.seq) == before


def test_client_order_id_is_unique_among_an_accounts_open_orders():
    v = Venue()
    v.place(1, SELL, qty=1, price=100, client_order_id="a")
    before = snapshot(v.seq)
    rej = rejected(v.place(1, SELL, qty=1, price=101, client_order_id="a"),
                   Reason.DUPLICATE_CLIENT_ORDER_ID)
    assert rej.client_order_id == "a"
    assert snapshot(v.seq) == before
    assert not of(v.place(2, SELL, qty=1, price=100, client_order_id="a"), CommandRejected)
    v.apply(CancelOrder(1, 1, "ABC", client_order_id="a"))
    assert not of(v.place(1, SELL, qty=1, price=100, client_order_id="a"), CommandRejected)


@pytest.mark.parametrize("coid", ["", "x" * 37, "a b", "ü", 5, "a/b"])
def test_malformed_client_order_ids_are_refused(coid):
    v = Venue()
    refused(v, lambda: PlaceOrder(1, 1, "ABC", SELL, "LIMIT", qty=1, price=100,
                                  client_order_id=coid), Reason.INVALID_CLIENT_ORDER_ID)


# ---- self-trade prevention --------------------------------------------------------------


def test_default_stp_expires_the_resting_order_and_the_taker_rests():
    v = Venue()
    v.place(1, SELL, qty=5, price=100)
    events = v.place(1, BUY, qty=5, price=100)
    assert not of(events, Traded)
    assert (1, OrderStatus.EXPIRED_IN_MATCH, "EXPIRED") in updates(events)
    assert v.order(2).status is OrderStatus.NEW
    assert v.bal(1, "ABC") == (1_000_000, 0)


def test_stp_expire_taker_keeps_the_resting_order():
    v = Venue()
    v.place(1, SELL, qty=5, price=100)
    events = v.place(1, BUY, qty=5, price=100, stp="EXPIRE_TAKER")
    assert updates(events)[-1] == (2, OrderStatus.EXPIRED_IN_MATCH, "EXPIRED")
    assert events[-1].reason == Reason.STP
    assert v.order(1).status is OrderStatus.NEW
    assert v.bal(1, "USD") == (1_000_000, 0)


def test_stp_expire_both_expires_both():
    v = Venue()
    v.place(1, SELL, qty=5, price=100)
    events = v.place(1, BUY, qty=5, price=100, stp="EXPIRE_BOTH")
    assert {(oid, st) for oid, st, _ in updates(events)[1:]} == {
        (1, OrderStatus.EXPIRED_IN_MATCH), (2, OrderStatus.EXPIRED_IN_MATCH)}
    assert v.seq.orders == {}


def test_stp_none_lets_an_account_trade_with_itself():
    v = Venue()
    v.place(1, SELL, qty=5, price=100)
    events = v.place(1, BUY, qty=5, price=100, stp="NONE")
    assert of(events, Traded)[0].maker_account == of(events, Traded)[0].taker_account == 1
    assert v.bal(1, "USD") == (1_000_000, 0) and v.bal(1, "ABC") == (1_000_000, 0)


def test_stp_trades_other_accounts_before_expiring_own_orders():
    v = Venue()
    v.place(2, SELL, qty=2, price=100)
    v.place(1, SELL, qty=2, price=100)
    v.place(3, SELL, qty=2, price=100)
    events = v.place(1, BUY, qty=6, price=100)   # EXPIRE_MAKER: skips its own
    assert [t.maker_order_id for t in of(events, Traded)] == [1, 3]
    assert v.order(4).open == 2 and v.order(2) is None


def test_stp_mode_outside_the_allowed_set_is_refused():
    v = Venue(abc(allowed_stp=frozenset({STP.EXPIRE_MAKER, STP.EXPIRE_TAKER})))
    rejected(v.place(1, BUY, qty=1, price=100, stp="NONE"), Reason.STP_MODE_NOT_ALLOWED)
    rejected(v.place(1, BUY, qty=1, price=100, stp="BOGUS"), Reason.INVALID_STP)


# ---- market orders ------------------------------------------------------------------


def test_market_sell_by_quantity_fills_what_is_there_and_expires_the_rest():
    v = Venue()
    v.place(1, BUY, qty=3, price=100)
    v.place(1, BUY, qty=3, price=99)
    events = v.place(2, SELL, "MARKET", qty=10)
    assert [(t.price, t.qty) for t in of(events, Traded)] == [(100, 3), (99, 3)]
    last = events[-1]
    assert (last.status, last.exec_type, last.reason, last.executed_qty) == (
        OrderStatus.EXPIRED, "EXPIRED", Reason.MARKET, 6)
    assert (last.tif, last.price) == ("IOC", None)
    assert v.bal(2, "ABC") == (1_000_000 - 6, 0)


def test_market_buy_by_quantity_holds_what_the_book_would_cost_plus_fee():
    v = Venue(xyz())
    v.place(1, SELL, symbol="XYZ", qty=3, price=100)
    v.place(1, SELL, symbol="XYZ", qty=3, price=110)
    events = v.place(2, BUY, "MARKET", symbol="XYZ", qty=5)
    hold = of(events, BalanceChanged)[0]
    assert hold.reason == Entry.HOLD and hold.locked_delta == 300 + 220 + 2  # 1.04 -> 2
    assert updates(events)[-1] == (3, OrderStatus.FILLED, "TRADE")
    assert v.bal(2, "USD") == (1_000_000 - 520, 0)  # fees 0.6 + 0.44 round down to 0


def test_market_order_on_an_empty_book_expires_with_nothing_held():
    v = Venue()
    events = v.place(2, BUY, "MARKET", qty=5)
    assert not of(events, BalanceChanged)
    assert updates(events) == [(1, OrderStatus.NEW, "NEW"), (1, OrderStatus.EXPIRED, "EXPIRED")]


def test_market_buy_by_quote_amount_never_spends_more_than_it():
    v = Venue(xyz())
    v.place(1, SELL, symbol="XYZ", qty=100, price=333)
    events = v.place(2, BUY, "MARKET", symbol="XYZ", quote_qty=10_000)
    spent = sum(t.quote_qty + t.taker_fee for t in of(events, Traded))
    assert spent <= 10_000
    assert sum(t.qty for t in of(events, Traded)) == 29     # 30 lots would cost 9990+19
    assert v.bal(2, "USD") == (1_000_000 - spent, 0)
    last = events[-1]
    assert (last.status, last.qty, last.quote_qty, last.executed_qty, last.cum_quote) == (
        OrderStatus.FILLED, None, 10_000, 29, 29 * 333)


def test_market_buy_by_quote_amount_at_a_one_tick_price_does_not_crash():
    # Buying by quote amount when the ask is 1 tick: the budget is used up
    # exactly, lot for tick. Expected: FILLED, not an exception from apply().
    v = Venue()
    v.place(1, SELL, qty=10, price=1)
    events = v.place(2, BUY, "MARKET", quote_qty=5)
    assert sum(t.qty for t in of(events, Traded)) == 5
    assert updates(events)[-1] == (2, OrderStatus.FILLED, "TRADE")
    assert v.seq.orders.keys() == {1}


def test_market_sell_by_quote_amount_sells_until_the_amount_is_reached():
    v = Venue()
    v.place(1, BUY, qty=10, price=100)
    events = v.place(2, SELL, "MARKET", quote_qty=250)
    assert [(t.price, t.qty) for t in of(events, Traded)] == [(100, 2)]
    assert v.bal(2, "USD") == (1_000_200, 0)
    assert v.bal(2, "ABC") == (1_000_000 - 2, 0)
    assert events[-1].status is OrderStatus.FILLED


def test_market_order_does_not_trade_through_the_price_band():
    v = Venue(abc(price_band_bps=1000, reference_price=100))   # 90..110
    v.place(1, SELL, qty=2, price=105)
    v.place(1, SELL, qty=2, price=110)
    v.place(1, SELL, qty=2, price=110)   # last trade will be 105: band 94.5..115.5
    v.place(3, BUY, qty=1, price=105)
    events = v.place(2, BUY, "MARKET", qty=10)
    assert {t.price for t in of(events, Traded)} <= {105, 110}
    assert updates(events)[-1][1] is OrderStatus.EXPIRED


@pytest.mark.parametrize("kw, reason", [
    (dict(qty=5, price=100), Reason.INVALID_PRICE),
    (dict(qty=5, quote_qty=100), Reason.INVALID_QUANTITY),
    (dict(), Reason.INVALID_QUANTITY),
    (dict(quote_qty=0), Reason.INVALID_QUANTITY),
    (dict(qty=0), Reason.INVALID_QUANTITY),
    (dict(qty=10**13), Reason.FILTER_MARKET_LOT_SIZE),
    (dict(qty=5, stop_price=100), Reason.INVALID_STOP_PRICE),
    (dict(qty=5, tif="GTD", expire_ts_ns=10**12), Reason.INVALID_EXPIRY),
])
def test_malformed_market_orders_are_refused(kw, reason):
    v = Venue()
    v.place(1, SELL, qty=5, price=100)
    before = snapshot(v.seq)
    rejected(v.place(2, BUY, "MARKET", **kw), reason)
    assert snapshot(v.seq) == before


# ---- stops ------------------------------------------------------------------------------


def trade_at(v, price, qty=1, ts=1):
    """Make the last trade price ``price`` between accounts 2 and 3."""
    v.place(3, SELL, qty=qty, price=price, ts=ts)
    events = v.place(2, BUY, qty=qty, price=price, ts=ts)
    assert of(events, Traded)
    return events


def test_pending_stop_holds_funds_and_waits():
    v = Venue()
    trade_at(v, 100)
    events = v.place(1, BUY, "STOP_LOSS", qty=10, stop_price=110)
    oid = events[-1].order_id
    assert updates(events) == [(oid, OrderStatus.NEW, "NEW")]
    assert events[-1].working is False and events[-1].tif == "IOC"
    assert v.bal(1, "USD") == (1_000_000 - 1100, 1100)
    assert v.seq.markets["ABC"].book.order(oid) is None


def test_buy_stop_loss_triggers_when_the_last_price_rises_to_its_stop():
    v = Venue()
    trade_at(v, 100)
    oid = v.place(1, BUY, "STOP_LOSS", qty=2, stop_price=110)[-1].order_id
    v.place(3, SELL, qty=5, price=110)
    events = v.place(2, BUY, qty=1, price=109)     # no trade: nothing triggers
    assert v.order(oid).working is False
    events = trade_at(v, 110)
    assert (oid, OrderStatus.NEW, "TRIGGERED") in updates(events)
    trig = [e for e in of(events, OrderUpdated) if e.exec_type == "TRIGGERED"][0]
    assert trig.working is True
    assert updates(events)[-1] == (oid, OrderStatus.FILLED, "TRADE")
    assert v.bal(1, "ABC") == (1_000_002, 0)
    assert v.bal(1, "USD") == (1_000_000 - 220, 0)


@pytest.mark.parametrize("side, type_, stop, first, then, fires", [
    (SELL, "STOP_LOSS", 90, 100, 90, True),
    (SELL, "STOP_LOSS", 90, 100, 91, False),
    (SELL, "TAKE_PROFIT", 110, 100, 110, True),
    (SELL, "TAKE_PROFIT", 110, 100, 109, False),
    (BUY, "TAKE_PROFIT", 90, 100, 89, True),
    (BUY, "TAKE_PROFIT", 90, 100, 91, False),
    (BUY, "STOP_LOSS", 110, 100, 111, True),
    (BUY, "STOP_LOSS", 110, 100, 109, False),
])
def test_stop_trigger_direction(side, type_, stop, first, then, fires):
    v = Venue()
    trade_at(v, first)
    oid = v.place(1, side, type_, qty=1, stop_price=stop)[-1].order_id
    events = trade_at(v, then)
    assert any(e.exec_type == "TRIGGERED" and e.order_id == oid
               for e in of(events, OrderUpdated)) is fires


@pytest.mark.parametrize("side, type_, stop", [
    (BUY, "STOP_LOSS", 100), (BUY, "STOP_LOSS", 99),
    (SELL, "STOP_LOSS", 100), (SELL, "STOP_LOSS", 101),
    (SELL, "TAKE_PROFIT", 100), (SELL, "TAKE_PROFIT_LIMIT", 99),
    (BUY, "TAKE_PROFIT", 100), (BUY, "TAKE_PROFIT_LIMIT", 101),
])
def test_stop_that_would_trigger_immediately_is_refused(side, type_, stop):
    v = Venue()
    trade_at(v, 100)
    kw = dict(price=100) if type_.endswith("LIMIT") else {}
    before = snapshot(v.seq)
    rejected(v.place(1, side, type_, qty=1, stop_price=stop, **kw),
             Reason.WOULD_TRIGGER_IMMEDIATELY)
    assert snapshot(v.seq) == before


def test_stops_before_any_trade_are_accepted_at_any_stop_price():
    v = Venue()
    events = v.place(1, SELL, "STOP_LOSS", qty=1, stop_price=100)
    assert updates(events) == [(1, OrderStatus.NEW, "NEW")]


def test_stop_limit_triggers_into_a_resting_limit_order():
    v = Venue()
    trade_at(v, 100)
    oid = v.place(1, SELL, "STOP_LOSS_LIMIT", qty=3, stop_price=95, price=94)[-1].order_id
    events = trade_at(v, 95)
    assert (oid, OrderStatus.NEW, "TRIGGERED") in updates(events)
    assert v.seq.markets["ABC"].book.order(oid) == ("sell", 94, 3, 3)
    assert v.order(oid).working is True


def test_buy_stop_limit_holds_at_its_limit_price():
    v = Venue()
    trade_at(v, 100)
    v.place(1, BUY, "STOP_LOSS_LIMIT", qty=3, stop_price=110, price=120)
    assert v.bal(1, "USD") == (1_000_000 - 360, 360)


def test_rising_stops_trigger_lowest_first_ties_in_placement_order():
    v = Venue()
    trade_at(v, 100)
    a = v.place(1, BUY, "STOP_LOSS_LIMIT", qty=1, stop_price=105, price=1)[-1].order_id
    b = v.place(1, BUY, "STOP_LOSS_LIMIT", qty=1, stop_price=103, price=1)[-1].order_id
    c = v.place(1, BUY, "STOP_LOSS_LIMIT", qty=1, stop_price=105, price=1)[-1].order_id
    d = v.place(1, SELL, "TAKE_PROFIT_LIMIT", qty=1, stop_price=104, price=10**6)[-1].order_id
    events = trade_at(v, 106)
    fired = [e.order_id for e in of(events, OrderUpdated) if e.exec_type == "TRIGGERED"]
    assert fired == [b, d, a, c]


def test_falling_stops_trigger_highest_first_ties_in_placement_order():
    v = Venue()
    trade_at(v, 100)
    a = v.place(1, SELL, "STOP_LOSS_LIMIT", qty=1, stop_price=95, price=10**6)[-1].order_id
    b = v.place(1, SELL, "STOP_LOSS_LIMIT", qty=1, stop_price=97, price=10**6)[-1].order_id
    c = v.place(1, SELL, "STOP_LOSS_LIMIT", qty=1, stop_price=95, price=10**6)[-1].order_id
    d = v.place(1, BUY, "TAKE_PROFIT_LIMIT", qty=1, stop_price=96, price=1)[-1].order_id
    events = trade_at(v, 90)
    fired = [e.order_id for e in of(events, OrderUpdated) if e.exec_type == "TRIGGERED"]
    assert fired == [b, d, a, c]


def test_a_triggered_stops_trades_trigger_further_stops():
    v = Venue()
    trade_at(v, 100)
    v.place(3, BUY, qty=1, price=95)
    v.place(3, BUY, qty=1, price=90)
    first = v.place(1, SELL, "STOP_LOSS", qty=1, stop_price=98)[-1].order_id
    second = v.place(1, SELL, "STOP_LOSS", qty=1, stop_price=95)[-1].order_id
    third = v.place(1, SELL, "STOP_LOSS", qty=1, stop_price=80)[-1].order_id
    v.place(3, BUY, qty=1, price=98)
    events = v.place(2, SELL, qty=1, price=98)                # trade at 98 -> first
    trades = [(t.taker_order_id, t.price) for t in of(events, Traded)]
    assert trades[1:] == [(first, 95), (second, 90)] and trades[0][1] == 98
    assert v.order(third) is not None and v.order(third).working is False
    assert v.seq.markets["ABC"].last_price == 90


def test_triggered_market_stop_with_no_liquidity_expires_and_releases_its_hold():
    v = Venue()
    trade_at(v, 100)
    oid = v.place(1, BUY, "STOP_LOSS", qty=5, stop_price=101)[-1].order_id
    events = trade_at(v, 101)
    assert updates(events)[-1] == (oid, OrderStatus.EXPIRED, "EXPIRED")
    assert v.bal(1, "USD") == (1_000_000, 0)


@pytest.mark.parametrize("type_, kw, reason", [
    ("STOP_LOSS", dict(qty=1), Reason.INVALID_STOP_PRICE),
    ("STOP_LOSS", dict(qty=1, stop_price=0), Reason.INVALID_STOP_PRICE),
    ("STOP_LOSS", dict(qty=1, stop_price=110, price=110), Reason.INVALID_PRICE),
    ("STOP_LOSS_LIMIT", dict(qty=1, stop_price=110), Reason.INVALID_PRICE),
    ("LIMIT", dict(qty=1, price=100, stop_price=110), Reason.INVALID_STOP_PRICE),
    ("TAKE_PROFIT_LIMIT", dict(qty=1, price=100, stop_price=-3), Reason.INVALID_STOP_PRICE),
])
def test_malformed_stop_orders_are_refused(type_, kw, reason):
    v = Venue()
    rejected(v.place(1, BUY, type_, **kw), reason)


def test_canceling_a_pending_stop_releases_its_hold():
    v = Venue()
    oid = v.place(1, BUY, "STOP_LOSS", qty=5, stop_price=110)[-1].order_id
    events = v.apply(CancelOrder(1, 1, "ABC", order_id=oid))
    assert updates(events) == [(oid, OrderStatus.CANCELED, "CANCELED")]
    assert v.bal(1, "USD") == (1_000_000, 0)
    assert not v.seq.markets["ABC"].rising


def test_a_pending_stop_cannot_be_amended():
    v = Venue()
    oid = v.place(1, BUY, "STOP_LOSS_LIMIT", qty=5, stop_price=110, price=111)[-1].order_id
    rejected(v.apply(AmendOrder(1, 1, "ABC", oid, qty=3)), Reason.NOT_AMENDABLE)


# ---- cancel -----------------------------------------------------------------------------


def test_cancel_by_id_releases_the_hold_and_reports_canceled():
    v = Venue()
    v.place(1, BUY, qty=10, price=50)
    events = v.apply(CancelOrder(4, 1, "ABC", order_id=1))
    s = v.seq.seq
    assert events == [
        bc(s, 1, "USD", free_delta=500, locked_delta=-500, free=1_000_000, locked=0,
           reason=Entry.RELEASE, ref=1),
        upd(s, order_id=1, account=1, side="buy", status=OrderStatus.CANCELED,
            exec_type="CANCELED", price=50, qty=10, ts_ns=4,
            reason=Reason.USER),
    ]
    assert v.seq.markets["ABC"].book.depth() == ([], [])


def test_cancel_by_client_order_id():
    v = Venue()
    v.place(1, SELL, qty=1, price=100, client_order_id="mine")
    events = v.apply(CancelOrder(1, 1, "ABC", client_order_id="mine"))
    assert updates(events) == [(1, OrderStatus.CANCELED, "CANCELED")]


def test_partially_filled_order_cancels_with_its_fills_kept():
    v = Venue()
    v.place(1, SELL, qty=10, price=100)
    v.place(2, BUY, qty=4, price=100)
    events = v.apply(CancelOrder(1, 1, "ABC", order_id=1))
    assert (events[-1].status, events[-1].executed_qty) == (OrderStatus.CANCELED, 4)
    assert v.bal(1, "ABC") == (1_000_000 - 4, 0)


@pytest.mark.parametrize("cmd, reason", [
    (CancelOrder(1, 2, "ABC", order_id=1), Reason.UNKNOWN_ORDER),           # another account's
    (CancelOrder(1, 2, "ABC", client_order_id="c1"), Reason.UNKNOWN_ORDER),
    (CancelOrder(1, 1, "ABC", order_id=99), Reason.UNKNOWN_ORDER),
    (CancelOrder(1, 1, "ABC"), Reason.UNKNOWN_ORDER),
    (CancelOrder(1, 1, "XYZ", order_id=1), Reason.UNKNOWN_ORDER),           # other symbol
    (CancelOrder(1, 1, "NOPE", order_id=1), Reason.UNKNOWN_SYMBOL),
    (CancelAll(1, 1, "NOPE"), Reason.UNKNOWN_SYMBOL),
])
def test_cancel_refusals_change_nothing(cmd, reason):
    v = Venue(abc(), xyz())
    v.place(1, SELL, qty=1, price=100, client_order_id="c1")
    before = snapshot(v.seq)
    rejected(v.apply(cmd), reason)
    assert snapshot(v.seq) == before


def test_a_canceled_order_cannot_be_canceled_again():
    v = Venue()
    v.place(1, SELL, qty=1, price=100)
    v.apply(CancelOrder(1, 1, "ABC", order_id=1))
    rejected(v.apply(CancelOrder(1, 1, "ABC", order_id=1)), Reason.UNKNOWN_ORDER)


def test_cancel_all_cancels_the_accounts_orders_and_stops_on_that_symbol_only():
    v = Venue(abc(), xyz())
    v.place(1, SELL, qty=1, price=100)
    v.place(1, BUY, qty=1, price=90)
    v.place(1, BUY, "STOP_LOSS", qty=1, stop_price=200)
    v.place(1, SELL, symbol="XYZ", qty=1, price=100)
    v.place(2, SELL, qty=1, price=100)
    events = v.apply(CancelAll(1, 1, "ABC"))
    assert sorted(oid for oid, _, _ in updates(events)) == [1, 2, 3]
    assert sorted(v.seq.orders) == [4, 5]
    assert v.bal(1, "ABC") == (1_000_000, 0) and v.bal(1, "USD") == (1_000_000, 0)
    assert v.apply(CancelAll(1, 1, "ABC")) == []


# ---- amend ------------------------------------------------------------------------------


def test_amend_down_keeps_queue_position():
    v = Venue()
    v.place(1, SELL, qty=10, price=100)
    v.place(2, SELL, qty=10, price=100)
    events = v.apply(AmendOrder(1, 1, "ABC", 1, qty=4))
    assert updates(events) == [(1, OrderStatus.NEW, "AMENDED")]
    assert events[-1].qty == 4
    assert v.bal(1, "ABC") == (1_000_000 - 4, 4)
    events = v.place(3, BUY, qty=5, price=100)
    assert [(t.maker_order_id, t.qty) for t in of(events, Traded)] == [(1, 4), (2, 1)]


def test_amend_up_loses_queue_position_and_holds_more():
    v = Venue()
    v.place(1, SELL, qty=10, price=100)
    v.place(2, SELL, qty=10, price=100)
    v.apply(AmendOrder(1, 1, "ABC", 1, qty=12))
    assert v.bal(1, "ABC") == (1_000_000 - 12, 12)
    events = v.place(3, BUY, qty=5, price=100)
    assert [t.maker_order_id for t in of(events, Traded)] == [2]


def test_amend_price_loses_priority_and_rebalances_the_hold():
    v = Venue()
    v.place(1, BUY, qty=10, price=100)
    v.place(2, BUY, qty=10, price=99)
    v.apply(AmendOrder(1, 1, "ABC", 1, price=99))
    assert v.bal(1, "USD") == (1_000_000 - 990, 990)
    events = v.place(3, SELL, qty=5, price=99)
    assert [t.maker_order_id for t in of(events, Traded)] == [2]


def test_amend_same_price_and_qty_is_a_no_op_that_keeps_priority():
    v = Venue()
    v.place(1, SELL, qty=10, price=100)
    v.place(2, SELL, qty=10, price=100)
    v.apply(AmendOrder(1, 1, "ABC", 1, qty=10, price=100))
    events = v.place(3, BUY, qty=5, price=100)
    assert [t.maker_order_id for t in of(events, Traded)] == [1]


def test_amend_quantity_is_the_new_open_quantity_of_a_partially_filled_order():
    v = Venue()
    v.place(1, SELL, qty=10, price=100)
    v.place(2, BUY, qty=3, price=100)
    events = v.apply(AmendOrder(1, 1, "ABC", 1, qty=5))
    e = events[-1]
    assert (e.status, e.qty, e.executed_qty) == (OrderStatus.PARTIALLY_FILLED, 8, 3)
    assert v.order(1).open == 5
    assert v.bal(1, "ABC") == (1_000_000 - 3 - 5, 5)


def test_amend_into_a_cross_trades_as_a_taker():
    v = Venue()
    v.place(1, SELL, qty=5, price=101)
    v.place(2, BUY, qty=8, price=99)
    events = v.apply(AmendOrder(1, 2, "ABC", 2, price=102))
    assert updates(events)[0] == (2, OrderStatus.NEW, "AMENDED")
    tr = of(events, Traded)[0]
    assert (tr.price, tr.qty, tr.maker_order_id, tr.taker_order_id) == (101, 5, 1, 2)
    assert v.order(2).open == 3 and v.order(2).price == 102
    assert v.bal(2, "USD") == (1_000_000 - 505 - 306, 306)


def test_amend_cross_triggers_stops():
    v = Venue()
    trade_at(v, 100)
    stop = v.place(1, BUY, "STOP_LOSS_LIMIT", qty=1, stop_price=101, price=1)[-1].order_id
    v.place(3, SELL, qty=1, price=101)
    oid = v.place(2, BUY, qty=1, price=99)[-1].order_id
    events = v.apply(AmendOrder(1, 2, "ABC", oid, price=101))
    assert (stop, OrderStatus.NEW, "TRIGGERED") in updates(events)


@pytest.mark.parametrize("kw, reason", [
    (dict(order_id=99, qty=1), Reason.UNKNOWN_ORDER),
    (dict(account=2, qty=1), Reason.UNKNOWN_ORDER),
    (dict(symbol="XYZ", qty=1), Reason.UNKNOWN_ORDER),
    (dict(qty=0), Reason.INVALID_QUANTITY),
    (dict(qty=-2), Reason.INVALID_QUANTITY),
    (dict(qty=2.0), Reason.INVALID_QUANTITY),
    (dict(price=0), Reason.INVALID_PRICE),
    (dict(price=1.5), Reason.INVALID_PRICE),
    (dict(qty=10**12 + 1), Reason.FILTER_LOT_SIZE),
    (dict(qty=2_000_000), Reason.INSUFFICIENT_BALANCE),
    (dict(price=2000), Reason.INSUFFICIENT_BALANCE),
])
def test_amend_refusals_change_nothing(kw, reason):
    v = Venue(abc(), xyz())
    v.place(1, BUY, qty=900, price=1000)       # holds 900_000 of 1_000_000
    v.place(3, SELL, qty=1, price=1100)
    args = dict(ts_ns=1, account=1, symbol="ABC", order_id=1)
    args.update(kw)
    refused(v, lambda: AmendOrder(**args), reason)


def test_amending_a_post_only_order_into_a_cross_is_refused():
    v = Venue()
    v.place(1, SELL, qty=1, price=100)
    v.place(2, BUY, "LIMIT_MAKER", qty=1, price=99)
    before = snapshot(v.seq)
    rejected(v.apply(AmendOrder(1, 2, "ABC", 2, price=100)), Reason.POST_ONLY_WOULD_TAKE)
    assert snapshot(v.seq) == before


def test_amend_to_a_price_outside_the_band_or_notional_is_refused():
    v = Venue(abc(price_band_bps=1000, reference_price=100, min_notional=500))
    v.place(1, BUY, qty=10, price=100)
    before = snapshot(v.seq)
    rejected(v.apply(AmendOrder(1, 1, "ABC", 1, price=89)), Reason.FILTER_PERCENT_PRICE)
    rejected(v.apply(AmendOrder(1, 1, "ABC", 1, price=45)), Reason.FILTER_PERCENT_PRICE)
    rejected(v.apply(AmendOrder(1, 1, "ABC", 1, qty=5, price=95)), Reason.FILTER_NOTIONAL)
    assert snapshot(v.seq) == before


# ---- cancel-replace ---------------------------------------------------------------------


def new_order(**kw):
    args = dict(ts_ns=1, account=1, symbol="ABC", side=BUY, type="LIMIT", qty=5, price=90)
    args.update(kw)
    return PlaceOrder(**args)


def test_cancel_replace_cancels_then_places_with_the_freed_funds():
    v = Venue()
    v.apply(Withdraw(1, 1, "USD", 1_000_000 - 1000))
    v.place(1, BUY, qty=10, price=100)                    # all 1000 locked
    events = v.apply(CancelReplace(1, 1, "ABC", new_order(qty=10, price=99), cancel_order_id=1))
    assert updates(events) == [(1, OrderStatus.CANCELED, "CANCELED"), (2, OrderStatus.NEW, "NEW")]
    assert of(events, OrderUpdated)[0].reason == Reason.REPLACED
    assert v.bal(1, "USD") == (10, 990)


def test_cancel_replace_by_client_order_id_may_reuse_it():
    v = Venue()
    v.place(1, BUY, qty=10, price=100, client_order_id="k")
    events = v.apply(CancelReplace(1, 1, "ABC", new_order(client_order_id="k"),
                                   cancel_client_order_id="k"))
    assert updates(events) == [(1, OrderStatus.CANCELED, "CANCELED"), (2, OrderStatus.NEW, "NEW")]
    assert v.seq.by_client[(1, "k")].order_id == 2


def test_cancel_replace_stop_on_failure_places_nothing_when_the_cancel_fails():
    v = Venue()
    v.place(2, BUY, qty=10, price=100)
    before = snapshot(v.seq)
    rejected(v.apply(CancelReplace(1, 1, "ABC", new_order(), cancel_order_id=1)),
             Reason.UNKNOWN_ORDER)
    assert snapshot(v.seq) == before


def test_cancel_replace_allow_failure_places_the_new_order_anyway():
    v = Venue()
    events = v.apply(CancelReplace(1, 1, "ABC", new_order(), cancel_order_id=77,
                                   mode="ALLOW_FAILURE"))
    assert type(events[0]) is CommandRejected and events[0].reason == Reason.UNKNOWN_ORDER
    assert updates(events) == [(1, OrderStatus.NEW, "NEW")]


def test_cancel_replace_with_a_refused_new_order_keeps_the_cancel():
    v = Venue()
    v.place(1, BUY, qty=10, price=100)
    events = v.apply(CancelReplace(1, 1, "ABC", new_order(qty=0), cancel_order_id=1))
    assert updates(events) == [(1, OrderStatus.CANCELED, "CANCELED")]
    assert events[-1].reason == Reason.INVALID_QUANTITY
    assert v.seq.orders == {}


@pytest.mark.parametrize("kw", [
    dict(new=new_order(account=2)), dict(new=new_order(symbol="XYZ")),
    dict(new=CancelOrder(1, 1, "ABC", 1)), dict(mode="SOMETIMES"),
])
def test_malformed_cancel_replace_changes_nothing(kw):
    v = Venue(abc(), xyz())
    v.place(1, BUY, qty=10, price=100)
    args = dict(ts_ns=1, account=1, symbol="ABC", new=new_order(), cancel_order_id=1)
    args.update(kw)
    cmd = build(lambda: CancelReplace(**args))
    if cmd is not None:
        before = snapshot(v.seq)
        assert len(v.apply(cmd)) == 1
        assert snapshot(v.seq) == before


# ---- trading status ---------------------------------------------------------------------


@pytest.mark.parametrize("status", ["HALT", "CANCEL_ONLY"])
def test_halted_market_refuses_orders_and_amends_but_takes_cancels(status):
    v = Venue()
    v.place(1, BUY, qty=10, price=100)
    v.place(1, BUY, qty=10, price=99)
    assert v.apply(SetInstrumentStatus(1, "ABC", status)) == [
        InstrumentChanged.of(v.seq.seq, 1, "ABC", status)]
    before = snapshot(v.seq)
    rejected(v.place(2, SELL, qty=1, price=100), Reason.MARKET_CLOSED)
    rejected(v.place(2, SELL, "MARKET", qty=1), Reason.MARKET_CLOSED)
    rejected(v.apply(AmendOrder(1, 1, "ABC", 1, qty=5)), Reason.MARKET_CLOSED)
    assert snapshot(v.seq) == before
    assert updates(v.apply(CancelOrder(1, 1, "ABC", order_id=1))) == [
        (1, OrderStatus.CANCELED, "CANCELED")]
    assert updates(v.apply(CancelAll(1, 1, "ABC"))) == [(2, OrderStatus.CANCELED, "CANCELED")]
    v.apply(SetInstrumentStatus(1, "ABC", "TRADING"))
    assert updates(v.place(2, SELL, qty=1, price=100)) == [(3, OrderStatus.NEW, "NEW")]


def test_status_change_refusals():
    v = Venue()
    rejected(v.apply(SetInstrumentStatus(1, "NOPE", "HALT")), Reason.UNKNOWN_SYMBOL)
    rejected(v.apply(SetInstrumentStatus(1, "ABC", "AUCTIONING")), Reason.INVALID_STATUS)
    assert v.seq.markets["ABC"].status is InstrumentStatus.TRADING


# ---- expiry -----------------------------------------------------------------------------


def test_gtd_order_expires_when_a_command_reaches_its_expiry():
    v = Venue()
    v.place(1, BUY, qty=10, price=100, tif="GTD", expire_ts_ns=1000, ts=10)
    assert v.apply(ExpireOrders(999)) == []
    events = v.apply(ExpireOrders(1000))
    s = v.seq.seq
    assert events == [
        bc(s, 1, "USD", free_delta=1000, locked_delta=-1000, free=1_000_000, locked=0,
           reason=Entry.RELEASE, ref=1),
        upd(s, order_id=1, account=1, side="buy", status=OrderStatus.EXPIRED, exec_type="EXPIRED",
            price=100, qty=10, tif="GTD",
            expire_ts_ns=1000, ts_ns=1000, reason=Reason.TIME, created=10),
    ]
    assert v.seq.markets["ABC"].book.depth() == ([], [])


def test_any_command_expires_due_orders_first():
    v = Venue()
    v.place(1, SELL, qty=10, price=100, tif="GTD", expire_ts_ns=50)
    events = v.place(2, BUY, qty=10, price=100, ts=60)
    assert updates(events) == [(1, OrderStatus.EXPIRED, "EXPIRED"), (2, OrderStatus.NEW, "NEW")]
    assert not of(events, Traded)


def test_a_rejected_command_still_expires_due_orders():
    v = Venue()
    v.place(1, SELL, qty=10, price=100, tif="GTD", expire_ts_ns=50)
    events = v.apply(CancelOrder(60, 1, "ABC", order_id=42))
    assert updates(events) == [(1, OrderStatus.EXPIRED, "EXPIRED")]
    assert type(events[-1]) is CommandRejected


def test_day_order_expires_at_the_end_of_the_trading_day():
    v = Venue(day_end_s=3600)                           # the day ends at 01:00
    ts = 5 * DAY_NS + 2 * 3600 * 10**9                  # day 5, 02:00
    events = v.place(1, BUY, qty=1, price=100, tif="DAY", ts=ts)
    end = 6 * DAY_NS + 3600 * 10**9
    assert events[-1].expire_ts_ns == end
    assert v.apply(ExpireOrders(end - 1)) == []
    assert updates(v.apply(ExpireOrders(end))) == [(1, OrderStatus.EXPIRED, "EXPIRED")]


def test_day_order_placed_exactly_at_day_end_lasts_a_whole_day():
    v = Venue()
    events = v.place(1, BUY, qty=1, price=100, tif="DAY", ts=3 * DAY_NS)
    assert events[-1].expire_ts_ns == 4 * DAY_NS


def test_partially_filled_gtd_order_expires_its_rest():
    v = Venue()
    v.place(1, SELL, qty=10, price=100, tif="GTD", expire_ts_ns=50)
    v.place(2, BUY, qty=4, price=100)
    events = v.apply(ExpireOrders(50))
    assert (events[-1].status, events[-1].executed_qty) == (OrderStatus.EXPIRED, 4)
    assert v.bal(1, "ABC") == (1_000_000 - 4, 0)


def test_pending_stop_limit_with_expiry_expires_out_of_the_stop_list():
    v = Venue()
    v.place(1, BUY, "STOP_LOSS_LIMIT", qty=1, stop_price=110, price=111, tif="GTD",
            expire_ts_ns=20)
    assert updates(v.apply(ExpireOrders(20))) == [(1, OrderStatus.EXPIRED, "EXPIRED")]
    assert not v.seq.markets["ABC"].rising and v.bal(1, "USD") == (1_000_000, 0)


def test_expiry_after_the_order_is_gone_is_ignored():
    v = Venue()
    v.place(1, SELL, qty=1, price=100, tif="GTD", expire_ts_ns=50)
    v.apply(CancelOrder(2, 1, "ABC", order_id=1))
    assert v.apply(ExpireOrders(100)) == []


def test_expiries_run_while_halted():
    v = Venue()
    v.place(1, SELL, qty=1, price=100, tif="GTD", expire_ts_ns=50)
    v.apply(SetInstrumentStatus(2, "ABC", "HALT"))
    assert updates(v.apply(ExpireOrders(50))) == [(1, OrderStatus.EXPIRED, "EXPIRED")]


@pytest.mark.parametrize("kw", [
    dict(tif="GTD"), dict(tif="GTD", expire_ts_ns=5), dict(tif="GTD", expire_ts_ns=4),
    dict(tif="GTC", expire_ts_ns=100), dict(tif="DAY", expire_ts_ns=100),
    dict(tif="GTD", expire_ts_ns=100.0),
])
def test_bad_expiry_is_refused(kw):
    v = Venue()
    refused(v, lambda: PlaceOrder(5, 1, "ABC", BUY, "LIMIT", qty=1, price=100, **kw),
            Reason.INVALID_EXPIRY)


# ---- every refusal changes nothing --------------------------------------------------------


def busy_venue():
    """Two symbols, resting orders on both sides, a pending stop, a last trade."""
    v = Venue(abc(price_band_bps=2000, reference_price=100, min_notional=100, min_qty=1,
                  max_qty=10_000, allowed_stp=frozenset({STP.EXPIRE_MAKER, STP.NONE})),
              xyz())
    v.place(1, SELL, qty=10, price=105)
    v.place(2, BUY, qty=10, price=95, client_order_id="b")
    v.place(3, SELL, qty=1, price=100)
    v.place(2, BUY, qty=1, price=100)                       # last trade at 100
    v.place(1, SELL, "STOP_LOSS", qty=5, stop_price=90)
    v.place(1, SELL, symbol="XYZ", qty=3, price=100)
    v.apply(Deposit(1, 9, "USD", 1000))                      # a poor account
    return v


REFUSALS = [
    (lambda: PlaceOrder(1, 1, "NOPE", BUY, "LIMIT", qty=1, price=100), Reason.UNKNOWN_SYMBOL),
    (lambda: PlaceOrder(1, 1, "ABC", "up", "LIMIT", qty=1, price=100), Reason.INVALID_SIDE),
    (lambda: PlaceOrder(1, 1, "ABC", None, "LIMIT", qty=1, price=100), Reason.INVALID_SIDE),
    (lambda: PlaceOrder(1, 1, "ABC", BUY, "STOP", qty=1, price=100), Reason.INVALID_ORDER_TYPE),
    (lambda: PlaceOrder(1, 1, "ABC", BUY, "LIMIT", qty=1, price=100, tif="GTX"), Reason.INVALID_TIF),
    (lambda: PlaceOrder(1, 1, "ABC", BUY, "LIMIT", qty=1), Reason.INVALID_PRICE),
    (lambda: PlaceOrder(1, 1, "ABC", BUY, "LIMIT", qty=1, price=0), Reason.INVALID_PRICE),
    (lambda: PlaceOrder(1, 1, "ABC", BUY, "LIMIT", qty=1, price=100.0), Reason.INVALID_PRICE),
    (lambda: PlaceOrder(1, 1, "ABC", BUY, "LIMIT", qty=-1, price=100), Reason.INVALID_QUANTITY),
    (lambda: PlaceOrder(1, 1, "ABC", BUY, "LIMIT", qty=None, price=100), Reason.INVALID_QUANTITY),
    (lambda: PlaceOrder(1, 1, "ABC", BUY, "LIMIT", qty=1, price=100, quote_qty=100),
     Reason.INVALID_QUANTITY),
    (lambda: PlaceOrder(1, 1, "ABC", BUY, "LIMIT", qty=10_001, price=100), Reason.FILTER_LOT_SIZE),
    (lambda: PlaceOrder(1, 1, "ABC", BUY, "STOP_LOSS", qty=10_001, stop_price=110),
     Reason.FILTER_LOT_SIZE),
    (lambda: PlaceOrder(1, 1, "ABC", BUY, "MARKET", qty=10_001), Reason.FILTER_MARKET_LOT_SIZE),
    (lambda: PlaceOrder(1, 1, "ABC", BUY, "LIMIT", qty=1, price=99), Reason.FILTER_NOTIONAL),
    (lambda: PlaceOrder(1, 1, "ABC", BUY, "MARKET", quote_qty=99), Reason.FILTER_NOTIONAL),
    (lambda: PlaceOrder(1, 1, "ABC", BUY, "LIMIT", qty=1, price=79), Reason.FILTER_PERCENT_PRICE),
    (lambda: PlaceOrder(1, 1, "ABC", SELL, "LIMIT", qty=1, price=121), Reason.FILTER_PERCENT_PRICE),
    (lambda: PlaceOrder(1, 1, "ABC", SELL, "STOP_LOSS_LIMIT", qty=1, price=70, stop_price=85),
     Reason.FILTER_PERCENT_PRICE),
    (lambda: PlaceOrder(1, 1, "ABC", BUY, "LIMIT", qty=10, price=100, display_qty=10),
     Reason.FILTER_ICEBERG),
    (lambda: PlaceOrder(1, 1, "ABC", BUY, "LIMIT", qty=1, price=100, stp="EXPIRE_BOTH"),
     Reason.STP_MODE_NOT_ALLOWED),
    (lambda: PlaceOrder(1, 1, "ABC", BUY, "LIMIT", qty=1, price=100, stp="SOMETIMES"), Reason.INVALID_STP),
    (lambda: PlaceOrder(1, 2, "ABC", BUY, "LIMIT", qty=1, price=100, client_order_id="b"),
     Reason.DUPLICATE_CLIENT_ORDER_ID),
    (lambda: PlaceOrder(1, 2, "ABC", BUY, "LIMIT", qty=1, price=100, client_order_id="a b"),
     Reason.INVALID_CLIENT_ORDER_ID),
    (lambda: PlaceOrder(1, 1, "ABC", BUY, "STOP_LOSS", qty=1, stop_price=100),
     Reason.WOULD_TRIGGER_IMMEDIATELY),
    (lambda: PlaceOrder(1, 1, "ABC", SELL, "TAKE_PROFIT", qty=1, stop_price=99),
     Reason.WOULD_TRIGGER_IMMEDIATELY),
    (lambda: PlaceOrder(1, 1, "ABC", BUY, "LIMIT_MAKER", qty=1, price=105),
     Reason.POST_ONLY_WOULD_TAKE),
    (lambda: PlaceOrder(1, 1, "ABC", SELL, "LIMIT_MAKER", qty=2, price=95),
     Reason.POST_ONLY_WOULD_TAKE),
    (lambda: PlaceOrder(1, 9, "ABC", BUY, "LIMIT", qty=11, price=100), Reason.INSUFFICIENT_BALANCE),
    (lambda: PlaceOrder(1, 9, "ABC", SELL, "LIMIT", qty=1, price=100), Reason.INSUFFICIENT_BALANCE),
    (lambda: PlaceOrder(1, 9, "ABC", BUY, "MARKET", qty=10), Reason.INSUFFICIENT_BALANCE),
    (lambda: PlaceOrder(1, 9, "ABC", BUY, "MARKET", quote_qty=1001), Reason.INSUFFICIENT_BALANCE),
    (lambda: PlaceOrder(1, 9, "ABC", SELL, "MARKET", qty=1), Reason.INSUFFICIENT_BALANCE),
    (lambda: PlaceOrder(1, 9, "ABC", BUY, "STOP_LOSS", qty=10, stop_price=101),
     Reason.INSUFFICIENT_BALANCE),
    (lambda: PlaceOrder(1, 1, "ABC", BUY, "LIMIT", qty=1, price=100, tif="GTD"), Reason.INVALID_EXPIRY),
    (lambda: CancelOrder(1, 1, "ABC", order_id=2), Reason.UNKNOWN_ORDER),
    (lambda: CancelOrder(1, 3, "ABC", client_order_id="b"), Reason.UNKNOWN_ORDER),
    (lambda: AmendOrder(1, 1, "ABC", 2, qty=1), Reason.UNKNOWN_ORDER),
    (lambda: AmendOrder(1, 1, "ABC", 5, qty=1), Reason.NOT_AMENDABLE),
    (lambda: AmendOrder(1, 2, "ABC", 2, price=70), Reason.FILTER_PERCENT_PRICE),
    (lambda: Deposit(1, 1, "EUR", 1), Reason.UNKNOWN_ASSET),
    (lambda: Withdraw(1, 9, "USD", 1001), Reason.INSUFFICIENT_BALANCE),
    (lambda: Withdraw(1, 1, "USD", 0), Reason.INVALID_AMOUNT),
    (lambda: SetInstrumentStatus(1, "ABC", "OPEN"), Reason.INVALID_STATUS),
    (lambda: ListInstrument(1, xyz()), Reason.DUPLICATE_SYMBOL),
]


@pytest.mark.parametrize("cmd, reason", REFUSALS, ids=[f"{r}-{i}" for i, (_, r) in
                                                       enumerate(REFUSALS)])
def test_every_refusal_is_one_command_rejected_and_changes_nothing(cmd, reason):
    v = busy_venue()
    cmd = build(cmd)
    if cmd is None:
        return  # refused by the command's own type check
    before = snapshot(v.seq)
    seq_before = v.seq.seq
    events = v.apply(cmd)
    rej = rejected(events, reason)
    assert rej.seq == seq_before + 1 and rej.ts_ns == 1
    assert snapshot(v.seq) == before


def test_refusals_on_a_closed_market_change_nothing():
    v = busy_venue()
    v.apply(SetInstrumentStatus(1, "ABC", "CANCEL_ONLY"))
    before = snapshot(v.seq)
    for cmd in [PlaceOrder(1, 1, "ABC", BUY, "LIMIT", qty=1, price=100),
                PlaceOrder(1, 1, "ABC", SELL, "MARKET", quote_qty=100),
                AmendOrder(1, 2, "ABC", 2, qty=1)]:
        rejected(v.apply(cmd), Reason.MARKET_CLOSED)
    assert snapshot(v.seq) == before


def test_an_unknown_command_is_refused():
    v = Venue()
    before = snapshot(v.seq)
    rejected(v.apply(ExpireOrders), Reason.UNKNOWN_COMMAND)   # a class, not a command
    assert snapshot(v.seq) == before


@pytest.mark.parametrize("cmd", [None, "PlaceOrder", 42, object()])
def test_apply_on_a_non_command_is_refused_not_raised(cmd):
    v = Venue()
    before = snapshot(v.seq)
    rejected(v.apply(cmd), Reason.UNKNOWN_COMMAND)
    assert snapshot(v.seq) == before


JUNK = [["x"], {"a": 1}, {1}, 1.5, -1, None, "", b"buy", 10**40]


@pytest.mark.parametrize("field", ["account", "symbol", "side", "type", "tif", "stp", "qty", "price",
                                   "quote_qty", "stop_price", "display_qty",
                                   "client_order_id", "expire_ts_ns"])
def test_junk_in_any_order_field_is_refused_not_raised(field):
    # "A command is a request, not a promise" (commands.py): whatever a field
    # holds, apply() answers with a CommandRejected or a valid order.
    for junk in JUNK:
        v = busy_venue()
        args = dict(ts_ns=1, account=1, symbol="ABC", side=BUY, type="LIMIT", qty=1, price=100)
        args[field] = junk
        cmd = build(lambda: PlaceOrder(**args))
        if cmd is None:
            continue
        before = snapshot(v.seq)
        try:
            events = v.apply(cmd)
        except Exception as e:  # noqa: BLE001 - the point is that nothing raises
            pytest.fail(f"{field}={junk!r} raised {e!r}")
        if type(events[-1]) is CommandRejected:
            assert len(events) == 1 and snapshot(v.seq) == before


@pytest.mark.parametrize("make", [
    lambda j: CancelOrder(1, 1, "ABC", order_id=j),
    lambda j: CancelOrder(1, 1, "ABC", client_order_id=j),
    lambda j: CancelOrder(1, 1, j, order_id=1),
    lambda j: CancelAll(1, 1, j),
    lambda j: AmendOrder(1, 1, "ABC", j, qty=1),
    lambda j: AmendOrder(1, 2, "ABC", 2, qty=j),
    lambda j: Deposit(1, 1, j, 5),
    lambda j: Withdraw(1, 1, "USD", j),
    lambda j: SetInstrumentStatus(1, j, "HALT"),
    lambda j: SetInstrumentStatus(1, "ABC", j),
], ids=["cancel-id", "cancel-coid", "cancel-symbol", "cancel-all-symbol", "amend-id",
        "amend-qty", "deposit-asset", "withdraw-amount", "status-symbol", "status-value"])
def test_junk_in_other_commands_is_refused_not_raised(make):
    for junk in JUNK:
        v = busy_venue()
        cmd = build(lambda: make(junk))
        if cmd is None:
            continue
        before = snapshot(v.seq)
        try:
            events = v.apply(cmd)
        except Exception as e:  # noqa: BLE001
            pytest.fail(f"{junk!r} raised {e!r}")
        if junk is None and type(events[-1]) is not CommandRejected:
            continue  # None is a valid "unchanged" for an amend
        assert len(events) == 1 and type(events[0]) is CommandRejected, (junk, events)
        assert snapshot(v.seq) == before


@pytest.mark.parametrize("ts", [None, "5", [5]])
def test_a_command_with_a_bad_timestamp_is_refused_not_raised(ts):
    v = Venue()
    v.place(1, SELL, qty=1, price=100, tif="GTD", expire_ts_ns=50)
    cmd = build(lambda: ExpireOrders(ts))
    if cmd is None:
        return
    before = snapshot(v.seq)
    try:
        events = v.apply(cmd)
    except Exception as e:  # noqa: BLE001
        pytest.fail(f"ts_ns={ts!r} raised {e!r}")
    assert len(events) == 1 and type(events[0]) is CommandRejected
    assert snapshot(v.seq) == before


# ---- transitions ------------------------------------------------------------------------


@pytest.mark.parametrize("start", list(TRANSITIONS))
@pytest.mark.parametrize("end", list(OrderStatus))
def test_status_moves_only_through_the_transition_table(start, end):
    o = Order()
    o.order_id = 1
    o.status = start
    if start in TRANSITIONS and end in TRANSITIONS[start]:
        o.move_to(end)
        assert o.status is end
    else:
        with pytest.raises(IllegalTransition):
            o.move_to(end)
        assert o.status is start


def test_a_status_outside_the_table_raises_illegal_transition():
    # PENDING_NEW is an OrderStatus but has no row in TRANSITIONS.
    for status in OrderStatus:
        o = Order()
        o.order_id = 1
        o.status = status
        for end in OrderStatus:
            if status in TRANSITIONS and end in TRANSITIONS[status]:
                continue
            with pytest.raises(IllegalTransition):
                o.move_to(end)


def test_final_statuses_are_final_and_new_orders_start_new_or_rejected():
    for status in (OrderStatus.FILLED, OrderStatus.CANCELED, OrderStatus.REJECTED,
                   OrderStatus.EXPIRED, OrderStatus.EXPIRED_IN_MATCH):
        assert TRANSITIONS[status] == frozenset()
    assert TRANSITIONS[None] == {OrderStatus.NEW, OrderStatus.REJECTED}
    assert OrderStatus.NEW not in TRANSITIONS[OrderStatus.PARTIALLY_FILLED]


def test_order_statuses_seen_in_events_follow_the_table():
    v = Venue()
    all_events = []
    for cmd in [PlaceOrder(1, 1, "ABC", SELL, "LIMIT", qty=10, price=100),
                PlaceOrder(1, 2, "ABC", BUY, "LIMIT", qty=4, price=100),
                AmendOrder(1, 1, "ABC", 1, qty=2),
                PlaceOrder(1, 2, "ABC", BUY, "LIMIT", qty=5, price=100, tif="IOC")]:
        all_events += v.apply(cmd)
    seen = {}
    for e in of(all_events, OrderUpdated):
        assert e.status in TRANSITIONS[seen.get(e.order_id)]
        seen[e.order_id] = e.status
    assert seen == {1: OrderStatus.FILLED, 2: OrderStatus.FILLED, 3: OrderStatus.EXPIRED}


# ---- determinism ------------------------------------------------------------------------


def test_the_same_commands_give_the_same_events():
    def run():
        s = Sequencer(day_end_s=0)
        out = []
        cmds = [ListInstrument(0, abc()), ListInstrument(0, xyz())]
        cmds += [Deposit(0, a, asset, 10**6) for a in (1, 2, 3) for asset in ("ABC", "USD", "XYZ")]
        cmds += [
            PlaceOrder(1, 1, "ABC", SELL, "LIMIT", qty=10, price=101, display_qty=2),
            PlaceOrder(2, 2, "ABC", BUY, "LIMIT", qty=5, price=99, tif="DAY"),
            PlaceOrder(3, 3, "ABC", BUY, "STOP_LOSS", qty=2, stop_price=101),
            PlaceOrder(4, 2, "ABC", BUY, "MARKET", quote_qty=700),
            PlaceOrder(5, 3, "XYZ", SELL, "LIMIT", qty=7, price=50, tif="GTD", expire_ts_ns=9),
            AmendOrder(6, 2, "ABC", 2, price=100),
            PlaceOrder(7, 1, "XYZ", BUY, "MARKET", qty=3),
            CancelReplace(8, 2, "ABC", PlaceOrder(8, 2, "ABC", SELL, "LIMIT", qty=1, price=99),
                          cancel_order_id=2),
            ExpireOrders(DAY_NS),
        ]
        for c in cmds:
            out.append(s.apply(c))
            s.check()
        return out

    a, b = run(), run()
    assert a == b
    assert [e.seq for evs in a for e in evs] == sorted(e.seq for evs in a for e in evs)
