"""A price-time priority limit order book for one instrument.

Prices are integer ticks, quantities integer lots. The book knows nothing of
accounts, money or time: it matches, rests, cancels and amends, and returns the
events each call caused, in order. Fills happen at the resting order's price,
FIFO within a level.

Layout, chosen for speed in pure Python:

* each side keeps ``levels``: a dict price -> ``_Level``; a level keeps its
  orders in a dict (insertion order is time priority; removal is O(1));
* each side keeps a heap of level keys (``sign * price``: best is smallest on
  both sides), so a new level costs one C ``heappush`` and emptied levels are
  dropped lazily when they reach the top (or in a compaction once they
  outnumber live ones);
* each side keeps its best live price in ``best``, or ``empty`` (-inf for bids,
  +inf for asks) when it has none, so the crossing test is one comparison
  with no arithmetic (a product of two prices would allocate an int): an
  incoming buy at ``price`` crosses iff ``asks.best <= price``, a sell iff
  ``bids.best >= price``; the hot paths branch on ``side.bid`` for it;
* the hot paths (``move``, ``amend``, ``submit``) inline a few helpers, each
  at most once and tagged ``# inline copy of <helper>`` (tests/engine/
  test_inline_copies.py compares each copy with its helper), and build events
  by setting slots: a Python call costs as much as the rest of an amendment's
  bookkeeping.
"""

from enum import StrEnum
from collections.abc import Iterable, Iterator
from heapq import heapify, heappop, heappush
from itertools import islice
from sys import getsizeof as _sizeof
from typing import Any

from .enums import SIDE_OF, STP, STP_OF, Side, TimeInForce
from .events import Accepted, Amended, Canceled, Event, Expired, Filled, Reason, Rejected, Rested

INF = float("inf")
NO_LIMIT = 1e308  # a market buy's limit price: crosses any ask, but not an empty side (inf)
BUY, SELL = Side.BUY, Side.SELL
GTC, IOC, FOK = TimeInForce.GTC, TimeInForce.IOC, TimeInForce.FOK
STP_NONE, EXPIRE_TAKER, EXPIRE_MAKER = STP.NONE, STP.EXPIRE_TAKER, STP.EXPIRE_MAKER
_MARKET = object()  # the tif of a market order (not a value callers can pass)
_BOOK_TIFS = {GTC: GTC, IOC: IOC, FOK: FOK, _MARKET: _MARKET}
# Enum attribute access is slow (a descriptor call); hot paths use these globals.
R_USER, R_STP, R_IOC, R_FOK, R_MARKET, R_FUNDS = (
    Reason.USER, Reason.STP, Reason.IOC, Reason.FOK, Reason.MARKET, Reason.FUNDS)


def _invalid_hashable(side: Any, tif: Any, stp: Any) -> Reason:
    """The reason for the first of side, tif, stp that cannot be a key (else the order id)."""
    for value, reason in ((side, Reason.INVALID_SIDE), (tif, Reason.INVALID_TIF),
                          (stp, Reason.INVALID_STP)):
        try:
            hash(value)
        except TypeError:
            return reason
    return Reason.INVALID_ORDER_ID


def _crosses(opp: "_Side", price: int | None) -> bool:
    """Whether an incoming order with limit ``price`` (None: a market order) crosses side ``opp``."""
    crosses: bool   # (best is an int or an infinite float: typed Any)
    if opp.bid:
        crosses = opp.best >= (0 if price is None else price)
    else:
        crosses = opp.best <= (NO_LIMIT if price is None else price)
    return crosses


def _expired(order_id: Any, qty: int | None, reason: Reason) -> Expired:
    ev = Expired()  # not Expired.of: this is on the IOC path
    ev.order_id = order_id
    ev.qty = qty
    ev.reason = reason
    return ev


def _amended(order_id: Any, side: Side, price: int, qty: int, priority_kept: bool) -> Amended:
    ev = Amended()
    ev.order_id = order_id
    ev.side = side
    ev.price = price
    ev.qty = qty
    ev.priority_kept = priority_kept
    return ev


def _rejected(order_id: Any, reason: Reason) -> list[Event]:
    ev = Rejected()
    ev.order_id = order_id
    ev.reason = reason
    return [ev]


class MoveOutcome(StrEnum):
    """What ``OrderBook.move`` did with an order."""

    REQUEUED = "REQUEUED"   # moved to the back of a (new) level; no events
    KEPT = "KEPT"           # shrank or stayed in place, keeping its priority; no events
    CROSSED = "CROSSED"     # crossed and traded as an incoming order: amend's events
    REFUSED = "REFUSED"     # a post-only order would have crossed: [Rejected]; nothing changed


REQUEUED, KEPT, CROSSED, REFUSED = (MoveOutcome.REQUEUED, MoveOutcome.KEPT, MoveOutcome.CROSSED,
                                    MoveOutcome.REFUSED)


class Moved:
    """The result of ``OrderBook.move``: its ``outcome`` and the book's ``events`` of it
    (empty unless it crossed or was refused). Never changed once made."""

    __slots__ = ("outcome", "events")
    outcome: MoveOutcome
    events: "tuple[()] | list[Any]"

    def __init__(self, outcome: MoveOutcome, events: "tuple[()] | list[Any]" = ()):
        object.__setattr__(self, "outcome", outcome)   # (two of them are shared: frozen)
        object.__setattr__(self, "events", events)

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError("a Moved is never changed")

    def __eq__(self, other: object) -> bool:
        return (isinstance(other, Moved) and self.outcome is other.outcome
                and list(self.events) == list(other.events))

    def __hash__(self) -> int:
        return hash((self.outcome, tuple(self.events)))

    def __repr__(self) -> str:
        return f"Moved({self.outcome!s}, {list(self.events)!r})"


# The two results without events, shared: a move builds nothing when it does not cross.
MOVED_REQUEUED = Moved(REQUEUED)
MOVED_KEPT = Moved(KEPT)


class BookOrder:
    """A resting order. ``visible`` is the displayed part of ``open``.

    The book makes one for each order that rests, unless the caller gives its own
    record to ``limit`` (``record``: an instance of a subclass, as the sequencer's
    ``Order``), which the book then keeps and updates in place.
    """

    __slots__ = ("order_id", "side", "price", "open", "visible", "display",
                 "post_only", "owner", "stp", "level", "book_side")
    order_id: Any
    side: Side
    price: Any          # ticks (an int; None for the sequencer's stop and market orders)
    open: Any           # lots (None: a market buy by quote amount)
    visible: int
    display: Any        # lots shown at a time (None: all of open)
    post_only: bool
    owner: Any
    stp: STP
    level: "_Level"
    book_side: "_Side"


class _Level:
    __slots__ = ("price", "qty", "orders")
    orders: dict[Any, BookOrder]

    def __init__(self, price: int) -> None:
        self.price = price
        self.qty = 0          # sum of visible quantities
        self.orders: dict[Any, BookOrder] = {}  # order_id -> BookOrder, in time priority


class _Side:
    __slots__ = ("side", "bid", "sign", "levels", "heap", "best", "empty", "compact_at", "opp")
    opp: "_Side"
    best: Any     # the best live price (an int), or ``empty`` (a float: -inf or +inf)
    empty: float

    def __init__(self, side: Side, bid: bool) -> None:
        self.side = side
        self.opp = self           # the other side (OrderBook sets it)
        self.bid = bid            # True for bids: a higher price is better
        self.sign = -1 if bid else 1
        self.levels: dict[int, _Level] = {}  # price -> _Level (possibly empty, still in heap)
        self.heap: list[int] = []  # sign * price for every level in ``levels``
        self.empty = -INF if bid else INF  # ``best`` when no level is live: worse than any
        self.best = self.empty    # best non-empty price
        self.compact_at = 64

    def add_level(self, price: int) -> _Level:
        """Create the level at ``price``; amortised O(log n)."""
        if len(self.heap) >= self.compact_at:
            self.compact()  # first: it drops every empty level, as the new one would be
        lvl = self.levels[price] = _Level(price)
        heappush(self.heap, self.sign * price)
        return lvl

    def drop_top(self) -> None:
        """The best level emptied: pop empty levels until a live one is on top."""
        heap, levels, sign = self.heap, self.levels, self.sign
        while heap:
            price = sign * heap[0]
            if levels[price].orders:
                self.best = price
                return
            heappop(heap)
            del levels[price]
        self.best = self.empty

    def compact(self) -> None:
        """Forget empty levels; O(n)."""
        levels = self.levels
        for price in [p for p, lvl in levels.items() if not lvl.orders]:
            del levels[price]
        self.heap = [self.sign * p for p in levels]
        heapify(self.heap)
        self.compact_at = max(64, 2 * len(self.heap))

    def iter_levels(self) -> Iterator[_Level]:
        """Yield non-empty levels, best first; O(n) to start, O(log n) a level."""
        heap, levels, sign = self.heap[:], self.levels, self.sign
        while heap:
            lvl = levels[sign * heappop(heap)]
            if lvl.orders:
                yield lvl


class OrderBook:
    """One instrument's limit order book in ticks and lots.

    Every public call returns the list of events it caused. Bad input (unknown
    or duplicate ids, non-positive or non-integer quantities and prices, an
    unknown side, tif or stp) yields a single ``Rejected`` event and changes
    nothing.
    """

    def __init__(self) -> None:
        self._bids = _Side(BUY, True)
        self._asks = _Side(SELL, False)
        self._bids.opp, self._asks.opp = self._asks, self._bids
        self._orders: dict[Any, BookOrder] = {}  # order_id -> BookOrder, every resting order

    # ---- queries ---------------------------------------------------------

    def best_bid(self) -> tuple[int, int] | None:
        """Return ``(price, visible qty)`` of the best bid, or None; O(1)."""
        return self._best(self._bids)

    def best_ask(self) -> tuple[int, int] | None:
        """Return ``(price, visible qty)`` of the best ask, or None; O(1)."""
        return self._best(self._asks)

    @staticmethod
    def _best(side: _Side) -> tuple[int, int] | None:
        if side.best == side.empty:
            return None
        lvl = side.levels[side.best]
        return lvl.price, lvl.qty

    def depth(self, n: int = 10) -> tuple[list[tuple[int, int, int]], list[tuple[int, int, int]]]:
        """Return ``(bids, asks)``: up to n ``(price, qty, order_count)`` each, best first."""
        bids, asks = ([(lvl.price, lvl.qty, len(lvl.orders)) for lvl in islice(s.iter_levels(), n)]
                      for s in (self._bids, self._asks))
        return bids, asks

    def level_qtys(self, side: Any, prices: Iterable[int]) -> tuple[tuple[int, int], ...]:
        """Return ``((price, visible qty), ...)`` of ``prices`` on ``side``, best first."""
        if not prices:
            return ()
        bids = side == BUY
        levels = (self._bids if bids else self._asks).levels
        out = []
        for price in prices:
            lvl = levels.get(price)
            out.append((price, 0 if lvl is None else lvl.qty))
        if len(out) > 1:
            out.sort(reverse=bids)
        return tuple(out)

    def level_qty(self, side: Any, price: int) -> int:
        """Return the visible quantity resting at ``price`` on ``side`` (0 if none); O(1)."""
        lvl = (self._bids if side == BUY else self._asks).levels.get(price)
        return 0 if lvl is None else lvl.qty

    def order(self, order_id: Any) -> tuple[Side, int, int, int] | None:
        """Return ``(side, price, open qty, visible qty)`` of a resting order, or None."""
        o = self._orders.get(order_id)
        return None if o is None else (o.side, o.price, o.open, o.visible)

    def record(self, order_id: Any) -> BookOrder | None:
        """Return the book's record (``BookOrder``) of a resting order, or None; O(1)."""
        return self._orders.get(order_id)

    def orders(self) -> Iterator[tuple[Any, Side, int, int, int]]:
        """Yield ``(order_id, side, price, open, visible)`` of resting orders in priority order."""
        for s in (self._bids, self._asks):
            for lvl in s.iter_levels():
                for o in lvl.orders.values():
                    yield o.order_id, o.side, o.price, o.open, o.visible

    def __contains__(self, order_id: object) -> bool:
        return order_id in self._orders

    def resting(self, side: Side | str) -> Iterator[tuple[int, list[BookOrder]]]:
        """Yield ``(price, records)`` for each non-empty level of ``side``, best first, with
        its records (``BookOrder``) in time priority; for reading the state out
        (``exchange.engine.state``). O(levels log levels + orders)."""
        for lvl in (self._bids if SIDE_OF[side] is BUY else self._asks).iter_levels():
            yield lvl.price, list(lvl.orders.values())

    def restore(self, side: Side | str, price: int, records: Iterable[BookOrder]) -> None:
        """Rest ``records`` at the back of ``price`` on ``side``, without checks or events:
        the trusted path that rebuilds a book from a saved state (``exchange.engine.state``;
        the caller runs ``check()`` after). Each record's order_id, side (``side``), price
        (``price``), open, visible, display, post_only, owner and stp must be set, and it
        must not rest here yet. O(len(records)) plus a new level's O(log levels)."""
        book_side = self._bids if SIDE_OF[side] is BUY else self._asks
        lvl = book_side.levels.get(price)
        if lvl is None:
            lvl = book_side.add_level(price)
        orders, index = lvl.orders, self._orders
        qty = 0
        for o in records:
            o.level = lvl
            o.book_side = book_side
            orders[o.order_id] = index[o.order_id] = o
            qty += o.visible
        lvl.qty += qty
        if price > book_side.best if book_side.bid else price < book_side.best:
            book_side.best = price

    def __len__(self) -> int:
        return len(self._orders)

    # ---- commands --------------------------------------------------------

    def limit(self, order_id: Any, side: Any, price: Any, qty: Any, tif: Any = "GTC",
              post_only: bool = False, owner: Any = None, stp: Any = None,
              display_qty: Any = None, record: BookOrder | None = None) -> list[Event]:
        """Enter a limit order; a ``display_qty`` below ``qty`` makes it an iceberg.

        Events: Accepted, then Filled for each match, then Rested (GTC
        remainder) or Expired (IOC remainder, FOK not fillable, self-trade
        prevention); or a single Rejected. O(log n) plus O(1) per fill.
        ``record`` (a ``BookOrder``) is what the book keeps for the order if it
        rests; by default a new one.
        """
        if type(price) is not int or price <= 0:
            return _rejected(order_id, Reason.INVALID_PRICE)
        return self._enter(order_id, side, price, qty, None, tif, post_only, owner, stp,
                           display_qty, record)

    def market(self, order_id: Any, side: Any, qty: Any = None, owner: Any = None,
               stp: Any = None, funds: Any = None, price: Any = None) -> list[Event]:
        """Enter a market order for ``qty`` lots and/or at most ``funds`` (ticks x lots).

        ``price``, when given, is a protection limit no fill may pass. The
        unfilled remainder expires (reason FUNDS when the funds cap stopped it
        with liquidity left, else MARKET). Events: Accepted, Filled..., Expired.
        """
        if funds is not None and (type(funds) is not int or funds <= 0):
            return _rejected(order_id, Reason.INVALID_QUANTITY)
        if price is not None and (type(price) is not int or price <= 0):
            return _rejected(order_id, Reason.INVALID_PRICE)
        if qty is not None:
            events = self._enter(order_id, side, price, qty, funds, _MARKET, False, owner, stp,
                                 None)
        elif funds is None:
            return _rejected(order_id, Reason.INVALID_QUANTITY)
        else:
            # By funds alone: match with a quantity funds can never reach (a lot costs
            # at least one tick); its events report no quantity, since none was asked for.
            events = self._enter(order_id, side, price, funds + 1, funds, _MARKET, False, owner,
                                 stp, None, sized=False)
        return events

    def cancel(self, order_id: Any) -> list[Event]:
        """Remove a resting order. Events: Canceled, or Rejected. O(1) amortised."""
        try:
            o = self._orders.pop(order_id, None)
        except TypeError:  # unhashable: no such order
            o = None
        if o is None:
            return _rejected(order_id, Reason.UNKNOWN_ORDER)
        self._unlink(o)
        ev = Canceled()
        ev.order_id = order_id
        ev.qty = o.open
        ev.reason = R_USER
        return [ev]

    def amend(self, order_id: Any, qty: Any = None, price: Any = None) -> list[Event]:
        """Change a resting order's open quantity and/or price.

        A decrease at the same price keeps time priority; a price change or an
        increase moves it to the back of its (new) level, and a new price that
        crosses trades at once as the incoming side. A post-only order may not
        be amended into a cross. Events: Amended, then (if it crossed)
        Filled... and Rested or Expired; or Rejected. O(1) amortised when it
        does not cross.
        """
        try:
            o = self._orders[order_id]
        except (KeyError, TypeError):  # unknown, or unhashable: no such order
            return _rejected(order_id, Reason.UNKNOWN_ORDER)
        if qty is None:
            qty = o.open
        elif type(qty) is not int or qty <= 0:
            return _rejected(order_id, Reason.INVALID_QUANTITY)
        if price is None:
            price = o.price
        elif type(price) is not int or price <= 0:
            return _rejected(order_id, Reason.INVALID_PRICE)
        moved = self.move(o, qty, price)
        if moved.events:  # it crossed, or was refused: a list of this call's own
            return moved.events
        ev = Amended()  # inline copy of _amended (a move is the hot path)
        ev.order_id = order_id
        ev.side = o.side
        ev.price = price
        ev.qty = qty
        ev.priority_kept = moved is MOVED_KEPT
        return [ev]

    def move(self, o: BookOrder, qty: int, price: int) -> Moved:
        """Give resting order ``o`` (the book's own record) ``qty`` lots open at ``price``.

        The body of ``amend`` for a caller that has checked both (positive ints)
        and keeps the record. Returns a ``Moved``: ``REQUEUED`` (to the back of
        a level) or ``KEPT`` (shrank or stayed in place, keeping its priority),
        both shared results with no events, since no event is built unless it
        crossed; ``CROSSED`` with amend's events; or ``REFUSED`` with
        ``[Rejected]`` when a post-only order would have crossed.
        """
        old = o.price
        if price == old and qty <= o.open:
            self._reduce(o, o.open - qty)
            return MOVED_KEPT
        side = o.book_side
        # Best prices are compared per side (no sign arithmetic: a product allocates an int).
        if price >= side.opp.best if side.bid else price <= side.opp.best:  # crosses
            if o.post_only:
                return Moved(REFUSED, _rejected(o.order_id, Reason.POST_ONLY_WOULD_TAKE))
            return Moved(CROSSED, self._amend_crossing(
                o, price, qty, [_amended(o.order_id, o.side, price, qty, False)]))
        # Out of the old level: inline copy of _unlink (this is the hot path).
        order_id = o.order_id
        lvl = o.level
        orders = lvl.orders
        del orders[order_id]
        lvl.qty -= o.visible
        if not orders and old == side.best:
            side.drop_top()
        o.price = price
        o.open = qty
        display = o.display
        if display is not None and display < qty:
            qty = display
        o.visible = qty
        # Into the new one: inline copy of _rest (its linking). A subscript is cheaper than .get
        # and the level is there 98% of the time in exchange-core's mix (empty ones stay).
        try:
            lvl = side.levels[price]
        except KeyError:
            lvl = side.add_level(price)
        lvl.orders[order_id] = o
        lvl.qty += qty
        o.level = lvl
        if price > side.best if side.bid else price < side.best:
            side.best = price
        return MOVED_REQUEUED

    # ---- internals -------------------------------------------------------

    def _amend_crossing(self, o: BookOrder, price: int, qty: int,
                        events: list[Event]) -> list[Event]:
        self._unlink(o)
        del self._orders[o.order_id]
        o.price = price
        qty = self._match(o.order_id, o.side, o.book_side.opp, price, qty, None, o.owner,
                          o.stp, events)
        if qty < 0:  # self-trade prevention expired the taker
            events.append(_expired(o.order_id, -qty, R_STP))
        elif qty:
            self._rest(o, qty, events)
        return events

    def _rest(self, o: BookOrder, qty: int, events: list[Event]) -> None:
        """Put ``o`` with ``qty`` open at the back of its level and report it."""
        order_id = o.order_id
        price = o.price
        ev = Rested()
        ev.order_id = order_id
        ev.side = o.side
        ev.price = price
        ev.qty = qty
        events.append(ev)
        o.open = qty
        display = o.display
        if display is not None and display < qty:
            qty = display
        o.visible = qty
        self._orders[order_id] = o
        side = o.book_side
        lvl = side.levels.get(price)
        if lvl is None:
            lvl = side.add_level(price)
        lvl.orders[order_id] = o
        lvl.qty += qty
        o.level = lvl
        if price > side.best if side.bid else price < side.best:
            side.best = price

    def _enter(self, order_id: Any, side: Any, price: int | None, qty: Any, funds: int | None,
               tif: Any, post_only: bool, owner: Any, stp: Any, display: Any,
               record: BookOrder | None = None, sized: bool = True) -> list[Event]:
        try:  # an unhashable value is simply not a valid one
            side = SIDE_OF.get(side)
            tif = _BOOK_TIFS.get(tif)
            stp = STP_OF.get(stp)
            duplicate = order_id in self._orders
        except TypeError:
            return _rejected(order_id, _invalid_hashable(side, tif, stp))
        if side is None:
            return _rejected(order_id, Reason.INVALID_SIDE)
        if type(qty) is not int or qty <= 0:
            return _rejected(order_id, Reason.INVALID_QUANTITY)
        if tif is None:
            return _rejected(order_id, Reason.INVALID_TIF)
        if stp is None:
            return _rejected(order_id, Reason.INVALID_STP)
        if display is not None and (type(display) is not int or not 0 < display <= qty):
            return _rejected(order_id, Reason.INVALID_DISPLAY_QUANTITY)
        if duplicate:
            return _rejected(order_id, Reason.DUPLICATE_ORDER_ID)
        return self.submit(order_id, side, price, qty, tif, post_only, owner, stp, display, record,
                           funds, sized)

    def submit(self, order_id: Any, side: Side, price: int | None, qty: int, tif: Any,
               post_only: bool, owner: Any, stp: STP, display: int | None,
               record: BookOrder | None = None, funds: int | None = None,
               sized: bool = True) -> list[Event]:
        """Enter an order whose every argument the caller has checked.

        The body of ``limit`` for a caller that validated as ``limit`` does: ``side``
        a ``Side``, ``tif`` one of GTC, IOC, FOK, ``stp`` an ``STP``, ``price`` and
        ``qty`` positive ints, ``display`` None or within 1..qty, an ``order_id`` not
        resting here. Returns ``limit``'s events. (The book's own market orders come
        here too, with ``tif`` its private market sentinel; ``sized=False`` for one by
        ``funds`` alone, whose events then report no taker quantity.)
        """
        if side is BUY:  # inline copy of _crosses (both branches)
            book_side, opp = self._bids, self._asks
            crosses = opp.best <= (NO_LIMIT if price is None else price)
        else:
            book_side, opp = self._asks, self._bids
            crosses = opp.best >= (0 if price is None else price)
        if post_only and crosses:
            return _rejected(order_id, Reason.POST_ONLY_WOULD_TAKE)
        ev = Accepted()
        ev.order_id = order_id
        ev.side = side
        if tif is _MARKET:  # a market order has no price (a protection limit is not one)
            ev.price = None
            ev.qty = qty if sized else None
        else:
            ev.price = price
            ev.qty = qty
        events: list[Event] = [ev]
        if tif is FOK and (not crosses or self.fillable(side, qty, price, owner, stp) < qty):
            events.append(_expired(order_id, qty, R_FOK))
            return events
        if crosses:
            qty = self._match(order_id, side, opp, price, qty, funds, owner, stp, events, sized)
            if not qty:
                return events
            if qty < 0:
                events.append(_expired(order_id, -qty if sized else None, R_STP))
                return events
        if tif is not GTC:
            if tif is _MARKET:
                funds_out = funds is not None and _crosses(opp, price)
                reason = R_FUNDS if funds_out else R_MARKET
            else:
                reason = R_IOC
            events.append(_expired(order_id, qty if sized else None, reason))
            return events
        o = BookOrder() if record is None else record
        o.order_id = order_id
        o.side = side
        o.price = price
        o.display = display
        o.post_only = post_only
        o.owner = owner
        o.stp = stp
        o.book_side = book_side
        self._rest(o, qty, events)
        return events

    def _unlink(self, o: BookOrder) -> None:
        """Take a resting order out of its level (not out of ``_orders``)."""
        lvl = o.level
        orders = lvl.orders
        del orders[o.order_id]
        lvl.qty -= o.visible
        if not orders and o.price == o.book_side.best:
            o.book_side.drop_top()

    def _reduce(self, o: BookOrder, by: int) -> None:
        """Lower an order's open quantity in place, keeping its priority."""
        o.open -= by
        if o.visible > o.open:
            o.level.qty -= o.visible - o.open
            o.visible = o.open

    def _match(self, taker_id: Any, side: Side, opp: _Side, price: int | None, qty: int,
               funds: int | None, owner: Any, stp: STP, events: list[Event],
               sized: bool = True) -> int:
        """Match an incoming order against ``opp``; append events (fills without a
        taker_remaining unless ``sized``: a market order by funds alone has none).

        Returns the taker's remaining quantity, negated when self-trade
        prevention expired the taker (so 0 means done, < 0 means expired).
        ``funds`` (ticks x lots) caps the notional; when it runs out the
        remainder is returned as is.
        """
        append = events.append
        orders_index = self._orders
        levels = opp.levels
        check_stp = owner is not None and stp is not STP_NONE
        while qty and _crosses(opp, price):
            lvl = levels[opp.best]
            lprice = lvl.price
            lorders = lvl.orders
            if _sizeof(lorders) > 1024 + 128 * len(lorders):
                # Holes left by cancels and moves (a dict is rebuilt only when an insertion
                # finds its table full), which the loop below would step over on each visit.
                lorders = lvl.orders = dict(lorders)
            gone = []        # makers that leave the level (filled, expired, refreshed)
            taken = 0        # visible quantity taken from the level
            stop = False     # funds ran out, or self-trade prevention expired the taker
            for m in lorders.values():
                if check_stp and m.owner == owner:
                    if stp is not EXPIRE_TAKER:  # the maker expires (EXPIRE_MAKER/BOTH)
                        gone.append(m)
                        taken += m.visible
                        m.visible = 0
                        append(_expired(m.order_id, m.open, R_STP))
                        m.open = 0
                        if stp is EXPIRE_MAKER:
                            continue
                    stop = True
                    qty = -qty
                    break
                take = m.visible
                if take > qty:
                    take = qty
                if funds is not None:
                    if take * lprice > funds:
                        take = funds // lprice
                        if not take:
                            stop = True
                            break
                    funds -= take * lprice
                m.visible -= take
                m.open -= take
                taken += take
                qty -= take
                ev = Filled()
                ev.maker_order_id = m.order_id
                ev.taker_order_id = taker_id
                ev.price = lprice
                ev.qty = take
                ev.maker_remaining = m.open
                ev.taker_remaining = qty if sized else None
                ev.taker_side = side
                append(ev)
                if not m.visible:
                    gone.append(m)
                if not qty:
                    break
            lvl.qty -= taken
            if gone:
                for m in gone:
                    del lorders[m.order_id]
                    if m.open:  # iceberg: the next slice joins the back of the queue
                        m.visible = m.display if m.display < m.open else m.open
                        lorders[m.order_id] = m
                        lvl.qty += m.visible
                    else:
                        del orders_index[m.order_id]
                if not lorders:
                    opp.drop_top()
            if stop:
                break
        return qty

    def fillable(self, side: Any, qty: int, price: int | None = None, owner: Any = None,
                 stp: Any = None) -> int:
        """Return how much of ``qty`` an incoming order could fill now, changing nothing."""
        return self.sweep(side, qty, price, owner, stp)[0]

    def sweep(self, side: Any, qty: int, price: int | None = None, owner: Any = None,
              stp: Any = None, funds: int | None = None) -> tuple[int, int]:
        """Return ``(lots, ticks x lots)`` an incoming order would fill now, changing nothing.

        Follows the real matching exactly, self-trade prevention, iceberg
        refreshes and the ``funds`` cap included; O(orders inspected).
        """
        side = SIDE_OF[side]
        stp = STP_OF[stp]
        opp = self._asks if side is BUY else self._bids
        limit_key = NO_LIMIT if price is None else opp.sign * price
        check_stp = owner is not None and stp is not STP_NONE
        need = qty
        notional = 0
        for lvl in opp.iter_levels():
            if opp.sign * lvl.price > limit_key:
                break
            lprice = lvl.price
            queue = [(m, m.visible, m.open) for m in lvl.orders.values()]
            i = 0
            while i < len(queue):
                m, visible, left = queue[i]
                i += 1
                if check_stp and m.owner == owner:
                    if stp is EXPIRE_MAKER:
                        continue
                    return qty - need, notional
                take = min(visible, need)
                if funds is not None and take * lprice > funds - notional:
                    take = (funds - notional) // lprice
                    need -= take
                    return qty - need, notional + take * lprice
                need -= take
                notional += take * lprice
                if not need:
                    return qty, notional
                if left > take:  # an iceberg's next slice, at the back of the level
                    queue.append((m, min(m.display, left - take), left - take))
        return qty - need, notional

    # ---- invariants ------------------------------------------------------

    def check(self) -> None:
        """Assert every structural invariant; O(n). For tests, and after a restore."""
        index = self._orders
        count = 0
        for s in (self._bids, self._asks):
            assert sorted(s.heap) == sorted(s.sign * p for p in s.levels), "heap != levels"
            assert s.sign == (-1 if s.bid else 1) and s.empty == s.sign * INF
            live = [p for p, lvl in s.levels.items() if lvl.orders]
            assert s.best == ((max if s.bid else min)(live) if live else s.empty), "stale best"
            side = s.side
            for price, lvl in s.levels.items():
                assert lvl.price == price
                visible = 0
                for oid, o in lvl.orders.items():
                    v = o.visible
                    assert oid == o.order_id and o.level is lvl and o.side is side
                    assert o.price == price and 0 < v <= o.open
                    assert index.get(oid) is o, "order not indexed"
                    visible += v
                assert lvl.qty == visible, "level qty"
                count += len(lvl.orders)
        # Each record above is indexed under its own id and sits in one level only (its
        # ``level``): as many of them as the index holds means it holds no other.
        assert count == len(index), "index has orders outside the levels"
        assert self._bids.best < self._asks.best, "crossed book"  # the sentinels included
