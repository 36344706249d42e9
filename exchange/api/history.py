"""SQL over the durable tables: trades, candles, 24h statistics, orders, my trades.

Every value stays an integer (ticks, lots, minor units; numeric sums come back
as Decimal and are turned into ints by the callers). Candles are computed
from the trades table at query time.
"""

NS_PER_MS = 1_000_000
_MIN = 60 * 10**9
_DAY = 1440 * _MIN
# interval -> bucket width in ns; weeks start on Monday 00:00 UTC, months are calendar months
INTERVALS = {
    "1m": _MIN, "3m": 3 * _MIN, "5m": 5 * _MIN, "15m": 15 * _MIN, "30m": 30 * _MIN,
    "1h": 60 * _MIN, "2h": 120 * _MIN, "4h": 240 * _MIN, "6h": 360 * _MIN, "8h": 480 * _MIN,
    "12h": 720 * _MIN, "1d": _DAY, "3d": 3 * _DAY, "1w": 7 * _DAY, "1M": None,
}
_MONDAY = 4 * _DAY  # 1970-01-01 was a Thursday

_TRADE_COLUMNS = "trade_id, ts_ns, price, qty, quote_qty, taker_side"


async def recent_trades(pool, symbol: str, limit: int):
    """The last ``limit`` trades of ``symbol``, oldest first."""
    rows = await pool.fetch(
        f"SELECT {_TRADE_COLUMNS} FROM trades WHERE symbol = $1 ORDER BY trade_id DESC LIMIT $2",
        symbol, limit)
    return rows[::-1]


def _in_range(where: list, args: list, id_column: str, from_id, time_column: str, start_ms,
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


async def trades_from(pool, symbol: str, from_id, start_ms, end_ms, limit: int):
    """Trades of ``symbol`` from trade id ``from_id`` and/or within [start, end] ms."""
    where, args = ["symbol = $1"], [symbol]
    _in_range(where, args, "trade_id", from_id, "ts_ns", start_ms, end_ms)
    args.append(limit)
    return await pool.fetch(
        f"SELECT {_TRADE_COLUMNS} FROM trades WHERE {' AND '.join(where)} "
        f"ORDER BY trade_id LIMIT ${len(args)}", *args)


def _bucket(interval: str) -> tuple[str, str]:
    """SQL for a trade's bucket start and the bucket's last ns, over column ts_ns."""
    step = INTERVALS[interval]
    if step is None:
        start = ("(extract(epoch FROM date_trunc('month', to_timestamp(ts_ns / 1000000000)"
                 " AT TIME ZONE 'UTC'))::bigint * 1000000000)")
        end = ("(extract(epoch FROM (date_trunc('month', to_timestamp(bucket / 1000000000)"
               " AT TIME ZONE 'UTC') + interval '1 month'))::bigint * 1000000000 - 1)")
        return start, end
    if interval == "1w":
        start = f"(((ts_ns - {_MONDAY}) / {step}) * {step} + {_MONDAY})"
    else:
        start = f"((ts_ns / {step}) * {step})"
    return start, f"(bucket + {step} - 1)"


async def klines(pool, symbol: str, interval: str, start_ms, end_ms, limit: int):
    """Candles of ``symbol`` (only buckets with trades): the first ``limit`` from
    ``start_ms``, else the last ``limit`` up to ``end_ms``; oldest first."""
    bucket, bucket_end = _bucket(interval)
    where, args = ["symbol = $1"], [symbol]
    outer = []
    if start_ms is not None:
        args.append(start_ms * NS_PER_MS)
        where.append(f"ts_ns >= ${len(args)}")
        outer.append(f"bucket >= ${len(args)}")
    if end_ms is not None:
        args.append(end_ms * NS_PER_MS)
        where.append(f"ts_ns <= ${len(args)} + {32 * _DAY}")
        outer.append(f"bucket <= ${len(args)}")
    args.append(limit)
    order = "ASC" if start_ms is not None else "DESC"
    rows = await pool.fetch(f"""
        SELECT bucket / {NS_PER_MS} AS open_ms, {bucket_end} / {NS_PER_MS} AS close_ms,
               open, high, low, close, volume, quote_volume, count, taker_volume, taker_quote,
               first_id, last_id
        FROM (
            SELECT {bucket} AS bucket,
                   (array_agg(price ORDER BY trade_id))[1] AS open, max(price) AS high,
                   min(price) AS low, (array_agg(price ORDER BY trade_id DESC))[1] AS close,
                   sum(qty) AS volume, sum(quote_qty) AS quote_volume, count(*) AS count,
                   min(trade_id) AS first_id, max(trade_id) AS last_id,
                   coalesce(sum(qty) FILTER (WHERE taker_side = 'buy'), 0) AS taker_volume,
                   coalesce(sum(quote_qty) FILTER (WHERE taker_side = 'buy'), 0) AS taker_quote
            FROM trades WHERE {' AND '.join(where)}
            GROUP BY 1
        ) AS candles
        {('WHERE ' + ' AND '.join(outer)) if outer else ''}
        ORDER BY bucket {order} LIMIT ${len(args)}""", *args)
    return rows if order == "ASC" else rows[::-1]


async def stats_24h(pool, symbols: list, since_ns: int) -> dict:
    """symbol -> the window's trade statistics (count, ids, OHLC, volumes, last qty)."""
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
    """Sum of quote amount and lots of ``symbol``'s trades since ``since_ns``, and the last time."""
    return await pool.fetchrow("""
        SELECT coalesce(sum(quote_qty), 0) AS quote, coalesce(sum(qty), 0) AS lots,
               max(ts_ns) / 1000000 AS last_ms
        FROM trades WHERE symbol = $1 AND ts_ns >= $2""", symbol, since_ns)


# ---- an account's orders and trades -------------------------------------------

_ORDER_COLUMNS = ("order_id, account_id, symbol, client_order_id, side, type, tif, price, qty, "
                  "quote_qty, stop_price, display_qty, stp, working, status, executed_qty, "
                  "cum_quote, created_ts_ns, updated_ts_ns")


async def order(pool, account: int, symbol: str, order_id=None, client_order_id=None):
    """One of the account's orders on ``symbol``, by id or client id (the newest such)."""
    if order_id is not None:
        return await pool.fetchrow(
            f"SELECT {_ORDER_COLUMNS} FROM orders WHERE order_id = $1 AND account_id = $2 "
            f"AND symbol = $3", order_id, account, symbol)
    return await pool.fetchrow(
        f"SELECT {_ORDER_COLUMNS} FROM orders WHERE account_id = $1 AND client_order_id = $2 "
        f"AND symbol = $3 ORDER BY order_id DESC LIMIT 1", account, client_order_id, symbol)


async def client_id_used(pool, account: int, client_order_id: str) -> bool:
    """Whether the account ever placed an order with this client id."""
    return await pool.fetchval(
        "SELECT EXISTS (SELECT 1 FROM orders WHERE account_id = $1 AND client_order_id = $2)",
        account, client_order_id)


async def open_orders(pool, account: int, symbol: str | None):
    if symbol is None:
        return await pool.fetch(
            f"SELECT {_ORDER_COLUMNS} FROM orders WHERE account_id = $1 "
            f"AND status IN ('NEW', 'PARTIALLY_FILLED') ORDER BY order_id", account)
    return await pool.fetch(
        f"SELECT {_ORDER_COLUMNS} FROM orders WHERE account_id = $1 AND symbol = $2 "
        f"AND status IN ('NEW', 'PARTIALLY_FILLED') ORDER BY order_id", account, symbol)


async def all_orders(pool, account: int, symbol: str, from_id, start_ms, end_ms, limit: int):
    where, args = ["account_id = $1", "symbol = $2"], [account, symbol]
    _in_range(where, args, "order_id", from_id, "created_ts_ns", start_ms, end_ms)
    args.append(limit)
    if from_id is None and start_ms is None:  # the newest, shown oldest first
        rows = await pool.fetch(
            f"SELECT {_ORDER_COLUMNS} FROM orders WHERE {' AND '.join(where)} "
            f"ORDER BY order_id DESC LIMIT ${len(args)}", *args)
        return rows[::-1]
    return await pool.fetch(
        f"SELECT {_ORDER_COLUMNS} FROM orders WHERE {' AND '.join(where)} "
        f"ORDER BY order_id LIMIT ${len(args)}", *args)


async def my_trades(pool, account: int, symbol: str, order_id, from_id, start_ms, end_ms,
                    limit: int):
    """The account's side of each of its trades on ``symbol`` (a self-trade gives two rows)."""
    where, args = ["symbol = $2"], [account, symbol]
    if order_id is not None:
        args.append(order_id)
        where.append(f"order_id = ${len(args)}")
    _in_range(where, args, "trade_id", from_id, "ts_ns", start_ms, end_ms)
    args.append(limit)
    newest = from_id is None and start_ms is None
    rows = await pool.fetch(f"""
        SELECT * FROM (
            SELECT trade_id, ts_ns, symbol, price, qty, quote_qty, maker_order_id AS order_id,
                   taker_side <> 'buy' AS is_buyer, true AS is_maker, maker_fee AS fee
            FROM trades WHERE maker_account = $1 AND symbol = $2
            UNION ALL
            SELECT trade_id, ts_ns, symbol, price, qty, quote_qty, taker_order_id AS order_id,
                   taker_side = 'buy' AS is_buyer, false AS is_maker, taker_fee AS fee
            FROM trades WHERE taker_account = $1 AND symbol = $2
        ) AS mine WHERE {' AND '.join(where)}
        ORDER BY trade_id {'DESC' if newest else 'ASC'}, is_maker LIMIT ${len(args)}""", *args)
    return rows[::-1] if newest else rows
