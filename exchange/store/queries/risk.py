"""Risk alerts (``risk_alerts``: the batcher's rows for risk rejections and halts) and the
account behind an API key (for key kill switches)."""


async def alerts(db, *, account_id: int | None = None, before: int | None = None,
                 limit: int) -> list:
    """Risk alerts (an account's, or everyone's), newest first; ``before``: a seq."""
    where, args = [], []
    if account_id is not None:
        args.append(account_id)
        where.append(f"account_id = ${len(args)}")
    if before is not None:
        args.append(before)
        where.append(f"seq < ${len(args)}")
    args.append(limit)
    return await db.fetch(f"SELECT * FROM risk_alerts WHERE {' AND '.join(where) or 'true'} "
                          f"ORDER BY seq DESC, idx DESC LIMIT ${len(args)}", *args)


async def key_owner(db, api_key: str) -> int | None:
    """The account an API key belongs to, or None."""
    return await db.fetchval("SELECT account_id FROM api_keys WHERE api_key = $1", api_key)
