"""What the platform sends by email, and the routes of the mailed links.

- Password reset: ``POST /api/v1/auth/password-reset`` ``{email}`` always
  answers 202 ``{"requested": true}`` (the lookup and the mail happen after
  the answer, so neither the answer nor its timing tells whether the email
  has an account); an account's address gets a single-use token valid
  ``reset_token_ttl_s``. ``POST /api/v1/auth/password-reset/confirm``
  ``{token, new_password}`` sets the password, ends every session and refresh
  token of the account, lifts a login lock and marks the email verified (the
  token proved it).
- Email verification: registering mails a token (valid ``verify_token_ttl_s``);
  ``POST /api/v1/auth/verify-email`` ``{token}`` marks the address verified
  (``email_verified`` on ``GET /api/v1/me``); ``POST
  /api/v1/auth/verify-email/resend`` mails a new one. Unverified accounts may
  log in and trade (who may trade is KYC's rule, ``require_kyc_for_trading``);
  only verified addresses get notices and opt-in mail.
- Notices to a verified address: a login from a new (IP, user agent) pair,
  a withdrawal request, an attempt to register its email again.
- Opt-in (``PUT /api/v1/me/email-preferences`` ``{fills, alerts}``): one mail
  per notification window with the fills, or the price alerts, that
  ``notifications.Notifier`` stored for the account.

Tokens are stored as sha256 (``exchange.store.queries.email_tokens``). With
mail off, reset and resend answer 503 MAIL_DISABLED.
"""

import secrets

import orjson
from aiohttp import web

from ..keys import MAILER, PASSWORDS, PLATFORM_SETTINGS, POOL
from ..store.queries import email_tokens, sessions, users
from . import body, errors
from .body import json
from .credentials import email_field, new_password_field
from .session import authenticate, count_attempt, end_sessions
from .tokens import hash_refresh_token as hash_token

routes = web.RouteTableDef()

MAX_TOKEN_CHARS = 128
RESET_EVERY_S = 60            # at most one reset mail per address per minute
REGISTER_AGAIN_EVERY_S = 3600  # at most one "someone tried to register" notice per hour
FILL_STATUSES = ("FILLED", "PARTIALLY_FILLED")


def _mail_off() -> errors.PlatformError:
    return errors.PlatformError(503, "MAIL_DISABLED",
                                "This venue sends no mail (no SMTP server is configured).")


def _token_field(data: dict) -> bytes:
    return hash_token(body.string(data, "token", max_len=MAX_TOKEN_CHARS))


def _new_token() -> tuple[str, bytes]:
    token = secrets.token_urlsafe(32)
    return token, hash_token(token)


# ---- what is sent ---------------------------------------------------------------------

def send_verification(app: web.Application, account_id: int, email: str) -> None:
    """Mail a new verification token to ``email`` (after the caller has answered)."""
    app[MAILER].run(_verification(app, account_id, email), "verify")


async def _verification(app, account_id: int, email: str) -> None:
    mailer, settings = app[MAILER], app[PLATFORM_SETTINGS]
    token, token_hash = _new_token()
    await email_tokens.issue(app[POOL], token_hash, account_id, "verify",
                             settings.verify_token_ttl_s)
    hours = settings.verify_token_ttl_s // 3600
    mailer.send(email, "Confirm your email address", (
        f"Confirm this address for your account:\n\n"
        f"  {mailer.public_url}/#verify-email?token={token}\n\n"
        f"or POST /api/v1/auth/verify-email with {{\"token\": \"{token}\"}}.\n"
        f"The link works once, for {hours} hours. If you did not register, ignore this mail.\n"),
        "verify")


def register_attempted(app: web.Application, email: str) -> None:
    """Someone tried to register ``email`` again: tell its (verified) owner."""
    app[MAILER].run(_register_attempted(app, email), "register-again")


async def _register_attempted(app, email: str) -> None:
    row = await users.by_email(app[POOL], email)
    if (row is not None and row["email_verified"]
            and app[MAILER].allow("register-again", email, REGISTER_AGAIN_EVERY_S)):
        app[MAILER].send(email, "Someone tried to register your email", (
            "Someone tried to create an account with this address, which already has one.\n"
            "If it was you, log in instead, or reset your password.\n"), "register-again")


def new_device(app: web.Application, account_id: int, ip: str | None, agent: str) -> None:
    """A login from an (IP, user agent) pair the account had not used: tell the owner."""
    app[MAILER].run(_notice(app, account_id, "New sign-in to your account", (
        f"Your account was signed in to from a new device:\n\n"
        f"  address:    {ip or 'unknown'}\n  user agent: {agent or 'none'}\n\n"
        f"If this was not you, reset your password and revoke your API keys.\n")),
        "new-device")


def withdrawal_requested(app: web.Application, account_id: int, withdrawal: dict) -> None:
    """A withdrawal was requested (``withdrawal``: its JSON view): tell the owner."""
    app[MAILER].run(_notice(app, account_id, "Withdrawal requested", (
        f"A withdrawal was requested from your account:\n\n"
        f"  id:          {withdrawal.get('withdrawal_id')}\n"
        f"  amount:      {withdrawal.get('amount')} {withdrawal.get('asset')}\n"
        f"  destination: {withdrawal.get('destination') or 'none given'}\n"
        f"  status:      {withdrawal.get('status')}\n\n"
        f"If this was not you, reset your password and revoke your API keys.\n")),
        "withdrawal")


async def _notice(app, account_id: int, subject: str, text: str) -> None:
    row = await users.contact(app[POOL], account_id)
    if row is not None and row["email_verified"]:
        app[MAILER].send(row["email"], subject, text, "notice")


def notification_listener(app: web.Application):
    """A ``Notifier`` listener: mail the stored fills and price alerts of the accounts that
    opted in, one mail per account and kind per window."""
    def listener(rows) -> None:
        fills, alerts = {}, {}
        for row in rows:
            detail = row["detail"]
            if isinstance(detail, str):
                detail = orjson.loads(detail)
            if row["kind"] == "PRICE_ALERT":
                alerts.setdefault(row["account_id"], []).append(row["title"])
            elif row["kind"] == "ORDER" and (
                    detail.get("status") in FILL_STATUSES or detail.get("fills")
                    or any(s in FILL_STATUSES for s in detail.get("statuses", ()))):
                fills.setdefault(row["account_id"], []).append(row["title"])
        if fills:
            app[MAILER].run(_opted_in(app, "fills", fills, "Your orders were filled"), "fills")
        if alerts:
            app[MAILER].run(_opted_in(app, "alerts", alerts, "Price alert"), "alerts")
    return listener


async def _opted_in(app, kind: str, lines: dict, subject: str) -> None:
    emails = await users.opted_in(app[POOL], lines, kind)
    for account_id, email in emails.items():
        text = "\n".join(f"  {line}" for line in lines[account_id])
        app[MAILER].send(email, subject, f"{subject}:\n\n{text}\n\n"
                         f"Turn this mail off with PUT /api/v1/me/email-preferences.\n", kind)


# ---- routes ---------------------------------------------------------------------------

@routes.post("/api/v1/auth/password-reset")
async def request_reset(request: web.Request) -> web.Response:
    """Mail a password reset link to the account of ``email``, if there is one; the answer
    is the same either way."""
    data = await body.read_object(request, {"email"})
    email = email_field(data)
    if not request.app[MAILER].enabled:
        raise _mail_off()
    count_attempt(request)
    request.app[MAILER].run(_reset_mail(request.app, email), "reset")
    return json({"requested": True}, status=202)


async def _reset_mail(app, email: str) -> None:
    row = await users.by_email(app[POOL], email)
    mailer, settings = app[MAILER], app[PLATFORM_SETTINGS]
    if row is None or not mailer.allow("reset", email, RESET_EVERY_S):
        return
    token, token_hash = _new_token()
    await email_tokens.issue(app[POOL], token_hash, row["account_id"], "reset",
                             settings.reset_token_ttl_s)
    minutes = settings.reset_token_ttl_s // 60
    mailer.send(email, "Reset your password", (
        f"Someone asked to reset the password of your account. To choose a new one:\n\n"
        f"  {mailer.public_url}/#reset-password?token={token}\n\n"
        f"or POST /api/v1/auth/password-reset/confirm with "
        f"{{\"token\": \"{token}\", \"new_password\": \"...\"}}.\n"
        f"The link works once, for {minutes} minutes, and ends every session of the account.\n"
        f"If you did not ask, ignore this mail: your password stays as it is.\n"), "reset")


@routes.post("/api/v1/auth/password-reset/confirm")
async def confirm_reset(request: web.Request) -> web.Response:
    """Set a new password with a mailed reset token (once); end every session."""
    data = await body.read_object(request, {"token", "new_password"})
    token_hash = _token_field(data)
    password = new_password_field(request, data, "new_password")
    count_attempt(request)
    app = request.app
    password_hash = await app[PASSWORDS].hash(password)
    async with app[POOL].acquire() as conn:
        async with conn.transaction():
            account_id = await email_tokens.consume(conn, token_hash, "reset")
            if account_id is None:
                raise errors.PlatformError(400, "RESET_TOKEN_INVALID",
                                           "The reset token is unknown, used or expired.")
            await users.set_password(conn, account_id, password_hash)
            await users.mark_email_verified(conn, account_id)
            await email_tokens.end_all(conn, account_id, "reset")
            revoked = await sessions.revoke_sessions(conn, account_id)
    end_sessions(app, revoked)
    return json({"password_reset": True, "revoked_sessions": len(revoked)})


@routes.post("/api/v1/auth/verify-email")
async def verify_email(request: web.Request) -> web.Response:
    """Mark the address verified with a mailed verification token (once)."""
    data = await body.read_object(request, {"token"})
    token_hash = _token_field(data)
    count_attempt(request)
    async with request.app[POOL].acquire() as conn:
        async with conn.transaction():
            account_id = await email_tokens.consume(conn, token_hash, "verify")
            if account_id is None:
                raise errors.PlatformError(400, "VERIFY_TOKEN_INVALID",
                                           "The verification token is unknown, used or expired.")
            await users.mark_email_verified(conn, account_id)
    return json({"email_verified": True})


@routes.post("/api/v1/auth/verify-email/resend")
async def resend_verification(request: web.Request) -> web.Response:
    """Mail a new verification token to the caller's address (earlier ones stop working)."""
    caller = await authenticate(request)
    await body.read_object(request)
    if not request.app[MAILER].enabled:
        raise _mail_off()
    count_attempt(request)
    row = await users.contact(request.app[POOL], caller.account_id)
    if row is None:
        raise errors.PlatformError(404, "NOT_FOUND", "No login for this account.")
    if row["email_verified"]:
        raise errors.PlatformError(409, "EMAIL_ALREADY_VERIFIED",
                                   "This address is verified already.")
    send_verification(request.app, caller.account_id, row["email"])
    return json({"requested": True}, status=202)


def _preferences(row) -> dict:
    return {"email_verified": row["email_verified"], "fills": row["email_fills"],
            "alerts": row["email_alerts"]}


@routes.get("/api/v1/me/email-preferences")
async def get_preferences(request: web.Request) -> web.Response:
    """Which opt-in mail the caller gets (only once the address is verified)."""
    caller = await authenticate(request)
    body.no_query(request)
    row = await users.contact(request.app[POOL], caller.account_id)
    if row is None:
        raise errors.PlatformError(404, "NOT_FOUND", "No login for this account.")
    return json(_preferences(row))


@routes.put("/api/v1/me/email-preferences")
async def set_preferences(request: web.Request) -> web.Response:
    """Opt in or out of mail on fills (``fills``) and on price alerts (``alerts``)."""
    caller = await authenticate(request)
    data = await body.read_object(request, {"fills", "alerts"})
    values = {}
    for name in ("fills", "alerts"):
        value = data.get(name)
        if value is not None and type(value) is not bool:
            raise errors.invalid_field(name, "must be true or false")
        values[name] = value
    if values["fills"] is None and values["alerts"] is None:
        raise errors.missing_field("fills")
    row = await users.set_email_preferences(request.app[POOL], caller.account_id,
                                            values["fills"], values["alerts"])
    if row is None:
        raise errors.PlatformError(404, "NOT_FOUND", "No login for this account.")
    return json(_preferences(row))
