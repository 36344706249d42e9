"""The logged-in user's profile (``GET /api/v1/me``) and balances (``GET /api/v1/balances``)."""


from aiohttp import web

from ..keys import POOL, VENUE
from ..engine.instrument import from_units, minor_unit
from ..store.queries import users
from . import body, errors
from .body import json
from .session import authenticate

routes = web.RouteTableDef()


@routes.get("/api/v1/me")
async def me(request: web.Request) -> web.Response:
    """Account id, email, whether it is verified, creation time, whether two-factor
    authentication is on, role, KYC status and the opt-in email preferences."""
    caller = await authenticate(request)
    body.no_query(request)
    row = await users.profile(request.app[POOL], caller.account_id)
    if row is None:
        raise errors.PlatformError(404, "NOT_FOUND", "No login for this account.")
    return json({"account_id": row["account_id"], "email": row["email"],
                 "created_at": row["created_at"].isoformat().replace("+00:00", "Z"),
                 "totp_enabled": row["totp_enabled"], "role": caller.role,
                 "kyc_status": row["kyc_status"], "email_verified": row["email_verified"],
                 "email_preferences": {"fills": row["email_fills"],
                                       "alerts": row["email_alerts"]}})


@routes.get("/api/v1/balances")
async def balances(request: web.Request) -> web.Response:
    """Free and locked amount of every asset, as decimal strings, from the venue's ledger."""
    caller = await authenticate(request)
    body.no_query(request)
    seq = request.app[VENUE].sequencer
    out = []
    for asset, decimals in sorted(seq.assets.items()):
        free, locked = seq.ledger.amounts(caller.account_id, asset)  # creates nothing
        unit = minor_unit(decimals)
        out.append({"asset": asset, "free": from_units(free, unit),
                    "locked": from_units(locked, unit)})
    return json({"account_id": caller.account_id, "balances": out})
