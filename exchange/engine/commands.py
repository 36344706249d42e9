"""Commands: what the edge asks the sequencer to do, already parsed and typed.

Every value is an integer in the core's units (ticks, lots, minor units) and
every command carries ``ts_ns``, the time the sequencer stamps on it, so that
``apply`` never reads a clock. A command checks its field *types* when it is
built (TypeError otherwise: bools are not ints, enums may be given as their
strings), so the sequencer can rely on them; it still checks every *value*:
a command is a request, not a promise.
"""

import types
from dataclasses import dataclass, fields
from enum import Enum
from typing import NamedTuple

from .enums import STP, OrderType, Side, TimeInForce
from .instrument import Instrument


class AdminRecord(NamedTuple):
    """Who asked for an operator's command and why: carried by the command, never read by
    the engine. The journal writer (exchange.store) appends it to the admin actions' chain
    in the same transaction as the command, if the command was not rejected.

    ``actor``: the operator's account (None: the command line); ``role``: theirs;
    ``action`` and ``target`` name what was done to what; ``details``: what jsonb keeps
    exactly (strings, int64 integers, booleans, null, lists, string-keyed dicts).
    """

    actor: int | None
    role: str
    action: str
    target: str
    details: dict


class _Typed:
    """Base of commands: checks field types after ``__init__``."""

    __slots__ = ()

    def __post_init__(self):
        """Replaced in each command class by the checks ``command`` generates."""

    def _type_error(self, name, allowed):
        value = getattr(self, name)
        names = " or ".join(t.__name__ for t in allowed)
        raise TypeError(f"{type(self).__name__}.{name} must be {names}, "
                        f"not {type(value).__name__}")


def _allowed(annotation) -> tuple:
    """Types a field accepts by isinstance (bool never counts as int)."""
    parts = annotation.__args__ if isinstance(annotation, types.UnionType) else (annotation,)
    # an enum field may be given as its string value
    return tuple(str if isinstance(t, type) and issubclass(t, Enum) else t for t in parts)


def command(cls):
    """Make ``cls`` a slotted dataclass whose ``__init__`` checks its field types.

    Not frozen: a frozen dataclass's ``__init__`` costs six times as much here,
    and commands are built on every request and on every replayed journal row.
    Treat them as immutable all the same.
    """
    cls = dataclass(slots=True)(cls)
    # A generated __post_init__: one cheap exact-type test per field, isinstance
    # only when that fails (an enum member for a str field, say).
    namespace = {"_bool": bool}
    lines = ["def __post_init__(self):"]
    for i, f in enumerate(fields(cls)):
        allowed = _allowed(f.type)
        namespace[f"_exact{i}"] = frozenset(allowed)
        namespace[f"_allowed{i}"] = allowed
        lines.append(f"    v = self.{f.name}")
        lines.append(f"    if type(v) not in _exact{i} and (not isinstance(v, _allowed{i})"
                     f" or type(v) is _bool):")
        lines.append(f"        self._type_error({f.name!r}, _allowed{i})")
    # A generated stamped(ts_ns): a copy at another time, without checking again (the
    # fields were checked when this one was built): what the venue journals.
    namespace["_new"], namespace["_cls"] = object.__new__, cls
    lines += ["def stamped(self, ts_ns):", "    new = _new(_cls)"]
    lines += [f"    new.{f.name} = self.{f.name}" for f in fields(cls) if f.name != "ts_ns"]
    lines += ["    new.ts_ns = ts_ns", "    return new"]
    exec("\n".join(lines), namespace)  # noqa: S102 - generated from our own annotations
    cls.__post_init__ = namespace["__post_init__"]
    cls.stamped = namespace["stamped"]
    return cls


@command
class PlaceOrder(_Typed):
    """New order. LIMIT/LIMIT_MAKER need price and qty; MARKET needs qty or
    quote_qty; STOP_LOSS/TAKE_PROFIT need qty and stop_price; their _LIMIT
    forms also need price. ``display_qty`` makes an iceberg; GTD needs
    ``expire_ts_ns``. ``source`` names what entered it (the API key), so a
    key's kill switch can find its orders."""

    ts_ns: int
    account: int
    symbol: str
    side: Side
    type: OrderType
    qty: int | None = None
    price: int | None = None
    quote_qty: int | None = None
    stop_price: int | None = None
    tif: TimeInForce = TimeInForce.GTC
    display_qty: int | None = None
    client_order_id: str | None = None
    stp: STP | None = None
    expire_ts_ns: int | None = None
    source: str | None = None


@command
class CancelOrder(_Typed):
    """Cancel one open order, by ``order_id`` or by ``client_order_id``."""

    ts_ns: int
    account: int
    symbol: str
    order_id: int | None = None
    client_order_id: str | None = None


@command
class CancelAll(_Typed):
    """Cancel every open order (stops included) of an account on a symbol."""

    ts_ns: int
    account: int
    symbol: str


@command
class CancelOnDisconnect(_Typed):
    """A session that opted in to cancel-on-disconnect ended: cancel the account's open
    orders (stops included) on every symbol, only those entered by ``source`` if given."""

    ts_ns: int
    account: int
    source: str | None = None


@command
class AmendOrder(_Typed):
    """Change an open order's open quantity (lots) and/or price (ticks)."""

    ts_ns: int
    account: int
    symbol: str
    order_id: int
    qty: int | None = None
    price: int | None = None


@command
class CancelReplace(_Typed):
    """Cancel an order and place ``new`` (Binance's cancelReplace).

    mode STOP_ON_FAILURE: no new order if the cancel fails; ALLOW_FAILURE:
    place the new order even then.
    """

    ts_ns: int
    account: int
    symbol: str
    new: PlaceOrder
    cancel_order_id: int | None = None
    cancel_client_order_id: str | None = None
    mode: str = "STOP_ON_FAILURE"


@command
class Deposit(_Typed):
    ts_ns: int
    account: int
    asset: str
    amount: int
    ref: str | None = None
    admin: AdminRecord | None = None


@command
class Withdraw(_Typed):
    ts_ns: int
    account: int
    asset: str
    amount: int
    ref: str | None = None


@command
class RequestWithdrawal(_Typed):
    """Hold ``amount`` for a withdrawal an operator must approve or reject.

    ``withdrawal_id`` is the caller's (unique) id for it; ``destination`` where to pay
    it, opaque to the engine (carried into its WithdrawalUpdated event unread)."""

    ts_ns: int
    account: int
    asset: str
    amount: int
    withdrawal_id: str
    destination: str | None = None


@command
class ResolveWithdrawal(_Typed):
    """Approve (the held amount leaves the venue) or reject (it is released).

    ``note`` and ``admin`` (the operator) are opaque to the engine: the journal
    writer stores them with the resolution."""

    ts_ns: int
    withdrawal_id: str
    approve: bool
    note: str | None = None
    admin: AdminRecord | None = None


@command
class ListInstrument(_Typed):
    ts_ns: int
    instrument: Instrument
    admin: AdminRecord | None = None


@command
class SetInstrumentStatus(_Typed):
    """Set a symbol's status. DELISTED is final: it cancels every open order and stop
    of the symbol (releasing their holds), and no later status change is taken."""

    ts_ns: int
    symbol: str
    status: str
    admin: AdminRecord | None = None


@command
class ChangeInstrument(_Typed):
    """Change a listed symbol's rules; None leaves a rule as it is.

    Units are those fixed at listing: ``tick_units`` and ``step_units`` set
    the price and quantity grid as multiples of the listing's tick and step
    (the integer units themselves never change, so stored prices keep their
    meaning); ``min_qty``/``max_qty`` in lots, ``min_notional`` in quote minor
    units, ``price_band_bps``, ``reference_price`` in ticks, fee rates in ppm.

    Open orders whose price, stop price, open or iceberg quantity is off a new
    grid refuse the change (OPEN_ORDERS_OFF_GRID) unless ``cancel_off_grid``,
    which cancels exactly those (reason INSTRUMENT_CHANGED) in order id order.
    A fee change re-computes the hold of every open buy of the symbol: a
    smaller one is released, a larger one held from the account's free quote,
    and a buy whose account cannot fund it is canceled (INSTRUMENT_CHANGED).
    Other limits apply to new orders and amendments only, as on Binance.
    """

    ts_ns: int
    symbol: str
    tick_units: int | None = None
    step_units: int | None = None
    min_qty: int | None = None
    max_qty: int | None = None
    min_notional: int | None = None
    price_band_bps: int | None = None
    reference_price: int | None = None
    maker_fee_ppm: int | None = None
    taker_fee_ppm: int | None = None
    cancel_off_grid: bool = False
    admin: AdminRecord | None = None


@command
class ExpireOrders(_Typed):
    """A clock tick: expire DAY and GTD orders due by ``ts_ns``."""

    ts_ns: int


@command
class SetRiskDefaults(_Typed):
    """Set the venue's default pre-trade limits (0 = unlimited) and volatility halt length.

    Limits: ``max_order_qty`` (lots, per order), ``max_order_notional`` (quote
    minor units, per order), ``max_open_orders`` (per account, stops included),
    ``max_position`` (lots of a symbol's base the account may hold, counting its
    open buys), ``max_daily_notional`` (quote minor units traded per trading
    day, both sides, all symbols). ``halt_s``: seconds a symbol stays halted
    after a taker reached the edge of its price band with liquidity beyond it
    (0 = no volatility halts: the taker's remainder just expires).
    """

    ts_ns: int
    max_order_qty: int = 0
    max_order_notional: int = 0
    max_open_orders: int = 0
    max_position: int = 0
    max_daily_notional: int = 0
    halt_s: int = 0


@command
class SetRiskLimits(_Typed):
    """Set an account's pre-trade limits (units as in SetRiskDefaults); None = the
    venue default, 0 = unlimited."""

    ts_ns: int
    account: int
    max_order_qty: int | None = None
    max_order_notional: int | None = None
    max_open_orders: int | None = None
    max_position: int | None = None
    max_daily_notional: int | None = None
    admin: AdminRecord | None = None


@command
class SetKillSwitch(_Typed):
    """Activate (cancel every open order of the account, refuse its new orders and
    amends) or lift an account's kill switch; with ``api_key``, the switch of that
    key alone (the orders whose ``source`` it is)."""

    ts_ns: int
    account: int
    active: bool
    api_key: str | None = None
    admin: AdminRecord | None = None
