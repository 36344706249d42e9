"""The venue's order record and the one table its status moves through."""

from __future__ import annotations

from .book import BookOrder
from typing import TYPE_CHECKING, Any

from .enums import OrderStatus, OrderType, TimeInForce

if TYPE_CHECKING:
    from .events import OrderSpec
    from .ledger import Balance
    from .market import Market

NEW = OrderStatus.NEW
PARTIALLY_FILLED = OrderStatus.PARTIALLY_FILLED
FILLED = OrderStatus.FILLED
CANCELED = OrderStatus.CANCELED
REJECTED = OrderStatus.REJECTED
EXPIRED = OrderStatus.EXPIRED
EXPIRED_IN_MATCH = OrderStatus.EXPIRED_IN_MATCH

# status -> statuses it may move to. Staying NEW / PARTIALLY_FILLED is an
# amendment or a stop being triggered. None is "not yet accepted".
TRANSITIONS = {
    None: frozenset({NEW, REJECTED}),
    NEW: frozenset({NEW, PARTIALLY_FILLED, FILLED, CANCELED, EXPIRED, EXPIRED_IN_MATCH}),
    PARTIALLY_FILLED: frozenset({PARTIALLY_FILLED, FILLED, CANCELED, EXPIRED, EXPIRED_IN_MATCH}),
    FILLED: frozenset(),
    CANCELED: frozenset(),
    REJECTED: frozenset(),
    EXPIRED: frozenset(),
    EXPIRED_IN_MATCH: frozenset(),
}
OPEN = frozenset({NEW, PARTIALLY_FILLED})


class IllegalTransition(RuntimeError):
    """An order status change the table does not allow: a bug, never user input."""


class Order(BookOrder):
    """One order as the venue sees it. Quantities in lots, prices in ticks,
    money in minor units. ``open`` is the lots still working or waiting;
    ``hold`` is what the order has locked in ``hold_balance``; ``spec`` is the
    immutable ``OrderSpec`` its events share.

    It is also the book's record of the order while it rests (``OrderBook.limit``'s
    ``record``): the book keeps ``price``, ``open`` and its own fields (``visible``,
    ``level``, ...) up to date in place, so the sequencer and the book never hold
    two copies of one order. ``market`` is the sequencer's state of its symbol.
    """

    __slots__ = (
        "account", "symbol", "client_order_id", "type", "tif", "qty", "quote_qty",
        "stop_price", "display_qty", "status", "executed_qty", "cum_quote",
        "hold", "hold_balance", "budget", "working", "stop_key", "spec",
        "source", "market",
    )
    account: int
    symbol: str
    client_order_id: str | None
    type: OrderType
    tif: TimeInForce
    qty: int | None            # lots; None for a market buy by quote amount
    quote_qty: int | None
    stop_price: Any            # ticks: an int for a stop order, else None
    display_qty: int | None
    status: OrderStatus
    executed_qty: int
    cum_quote: int
    hold: int
    hold_balance: "Balance"
    budget: int | None
    working: bool
    stop_key: Any              # (+-stop price, order id) while a stop waits, else None
    spec: "OrderSpec"
    source: str | None
    market: "Market"

    def move_to(self, status: OrderStatus) -> None:
        """Change status through TRANSITIONS; raise IllegalTransition otherwise."""
        if status not in TRANSITIONS[self.status]:
            raise IllegalTransition(f"order {self.order_id}: {self.status} -> {status}")
        self.status = status
