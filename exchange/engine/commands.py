"""Commands: what the edge asks the sequencer to do, already parsed and typed.

Every value is an integer in the core's units (ticks, lots, minor units) and
every command carries ``ts_ns``, the time the sequencer stamps on it, so that
``apply`` never reads a clock. The sequencer still checks each field: a
command is a request, not a promise.
"""

from dataclasses import dataclass

from .enums import STP, OrderType, Side, TimeInForce
from .instrument import Instrument


@dataclass(frozen=True, slots=True)
class PlaceOrder:
    """New order. LIMIT/LIMIT_MAKER need price and qty; MARKET needs qty or
    quote_qty; STOP_LOSS/TAKE_PROFIT need qty and stop_price; their _LIMIT
    forms also need price. ``display_qty`` makes an iceberg; GTD needs
    ``expire_ts_ns``."""

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


@dataclass(frozen=True, slots=True)
class CancelOrder:
    """Cancel one open order, by ``order_id`` or by ``client_order_id``."""

    ts_ns: int
    account: int
    symbol: str
    order_id: int | None = None
    client_order_id: str | None = None


@dataclass(frozen=True, slots=True)
class CancelAll:
    """Cancel every open order (stops included) of an account on a symbol."""

    ts_ns: int
    account: int
    symbol: str


@dataclass(frozen=True, slots=True)
class AmendOrder:
    """Change an open order's open quantity (lots) and/or price (ticks)."""

    ts_ns: int
    account: int
    symbol: str
    order_id: int
    qty: int | None = None
    price: int | None = None


@dataclass(frozen=True, slots=True)
class CancelReplace:
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


@dataclass(frozen=True, slots=True)
class Deposit:
    ts_ns: int
    account: int
    asset: str
    amount: int
    ref: str | None = None


@dataclass(frozen=True, slots=True)
class Withdraw:
    ts_ns: int
    account: int
    asset: str
    amount: int
    ref: str | None = None


@dataclass(frozen=True, slots=True)
class ListInstrument:
    ts_ns: int
    instrument: Instrument


@dataclass(frozen=True, slots=True)
class SetInstrumentStatus:
    ts_ns: int
    symbol: str
    status: str


@dataclass(frozen=True, slots=True)
class ExpireOrders:
    """A clock tick: expire DAY and GTD orders due by ``ts_ns``."""

    ts_ns: int
