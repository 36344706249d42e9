"""A login's profile: its user row joined with its account."""


async def profile(pool, account: int):
    """account_id, email, created_at, totp_enabled and kyc_status of the account's login,
    or None without a login."""
    return await pool.fetchrow(
        "SELECT u.account_id, u.email, u.created_at, u.totp_enabled, a.kyc_status "
        "FROM users u JOIN accounts a ON a.account_id = u.account_id WHERE u.account_id = $1",
        account)
