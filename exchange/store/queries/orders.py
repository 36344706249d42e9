"""One account's orders, from the ``orders`` table (the journal's current state)."""

from .trades import in_range

_COLUMNS = ("order_id, account_id, symbol, client_order_id, side, type, tif, price, qty, "
            "quote_qty, stop_price, display_qty, stp, working, status, executed_qty, "
            "cum_quote, created_ts_ns, updated_ts_ns")


async def one(pool, account: int, symbol: str, order_id=None, client_order_id=None):
    """One of the account's orders on ``symbol``, by id or client id (the newest such),
    or None."""
    if order_id is not None:
        return await pool.fetchrow(
            f"SELECT {_COLUMNS} FROM orders WHERE order_id = $1 AND account_id = $2 "
            f"AND symbol = $3", order_id, account, symbol)
    return await pool.fetchrow(
        f"SELECT {_COLUMNS} FROM orders WHERE account_id = $1 AND client_order_id = $2 "
        f"AND symbol = $3 ORDER BY order_id DESC LIMIT 1", account, client_order_id, symbol)


async def client_id_used(pool, account: int, client_order_id: str) -> bool:
    """Whether the account ever placed an order with this client id."""
    return await pool.fetchval(
        "SELECT EXISTS (SELECT 1 FROM orders WHERE account_id = $1 AND client_order_id = $2)",
        account, client_order_id)


async def open_of(pool, account: int, symbol: str | None) -> list:
    """The account's open orders (NEW, PARTIALLY_FILLED), of ``symbol`` or all, by id."""
    if symbol is None:
        return await pool.fetch(
            f"SELECT {_COLUMNS} FROM orders WHERE account_id = $1 "
            f"AND status IN ('NEW', 'PARTIALLY_FILLED') ORDER BY order_id", account)
    return await pool.fetch(
        f"SELECT {_COLUMNS} FROM orders WHERE account_id = $1 AND symbol = $2 "
        f"AND status IN ('NEW', 'PARTIALLY_FILLED') ORDER BY order_id", account, symbol)


async def all_of(pool, account: int, symbol: str, from_id, start_ms, end_ms, limit: int) -> list:
    """The account's orders on ``symbol`` from order id ``from_id`` and/or created within
    [start, end] ms: the first ``limit`` of a given start, else the newest; oldest first."""
    where, args = ["account_id = $1", "symbol = $2"], [account, symbol]
    in_range(where, args, "order_id", from_id, "created_ts_ns", start_ms, end_ms)
    args.append(limit)
    if from_id is None and start_ms is None:  # the newest, shown oldest first
        rows = await pool.fetch(
            f"SELECT {_COLUMNS} FROM orders WHERE {' AND '.join(where)} "
            f"ORDER BY order_id DESC LIMIT ${len(args)}", *args)
        return rows[::-1]
    return await pool.fetch(
        f"SELECT {_COLUMNS} FROM orders WHERE {' AND '.join(where)} "
        f"ORDER BY order_id LIMIT ${len(args)}", *args)


async def page(pool, account: int, *, limit: int, symbol=None, side=None, statuses=None,
               before=None, after=None, start_ns=None, end_ns=None) -> list:
    """One page of the account's orders (whole rows), newest first: ``limit`` orders with
    ids below ``before`` and above ``after``, created at ``start_ns`` or later and before
    ``end_ns``, of ``symbol``, ``side`` and one of ``statuses``. With only ``after``, the
    page is the oldest ``limit`` newer than it, so that walking forward skips nothing."""
    args = []

    def param(value) -> str:
        args.append(value)
        return f"${len(args)}"

    where = []
    for condition, value in (("order_id < ", before), ("order_id > ", after),
                             ("created_ts_ns >= ", start_ns), ("created_ts_ns < ", end_ns),
                             ("symbol = ", symbol), ("account_id = ", account),
                             ("side = ", side)):
        if value is not None:
            where.append(condition + param(value))
    if statuses is not None:
        where.append(f"status = ANY({param(list(statuses))}::text[])")
    ascending = after is not None and before is None
    rows = await pool.fetch(
        f"SELECT * FROM orders WHERE {' AND '.join(where)} "
        f"ORDER BY order_id {'ASC' if ascending else 'DESC'} LIMIT {param(limit)}", *args)
    return rows[::-1] if ascending else rows
