"""Market data derived from committed events: depth, candles and tickers.

``MarketData`` is fed the batcher's committed ``(seq, events)`` batches and
keeps each symbol's committed depth; the REST API and the WebSocket feed
read it, so both show exactly what is durable. ``candles`` (the intervals,
the bucket of a trade, ``Candle`` and its kline rendering) and ``tickers``
(the 24 h window, ``WindowStats`` and the ticker built from them) are the one
definition of a candle and of a 24 h ticker that REST (``api/market.py``)
and the streams (``feed/public.py``) both use; their history comes from the
stored trades through ``exchange.store.queries``.
"""

from ..engine import DepthUpdated
from .candles import INTERVALS, Candle, Interval
from .depth import Depth
from .tickers import WindowStats, ticker, vwap, window_start_ns

__all__ = ["INTERVALS", "Candle", "Depth", "Interval", "MarketData", "WindowStats", "ticker",
           "vwap", "window_start_ns"]


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
