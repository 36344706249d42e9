"""One symbol's state in the sequencer, and the read-only view the shell gets of it.

``Market`` is the sequencer's own, changed only inside ``apply``. Code outside
the engine reads a symbol through ``MarketView`` (``Sequencer.market_views``):
its instrument, status, best prices, depth and last and reference prices, and
nothing it could change.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from sortedcontainers import SortedList

from .book import OrderBook, _Level
from .enums import InstrumentStatus
from .instrument import Instrument


class Market:
    """One symbol's state: rules, book, stops, last trade price."""

    __slots__ = ("inst", "book", "status", "last_price", "rising", "falling", "qptl", "bpl",
                 "update_id", "touched_bids", "touched_asks", "reopen_ns")

    def __init__(self, inst: Instrument):
        self.inst = inst
        self.book = OrderBook()
        self.status = inst.status
        self.last_price: int | None = None
        self.rising: Any = SortedList()   # (stop_price, order_id): trigger when last >= stop
        self.falling: Any = SortedList()  # (-stop_price, order_id): trigger when last <= stop
        self.qptl = inst.quote_per_tick_lot
        self.bpl = inst.base_per_lot
        self.update_id = 0            # depth changes of the book (DepthUpdated)
        # the book's levels changed since depth_changes (level objects: they hash by
        # identity, prices don't)
        self.touched_bids: set[_Level] = set()
        self.touched_asks: set[_Level] = set()
        self.reopen_ns: int | None = None  # when a volatility halt ends (None: not in one)

    @property
    def reference_price(self) -> int | None:
        """The last trade price, or the instrument's reference price before the first trade."""
        return self.last_price if self.last_price is not None else self.inst.reference_price


class MarketView:
    """A read-only view of one listed symbol's live state (as of the sequencer's ``seq``)."""

    __slots__ = ("_market",)

    def __init__(self, market: Market):
        self._market = market

    @property
    def symbol(self) -> str:
        return self._market.inst.symbol

    @property
    def inst(self) -> Instrument:
        """The symbol's rules (an immutable ``Instrument``; its ``status`` is as listed)."""
        return self._market.inst

    @property
    def status(self) -> InstrumentStatus:
        """The trading status now (the instrument's own may be older)."""
        return self._market.status

    @property
    def last_price(self) -> int | None:
        """The last trade's price in ticks, or None before the first trade."""
        return self._market.last_price

    @property
    def reference_price(self) -> int | None:
        """The price the band is centred on: the last trade's, else the instrument's."""
        return self._market.reference_price

    @property
    def update_id(self) -> int:
        """The id of the book's last depth change cut by ``Sequencer.depth_changes``."""
        return self._market.update_id

    def best_bid(self) -> tuple[int, int] | None:
        """``(price, visible qty)`` of the best bid, or None; O(1)."""
        return self._market.book.best_bid()

    def best_ask(self) -> tuple[int, int] | None:
        """``(price, visible qty)`` of the best ask, or None; O(1)."""
        return self._market.book.best_ask()

    def depth(self, n: int = 10) -> tuple[list[tuple[int, int, int]], list[tuple[int, int, int]]]:
        """``(bids, asks)``: up to ``n`` ``(price, qty, order_count)`` each, best first."""
        return self._market.book.depth(n)

    def order_count(self) -> int:
        """How many orders rest in the book."""
        return len(self._market.book)

    def __repr__(self) -> str:
        return f"MarketView({self.symbol}, {self.status})"


class MarketViews(Mapping[str, MarketView]):
    """symbol -> ``MarketView`` of every listed symbol, in listing order; live and read-only."""

    __slots__ = ("_markets",)

    def __init__(self, markets: dict[str, Market]):
        self._markets = markets

    def __getitem__(self, symbol: str) -> MarketView:
        return MarketView(self._markets[symbol])

    def __contains__(self, symbol: object) -> bool:
        return symbol in self._markets

    def __iter__(self) -> Iterator[str]:
        return iter(self._markets)

    def __len__(self) -> int:
        return len(self._markets)
