"""Login sessions, their rotating refresh tokens and revoked access-token ids."""


async def open_session(conn, session_id: str, account_id: int, ip: str | None,
                       user_agent: str) -> bool:
    """Record a new session; return whether the account has logged in before but never
    from this (ip, user agent) pair (a new device)."""
    new_device = await conn.fetchval(
        "SELECT EXISTS (SELECT 1 FROM sessions WHERE account_id = $1) AND NOT EXISTS "
        "(SELECT 1 FROM sessions WHERE account_id = $1 AND ip IS NOT DISTINCT FROM $2 "
        " AND user_agent = $3)", account_id, ip, user_agent)
    await conn.execute(
        "INSERT INTO sessions (session_id, account_id, ip, user_agent) "
        "VALUES ($1, $2, $3, $4)", session_id, account_id, ip, user_agent)
    return new_device


async def add_refresh_token(conn, token_hash: bytes, session_id: str, ttl_s: int) -> None:
    await conn.execute(
        "INSERT INTO refresh_tokens (token_hash, session_id, expires_at) "
        "VALUES ($1, $2, now() + make_interval(secs => $3))",
        token_hash, session_id, float(ttl_s))


async def refresh_token_for_update(conn, token_hash: bytes):
    """The refresh token's session, account and state (used, expired, revoked), locked."""
    return await conn.fetchrow(
        "SELECT r.session_id, s.account_id, r.used_at IS NOT NULL AS used, "
        "       r.expires_at <= now() AS expired, s.revoked_at IS NOT NULL AS revoked "
        "FROM refresh_tokens r JOIN sessions s USING (session_id) "
        "WHERE r.token_hash = $1 FOR UPDATE OF r, s", token_hash)


async def use_refresh_token(conn, token_hash: bytes) -> None:
    await conn.execute("UPDATE refresh_tokens SET used_at = now() WHERE token_hash = $1",
                       token_hash)


async def revoke_session(conn, session_id: str) -> None:
    await conn.execute("UPDATE sessions SET revoked_at = now() "
                       "WHERE session_id = $1 AND revoked_at IS NULL", session_id)


async def revoke_access_token(conn, jti: str, expires_at: int) -> None:
    """Refuse an access token id until its expiry; forget ids of long-expired tokens."""
    await conn.execute("INSERT INTO revoked_tokens (jti, expires_at) "
                       "VALUES ($1, to_timestamp($2)) ON CONFLICT DO NOTHING",
                       jti, float(expires_at))
    # rows of tokens past their expiry are refused by the signature check anyway
    await conn.execute("DELETE FROM revoked_tokens WHERE expires_at < now() - interval '1 hour'")


async def revoke_sessions(conn, account_id: int, keep: str | None = None) -> list[str]:
    """Revoke every live session of an account but ``keep``; return their ids."""
    rows = await conn.fetch(
        "UPDATE sessions SET revoked_at = now() WHERE account_id = $1 "
        "AND session_id IS DISTINCT FROM $2 AND revoked_at IS NULL RETURNING session_id",
        account_id, keep)
    return [r["session_id"] for r in rows]


async def live_caller(pool, session_id: str, jti: str):
    """``account_id``, ``role`` and ``live`` (session not revoked, token id not revoked)
    of a session, or None."""
    return await pool.fetchrow(
        "SELECT s.account_id, a.role, s.revoked_at IS NULL "
        "       AND NOT EXISTS (SELECT 1 FROM revoked_tokens WHERE jti = $2) AS live "
        "FROM sessions s JOIN accounts a ON a.account_id = s.account_id "
        "WHERE s.session_id = $1", session_id, jti)
