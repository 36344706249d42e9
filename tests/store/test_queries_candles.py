"""The candle and 24 h statistics queries (exchange.store.queries) against the pure
definitions of exchange.marketdata: the SQL buckets and aggregates random trades exactly
as ``Interval.open_ns`` and ``Candle`` do, and ``roll`` carries a queried candle forward
to what the query gives later."""

import random
from types import SimpleNamespace

import pytest

from exchange.marketdata.candles import INTERVALS, Candle, roll
from exchange.marketdata.tickers import WindowStats
from exchange.store.queries import candles as candle_queries
from exchange.store.queries import trades as trade_queries

S = 10**9
START = 1_700_000_000 * S        # 2023-11-14
SPAN = 120 * 86_400 * S          # four months: several weeks and month ends


def random_trades(rnd: random.Random, n: int, symbol: str = "AAPL", first_id: int = 1) -> list:
    """``n`` trades in id order with non-decreasing times, bunched so that buckets of every
    width get several trades, including some exactly on a bucket's first ns."""
    ts = START
    out = []
    for trade_id in range(first_id, first_id + n):
        ts += rnd.choice((0, 1, rnd.randrange(60 * S), rnd.randrange(SPAN // n * 2)))
        if rnd.random() < 0.05:
            ts = INTERVALS[rnd.choice(list(INTERVALS))].close_ns(
                INTERVALS["1m"].open_ns(ts)) + 1   # the first ns of some bucket
            ts = max(ts, out[-1].ts_ns if out else ts)
        price = rnd.randrange(90_00, 110_00)
        qty = rnd.randrange(1, 50)
        out.append(SimpleNamespace(trade_id=trade_id, ts_ns=ts, symbol=symbol, price=price,
                                   qty=qty, quote_qty=price * qty,
                                   taker_side=rnd.choice(("buy", "sell"))))
    return out


async def insert(pool, trades) -> None:
    await pool.executemany(
        "INSERT INTO trades (trade_id, seq, ts_ns, symbol, price, qty, quote_qty, "
        "maker_order_id, taker_order_id, maker_account, taker_account, taker_side, maker_fee, "
        "taker_fee) VALUES ($1, $1, $2, $3, $4, $5, $6, 1, 2, 1, 2, $7, 0, 0)",
        [(t.trade_id, t.ts_ns, t.symbol, t.price, t.qty, t.quote_qty, t.taker_side)
         for t in trades])


def folded(interval, trades) -> list:
    """The candles of ``trades`` by the pure definition, oldest first."""
    out = {}
    for t in trades:
        key = interval.open_ns(t.ts_ns)
        if key in out:
            out[key].add(t)
        else:
            out[key] = Candle.of_trade(interval, t)
    return [out[k] for k in sorted(out)]


@pytest.mark.parametrize("seed", [1, 2])
async def test_the_candle_query_equals_the_pure_candles_for_every_interval(pool, seed):
    trades = random_trades(random.Random(seed), 400)
    await insert(pool, trades)
    await insert(pool, random_trades(random.Random(seed + 100), 50, symbol="MSFT",
                                      first_id=10_000))  # not AAPL's
    for name, iv in INTERVALS.items():
        expected = folded(iv, trades)
        rows = await candle_queries.candles(pool, "AAPL", iv.step_ns, iv.offset_ns, 0, None,
                                            1000)
        assert [Candle.of_row(r) for r in rows] == expected, name
        # the newest ones up to a time, and the first ones from a time, as /klines pages
        middle = expected[len(expected) // 2]
        newest = await candle_queries.candles(pool, "AAPL", iv.step_ns, iv.offset_ns, None,
                                              middle.open_ms, 3)
        upto = [c for c in expected if c.open_ms <= middle.open_ms]
        assert [Candle.of_row(r) for r in newest] == upto[-3:], name
        first = await candle_queries.candles(pool, "AAPL", iv.step_ns, iv.offset_ns,
                                             middle.open_ms, None, 2)
        assert [Candle.of_row(r) for r in first] == [
            c for c in expected if c.open_ms >= middle.open_ms][:2], name


async def test_a_rolled_candle_equals_the_query_after_the_later_trades(pool):
    rnd = random.Random(7)
    trades = random_trades(rnd, 300)
    for name in ("1m", "5m", "1h", "1d", "1w", "1M"):
        iv = INTERVALS[name]
        await pool.execute("DELETE FROM trades")
        cut = rnd.randrange(1, len(trades))
        await insert(pool, trades[:cut])
        end_ms = trades[-1].ts_ns // 10**6
        rows = await candle_queries.candles(pool, "AAPL", iv.step_ns, iv.offset_ns, None,
                                            end_ms, 2)
        shown = Candle.of_row(rows[-1])
        await insert(pool, trades[cut:])
        later = [Candle.of_row(r) for r in await candle_queries.candles(
            pool, "AAPL", iv.step_ns, iv.offset_ns, None, end_ms, 2)]
        # trades up to the cut again too: roll skips those the candle already holds
        rolled = roll(shown, iv, trades[cut - 5:])
        assert rolled[-2:] == [c for c in later if c.open_ms >= shown.open_ms], name


async def test_the_window_statistics_query_equals_the_trades_in_the_window(pool):
    trades = random_trades(random.Random(3), 300)
    await insert(pool, trades)
    since = trades[150].ts_ns
    stats = await trade_queries.stats_since(pool, ["AAPL", "MSFT"], since)
    assert set(stats) == {"AAPL"}   # MSFT has no trade in the window: absent
    window = [t for t in trades if t.ts_ns >= since]
    assert WindowStats.of_row(stats["AAPL"]) == WindowStats(
        count=len(window), first_id=window[0].trade_id, last_id=window[-1].trade_id,
        open=window[0].price, high=max(t.price for t in window),
        low=min(t.price for t in window), last=window[-1].price, last_qty=window[-1].qty,
        volume=sum(t.qty for t in window), quote_volume=sum(t.quote_qty for t in window))
    totals = await trade_queries.window_totals(pool, "AAPL", since)
    assert (int(totals["quote"]), int(totals["lots"]), totals["last_ms"]) == (
        sum(t.quote_qty for t in window), sum(t.qty for t in window),
        window[-1].ts_ns // 10**6)
