"""KYC on the platform API: operators set an account's status, users submit theirs.

- ``PUT /api/v1/admin/accounts/{account_id}/kyc`` (operator): ``{status, note?}``,
  status NONE, PENDING, VERIFIED or REJECTED; recorded with who and when
  (``accounts.kyc_set_by``, ``kyc_set_at``) and in the admin audit, in one
  transaction.
- ``POST /api/v1/kyc/submit``: the caller's NONE or REJECTED becomes PENDING
  (409 KYC_STATE otherwise: already PENDING or VERIFIED).
- The caller's status is in ``GET /api/v1/me`` (``kyc_status``).

Both changes update the in-memory cache (``exchange.kyc``) after they commit,
so the gates on orders and withdrawals see them at once.
"""

from aiohttp import web

from ..keys import KYC, POOL
from ..kyc import STATUSES
from ..store.actions import record_admin_action
from ..store.queries import kyc as queries
from . import body, errors, query
from .body import json
from .errors import PlatformError
from .session import authenticate, require_role

routes = web.RouteTableDef()

MAX_NOTE_CHARS = 500


def kyc_json(row) -> dict:
    at = row["kyc_set_at"]
    return {"account_id": row["account_id"], "kyc_status": row["kyc_status"],
            "note": row["kyc_note"], "set_by": row["kyc_set_by"],
            "set_at": None if at is None else at.isoformat().replace("+00:00", "Z")}


@routes.put("/api/v1/admin/accounts/{account_id}/kyc")
async def set_kyc(request: web.Request) -> web.Response:
    """Set an account's KYC status (operators)."""
    caller = await authenticate(request)
    require_role(caller, "operator")
    data = await body.read_object(request, frozenset({"status", "note"}))
    status = body.string(data, "status", max_len=16)
    if status not in STATUSES:
        raise errors.invalid_field("status", f"must be one of {', '.join(STATUSES)}")
    note = body.string(data, "note", max_len=MAX_NOTE_CHARS, required=False)
    if note is not None and not note.isprintable():
        raise errors.invalid_field("note", "must be printable")
    account = query.path_id(request, "account_id")
    async with request.app[POOL].acquire() as conn:
        async with conn.transaction():
            previous, row = await queries.set_status(conn, account, status, note,
                                                     caller.account_id)
            if previous is None:
                raise PlatformError(404, "UNKNOWN_ACCOUNT", f"No account {account}.")
            await record_admin_action(conn, caller, "kyc.status", f"account:{account}",
                                      {"status": status, "previous": previous, "note": note})
    request.app[KYC].set(account, status)
    return json(kyc_json(row))


@routes.post("/api/v1/kyc/submit")
async def submit(request: web.Request) -> web.Response:
    """Submit your account for verification: NONE or REJECTED becomes PENDING."""
    caller = await authenticate(request)
    await body.read_object(request)
    async with request.app[POOL].acquire() as conn:
        async with conn.transaction():
            row = await queries.submit(conn, caller.account_id)
            if row is None:
                current = await queries.status(conn, caller.account_id)
                raise PlatformError(409, "KYC_STATE",
                                    f"Your KYC status is {current}: only NONE or REJECTED "
                                    "can be submitted.")
    request.app[KYC].set(caller.account_id, "PENDING")
    return json(kyc_json(row))
