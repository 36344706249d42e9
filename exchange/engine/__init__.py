"""The pure core of the venue: order book, instruments, ledger, sequencer.

Nothing here does IO, reads a clock or config, or imports asyncio.
"""

from .book import OrderBook
from .enums import STP, InstrumentStatus, OrderStatus, OrderType, Side, TimeInForce
from .events import (Accepted, Amended, Canceled, Expired, Filled, Reason, Rejected, Rested)

__all__ = [
    "OrderBook", "Side", "TimeInForce", "STP", "OrderType", "OrderStatus", "InstrumentStatus",
    "Accepted", "Amended", "Canceled", "Expired", "Filled", "Reason", "Rejected", "Rested",
]
