"""The compliance role's views and the operators' surveillance settings (``/api/v1/admin``).

Compliance or operator (every other role gets 403 FORBIDDEN):

- ``GET /api/v1/admin/surveillance/alerts``: surveillance alerts
  (``exchange.platform.surveillance``), newest first: filters ``kind``,
  ``status`` (each comma-separated), ``symbol``, ``account_id``; page
  ``limit``, ``before`` (the ``next_before`` of the previous page).
- ``POST /api/v1/admin/surveillance/alerts/{alert_id}/review``: ``{status:
  REVIEWED | DISMISSED | OPEN, note?}``.
- ``GET /api/v1/admin/audit/journal``: journal rows in seq order (seq, time,
  kind, command, rejected, hash in hex): ``from_seq`` (inclusive, default 1),
  ``to_seq`` (inclusive), ``kind``, ``limit``; ``next_from_seq`` continues.
- ``GET /api/v1/admin/audit/actions``: the admin actions' chain in id order:
  ``from_id``, ``actor``, ``action``, ``limit``; ``next_from_id`` continues.
- ``GET /api/v1/admin/accounts/{account_id}/reports/trades`` and
  ``.../statement``: any account's reports (``exchange.platform.reports``,
  same parameters and formats as the user's own).

Operators only:

- ``PUT /api/v1/admin/accounts/{account_id}/beneficial-owner``: ``{owner:
  string | null}`` (null: the account is its own owner).

Every change here is recorded by ``record_admin_action`` in the transaction
that makes it (these change platform tables, not engine state: no command).
The SQL is in ``exchange.store.queries`` (``surveillance``, ``admin``,
``accounts``).
"""

import re

from aiohttp import web

from ..keys import POOL, SURVEILLANCE
from ..store.actions import record_admin_action
from ..store.queries import accounts, admin
from ..store.queries import surveillance as alerts_queries
from . import body, errors, query, reports
from .body import json
from .errors import PlatformError
from .history import iso, iso_ns
from .roles import path_account
from .session import authenticate, require_role
from .surveillance import KINDS

routes = web.RouteTableDef()

OVERSIGHT = ("compliance", "operator")
STATUSES = ("OPEN", "REVIEWED", "DISMISSED")
DEFAULT_LIMIT = 50
MAX_LIMIT = 500
MAX_NOTE_CHARS = 1024
MAX_OWNER_CHARS = 128


async def _oversight(request: web.Request, *roles: str):
    caller = await authenticate(request)
    require_role(caller, *(roles or OVERSIGHT))
    return caller




def _note(data: dict) -> str | None:
    note = body.string(data, "note", max_len=MAX_NOTE_CHARS, required=False)
    if note is not None and not note.isprintable():
        raise errors.invalid_field("note", "must be printable")
    return note


# ---- surveillance alerts ------------------------------------------------------------

def alert_json(r) -> dict:
    return {"alert_id": r["alert_id"], "kind": r["kind"], "symbol": r["symbol"],
            "accounts": list(r["accounts"]), "evidence": r["evidence"],
            "first_seq": r["first_seq"], "last_seq": r["last_seq"],
            "created_at": iso(r["created_at"]), "status": r["status"],
            "reviewed_by": r["reviewed_by"], "reviewed_at": iso(r["reviewed_at"]),
            "note": r["note"]}


@routes.get("/api/v1/admin/surveillance/alerts")
async def list_alerts(request: web.Request) -> web.Response:
    """Surveillance alerts, newest first (compliance, operators)."""
    await _oversight(request)
    q = query.Query(request, {"kind", "status", "symbol", "account_id", "limit", "before"})
    kinds = q.choices("kind", KINDS)
    statuses = q.choices("status", STATUSES)
    symbol = q.symbol(request.app[SURVEILLANCE].markets)
    account = q.int("account_id", 1, query.MAX_ID)
    before = q.int("before", 1, query.MAX_ID)
    limit = q.int("limit", 1, MAX_LIMIT, DEFAULT_LIMIT)
    rows = await alerts_queries.alerts(request.app[POOL], kinds=kinds, statuses=statuses,
                                       symbol=symbol, account_id=account, before=before,
                                       limit=limit)
    return json({"alerts": [alert_json(r) for r in rows],
                 "next_before": rows[-1]["alert_id"] if len(rows) == limit else None})


@routes.post("/api/v1/admin/surveillance/alerts/{alert_id}/review")
async def review_alert(request: web.Request) -> web.Response:
    """Mark an alert REVIEWED or DISMISSED (or OPEN again), with a note."""
    caller = await _oversight(request)
    data = await body.read_object(request, {"status", "note"})
    status = body.string(data, "status", max_len=16)
    if status not in STATUSES:
        raise errors.invalid_field("status", f"must be one of {', '.join(STATUSES)}")
    note = _note(data)
    alert_id = query.path_id(request, "alert_id")
    async with request.app[POOL].acquire() as conn:
        async with conn.transaction():
            previous, row = await alerts_queries.review(conn, alert_id, status, note,
                                                        caller.account_id)
            if previous is None:
                raise PlatformError(404, "UNKNOWN_ALERT", f"No surveillance alert {alert_id}.")
            await record_admin_action(conn, caller, "surveillance.review", f"alert:{alert_id}",
                                      {"status": status, "previous": previous, "note": note})
    return json(alert_json(row))


# ---- the audit trail ----------------------------------------------------------------

_NAME = re.compile(r"[A-Za-z][A-Za-z0-9._]{0,63}")


def _name(request: web.Request, param: str) -> str | None:
    """Query parameter ``param`` (already checked by ``query.Query``) as a kind or action name."""
    text = request.query.get(param)
    if text is not None and not _NAME.fullmatch(text):
        raise errors.invalid_parameter(param, "is not a name (a letter, then letters, digits, "
                                       "'.' or '_', at most 64)")
    return text

@routes.get("/api/v1/admin/audit/journal")
async def journal(request: web.Request) -> web.Response:
    """Journal rows in seq order, with their chain hashes (compliance, operators)."""
    await _oversight(request)
    q = query.Query(request, {"from_seq", "to_seq", "kind", "limit"})
    start = q.int("from_seq", 1, query.MAX_ID, 1)
    end = q.int("to_seq", 1, query.MAX_ID)
    if end is not None and end < start:
        raise errors.invalid_parameter("to_seq", "must not be before from_seq")
    kind = _name(request, "kind")
    limit = q.int("limit", 1, MAX_LIMIT, DEFAULT_LIMIT)
    rows = await admin.journal_rows(request.app[POOL], from_seq=start, to_seq=end, kind=kind,
                                    limit=limit)
    return json({"rows": [{"seq": r["seq"], "time": iso_ns(r["ts_ns"]), "kind": r["kind"],
                           "command": r["command"], "rejected": r["rejected"],
                           "hash": None if r["hash"] is None else bytes(r["hash"]).hex()}
                          for r in rows],
                 "next_from_seq": rows[-1]["seq"] + 1 if len(rows) == limit else None})


def action_json(r) -> dict:
    return {"action_id": r["action_id"], "actor": r["actor"], "role": r["role"],
            "action": r["action"], "target": r["target"], "details": r["details"],
            "created_at": iso(r["created_at"]), "prev_hash": bytes(r["prev_hash"]).hex(),
            "hash": bytes(r["hash"]).hex()}


@routes.get("/api/v1/admin/audit/actions")
async def actions(request: web.Request) -> web.Response:
    """The admin actions' chain in id order (compliance, operators)."""
    await _oversight(request)
    q = query.Query(request, {"from_id", "actor", "action", "limit"})
    start = q.int("from_id", 1, query.MAX_ID, 1)
    actor = q.int("actor", 1, query.MAX_ID)
    action = _name(request, "action")
    limit = q.int("limit", 1, MAX_LIMIT, DEFAULT_LIMIT)
    rows = await admin.actions(request.app[POOL], from_id=start, actor=actor, action=action,
                               limit=limit)
    return json({"actions": [action_json(r) for r in rows],
                 "next_from_id": rows[-1]["action_id"] + 1 if len(rows) == limit else None})


# ---- any account's reports ----------------------------------------------------------

@routes.get("/api/v1/admin/accounts/{account_id}/reports/trades")
async def account_trades(request: web.Request) -> web.Response:
    """An account's trade confirmations (compliance, operators)."""
    await _oversight(request)
    return await reports.trades_report(request, await path_account(request))


@routes.get("/api/v1/admin/accounts/{account_id}/reports/statement")
async def account_statement(request: web.Request) -> web.Response:
    """An account's statement (compliance, operators)."""
    await _oversight(request)
    return await reports.statement_report(request, await path_account(request))


# ---- operators ----------------------------------------------------------------------

@routes.put("/api/v1/admin/accounts/{account_id}/beneficial-owner")
async def set_beneficial_owner(request: web.Request) -> web.Response:
    """Mark an account's beneficial owner ``{owner}`` (null: itself) (operators)."""
    caller = await _oversight(request, "operator")
    data = await body.read_object(request, {"owner"})
    if "owner" not in data:
        raise errors.missing_field("owner")
    owner = data["owner"]
    if owner is not None and (type(owner) is not str or not owner or len(owner) > MAX_OWNER_CHARS
                              or not owner.isprintable() or owner != owner.strip()):
        raise errors.invalid_field("owner", f"must be null or a printable string of 1 to "
                                   f"{MAX_OWNER_CHARS} characters without surrounding spaces")
    account = await path_account(request)
    async with request.app[POOL].acquire() as conn:
        async with conn.transaction():
            previous = await accounts.set_beneficial_owner(conn, account, owner)
            await record_admin_action(conn, caller, "account.beneficial_owner",
                                      f"account:{account}",
                                      {"owner": owner, "previous": previous})
    request.app[SURVEILLANCE].set_owner(account, owner)
    return json({"account_id": account, "beneficial_owner": owner})
