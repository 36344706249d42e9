"""24-hour rolling ticker statistics, and the volume-weighted average price.

One definition serves both edges: REST ``/api/v3/ticker/24hr`` and the
``<symbol>@ticker``, ``@miniTicker``, ``!ticker@arr`` and ``!miniTicker@arr``
streams build their tickers with ``ticker``; ``/api/v3/avgPrice`` uses
``vwap``. The window is the 24 hours up to now (``window_start_ns``); its
statistics (``WindowStats``) come from the stored trades
(``exchange.store.queries.trades.stats_since``).

Without a trade in the window, a REST ticker shows the last price as open,
high, low and last, zero volumes, ids -1; the streams leave such a symbol out.
"""

from dataclasses import dataclass
from decimal import ROUND_HALF_EVEN, Decimal

DAY_MS = 86_400_000
NS_PER_MS = 1_000_000


def window_start_ns(now_ms: int) -> int:
    """The first ns of the 24 h window that ends at ``now_ms``."""
    return (now_ms - DAY_MS) * NS_PER_MS


@dataclass(frozen=True, slots=True)
class WindowStats:
    """A symbol's trades in the window: ticks, lots and quote minor units."""

    count: int
    first_id: int
    last_id: int
    open: int
    high: int
    low: int
    last: int
    last_qty: int
    volume: int
    quote_volume: int

    @classmethod
    def of_row(cls, row) -> "WindowStats":
        """From a row of ``stats_since`` (numeric sums become ints)."""
        return cls(row["count"], row["first_id"], row["last_id"], row["open"], row["high"],
                   row["low"], row["last"], row["last_qty"], int(row["volume"]),
                   int(row["quote_volume"]))

    @classmethod
    def empty(cls, last_price: int) -> "WindowStats":
        """No trade in the window: the last price everywhere, nothing traded, ids -1."""
        return cls(0, -1, -1, last_price, last_price, last_price, last_price, 0, 0, 0)


def ratio(num: int, den: int, places: int) -> str:
    """``num / den`` as a decimal string with ``places`` places, half to even (a
    statistic, not money); 0 when ``den`` is 0."""
    if not den:
        return f"{Decimal(0):.{places}f}"
    value = (Decimal(num) / Decimal(den)).quantize(Decimal(1).scaleb(-places), ROUND_HALF_EVEN)
    return f"{value:.{places}f}"


def vwap(inst, quote_minor: int, lots: int) -> str:
    """Volume-weighted average price, in quote units per base unit, 8 places, half to
    even; "0.00000000" with no volume."""
    if not lots:
        return "0.00000000"
    price = (Decimal(quote_minor).scaleb(-inst.quote_decimals)
             / (Decimal(lots) * inst.step_size))
    return f"{price.quantize(Decimal('1e-8'), ROUND_HALF_EVEN):.8f}"


def ticker(inst, stats: WindowStats, now_ms: int, full: bool, best: tuple) -> dict:
    """A 24 h ticker with Binance's REST field names (the streams rename them), from the
    window's ``stats`` and ``best`` = (bid, ask) of the committed depth, each
    ``(price, qty)`` or None; ``full`` False gives the MINI fields only."""
    p, q = inst.price_str, inst.qty_str
    s = stats
    bid, ask = best
    out = {"symbol": inst.symbol}
    if full:
        change = s.last - s.open
        out["priceChange"] = ("-" if change < 0 else "") + p(abs(change))
        out["priceChangePercent"] = ratio(change * 100, s.open, 3)
        out["weightedAvgPrice"] = vwap(inst, s.quote_volume, s.volume)
        out["prevClosePrice"] = p(s.open)
    out["lastPrice"] = p(s.last)
    if full:
        out["lastQty"] = q(s.last_qty)
        out["bidPrice"], out["bidQty"] = (p(bid[0]), q(bid[1])) if bid else (p(0), q(0))
        out["askPrice"], out["askQty"] = (p(ask[0]), q(ask[1])) if ask else (p(0), q(0))
    out["openPrice"], out["highPrice"], out["lowPrice"] = p(s.open), p(s.high), p(s.low)
    out["volume"], out["quoteVolume"] = q(s.volume), inst.quote_str(s.quote_volume)
    out["openTime"], out["closeTime"] = now_ms - DAY_MS, now_ms
    out["firstId"], out["lastId"], out["count"] = s.first_id, s.last_id, s.count
    return out
