"""Pre-trade risk on the platform API: the user's view, alerts, and the operator's controls.

- ``GET /api/v1/risk``: your limits (resolved, your own values and the
  venue's defaults), how much of each is used (open orders, position per
  symbol with open buys, daily traded notional), your holds (locked per
  asset) and whether your kill switch is active. Read from the sequencer's
  memory: the values the next order is checked against.
- ``GET /api/v1/risk/alerts``: your risk alerts (rejections for a limit or the
  kill switch, orders expired by a volatility halt), newest first.
- ``GET /api/v1/admin/risk/alerts`` (operator or compliance): everyone's,
  filter ``account_id``.
- ``PUT /api/v1/admin/accounts/{account_id}/risk-limits`` (operator): body
  ``{max_order_qty, max_order_notional, max_open_orders, max_position,
  max_daily_notional}``, each a non-negative integer (0 = unlimited) or null /
  absent (the venue default): a SetRiskLimits command.
- ``POST /api/v1/admin/accounts/{account_id}/kill-switch`` (operator):
  ``{active: bool}``: a SetKillSwitch command (activating cancels every open
  order of the account).
- ``POST /api/v1/admin/api-keys/{api_key}/kill-switch`` (operator) and
  ``POST /api/v1/api-keys/{api_key}/kill-switch`` (the key's owner):
  ``{active: bool}``: the kill switch of one API key (SetKillSwitch with
  ``api_key``): cancels the open orders entered with that key and refuses its
  new orders and amends until lifted; the account's other keys trade on.
- ``POST /api/v1/admin/instruments/{symbol}/status`` (operator):
  ``{status: TRADING | HALT | CANCEL_ONLY}``: a SetInstrumentStatus command.

Limits are integers in the engine's units (``exchange.engine.risk``):
quantities and positions in lots, notionals in quote minor units.

Each operator's command carries its admin record (``exchange.store.actions.record``):
the batcher writes the record in the transaction of the command's batch. The
SQL is in ``exchange.store.queries.risk``.
"""

import re

from aiohttp import web

from ..api.auth import order_source
from ..keys import POOL, VENUE
from ..engine import CommandRejected, OrderUpdated, SetInstrumentStatus, SetKillSwitch, SetRiskLimits
from ..engine.enums import InstrumentStatus
from ..engine.instrument import from_units, minor_unit
from ..engine.limits import LIMIT_FIELDS
from . import body, errors, query
from .body import json
from .errors import PlatformError
from .history import iso_ns
from ..store import actions
from ..store.queries import risk as queries
from .roles import path_account
from .session import authenticate, require_role

routes = web.RouteTableDef()

DEFAULT_LIMIT = 50
_API_KEY = re.compile(r"[A-Za-z0-9]{1,128}")
MAX_LIMIT = 500
# DELISTED is final and has its own route (exchange.platform.instruments).
STATUSES = tuple(s.value for s in InstrumentStatus if s is not InstrumentStatus.DELISTED)


def _limits_json(values) -> dict:
    return dict(zip(LIMIT_FIELDS, values))


def risk_view(seq, account: int, ts_ns: int) -> dict:
    """The risk state of ``account`` as the sequencer holds it."""
    state = seq.risk_state(account, ts_ns)
    limits = state.limits
    symbols = {}
    for symbol, mkt in sorted(seq.market_views.items()):
        inst = mkt.inst
        free, locked = seq.ledger.amounts(account, inst.base)
        orders, open_buy = state.by_symbol.get(symbol, (0, 0))
        if not (free or locked or orders):
            continue
        symbols[symbol] = {
            "status": str(mkt.status),
            "position": inst.base_str(free + locked),
            "position_lots": (free + locked) // inst.base_per_lot,
            "open_buy_lots": open_buy,
            "open_orders": orders,
            "max_position_lots": limits.max_position,
        }
    holds = {}
    for owner, asset, _, locked in seq.ledger.nonzero():
        if owner == account and locked:
            holds[asset] = from_units(locked, minor_unit(seq.assets.get(asset, 0)))
    return {
        "account_id": account,
        "kill_switch": state.kill_switch,
        "killed_api_keys": list(state.killed_api_keys),
        "limits": _limits_json(limits.values()),
        "own_limits": _limits_json(state.own_limits),
        "venue_defaults": _limits_json(state.defaults.values()),
        "usage": {
            "open_orders": state.open_orders,
            "daily_notional": state.daily_notional,
        },
        "holds": holds,
        "symbols": symbols,
        "halt_s": state.halt_s,
    }


def _alert_json(r) -> dict:
    return {"seq": r["seq"], "time": iso_ns(r["ts_ns"]), "account_id": r["account_id"],
            "symbol": r["symbol"], "reason": r["reason"],
            "client_order_id": r["client_order_id"], "order_id": r["order_id"]}


async def _alerts(request: web.Request, account: int | None, names: frozenset) -> web.Response:
    q = query.Query(request, names)
    if account is None and "account_id" in names:
        account = q.int("account_id", 0, query.MAX_ID)
    before = q.int("before", 1, query.MAX_ID)
    limit = q.int("limit", 1, MAX_LIMIT, DEFAULT_LIMIT)
    rows = await queries.alerts(request.app[POOL], account_id=account, before=before,
                                limit=limit)
    return json({"alerts": [_alert_json(r) for r in rows],
                 "next_before": rows[-1]["seq"] if len(rows) == limit else None})


async def _submit(request: web.Request, cmd) -> list:
    events = await request.app[VENUE].submit(cmd)
    for ev in events:
        if type(ev) is CommandRejected:
            raise PlatformError(400, str(ev.reason), f"The venue refused the command: {ev.reason}.")
    return events


# ---- the user -----------------------------------------------------------------------

@routes.get("/api/v1/risk")
async def my_risk(request: web.Request) -> web.Response:
    """Your limits, their usage, holds and exposure per symbol."""
    caller = await authenticate(request)
    body.no_query(request)
    venue = request.app[VENUE]
    return json(risk_view(venue.sequencer, caller.account_id, venue.now()))


@routes.get("/api/v1/risk/alerts")
async def my_alerts(request: web.Request) -> web.Response:
    """Your risk alerts, newest first: page ``limit``, ``before`` (a seq)."""
    caller = await authenticate(request)
    return await _alerts(request, caller.account_id, frozenset({"limit", "before"}))


# ---- operators ----------------------------------------------------------------------

@routes.get("/api/v1/admin/risk/alerts")
async def all_alerts(request: web.Request) -> web.Response:
    """Every account's risk alerts (operator or compliance): ``account_id``, ``limit``, ``before``."""
    caller = await authenticate(request)
    require_role(caller, "operator", "compliance")
    return await _alerts(request, None, frozenset({"account_id", "limit", "before"}))


@routes.put("/api/v1/admin/accounts/{account_id}/risk-limits")
async def set_limits(request: web.Request) -> web.Response:
    """Set an account's own limits (operators); null or absent: the venue default."""
    caller = await authenticate(request)
    require_role(caller, "operator")
    data = await body.read_object(request, frozenset(LIMIT_FIELDS))
    values = []
    for name in LIMIT_FIELDS:
        value = data.get(name)
        if value is not None and (type(value) is not int or not 0 <= value <= query.MAX_ID):
            raise errors.invalid_field(name, "must be a non-negative integer or null")
        values.append(value)
    account = await path_account(request)
    admin = actions.record(caller, "risk.limits", f"account:{account}", _limits_json(values))
    await _submit(request, SetRiskLimits(0, account, *values, admin=admin))
    venue = request.app[VENUE]
    return json(risk_view(venue.sequencer, account, venue.now()))


@routes.post("/api/v1/admin/accounts/{account_id}/kill-switch")
async def kill_switch(request: web.Request) -> web.Response:
    """Activate (cancels every open order, refuses new ones) or lift an account's kill switch."""
    caller = await authenticate(request)
    require_role(caller, "operator")
    data = await body.read_object(request, frozenset({"active"}))
    active = data.get("active")
    if active is None:
        raise errors.missing_field("active")
    if type(active) is not bool:
        raise errors.invalid_field("active", "must be true or false")
    account = await path_account(request)
    admin = actions.record(caller, "risk.kill_switch", f"account:{account}", {"active": active})
    events = await _submit(request, SetKillSwitch(0, account, active, admin=admin))
    canceled = sorted({ev.order_id for ev in events if type(ev) is OrderUpdated})
    return json({"account_id": account, "kill_switch": active, "canceled_order_ids": canceled})


async def _key_kill_switch(request: web.Request, caller, owner: int | None) -> web.Response:
    """Set the kill switch of the API key in the path; ``owner``: it must be this account's."""
    data = await body.read_object(request, frozenset({"active"}))
    active = data.get("active")
    if active is None:
        raise errors.missing_field("active")
    if type(active) is not bool:
        raise errors.invalid_field("active", "must be true or false")
    api_key = request.match_info["api_key"]
    account = None
    if _API_KEY.fullmatch(api_key):
        account = await queries.key_owner(request.app[POOL], api_key)
    if account is None or (owner is not None and account != owner):
        raise PlatformError(404, "API_KEY_NOT_FOUND", "No such API key.")
    admin = None   # the owner's own switch is not an admin action
    if owner is None:
        admin = actions.record(caller, "risk.key_kill_switch", f"api_key:{order_source(api_key)}",
                               {"account_id": account, "active": active})
    events = await _submit(request, SetKillSwitch(0, account, active, order_source(api_key),
                                                  admin))
    canceled = sorted({ev.order_id for ev in events if type(ev) is OrderUpdated})
    return json({"api_key": api_key, "account_id": account, "kill_switch": active,
                 "canceled_order_ids": canceled})


@routes.post("/api/v1/admin/api-keys/{api_key}/kill-switch")
async def admin_key_kill_switch(request: web.Request) -> web.Response:
    """Activate or lift any API key's kill switch (operators)."""
    caller = await authenticate(request)
    require_role(caller, "operator")
    return await _key_kill_switch(request, caller, None)


@routes.post("/api/v1/api-keys/{api_key}/kill-switch")
async def own_key_kill_switch(request: web.Request) -> web.Response:
    """Activate or lift the kill switch of one of your own API keys."""
    caller = await authenticate(request)
    return await _key_kill_switch(request, caller, caller.account_id)


@routes.post("/api/v1/admin/instruments/{symbol}/status")
async def instrument_status(request: web.Request) -> web.Response:
    """Set a symbol's trading status (operators): TRADING, HALT or CANCEL_ONLY."""
    caller = await authenticate(request)
    require_role(caller, "operator")
    data = await body.read_object(request, frozenset({"status"}))
    status = body.string(data, "status", max_len=32)
    if status not in STATUSES:
        raise errors.invalid_field("status", f"must be one of {', '.join(STATUSES)}")
    symbol = request.match_info["symbol"]
    seq = request.app[VENUE].sequencer
    if symbol not in seq.market_views:
        raise PlatformError(404, "UNKNOWN_SYMBOL", f"No instrument {symbol!r}.")
    previous = str(seq.market_views[symbol].status)
    admin = actions.record(caller, "instrument.status", f"symbol:{symbol}",
                           {"status": status, "previous": previous})
    await _submit(request, SetInstrumentStatus(0, symbol, status, admin))
    return json({"symbol": symbol, "status": str(seq.market_views[symbol].status)})
