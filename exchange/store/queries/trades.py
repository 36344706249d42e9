"""A symbol's public trades: recent, by id or time, and statistics over a window."""

NS_PER_MS = 1_000_000

_COLUMNS = "trade_id, ts_ns, price, qty, quote_qty, taker_side"


def in_range(where: list, args: list, id_column: str, from_id, time_column: str, start_ms,
             end_ms) -> None:
    """Add "id from ``from_id``" and "time within [start_ms, end_ms]" conditions."""
    if from_id is not None:
        args.append(from_id)
        where.append(f"{id_column} >= ${len(args)}")
    if start_ms is not None:
        args.append(start_ms * NS_PER_MS)
        where.append(f"{time_column} >= ${len(args)}")
    if end_ms is not None:
        args.append(end_ms * NS_PER_MS + NS_PER_MS - 1)  # through the end of that ms
        where.append(f"{time_column} <= ${len(args)}")


async def recent(pool, symbol: str, limit: int) -> list:
    """The last ``limit`` trades of ``symbol``, oldest first."""
    rows = await pool.fetch(
        f"SELECT {_COLUMNS} FROM trades WHERE symbol = $1 ORDER BY trade_id DESC LIMIT $2",
        symbol, limit)
    return rows[::-1]


async def from_id(pool, symbol: str, first_id, start_ms, end_ms, limit: int) -> list:
    """Trades of ``symbol`` from trade id ``first_id`` and/or within [start, end] ms."""
    where, args = ["symbol = $1"], [symbol]
    in_range(where, args, "trade_id", first_id, "ts_ns", start_ms, end_ms)
    args.append(limit)
    return await pool.fetch(
        f"SELECT {_COLUMNS} FROM trades WHERE {' AND '.join(where)} "
        f"ORDER BY trade_id LIMIT ${len(args)}", *args)


async def stats_since(pool, symbols: list, since_ns: int) -> dict:
    """symbol -> the statistics of its trades at or after ``since_ns`` (count, first and
    last id, open/high/low/last price, volume, quote volume, last qty); symbols without
    a trade in the window are absent."""
    rows = await pool.fetch("""
        SELECT symbol, count(*) AS count, min(trade_id) AS first_id, max(trade_id) AS last_id,
               max(price) AS high, min(price) AS low, sum(qty) AS volume,
               sum(quote_qty) AS quote_volume,
               (array_agg(price ORDER BY trade_id))[1] AS open,
               (array_agg(price ORDER BY trade_id DESC))[1] AS last,
               (array_agg(qty ORDER BY trade_id DESC))[1] AS last_qty
        FROM trades WHERE ts_ns >= $1 AND symbol = ANY($2::text[]) GROUP BY symbol""",
        since_ns, symbols)
    return {r["symbol"]: r for r in rows}


async def window_totals(pool, symbol: str, since_ns: int):
    """Sum of quote amount and lots of ``symbol``'s trades since ``since_ns``, and the last
    trade's time in ms (None without a trade)."""
    return await pool.fetchrow("""
        SELECT coalesce(sum(quote_qty), 0) AS quote, coalesce(sum(qty), 0) AS lots,
               max(ts_ns) / 1000000 AS last_ms
        FROM trades WHERE symbol = $1 AND ts_ns >= $2""", symbol, since_ns)


async def market_stats(pool, since_ns: int) -> list:
    """Per symbol traded at or after ``since_ns``: count, volume, quote volume, open, close,
    high, low, and ``vol``, the sample standard deviation of one-minute log returns of the
    minutes' closing prices (None with fewer than two returns)."""
    return await pool.fetch("""
        WITH w AS (SELECT * FROM trades WHERE ts_ns >= $1),
        minutes AS (
            SELECT symbol, ts_ns / 60000000000 AS minute,
                   (array_agg(price ORDER BY trade_id DESC))[1] AS close
            FROM w GROUP BY 1, 2),
        returns AS (
            SELECT symbol, ln(close::float8 / lag(close) OVER (PARTITION BY symbol
                                                                  ORDER BY minute)) AS r
            FROM minutes)
        SELECT s.symbol, s.count, s.volume, s.quote_volume, s.open, s.close, s.high, s.low,
               (SELECT stddev_samp(r) FROM returns WHERE returns.symbol = s.symbol) AS vol
        FROM (SELECT symbol, count(*) AS count, sum(qty) AS volume,
                     sum(quote_qty) AS quote_volume, max(price) AS high, min(price) AS low,
                     (array_agg(price ORDER BY trade_id))[1] AS open,
                     (array_agg(price ORDER BY trade_id DESC))[1] AS close
              FROM w GROUP BY symbol) AS s""", since_ns)
