"""The unit converters' integer fast paths against the Decimal arithmetic they stand for.

``to_units`` and ``from_units`` compute in integers what ``Decimal`` computes
(a fifth of its cost); on random decimal strings, units and integers, both
give the same answer, or both refuse.
"""

from decimal import Decimal, localcontext

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from exchange.engine import Reason, RuleViolation
from exchange.engine.instrument import from_units, parse_decimal, places_of, to_units

MANY = settings(max_examples=2_000, deadline=None)

digits = st.text("0123456789", min_size=1, max_size=30)
decimal_strings = st.one_of(
    digits,
    st.builds(lambda w, f: f"{w}.{f}", digits, digits),
    st.sampled_from(["0", "0.0", "00.10", "1.", ".5", "-1", "1e3", "NaN", "1,0", "", " 1"]),
    st.text("0123456789.-e+", max_size=12),
)
units = st.one_of(
    st.sampled_from([Decimal(u) for u in ("1", "0.01", "0.00000001", "5", "0.25", "0.050",
                                          "10", "1E+3", "2.5E-7", "0.1")]),
    st.builds(lambda c, e: Decimal(c).scaleb(e), st.integers(1, 10**6), st.integers(-18, 6)),
)


def decimal_to_units(text, unit):
    """to_units by the Decimal path alone: (units,) or the refusal's reason."""
    try:
        value = parse_decimal(text, "x")
    except RuleViolation as e:
        return e.reason
    with localcontext(prec=80):
        whole, rest = divmod(value, unit)
    return Reason.FILTER_PRICE if rest else (int(whole),)


@MANY
@given(text=decimal_strings, unit=units)
def test_to_units_is_the_decimal_division(text, unit):
    try:
        got = (to_units(text, unit, "x", Reason.FILTER_PRICE),)
    except RuleViolation as e:
        got = e.reason
    assert got == decimal_to_units(text, unit)


@MANY
@given(n=st.one_of(st.integers(-10**6, 10**6), st.integers(-10**40, 10**40)), unit=units)
def test_from_units_prints_the_decimal_product(n, unit):
    assert from_units(n, unit) == f"{Decimal(n) * unit:.{places_of(unit)}f}"
    assert from_units(n, unit) == from_units(n, unit)   # the kept strings give the same


@MANY
@given(n=st.integers(0, 10**20), unit=units)
def test_from_units_and_to_units_round_trip(n, unit):
    text = from_units(n, unit)
    whole, _, frac = text.partition(".")
    # printed exactly (within 28 digits), in digits a decimal field may have (30 each side)
    if Decimal(text) == Decimal(n) * unit and len(whole) <= 30 and len(frac) <= 30:
        assert to_units(text, unit, "x", Reason.FILTER_PRICE) == n


def test_an_off_grid_value_is_refused_by_both_paths():
    with pytest.raises(RuleViolation):
        to_units("0.015", Decimal("0.01"), "price", Reason.FILTER_PRICE)
    assert decimal_to_units("0.015", Decimal("0.01")) is Reason.FILTER_PRICE
