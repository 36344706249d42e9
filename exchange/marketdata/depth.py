"""A symbol's committed book by level: what /depth, the depth streams and
bookTicker show.

It changes only by ``DepthUpdated`` events after their batch committed, never
by reading the live book (which may be ahead of the commit), so a snapshot
with ``lastUpdateId`` N holds exactly the changes with update ids up to N.
"""

from itertools import islice
from operator import neg

from sortedcontainers import SortedDict


class Depth:
    """Visible quantity per price on each side, as of ``update_id``."""

    __slots__ = ("update_id", "bids", "asks")

    def __init__(self, update_id: int = 0):
        self.update_id = update_id
        self.bids = SortedDict(neg)   # price -> qty, best (highest) first
        self.asks = SortedDict()      # price -> qty, best (lowest) first

    @classmethod
    def of_view(cls, market) -> "Depth":
        """The depth of a live market (a ``MarketView``) whose state is committed (at
        start-up)."""
        depth = cls(market.update_id)
        bids, asks = market.depth(market.order_count() or 1)
        depth.bids.update((p, q) for p, q, _ in bids)
        depth.asks.update((p, q) for p, q, _ in asks)
        return depth

    def apply(self, ev) -> None:
        """Apply one DepthUpdated (its update id must be the next one)."""
        for levels, changes in ((self.bids, ev.bids), (self.asks, ev.asks)):
            for price, qty in changes:
                if qty:
                    levels[price] = qty
                else:
                    levels.pop(price, None)
        self.update_id = ev.update_id

    def top(self, n: int) -> tuple[list, list]:
        """Up to ``n`` ``(price, qty)`` levels per side, best first."""
        return list(islice(self.bids.items(), n)), list(islice(self.asks.items(), n))

    def best(self) -> tuple:
        """``(best bid, best ask)``, each ``(price, qty)`` or None."""
        return (self.bids.peekitem(0) if self.bids else None,
                self.asks.peekitem(0) if self.asks else None)
