"""Price alerts of each account (the notifier fires them)."""


async def active(pool) -> list:
    """Every active price alert (whole rows)."""
    return await pool.fetch("SELECT * FROM price_alerts WHERE active")


async def of_account(pool, account: int) -> list:
    """The account's price alerts, active or not, newest first."""
    return await pool.fetch(
        "SELECT * FROM price_alerts WHERE account_id = $1 ORDER BY alert_id DESC", account)


async def create(pool, account: int, symbol: str, direction: str, price: int, repeating: bool,
                 *, max_active: int):
    """Insert an active alert and return its row, or None (and insert nothing) when the
    account already has ``max_active`` active ones. Serialised per account, so two
    concurrent calls cannot both pass the limit."""
    async with pool.acquire() as conn:
        async with conn.transaction():
            await conn.execute("SELECT pg_advisory_xact_lock(7, $1::int)", account % 2**31)
            count = await conn.fetchval(
                "SELECT count(*) FROM price_alerts WHERE account_id = $1 AND active", account)
            if count >= max_active:
                return None
            return await conn.fetchrow("""
                INSERT INTO price_alerts (account_id, symbol, direction, price, repeating)
                VALUES ($1, $2, $3, $4, $5) RETURNING *""",
                account, symbol, direction, price, repeating)


async def deactivate(pool, alert_id: int, account: int):
    """End the account's active alert; return its symbol, or None if there was none."""
    return await pool.fetchval("""
        UPDATE price_alerts SET active = false
        WHERE alert_id = $1 AND account_id = $2 AND active RETURNING symbol""",
        alert_id, account)
