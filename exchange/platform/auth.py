"""Registration, login, token refresh, logout and password change (``/api/v1/auth/...``).

A login opens a *session* (a row in ``sessions``) and returns a JWT access
token naming it plus an opaque refresh token (stored as its sha256). Each
refresh token works once: /auth/refresh returns a new pair, and presenting a
used one again revokes the whole session. Logout revokes the session and the
access token's id; a password change revokes every other session.

Failed logins are counted per email: ``login_max_failures`` in a row lock
it for ``login_lockout_s`` (423 + Retry-After), and a good login resets the
count. Each attempt is claimed (counted, and the lock taken when the count
reaches the limit) in one conditional UPDATE *before* the password is
checked, so at most ``login_max_failures`` guesses are checked per lock
window however many arrive at once (``exchange.store.queries.users``).
Emails without an account are counted and locked the same way, so a login
answers alike for an unknown email, a wrong password and a locked account
(401 until the limit, then 423): nothing tells which emails have accounts.
Credential-checking routes are also throttled per IP (429).
"""

import datetime

import asyncpg
from aiohttp import web

from ..keys import ACCESS_TOKENS, PASSWORDS, PLATFORM_SETTINGS, POOL, SECRET_BOX
from ..store.queries import sessions, users
from . import account_mail, body, errors
from .body import json
from .credentials import MAX_EMAIL_CHARS, MAX_PASSWORD_CHARS, email_field, new_password_field
from .session import Caller, authenticate, count_attempt, end_sessions
from .tokens import hash_refresh_token, new_refresh_token, new_session_id
from .totp import code_field, use_code

routes = web.RouteTableDef()

MAX_REFRESH_CHARS = 256


def _iso(ts: datetime.datetime) -> str:
    return ts.isoformat().replace("+00:00", "Z")


@routes.post("/api/v1/auth/register")
async def register(request: web.Request) -> web.Response:
    """Create an account with a login (email + password); 409 if the email is taken.

    With mail on, a verification link goes to the new address (and, for a taken
    email, a notice to its owner)."""
    data = await body.read_object(request, {"email", "password"})
    email = email_field(data)
    password = new_password_field(request, data, "password")
    count_attempt(request)
    pool = request.app[POOL]
    if await users.email_taken(pool, email):
        account_mail.register_attempted(request.app, email)
        raise _email_taken()
    password_hash = await request.app[PASSWORDS].hash(password)
    try:
        account_id, created_at = await users.create_user(pool, email, email, password_hash)
    except asyncpg.UniqueViolationError:
        raise _email_taken() from None
    account_mail.send_verification(request.app, account_id, email)
    return json({"account_id": account_id, "email": email, "created_at": _iso(created_at)},
                status=201)


def _email_taken() -> errors.PlatformError:
    return errors.PlatformError(409, "EMAIL_TAKEN", "An account with this email already exists.")


def _refused(attempt: int, settings, error: errors.PlatformError) -> errors.PlatformError:
    """``error``, or 423 when this failed attempt was the one that took the lock."""
    if attempt >= settings.login_max_failures:
        return errors.account_locked(settings.login_lockout_s)
    return error


async def _locked(pool, email: str) -> errors.PlatformError:
    left = await users.locked_for(pool, email)
    # a lock that ended between the claim and this read: retry at once
    return errors.account_locked(max(1, left or 1))


@routes.post("/api/v1/auth/login")
async def login(request: web.Request) -> web.Response:
    """Check email, password (and TOTP code when enabled); open a session and return its tokens."""
    data = await body.read_object(request, {"email", "password", "totp"})
    email = body.string(data, "email", max_len=MAX_EMAIL_CHARS).lower()
    password = body.string(data, "password", max_len=MAX_PASSWORD_CHARS)
    code = code_field(data)
    count_attempt(request)
    app = request.app
    pool, passwords, settings = app[POOL], app[PASSWORDS], app[PLATFORM_SETTINGS]
    limit, lockout_s = settings.login_max_failures, settings.login_lockout_s
    user = await users.claim_login(pool, email, limit, lockout_s)
    if user is None:   # locked, or no such user: an unknown email is counted alike
        if not await users.email_taken(pool, email):
            attempt = await users.claim_unknown(pool, email, limit, lockout_s)
            if attempt is not None:
                await passwords.verify(None, password)  # as slow as a wrong password
                raise _refused(attempt, settings, errors.invalid_credentials())
        raise await _locked(pool, email)
    account_id, attempt = user["account_id"], user["failed_logins"]
    if not await passwords.verify(user["password_hash"], password):
        raise _refused(attempt, settings, errors.invalid_credentials())
    if user["totp_enabled"]:
        if code is None:
            # the password was right: this attempt guessed nothing, give it back
            await users.give_back_claim(pool, account_id, limit)
            raise errors.totp_required()
        secret = app[SECRET_BOX].open(user["totp_secret"])
        async with pool.acquire() as conn:
            ok = await use_code(conn, account_id, secret, code, user["totp_last_step"])
        if not ok:
            raise _refused(attempt, settings, errors.totp_invalid())
    ip, agent = request.remote, request.headers.get("User-Agent", "")[:256]
    async with pool.acquire() as conn:
        await users.login_succeeded(conn, account_id)
        if passwords.needs_rehash(user["password_hash"]):
            await users.rehash_password(conn, account_id, await passwords.hash(password))
        async with conn.transaction():
            session_id = new_session_id()
            new_device = await sessions.open_session(conn, session_id, account_id, ip, agent)
            tokens = await _tokens(request, conn, account_id, session_id)
    if new_device:
        account_mail.new_device(app, account_id, ip, agent)
    return json(tokens)


async def _tokens(request: web.Request, conn, account_id: int, session_id: str) -> dict:
    """A new access token and refresh token for a session (inside the caller's transaction)."""
    settings = request.app[PLATFORM_SETTINGS]
    access, claims = request.app[ACCESS_TOKENS].issue(account_id, session_id)
    refresh, refresh_hash = new_refresh_token()
    await sessions.add_refresh_token(conn, refresh_hash, session_id, settings.refresh_token_ttl_s)
    return {"account_id": account_id, "token_type": "Bearer", "access_token": access,
            "expires_in": settings.access_token_ttl_s, "refresh_token": refresh,
            "refresh_expires_in": settings.refresh_token_ttl_s}


@routes.post("/api/v1/auth/refresh")
async def refresh(request: web.Request) -> web.Response:
    """Trade a refresh token (once) for a new access token and refresh token."""
    data = await body.read_object(request, {"refresh_token"})
    token = body.string(data, "refresh_token", max_len=MAX_REFRESH_CHARS)
    count_attempt(request)
    token_hash = hash_refresh_token(token)
    reused = False
    async with request.app[POOL].acquire() as conn:
        async with conn.transaction():
            row = await sessions.refresh_token_for_update(conn, token_hash)
            if row is None:
                raise errors.token_error("REFRESH_TOKEN_INVALID", "Unknown refresh token.")
            if row["revoked"]:
                raise errors.token_error("REFRESH_TOKEN_REVOKED",
                                         "The session of this refresh token has ended.")
            if row["used"]:
                # a used token presented again: stolen or replayed; end the session
                await sessions.revoke_session(conn, row["session_id"])
                reused = True
            elif row["expired"]:
                raise errors.token_error("REFRESH_TOKEN_EXPIRED", "The refresh token has expired.")
            else:
                await sessions.use_refresh_token(conn, token_hash)
                tokens = await _tokens(request, conn, row["account_id"], row["session_id"])
    if reused:
        end_sessions(request.app, [row["session_id"]])
        raise errors.token_error("REFRESH_TOKEN_REUSED", "This refresh token was already used; "
                                 "its session has been revoked. Log in again.")
    return json(tokens)


@routes.post("/api/v1/auth/logout")
async def logout(request: web.Request) -> web.Response:
    """End the caller's session: its refresh tokens and this access token stop working."""
    caller = await authenticate(request)
    await body.read_object(request)
    async with request.app[POOL].acquire() as conn:
        async with conn.transaction():
            await _revoke(conn, caller)
    end_sessions(request.app, [caller.session_id])
    return json({"logged_out": True})


async def _revoke(conn, caller: Caller) -> None:
    await sessions.revoke_session(conn, caller.session_id)
    await sessions.revoke_access_token(conn, caller.jti, caller.expires_at)


@routes.post("/api/v1/auth/password")
async def change_password(request: web.Request) -> web.Response:
    """Change the password (the current one is required); revoke every other session."""
    caller = await authenticate(request)
    data = await body.read_object(request, {"current_password", "new_password"})
    current = body.string(data, "current_password", max_len=MAX_PASSWORD_CHARS)
    new = new_password_field(request, data, "new_password")
    if new == current:
        raise errors.invalid_field("new_password", "must differ from the current password")
    count_attempt(request)
    app = request.app
    pool, passwords, settings = app[POOL], app[PASSWORDS], app[PLATFORM_SETTINGS]
    user = await users.claim_password_check(pool, caller.account_id,
                                            settings.login_max_failures, settings.login_lockout_s)
    if user is None:
        has_login, left = await users.account_locked_for(pool, caller.account_id)
        if not has_login:
            raise errors.PlatformError(404, "NOT_FOUND", "No login for this account.")
        raise errors.account_locked(max(1, left or 1))
    if not await passwords.verify(user["password_hash"], current):
        raise _refused(user["failed_logins"], settings, errors.invalid_credentials())
    new_hash = await passwords.hash(new)
    async with pool.acquire() as conn:
        async with conn.transaction():
            await users.set_password(conn, caller.account_id, new_hash)
            revoked = await sessions.revoke_sessions(conn, caller.account_id,
                                                     keep=caller.session_id)
    end_sessions(app, revoked)
    return json({"password_changed": True, "revoked_sessions": len(revoked)})
