"""Instruments changed and delisted at run time (ChangeInstrument, SetInstrumentStatus DELISTED).

Same units as tests/test_sequencer.py: on ABC one tick (0.01 USD) x one lot
(1 ABC) is one cent; accounts 1-3 hold 1,000,000 of each asset. The integer
units never change; a grid change makes orders use multiples of them. Every
refusal is checked to change nothing (the snapshot pattern, rules included),
and ``Sequencer.check()`` runs after every command (holds equal what open
orders need, conservation).
"""

from dataclasses import replace

import pytest

from exchange.engine import (AmendOrder, CancelOrder, ChangeInstrument, CommandRejected,
                             Deposit, InstrumentChanged, InstrumentDefined, InstrumentStatus,
                             ListInstrument, OrderUpdated, PlaceOrder, Reason, Sequencer,
                             SetInstrumentStatus, Traded)
from exchange.store import codec

from tests.helpers.engine import BUY, SELL, Venue, abc, of, rejected, snapshot, xyz


def state(seq):
    """``snapshot`` plus every instrument's rules and the sequence of ids."""
    return snapshot(seq), {s: m.inst for s, m in seq.markets.items()}, sorted(seq.assets.items())


def refused(v, cmd, reason):
    before = state(v.seq)
    rejected(v.apply(cmd), reason)
    assert state(v.seq) == before


def change(**kw):
    return ChangeInstrument(5, kw.pop("symbol", "ABC"), **kw)


def canceled(events):
    return [(e.order_id, e.reason) for e in events
            if type(e) is OrderUpdated and e.exec_type == "CANCELED"]


def defined(events):
    found = of(events, InstrumentDefined)
    assert len(found) == 1 and events[-1] is found[0]
    return found[0].instrument


# ---- changes that apply ------------------------------------------------------------------

def test_change_limits_and_band_applies_to_new_orders_only():
    v = Venue()
    v.place(1, BUY, price=100, qty=5)
    events = v.apply(change(min_qty=10, max_qty=1000, min_notional=2000, price_band_bps=500,
                            reference_price=100))
    inst = defined(events)
    assert events == [InstrumentDefined.of(v.seq.seq, 5, inst)]
    assert (inst.min_qty, inst.max_qty, inst.min_notional, inst.price_band_bps,
            inst.reference_price) == (10, 1000, 2000, 500, 100)
    assert v.seq.markets["ABC"].inst is inst
    assert v.order(1).open == 5                  # the open order stays, under the old rules
    rejected(v.place(2, SELL, price=100, qty=5), Reason.FILTER_LOT_SIZE)
    rejected(v.place(2, SELL, price=106, qty=20), Reason.FILTER_PERCENT_PRICE)
    rejected(v.place(2, SELL, price=100, qty=19), Reason.FILTER_NOTIONAL)
    assert of(v.place(2, SELL, price=100, qty=20), Traded)


def test_coarser_tick_refuses_new_orders_off_it():
    v = Venue()
    inst = defined(v.apply(change(tick_units=5)))
    assert inst.price_tick == inst.tick_size * 5 and inst.tick_size == abc().tick_size
    rejected(v.place(1, BUY, price=101, qty=1), Reason.FILTER_PRICE)
    rejected(v.place(1, BUY, "STOP_LOSS_LIMIT", price=105, stop_price=102, qty=1),
             Reason.FILTER_PRICE)
    assert not of(v.place(1, BUY, price=105, qty=1), CommandRejected)


def test_coarser_step_refuses_quantities_and_amends_off_it():
    v = Venue()
    v.apply(change(step_units=10))
    rejected(v.place(1, BUY, price=100, qty=15), Reason.FILTER_LOT_SIZE)
    rejected(v.place(1, BUY, "MARKET", qty=15), Reason.FILTER_MARKET_LOT_SIZE)
    rejected(v.place(1, BUY, price=100, qty=30, display_qty=5), Reason.FILTER_ICEBERG)
    v.place(1, BUY, price=100, qty=20)
    refused(v, AmendOrder(6, 1, "ABC", 1, qty=15), Reason.FILTER_LOT_SIZE)
    assert not of(v.apply(AmendOrder(6, 1, "ABC", 1, qty=10)), CommandRejected)


def test_grid_change_with_orders_on_the_new_grid_keeps_them():
    v = Venue()
    v.place(1, BUY, price=100, qty=10)
    v.place(2, SELL, price=110, qty=20)
    events = v.apply(change(tick_units=10, step_units=10))
    assert canceled(events) == [] and defined(events).tick_units == 10
    assert set(v.seq.orders) == {1, 2}
    assert of(v.place(3, SELL, price=100, qty=10), Traded)   # they trade on


# ---- grid changes with open orders off the new grid ---------------------------------------

def test_grid_change_refused_while_open_orders_are_off_it():
    v = Venue()
    v.place(1, BUY, price=101, qty=10)
    v.place(2, SELL, "STOP_LOSS", stop_price=50, qty=10)       # a waiting stop, on grid
    refused(v, change(tick_units=5), Reason.OPEN_ORDERS_OFF_GRID)
    v.place(3, BUY, price=100, qty=3)
    refused(v, change(step_units=2), Reason.OPEN_ORDERS_OFF_GRID)


def test_grid_change_cancels_exactly_the_off_grid_orders_when_told():
    v = Venue()
    v.place(1, BUY, price=101, qty=10)                           # price off 0.05
    v.place(2, BUY, price=100, qty=10)                           # on it
    v.place(3, SELL, "STOP_LOSS_LIMIT", price=96, stop_price=97, qty=10)  # stop off it
    v.place(1, SELL, price=120, qty=10)                          # on it
    before = v.bal(1, "USD")
    events = v.apply(change(tick_units=5, cancel_off_grid=True))
    assert canceled(events) == [(1, Reason.INSTRUMENT_CHANGED), (3, Reason.INSTRUMENT_CHANGED)]
    assert set(v.seq.orders) == {2, 4}
    assert v.bal(1, "USD") == (before[0] + 1010, before[1] - 1010)   # order 1's hold released
    assert v.bal(3, "ABC") == (1_000_000, 0)
    assert v.seq.markets["ABC"].book.best_bid()[0] == 100
    assert defined(events).tick_units == 5


# ---- fees and holds ------------------------------------------------------------------------

def test_fee_increase_holds_more_for_every_open_buy():
    v = Venue(xyz())                                  # maker 0.1 %, taker 0.2 %
    v.place(1, BUY, symbol="XYZ", price=100, qty=100)                      # 10000 + 20
    v.place(2, BUY, "STOP_LOSS", symbol="XYZ", stop_price=200, qty=10)     # 2000 + 4
    v.place(3, SELL, symbol="XYZ", price=150, qty=10)                      # base: unchanged
    assert v.bal(1, "USD")[1] == 10_020 and v.bal(2, "USD")[1] == 2_004
    events = v.apply(change(symbol="XYZ", taker_fee_ppm=5000))             # 0.5 %
    assert canceled(events) == []
    assert v.bal(1, "USD") == (1_000_000 - 10_050, 10_050)
    assert v.bal(2, "USD") == (1_000_000 - 2_010, 2_010)
    assert v.bal(3, "XYZ")[1] == 10
    v.apply(change(symbol="XYZ", maker_fee_ppm=0, taker_fee_ppm=0))
    assert v.bal(1, "USD") == (1_000_000 - 10_000, 10_000)


def test_fee_increase_cancels_a_buy_its_account_cannot_fund():
    v = Venue(xyz(), funds=False)
    v.apply(Deposit(0, 1, "USD", 10_020))      # exactly its order's hold
    v.apply(Deposit(0, 2, "USD", 1_000_000))
    v.place(1, BUY, symbol="XYZ", price=100, qty=100)
    v.place(2, BUY, symbol="XYZ", price=100, qty=100)
    events = v.apply(change(symbol="XYZ", taker_fee_ppm=3000))
    assert canceled(events) == [(1, Reason.INSTRUMENT_CHANGED)]
    assert v.bal(1, "USD") == (10_020, 0)
    assert v.bal(2, "USD")[1] == 10_030


def test_fills_after_a_fee_change_charge_the_new_rates():
    v = Venue(xyz())
    v.place(1, SELL, symbol="XYZ", price=100, qty=10)
    v.apply(change(symbol="XYZ", maker_fee_ppm=2000, taker_fee_ppm=4000))
    (trade,) = of(v.place(2, BUY, symbol="XYZ", price=100, qty=10), Traded)
    assert (trade.maker_fee, trade.taker_fee) == (2, 4)


# ---- refusals ------------------------------------------------------------------------------

@pytest.mark.parametrize("cmd, reason", [
    (change(symbol="NOPE", min_qty=2), Reason.UNKNOWN_SYMBOL),
    (change(min_qty=0), Reason.INVALID_INSTRUMENT),
    (change(min_qty=50, max_qty=10), Reason.INVALID_INSTRUMENT),
    (change(tick_units=0), Reason.INVALID_INSTRUMENT),
    (change(step_units=10**10), Reason.INVALID_INSTRUMENT),
    (change(maker_fee_ppm=1_000_000), Reason.INVALID_INSTRUMENT),
    (change(taker_fee_ppm=-1), Reason.INVALID_INSTRUMENT),
    (change(price_band_bps=10_000), Reason.INVALID_INSTRUMENT),
    (change(min_notional=-1), Reason.INVALID_INSTRUMENT),
    (change(reference_price=0), Reason.INVALID_INSTRUMENT),
])
def test_bad_changes_are_refused_and_change_nothing(cmd, reason):
    v = Venue()
    v.place(1, BUY, price=100, qty=10)
    refused(v, cmd, reason)


def test_change_command_checks_field_types():
    with pytest.raises(TypeError):
        ChangeInstrument(5, "ABC", tick_units=True)
    with pytest.raises(TypeError):
        ChangeInstrument(5, "ABC", maker_fee_ppm="1")


# ---- delisting -----------------------------------------------------------------------------

def test_delist_cancels_every_order_and_stop_and_releases_holds():
    v = Venue(abc(), xyz())
    v.place(1, BUY, price=100, qty=10)
    v.place(2, SELL, price=120, qty=10)
    v.place(3, SELL, "STOP_LOSS", stop_price=90, qty=5)
    v.place(1, BUY, symbol="XYZ", price=100, qty=10)
    events = v.apply(SetInstrumentStatus(7, "ABC", "DELISTED"))
    assert events[0] == InstrumentChanged.of(v.seq.seq, 7, "ABC", InstrumentStatus.DELISTED)
    assert canceled(events) == [(1, Reason.DELISTED), (2, Reason.DELISTED), (3, Reason.DELISTED)]
    assert set(v.seq.orders) == {4}                       # XYZ untouched
    assert v.bal(1, "USD")[1] == 1_002 and v.bal(2, "ABC") == (1_000_000, 0)
    assert v.seq.markets["ABC"].book.best_bid() is None


def test_delisted_symbol_refuses_everything_forever():
    v = Venue()
    v.place(1, BUY, price=100, qty=10)
    v.apply(SetInstrumentStatus(7, "ABC", "DELISTED"))
    refused(v, PlaceOrder(8, 1, "ABC", BUY, "LIMIT", qty=1, price=100), Reason.MARKET_CLOSED)
    refused(v, SetInstrumentStatus(8, "ABC", "TRADING"), Reason.DELISTED)
    refused(v, SetInstrumentStatus(8, "ABC", "DELISTED"), Reason.DELISTED)
    refused(v, change(maker_fee_ppm=10), Reason.DELISTED)
    refused(v, ListInstrument(8, abc()), Reason.DUPLICATE_SYMBOL)
    refused(v, CancelOrder(8, 1, "ABC", order_id=1), Reason.UNKNOWN_ORDER)


def test_listing_as_delisted_is_refused():
    v = Venue()
    refused(v, ListInstrument(8, abc(symbol="NEW", base="NEW", status="DELISTED")),
            Reason.INVALID_INSTRUMENT)


# ---- journal and replay --------------------------------------------------------------------

def test_commands_round_trip_through_the_codec():
    for cmd in (change(tick_units=5, step_units=2, min_qty=2, max_qty=9, min_notional=3,
                       price_band_bps=4, reference_price=6, maker_fee_ppm=7, taker_fee_ppm=8,
                       cancel_off_grid=True),
                change(maker_fee_ppm=1), SetInstrumentStatus(1, "ABC", "DELISTED"),
                ListInstrument(0, abc(tick_units=3))):
        assert codec.loads(codec.dumps(cmd)) == cmd
    inst = abc(tick_units=5, step_units=2)
    assert codec.decode_instrument(codec.encode_instrument(inst)) == inst
    legacy = codec.encode_instrument(abc())
    del legacy["tick_units"], legacy["step_units"]              # a definition journaled before
    assert codec.decode_instrument(legacy) == abc()


def test_replay_rebuilds_the_same_state():
    v = Venue(abc(), xyz())
    commands = [
        PlaceOrder(1, 1, "ABC", BUY, "LIMIT", qty=10, price=101),
        PlaceOrder(1, 2, "XYZ", BUY, "LIMIT", qty=10, price=100),
        PlaceOrder(1, 2, "ABC", SELL, "STOP_LOSS", qty=5, stop_price=90),
        change(tick_units=5),                                     # refused: off grid
        change(tick_units=5, cancel_off_grid=True),
        change(symbol="XYZ", taker_fee_ppm=9000),
        PlaceOrder(6, 3, "ABC", SELL, "LIMIT", qty=5, price=105),
        SetInstrumentStatus(7, "XYZ", "DELISTED"),
        PlaceOrder(8, 1, "XYZ", BUY, "LIMIT", qty=1, price=100),  # refused: delisted
    ]
    journal = [cmd for cmd in [ListInstrument(0, abc()), ListInstrument(0, xyz())]]
    journal += [Deposit(0, a, asset, 1_000_000) for a in (1, 2, 3) for asset in ("ABC", "USD", "XYZ")]
    for cmd in commands:
        v.apply(cmd)
        journal.append(cmd)
    again = Sequencer()
    for cmd in journal:
        again.apply(codec.loads(codec.dumps(cmd)))
    again.check()
    assert state(again) == state(v.seq)
    assert again.markets["XYZ"].status == "DELISTED"
    assert again.markets["ABC"].inst == replace(abc(), tick_units=5)
