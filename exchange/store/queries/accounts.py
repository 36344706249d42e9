"""Accounts: creation and look-up by name."""


async def create_account(pool, name: str, api_key: str, secret: str, permissions) -> int:
    """Create an account named ``name`` with one API key; return its id."""
    async with pool.acquire() as conn:
        async with conn.transaction():
            account_id = await conn.fetchval(
                "INSERT INTO accounts (account_id, name) "
                "SELECT coalesce(max(account_id), 0) + 1, $1 FROM accounts RETURNING account_id",
                name)
            await conn.execute(
                "INSERT INTO api_keys (api_key, secret, account_id, permissions) "
                "VALUES ($1, $2, $3, $4)", api_key, secret, account_id, list(permissions))
    return account_id


async def name_taken(pool, name: str) -> bool:
    """Whether an account with this name exists."""
    return bool(await pool.fetchval("SELECT 1 FROM accounts WHERE name = $1", name))
