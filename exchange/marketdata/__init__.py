"""Market data derived from committed events: depth by level (``Depth``).

``MarketData`` is fed the batcher's committed ``(seq, events)`` batches and
keeps each symbol's committed depth; the REST API and the WebSocket feed
read it, so both show exactly what is durable.
"""

from ..engine import DepthUpdated
from .depth import Depth

__all__ = ["Depth", "MarketData"]


class MarketData:
    """Each symbol's committed depth, kept by ``apply``."""

    def __init__(self, sequencer):
        """Start from a sequencer whose whole state is committed (just recovered)."""
        self.depth = {sym: Depth.of_book(m.update_id, m.book)
                      for sym, m in sequencer.markets.items()}

    def apply(self, ev) -> Depth:
        """Apply a committed DepthUpdated; return the symbol's depth after it."""
        depth = self.depth.get(ev.symbol)
        if depth is None:  # listed after start-up
            depth = self.depth[ev.symbol] = Depth()
        depth.apply(ev)
        return depth

    def of(self, symbol: str) -> Depth:
        """The committed depth of a listed symbol (empty until its first order)."""
        depth = self.depth.get(symbol)
        if depth is None:
            depth = self.depth[symbol] = Depth()
        return depth

    def on_commit(self, batch) -> None:
        """Batcher listener: apply every DepthUpdated of ``[(seq, events), ...]``."""
        for _, events in batch:
            for ev in events:
                if type(ev) is DepthUpdated:
                    self.apply(ev)
