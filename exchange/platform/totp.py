"""TOTP two-factor authentication (RFC 6238 via pyotp): enrol, confirm, verify without replay.

POST /api/v1/auth/totp/enroll returns a new secret and its otpauth:// URI
(pending until confirmed; enrolling again replaces a pending secret);
POST /api/v1/auth/totp/confirm with a current code turns it on. From then on
login needs a ``totp`` code. A code is accepted for the current 30 s step or
one step either side, and each step at most once (``users.totp_last_step``).
A code at login is checked within the login attempt already claimed against
the account's failed-login count (``auth.login``), so wrong codes lock the
account as wrong passwords do, and never more than ``login_max_failures`` are
checked per lock window. The secret is stored sealed (``exchange.store.sealing``).
"""

import hmac
import re
import time

import pyotp
from aiohttp import web

from ..keys import PLATFORM_SETTINGS, POOL, SECRET_BOX
from ..store.queries import users
from . import body, errors
from .body import json
from .session import authenticate, count_attempt

routes = web.RouteTableDef()

STEP_S = 30
_CODE = re.compile(r"[0-9]{6}")


def code_field(data: dict, name: str = "totp", *, required: bool = False) -> str | None:
    """Field ``name`` as a 6-digit code string."""
    code = body.string(data, name, max_len=6, required=required)
    if code is not None and not _CODE.fullmatch(code):
        raise errors.invalid_field(name, "must be a string of 6 digits")
    return code


def matching_step(secret: str, code: str, after_step: int, now: float | None = None) -> int | None:
    """The time step (current or one either side) whose code is ``code``, if after ``after_step``."""
    totp = pyotp.TOTP(secret)
    step = int(time.time() if now is None else now) // STEP_S
    for candidate in (step - 1, step, step + 1):
        if candidate > after_step and hmac.compare_digest(totp.generate_otp(candidate), code):
            return candidate
    return None


async def use_code(conn, account_id: int, secret: str, code: str, after_step: int) -> bool:
    """Check ``code`` and spend its step (so it cannot be used again); return whether it was good."""
    step = matching_step(secret, code, after_step)
    if step is None:
        return False
    return await users.spend_totp_step(conn, account_id, step)


@routes.post("/api/v1/auth/totp/enroll")
async def enroll(request: web.Request) -> web.Response:
    """Start two-factor enrolment: a new secret (pending until confirmed) and its otpauth URI."""
    caller = await authenticate(request)
    await body.read_object(request)
    secret = pyotp.random_base32()
    row = await users.enroll_totp(request.app[POOL], caller.account_id,
                                  request.app[SECRET_BOX].seal(secret))
    if row is None:
        raise _already_enabled()
    uri = pyotp.TOTP(secret).provisioning_uri(
        name=row["email"], issuer_name=request.app[PLATFORM_SETTINGS].totp_issuer)
    return json({"secret": secret, "otpauth_uri": uri, "totp_enabled": False})


@routes.post("/api/v1/auth/totp/confirm")
async def confirm(request: web.Request) -> web.Response:
    """Turn two-factor authentication on by sending a current code for the enrolled secret."""
    caller = await authenticate(request)
    data = await body.read_object(request, {"totp"})
    code = code_field(data, required=True)
    count_attempt(request)
    async with request.app[POOL].acquire() as conn:
        async with conn.transaction():
            row = await users.totp_state_for_update(conn, caller.account_id)
            if row is None:
                raise errors.PlatformError(404, "NOT_FOUND", "No login for this account.")
            if row["totp_enabled"]:
                raise _already_enabled()
            if row["totp_secret"] is None:
                raise errors.PlatformError(409, "TOTP_NOT_ENROLLED",
                                           "Enrol first: POST /api/v1/auth/totp/enroll.")
            secret = request.app[SECRET_BOX].open(row["totp_secret"])
            ok = await use_code(conn, caller.account_id, secret, code, row["totp_last_step"])
            if ok:
                await users.enable_totp(conn, caller.account_id)
    if not ok:
        raise errors.totp_invalid()
    return json({"totp_enabled": True})


def _already_enabled() -> errors.PlatformError:
    return errors.PlatformError(409, "TOTP_ALREADY_ENABLED",
                                "Two-factor authentication is already on.")
