"""Events: past-tense facts, plain data.

Each event is a slotted record with no ``__init__``: hot paths create one with
``ev = Filled()`` and set its fields, which costs about a third of building a
named tuple or calling an ``__init__`` (measured with bench/engine.py). Events
are never changed after they are returned. Elsewhere use ``Filled.of(...)``,
which takes the fields positionally or by name and requires all of them.
Equality compares the event type and every field.

The first group is what an ``OrderBook`` returns; quantities are lots and
prices ticks. The second group is what the ``Sequencer`` returns: each carries
the ``seq`` of the command that caused it.
"""

from typing import TYPE_CHECKING, Any, TypeVar

from .enums import STP, ExecType, InstrumentStatus, OrderType, Side, TimeInForce
from .enums import Reason as Reason   # defined in enums (instrument needs it too); events names it

if TYPE_CHECKING:
    from .instrument import Instrument


# Rejections that are pre-trade risk breaches (the batcher records them in risk_alerts).
RISK_REASONS = frozenset({
    Reason.RISK_MAX_ORDER_QTY, Reason.RISK_MAX_ORDER_NOTIONAL, Reason.RISK_MAX_OPEN_ORDERS,
    Reason.RISK_MAX_POSITION, Reason.RISK_MAX_DAILY_NOTIONAL, Reason.KILL_SWITCH})


_E = TypeVar("_E", bound="Event")


class Event:
    """Base of all events: a slotted record; see the module docstring."""

    __slots__: tuple[str, ...] = ()

    @classmethod
    def of(cls: type[_E], *args: Any, **kwargs: Any) -> _E:
        """Build an event from all its fields, positionally and/or by name."""
        names = cls.__slots__
        if len(args) + len(kwargs) != len(names) or not set(kwargs) <= set(names[len(args):]):
            raise TypeError(f"{cls.__name__} takes exactly the fields {names}")
        ev = cls()
        for name, value in zip(names, args):
            setattr(ev, name, value)
        for name, value in kwargs.items():
            setattr(ev, name, value)
        return ev

    def values(self) -> tuple[Any, ...]:
        """Return the fields' values as a tuple, in declaration order."""
        return tuple(getattr(self, name) for name in self.__slots__)

    def asdict(self) -> dict[str, Any]:
        """Return ``{field: value}`` in declaration order."""
        return {name: getattr(self, name) for name in self.__slots__}

    def __eq__(self, other: object) -> bool:
        return type(self) is type(other) and self.values() == other.values()

    def __hash__(self) -> int:
        return hash((type(self).__name__, self.values()))

    def __repr__(self) -> str:
        fields = ", ".join(f"{k}={v!r}" for k, v in self.asdict().items())
        return f"{type(self).__name__}({fields})"


# ---- order book events -------------------------------------------------------

class Accepted(Event):
    """The book took an incoming order (price is None for a market order)."""

    __slots__ = ("order_id", "side", "price", "qty")
    order_id: Any
    side: Side
    price: int | None
    qty: int | None


class Filled(Event):
    """A trade at the resting (maker) order's price; remainings are open lots after it."""

    __slots__ = (
        "maker_order_id", "taker_order_id", "price", "qty", "maker_remaining",
        "taker_remaining", "taker_side",
    )
    maker_order_id: Any
    taker_order_id: Any
    price: int
    qty: int
    maker_remaining: int
    taker_remaining: int | None
    taker_side: Side


class Rested(Event):
    """An order's open quantity now rests in the book."""

    __slots__ = ("order_id", "side", "price", "qty")
    order_id: Any
    side: Side
    price: int
    qty: int


class Canceled(Event):
    """An order left the book on request; qty is what was still open."""

    __slots__ = ("order_id", "qty", "reason")
    order_id: Any
    qty: int
    reason: "Reason"


class Expired(Event):
    """An order's open quantity lapsed (IOC/market remainder, FOK, self-trade prevention)."""

    __slots__ = ("order_id", "qty", "reason")
    order_id: Any
    qty: int | None
    reason: "Reason"


class Rejected(Event):
    """A request changed nothing."""

    __slots__ = ("order_id", "reason")
    order_id: Any
    reason: "Reason"


class Amended(Event):
    """An order now stands at price with qty open; priority_kept tells if it kept its place."""

    __slots__ = ("order_id", "side", "price", "qty", "priority_kept")
    order_id: Any
    side: Side
    price: int
    qty: int
    priority_kept: bool


# ---- sequencer events ----------------------------------------------------------

class OrderSpec(Event):
    """What an order is and never stops being, fixed when it is accepted; shared by all its
    OrderUpdated events.
    """

    __slots__ = (
        "order_id", "account", "symbol", "client_order_id", "side", "type", "tif",
        "quote_qty", "stop_price", "display_qty", "stp", "expire_ts_ns", "created_ts_ns",
    )
    order_id: Any
    account: int
    symbol: str
    client_order_id: str | None
    side: Side
    type: OrderType
    tif: TimeInForce
    quote_qty: int | None
    stop_price: int | None
    display_qty: int | None
    stp: STP
    expire_ts_ns: int | None
    created_ts_ns: int


class OrderUpdated(Event):
    """An order's state after a change (like Binance's executionReport): exec_type is an
    ExecType (NEW, TRADE, CANCELED, AMENDED, EXPIRED or TRIGGERED: a stop started working);
    cum_quote is in quote minor units; qty is None for a market buy by quote amount (a sell
    by quote amount shows the lots it set out to sell). The order's fixed fields (order_id,
    account, symbol, ...) read through from ``spec``.
    """

    __slots__ = (
        "seq", "ts_ns", "spec", "price", "qty", "working", "status", "exec_type",
        "executed_qty", "cum_quote", "reason",
    )
    seq: int
    ts_ns: int
    spec: "OrderSpec"
    price: int | None
    qty: int | None
    working: bool
    status: Any
    exec_type: ExecType
    executed_qty: int
    cum_quote: int
    reason: "Reason | None"

    if TYPE_CHECKING:  # read through from spec (the properties set below)
        order_id: Any
        account: int
        symbol: str
        client_order_id: str | None
        side: Side
        type: OrderType
        tif: TimeInForce
        quote_qty: int | None
        stop_price: int | None
        display_qty: int | None
        stp: STP
        expire_ts_ns: int | None
        created_ts_ns: int


def _read_through(name: str) -> property:
    return property(lambda self: getattr(self.spec, name))


for _name in OrderSpec.__slots__:
    setattr(OrderUpdated, _name, _read_through(_name))
del _name


class Traded(Event):
    """A trade: price in ticks, qty in lots, quote_qty and fees in quote minor units."""

    __slots__ = (
        "seq", "ts_ns", "trade_id", "symbol", "price", "qty", "quote_qty",
        "maker_order_id", "taker_order_id", "maker_account", "taker_account", "taker_side",
        "maker_fee", "taker_fee",
    )
    seq: int
    ts_ns: int
    trade_id: int
    symbol: str
    price: int
    qty: int
    quote_qty: int
    maker_order_id: Any
    taker_order_id: Any
    maker_account: int
    taker_account: int
    taker_side: Side
    maker_fee: int
    taker_fee: int


class BalanceChanged(Event):
    """One ledger posting: deltas and the resulting balance, in the asset's minor units."""

    __slots__ = (
        "seq", "account", "asset", "free_delta", "locked_delta", "free", "locked",
        "reason", "ref",
    )
    seq: int
    account: int
    asset: str
    free_delta: int
    locked_delta: int
    free: int
    locked: int
    reason: Any
    ref: Any


class WithdrawalUpdated(Event):
    """A withdrawal was requested (PENDING: its amount is held), APPROVED (paid out) or
    REJECTED (released). ``destination`` is the request's, carried unread (None on a
    resolution: the stored row keeps the request's).
    """

    __slots__ = ("seq", "ts_ns", "withdrawal_id", "account", "asset", "amount", "status",
                 "destination")
    seq: int
    ts_ns: int
    withdrawal_id: str
    account: int
    asset: str
    amount: int
    status: str
    destination: str | None


class CommandRejected(Event):
    """A command was refused; nothing else changed."""

    __slots__ = ("seq", "ts_ns", "account", "symbol", "client_order_id", "order_id", "reason")
    seq: int
    ts_ns: int | None
    account: int | None
    symbol: str | None
    client_order_id: str | None
    order_id: Any
    reason: "Reason"


class DepthUpdated(Event):
    """Commands up to ``seq`` changed a symbol's book (Sequencer.depth_changes): ``update_id``
    counts such changes per symbol (the depth stream's U/u and /depth's lastUpdateId); bids
    and asks are tuples of (price, visible qty) of each changed level, best first, qty 0
    when the level emptied.
    """

    __slots__ = ("seq", "symbol", "update_id", "bids", "asks")
    seq: int
    symbol: str
    update_id: int
    bids: tuple[tuple[int, int], ...]
    asks: tuple[tuple[int, int], ...]


class InstrumentChanged(Event):
    """An instrument was listed or its trading status changed."""

    __slots__ = ("seq", "ts_ns", "symbol", "status")
    seq: int
    ts_ns: int
    symbol: str
    status: InstrumentStatus


class InstrumentDefined(Event):
    """An instrument's rules were changed (ChangeInstrument): ``instrument`` is the whole new
    definition, its ``status`` the symbol's status at the time.
    """

    __slots__ = ("seq", "ts_ns", "instrument")
    seq: int
    ts_ns: int
    instrument: "Instrument"
