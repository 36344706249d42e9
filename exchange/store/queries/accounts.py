"""Accounts: creating them (the one place), finding them, their role and beneficial owner.

``accounts.account_id`` is an identity column (migration 0011): ids come from
its sequence, so concurrent creations get distinct ids without a table lock
(a creation that rolls back leaves a gap, which nothing relies on).
"""

from ... import parse


async def create(db, name: str):
    """Create an account named ``name`` (unique: asyncpg.UniqueViolationError otherwise);
    return its row ``(account_id, created_at)``. Joins the caller's transaction when ``db``
    is a connection in one (so its login or API key commit with it)."""
    return await db.fetchrow(
        "INSERT INTO accounts (name) VALUES ($1) RETURNING account_id, created_at", name)


async def named(db, name: str) -> int | None:
    """The id of the account named ``name``, or None."""
    return await db.fetchval("SELECT account_id FROM accounts WHERE name = $1", name)


async def exists(db, account_id: int) -> bool:
    """Whether there is an account ``account_id``."""
    return bool(await db.fetchval("SELECT 1 FROM accounts WHERE account_id = $1", account_id))


async def find(db, who: str) -> int | None:
    """The account an id (ASCII digits, by ``exchange.parse``) or a login email names, or None."""
    try:
        account_id = parse.integer(who, 1)
    except parse.BadNumber:
        return await db.fetchval("SELECT account_id FROM users WHERE email = $1", who.lower())
    return await db.fetchval("SELECT account_id FROM accounts WHERE account_id = $1", account_id)


async def set_role(conn, account_id: int, role: str) -> str:
    """Give the account ``role`` in the caller's transaction; return its previous role."""
    previous = await conn.fetchval(
        "SELECT role FROM accounts WHERE account_id = $1 FOR UPDATE", account_id)
    await conn.execute("UPDATE accounts SET role = $2 WHERE account_id = $1", account_id, role)
    return previous


async def set_beneficial_owner(conn, account_id: int, owner: str | None) -> str | None:
    """Mark the account's beneficial owner (None: itself) in the caller's transaction;
    return the previous one."""
    previous = await conn.fetchval(
        "SELECT beneficial_owner FROM accounts WHERE account_id = $1 FOR UPDATE", account_id)
    await conn.execute("UPDATE accounts SET beneficial_owner = $2 WHERE account_id = $1",
                       account_id, owner)
    return previous


async def beneficial_owners(db) -> dict:
    """``{account_id: beneficial owner}`` of the accounts that have one."""
    rows = await db.fetch("SELECT account_id, beneficial_owner FROM accounts "
                          "WHERE beneficial_owner IS NOT NULL")
    return {r["account_id"]: r["beneficial_owner"] for r in rows}
