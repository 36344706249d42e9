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
