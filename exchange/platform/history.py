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
from ..store.queries import account_trades
from ..store.queries import orders as order_queries
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
    """The parsed paging and filters of a history request (plain values; the query
    functions of ``exchange.store.queries`` turn them into SQL)."""

    def __init__(self, request: web.Request, names: frozenset):
        q = query.Query(request, names)
        self.symbol = q.symbol(request.app[VENUE].sequencer.market_views)
        self.side = q.choice("side", SIDES)
        self.statuses = q.choices("status", STATUSES) if "status" in names else None
        start = q.time_ms("start_time")
        end = q.time_ms("end_time")
        self.limit = q.int("limit", 1, MAX_LIMIT, DEFAULT_LIMIT)
        self.before = q.int("before", 1, query.MAX_ID)
        self.after = q.int("after", 0, query.MAX_ID)
        self.start_ns = None if start is None else start * 1_000_000
        self.end_ns = None if end is None else end * 1_000_000

    def filters(self) -> dict:
        """The keyword arguments of ``orders.page`` and ``account_trades.page``."""
        return {"limit": self.limit, "symbol": self.symbol, "side": self.side,
                "before": self.before, "after": self.after, "start_ns": self.start_ns,
                "end_ns": self.end_ns}


@routes.get("/api/v1/orders")
async def orders(request: web.Request) -> web.Response:
    """The caller's orders, newest first, paged by order id, filtered."""
    caller = await authenticate(request)
    page = Page(request, _ORDER_NAMES)
    rows = await order_queries.page(request.app[POOL], caller.account_id,
                                    statuses=page.statuses, **page.filters())
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
    page = Page(request, _TRADE_NAMES)
    rows = await account_trades.page(request.app[POOL], caller.account_id, **page.filters())
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
