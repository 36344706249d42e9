"""Surveillance alerts (``surveillance_alerts``) and the trade history their rules start from."""

import orjson


async def alerts(db, *, kinds=None, statuses=None, symbol: str | None = None,
                 account_id: int | None = None, before: int | None = None, limit: int) -> list:
    """Alerts, newest first: of any of ``kinds`` and ``statuses``, of ``symbol``, naming
    ``account_id``, with ids below ``before`` (each None: any)."""
    where, args = [], []

    def add(condition: str, value) -> None:
        args.append(value)
        where.append(condition.format(f"${len(args)}"))

    if kinds is not None:
        add("kind = ANY({}::text[])", list(kinds))
    if statuses is not None:
        add("status = ANY({}::text[])", list(statuses))
    if symbol is not None:
        add("symbol = {}", symbol)
    if account_id is not None:
        add("accounts @> ARRAY[{}::bigint]", account_id)
    if before is not None:
        add("alert_id < {}", before)
    args.append(limit)
    return await db.fetch(
        f"SELECT * FROM surveillance_alerts WHERE {' AND '.join(where) or 'true'} "
        f"ORDER BY alert_id DESC LIMIT ${len(args)}", *args)


async def review(conn, alert_id: int, status: str, note: str | None, by: int):
    """Set an alert's review in the caller's transaction (the row locked first); return
    ``(previous status, the row)``, or ``(None, None)`` when there is no such alert."""
    previous = await conn.fetchval(
        "SELECT status FROM surveillance_alerts WHERE alert_id = $1 FOR UPDATE", alert_id)
    if previous is None:
        return None, None
    row = await conn.fetchrow("""
        UPDATE surveillance_alerts SET status = $2, note = $3, reviewed_by = $4,
               reviewed_at = now()
        WHERE alert_id = $1 RETURNING *""", alert_id, status, note, by)
    return previous, row


async def insert(db, alerts: list) -> None:
    """Insert ``[(kind, symbol, accounts, evidence, first_seq, last_seq), ...]`` in one
    statement (accounts and evidence JSON-able)."""
    await db.execute("""
        INSERT INTO surveillance_alerts (kind, symbol, accounts, evidence, first_seq,
                                         last_seq)
        SELECT u.kind, u.symbol,
               ARRAY(SELECT jsonb_array_elements_text(u.accounts)::bigint),
               u.evidence, u.first_seq, u.last_seq
        FROM unnest($1::text[], $2::text[], $3::jsonb[], $4::jsonb[], $5::bigint[],
                    $6::bigint[]) AS u(kind, symbol, accounts, evidence, first_seq,
                                       last_seq)""",
        [a[0] for a in alerts], [a[1] for a in alerts],
        [orjson.dumps(a[2]) for a in alerts], [orjson.dumps(a[3]) for a in alerts],
        [a[4] for a in alerts], [a[5] for a in alerts])


async def last_trade_ts(db) -> int | None:
    """The time (ns) of the latest trade, or None when there is none."""
    return await db.fetchval("SELECT max(ts_ns) FROM trades")


async def first_trade_ts(db, symbol: str) -> int | None:
    """The time (ns) of a symbol's first trade, or None."""
    return await db.fetchval(
        "SELECT ts_ns FROM trades WHERE symbol = $1 ORDER BY trade_id LIMIT 1", symbol)


async def minute_volumes(db, since_ns: int, minute_ns: int) -> list:
    """``[(symbol, minute, lots), ...]``: lots traded per symbol and minute since ``since_ns``."""
    rows = await db.fetch(
        "SELECT symbol, ts_ns / $1 AS minute, sum(qty) AS lots FROM trades "
        "WHERE ts_ns >= $2 GROUP BY 1, 2", minute_ns, since_ns)
    return [(r["symbol"], int(r["minute"]), int(r["lots"])) for r in rows]
