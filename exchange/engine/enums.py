"""Vocabulary of the core: sides, time in force, self-trade prevention, statuses,
order-update kinds.

All are ``StrEnum`` so that the plain strings (``"buy"``, ``"GTC"``) and the
members compare and hash equal; the ``*_OF`` maps turn either into the member
with one dict lookup, which is much cheaper than calling the enum.
"""

from enum import StrEnum


class Side(StrEnum):
    BUY = "buy"
    SELL = "sell"


class TimeInForce(StrEnum):
    GTC = "GTC"  # good till canceled
    IOC = "IOC"  # immediate or cancel: the remainder expires
    FOK = "FOK"  # fill or kill: all at once or nothing
    DAY = "DAY"  # good for the trading day (venue only)
    GTD = "GTD"  # good till a given time (venue only)


class STP(StrEnum):
    """Self-trade prevention mode, taken from the incoming (taker) order."""

    NONE = "NONE"
    EXPIRE_TAKER = "EXPIRE_TAKER"
    EXPIRE_MAKER = "EXPIRE_MAKER"
    EXPIRE_BOTH = "EXPIRE_BOTH"


class OrderType(StrEnum):
    LIMIT = "LIMIT"
    MARKET = "MARKET"
    LIMIT_MAKER = "LIMIT_MAKER"
    STOP_LOSS = "STOP_LOSS"
    STOP_LOSS_LIMIT = "STOP_LOSS_LIMIT"
    TAKE_PROFIT = "TAKE_PROFIT"
    TAKE_PROFIT_LIMIT = "TAKE_PROFIT_LIMIT"


class OrderStatus(StrEnum):
    NEW = "NEW"
    PARTIALLY_FILLED = "PARTIALLY_FILLED"
    FILLED = "FILLED"
    CANCELED = "CANCELED"
    REJECTED = "REJECTED"
    EXPIRED = "EXPIRED"
    EXPIRED_IN_MATCH = "EXPIRED_IN_MATCH"  # expired by self-trade prevention


class ExecType(StrEnum):
    """What happened to an order, in its ``OrderUpdated`` (the feeds name it Binance's way)."""

    NEW = "NEW"              # accepted (a stop waits for its trigger)
    TRADE = "TRADE"          # it filled, in part or in full
    CANCELED = "CANCELED"    # canceled (by its owner, a kill switch, the venue)
    EXPIRED = "EXPIRED"      # its time, a market or IOC remainder, self-trade prevention
    AMENDED = "AMENDED"      # its price or quantity changed (Binance: REPLACED)
    TRIGGERED = "TRIGGERED"  # a stop order started working (Binance: NEW)


class InstrumentStatus(StrEnum):
    TRADING = "TRADING"
    HALT = "HALT"
    CANCEL_ONLY = "CANCEL_ONLY"
    DELISTED = "DELISTED"   # final: every order was canceled; nothing trades again


SIDE_OF = {m.value: m for m in Side} | {"BUY": Side.BUY, "SELL": Side.SELL}
TIF_OF = {m.value: m for m in TimeInForce}
STATUS_OF = {m.value: m for m in InstrumentStatus}
STP_OF = {m.value: m for m in STP} | {None: STP.NONE}


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
