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

from enum import StrEnum


class Reason(StrEnum):
    """Why an order was rejected, expired or canceled (machine-readable)."""

    # rejections
    UNKNOWN_ORDER = "UNKNOWN_ORDER"
    INVALID_ORDER_ID = "INVALID_ORDER_ID"
    DUPLICATE_ORDER_ID = "DUPLICATE_ORDER_ID"
    INVALID_SIDE = "INVALID_SIDE"
    INVALID_PRICE = "INVALID_PRICE"
    INVALID_QUANTITY = "INVALID_QUANTITY"
    INVALID_TIF = "INVALID_TIF"
    INVALID_STP = "INVALID_STP"
    INVALID_DISPLAY_QUANTITY = "INVALID_DISPLAY_QUANTITY"
    POST_ONLY_WOULD_TAKE = "POST_ONLY_WOULD_TAKE"
    # venue rejections
    UNKNOWN_SYMBOL = "UNKNOWN_SYMBOL"
    UNKNOWN_ASSET = "UNKNOWN_ASSET"
    UNKNOWN_COMMAND = "UNKNOWN_COMMAND"
    UNKNOWN_WITHDRAWAL = "UNKNOWN_WITHDRAWAL"
    DUPLICATE_WITHDRAWAL = "DUPLICATE_WITHDRAWAL"
    INVALID_CLIENT_ORDER_ID = "INVALID_CLIENT_ORDER_ID"
    INVALID_STATUS = "INVALID_STATUS"
    INVALID_ORDER_TYPE = "INVALID_ORDER_TYPE"
    INVALID_STOP_PRICE = "INVALID_STOP_PRICE"
    INVALID_EXPIRY = "INVALID_EXPIRY"
    INVALID_AMOUNT = "INVALID_AMOUNT"
    INVALID_INSTRUMENT = "INVALID_INSTRUMENT"
    DUPLICATE_SYMBOL = "DUPLICATE_SYMBOL"
    DUPLICATE_CLIENT_ORDER_ID = "DUPLICATE_CLIENT_ORDER_ID"
    FILTER_LOT_SIZE = "FILTER_LOT_SIZE"
    FILTER_MARKET_LOT_SIZE = "FILTER_MARKET_LOT_SIZE"
    FILTER_NOTIONAL = "FILTER_NOTIONAL"
    FILTER_PRICE = "FILTER_PRICE"
    FILTER_PERCENT_PRICE = "FILTER_PERCENT_PRICE"
    FILTER_ICEBERG = "FILTER_ICEBERG"
    STP_MODE_NOT_ALLOWED = "STP_MODE_NOT_ALLOWED"
    WOULD_TRIGGER_IMMEDIATELY = "WOULD_TRIGGER_IMMEDIATELY"
    INSUFFICIENT_BALANCE = "INSUFFICIENT_BALANCE"
    NO_LIQUIDITY = "NO_LIQUIDITY"
    MARKET_CLOSED = "MARKET_CLOSED"
    NOT_ORDER_OWNER = "NOT_ORDER_OWNER"
    NOT_AMENDABLE = "NOT_AMENDABLE"
    INVALID_LIMIT = "INVALID_LIMIT"
    OPEN_ORDERS_OFF_GRID = "OPEN_ORDERS_OFF_GRID"   # a grid change would strand open orders
    # pre-trade risk rejections (RISK_REASONS: recorded as risk alerts)
    RISK_MAX_ORDER_QTY = "RISK_MAX_ORDER_QTY"
    RISK_MAX_ORDER_NOTIONAL = "RISK_MAX_ORDER_NOTIONAL"
    RISK_MAX_OPEN_ORDERS = "RISK_MAX_OPEN_ORDERS"
    RISK_MAX_POSITION = "RISK_MAX_POSITION"
    RISK_MAX_DAILY_NOTIONAL = "RISK_MAX_DAILY_NOTIONAL"
    KILL_SWITCH = "KILL_SWITCH"
    # expiries and cancels
    IOC = "IOC"
    FOK = "FOK"
    MARKET = "MARKET"
    STP = "STP"
    TIME = "TIME"
    USER = "USER"
    REPLACED = "REPLACED"
    HALTED = "HALTED"
    FUNDS = "FUNDS"
    VOLATILITY_HALT = "VOLATILITY_HALT"   # a taker reached its band edge: the symbol halted
    INSTRUMENT_CHANGED = "INSTRUMENT_CHANGED"  # off the new grid, or its larger fee hold unfunded
    DELISTED = "DELISTED"                 # its symbol was delisted
    DISCONNECTED = "DISCONNECTED"         # its session ended (cancel-on-disconnect)


# Rejections that are pre-trade risk breaches (the batcher records them in risk_alerts).
RISK_REASONS = frozenset({
    Reason.RISK_MAX_ORDER_QTY, Reason.RISK_MAX_ORDER_NOTIONAL, Reason.RISK_MAX_OPEN_ORDERS,
    Reason.RISK_MAX_POSITION, Reason.RISK_MAX_DAILY_NOTIONAL, Reason.KILL_SWITCH})


class Event:
    """Base of all events: a slotted record; see the module docstring."""

    __slots__ = ()

    @classmethod
    def of(cls, *args, **kwargs):
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

    def values(self):
        """Return the fields' values as a tuple, in declaration order."""
        return tuple(getattr(self, name) for name in self.__slots__)

    def asdict(self):
        """Return ``{field: value}`` in declaration order."""
        return {name: getattr(self, name) for name in self.__slots__}

    def __eq__(self, other):
        return type(self) is type(other) and self.values() == other.values()

    def __hash__(self):
        return hash((type(self).__name__, self.values()))

    def __repr__(self):
        fields = ", ".join(f"{k}={v!r}" for k, v in self.asdict().items())
        return f"{type(self).__name__}({fields})"


def _event(name: str, fields: str, doc: str) -> type:
    return type(name, (Event,), {"__slots__": tuple(fields.split()), "__doc__": doc,
                                 "__module__": __name__})


# ---- order book events -------------------------------------------------------

Accepted = _event(
    "Accepted", "order_id side price qty",
    "The book took an incoming order (price is None for a market order).")
Filled = _event(
    "Filled", "maker_order_id taker_order_id price qty maker_remaining taker_remaining taker_side",
    "A trade at the resting (maker) order's price; remainings are open lots after it.")
Rested = _event(
    "Rested", "order_id side price qty",
    "An order's open quantity now rests in the book.")
Canceled = _event(
    "Canceled", "order_id qty reason",
    "An order left the book on request; qty is what was still open.")
Expired = _event(
    "Expired", "order_id qty reason",
    "An order's open quantity lapsed (IOC/market remainder, FOK, self-trade prevention).")
Rejected = _event(
    "Rejected", "order_id reason",
    "A request changed nothing.")
Amended = _event(
    "Amended", "order_id side price qty priority_kept",
    "An order now stands at price with qty open; priority_kept tells if it kept its place.")

# ---- sequencer events ----------------------------------------------------------

OrderSpec = _event(
    "OrderSpec",
    "order_id account symbol client_order_id side type tif quote_qty stop_price display_qty "
    "stp expire_ts_ns created_ts_ns",
    "What an order is and never stops being, fixed when it is accepted; shared by all its "
    "OrderUpdated events.")
OrderUpdated = _event(
    "OrderUpdated",
    "seq ts_ns spec price qty working status exec_type executed_qty cum_quote reason",
    "An order's state after a change (like Binance's executionReport): exec_type is NEW, "
    "TRADE, CANCELED, AMENDED, EXPIRED or TRIGGERED (a stop order started working); "
    "cum_quote is in quote minor units; qty is None for a market buy by quote amount (a "
    "sell by quote amount shows the lots it set out to sell). "
    "The order's fixed fields (order_id, account, symbol, ...) read through from ``spec``.")
for _name in OrderSpec.__slots__:
    setattr(OrderUpdated, _name, property(lambda self, _n=_name: getattr(self.spec, _n)))
del _name
Traded = _event(
    "Traded",
    "seq ts_ns trade_id symbol price qty quote_qty maker_order_id taker_order_id "
    "maker_account taker_account taker_side maker_fee taker_fee",
    "A trade: price in ticks, qty in lots, quote_qty and fees in quote minor units.")
BalanceChanged = _event(
    "BalanceChanged",
    "seq account asset free_delta locked_delta free locked reason ref",
    "One ledger posting: deltas and the resulting balance, in the asset's minor units.")
WithdrawalUpdated = _event(
    "WithdrawalUpdated",
    "seq ts_ns withdrawal_id account asset amount status destination",
    "A withdrawal was requested (PENDING: its amount is held), APPROVED (paid out) or "
    "REJECTED (released). ``destination`` is the request's, carried unread (None on a "
    "resolution: the stored row keeps the request's).")
CommandRejected = _event(
    "CommandRejected",
    "seq ts_ns account symbol client_order_id order_id reason",
    "A command was refused; nothing else changed.")
DepthUpdated = _event(
    "DepthUpdated",
    "seq symbol update_id bids asks",
    "Commands up to ``seq`` changed a symbol's book (Sequencer.depth_changes): "
    "``update_id`` counts such changes per symbol (the depth stream's U/u and /depth's "
    "lastUpdateId); bids and asks are tuples of (price, visible qty) of each changed level, "
    "best first, qty 0 when the level emptied.")
InstrumentChanged = _event(
    "InstrumentChanged",
    "seq ts_ns symbol status",
    "An instrument was listed or its trading status changed.")
InstrumentDefined = _event(
    "InstrumentDefined",
    "seq ts_ns instrument",
    "An instrument's rules were changed (ChangeInstrument): ``instrument`` is the whole new "
    "definition, its ``status`` the symbol's status at the time.")
