"""Instrument rules: decimal strings <-> integer ticks, lots and minor units,
coherence of the rules, and the hold / budget arithmetic the ledger relies on."""

from dataclasses import replace
from decimal import Decimal as D

import pytest
from hypothesis import given, settings, strategies as st

from exchange.engine import STP, Instrument, Reason, RuleViolation
from exchange.engine.instrument import PPM


def inst(**kw):
    base = dict(symbol="ABCUSD", base="ABC", quote="USD", tick_size=D("0.01"),
                step_size=D("0.001"), base_decimals=3, quote_decimals=5)
    base.update(kw)
    return Instrument(**base)


def reason_of(fn, *args):
    with pytest.raises(RuleViolation) as info:
        fn(*args)
    return info.value.reason


# ---- conversions ---------------------------------------------------------------


@pytest.mark.parametrize("text, ticks", [
    ("1", 100), ("1.00", 100), ("0.01", 1), ("123.45", 12345), ("00.10", 10),
    ("1.0000000000", 100), ("99999999.99", 9999999999),
])
def test_price_ticks_converts_on_grid_prices(text, ticks):
    assert inst().price_ticks(text) == ticks


@pytest.mark.parametrize("text", ["1.001", "0.005", "123.456", "0.0000001"])
def test_price_off_the_tick_grid_is_refused_not_rounded(text):
    assert reason_of(inst().price_ticks, text) is Reason.FILTER_PRICE


@pytest.mark.parametrize("text", ["0", "0.00", "000"])
def test_price_must_be_positive(text):
    assert reason_of(inst().price_ticks, text) is Reason.FILTER_PRICE


MALFORMED = ["1e2", "1E2", "-1", "+1", "NaN", "nan", "Infinity", "inf", " 1", "1 ", "1\n",
             "\t1", "", ".5", "5.", "1,5", "1_000", "0x10", "١", "1.2.3", "--1", "sNaN"]


@pytest.mark.parametrize("text", MALFORMED)
def test_malformed_price_strings_are_refused(text):
    assert reason_of(inst().price_ticks, text) is Reason.INVALID_AMOUNT


@pytest.mark.parametrize("text", MALFORMED)
def test_malformed_quantity_strings_are_refused(text):
    assert reason_of(inst().qty_lots, text) is Reason.INVALID_AMOUNT


@pytest.mark.parametrize("text", MALFORMED)
def test_malformed_quote_amounts_are_refused(text):
    assert reason_of(inst().quote_units, text) is Reason.INVALID_AMOUNT


@pytest.mark.parametrize("value", [None, 1, 1.5, D("1"), b"1"])
def test_non_string_values_are_refused(value):
    i = inst()
    for fn in (i.price_ticks, i.qty_lots, i.quote_units):
        assert reason_of(fn, value) is Reason.INVALID_AMOUNT


@pytest.mark.parametrize("text", ["1" + "0" * 40, "9" * 60 + ".5", "1" + "0" * 30 + ".001"])
def test_huge_values_raise_rule_violation_not_a_decimal_error(text):
    # Anything a client can send must end as a RuleViolation (an API error),
    # never decimal.InvalidOperation (an internal error).
    i = inst()
    for fn in (i.price_ticks, i.qty_lots, i.quote_units):
        try:
            fn(text)
        except RuleViolation:
            pass


def test_huge_on_grid_value_converts_exactly():
    i = inst(tick_size=D("1"))
    assert i.price_ticks("1" + "0" * 20) == 10**20


@pytest.mark.parametrize("text, lots", [("1", 1000), ("0.001", 1), ("2.5", 2500), ("0.010", 10)])
def test_qty_lots_converts_on_grid_quantities(text, lots):
    assert inst().qty_lots(text) == lots


@pytest.mark.parametrize("text", ["0.0001", "1.0005", "0", "0.000"])
def test_quantity_off_the_step_grid_or_zero_is_a_lot_size_violation(text):
    assert reason_of(inst().qty_lots, text) is Reason.FILTER_LOT_SIZE


def test_quote_units_converts_to_minor_units_and_allows_zero():
    i = inst()
    assert i.quote_units("1.5") == 150000
    assert i.quote_units("0.00001") == 1
    assert i.quote_units("0") == 0
    assert reason_of(i.quote_units, "0.000001") is Reason.INVALID_AMOUNT


def test_coarse_step_sizes_convert():
    i = inst(step_size=D("10"), base_decimals=0, tick_size=D("0.5"), quote_decimals=1)
    assert i.qty_lots("30") == 3
    assert reason_of(i.qty_lots, "35") is Reason.FILTER_LOT_SIZE
    assert i.price_ticks("2.5") == 5
    assert reason_of(i.price_ticks, "2.25") is Reason.FILTER_PRICE


def test_formatting_uses_the_unit_places():
    i = inst()
    assert i.price_str(12345) == "123.45"
    assert i.price_str(1) == "0.01"
    assert i.qty_str(1500) == "1.500"
    assert i.quote_str(7) == "0.00007"
    assert i.base_str(42) == "0.042"
    j = inst(step_size=D("1"), base_decimals=0)
    assert j.qty_str(5) == "5"


@settings(max_examples=200, derandomize=True, deadline=None)
@given(ticks=st.integers(1, 10**15), lots=st.integers(1, 10**15),
       tick=st.sampled_from(["0.01", "0.5", "1", "0.0001", "25"]),
       step=st.sampled_from(["0.001", "1", "0.1", "100"]))
def test_formatted_values_parse_back_to_the_same_integers(ticks, lots, tick, step):
    i = inst(tick_size=D(tick), step_size=D(step), base_decimals=8, quote_decimals=8)
    assert i.price_ticks(i.price_str(ticks)) == ticks
    assert i.qty_lots(i.qty_str(lots)) == lots


def refusal(change):
    """The Reason an instrument with ``change`` is refused with, whether by its
    constructor or by validate(); any other exception fails the test."""
    try:
        i = inst(**change)
        i.validate()
    except RuleViolation as e:
        return e.reason
    return None


# ---- validate ----------------------------------------------------------------------


def test_a_coherent_instrument_validates():
    inst().validate()
    inst(maker_fee_ppm=1000, taker_fee_ppm=2000, price_band_bps=500, reference_price=100,
         min_notional=10, min_qty=5, max_qty=5).validate()


@pytest.mark.parametrize("change", [
    dict(symbol=""), dict(symbol="abc"), dict(symbol="A" * 21), dict(symbol="AB-C"),
    dict(symbol=None), dict(base=""), dict(quote="usd"), dict(base="A" * 13),
    dict(base="USD"),  # base == quote
    dict(tick_size=D("0")), dict(step_size=D("-0.001")),
    dict(base_decimals=-1), dict(quote_decimals=19),
    dict(step_size=D("0.0001")),  # finer than base minor units (3 decimals)
    dict(tick_size=D("0.000001"), step_size=D("0.001")),  # tick x step below 1e-5
    dict(min_qty=0), dict(min_qty=10, max_qty=9),
    dict(min_notional=-1), dict(price_band_bps=-1), dict(price_band_bps=10_000),
    dict(maker_fee_ppm=-1), dict(taker_fee_ppm=PPM),
    dict(reference_price=0), dict(reference_price=-5),
    dict(allowed_stp=frozenset({STP.NONE}), default_stp=STP.EXPIRE_MAKER),
])
def test_incoherent_rules_are_refused(change):
    assert refusal(change) is Reason.INVALID_INSTRUMENT


@pytest.mark.parametrize("change", [
    dict(maker_fee_ppm=0.5), dict(taker_fee_ppm=D("1.5")), dict(min_qty=1.5),
    dict(max_qty=10.0**6), dict(min_notional=0.1), dict(price_band_bps=1.5),
    dict(reference_price=100.5),
])
def test_rules_must_be_integers(change):
    # Integers inside (STYLE.md 4): a float fee rate or limit would put floats
    # into balances and events.
    assert refusal(change) is Reason.INVALID_INSTRUMENT


def test_derived_integer_units():
    i = inst()
    assert i.base_per_lot == 1                   # 0.001 ABC = 1 minor unit (3 decimals)
    assert i.quote_per_tick_lot == 1             # 0.01 * 0.001 USD = 1e-5 = 1 minor unit
    j = inst(tick_size=D("0.5"), step_size=D("10"), base_decimals=2, quote_decimals=2)
    assert j.base_per_lot == 1000
    assert j.quote_per_tick_lot == 500
    assert j.notional(3, 2) == 3000


# ---- money arithmetic ------------------------------------------------------------------


def test_buy_hold_is_notional_plus_the_larger_fee_rounded_up():
    i = inst(maker_fee_ppm=1000, taker_fee_ppm=2500)
    assert i.buy_hold(100, 10) == 1000 + 3           # 1000 * 0.0025 = 2.5 -> 3
    assert i.buy_hold(100, 4) == 400 + 1             # 1.0 exactly -> 1
    j = inst(maker_fee_ppm=3000, taker_fee_ppm=1000)
    assert j.buy_hold(100, 10) == 1000 + 3           # the maker rate is the larger
    assert inst().buy_hold(7, 3) == 21               # no fee


@settings(max_examples=300, derandomize=True, deadline=None)
@given(quote=st.integers(0, 10**12), fee=st.integers(0, PPM - 1),
       qptl=st.sampled_from([1, 2, 5, 10, 1000]))
def test_budget_ticklots_is_the_largest_affordable_notional(quote, fee, qptl):
    # tick 0.01 x step (qptl/1000) with 5 quote decimals: qptl quote units per tick-lot
    i = inst(step_size=D(qptl) / 1000, base_decimals=3, taker_fee_ppm=fee)
    assert i.quote_per_tick_lot == qptl
    b = i.budget_ticklots(quote)

    def cost(ticklots):
        n = ticklots * qptl
        return n + n * fee // PPM   # fees are rounded down per fill, at most this

    assert cost(b) <= quote
    # one more tick-lot, charged the exact (unrounded) fee, would not fit
    assert (b + 1) * qptl * (PPM + fee) > quote * PPM


@settings(max_examples=300, derandomize=True, deadline=None)
@given(ticks=st.integers(1, 10**6), lots=st.integers(1, 10**6),
       maker=st.integers(0, PPM - 1), taker=st.integers(0, PPM - 1))
def test_buy_hold_covers_any_fill_and_is_tight(ticks, lots, maker, taker):
    i = inst(maker_fee_ppm=maker, taker_fee_ppm=taker)
    h = i.buy_hold(ticks, lots)
    n = i.notional(ticks, lots)
    rate = max(maker, taker)
    assert n + n * rate // PPM <= h <= n + n * rate // PPM + 1
    assert h * PPM >= n * (PPM + rate)


def test_price_band_is_inclusive_around_the_reference():
    i = inst(price_band_bps=1000)  # +-10 %
    assert i.in_band(90, 100) and i.in_band(110, 100) and i.in_band(100, 100)
    assert not i.in_band(89, 100) and not i.in_band(111, 100)
    assert i.in_band(10**9, None)                     # no reference: no band
    assert inst().in_band(1, 100)                     # no band


def test_instrument_is_immutable():
    i = inst()
    with pytest.raises(Exception):
        i.tick_size = D("1")
    assert replace(i, symbol="XYZ").symbol == "XYZ"
