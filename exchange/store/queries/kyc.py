"""Know-your-customer status of accounts (``accounts.kyc_*``, migration 0008)."""

_ROW = "account_id, kyc_status, kyc_note, kyc_set_by, kyc_set_at"


async def status(db, account_id: int) -> str | None:
    """The account's KYC status, or None when there is no such account."""
    return await db.fetchval("SELECT kyc_status FROM accounts WHERE account_id = $1",
                             account_id)


async def set_status(conn, account_id: int, status: str, note: str | None, by: int):
    """Set the status in the caller's transaction (the account row locked first); return
    ``(previous status, the row)``, or ``(None, None)`` when there is no such account."""
    previous = await conn.fetchval(
        "SELECT kyc_status FROM accounts WHERE account_id = $1 FOR UPDATE", account_id)
    if previous is None:
        return None, None
    row = await conn.fetchrow(
        f"UPDATE accounts SET kyc_status = $2, kyc_note = $3, kyc_set_by = $4, "
        f"kyc_set_at = now() WHERE account_id = $1 RETURNING {_ROW}",
        account_id, status, note, by)
    return previous, row


async def submit(db, account_id: int):
    """Make a NONE or REJECTED status PENDING; return the row, or None when the status
    was neither (left as it is)."""
    return await db.fetchrow(
        f"UPDATE accounts SET kyc_status = 'PENDING', kyc_set_by = NULL, kyc_set_at = now() "
        f"WHERE account_id = $1 AND kyc_status IN ('NONE', 'REJECTED') RETURNING {_ROW}",
        account_id)
