"""Candle intervals, bucketing and folding (exchange.marketdata.candles), pure."""

from collections import namedtuple
from datetime import datetime, timezone
from decimal import Decimal

import pytest

from exchange.engine import Instrument
from exchange.marketdata.candles import INTERVALS, Candle, roll

Trade = namedtuple("Trade", "trade_id ts_ns price qty quote_qty taker_side")
S = 10**9
MS = 10**6


def ns(text: str) -> int:
    """An ISO time (UTC) in ns."""
    dt = datetime.fromisoformat(text).replace(tzinfo=timezone.utc)
    return int(dt.timestamp()) * S + dt.microsecond * 1000


AT = ns("2024-05-01T12:34:56.789")   # a Wednesday


@pytest.mark.parametrize("name, opens", [
    ("1m", "2024-05-01T12:34:00"), ("3m", "2024-05-01T12:33:00"),
    ("5m", "2024-05-01T12:30:00"), ("15m", "2024-05-01T12:30:00"),
    ("30m", "2024-05-01T12:30:00"), ("1h", "2024-05-01T12:00:00"),
    ("2h", "2024-05-01T12:00:00"), ("4h", "2024-05-01T12:00:00"),
    ("6h", "2024-05-01T12:00:00"), ("8h", "2024-05-01T08:00:00"),
    ("12h", "2024-05-01T12:00:00"), ("1d", "2024-05-01T00:00:00"),
    ("3d", "2024-04-29T00:00:00"),   # day 19842 = 3 * 6614 since 1970-01-01
    ("1w", "2024-04-29T00:00:00"),   # Monday
    ("1M", "2024-05-01T00:00:00"),
])
def test_a_trade_falls_in_the_bucket_that_opens_at(name, opens):
    iv = INTERVALS[name]
    assert iv.open_ns(AT) == ns(opens)
    assert iv.open_ns(ns(opens)) == ns(opens)   # a bucket's first ns is in it
    assert iv.open_ns(ns(opens) - 1) < ns(opens)


def test_a_bucket_ends_one_ns_before_the_next_opens():
    for iv in INTERVALS.values():
        open_ns = iv.open_ns(AT)
        close_ns = iv.close_ns(open_ns)
        assert iv.open_ns(close_ns) == open_ns
        assert iv.open_ns(close_ns + 1) == close_ns + 1
    assert INTERVALS["1m"].close_ns(ns("2024-05-01T12:34:00")) == ns("2024-05-01T12:35:00") - 1


def test_months_are_calendar_months_across_february_and_the_year_end():
    month = INTERVALS["1M"]
    assert month.close_ns(ns("2024-02-01T00:00:00")) == ns("2024-03-01T00:00:00") - 1  # leap
    assert month.close_ns(ns("2023-02-01T00:00:00")) == ns("2023-03-01T00:00:00") - 1
    assert month.close_ns(ns("2024-12-01T00:00:00")) == ns("2025-01-01T00:00:00") - 1
    assert month.open_ns(ns("2024-12-31T23:59:59.999999")) == ns("2024-12-01T00:00:00")
    assert month.open_ns(ns("2025-01-01T00:00:00")) == ns("2025-01-01T00:00:00")


def test_weeks_start_on_monday():
    week = INTERVALS["1w"]
    assert week.open_ns(ns("2024-05-05T23:59:59")) == ns("2024-04-29T00:00:00")   # Sunday
    assert week.open_ns(ns("2024-05-06T00:00:00")) == ns("2024-05-06T00:00:00")   # Monday


def test_a_candle_folds_trades_in_trade_order():
    iv = INTERVALS["1m"]
    t0 = ns("2024-05-01T12:34:00")
    c = Candle.of_trade(iv, Trade(7, t0 + 5 * S, 100_00, 2, 200_00, "buy"))
    for t in (Trade(8, t0 + 6 * S, 101_50, 3, 304_50, "sell"),
              Trade(9, t0 + 7 * S, 99_25, 1, 99_25, "buy"),
              Trade(10, t0 + 8 * S, 100_00, 1, 100_00, "sell")):
        c.add(t)
    assert c == Candle(open_ms=t0 // MS, close_ms=(t0 + 60 * S - 1) // MS, open=100_00,
                       high=101_50, low=99_25, close=100_00, volume=7, quote_volume=703_75,
                       count=4, taker_volume=3, taker_quote=299_25, first_id=7, last_id=10)
    assert not c.closed(c.close_ms) and c.closed(c.close_ms + 1)


def test_a_candle_renders_as_a_binance_kline():
    inst = Instrument("AAPL", "AAPL", "USD", Decimal("0.01"), Decimal("1"), base_decimals=0,
                      quote_decimals=2)
    c = Candle(open_ms=60_000, close_ms=119_999, open=100_00, high=101_50, low=99_25,
               close=99_25, volume=6, quote_volume=603_75, count=3, taker_volume=6,
               taker_quote=603_75, first_id=1, last_id=3)
    assert c.kline(inst) == [60_000, "100.00", "101.50", "99.25", "99.25", "6", 119_999,
                             "603.75", 3, "6", "603.75", "0"]


def test_roll_carries_a_candle_over_later_trades_and_into_new_buckets():
    iv = INTERVALS["1m"]
    t0 = ns("2024-05-01T12:34:00")
    shown = Candle.of_trade(iv, Trade(5, t0 + S, 100_00, 1, 100_00, "buy"))
    trades = [Trade(5, t0 + S, 100_00, 1, 100_00, "buy"),        # already in it: skipped
              Trade(6, t0 + 2 * S, 102_00, 1, 102_00, "buy"),
              Trade(7, t0 + 61 * S, 98_00, 2, 196_00, "sell"),   # the next minute
              Trade(8, t0 + 62 * S, 99_00, 1, 99_00, "buy"),
              Trade(9, t0 + 185 * S, 97_00, 1, 97_00, "buy")]    # two minutes on
    out = roll(shown, iv, trades)
    assert [(c.open_ms, c.open, c.high, c.low, c.close, c.count, c.first_id, c.last_id)
            for c in out] == [
        (t0 // MS, 100_00, 102_00, 100_00, 102_00, 2, 5, 6),
        ((t0 + 60 * S) // MS, 98_00, 99_00, 98_00, 99_00, 2, 7, 8),
        ((t0 + 180 * S) // MS, 97_00, 97_00, 97_00, 97_00, 1, 9, 9)]
    assert shown.count == 1 and shown.last_id == 5   # the candle given is not changed


def test_roll_gives_up_on_a_trade_in_an_earlier_bucket():
    iv = INTERVALS["1m"]
    t0 = ns("2024-05-01T12:34:00")
    shown = Candle.of_trade(iv, Trade(5, t0 + S, 100_00, 1, 100_00, "buy"))
    assert roll(shown, iv, [Trade(6, t0 - S, 100_00, 1, 100_00, "buy")]) is None
    assert roll(shown, iv, []) == [shown]
