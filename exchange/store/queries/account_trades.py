"""One account's side of its trades: a trade where it was the maker, the taker, or both
(a self-trade)."""

from .trades import in_range

_PAGE_COLUMNS = ("trade_id, ts_ns, symbol, price, qty, quote_qty, maker_order_id, "
                 "taker_order_id, maker_account, taker_account, taker_side, maker_fee, taker_fee")


async def sides(pool, account: int, symbol: str, order_id, from_id, start_ms, end_ms,
                limit: int) -> list:
    """The account's side of each of its trades on ``symbol`` (a self-trade gives two rows:
    trade_id, ts_ns, symbol, price, qty, quote_qty, order_id, is_buyer, is_maker, fee),
    optionally of one order, from trade id ``from_id`` and/or within [start, end] ms:
    the first ``limit`` of a given start, else the newest ``limit``; oldest first."""
    where, args = ["symbol = $2"], [account, symbol]
    if order_id is not None:
        args.append(order_id)
        where.append(f"order_id = ${len(args)}")
    in_range(where, args, "trade_id", from_id, "ts_ns", start_ms, end_ms)
    args.append(limit)
    newest = from_id is None and start_ms is None
    rows = await pool.fetch(f"""
        SELECT * FROM (
            SELECT trade_id, ts_ns, symbol, price, qty, quote_qty, maker_order_id AS order_id,
                   taker_side <> 'buy' AS is_buyer, true AS is_maker, maker_fee AS fee
            FROM trades WHERE maker_account = $1 AND symbol = $2
            UNION ALL
            SELECT trade_id, ts_ns, symbol, price, qty, quote_qty, taker_order_id AS order_id,
                   taker_side = 'buy' AS is_buyer, false AS is_maker, taker_fee AS fee
            FROM trades WHERE taker_account = $1 AND symbol = $2
        ) AS mine WHERE {' AND '.join(where)}
        ORDER BY trade_id {'DESC' if newest else 'ASC'}, is_maker LIMIT ${len(args)}""", *args)
    return rows[::-1] if newest else rows


async def page(pool, account: int, *, limit: int, symbol=None, side=None, before=None,
               after=None, start_ns=None, end_ns=None) -> list:
    """One page of the account's trades (one row per trade, a self-trade once, with both
    accounts, order ids and fees), newest first: ``limit`` trades with ids below
    ``before`` and above ``after``, at ``start_ns`` or later and before ``end_ns``, of
    ``symbol``, where the account's side is ``side`` ("buy"/"sell": the taker's side, or
    the opposite as maker). With only ``after``, the page is the oldest ``limit`` newer
    than it, so that walking forward with ``after`` skips nothing.

    Two halves (as maker, as taker), each limited in index order, merged.
    """
    args = []

    def param(value) -> str:
        args.append(value)
        return f"${len(args)}"

    where = []
    for condition, value in (("trade_id < ", before), ("trade_id > ", after),
                             ("ts_ns >= ", start_ns), ("ts_ns < ", end_ns),
                             ("symbol = ", symbol)):
        if value is not None:
            where.append(condition + param(value))
    me = param(account)
    if side is not None:
        s = param(side)
        maker_cond, taker_cond = f"taker_side <> {s}", f"taker_side = {s}"
    else:
        maker_cond = taker_cond = "true"
    ascending = after is not None and before is None
    lim, order = param(limit), f"trade_id {'ASC' if ascending else 'DESC'}"

    def half(*conds) -> str:
        return " AND ".join(list(conds) + where)

    rows = await pool.fetch(f"""
        SELECT * FROM (
            (SELECT {_PAGE_COLUMNS} FROM trades
             WHERE {half(f"maker_account = {me}", maker_cond)} ORDER BY {order} LIMIT {lim})
            UNION
            (SELECT {_PAGE_COLUMNS} FROM trades
             WHERE {half(f"taker_account = {me}", taker_cond)} ORDER BY {order} LIMIT {lim})
        ) AS mine ORDER BY {order} LIMIT {lim}""", *args)
    return rows[::-1] if ascending else rows


async def for_costing(pool, account: int) -> list:
    """Every trade of the account as (symbol, trade_id, qty, quote_qty, fee, is_buy,
    is_maker), by symbol and trade id, a self-trade's maker (the sale) first."""
    return await pool.fetch("""
        SELECT symbol, trade_id, qty, quote_qty, fee, is_buy, is_maker FROM (
            SELECT symbol, trade_id, qty, quote_qty, maker_fee AS fee,
                   taker_side <> 'buy' AS is_buy, true AS is_maker
            FROM trades WHERE maker_account = $1
            UNION ALL
            SELECT symbol, trade_id, qty, quote_qty, taker_fee AS fee,
                   taker_side = 'buy' AS is_buy, false AS is_maker
            FROM trades WHERE taker_account = $1
        ) AS mine ORDER BY symbol, trade_id, is_maker DESC""", account)


async def until(pool, account: int, symbol=None, end_ns=None) -> list:
    """The account's side of each of its trades (trade_id, ts_ns, symbol, price, qty,
    quote_qty, fee, order_id, is_buy, is_maker), of ``symbol`` if given, before ``end_ns``
    if given, in trade order (a self-trade's sale first)."""
    args = [account]
    extra = ""
    if symbol is not None:
        args.append(symbol)
        extra += f" AND symbol = ${len(args)}"
    if end_ns is not None:
        args.append(end_ns)
        extra += f" AND ts_ns < ${len(args)}"
    return await pool.fetch(f"""
        SELECT * FROM (
            SELECT trade_id, ts_ns, symbol, price, qty, quote_qty, maker_fee AS fee,
                   maker_order_id AS order_id, taker_side <> 'buy' AS is_buy, true AS is_maker
            FROM trades WHERE maker_account = $1 {extra}
            UNION ALL
            SELECT trade_id, ts_ns, symbol, price, qty, quote_qty, taker_fee AS fee,
                   taker_order_id AS order_id, taker_side = 'buy' AS is_buy, false AS is_maker
            FROM trades WHERE taker_account = $1 {extra}
        ) AS mine ORDER BY trade_id, is_buy""", *args)
