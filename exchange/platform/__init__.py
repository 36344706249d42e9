"""The platform API (``/api/v1/...``): what Binance's spot dialect lacks.

JSON in and out; every refusal is ``{"code": "<MACHINE_CODE>", "message"}``
with a 4xx status. One module per concept: ``body`` (strict JSON bodies),
``errors``, ``tokens`` (JWT access tokens, refresh tokens, the signing
secret), ``passwords`` (argon2id), per-IP attempts counted by ``api.ratelimit.RateLimiter``,
``session`` (bearer authentication), ``credentials`` (the email and new
password fields), ``auth`` (register, login, refresh, logout, password), ``totp`` (two-factor), ``api_keys``, ``profile`` (me,
balances), ``query`` (strict query strings), ``history`` (orders, trades),
``portfolio`` (positions, average cost, P&L), ``roles`` (trader, operator,
compliance), ``funding`` (deposits, faucet, withdrawals and their approval),
``surveillance`` (market abuse alerts), ``compliance`` (alerts, audit trail and
any account's reports for the compliance role), ``kyc`` (KYC statuses),
``instruments`` (listing, changing and delisting symbols), ``mail`` (SMTP) and
``account_mail`` (password reset, email verification, email preferences and the
account mail: new device, withdrawal, opt-in fills and price alerts).
``setup(app, settings)`` wires them into the server's application,
next to the Binance-dialect routes of ``exchange.api``.
"""

import logging

from aiohttp import web

from ..settings import Settings
from . import (account_mail, api_keys, auth, compliance, funding, history, instruments, kyc,
               notifications, portfolio, profile, reports, risk, totp)
from ..kyc import Kyc
from ..keys import (ACCESS_TOKENS, ATTEMPTS, KEYS, KYC, MAILER, METRICS, PASSWORDS,
                    PLATFORM_SETTINGS, SECRET_BOX, SESSION_SOCKETS)
from .body import json
from .errors import PlatformError
from .mail import Mailer
from .passwords import Passwords
from ..api.ratelimit import RateLimiter
from ..store.sealing import SecretBox
from .tokens import AccessTokens, load_secret

log = logging.getLogger("exchange.platform")

PREFIX = "/api/v1/"

_HTTP_ERRORS = {
    404: ("NOT_FOUND", "No such endpoint."),
    405: ("METHOD_NOT_ALLOWED", "Method not allowed for this endpoint."),
    413: ("BODY_TOO_LARGE", "The request body is too large."),
}


@web.middleware
def platform_errors(request: web.Request, handler):
    """Answer every failure under /api/v1/ as ``{code, message}`` JSON.

    Not a coroutine function: for other paths it returns the handler's own
    awaitable, so the Binance routes (order entry) run without a frame of ours."""
    if not request.path.startswith(PREFIX):
        return handler(request)
    return _platform_errors(request, handler)


async def _platform_errors(request: web.Request, handler):
    try:
        return await handler(request)
    except PlatformError as e:
        return json(e.body(), status=e.status, headers=e.headers)
    except web.HTTPException as e:
        if e.status < 400:
            raise
        code, message = _HTTP_ERRORS.get(e.status, ("HTTP_ERROR", e.reason))
        return json({"code": code, "message": message}, status=e.status)
    except Exception:
        log.exception("unhandled error in %s %s", request.method, request.path)
        return json({"code": "INTERNAL", "message": "An internal error occurred."}, status=500)


def setup(app: web.Application, settings: Settings) -> None:
    """Add the platform routes, their error middleware and shared state to ``app``.

    Call after ``exchange.api.setup``: this middleware must sit inside the
    Binance edge's (which charges request weight) to answer in this API's shape.
    """
    app[PLATFORM_SETTINGS] = settings
    app[PASSWORDS] = Passwords(settings.argon2_time_cost, settings.argon2_memory_kib)
    app[ATTEMPTS] = RateLimiter(settings.auth_ip_limit_1m)
    app[SESSION_SOCKETS] = {}
    app[KYC] = Kyc(settings.require_kyc_for_trading, settings.require_kyc_for_withdrawals)
    app.middlewares.append(platform_errors)
    for module in (auth, account_mail, totp, api_keys, profile, history, portfolio, funding,
                   reports, notifications, risk, compliance, kyc, instruments):
        app.router.add_routes(module.routes)
    app.cleanup_ctx.append(_keys_and_mail)


async def _keys_and_mail(app: web.Application):
    """The token signing secret, the box of the secrets at rest (both kept outside the
    database) and the mailer; queued mail is given a few seconds at shutdown."""
    settings = app[PLATFORM_SETTINGS]
    app[ACCESS_TOKENS] = AccessTokens(load_secret(settings.jwt_secret, settings.data_path()),
                                      settings.access_token_ttl_s)
    box = SecretBox.load(settings.secrets_key, settings.data_path())
    app[SECRET_BOX] = box
    app[KEYS].box = box
    mailer = Mailer(settings, app.get(METRICS))
    app[MAILER] = mailer
    try:
        yield
    finally:
        await mailer.drain()
