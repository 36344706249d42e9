"""Instrument administration (operators): list, change and delist symbols at run time.

- ``POST /api/v1/admin/instruments``: list a new symbol. Body: ``symbol``,
  ``base``, ``quote``, ``tick_size``, ``step_size`` (decimal strings: the
  units its prices and quantities count, fixed for good), ``base_decimals``
  and ``quote_decimals`` (integers; optional for an asset already listed,
  which keeps its decimals), optional ``min_qty``, ``max_qty``,
  ``min_notional``, ``reference_price``, ``maker_fee``, ``taker_fee``
  (decimal strings; fees as rates, "0.001" = 0.1 %) and ``price_band_bps``
  (integer). A ListInstrument command; 201 with the instrument.
- ``PATCH /api/v1/admin/instruments/{symbol}``: change any of ``tick_size``,
  ``step_size`` (whole multiples of the listing's: a coarser grid),
  ``min_qty``, ``max_qty``, ``min_notional``, ``reference_price``,
  ``maker_fee``, ``taker_fee``, ``price_band_bps``; ``cancel_off_grid``
  (bool): cancel the open orders off a new grid instead of refusing (409
  OPEN_ORDERS_OFF_GRID). A ChangeInstrument command (its rules on open
  orders and holds are in ``exchange.engine.commands``).
- ``POST /api/v1/admin/instruments/{symbol}/delist``: SetInstrumentStatus
  DELISTED: every open order and stop is canceled, the symbol never trades
  again (exchangeInfo shows it as BREAK). Trading status changes other than
  delisting are ``POST /api/v1/admin/instruments/{symbol}/status``
  (``exchange.platform.risk``).

Bad input is a 400 (MISSING_FIELD, INVALID_FIELD, UNKNOWN_FIELD,
INVALID_INSTRUMENT, ...) and changes nothing; an unknown symbol is 404, a
listed one 409 DUPLICATE_SYMBOL, a delisted one 409 DELISTED. Every applied
action is recorded in the admin audit: each command carries its record
(``exchange.store.actions.record``), which the batcher writes in the
transaction of the command's batch, with the command's ``seq`` (and the
canceled order ids of a change or a delisting).
"""

import re
from decimal import Decimal, localcontext

from aiohttp import web

from ..keys import VENUE
from ..engine import (ChangeInstrument, CommandRejected, ExecType, Instrument, ListInstrument,
                      OrderUpdated, SetInstrumentStatus)
from ..engine.instrument import MAX_GRID_UNITS, PPM, RuleViolation, minor_unit
from ..store import actions
from . import body, errors
from .body import json
from .errors import PlatformError
from .session import authenticate, require_role

routes = web.RouteTableDef()

_DECIMAL = re.compile(r"[0-9]{1,30}(\.[0-9]{1,30})?")
MAX_INT = 2**63 - 1
LIST_FIELDS = frozenset({
    "symbol", "base", "quote", "tick_size", "step_size", "base_decimals", "quote_decimals",
    "min_qty", "max_qty", "min_notional", "reference_price", "maker_fee", "taker_fee",
    "price_band_bps"})
CHANGE_FIELDS = frozenset({
    "tick_size", "step_size", "min_qty", "max_qty", "min_notional", "reference_price",
    "maker_fee", "taker_fee", "price_band_bps", "cancel_off_grid"})
# The venue's refusals of these commands, as HTTP answers.
REJECTIONS = {
    "UNKNOWN_SYMBOL": 404, "DUPLICATE_SYMBOL": 409, "DELISTED": 409,
    "OPEN_ORDERS_OFF_GRID": 409,
}
_MESSAGES = {
    "DUPLICATE_SYMBOL": "This symbol is already listed.",
    "DELISTED": "This symbol has been delisted: its rules and status are final.",
    "OPEN_ORDERS_OFF_GRID": "Open orders are off the new grid; send cancel_off_grid: true to "
                            "cancel them with the change.",
    "INVALID_INSTRUMENT": "The rules are not coherent (see the instrument fields).",
}


# ---- fields -----------------------------------------------------------------------------

def _decimal(data: dict, name: str, required: bool = False) -> Decimal | None:
    """Field ``name``: a plain non-negative decimal string."""
    text = body.string(data, name, max_len=64, required=required)
    if text is None:
        return None
    if not _DECIMAL.fullmatch(text):
        raise errors.invalid_field(name, 'must be a plain decimal string such as "0.01"')
    return Decimal(text)


def _units(data: dict, name: str, unit: Decimal, positive: bool = True) -> int | None:
    """Field ``name`` as a whole number of ``unit``; off the grid is a 400, never rounded."""
    value = _decimal(data, name)
    if value is None:
        return None
    with localcontext(prec=100):
        units, rest = divmod(value, unit)
    if rest:
        raise errors.invalid_field(name, f"must be a multiple of {unit.normalize():f}")
    if positive and units <= 0:
        raise errors.invalid_field(name, "must be positive")
    if units > MAX_INT:
        raise errors.invalid_field(name, "is too large")
    return int(units)


def _fee(data: dict, name: str) -> int | None:
    """Field ``name``: a fee rate in [0, 1) with at most 6 decimal places, as ppm."""
    value = _decimal(data, name)
    if value is None:
        return None
    ppm = value * PPM
    if ppm != ppm.to_integral_value() or not 0 <= ppm < PPM:
        raise errors.invalid_field(name, "must be a rate in [0, 1) with at most 6 decimal places")
    return int(ppm)


def _int(data: dict, name: str, lo: int, hi: int) -> int | None:
    value = data.get(name)
    if value is None:
        return None
    if type(value) is not int or not lo <= value <= hi:
        raise errors.invalid_field(name, f"must be an integer in {lo}..{hi}")
    return value


def _name(data: dict, name: str, pattern: str, why: str) -> str:
    value = body.string(data, name, max_len=32)
    if not re.fullmatch(pattern, value):
        raise errors.invalid_field(name, why)
    return value


def _rate(ppm: int) -> str:
    return f"{Decimal(ppm).scaleb(-6):.6f}"


def instrument_json(mkt) -> dict:
    """A market's rules as the admin routes show them (decimal strings, fee rates)."""
    return rules_json(mkt.inst, mkt.status)


def rules_json(inst, status) -> dict:
    """An instrument's rules in ``status`` as the admin routes show them."""
    return {
        "symbol": inst.symbol, "status": str(status), "base": inst.base, "quote": inst.quote,
        "base_decimals": inst.base_decimals, "quote_decimals": inst.quote_decimals,
        "tick_size": inst.price_str(inst.tick_units), "step_size": inst.qty_str(inst.step_units),
        "price_unit": inst.price_str(1), "qty_unit": inst.qty_str(1),
        "min_qty": inst.qty_str(inst.min_qty), "max_qty": inst.qty_str(inst.max_qty),
        "min_notional": inst.quote_str(inst.min_notional),
        "price_band_bps": inst.price_band_bps,
        "reference_price": (None if inst.reference_price is None
                            else inst.price_str(inst.reference_price)),
        "maker_fee": _rate(inst.maker_fee_ppm), "taker_fee": _rate(inst.taker_fee_ppm),
    }


async def _submit(request: web.Request, cmd) -> list:
    events = await request.app[VENUE].submit(cmd)
    for ev in events:
        if type(ev) is CommandRejected:
            code = str(ev.reason)
            raise PlatformError(REJECTIONS.get(code, 400), code,
                                _MESSAGES.get(code, f"The venue refused the command: {code}."))
    return events


def _market(request: web.Request):
    symbol = request.match_info["symbol"]
    mkt = request.app[VENUE].sequencer.market_views.get(symbol)
    if mkt is None:
        raise PlatformError(404, "UNKNOWN_SYMBOL", f"No instrument {symbol!r}.")
    return mkt


def _canceled(events) -> list[int]:
    return sorted({ev.spec.order_id for ev in events
                   if type(ev) is OrderUpdated and ev.exec_type is ExecType.CANCELED})


# ---- routes -----------------------------------------------------------------------------

@routes.post("/api/v1/admin/instruments")
async def list_instrument(request: web.Request) -> web.Response:
    """List a new symbol (operators)."""
    caller = await authenticate(request)
    require_role(caller, "operator")
    data = await body.read_object(request, LIST_FIELDS)
    symbol = _name(data, "symbol", r"[A-Z0-9]{1,20}", "must be 1-20 of A-Z, 0-9")
    base = _name(data, "base", r"[A-Z0-9]{1,12}", "must be 1-12 of A-Z, 0-9")
    quote = _name(data, "quote", r"[A-Z0-9]{1,12}", "must be 1-12 of A-Z, 0-9")
    tick, step = _decimal(data, "tick_size", True), _decimal(data, "step_size", True)
    for name, value in (("tick_size", tick), ("step_size", step)):
        if value <= 0:
            raise errors.invalid_field(name, "must be positive")
    seq = request.app[VENUE].sequencer
    decimals = {}
    for name, asset in (("base_decimals", base), ("quote_decimals", quote)):
        value = _int(data, name, 0, 18)
        known = seq.assets.get(asset)
        if value is None:
            if known is None:
                raise errors.missing_field(name)
            value = known
        elif known is not None and known != value:
            raise errors.invalid_field(name, f"must be {known}, as {asset} is already listed with")
        decimals[name] = value
    quote_unit = minor_unit(decimals["quote_decimals"])
    rules = {
        "min_qty": _units(data, "min_qty", step), "max_qty": _units(data, "max_qty", step),
        "min_notional": _units(data, "min_notional", quote_unit, positive=False),
        "reference_price": _units(data, "reference_price", tick),
        "maker_fee_ppm": _fee(data, "maker_fee"), "taker_fee_ppm": _fee(data, "taker_fee"),
        "price_band_bps": _int(data, "price_band_bps", 0, 9_999),
    }
    inst = Instrument(symbol, base, quote, tick, step, **decimals,
                      **{k: v for k, v in rules.items() if v is not None})
    try:
        inst.validate()
    except RuleViolation as e:
        raise PlatformError(400, "INVALID_INSTRUMENT", str(e)) from None
    if symbol in seq.market_views:
        raise PlatformError(409, "DUPLICATE_SYMBOL", _MESSAGES["DUPLICATE_SYMBOL"])
    admin = actions.record(caller, "instrument.list", f"symbol:{symbol}",
                           rules_json(inst, inst.status))   # what the market starts as
    await _submit(request, ListInstrument(0, inst, admin))
    return json(instrument_json(seq.market_views[symbol]), status=201)


@routes.patch("/api/v1/admin/instruments/{symbol}")
async def change_instrument(request: web.Request) -> web.Response:
    """Change a symbol's rules (operators)."""
    caller = await authenticate(request)
    require_role(caller, "operator")
    data = await body.read_object(request, CHANGE_FIELDS)
    mkt = _market(request)
    inst = mkt.inst   # its units (tick_size, step_size, decimals) never change
    cancel = data.get("cancel_off_grid", False)
    if type(cancel) is not bool:
        raise errors.invalid_field("cancel_off_grid", "must be true or false")
    changes = {
        "tick_units": _units(data, "tick_size", inst.tick_size),
        "step_units": _units(data, "step_size", inst.step_size),
        "min_qty": _units(data, "min_qty", inst.step_size),
        "max_qty": _units(data, "max_qty", inst.step_size),
        "min_notional": _units(data, "min_notional", minor_unit(inst.quote_decimals),
                               positive=False),
        "reference_price": _units(data, "reference_price", inst.tick_size),
        "maker_fee_ppm": _fee(data, "maker_fee"), "taker_fee_ppm": _fee(data, "taker_fee"),
        "price_band_bps": _int(data, "price_band_bps", 0, 9_999),
    }
    changes = {k: v for k, v in changes.items() if v is not None}
    if not changes:
        raise PlatformError(400, "NO_CHANGE", "Send at least one rule to change.")
    for name in ("tick_units", "step_units"):
        if changes.get(name, 1) > MAX_GRID_UNITS:
            raise errors.invalid_field(name.replace("_units", "_size"), "is too coarse")
    symbol = inst.symbol
    admin = actions.record(caller, "instrument.change", f"symbol:{symbol}",
                           {"changes": {k: v for k, v in data.items() if k != "cancel_off_grid"},
                            "cancel_off_grid": cancel})
    events = await _submit(request, ChangeInstrument(0, symbol, **changes,
                                                     cancel_off_grid=cancel, admin=admin))
    canceled = _canceled(events)
    out = instrument_json(request.app[VENUE].sequencer.market_views[symbol])
    return json({**out, "canceled_order_ids": canceled})


@routes.post("/api/v1/admin/instruments/{symbol}/delist")
async def delist_instrument(request: web.Request) -> web.Response:
    """Delist a symbol (operators): cancel its every order and stop; it never trades again."""
    caller = await authenticate(request)
    require_role(caller, "operator")
    await body.read_object(request)
    mkt = _market(request)
    symbol = mkt.inst.symbol
    admin = actions.record(caller, "instrument.delist", f"symbol:{symbol}")
    events = await _submit(request, SetInstrumentStatus(0, symbol, "DELISTED", admin))
    canceled = _canceled(events)
    return json({**instrument_json(mkt), "canceled_order_ids": canceled})
