"""Notifications and price alerts (``/api/v1/notifications``, ``/api/v1/alerts``).

``Notifier`` is a batcher listener: from committed events it notes, per
account, order status changes (filled, partially filled, cancelled, expired,
and orders refused) and risk refusals, and the range of trade prices per
symbol. Every ``coalesce_s`` seconds it turns what it noted into
notifications: one per order (its latest state, with the number of fills
in the window), or a single summary when an account had more than
``MAX_PER_BURST`` in the window, so a burst does not flood anyone; and it
fires the price alerts the window's prices reached (``above``: a trade at or
over the price; ``below``: at or under). A one-shot alert then ends; a
repeating one re-arms once the last price is back on the other side.
Notifications are stored, then pushed on the private WebSocket (hub stream
``@notify:<account>``) as ``{"e": "notification", ...}`` and handed to each of
``listeners`` (the stored rows; e.g. ``account_mail`` mails opted-in fills and
alerts), which must not block.
"""

import asyncio
import logging

import orjson
from aiohttp import web

from .. import tasks
from ..keys import NOTIFIER, POOL, VENUE
from ..engine import CommandRejected, ExecType, OrderUpdated, Traded
from ..engine.instrument import RuleViolation
from ..store.queries import alerts as alert_queries
from ..store.queries import notifications as notification_queries
from . import body, errors, query
from .body import json
from .history import iso
from .session import authenticate

log = logging.getLogger(__name__)
routes = web.RouteTableDef()

COALESCE_S = 1.0
MAX_PER_BURST = 5          # more order notifications than this in a window: one summary
MAX_ALERTS = 100           # active price alerts per account
ORDER_STATUSES = {"FILLED", "PARTIALLY_FILLED", "CANCELED", "EXPIRED", "EXPIRED_IN_MATCH"}
RISK_PREFIX = "RISK_"      # Reason values of pre-trade risk refusals


def notify_stream(account: int) -> str:
    """The hub stream carrying an account's notifications (internal: starts with '@')."""
    return f"@notify:{account}"


class Alert:
    __slots__ = ("alert_id", "account", "symbol", "direction", "price", "repeating", "armed")

    def __init__(self, row):
        self.alert_id, self.account, self.symbol = row["alert_id"], row["account_id"], row["symbol"]
        self.direction, self.price = row["direction"], row["price"]
        self.repeating, self.armed = row["repeating"], row["armed"]

    def reached(self, low: int, high: int) -> bool:
        return high >= self.price if self.direction == "above" else low <= self.price

    def back(self, last: int) -> bool:
        """Whether the last price is on the other side again (re-arms a repeating alert)."""
        return last < self.price if self.direction == "above" else last > self.price


class Notifier:
    def __init__(self, pool, sequencer, hub=None, *, coalesce_s: float = COALESCE_S):
        self.pool = pool
        self.markets = sequencer.market_views
        self.hub = hub
        self.coalesce_s = coalesce_s
        self.orders = {}     # account -> {order_id: [last OrderUpdated, fills]}
        self.refusals = []   # CommandRejected of orders
        self.prices = {}     # symbol -> [low, high, last] traded in the window
        self.alerts = {}     # symbol -> {alert_id: Alert}, active ones
        self.listeners = []  # called with the stored notification rows of each window
        self._task = None

    async def start(self) -> None:
        for row in await alert_queries.active(self.pool):
            self.add_alert(Alert(row))
        self._task = asyncio.get_running_loop().create_task(
            tasks.repeat(self.coalesce_s, self.flush, "notification flush"), name="notifier")

    async def stop(self) -> None:
        await tasks.stop(self._task)
        self._task = None
        await self.flush()

    def add_alert(self, alert: Alert) -> None:
        self.alerts.setdefault(alert.symbol, {})[alert.alert_id] = alert

    def remove_alert(self, symbol: str, alert_id: int) -> None:
        self.alerts.get(symbol, {}).pop(alert_id, None)

    # ---- after each commit -------------------------------------------------------

    def on_commit(self, batch) -> None:
        for _, events in batch:
            for ev in events:
                t = type(ev)
                if t is OrderUpdated:
                    if ev.status in ORDER_STATUSES:
                        mine = self.orders.setdefault(ev.account, {})
                        entry = mine.get(ev.order_id)
                        fills = (entry[1] if entry else 0) + (ev.exec_type is ExecType.TRADE)
                        mine[ev.order_id] = [ev, fills]
                elif t is Traded:
                    p = self.prices.get(ev.symbol)
                    if p is None:
                        self.prices[ev.symbol] = [ev.price, ev.price, ev.price]
                    else:
                        p[0], p[1], p[2] = min(p[0], ev.price), max(p[1], ev.price), ev.price
                elif t is CommandRejected and ev.account is not None and ev.symbol is not None:
                    self.refusals.append(ev)

    # ---- every window ------------------------------------------------------------------

    async def flush(self) -> None:
        """Store and push what the last window noted; fire the alerts it reached."""
        orders, self.orders = self.orders, {}
        refusals, self.refusals = self.refusals, []
        prices, self.prices = self.prices, {}
        rows = []   # (account, kind, title, detail, seq)
        for account, updates in orders.items():
            if len(updates) > MAX_PER_BURST:
                counts = {}
                for ev, _ in updates.values():
                    counts[str(ev.status)] = counts.get(str(ev.status), 0) + 1
                seq = max(ev.seq for ev, _ in updates.values())
                rows.append((account, "ORDER", f"{len(updates)} orders updated",
                             {"orders": len(updates), "statuses": counts}, seq))
                continue
            for ev, fills in updates.values():
                rows.append((account, "ORDER", self._order_title(ev),
                             self._order_detail(ev, fills), ev.seq))
        for ev in refusals:
            kind = "RISK" if str(ev.reason).startswith(RISK_PREFIX) else "ORDER"
            rows.append((ev.account, kind, f"{ev.symbol} order refused: {ev.reason}",
                         {"symbol": ev.symbol, "reason": str(ev.reason),
                          "client_order_id": ev.client_order_id}, ev.seq))
        fired, rearmed = [], []
        for symbol, (low, high, last) in prices.items():
            for alert in list(self.alerts.get(symbol, {}).values()):
                if alert.armed and alert.reached(low, high):
                    fired.append(alert)
                    inst = self.markets[symbol].inst
                    rows.append((alert.account, "PRICE_ALERT",
                                 f"{symbol} {alert.direction} {inst.price_str(alert.price)}",
                                 {"alert_id": alert.alert_id, "symbol": symbol,
                                  "direction": alert.direction,
                                  "price": inst.price_str(alert.price),
                                  "last_price": inst.price_str(last),
                                  "repeating": alert.repeating}, None))
                    if alert.repeating:
                        alert.armed = alert.back(last)   # a spike that came back re-arms
                    else:
                        self.remove_alert(symbol, alert.alert_id)
                elif not alert.armed and alert.back(last):
                    alert.armed = True
                    rearmed.append(alert)
        if not rows and not rearmed:
            return
        stored = await notification_queries.store_window(
            self.pool, [(a.alert_id, a.repeating, a.armed) for a in fired],
            [a.alert_id for a in rearmed], rows)
        if self.hub is not None:
            for row in stored:
                stream = notify_stream(row["account_id"])
                if self.hub.wanted(stream):
                    self.hub.publish(stream, orjson.dumps({"e": "notification",
                                                           **notification_json(row)}))
        for listener in self.listeners:
            try:
                listener(stored)
            except Exception:
                log.exception("notification listener failed")

    def _order_title(self, ev) -> str:
        words = {"FILLED": "filled", "PARTIALLY_FILLED": "partially filled",
                 "CANCELED": "cancelled", "EXPIRED": "expired",
                 "EXPIRED_IN_MATCH": "expired (self-trade prevention)"}
        return f"{ev.symbol} {ev.side} order {ev.order_id} {words[str(ev.status)]}"

    def _order_detail(self, ev, fills: int) -> dict:
        inst = self.markets[ev.symbol].inst
        return {"symbol": ev.symbol, "order_id": ev.order_id,
                "client_order_id": ev.client_order_id, "side": str(ev.side),
                "status": str(ev.status), "executed_qty": inst.qty_str(ev.executed_qty),
                "cum_quote": inst.quote_str(ev.cum_quote), "fills": fills}


def notification_json(row) -> dict:
    detail = row["detail"]
    return {"notification_id": row["notification_id"], "kind": row["kind"],
            "title": row["title"],
            "detail": orjson.loads(detail) if isinstance(detail, str) else detail,
            "seq": row["seq"], "created_at": iso(row["created_at"]),
            "read": row["read_at"] is not None}






# ---- routes --------------------------------------------------------------------------

@routes.get("/api/v1/notifications")
async def list_notifications(request: web.Request) -> web.Response:
    caller = await authenticate(request)
    q = query.Query(request, {"unread", "limit", "before"})
    unread = q.choice("unread", ("true", "false")) == "true"
    limit = q.int("limit", 1, 500, 50)
    before = q.int("before", 1, query.MAX_ID)
    pool = request.app[POOL]
    rows = await notification_queries.page(pool, caller.account_id, unread_only=unread,
                                           before=before, limit=limit)
    unread_count = await notification_queries.unread_count(pool, caller.account_id)
    return json({"notifications": [notification_json(r) for r in rows],
                 "unread_count": unread_count,
                 "next_before": rows[-1]["notification_id"] if len(rows) == limit else None})


@routes.post("/api/v1/notifications/read")
async def mark_read(request: web.Request) -> web.Response:
    caller = await authenticate(request)
    data = await body.read_object(request, {"ids", "all"})
    ids, everything = data.get("ids"), data.get("all")
    if everything is not None and type(everything) is not bool:
        raise errors.invalid_field("all", "must be true or false")
    if everything is True and ids is not None:
        raise errors.invalid_field("ids", "cannot be sent with all")
    if everything is not True and ids is None:
        raise errors.missing_field("ids")
    if ids is not None and (type(ids) is not list or not ids or len(ids) > 1000 or any(
            type(i) is not int or not 0 < i <= query.MAX_ID for i in ids)):
        raise errors.invalid_field("ids", "must be a list of 1 to 1000 notification ids")
    marked = await notification_queries.mark_read(request.app[POOL], caller.account_id, ids)
    return json({"marked": marked})


def alert_json(row, inst) -> dict:
    return {"alert_id": row["alert_id"], "symbol": row["symbol"], "direction": row["direction"],
            "price": inst.price_str(row["price"]), "repeating": row["repeating"],
            "active": row["active"], "triggered_count": row["triggered_count"],
            "last_triggered_at": iso(row["last_triggered_at"]),
            "created_at": iso(row["created_at"])}


@routes.get("/api/v1/alerts")
async def list_alerts(request: web.Request) -> web.Response:
    caller = await authenticate(request)
    body.no_query(request)
    markets = request.app[VENUE].sequencer.market_views
    rows = await alert_queries.of_account(request.app[POOL], caller.account_id)
    return json({"alerts": [alert_json(r, markets[r["symbol"]].inst) for r in rows
                            if r["symbol"] in markets]})


@routes.post("/api/v1/alerts")
async def create_alert(request: web.Request) -> web.Response:
    caller = await authenticate(request)
    data = await body.read_object(request, {"symbol", "direction", "price", "repeating"})
    markets = request.app[VENUE].sequencer.market_views
    symbol = body.string(data, "symbol", max_len=20)
    mkt = markets.get(symbol) or markets.get(symbol.upper())
    if mkt is None:
        raise errors.unknown_symbol(symbol)
    direction = body.string(data, "direction", max_len=10)
    if direction not in ("above", "below"):
        raise errors.invalid_field("direction", "must be 'above' or 'below'")
    try:
        price = mkt.inst.price_ticks(body.string(data, "price", max_len=40))
    except RuleViolation as e:
        raise errors.invalid_field("price", f"is not a valid price: {e}") from None
    repeating = data.get("repeating", False)
    if type(repeating) is not bool:
        raise errors.invalid_field("repeating", "must be true or false")
    row = await alert_queries.create(request.app[POOL], caller.account_id, mkt.inst.symbol,
                                     direction, price, repeating, max_active=MAX_ALERTS)
    if row is None:
        raise errors.PlatformError(409, "TOO_MANY_ALERTS",
                                   f"At most {MAX_ALERTS} active price alerts.")
    request.app[NOTIFIER].add_alert(Alert(row))
    return json(alert_json(row, mkt.inst), status=201)


@routes.delete("/api/v1/alerts/{alert_id}")
async def delete_alert(request: web.Request) -> web.Response:
    caller = await authenticate(request)
    body.no_query(request)
    alert_id = query.path_id(request, "alert_id")
    symbol = await alert_queries.deactivate(request.app[POOL], alert_id, caller.account_id)
    if symbol is None:
        raise errors.PlatformError(404, "UNKNOWN_ALERT", "No such active price alert.")
    request.app[NOTIFIER].remove_alert(symbol, alert_id)
    return json({"alert_id": alert_id, "active": False})
