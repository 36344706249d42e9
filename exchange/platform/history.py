"""The logged-in user's orders (``GET /api/v1/orders``) and trades (``GET /api/v1/trades``).

Read from PostgreSQL (the write-behind journal's tables), newest first, in
pages: ``limit`` (default 50, at most 500), ``before``/``after`` (exclusive
id cursors), filters ``symbol``, ``side``, ``status`` (orders),
``start_time``/``end_time`` (ms since the epoch, start inclusive, end
exclusive; orders by creation time). Amounts are decimal strings in the
instrument's units. ``next_before`` is the cursor of the next older page,
or null when this page is the last.
"""

from datetime import datetime, timezone

from aiohttp import web

from ..keys import POOL, VENUE
from . import query
from .body import json
from .session import authenticate

routes = web.RouteTableDef()

DEFAULT_LIMIT = 50
MAX_LIMIT = 500
SIDES = ("buy", "sell")
STATUSES = ("NEW", "PARTIALLY_FILLED", "FILLED", "CANCELED", "REJECTED", "EXPIRED",
            "EXPIRED_IN_MATCH")
_ORDER_NAMES = frozenset({"symbol", "side", "status", "start_time", "end_time", "limit",
                          "before", "after"})
_TRADE_NAMES = _ORDER_NAMES - {"status"}


def iso_ns(ts_ns: int) -> str:
    """An ns timestamp as ISO 8601 UTC with milliseconds (``2024-05-01T12:00:00.123Z``)."""
    dt = datetime.fromtimestamp(ts_ns // 1_000_000_000, timezone.utc)
    return f"{dt:%Y-%m-%dT%H:%M:%S}.{ts_ns // 1_000_000 % 1000:03d}Z"


def iso(dt) -> str | None:
    """A timestamptz as ISO 8601 UTC with milliseconds, like ``iso_ns``; None stays None."""
    if dt is None:
        return None
    return dt.astimezone(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


class Page:
    """The parsed paging and filters of a history request, as SQL conditions."""

    def __init__(self, request: web.Request, names: frozenset, id_column: str,
                 time_column: str):
        q = query.Query(request, names)
        self.symbol = q.symbol(request.app[VENUE].sequencer.market_views)
        self.side = q.choice("side", SIDES)
        self.statuses = q.choices("status", STATUSES) if "status" in names else None
        start = q.time_ms("start_time")
        end = q.time_ms("end_time")
        self.limit = q.int("limit", 1, MAX_LIMIT, DEFAULT_LIMIT)
        before = q.int("before", 1, query.MAX_ID)
        after = q.int("after", 0, query.MAX_ID)
        self.where, self.args = [], []
        for cond, value in ((f"{id_column} < ", before), (f"{id_column} > ", after),
                            (f"{time_column} >= ", None if start is None else start * 1_000_000),
                            (f"{time_column} < ", None if end is None else end * 1_000_000)):
            if value is not None:
                self.add(cond, value)
        if self.symbol is not None:
            self.add("symbol = ", self.symbol)
        # With only ``after``, the page is the oldest ``limit`` newer than it (shown newest first),
        # so that walking forward with ``after`` skips nothing.
        self.ascending = after is not None and before is None

    def param(self, value) -> str:
        """Bind ``value``; return its placeholder."""
        self.args.append(value)
        return f"${len(self.args)}"

    def add(self, condition: str, value) -> None:
        self.where.append(condition + self.param(value))

    def sql_where(self, *extra: str) -> str:
        return " AND ".join(list(extra) + self.where) or "true"

    def order(self, id_column: str) -> str:
        return f"{id_column} {'ASC' if self.ascending else 'DESC'}"

    def finish(self, rows: list) -> list:
        """Rows newest first."""
        return rows[::-1] if self.ascending else rows


@routes.get("/api/v1/orders")
async def orders(request: web.Request) -> web.Response:
    """The caller's orders, newest first, paged by order id, filtered."""
    caller = await authenticate(request)
    page = Page(request, _ORDER_NAMES, "order_id", "created_ts_ns")
    page.add("account_id = ", caller.account_id)
    if page.side is not None:
        page.add("side = ", page.side)
    if page.statuses is not None:
        page.where.append(f"status = ANY({page.param(page.statuses)}::text[])")
    rows = await request.app[POOL].fetch(
        f"SELECT * FROM orders WHERE {page.sql_where()} "
        f"ORDER BY {page.order('order_id')} LIMIT {page.param(page.limit)}", *page.args)
    rows = page.finish(rows)
    markets = request.app[VENUE].sequencer.market_views
    out = [order_json(markets[r["symbol"]].inst, r) for r in rows]
    return json({"orders": out,
                 "next_before": rows[-1]["order_id"] if len(rows) == page.limit else None})


def order_json(inst, r) -> dict:
    """A row of the ``orders`` table, amounts as decimal strings."""
    def opt(fmt, value):
        return None if value is None else fmt(int(value))
    return {"order_id": r["order_id"], "client_order_id": r["client_order_id"],
            "symbol": r["symbol"], "side": r["side"], "type": r["type"],
            "time_in_force": r["tif"], "status": r["status"], "working": r["working"],
            "price": opt(inst.price_str, r["price"]), "quantity": opt(inst.qty_str, r["qty"]),
            "quote_quantity": opt(inst.quote_str, r["quote_qty"]),
            "stop_price": opt(inst.price_str, r["stop_price"]),
            "iceberg_quantity": opt(inst.qty_str, r["display_qty"]),
            "executed_quantity": inst.qty_str(r["executed_qty"]),
            "cumulative_quote": inst.quote_str(int(r["cum_quote"])),
            "self_trade_prevention": r["stp"],
            "created_at": iso_ns(r["created_ts_ns"]), "updated_at": iso_ns(r["updated_ts_ns"])}


_TRADE_COLUMNS = ("trade_id, ts_ns, symbol, price, qty, quote_qty, maker_order_id, "
                  "taker_order_id, maker_account, taker_account, taker_side, maker_fee, taker_fee")


async def account_trades(pool, account: int, page: Page):
    """The account's trades (one row per trade, a self-trade once) for ``page``, newest first.

    Two halves (as maker, as taker), each limited in index order when a symbol is given, merged.
    """
    me = page.param(account)
    if page.side is not None:   # the account's side: the taker's, or the opposite as maker
        side = page.param(page.side)
        maker_cond, taker_cond = f"taker_side <> {side}", f"taker_side = {side}"
    else:
        maker_cond = taker_cond = "true"
    lim, order = page.param(page.limit), page.order("trade_id")
    rows = await pool.fetch(f"""
        SELECT * FROM (
            (SELECT {_TRADE_COLUMNS} FROM trades
             WHERE {page.sql_where(f"maker_account = {me}", maker_cond)} ORDER BY {order} LIMIT {lim})
            UNION
            (SELECT {_TRADE_COLUMNS} FROM trades
             WHERE {page.sql_where(f"taker_account = {me}", taker_cond)} ORDER BY {order} LIMIT {lim})
        ) AS mine ORDER BY {order} LIMIT {lim}""", *page.args)
    return page.finish(rows)


def trade_sides(account: int, r, side: str | None):
    """The account's sides of one trade: (side, role, order id, fee); two for a self-trade."""
    taker = r["taker_side"]
    maker = "sell" if taker == "buy" else "buy"
    out = []
    if r["taker_account"] == account and side in (None, taker):
        out.append((taker, "taker", r["taker_order_id"], int(r["taker_fee"])))
    if r["maker_account"] == account and side in (None, maker):
        out.append((maker, "maker", r["maker_order_id"], int(r["maker_fee"])))
    return out


@routes.get("/api/v1/trades")
async def trades(request: web.Request) -> web.Response:
    """The caller's trades, newest first, paged by trade id, with its side, role and fee.

    A self-trade is one trade with two entries (buy and sell); ``limit`` counts trades.
    """
    caller = await authenticate(request)
    page = Page(request, _TRADE_NAMES, "trade_id", "ts_ns")
    rows = await account_trades(request.app[POOL], caller.account_id, page)
    markets = request.app[VENUE].sequencer.market_views
    out = []
    for r in rows:
        inst = markets[r["symbol"]].inst
        for side, role, order_id, fee in trade_sides(caller.account_id, r, page.side):
            out.append({"trade_id": r["trade_id"], "order_id": order_id, "symbol": r["symbol"],
                        "side": side, "role": role, "price": inst.price_str(r["price"]),
                        "quantity": inst.qty_str(r["qty"]),
                        "quote_quantity": inst.quote_str(int(r["quote_qty"])),
                        "fee": inst.quote_str(fee), "fee_asset": inst.quote,
                        "time": iso_ns(r["ts_ns"])})
    return json({"trades": out,
                 "next_before": rows[-1]["trade_id"] if len(rows) == page.limit else None})
