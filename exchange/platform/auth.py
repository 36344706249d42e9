"""Registration, login, token refresh, logout and password change (``/api/v1/auth/...``).

A login opens a *session* (a row in ``sessions``) and returns a JWT access
token naming it plus an opaque refresh token (stored as its sha256). Each
refresh token works once: /auth/refresh returns a new pair, and presenting a
used one again revokes the whole session. Logout revokes the session and the
access token's id; a password change revokes every other session.

Failed logins are counted per account: ``login_max_failures`` in a row lock
it for ``login_lockout_s`` (423 + Retry-After), and a good login resets the
count. Credential-checking routes are also throttled per IP (429).
"""

import datetime
import re

import asyncpg
from aiohttp import web

from ..keys import ACCESS_TOKENS, PASSWORDS, PLATFORM_SETTINGS, POOL
from ..store.queries import accounts
from . import body, errors
from .body import json
from .session import Caller, authenticate, count_attempt, end_sessions
from .tokens import hash_refresh_token, new_refresh_token, new_session_id
from .totp import code_field, use_code

routes = web.RouteTableDef()

MAX_EMAIL_CHARS = 254
MAX_PASSWORD_CHARS = 1024
MAX_REFRESH_CHARS = 256
_EMAIL = re.compile(r"[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]{1,64}@"
                    r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
                    r"(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)+")


def email_field(data: dict) -> str:
    """Field ``email``, shaped like an address, in lower case."""
    email = body.string(data, "email", max_len=MAX_EMAIL_CHARS)
    if not _EMAIL.fullmatch(email):
        raise errors.PlatformError(400, "INVALID_EMAIL", "Field 'email' is not an email address.")
    return email.lower()


def new_password_field(request: web.Request, data: dict, name: str) -> str:
    """Field ``name`` as a password meeting the policy (minimum length)."""
    password = body.string(data, name, max_len=MAX_PASSWORD_CHARS)
    minimum = request.app[PLATFORM_SETTINGS].password_min_length
    if len(password) < minimum:
        raise errors.PlatformError(400, "WEAK_PASSWORD",
                                   f"Field {name!r} must be at least {minimum} characters.")
    return password


def _iso(ts: datetime.datetime) -> str:
    return ts.isoformat().replace("+00:00", "Z")


@routes.post("/api/v1/auth/register")
async def register(request: web.Request) -> web.Response:
    """Create an account with a login (email + password); 409 if the email is taken."""
    data = await body.read_object(request, {"email", "password"})
    email = email_field(data)
    password = new_password_field(request, data, "password")
    count_attempt(request)
    pool = request.app[POOL]
    if await pool.fetchval("SELECT 1 FROM users WHERE email = $1", email):
        raise _email_taken()
    password_hash = await request.app[PASSWORDS].hash(password)
    try:
        async with pool.acquire() as conn:
            async with conn.transaction():
                row = await accounts.create(conn, email)   # the one way to make an account
                await conn.execute(
                    "INSERT INTO users (account_id, email, password_hash, created_at) "
                    "VALUES ($1, $2, $3, $4)", row["account_id"], email, password_hash,
                    row["created_at"])
    except asyncpg.UniqueViolationError:
        raise _email_taken() from None
    return json({"account_id": row["account_id"], "email": email,
                 "created_at": _iso(row["created_at"])}, status=201)


def _email_taken() -> errors.PlatformError:
    return errors.PlatformError(409, "EMAIL_TAKEN", "An account with this email already exists.")


@routes.post("/api/v1/auth/login")
async def login(request: web.Request) -> web.Response:
    """Check email, password (and TOTP code when enabled); open a session and return its tokens."""
    data = await body.read_object(request, {"email", "password", "totp"})
    email = body.string(data, "email", max_len=MAX_EMAIL_CHARS).lower()
    password = body.string(data, "password", max_len=MAX_PASSWORD_CHARS)
    code = code_field(data)
    count_attempt(request)
    pool, passwords = request.app[POOL], request.app[PASSWORDS]
    user = await pool.fetchrow(
        "SELECT account_id, password_hash, totp_enabled, totp_secret, totp_last_step, "
        "       ceil(extract(epoch FROM locked_until - now()))::bigint AS locked_for "
        "FROM users WHERE email = $1", email)
    if user is None:
        await passwords.verify(None, password)  # as slow as a wrong password
        raise errors.invalid_credentials()
    account_id = user["account_id"]
    if user["locked_for"] is not None and user["locked_for"] > 0:
        raise errors.account_locked(user["locked_for"])
    if not await passwords.verify(user["password_hash"], password):
        raise await _failed(request, account_id, errors.invalid_credentials())
    async with pool.acquire() as conn:
        if user["totp_enabled"]:
            if code is None:
                raise errors.totp_required()
            if not await use_code(conn, account_id, user["totp_secret"], code,
                                  user["totp_last_step"]):
                raise await _failed(request, account_id, errors.totp_invalid())
        await conn.execute("UPDATE users SET failed_logins = 0, locked_until = NULL "
                           "WHERE account_id = $1", account_id)
        if passwords.needs_rehash(user["password_hash"]):
            await conn.execute("UPDATE users SET password_hash = $2 WHERE account_id = $1",
                               account_id, await passwords.hash(password))
        async with conn.transaction():
            session_id = new_session_id()
            await conn.execute(
                "INSERT INTO sessions (session_id, account_id, ip, user_agent) "
                "VALUES ($1, $2, $3, $4)", session_id, account_id, request.remote,
                request.headers.get("User-Agent", "")[:256])
            return json(await _tokens(request, conn, account_id, session_id))


async def _failed(request: web.Request, account_id: int,
                  error: errors.PlatformError) -> errors.PlatformError:
    """Count a failed login; return ``error``, or 423 if this failure locked the account."""
    settings = request.app[PLATFORM_SETTINGS]
    async with request.app[POOL].acquire() as conn:
        async with conn.transaction():
            row = await conn.fetchrow(
                "SELECT failed_logins, locked_until IS NOT NULL AND locked_until <= now() "
                "       AS lock_over FROM users WHERE account_id = $1 FOR UPDATE", account_id)
            failures = (0 if row["lock_over"] else row["failed_logins"]) + 1
            locked = failures >= settings.login_max_failures
            await conn.execute(
                "UPDATE users SET failed_logins = $2, locked_until = CASE "
                "  WHEN $3 THEN now() + make_interval(secs => $4) "
                "  WHEN locked_until <= now() THEN NULL ELSE locked_until END "
                "WHERE account_id = $1", account_id, failures, locked,
                float(settings.login_lockout_s))
    return errors.account_locked(settings.login_lockout_s) if locked else error


async def _tokens(request: web.Request, conn, account_id: int, session_id: str) -> dict:
    """A new access token and refresh token for a session (inside the caller's transaction)."""
    settings = request.app[PLATFORM_SETTINGS]
    access, claims = request.app[ACCESS_TOKENS].issue(account_id, session_id)
    refresh, refresh_hash = new_refresh_token()
    await conn.execute(
        "INSERT INTO refresh_tokens (token_hash, session_id, expires_at) "
        "VALUES ($1, $2, now() + make_interval(secs => $3))",
        refresh_hash, session_id, float(settings.refresh_token_ttl_s))
    return {"account_id": account_id, "token_type": "Bearer", "access_token": access,
            "expires_in": settings.access_token_ttl_s, "refresh_token": refresh,
            "refresh_expires_in": settings.refresh_token_ttl_s}


@routes.post("/api/v1/auth/refresh")
async def refresh(request: web.Request) -> web.Response:
    """Trade a refresh token (once) for a new access token and refresh token."""
    data = await body.read_object(request, {"refresh_token"})
    token = body.string(data, "refresh_token", max_len=MAX_REFRESH_CHARS)
    count_attempt(request)
    reused = False
    async with request.app[POOL].acquire() as conn:
        async with conn.transaction():
            row = await conn.fetchrow(
                "SELECT r.session_id, s.account_id, r.used_at IS NOT NULL AS used, "
                "       r.expires_at <= now() AS expired, s.revoked_at IS NOT NULL AS revoked "
                "FROM refresh_tokens r JOIN sessions s USING (session_id) "
                "WHERE r.token_hash = $1 FOR UPDATE OF r, s", hash_refresh_token(token))
            if row is None:
                raise errors.token_error("REFRESH_TOKEN_INVALID", "Unknown refresh token.")
            if row["revoked"]:
                raise errors.token_error("REFRESH_TOKEN_REVOKED",
                                         "The session of this refresh token has ended.")
            if row["used"]:
                # a used token presented again: stolen or replayed; end the session
                await conn.execute("UPDATE sessions SET revoked_at = now() WHERE session_id = $1",
                                   row["session_id"])
                reused = True
            elif row["expired"]:
                raise errors.token_error("REFRESH_TOKEN_EXPIRED", "The refresh token has expired.")
            else:
                await conn.execute("UPDATE refresh_tokens SET used_at = now() "
                                   "WHERE token_hash = $1", hash_refresh_token(token))
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
    await conn.execute("UPDATE sessions SET revoked_at = now() "
                       "WHERE session_id = $1 AND revoked_at IS NULL", caller.session_id)
    await conn.execute("INSERT INTO revoked_tokens (jti, expires_at) "
                       "VALUES ($1, to_timestamp($2)) ON CONFLICT DO NOTHING",
                       caller.jti, float(caller.expires_at))
    # rows of tokens past their expiry are refused by the signature check anyway
    await conn.execute("DELETE FROM revoked_tokens WHERE expires_at < now() - interval '1 hour'")


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
    pool, passwords = request.app[POOL], request.app[PASSWORDS]
    user = await pool.fetchrow(
        "SELECT password_hash, ceil(extract(epoch FROM locked_until - now()))::bigint "
        "AS locked_for FROM users WHERE account_id = $1", caller.account_id)
    if user is None:
        raise errors.PlatformError(404, "NOT_FOUND", "No login for this account.")
    if user["locked_for"] is not None and user["locked_for"] > 0:
        raise errors.account_locked(user["locked_for"])
    if not await passwords.verify(user["password_hash"], current):
        raise await _failed(request, caller.account_id, errors.invalid_credentials())
    new_hash = await passwords.hash(new)
    async with pool.acquire() as conn:
        async with conn.transaction():
            await conn.execute(
                "UPDATE users SET password_hash = $2, password_changed_at = now(), "
                "failed_logins = 0, locked_until = NULL WHERE account_id = $1",
                caller.account_id, new_hash)
            revoked = await conn.fetch(
                "UPDATE sessions SET revoked_at = now() WHERE account_id = $1 "
                "AND session_id <> $2 AND revoked_at IS NULL RETURNING session_id",
                caller.account_id, caller.session_id)
    end_sessions(request.app, [r["session_id"] for r in revoked])
    return json({"password_changed": True, "revoked_sessions": len(revoked)})
