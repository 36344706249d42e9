"""Deposits (the ``deposits`` view over the ledger) and withdrawals (``withdrawals``).

The batcher writes both tables' rows in the batch of their command; these read
them. Lists are newest first and page by a cursor column: ``before`` is the
last row's cursor of the previous page.
"""


async def _page(db, table: str, cursor: str, filters: dict, limit: int) -> list:
    """Rows of ``table`` matching ``filters`` (column -> value; a list or tuple value:
    any of them; None: no filter), newest first by ``cursor``, at most ``limit``."""
    where, args = [], []
    for column, value in filters.items():
        if value is None:
            continue
        args.append(list(value) if isinstance(value, (list, tuple)) else value)
        if column == "before":
            where.append(f"{cursor} < ${len(args)}")
        elif isinstance(value, (list, tuple)):
            where.append(f"{column} = ANY(${len(args)}::text[])")
        else:
            where.append(f"{column} = ${len(args)}")
    args.append(limit)
    return await db.fetch(f"SELECT * FROM {table} WHERE {' AND '.join(where) or 'true'} "
                          f"ORDER BY {cursor} DESC LIMIT ${len(args)}", *args)


async def deposits(db, *, account_id: int, asset: str | None = None,
                   before: int | None = None, limit: int) -> list:
    """An account's deposits, newest first."""
    return await _page(db, "deposits", "deposit_id",
                       {"account_id": account_id, "asset": asset, "before": before}, limit)


async def deposit(db, deposit_id: int, account_id: int):
    """One deposit of an account (its id is the seq of its Deposit command), or None."""
    return await db.fetchrow("SELECT * FROM deposits WHERE deposit_id = $1 AND account_id = $2",
                             deposit_id, account_id)


async def withdrawals(db, *, account_id: int | None = None, statuses=None,
                      asset: str | None = None, before: int | None = None, limit: int) -> list:
    """Withdrawals (an account's, or everyone's), newest first by request seq."""
    return await _page(db, "withdrawals", "requested_seq",
                       {"asset": asset, "status": statuses, "account_id": account_id,
                        "before": before}, limit)


async def next_withdrawal_id(db) -> str:
    """A new withdrawal id (from the ``withdrawal_ids`` sequence)."""
    return str(await db.fetchval("SELECT nextval('withdrawal_ids')"))


async def requested(db, seq: int):
    """The withdrawal requested by the command ``seq``, or None."""
    return await db.fetchrow("SELECT * FROM withdrawals WHERE requested_seq = $1", seq)


async def resolved(db, withdrawal_id: str, seq: int):
    """The withdrawal ``withdrawal_id`` resolved by the command ``seq``, or None."""
    return await db.fetchrow(
        "SELECT * FROM withdrawals WHERE withdrawal_id = $1 AND resolved_seq = $2",
        withdrawal_id, seq)


async def last_status(db, withdrawal_id: str) -> str | None:
    """The status of the latest withdrawal with this id, or None when there is none."""
    return await db.fetchval("SELECT status FROM withdrawals WHERE withdrawal_id = $1 "
                             "ORDER BY requested_seq DESC LIMIT 1", withdrawal_id)
