"""Stored notifications of each account (written by the platform's notifier)."""

import orjson


async def store_window(pool, fired: list, rearmed: list, rows: list) -> list:
    """In one transaction: note each fired alert (``(alert_id, still active, armed)``),
    re-arm the ``rearmed`` alert ids, and insert ``rows`` of (account, kind, title,
    detail dict, seq or None) as notifications; return the inserted rows."""
    async with pool.acquire() as conn:
        async with conn.transaction():
            for alert_id, active, armed in fired:
                await conn.execute("""
                    UPDATE price_alerts SET triggered_count = triggered_count + 1,
                           last_triggered_at = now(), active = $2, armed = $3
                    WHERE alert_id = $1""", alert_id, active, armed)
            for alert_id in rearmed:
                await conn.execute("UPDATE price_alerts SET armed = true WHERE alert_id = $1",
                                   alert_id)
            return await conn.fetch("""
                INSERT INTO notifications (account_id, kind, title, detail, seq)
                SELECT * FROM unnest($1::bigint[], $2::text[], $3::text[], $4::jsonb[],
                                     $5::bigint[])
                RETURNING *""", [r[0] for r in rows], [r[1] for r in rows],
                [r[2] for r in rows], [orjson.dumps(r[3]).decode() for r in rows],
                [r[4] for r in rows])


async def page(pool, account: int, *, unread_only: bool, before, limit: int) -> list:
    """The account's notifications, newest first: ``limit`` with ids below ``before``
    (if given), only unread ones if ``unread_only``."""
    return await pool.fetch("""
        SELECT * FROM notifications
        WHERE account_id = $1 AND (NOT $2 OR read_at IS NULL)
          AND ($3::bigint IS NULL OR notification_id < $3)
        ORDER BY notification_id DESC LIMIT $4""", account, unread_only, before, limit)


async def unread_count(pool, account: int) -> int:
    """How many of the account's notifications are unread."""
    return await pool.fetchval(
        "SELECT count(*) FROM notifications WHERE account_id = $1 AND read_at IS NULL",
        account)


async def mark_read(pool, account: int, ids) -> int:
    """Mark the account's unread notifications with these ids (None: all) read; return
    how many changed."""
    return await pool.fetchval("""
        WITH done AS (
            UPDATE notifications SET read_at = now()
            WHERE account_id = $1 AND read_at IS NULL
              AND ($2::bigint[] IS NULL OR notification_id = ANY($2))
            RETURNING 1)
        SELECT count(*) FROM done""", account, ids)
