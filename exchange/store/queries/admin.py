"""The audit views of compliance and operators: journal rows and the admin actions' chain.

The chain's writer is ``exchange.store.actions``; these only read.
"""


async def journal_rows(db, *, from_seq: int, to_seq: int | None = None,
                       kind: str | None = None, limit: int) -> list:
    """Journal rows in seq order from ``from_seq`` (inclusive) to ``to_seq`` (inclusive)."""
    return await db.fetch("""
        SELECT seq, ts_ns, kind, command, rejected, hash FROM journal
        WHERE seq >= $1 AND ($2::bigint IS NULL OR seq <= $2)
          AND ($3::text IS NULL OR kind = $3)
        ORDER BY seq LIMIT $4""", from_seq, to_seq, kind, limit)


async def actions(db, *, from_id: int, actor: int | None = None, action: str | None = None,
                  limit: int) -> list:
    """Admin actions in id order from ``from_id``, of one actor and one action if given."""
    return await db.fetch("""
        SELECT * FROM admin_actions
        WHERE action_id >= $1 AND ($2::bigint IS NULL OR actor = $2)
          AND ($3::text IS NULL OR action = $3)
        ORDER BY action_id LIMIT $4""", from_id, actor, action, limit)
