"""Funding of the logged-in user (``/api/v1/funding/...``) and of any account by an operator.

- ``POST /api/v1/funding/deposits`` (operator): credit an account (a Deposit command).
- ``POST /api/v1/funding/faucet`` (anyone, when ``[funding] faucet = true``):
  credit yourself up to ``faucet_limit`` per request.
- ``GET /api/v1/funding/deposits``: your deposits, newest first.
- ``POST /api/v1/funding/withdrawals``: request a withdrawal; its amount is
  held (locked) until an operator approves (paid out) or rejects (released)
  it. Its ``destination`` travels in the RequestWithdrawal command (opaque to
  the engine), so the journal, its audit chain and the row the batcher writes
  all hold it.
- ``GET /api/v1/funding/withdrawals``: your withdrawals, newest first.
- ``GET /api/v1/admin/withdrawals`` (operator): every account's, filtered.
- ``POST /api/v1/admin/withdrawals/{id}/approve`` and ``/reject`` (operator),
  body ``{note?}``: a ResolveWithdrawal command.

Amounts are decimal strings in the asset's units (``Sequencer.assets`` gives
its decimal places); off the asset's grid is refused, never rounded. Every
command goes through ``Venue.submit`` and answers once durable; a command the
engine refuses is a 4xx with the reason as its code (``REJECTIONS``). Lists
page with ``limit`` (default 50, at most 500) and ``before`` (the
``next_before`` of the previous page).

Operators' commands carry their admin record (``exchange.store.actions.record``)
and, for resolutions, the note: the batcher writes the command, the withdrawal
row and the record in one transaction. The SQL is in
``exchange.store.queries.funding``.
"""

import asyncio
import re
from decimal import Decimal, localcontext

from aiohttp import web

from ..keys import KYC, PLATFORM_SETTINGS, POOL, VENUE
from ..engine import (CommandRejected, Deposit, Reason, RequestWithdrawal, ResolveWithdrawal,
                      WithdrawalUpdated)
from ..engine.instrument import from_units, minor_unit
from ..store import actions
from ..store.queries import accounts, funding
from . import account_mail, body, errors, query
from .body import json
from .errors import PlatformError
from .history import iso_ns
from .session import authenticate, require_role

routes = web.RouteTableDef()

DEFAULT_LIMIT = 50
MAX_LIMIT = 500
MAX_UNITS = 10**30            # per command, in minor units: balances stay within numeric(38,0)
MAX_REF_CHARS = 128
MAX_DESTINATION_CHARS = 256
MAX_NOTE_CHARS = 1024
STATUSES = ("PENDING", "APPROVED", "REJECTED")
_AMOUNT = re.compile(r"[0-9]{1,32}(\.[0-9]{1,32})?")
_DURABLE_WAIT_S = 30.0

# Every reason the engine may give a funding command, as (HTTP status, code, message).
REJECTIONS = {
    Reason.INSUFFICIENT_BALANCE: (400, "INSUFFICIENT_BALANCE",
                                  "The free balance is less than the amount."),
    Reason.UNKNOWN_ASSET: (400, "UNKNOWN_ASSET", "No such asset."),
    Reason.INVALID_AMOUNT: (400, "INVALID_AMOUNT", "The amount must be positive."),
    Reason.UNKNOWN_WITHDRAWAL: (409, "WITHDRAWAL_NOT_PENDING",
                                "The withdrawal is not pending (already resolved)."),
    Reason.DUPLICATE_WITHDRAWAL: (409, "DUPLICATE_WITHDRAWAL",
                                  "A pending withdrawal already has this id."),
}


# ---- shared by the funding and admin routes ---------------------------------

def unit(app, asset: str) -> Decimal:
    """The minor unit of ``asset`` (``0.01`` for two decimal places)."""
    return minor_unit(app[VENUE].sequencer.assets[asset])


def asset_and_amount(request: web.Request, data: dict) -> tuple[str, int]:
    """Fields ``asset`` (a listed asset) and ``amount`` (a positive decimal string on the
    asset's grid) as (asset, amount in minor units)."""
    asset = body.string(data, "asset", max_len=32)
    assets = request.app[VENUE].sequencer.assets
    if asset not in assets:
        raise PlatformError(400, "UNKNOWN_ASSET", f"No asset {asset!r}.")
    text = body.string(data, "amount", max_len=66)
    if not _AMOUNT.fullmatch(text):
        raise PlatformError(400, "INVALID_AMOUNT",
                            'Field \'amount\' must be a positive decimal string such as "12.50".')
    decimals = assets[asset]
    with localcontext(prec=100):   # exact for every string the pattern admits
        scaled = Decimal(text).scaleb(decimals)
    if scaled != scaled.to_integral_value():
        raise PlatformError(400, "AMOUNT_OFF_GRID",
                            f"{asset} amounts have at most {decimals} decimal places.")
    units = int(scaled)
    if units <= 0:
        raise PlatformError(400, "INVALID_AMOUNT", "Field 'amount' must be positive.")
    if units > MAX_UNITS:
        raise PlatformError(400, "INVALID_AMOUNT", "Field 'amount' is too large.")
    return asset, units


def printable(data: dict, name: str, max_len: int) -> str | None:
    """Optional field ``name``: a printable string of at most ``max_len`` characters."""
    value = body.string(data, name, max_len=max_len, required=False)
    if value is not None and not value.isprintable():
        raise errors.invalid_field(name, "must be printable")
    return value


async def submit(request: web.Request, cmd) -> list:
    """Submit ``cmd`` through the venue; its events once durable, or the refusal as a 4xx."""
    events = await request.app[VENUE].submit(cmd)
    for ev in events:
        if type(ev) is CommandRejected:
            status, code, message = REJECTIONS.get(
                ev.reason, (400, str(ev.reason), f"The venue refused the command: {ev.reason}."))
            raise PlatformError(status, code, message)
    return events


async def committed(request: web.Request, seq: int) -> None:
    """Wait until the journal has committed ``seq`` (already so with durability "sync").

    Rows the batcher writes (withdrawals, ledger entries) exist from then on.
    """
    await asyncio.wait_for(request.app[VENUE].journal.wait_committed(seq), _DURABLE_WAIT_S)


def withdrawal_json(app, r) -> dict:
    """A row of ``withdrawals``, the amount as a decimal string."""
    return {"withdrawal_id": r["withdrawal_id"], "account_id": r["account_id"],
            "asset": r["asset"], "amount": from_units(int(r["amount"]), unit(app, r["asset"])),
            "status": r["status"], "destination": r["destination"],
            "requested_at": iso_ns(r["requested_ts_ns"]),
            "resolved_at": None if r["resolved_ts_ns"] is None else iso_ns(r["resolved_ts_ns"]),
            "resolved_by": r["resolved_by"], "note": r["note"]}


def deposit_json(app, r) -> dict:
    """A row of the ``deposits`` view, the amount as a decimal string."""
    return {"deposit_id": r["deposit_id"], "account_id": r["account_id"], "asset": r["asset"],
            "amount": from_units(int(r["amount"]), unit(app, r["asset"])), "ref": r["ref"],
            "time": iso_ns(r["ts_ns"])}


def listing(request: web.Request, names: frozenset) -> dict:
    """A list request's filters and page: ``asset``, ``statuses`` (if ``status`` is
    allowed), ``account_id`` (if allowed), ``before``, ``limit``."""
    q = query.Query(request, names)
    out = {"asset": q.asset(request.app[VENUE].sequencer.assets)}
    if "status" in names:
        out["statuses"] = q.choices("status", STATUSES)
    if "account_id" in names:
        out["account_id"] = q.int("account_id", 0, query.MAX_ID)
    out["before"] = q.int("before", 1, query.MAX_ID)
    out["limit"] = q.int("limit", 1, MAX_LIMIT, DEFAULT_LIMIT)
    return out


def next_before(rows: list, limit: int, cursor: str) -> int | None:
    """The cursor of the next older page (None: this one is the last)."""
    return rows[-1][cursor] if len(rows) == limit else None


# ---- deposits -----------------------------------------------------------------

async def _credit(request: web.Request, account_id: int, asset: str, units: int,
                  ref: str, admin=None) -> web.Response:
    events = await submit(request, Deposit(0, account_id, asset, units, ref, admin))
    seq = events[-1].seq
    await committed(request, seq)
    row = await funding.deposit(request.app[POOL], seq, account_id)
    return json(deposit_json(request.app, row), status=201)


@routes.post("/api/v1/funding/deposits")
async def credit(request: web.Request) -> web.Response:
    """Credit an account (operators only): ``{account_id, asset, amount, ref?}``."""
    caller = await authenticate(request)
    require_role(caller, "operator")
    data = await body.read_object(request, {"account_id", "asset", "amount", "ref"})
    account_id = data.get("account_id")
    if account_id is None:
        raise errors.missing_field("account_id")
    if type(account_id) is not int or not 1 <= account_id <= query.MAX_ID:
        raise errors.invalid_field("account_id", "must be a positive integer")
    asset, units = asset_and_amount(request, data)
    ref = printable(data, "ref", MAX_REF_CHARS) or f"operator:{caller.account_id}"
    if not await accounts.exists(request.app[POOL], account_id):
        raise PlatformError(404, "UNKNOWN_ACCOUNT", f"No account {account_id}.")
    admin = actions.record(caller, "funding.deposit", f"account:{account_id}",
                           {"asset": asset, "amount": str(units), "ref": ref})
    return await _credit(request, account_id, asset, units, ref, admin)


@routes.post("/api/v1/funding/faucet")
async def faucet(request: web.Request) -> web.Response:
    """Credit yourself ``{asset, amount}`` (sandbox venues with ``faucet = true`` only)."""
    caller = await authenticate(request)
    settings = request.app[PLATFORM_SETTINGS]
    if not settings.faucet:
        raise PlatformError(403, "FAUCET_DISABLED",
                            "The faucet is off on this venue ([funding] faucet = false).")
    data = await body.read_object(request, {"asset", "amount"})
    asset, units = asset_and_amount(request, data)
    decimals = request.app[VENUE].sequencer.assets[asset]
    if units > Decimal(settings.faucet_limit).scaleb(decimals):
        raise PlatformError(400, "FAUCET_LIMIT",
                            f"The faucet gives at most {settings.faucet_limit} {asset} "
                            "per request.")
    return await _credit(request, caller.account_id, asset, units, "faucet")


@routes.get("/api/v1/funding/deposits")
async def deposits(request: web.Request) -> web.Response:
    """Your deposits, newest first: filter ``asset``; page ``limit``, ``before``."""
    caller = await authenticate(request)
    page = listing(request, frozenset({"asset", "limit", "before"}))
    rows = await funding.deposits(request.app[POOL], account_id=caller.account_id, **page)
    return json({"deposits": [deposit_json(request.app, r) for r in rows],
                 "next_before": next_before(rows, page["limit"], "deposit_id")})


# ---- withdrawals --------------------------------------------------------------

@routes.post("/api/v1/funding/withdrawals")
async def request_withdrawal(request: web.Request) -> web.Response:
    """Ask to withdraw ``{asset, amount, destination?}``: the amount is held until an
    operator approves or rejects it."""
    caller = await authenticate(request)
    data = await body.read_object(request, {"asset", "amount", "destination"})
    asset, units = asset_and_amount(request, data)
    destination = printable(data, "destination", MAX_DESTINATION_CHARS)
    pool = request.app[POOL]
    if not await request.app[KYC].may_withdraw(pool, caller.account_id):
        raise PlatformError(403, "KYC_REQUIRED", "Withdrawals need a VERIFIED KYC status; "
                            "submit yours with POST /api/v1/kyc/submit.")
    withdrawal_id = await funding.next_withdrawal_id(pool)
    events = await submit(request, RequestWithdrawal(0, caller.account_id, asset, units,
                                                     withdrawal_id, destination))
    seq = next(ev.seq for ev in events if type(ev) is WithdrawalUpdated)
    await committed(request, seq)
    view = withdrawal_json(request.app, await funding.requested(pool, seq))
    account_mail.withdrawal_requested(request.app, caller.account_id, view)
    return json(view, status=201)


@routes.get("/api/v1/funding/withdrawals")
async def withdrawals(request: web.Request) -> web.Response:
    """Your withdrawals, newest first: filters ``status`` (comma-separated), ``asset``;
    page ``limit``, ``before``."""
    caller = await authenticate(request)
    page = listing(request, frozenset({"status", "asset", "limit", "before"}))
    rows = await funding.withdrawals(request.app[POOL], account_id=caller.account_id, **page)
    return json({"withdrawals": [withdrawal_json(request.app, r) for r in rows],
                 "next_before": next_before(rows, page["limit"], "requested_seq")})


# ---- the operator's side ------------------------------------------------------

_WITHDRAWAL_ID = re.compile(r"[A-Za-z0-9._:-]{1,64}")


@routes.get("/api/v1/admin/withdrawals")
async def all_withdrawals(request: web.Request) -> web.Response:
    """Every account's withdrawals (operators only), newest first: filters ``status``,
    ``asset``, ``account_id``; page ``limit``, ``before``."""
    caller = await authenticate(request)
    require_role(caller, "operator")
    page = listing(request, frozenset({"status", "asset", "account_id", "limit", "before"}))
    rows = await funding.withdrawals(request.app[POOL], **page)
    return json({"withdrawals": [withdrawal_json(request.app, r) for r in rows],
                 "next_before": next_before(rows, page["limit"], "requested_seq")})


async def _resolve(request: web.Request, approve: bool) -> web.Response:
    caller = await authenticate(request)
    require_role(caller, "operator")
    data = await body.read_object(request, {"note"})
    note = printable(data, "note", MAX_NOTE_CHARS)
    withdrawal_id = request.match_info["withdrawal_id"]
    pool = request.app[POOL]
    if not _WITHDRAWAL_ID.fullmatch(withdrawal_id):
        raise PlatformError(404, "UNKNOWN_WITHDRAWAL", "No such withdrawal.")
    pending = request.app[VENUE].sequencer.withdrawals.get(withdrawal_id)
    if pending is None:
        status = await funding.last_status(pool, withdrawal_id)
        if status is None:
            raise PlatformError(404, "UNKNOWN_WITHDRAWAL", "No such withdrawal.")
        raise PlatformError(409, "WITHDRAWAL_NOT_PENDING",
                            f"The withdrawal is already {status.lower()}.")
    # No await since the check above: the engine sees the same pending withdrawal.
    account_id, asset, amount = pending
    admin = actions.record(caller, "withdrawal.approve" if approve else "withdrawal.reject",
                           f"withdrawal:{withdrawal_id}",
                           {"account_id": account_id, "asset": asset, "amount": str(amount),
                            "note": note})
    events = await submit(request, ResolveWithdrawal(0, withdrawal_id, approve, note, admin))
    seq = next(ev.seq for ev in events if type(ev) is WithdrawalUpdated)
    await committed(request, seq)
    return json(withdrawal_json(request.app, await funding.resolved(pool, withdrawal_id, seq)))


@routes.post("/api/v1/admin/withdrawals/{withdrawal_id}/approve")
async def approve(request: web.Request) -> web.Response:
    """Approve a pending withdrawal (operators only): the held amount leaves the venue."""
    return await _resolve(request, True)


@routes.post("/api/v1/admin/withdrawals/{withdrawal_id}/reject")
async def reject(request: web.Request) -> web.Response:
    """Reject a pending withdrawal (operators only): the held amount is released."""
    return await _resolve(request, False)
