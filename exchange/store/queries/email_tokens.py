"""Single-use tokens sent by email (``email_tokens``): password reset, email verification.

Stored as sha256 of the token; each works once and only before its expiry.
"""


async def issue(pool, token_hash: bytes, account_id: int, purpose: str, ttl_s: int) -> None:
    """Store a new token; earlier unused tokens of the same purpose stop working."""
    async with pool.acquire() as conn:
        async with conn.transaction():
            await conn.execute(
                "UPDATE email_tokens SET used_at = now() WHERE account_id = $1 "
                "AND purpose = $2 AND used_at IS NULL", account_id, purpose)
            await conn.execute(
                "INSERT INTO email_tokens (token_hash, account_id, purpose, expires_at) "
                "VALUES ($1, $2, $3, now() + make_interval(secs => $4))",
                token_hash, account_id, purpose, float(ttl_s))


async def consume(conn, token_hash: bytes, purpose: str) -> int | None:
    """Spend a live token of ``purpose``; return its account id, or None (unknown, used or
    expired). Atomic: of two concurrent uses, one gets the account."""
    return await conn.fetchval(
        "UPDATE email_tokens SET used_at = now() WHERE token_hash = $1 AND purpose = $2 "
        "AND used_at IS NULL AND expires_at > now() RETURNING account_id",
        token_hash, purpose)


async def end_all(conn, account_id: int, purpose: str) -> None:
    await conn.execute("UPDATE email_tokens SET used_at = now() WHERE account_id = $1 "
                       "AND purpose = $2 AND used_at IS NULL", account_id, purpose)
