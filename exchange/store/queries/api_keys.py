"""API keys (``api_keys``): created, listed, revoked, read by the signed edge; their
secrets are sealed (``exchange.store.sealing``) and pass through here sealed only."""

_VIEW = "api_key, name, permissions, created_at"


async def create(pool, api_key: str, sealed_secret: str, account_id: int, permissions,
                 name: str | None, limit: int | None = None):
    """Store a key; return its row, or None when the account already holds ``limit``
    active keys (the count is serialised per account)."""
    async with pool.acquire() as conn:
        async with conn.transaction():
            if limit is not None:
                await conn.execute("SELECT pg_advisory_xact_lock(hashtext('api_keys'), $1::int)",
                                   account_id % 2**31)
                active = await conn.fetchval("SELECT count(*) FROM api_keys "
                                             "WHERE account_id = $1 AND revoked_at IS NULL",
                                             account_id)
                if active >= limit:
                    return None
            return await insert(conn, api_key, sealed_secret, account_id, permissions, name)


async def insert(conn, api_key: str, sealed_secret: str, account_id: int, permissions,
                 name: str | None = None):
    """Store a key inside the caller's transaction; return its row."""
    return await conn.fetchrow(
        "INSERT INTO api_keys (api_key, secret, account_id, permissions, name) "
        f"VALUES ($1, $2, $3, $4, $5) RETURNING {_VIEW}",
        api_key, sealed_secret, account_id, list(permissions), name)


async def list_active(pool, account_id: int):
    return await pool.fetch(
        f"SELECT {_VIEW} FROM api_keys WHERE account_id = $1 AND revoked_at IS NULL "
        "ORDER BY created_at, api_key", account_id)


async def revoke(pool, api_key: str, account_id: int):
    """Revoke one of an account's active keys; its row, or None."""
    return await pool.fetchrow(
        "UPDATE api_keys SET revoked_at = now() WHERE api_key = $1 AND account_id = $2 "
        f"AND revoked_at IS NULL RETURNING {_VIEW}", api_key, account_id)


async def active(pool, api_key: str):
    """``api_key``, sealed ``secret``, ``account_id``, ``permissions`` of an active key."""
    return await pool.fetchrow(
        "SELECT api_key, secret, account_id, permissions FROM api_keys "
        "WHERE api_key = $1 AND revoked_at IS NULL", api_key)
