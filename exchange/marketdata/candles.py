"""Candles: the intervals, which bucket a trade falls in, and a candle's values.

One definition serves both edges: REST ``/api/v3/klines`` and the
``<symbol>@kline_<interval>`` streams read candles as ``Candle`` values (the
rows of ``exchange.store.queries.candles``, aggregated at query time with
this module's bucket rule) and render them with ``Candle.kline``.

A candle covers the trades whose time falls in its bucket: open and close are
the first and last trade's price (by trade id), high and low the extremes,
volume and quote volume the sums, ``taker_volume``/``taker_quote`` the sums
over trades whose taker bought; an interval without trades has no candle.
Buckets are fixed widths from the epoch, except weeks (from Monday 00:00 UTC)
and months (calendar months in UTC).
"""

from dataclasses import dataclass, replace
from datetime import datetime, timezone

NS_PER_S = 1_000_000_000
NS_PER_MS = 1_000_000
_MIN = 60 * NS_PER_S
_DAY = 1440 * _MIN
_MONDAY = 4 * _DAY   # 1970-01-01 was a Thursday


@dataclass(frozen=True, slots=True)
class Interval:
    """A candle width: ``step_ns`` from ``offset_ns``, or calendar months (step None)."""

    name: str
    step_ns: int | None
    offset_ns: int = 0

    def open_ns(self, ts_ns: int) -> int:
        """The start of the bucket holding ``ts_ns`` (for ``ts_ns`` after 1970-01-05)."""
        if self.step_ns is None:
            dt = datetime.fromtimestamp(ts_ns // NS_PER_S, timezone.utc)
            return int(datetime(dt.year, dt.month, 1, tzinfo=timezone.utc).timestamp()) * NS_PER_S
        return (ts_ns - self.offset_ns) // self.step_ns * self.step_ns + self.offset_ns

    def close_ns(self, open_ns: int) -> int:
        """The last ns of the bucket that opens at ``open_ns``."""
        if self.step_ns is None:
            dt = datetime.fromtimestamp(open_ns // NS_PER_S, timezone.utc)
            year, month = (dt.year + 1, 1) if dt.month == 12 else (dt.year, dt.month + 1)
            return int(datetime(year, month, 1, tzinfo=timezone.utc).timestamp()) * NS_PER_S - 1
        return open_ns + self.step_ns - 1


INTERVALS = {iv.name: iv for iv in (
    Interval("1m", _MIN), Interval("3m", 3 * _MIN), Interval("5m", 5 * _MIN),
    Interval("15m", 15 * _MIN), Interval("30m", 30 * _MIN), Interval("1h", 60 * _MIN),
    Interval("2h", 120 * _MIN), Interval("4h", 240 * _MIN), Interval("6h", 360 * _MIN),
    Interval("8h", 480 * _MIN), Interval("12h", 720 * _MIN), Interval("1d", _DAY),
    Interval("3d", 3 * _DAY), Interval("1w", 7 * _DAY, _MONDAY), Interval("1M", None))}


@dataclass(slots=True)
class Candle:
    """One bucket's trade statistics, in ticks, lots and quote minor units."""

    open_ms: int
    close_ms: int
    open: int
    high: int
    low: int
    close: int
    volume: int
    quote_volume: int
    count: int
    taker_volume: int
    taker_quote: int
    first_id: int
    last_id: int

    @classmethod
    def of_row(cls, row) -> "Candle":
        """From a row of ``store.queries.candles.candles`` (numeric sums become ints)."""
        return cls(row["open_ms"], row["close_ms"], row["open"], row["high"], row["low"],
                   row["close"], int(row["volume"]), int(row["quote_volume"]), row["count"],
                   int(row["taker_volume"]), int(row["taker_quote"]), row["first_id"],
                   row["last_id"])

    @classmethod
    def of_trade(cls, interval: Interval, trade) -> "Candle":
        """The candle of ``interval`` holding just ``trade`` (a ``Traded`` event, or
        anything with its trade_id, ts_ns, price, qty, quote_qty and taker_side)."""
        open_ns = interval.open_ns(trade.ts_ns)
        bought = trade.taker_side == "buy"
        return cls(open_ns // NS_PER_MS, interval.close_ns(open_ns) // NS_PER_MS, trade.price,
                   trade.price, trade.price, trade.price, trade.qty, trade.quote_qty, 1,
                   trade.qty if bought else 0, trade.quote_qty if bought else 0,
                   trade.trade_id, trade.trade_id)

    def add(self, trade) -> None:
        """Fold in a later trade (a higher trade id) of the same bucket."""
        price = trade.price
        if price > self.high:
            self.high = price
        elif price < self.low:
            self.low = price
        self.close = price
        self.volume += trade.qty
        self.quote_volume += trade.quote_qty
        self.count += 1
        if trade.taker_side == "buy":
            self.taker_volume += trade.qty
            self.taker_quote += trade.quote_qty
        self.last_id = trade.trade_id

    def closed(self, now_ms: int) -> bool:
        """Whether the candle's interval has ended by ``now_ms``."""
        return self.close_ms < now_ms

    def kline(self, inst) -> list:
        """The candle as a Binance kline array: open time, OHLC, volume, close time, quote
        volume, trade count, taker-buy volume and quote volume, "0" (REST ``/klines``; the
        kline stream renames these fields)."""
        p, q, m = inst.price_str, inst.qty_str, inst.quote_str
        return [self.open_ms, p(self.open), p(self.high), p(self.low), p(self.close),
                q(self.volume), self.close_ms, m(self.quote_volume), self.count,
                q(self.taker_volume), m(self.taker_quote), "0"]


def roll(candle: Candle, interval: Interval, trades) -> list[Candle] | None:
    """Carry ``candle`` forward over ``trades`` (in trade id order; those up to its
    ``last_id`` are already in it): a copy of it with the trades of its bucket folded
    in, then a candle per later bucket that has trades. None when a trade falls in an
    earlier bucket (the clock went back across a restart): only the stored trades can
    say what that bucket holds."""
    current = replace(candle)
    out = [current]
    last_id = candle.last_id
    lo, hi = current.open_ms * NS_PER_MS, (current.close_ms + 1) * NS_PER_MS
    for t in trades:
        if t.trade_id <= last_id:
            continue
        ts = t.ts_ns
        if lo <= ts < hi:         # the current bucket (without computing it: months are dear)
            current.add(t)
        elif ts >= hi:
            current = Candle.of_trade(interval, t)
            out.append(current)
            lo, hi = current.open_ms * NS_PER_MS, (current.close_ms + 1) * NS_PER_MS
        else:
            return None
    return out
