"""Session tokens: short-lived JWT access tokens (HS256) and opaque refresh tokens.

The signing secret comes from settings (``EXCHANGE_JWT_SECRET``) or is
generated once and kept in ``<data_dir>/jwt-secret`` (mode 0600), so tokens
survive a restart; it is never in the code.
"""

import hashlib
import os
import pathlib
import secrets
import time
import uuid
from dataclasses import dataclass

import jwt

from .. import parse

ISSUER = "exchange"
ALGORITHM = "HS256"
MIN_SECRET_CHARS = 32
SECRET_FILE = "jwt-secret"


def load_secret(configured: str, data_dir: "str | pathlib.Path") -> str:
    """The configured secret, else the one in ``<data_dir>/jwt-secret`` (created if absent)."""
    if configured:
        if len(configured) < MIN_SECRET_CHARS:
            raise ValueError(f"jwt_secret must be at least {MIN_SECRET_CHARS} characters")
        return configured
    path = pathlib.Path(data_dir) / SECRET_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        secret = path.read_text().strip()
        if len(secret) < MIN_SECRET_CHARS:
            raise ValueError(f"{path} holds a secret shorter than {MIN_SECRET_CHARS} characters")
        return secret
    secret = secrets.token_urlsafe(48)
    with os.fdopen(fd, "w") as f:
        f.write(secret + "\n")
    return secret


@dataclass(frozen=True, slots=True)
class AccessClaims:
    account_id: int
    session_id: str
    jti: str
    expires_at: int   # unix seconds


class AccessTokens:
    """Issue and verify access tokens: ``sub`` (account id), ``sid``, ``jti``, ``iat``, ``exp``."""

    def __init__(self, secret: str, ttl_s: int, clock=time.time):
        self._secret = secret
        self.ttl_s = ttl_s
        self._clock = clock

    def issue(self, account_id: int, session_id: str) -> tuple[str, AccessClaims]:
        """Return a new signed token for a session and its claims."""
        now = int(self._clock())
        claims = AccessClaims(account_id, session_id, uuid.uuid4().hex, now + self.ttl_s)
        token = jwt.encode({"iss": ISSUER, "sub": str(account_id), "sid": session_id,
                            "jti": claims.jti, "iat": now, "exp": claims.expires_at,
                            "typ": "access"}, self._secret, algorithm=ALGORITHM)
        return token, claims

    def verify(self, token: str) -> AccessClaims:
        """Return the claims of a genuine, unexpired token; raise ``jwt.InvalidTokenError``.

        ``jwt.ExpiredSignatureError`` (a subclass) when only the expiry fails.
        Revocation is the caller's check (it needs the database).
        """
        claims = jwt.decode(token, self._secret, algorithms=[ALGORITHM], issuer=ISSUER,
                            options={"require": ["iss", "sub", "sid", "jti", "iat", "exp"]})
        sub, sid, jti = claims["sub"], claims["sid"], claims["jti"]
        try:
            account = parse.integer(sub, 1)
        except parse.BadNumber:
            account = None
        if (claims.get("typ") != "access" or account is None or not isinstance(sid, str)
                or not isinstance(jti, str) or not isinstance(claims["exp"], int)):
            raise jwt.InvalidTokenError("malformed claims")
        return AccessClaims(account, sid, jti, claims["exp"])


def new_refresh_token() -> tuple[str, bytes]:
    """Return a new opaque refresh token and the hash under which it is stored."""
    token = secrets.token_urlsafe(32)
    return token, hash_refresh_token(token)


def hash_refresh_token(token: str) -> bytes:
    """The stored form of a refresh token (sha256: the token itself is 256 random bits)."""
    return hashlib.sha256(token.encode()).digest()


def new_session_id() -> str:
    return uuid.uuid4().hex
