"""Logins (``users``), the failed-login counters (``users``, ``login_failures``) and the
email preferences.

Failed-login counting claims an attempt *before* the password is checked: one
conditional UPDATE counts the attempt and, when the count reaches the limit,
locks the account in the same statement, so at most ``max_failures`` guesses
are ever checked per lock window, whatever the concurrency. A good login
resets the count; an attempt that proved the password but still needs a TOTP
code gives its claim back. Emails without a user are counted the same way in
``login_failures``, so an unknown email locks as a known one does.
"""

from . import accounts

_LOCK = """
    failed_logins = CASE WHEN {t}.locked_until <= now() THEN 1 ELSE {t}.failed_logins + 1 END,
    locked_until = CASE
        WHEN (CASE WHEN {t}.locked_until <= now() THEN 1 ELSE {t}.failed_logins + 1 END) >= $2
        THEN now() + make_interval(secs => $3) END"""
_FREE = "({t}.locked_until IS NULL OR {t}.locked_until <= now())"
_LOCKED_FOR = "ceil(extract(epoch FROM locked_until - now()))::bigint"

_CLAIM_BY_EMAIL = (
    "UPDATE users SET" + _LOCK.format(t="users") + " WHERE email = $1 AND "
    + _FREE.format(t="users") + " RETURNING account_id, password_hash, totp_enabled, "
    "totp_secret, totp_last_step, failed_logins")
_CLAIM_BY_ACCOUNT = (
    "UPDATE users SET" + _LOCK.format(t="users") + " WHERE account_id = $1 AND "
    + _FREE.format(t="users") + " RETURNING account_id, password_hash, failed_logins")
_CLAIM_UNKNOWN = (
    "INSERT INTO login_failures AS f (email, failed_logins, locked_until) "
    "VALUES ($1, 1, CASE WHEN 1 >= $2 THEN now() + make_interval(secs => $3) END) "
    "ON CONFLICT (email) DO UPDATE SET" + _LOCK.format(t="f") + " WHERE "
    + _FREE.format(t="f") + " RETURNING failed_logins")


async def claim_login(pool, email: str, max_failures: int, lockout_s: int):
    """Claim one login attempt for ``email``: the user's row (with ``failed_logins``, this
    attempt's number), or ``None`` when the account is locked or there is no user."""
    return await pool.fetchrow(_CLAIM_BY_EMAIL, email, max_failures, float(lockout_s))


async def claim_unknown(pool, email: str, max_failures: int, lockout_s: int) -> int | None:
    """Claim one login attempt for an email without a user: this attempt's number, or
    ``None`` when that email is locked. Forgets a few rows whose lock has ended (their
    next failure counts 1 either way), so the table holds what still counts."""
    async with pool.acquire() as conn:
        await conn.execute(
            "DELETE FROM login_failures WHERE email IN (SELECT email FROM login_failures "
            "WHERE locked_until < now() AND email <> $1 LIMIT 100)", email)
        return await conn.fetchval(_CLAIM_UNKNOWN, email, max_failures, float(lockout_s))


async def claim_password_check(pool, account_id: int, max_failures: int, lockout_s: int):
    """Claim one check of an account's password (e.g. to change it): the row with
    ``password_hash`` and ``failed_logins``, or ``None`` when locked or no user."""
    return await pool.fetchrow(_CLAIM_BY_ACCOUNT, account_id, max_failures, float(lockout_s))


async def locked_for(pool, email: str) -> int | None:
    """Seconds the login of ``email`` (a user's or not) stays locked, or None."""
    return await pool.fetchval(
        f"SELECT {_LOCKED_FOR} FROM users WHERE email = $1 UNION ALL "
        f"SELECT {_LOCKED_FOR} FROM login_failures WHERE email = $1 LIMIT 1", email)


async def account_locked_for(pool, account_id: int) -> tuple[bool, int | None]:
    """(whether the account has a login, seconds its login stays locked or None)."""
    row = await pool.fetchrow(f"SELECT {_LOCKED_FOR} AS s FROM users WHERE account_id = $1",
                              account_id)
    return (row is not None, None if row is None else row["s"])


async def login_succeeded(conn, account_id: int) -> None:
    """A good login: the failure count starts again."""
    await conn.execute("UPDATE users SET failed_logins = 0, locked_until = NULL "
                       "WHERE account_id = $1", account_id)


async def give_back_claim(pool, account_id: int, max_failures: int) -> None:
    """Return a claimed attempt that proved the password (a TOTP code is still needed)."""
    await pool.execute(
        "UPDATE users SET failed_logins = greatest(failed_logins - 1, 0), "
        "locked_until = CASE WHEN failed_logins - 1 < $2 THEN NULL ELSE locked_until END "
        "WHERE account_id = $1 AND failed_logins > 0", account_id, max_failures)


async def email_taken(pool, email: str) -> bool:
    return await pool.fetchval("SELECT true FROM users WHERE email = $1", email) is not None


async def create_user(pool, name: str, email: str, password_hash: str, *,
                      email_verified: bool = False):
    """Create an account named ``name`` and its login; return ``(account_id, created_at)``.

    The failed-login count of ``email`` (from login attempts before it had a user)
    carries over, so registering does not reset a lock. Raises
    ``asyncpg.UniqueViolationError`` when the email (or the account name) is taken.
    """
    async with pool.acquire() as conn:
        async with conn.transaction():
            row = await accounts.create(conn, name)   # the one way to make an account
            await add_login(conn, row["account_id"], email, password_hash, row["created_at"],
                            email_verified=email_verified)
    return row["account_id"], row["created_at"]


async def add_login(conn, account_id: int, email: str, password_hash: str, created_at=None,
                    *, email_verified: bool = False) -> None:
    """Give an existing account a login (inside the caller's transaction)."""
    await conn.execute(
        "WITH f AS (DELETE FROM login_failures WHERE email = $2 "
        "           RETURNING failed_logins, locked_until) "
        "INSERT INTO users (account_id, email, password_hash, created_at, email_verified, "
        "                   failed_logins, locked_until) "
        "VALUES ($1, $2, $3, coalesce($4, now()), $5, "
        "        coalesce((SELECT failed_logins FROM f), 0), (SELECT locked_until FROM f))",
        account_id, email, password_hash, created_at, email_verified)


async def has_login(pool, account_id: int) -> bool:
    return await pool.fetchval("SELECT true FROM users WHERE account_id = $1",
                               account_id) is not None


async def rehash_password(conn, account_id: int, password_hash: str) -> None:
    await conn.execute("UPDATE users SET password_hash = $2 WHERE account_id = $1",
                       account_id, password_hash)


async def set_password(conn, account_id: int, password_hash: str) -> None:
    """Store a new password; the failure count and any lock end."""
    await conn.execute(
        "UPDATE users SET password_hash = $2, password_changed_at = now(), "
        "failed_logins = 0, locked_until = NULL WHERE account_id = $1",
        account_id, password_hash)


async def contact(pool, account_id: int):
    """``email``, ``email_verified``, ``email_fills``, ``email_alerts`` of an account's login."""
    return await pool.fetchrow(
        "SELECT email, email_verified, email_fills, email_alerts FROM users "
        "WHERE account_id = $1", account_id)


async def by_email(pool, email: str):
    """``account_id`` and ``email_verified`` of the login ``email``, or None."""
    return await pool.fetchrow(
        "SELECT account_id, email_verified FROM users WHERE email = $1", email)


async def profile(pool, account_id: int):
    """What ``GET /api/v1/me`` shows of an account."""
    return await pool.fetchrow(
        "SELECT u.account_id, u.email, u.created_at, u.totp_enabled, u.email_verified, "
        "       u.email_fills, u.email_alerts, a.kyc_status "
        "FROM users u JOIN accounts a ON a.account_id = u.account_id WHERE u.account_id = $1",
        account_id)


async def set_email_preferences(pool, account_id: int, fills: bool | None,
                                alerts: bool | None):
    """Change the opt-in email preferences (None: unchanged); the row, or None."""
    return await pool.fetchrow(
        "UPDATE users SET email_fills = coalesce($2, email_fills), "
        "email_alerts = coalesce($3, email_alerts) WHERE account_id = $1 "
        "RETURNING email_verified, email_fills, email_alerts", account_id, fills, alerts)


async def mark_email_verified(conn, account_id: int) -> None:
    await conn.execute("UPDATE users SET email_verified = true WHERE account_id = $1",
                       account_id)


async def opted_in(pool, account_ids, kind: str) -> dict[int, str]:
    """account id -> verified email, of those ``account_ids`` that opted in to ``kind``
    mail (``fills`` or ``alerts``)."""
    column = {"fills": "email_fills", "alerts": "email_alerts"}[kind]
    rows = await pool.fetch(
        f"SELECT account_id, email FROM users WHERE account_id = ANY($1::bigint[]) "
        f"AND email_verified AND {column}", list(account_ids))
    return {r["account_id"]: r["email"] for r in rows}


async def account_of_email(conn, email: str) -> int | None:
    return await conn.fetchval("SELECT account_id FROM users WHERE email = $1", email)


# ---- TOTP ------------------------------------------------------------------------------

async def enroll_totp(pool, account_id: int, sealed_secret: str):
    """Store a pending TOTP secret unless TOTP is on; the row (``email``), or None."""
    return await pool.fetchrow(
        "UPDATE users SET totp_secret = $2 WHERE account_id = $1 AND NOT totp_enabled "
        "RETURNING email", account_id, sealed_secret)


async def totp_state_for_update(conn, account_id: int):
    """``totp_secret``, ``totp_enabled``, ``totp_last_step``, the row locked."""
    return await conn.fetchrow(
        "SELECT totp_secret, totp_enabled, totp_last_step FROM users "
        "WHERE account_id = $1 FOR UPDATE", account_id)


async def spend_totp_step(conn, account_id: int, step: int) -> bool:
    """Spend a TOTP time step (so no code of it or before works again); whether it was new."""
    return await conn.fetchval(
        "UPDATE users SET totp_last_step = $2 WHERE account_id = $1 AND totp_last_step < $2 "
        "RETURNING true", account_id, step) is not None


async def enable_totp(conn, account_id: int) -> None:
    await conn.execute("UPDATE users SET totp_enabled = true WHERE account_id = $1",
                       account_id)
