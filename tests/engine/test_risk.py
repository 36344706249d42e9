"""Pre-trade risk, kill switch and volatility halts in the sequencer.

Same units as tests/test_sequencer.py: on ABC one tick x one lot is one cent,
one lot one base unit; accounts 1-3 hold 1,000,000 of each asset. Every
refusal is checked to change nothing (the snapshot pattern).
"""

import pytest

from exchange.engine import (AmendOrder, CancelOrder, CancelReplace, CommandRejected, ExpireOrders,
                             InstrumentChanged, OrderStatus, OrderUpdated, PlaceOrder, Reason,
                             Sequencer, SetInstrumentStatus, SetKillSwitch, SetRiskDefaults,
                             SetRiskLimits, Traded)

from tests.helpers.engine import BUY, DAY_NS, SELL, Venue, abc, of, rejected, snapshot, updates

S = 10**9


def refused(v, cmd, reason):
    before = snapshot(v.seq)
    rejected(v.apply(cmd), reason)
    assert snapshot(v.seq) == before


def limit(v, account, **limits):
    assert v.apply(SetRiskLimits(1, account, **limits)) == []


def place(account, side, ts=1, type_="LIMIT", **kw):
    return PlaceOrder(ts, account, "ABC", side, type_, **kw)


# ---- limits ----------------------------------------------------------------------------


@pytest.mark.parametrize("qty, ok", [(9, True), (10, True), (11, False)])
def test_max_order_qty_at_below_and_above(qty, ok):
    v = Venue()
    limit(v, 1, max_order_qty=10)
    cmd = place(1, BUY, qty=qty, price=100)
    if ok:
        assert updates(v.apply(cmd))[0][2] == "NEW"
    else:
        refused(v, cmd, Reason.RISK_MAX_ORDER_QTY)


@pytest.mark.parametrize("price, ok", [(99, True), (100, True), (101, False)])
def test_max_order_notional_at_below_and_above(price, ok):
    v = Venue()
    limit(v, 1, max_order_notional=1000)   # 10 lots at 100 ticks = 1000 cents
    cmd = place(1, SELL, qty=10, price=price)
    if ok:
        assert updates(v.apply(cmd))[0][2] == "NEW"
    else:
        refused(v, cmd, Reason.RISK_MAX_ORDER_NOTIONAL)


def test_max_order_notional_of_a_market_buy_is_what_the_book_would_fill():
    v = Venue()
    v.place(2, SELL, qty=5, price=100)
    v.place(2, SELL, qty=5, price=120)
    limit(v, 1, max_order_notional=1000)
    refused(v, place(1, BUY, type_="MARKET", qty=10), Reason.RISK_MAX_ORDER_NOTIONAL)  # 1100
    assert of(v.apply(place(1, BUY, type_="MARKET", qty=5)), Traded)                  # 500


def test_max_open_orders_counts_this_one():
    v = Venue()
    limit(v, 1, max_open_orders=2)
    v.place(1, BUY, qty=1, price=90)
    v.place(1, BUY, qty=1, price=91)
    refused(v, place(1, BUY, qty=1, price=92), Reason.RISK_MAX_OPEN_ORDERS)
    v.place(2, BUY, qty=1, price=92)   # another account: its own (default) limits
    v.apply(SetRiskLimits(1, 1, max_open_orders=3))
    assert updates(v.place(1, BUY, qty=1, price=92))[0][2] == "NEW"


def test_max_position_counts_holdings_and_open_buys():
    v = Venue()
    # account 1 holds 1,000,000 ABC: a limit of 1,000,010 lots leaves room for 10
    limit(v, 1, max_position=1_000_010)
    v.place(1, BUY, qty=6, price=90)
    refused(v, place(1, BUY, qty=5, price=90), Reason.RISK_MAX_POSITION)
    assert updates(v.apply(place(1, BUY, qty=4, price=90)))[0][2] == "NEW"
    # sells never add to a position
    assert updates(v.apply(place(1, SELL, qty=50, price=200)))[0][2] == "NEW"


def test_max_daily_notional_counts_both_sides_and_resets_at_the_day_boundary():
    v = Venue()
    limit(v, 1, max_daily_notional=2000)
    v.place(2, SELL, qty=10, price=100)
    assert of(v.apply(place(1, BUY, qty=10, price=100)), Traded)   # 1000 traded
    assert v.seq.daily_notional(1, 1) == 1000 and v.seq.daily_notional(2, 1) == 1000
    # traded so far plus this order's notional: at the bound is fine, above is not
    refused(v, place(1, SELL, qty=11, price=100), Reason.RISK_MAX_DAILY_NOTIONAL)
    assert updates(v.apply(place(1, SELL, qty=10, price=100)))[0][2] == "NEW"
    # the next trading day starts at 0
    assert updates(v.apply(place(1, BUY, ts=DAY_NS + 1, qty=10, price=90)))[0][2] == "NEW"


def test_account_limits_override_venue_defaults_and_none_falls_back():
    v = Venue()
    assert v.apply(SetRiskDefaults(1, max_order_qty=5)) == []
    refused(v, place(2, BUY, qty=6, price=100), Reason.RISK_MAX_ORDER_QTY)
    limit(v, 2, max_order_qty=0)            # 0: unlimited for this account
    assert updates(v.apply(place(2, BUY, qty=6, price=100)))[0][2] == "NEW"
    limit(v, 2, max_order_qty=None)         # back to the default
    refused(v, place(2, BUY, qty=6, price=100), Reason.RISK_MAX_ORDER_QTY)
    assert v.seq.limits(2).max_order_qty == 5 and 2 not in v.seq.risk_limits


def test_amend_that_adds_exposure_is_checked_and_one_that_reduces_it_is_not():
    v = Venue()
    events = v.place(1, BUY, qty=5, price=100)
    oid = updates(events)[0][0]
    limit(v, 1, max_order_qty=8, max_order_notional=600)
    refused(v, AmendOrder(1, 1, "ABC", oid, qty=9), Reason.RISK_MAX_ORDER_QTY)
    refused(v, AmendOrder(1, 1, "ABC", oid, qty=7), Reason.RISK_MAX_ORDER_NOTIONAL)
    assert updates(v.apply(AmendOrder(1, 1, "ABC", oid, qty=6)))[0][2] == "AMENDED"
    limit(v, 1, max_order_qty=1)
    assert updates(v.apply(AmendOrder(1, 1, "ABC", oid, qty=4)))[0][2] == "AMENDED"


@pytest.mark.parametrize("cmd", [
    SetRiskLimits(1, 1, max_order_qty=-1),
    SetRiskDefaults(1, max_open_orders=-5),
    SetRiskDefaults(1, halt_s=-1),
])
def test_negative_limits_are_refused(cmd):
    v = Venue()
    refused(v, cmd, Reason.INVALID_LIMIT)


def test_no_limit_set_means_no_risk_check_runs():
    v = Venue()
    assert not v.seq._risk_on
    limit(v, 1, max_order_qty=0)
    assert not v.seq._risk_on
    limit(v, 1, max_order_qty=1)
    assert v.seq._risk_on
    limit(v, 1)
    assert not v.seq._risk_on


# ---- kill switch -------------------------------------------------------------------------


def test_kill_switch_cancels_everything_and_refuses_until_lifted():
    v = Venue(abc(), abc(symbol="DEF", base="DEF"))
    v.place(1, BUY, qty=5, price=100)
    v.place(1, SELL, qty=5, price=120, symbol="DEF")
    v.place(1, BUY, "STOP_LOSS", qty=1, stop_price=150)
    v.place(2, BUY, qty=5, price=99)
    events = v.apply(SetKillSwitch(2, 1, True))
    assert [(e.status, e.reason) for e in of(events, OrderUpdated)] == [
        (OrderStatus.CANCELED, Reason.KILL_SWITCH)] * 3
    assert v.bal(1, "USD")[1] == 0 and v.bal(1, "DEF")[1] == 0
    assert len(v.seq.orders) == 1                       # account 2's order stays
    refused(v, place(1, BUY, qty=1, price=100), Reason.KILL_SWITCH)
    assert v.apply(SetKillSwitch(3, 1, False)) == []
    assert updates(v.apply(place(1, BUY, qty=1, price=100)))[0][2] == "NEW"


def test_kill_switch_refuses_amends_and_the_new_half_of_a_cancel_replace():
    v = Venue()
    v.apply(SetKillSwitch(1, 1, True))
    v.place(2, BUY, qty=5, price=100)
    refused(v, AmendOrder(1, 1, "ABC", 1, qty=1), Reason.UNKNOWN_ORDER)
    events = v.apply(CancelReplace(1, 1, "ABC", place(1, BUY, qty=1, price=100),
                                   cancel_order_id=1, mode="ALLOW_FAILURE"))
    assert [e.reason for e in events if type(e) is CommandRejected] == [
        Reason.UNKNOWN_ORDER, Reason.KILL_SWITCH]


def test_an_api_keys_kill_switch_cancels_and_refuses_only_that_keys_orders():
    v = Venue()
    v.place(1, BUY, qty=5, price=100, source="key-a")
    v.place(1, BUY, qty=5, price=99, source="key-b")
    v.place(1, BUY, qty=5, price=98)                      # entered without a key
    events = v.apply(SetKillSwitch(2, 1, True, api_key="key-a"))
    assert [(e.order_id, e.status, e.reason) for e in of(events, OrderUpdated)] == [
        (1, OrderStatus.CANCELED, Reason.KILL_SWITCH)]
    assert sorted(v.seq.orders) == [2, 3]
    refused(v, place(1, BUY, qty=1, price=100, source="key-a"), Reason.KILL_SWITCH)
    assert updates(v.apply(place(1, BUY, qty=1, price=97, source="key-b")))[0][2] == "NEW"
    assert updates(v.apply(place(2, BUY, qty=1, price=96, source="key-a")))[0][2] == "NEW"
    v.place(1, BUY, qty=1, price=95, source="key-b")
    assert v.apply(SetKillSwitch(3, 1, False, api_key="key-a")) == []
    assert updates(v.apply(place(1, BUY, qty=1, price=100, source="key-a")))[0][2] == "NEW"


def test_an_api_keys_kill_switch_leaves_the_accounts_other_orders_amendable():
    v = Venue()
    v.place(1, BUY, qty=5, price=100, source="key-a")
    v.place(1, BUY, qty=5, price=99, source="key-b")
    v.apply(SetKillSwitch(1, 1, True, api_key="key-b"))
    refused(v, AmendOrder(1, 1, "ABC", 2, qty=1), Reason.UNKNOWN_ORDER)   # canceled by it
    assert updates(v.apply(AmendOrder(1, 1, "ABC", 1, qty=2)))[0][2] == "AMENDED"
    assert (1, "key-b") in v.seq.killed_keys and 1 not in v.seq.killed


# ---- price band and volatility halt ------------------------------------------------------


def banded(halt_s=60, reference=None):
    """ABC with a 10 % band; with no reference price the first orders face no band."""
    v = Venue(abc(price_band_bps=1000, reference_price=reference))
    assert v.apply(SetRiskDefaults(0, halt_s=halt_s)) == []
    return v


def with_gap(halt_s):
    """Asks at 105 and 110 within the band around a last trade of 100 (90..110), and
    one at 120 beyond it (placed before any reference price existed)."""
    v = banded(halt_s)
    v.place(2, SELL, qty=2, price=120, ts=S)
    v.place(3, SELL, qty=1, price=100, ts=S)
    assert of(v.place(2, BUY, qty=1, price=100, ts=S), Traded)
    v.place(2, SELL, qty=2, price=105, ts=S)
    v.place(2, SELL, qty=2, price=110, ts=S)
    return v


def test_limit_price_outside_the_band_is_refused():
    v = banded(reference=100)
    refused(v, place(1, BUY, qty=1, price=111), Reason.FILTER_PERCENT_PRICE)
    refused(v, place(1, SELL, qty=1, price=89), Reason.FILTER_PERCENT_PRICE)
    assert updates(v.apply(place(1, BUY, qty=1, price=110)))[0][2] == "NEW"


def test_market_sweep_stops_at_the_band_halts_and_reopens_by_time():
    v = with_gap(halt_s=60)
    events = v.apply(place(1, BUY, ts=2 * S, type_="MARKET", qty=10))
    assert [(t.price, t.qty) for t in of(events, Traded)] == [(105, 2), (110, 2)]
    last = of(events, OrderUpdated)[-1]
    assert (last.status, last.reason) == (OrderStatus.EXPIRED, Reason.VOLATILITY_HALT)
    assert of(events, InstrumentChanged) == [InstrumentChanged.of(v.seq.seq, 2 * S, "ABC", "HALT")]
    assert v.bal(1, "USD")[1] == 0                       # nothing left held
    # halted: new orders refused (changing nothing), cancels taken
    refused(v, place(2, BUY, ts=61 * S, qty=1, price=100), Reason.MARKET_CLOSED)
    assert updates(v.apply(CancelOrder(61 * S, 2, "ABC", order_id=1)))[0][2] == "CANCELED"
    # the first command at or after 2 s + 60 s reopens the symbol before it applies
    events = v.apply(place(2, BUY, ts=62 * S, qty=1, price=100))
    assert of(events, InstrumentChanged) == [
        InstrumentChanged.of(v.seq.seq, 62 * S, "ABC", "TRADING")]
    assert updates(events)[0][2] == "NEW"
    assert v.seq.markets["ABC"].status == "TRADING"


def test_a_clock_tick_reopens_a_halted_symbol():
    v = with_gap(halt_s=30)
    events = v.apply(place(1, BUY, ts=2 * S, type_="MARKET", qty=10))
    assert of(events, InstrumentChanged)[0].status == "HALT"
    assert v.apply(ExpireOrders(31 * S)) == []
    events = v.apply(ExpireOrders(32 * S))
    assert [e.status for e in of(events, InstrumentChanged)] == ["TRADING"]


def test_operator_status_overrides_a_pending_reopening():
    v = with_gap(halt_s=30)
    v.apply(place(1, BUY, ts=2 * S, type_="MARKET", qty=10))
    v.apply(SetInstrumentStatus(3 * S, "ABC", "HALT"))
    assert of(v.apply(ExpireOrders(40 * S)), InstrumentChanged) == []
    assert v.seq.markets["ABC"].status == "HALT"


def test_without_halt_s_a_market_order_only_stops_at_the_band():
    v = with_gap(halt_s=0)
    events = v.apply(place(1, BUY, ts=2 * S, type_="MARKET", qty=10))
    assert of(events, OrderUpdated)[-1].reason == Reason.MARKET
    assert not of(events, InstrumentChanged) and v.seq.markets["ABC"].status == "TRADING"


def falling_take_profit(asks):
    """A buy TAKE_PROFIT_LIMIT at 110 (in the band around 100) triggered by a trade at 95,
    whose band is 85.5..104.5: its limit lies beyond the edge."""
    v = banded(halt_s=60, reference=100)
    for price in asks:
        v.place(2, SELL, qty=1, price=price, ts=S)
    v.place(1, BUY, "TAKE_PROFIT_LIMIT", qty=3, price=110, stop_price=95, ts=S)
    v.place(3, BUY, qty=1, price=95, ts=S)
    return v, v.apply(place(2, SELL, ts=2 * S, qty=1, price=95))


def test_triggered_stop_limit_beyond_the_band_fills_to_the_edge_and_halts():
    v, events = falling_take_profit([103, 108])
    assert [(t.price, t.qty) for t in of(events, Traded)] == [(95, 1), (103, 1)]
    last = of(events, OrderUpdated)[-1]
    assert (last.order_id, last.status, last.reason) == (3, OrderStatus.EXPIRED,
                                                         Reason.VOLATILITY_HALT)
    assert [e.status for e in of(events, InstrumentChanged)] == ["HALT"]


def test_triggered_stop_limit_beyond_the_band_rests_when_nothing_crosses_beyond():
    v, events = falling_take_profit([103])
    assert [(t.price, t.qty) for t in of(events, Traded)] == [(95, 1), (103, 1)]
    assert not of(events, InstrumentChanged)
    o, = [o for o in v.seq.orders.values() if o.account == 1]
    assert (o.open, o.price, o.status) == (2, 110, OrderStatus.PARTIALLY_FILLED)


# ---- determinism ---------------------------------------------------------------------------


def test_replaying_the_same_commands_gives_the_same_events_and_state():
    cmds = [SetRiskDefaults(0, max_order_qty=50, halt_s=10),
            SetRiskLimits(1, 1, max_open_orders=2, max_daily_notional=5000),
            place(2, SELL, qty=20, price=100), place(1, BUY, qty=60, price=100),
            place(1, BUY, qty=30, price=100), place(1, BUY, qty=10, price=99),
            place(1, BUY, qty=10, price=98), SetKillSwitch(2, 2, True),
            place(2, SELL, qty=1, price=100), SetKillSwitch(3, 2, False),
            place(2, SELL, qty=1, price=100, ts=DAY_NS)]
    runs = []
    for _ in range(2):
        v = Venue()
        runs.append(([v.apply(c) for c in cmds], snapshot(v.seq), dict(v.seq.daily)))
    assert runs[0] == runs[1]
    reasons = [e.reason for evs in runs[0][0] for e in evs if type(e) is CommandRejected]
    assert reasons == [Reason.RISK_MAX_ORDER_QTY, Reason.RISK_MAX_OPEN_ORDERS,
                       Reason.KILL_SWITCH]


def test_a_fresh_sequencer_has_no_limits_and_no_halts():
    seq = Sequencer()
    assert seq.halt_ns == 0 and not seq.risk_defaults.any and not seq.killed
