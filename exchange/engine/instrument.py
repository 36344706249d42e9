"""Instruments and their rules; decimal strings <-> integer ticks, lots, minor units.

Inside the core every price is an integer number of ticks, every quantity an
integer number of lots and every amount of money an integer number of the
asset's minor units (10**-decimals). The edge converts decimal strings with the
functions here; a value that is not on the grid is refused, never rounded.
"""

import re
from dataclasses import dataclass, field
from decimal import Decimal, DecimalException, localcontext

from .enums import STATUS_OF, STP, STP_OF, InstrumentStatus, Reason

_DECIMAL = re.compile(r"[0-9]{1,30}(\.[0-9]{1,30})?")
PPM = 1_000_000  # fee rates are integer parts per million
MAX_GRID_UNITS = 10**9  # the coarsest price or quantity grid, in ticks or lots


class RuleViolation(ValueError):
    """A value broke an instrument rule; ``reason`` is machine-readable."""

    def __init__(self, reason: Reason, message: str):
        super().__init__(message)
        self.reason = reason


def parse_decimal(text: str, what: str) -> Decimal:
    """Parse a plain non-negative decimal string ("12", "0.50"); no signs, exponents, NaN."""
    if not isinstance(text, str) or not _DECIMAL.fullmatch(text):
        raise RuleViolation(Reason.INVALID_AMOUNT, f"{what} must be a plain decimal string, got {text!r}")
    return Decimal(text)


def to_units(text: str, unit: Decimal, what: str, reason: Reason) -> int:
    """Convert a decimal string to a whole number of ``unit``; off-grid is an error."""
    grid = _grid(unit)
    if grid is not None and type(text) is str:
        # Exact integer arithmetic, the same answers as the Decimal division below
        # at a fifth of its cost: text = whole.frac = n x 10**-len(frac).
        m = _DECIMAL.fullmatch(text)
        if m is not None:
            coefficient, exponent = grid[0], grid[1]
            frac = m.group(1)
            n = int(text.replace(".", "", 1)) if frac else int(text)
            shift = exponent + (len(frac) - 1 if frac else 0)   # value / unit = n / (c x 10**shift)
            units: int
            rest: int
            if shift <= 0:
                units, rest = divmod(n * 10**-shift, coefficient)
            else:
                units, rest = divmod(n, coefficient * 10**shift)
            if units < _MAX_QUOTIENT:
                if rest:
                    raise RuleViolation(reason, f"{what} {text} is not a multiple of "
                                                f"{unit.normalize():f}")
                return units
    value = parse_decimal(text, what)
    with localcontext(prec=80):  # exact for every accepted string (<= 61 digits)
        whole, remainder = divmod(value, unit)
    if remainder:
        raise RuleViolation(reason, f"{what} {text} is not a multiple of {unit.normalize():f}")
    return int(whole)


def from_units(units: int, unit: Decimal) -> str:
    """Format a whole number of ``unit`` as a decimal string with the unit's places."""
    grid = _grid(unit)
    if grid is not None and type(units) is int:
        # Exact integer formatting, what the Decimal product below prints (it
        # rounds to 28 digits: past those, it is left to do so); the last few
        # thousand strings of each unit are kept (responses repeat prices and sizes).
        coefficient, exponent, scale, strings = grid
        text = strings.get(units)
        if text is not None:
            return text
        n = units * coefficient
        if -_DECIMAL_DIGITS < n < _DECIMAL_DIGITS:
            if exponent >= 0:
                text = str(n * scale)
            else:
                q, r = divmod(n if n >= 0 else -n, scale)
                text = "%s%d.%0*d" % ("-" if n < 0 else "", q, -exponent, r)
            if len(strings) >= _STRINGS_PER_UNIT:
                strings.clear()
            strings[units] = text
            return text
    return f"{Decimal(units) * unit:.{places_of(unit)}f}"


def places_of(unit: Decimal) -> int:
    """The decimal places of ``unit`` without its trailing zeros (0.010 -> 2, 5 -> 0)."""
    grid = _grid(unit)
    if grid is not None:
        return max(0, -grid[1])
    return max(0, -int(unit.normalize().as_tuple().exponent))


def minor_unit(decimals: int) -> Decimal:
    """An asset's minor unit, 10**-decimals (one Decimal per ``decimals``, reused)."""
    unit = _MINOR_UNITS.get(decimals)
    if unit is None:
        unit = Decimal(1).scaleb(-decimals)
        if type(decimals) is int and len(_MINOR_UNITS) < 64:
            _MINOR_UNITS[decimals] = unit
    return unit


_MINOR_UNITS: dict[int, Decimal] = {}
_DECIMAL_DIGITS = 10**28   # the default context's precision, which from_units' product has
_MAX_QUOTIENT = 10**79     # to_units' localcontext(prec=80) refuses integer parts this large
_STRINGS_PER_UNIT = 4096
_GRIDS: "dict[Decimal, _Grid | None]" = {}   # unit -> (coefficient, exponent, 10**|exponent|, {units: from_units' text}) or None


_Grid = tuple[int, int, int, dict[int, str]]


def _grid(unit: object) -> _Grid | None:
    """``unit`` as coefficient x 10**exponent, its trailing zeros taken out (one dict
    lookup once known; units compare and hash by value, and the value is all that
    matters here), or None for a unit the integer paths do not handle."""
    if type(unit) is not Decimal:
        return None
    try:
        return _GRIDS[unit]
    except KeyError:
        pass
    except TypeError:   # a signaling NaN
        return None
    grid: _Grid | None = None
    if unit.is_finite() and unit > 0:
        sign, digits, exp = unit.as_tuple()
        exponent = int(exp)   # finite: an int (not 'n', 'N' or 'F')
        coefficient = int("".join(map(str, digits)))
        while coefficient % 10 == 0:
            coefficient //= 10
            exponent += 1
        if coefficient < _DECIMAL_DIGITS:  # else normalize() would round it
            grid = (coefficient, exponent, 10**abs(exponent), {})
    if len(_GRIDS) >= 1024:
        _GRIDS.clear()
    _GRIDS[unit] = grid
    return grid


def _exact_decimal(value: Decimal | str | int) -> Decimal:
    """A Decimal from a Decimal, a decimal string or an int; never from a float."""
    if isinstance(value, float) or type(value) is bool:
        raise TypeError("use a Decimal or a decimal string, not a float")
    return Decimal(value)


@dataclass(frozen=True, slots=True)
class Instrument:
    """One tradable symbol and its rules.

    Quantities (``min_qty``, ``max_qty``) are in lots, ``min_notional`` in quote
    minor units, the price band in basis points around the reference price
    (0 = no band), fee rates in parts per million of the notional (charged in
    the quote asset, rounded down).

    ``tick_size`` and ``step_size`` are the units integer prices (ticks) and
    quantities (lots) count, fixed when the symbol is listed: journaled
    commands, stored orders and trades are in them for good. The grid orders
    must be on is ``tick_units`` ticks and ``step_units`` lots (1 when
    listed; ``ChangeInstrument`` coarsens it): ``price_tick`` and
    ``qty_step`` as decimals, what exchangeInfo shows as tickSize and stepSize.
    """

    symbol: str
    base: str
    quote: str
    tick_size: Decimal
    step_size: Decimal
    base_decimals: int = 8
    quote_decimals: int = 8
    min_qty: int = 1
    max_qty: int = 10**12
    min_notional: int = 0
    price_band_bps: int = 0
    reference_price: int | None = None   # ticks; the last trade price replaces it
    maker_fee_ppm: int = 0
    taker_fee_ppm: int = 0
    status: InstrumentStatus = InstrumentStatus.TRADING
    allowed_stp: frozenset[STP] = field(default_factory=lambda: frozenset(STP))
    default_stp: STP = STP.EXPIRE_MAKER
    tick_units: int = 1    # the price grid, in ticks (a multiple of tick_size)
    step_units: int = 1    # the quantity grid, in lots (a multiple of step_size)

    # Derived values for the hot paths, computed once (Decimal arithmetic is slow):
    # base minor units in a lot; quote minor units in a tick times a lot; the fee
    # rate a buy's hold covers; whether the grid is coarser than the units.
    base_per_lot: int = field(init=False, repr=False, compare=False)
    quote_per_tick_lot: int = field(init=False, repr=False, compare=False)
    hold_fee_ppm: int = field(init=False, repr=False, compare=False)
    coarse: bool = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        # Normalise what may come as plain strings, then derive the integers. A
        # malformed field derives zeros here and is reported by validate().
        object.__setattr__(self, "status", STATUS_OF.get(self.status, self.status))
        object.__setattr__(self, "default_stp", STP_OF.get(self.default_stp, self.default_stp))
        try:
            allowed = frozenset(STP_OF.get(m, m) for m in self.allowed_stp)
        except TypeError:
            allowed = frozenset()
        object.__setattr__(self, "allowed_stp", allowed)
        try:
            tick, step = _exact_decimal(self.tick_size), _exact_decimal(self.step_size)
            derived = (int(step * 10**self.base_decimals),
                       int(tick * step * 10**self.quote_decimals),
                       max(self.maker_fee_ppm, self.taker_fee_ppm))
            object.__setattr__(self, "tick_size", tick)
            object.__setattr__(self, "step_size", step)
        except (TypeError, ValueError, DecimalException, OverflowError):
            derived = (0, 0, 0)
        for name, value in zip(("base_per_lot", "quote_per_tick_lot", "hold_fee_ppm"), derived):
            object.__setattr__(self, name, value)
        object.__setattr__(self, "coarse", self.tick_units != 1 or self.step_units != 1)

    def validate(self) -> None:
        """Raise RuleViolation unless the rules are coherent and on the integer grid."""
        bad = Reason.INVALID_INSTRUMENT
        for name in ("base_decimals", "quote_decimals", "min_qty", "max_qty", "min_notional",
                     "price_band_bps", "maker_fee_ppm", "taker_fee_ppm", "tick_units",
                     "step_units"):
            if type(getattr(self, name)) is not int:
                raise RuleViolation(bad, f"{name} must be an integer")
        if self.reference_price is not None and type(self.reference_price) is not int:
            raise RuleViolation(bad, "reference_price must be an integer number of ticks")
        if not all(isinstance(d, Decimal) and d.is_finite() for d in (self.tick_size, self.step_size)):
            raise RuleViolation(bad, "tick_size and step_size must be decimals")
        if not isinstance(self.status, InstrumentStatus):
            raise RuleViolation(bad, f"status must be one of {[s.value for s in InstrumentStatus]}")
        if not self.allowed_stp or not all(isinstance(m, STP) for m in self.allowed_stp):
            raise RuleViolation(bad, "allowed_stp must be a non-empty set of STP modes")
        if not isinstance(self.symbol, str) or not re.fullmatch(r"[A-Z0-9]{1,20}", self.symbol or ""):
            raise RuleViolation(bad, f"symbol {self.symbol!r} must be 1-20 of A-Z, 0-9")
        for name in (self.base, self.quote):
            if not isinstance(name, str) or not re.fullmatch(r"[A-Z0-9]{1,12}", name):
                raise RuleViolation(bad, f"asset {name!r} must be 1-12 of A-Z, 0-9")
        if self.base == self.quote:
            raise RuleViolation(bad, "base and quote must differ")
        if not (self.tick_size > 0 and self.step_size > 0):
            raise RuleViolation(bad, "tick_size and step_size must be positive")
        if not (0 <= self.base_decimals <= 18 and 0 <= self.quote_decimals <= 18):
            raise RuleViolation(bad, "asset decimals must be within 0..18")
        if self.step_size * 10**self.base_decimals % 1:
            raise RuleViolation(bad, "step_size must be a whole number of base minor units")
        if self.tick_size * self.step_size * 10**self.quote_decimals % 1:
            raise RuleViolation(bad, "tick_size x step_size must be a whole number of quote minor units")
        if not 1 <= self.min_qty <= self.max_qty:
            raise RuleViolation(bad, "need 1 <= min_qty <= max_qty")
        if self.min_notional < 0 or not 0 <= self.price_band_bps < 10_000:
            raise RuleViolation(bad, "min_notional >= 0 and 0 <= price_band_bps < 10000")
        if not (0 <= self.maker_fee_ppm < PPM and 0 <= self.taker_fee_ppm < PPM):
            raise RuleViolation(bad, "fee rates must be within [0, 1)")
        if self.reference_price is not None and self.reference_price <= 0:
            raise RuleViolation(bad, "reference_price must be positive")
        if self.default_stp not in self.allowed_stp:
            raise RuleViolation(bad, "default_stp must be one of allowed_stp")
        if not (1 <= self.tick_units <= MAX_GRID_UNITS and 1 <= self.step_units <= MAX_GRID_UNITS):
            raise RuleViolation(bad, f"tick_units and step_units must be within 1..{MAX_GRID_UNITS}")

    @property
    def price_tick(self) -> Decimal:
        """The price grid as a decimal: ``tick_units`` x ``tick_size``."""
        return self.tick_size * self.tick_units

    @property
    def qty_step(self) -> Decimal:
        """The quantity grid as a decimal: ``step_units`` x ``step_size``."""
        return self.step_size * self.step_units

    # ---- edge conversions --------------------------------------------------

    def price_ticks(self, text: str) -> int:
        """Decimal price string -> ticks (> 0); off-grid raises RuleViolation(FILTER_PRICE)."""
        ticks = to_units(text, self.tick_size, "price", Reason.FILTER_PRICE)
        if ticks <= 0:
            raise RuleViolation(Reason.FILTER_PRICE, "price must be positive")
        return ticks

    def qty_lots(self, text: str) -> int:
        """Decimal quantity string -> lots (> 0); off-grid raises RuleViolation(FILTER_LOT_SIZE)."""
        lots = to_units(text, self.step_size, "quantity", Reason.FILTER_LOT_SIZE)
        if lots <= 0:
            raise RuleViolation(Reason.FILTER_LOT_SIZE, "quantity must be positive")
        return lots

    def quote_units(self, text: str) -> int:
        """Decimal quote amount -> quote minor units."""
        return to_units(text, minor_unit(self.quote_decimals), "quote amount",
                        Reason.INVALID_AMOUNT)

    def price_str(self, ticks: int) -> str:
        return from_units(ticks, self.tick_size)

    def qty_str(self, lots: int) -> str:
        return from_units(lots, self.step_size)

    def quote_str(self, minor: int) -> str:
        return from_units(minor, minor_unit(self.quote_decimals))

    def base_str(self, minor: int) -> str:
        return from_units(minor, minor_unit(self.base_decimals))

    # ---- money -------------------------------------------------------------

    def notional(self, ticks: int, lots: int) -> int:
        """Quote minor units of ``lots`` at ``ticks``."""
        return ticks * lots * self.quote_per_tick_lot

    def buy_hold(self, ticks: int, lots: int) -> int:
        """What a buy of ``lots`` at up to ``ticks`` holds: notional plus the larger fee, rounded up."""
        n = ticks * lots * self.quote_per_tick_lot
        return n + -(-n * self.hold_fee_ppm // PPM)

    def budget_ticklots(self, quote_minor: int) -> int:
        """The largest notional, in ticks x lots, that ``quote_minor`` pays for with taker fees."""
        return quote_minor * PPM // ((PPM + self.taker_fee_ppm) * self.quote_per_tick_lot)

    def in_band(self, ticks: int, reference: int | None) -> bool:
        """Whether ``ticks`` lies within the price band around ``reference``."""
        if not self.price_band_bps or reference is None:
            return True
        return (reference * (10_000 - self.price_band_bps) <= ticks * 10_000
                <= reference * (10_000 + self.price_band_bps))
