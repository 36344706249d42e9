"""Who is calling: the bearer access token, checked for signature, expiry and revocation."""

import re
from dataclasses import dataclass

import jwt
from aiohttp import web

from ..keys import ACCESS_TOKENS, ATTEMPTS, POOL, SESSION_SOCKETS
from ..store.queries import sessions
from . import errors

MAX_TOKEN_CHARS = 4096
_JWT_SHAPE = re.compile(r"[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*")


@dataclass(frozen=True, slots=True)
class Caller:
    account_id: int
    session_id: str
    jti: str
    expires_at: int
    role: str = "trader"   # accounts.role: trader, operator or compliance


async def authenticate(request: web.Request) -> Caller:
    """The caller of a request with ``Authorization: Bearer <access token>``.

    Refuses with 401: UNAUTHENTICATED (no or malformed header), TOKEN_INVALID
    (bad signature or claims), TOKEN_EXPIRED, TOKEN_REVOKED (logged out, or
    the session was revoked, e.g. by a password change). Revocation and the
    account's role are looked up on every request (one query).
    """
    header = request.headers.get("Authorization")
    if header is None:
        raise errors.unauthenticated()
    scheme, _, token = header.partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token or len(token) > MAX_TOKEN_CHARS:
        raise errors.unauthenticated("Malformed Authorization header; "
                                     "send 'Authorization: Bearer <access token>'.")
    return await verify_token(request, token)


async def verify_token(request: web.Request, token: str) -> Caller:
    """The caller holding access ``token`` (from a header, or a WebSocket's ``?token=``);
    refuses with 401 TOKEN_INVALID, TOKEN_EXPIRED or TOKEN_REVOKED as ``authenticate``."""
    # the shape check also keeps undecodable header bytes from pyjwt
    if len(token) > MAX_TOKEN_CHARS or not _JWT_SHAPE.fullmatch(token):
        raise errors.token_error("TOKEN_INVALID", "The access token is not valid.")
    try:
        claims = request.app[ACCESS_TOKENS].verify(token)
    except jwt.ExpiredSignatureError:
        raise errors.token_error("TOKEN_EXPIRED", "The access token has expired; "
                                 "get a new one from /api/v1/auth/refresh.") from None
    except jwt.InvalidTokenError:
        raise errors.token_error("TOKEN_INVALID", "The access token is not valid.") from None
    row = await sessions.live_caller(request.app[POOL], claims.session_id, claims.jti)
    if row is None or not row["live"] or row["account_id"] != claims.account_id:
        raise errors.token_error("TOKEN_REVOKED", "The access token has been revoked.")
    return Caller(claims.account_id, claims.session_id, claims.jti, claims.expires_at,
                  row["role"])


def require_role(caller: Caller, *roles: str) -> None:
    """Refuse (403 FORBIDDEN) a caller whose account has none of ``roles``."""
    if caller.role not in roles:
        raise errors.forbidden(f"This needs the {' or '.join(roles)} role.")


def count_attempt(request: web.Request) -> None:
    """Count a credential-checking request against its IP; 429 past the limit."""
    _, retry_after = request.app[ATTEMPTS].charge(request.remote or "?", 1)
    if retry_after is not None:
        raise errors.too_many_attempts(retry_after)


def on_session_end(app: web.Application, session_id: str, end) -> "callable":
    """Call ``end()`` when the session is revoked (logout, password change), e.g. to close
    a socket it authenticated; returns the function that forgets ``end`` (call it when
    the socket closes by itself)."""
    ends = app[SESSION_SOCKETS].setdefault(session_id, set())
    ends.add(end)

    def forget():
        ends.discard(end)
        if not ends and app[SESSION_SOCKETS].get(session_id) is ends:
            del app[SESSION_SOCKETS][session_id]
    return forget


def end_sessions(app: web.Application, session_ids) -> None:
    """The sessions were revoked: end what they keep open (``on_session_end``)."""
    for session_id in session_ids:
        for end in list(app[SESSION_SOCKETS].pop(session_id, ())):
            end()
