"""Views derived from committed events: depth by level (``Depth``), every account's
balances (``Balances``), and candles and tickers.

``MarketData`` is fed the batcher's committed ``(seq, events)`` batches and
keeps each symbol's committed depth and each account's committed balances;
the REST API and the WebSocket feed read them, so both show exactly what is
durable. ``candles`` (the intervals, the bucket of a trade, ``Candle``, its
kline rendering and ``roll``) and ``tickers`` (the 24 h window, ``WindowStats``
and the ticker built from them) are the one definition of a candle and of a
24 h ticker that REST (``api/market.py``) and the streams (``feed/public.py``)
both use; their history comes from the stored trades through
``exchange.store.queries``.
"""

from ..engine import BalanceChanged, DepthUpdated
from .balances import Balances
from .candles import INTERVALS, Candle, Interval
from .depth import Depth
from .tickers import WindowStats, ticker, vwap, window_start_ns

__all__ = ["INTERVALS", "Balances", "Candle", "Depth", "Interval", "MarketData", "WindowStats",
           "ticker", "vwap", "window_start_ns"]


class MarketData:
    """Each symbol's committed depth and each account's committed balances."""

    def __init__(self, sequencer):
        """Start from a sequencer whose whole state is committed (just recovered)."""
        self.depth = {sym: Depth.of_view(m) for sym, m in sequencer.market_views.items()}
        self.balances = Balances.of_ledger(sequencer.ledger)

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
        """Batcher listener: apply every DepthUpdated and BalanceChanged of
        ``[(seq, events), ...]``."""
        balances = self.balances
        for _, events in batch:
            for ev in events:
                t = type(ev)
                if t is BalanceChanged:
                    balances.apply(ev)
                elif t is DepthUpdated:
                    self.apply(ev)
