"""Candles of a symbol, aggregated from the ``trades`` table at query time.

A bucket is given as ``step_ns`` and ``offset_ns`` (a trade at ``ts_ns`` opens
at ``(ts_ns - offset_ns) // step_ns * step_ns + offset_ns``), or ``step_ns``
None for calendar months in UTC: the same rule as
``exchange.marketdata.candles.Interval.open_ns``, which the edges pass in
(``tests/marketdata/test_candles_sql.py`` compares the two).
"""

NS_PER_MS = 1_000_000
_LOOKAHEAD_NS = 32 * 86_400 * 10**9   # a bucket's trades lie within a month after its start


def _bucket(step_ns: int | None, offset_ns: int) -> tuple[str, str]:
    """SQL for a trade's bucket start over column ts_ns, and the bucket's last ns."""
    if step_ns is None:
        start = ("(extract(epoch FROM date_trunc('month', to_timestamp(ts_ns / 1000000000)"
                 " AT TIME ZONE 'UTC'))::bigint * 1000000000)")
        end = ("(extract(epoch FROM (date_trunc('month', to_timestamp(bucket / 1000000000)"
               " AT TIME ZONE 'UTC') + interval '1 month'))::bigint * 1000000000 - 1)")
        return start, end
    if offset_ns:
        start = f"(((ts_ns - {int(offset_ns)}) / {int(step_ns)}) * {int(step_ns)} + {int(offset_ns)})"
    else:
        start = f"((ts_ns / {int(step_ns)}) * {int(step_ns)})"
    return start, f"(bucket + {int(step_ns)} - 1)"


async def candles(pool, symbol: str, step_ns: int | None, offset_ns: int, start_ms, end_ms,
                  limit: int) -> list:
    """Candles of ``symbol`` (only buckets with trades): the first ``limit`` opening at or
    after ``start_ms``, else the last ``limit`` opening at or before ``end_ms``; oldest
    first. Each row: open_ms, close_ms, open, high, low, close, volume, quote_volume,
    count, taker_volume, taker_quote (the taker-buy side), first_id, last_id."""
    bucket, bucket_end = _bucket(step_ns, offset_ns)
    where, args = ["symbol = $1"], [symbol]
    outer = []
    if start_ms is not None:
        args.append(start_ms * NS_PER_MS)
        where.append(f"ts_ns >= ${len(args)}")
        outer.append(f"bucket >= ${len(args)}")
    if end_ms is not None:
        args.append(end_ms * NS_PER_MS)
        where.append(f"ts_ns <= ${len(args)} + {_LOOKAHEAD_NS}")
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
