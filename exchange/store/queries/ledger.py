"""Ledger entries: each account's balance movements, with the time of their command."""


async def movements(pool, account: int, asset=None, end_ns=None) -> list:
    """The account's ledger entries that change its total (free + locked) of ``asset``
    (or of every asset), before ``end_ns`` if given, in seq order: seq, idx, asset,
    delta, reason, ref, ts_ns."""
    return await pool.fetch("""
        SELECT e.seq, e.idx, e.asset, e.free_delta + e.locked_delta AS delta, e.reason, e.ref,
               j.ts_ns
        FROM ledger_entries e JOIN journal j USING (seq)
        WHERE e.account_id = $1 AND ($2::text IS NULL OR e.asset = $2)
          AND ($3::bigint IS NULL OR j.ts_ns < $3)
          AND e.free_delta + e.locked_delta <> 0
        ORDER BY e.seq, e.idx""", account, asset, end_ns)
