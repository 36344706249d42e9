"""Signed requests: API keys, HMAC-SHA256 signatures, timestamp and recvWindow.

A signed request carries its key in the ``X-MBX-APIKEY`` header and, among
its parameters, ``timestamp`` (ms), an optional ``recvWindow`` (ms, default
5000, at most 60000) and ``signature``: the hex HMAC-SHA256, keyed with the
API secret, of the query string concatenated with the body, both as sent and
without the ``signature`` parameter itself.
"""

import hmac
import logging
import re
import time
from dataclasses import dataclass

from aiohttp import web

from ..store.queries import api_keys as api_key_rows
from ..store.sealing import SealingError, SecretBox
from . import errors
from .errors import ApiError
from .params import Params, merge, parse_form
from ..keys import KEYS, POOL

log = logging.getLogger(__name__)

_KEY_FORMAT = re.compile(r"^[A-Za-z0-9]{1,128}$")
_SIGNATURE = re.compile(r"^[0-9a-fA-F]{64}$")
DEFAULT_RECV_WINDOW = 5000
MAX_RECV_WINDOW = 60_000
MAX_AHEAD_MS = 1000  # a timestamp may be this far ahead of the server's clock


@dataclass(frozen=True, slots=True)
class ApiKey:
    api_key: str
    secret: str
    account: int
    permissions: frozenset


class KeyStore:
    """API keys by key, read through from the ``api_keys`` table.

    The table holds each secret sealed (``exchange.store.sealing``); the box that
    opens them is set at start-up (``box``), and only opened keys are cached.
    """

    def __init__(self, box: SecretBox | None = None):
        self._keys = {}
        self.box = box

    def forget(self, api_key: str) -> None:
        self._keys.pop(api_key, None)

    def cached(self, api_key: str) -> ApiKey | None:
        """The key if it was read already (no await: the signed hot path)."""
        return self._keys.get(api_key)

    async def get(self, pool, api_key: str) -> ApiKey | None:
        key = self._keys.get(api_key)
        if key is not None:
            return key
        row = await api_key_rows.active(pool, api_key)
        if row is None:
            return None
        try:
            secret = self.box.open(row["secret"])
        except SealingError as e:   # start-up refuses these; one written since: unusable
            log.error("API key %s... refused: its secret does not open (%s)", api_key[:8], e)
            return None
        key = ApiKey(row["api_key"], secret, row["account_id"], frozenset(row["permissions"]))
        self._keys[api_key] = key
        return key




_FORM = "application/x-www-form-urlencoded"


async def read_body(request: web.Request) -> str:
    """The form body as text ('' for none); other content types are refused."""
    if not request.body_exists:
        return ""
    try:
        raw = await request.read()
    except web.HTTPRequestEntityTooLarge:
        raise ApiError(errors.ILLEGAL_CHARS, "Request body too large.", status=413) from None
    if not raw:
        return ""
    # The header as clients send it needs no parsing (request.content_type parses it)
    if (request.headers.get("Content-Type") != _FORM
            and request.content_type not in (_FORM, "application/octet-stream")):
        raise ApiError(errors.ILLEGAL_CHARS,
                       "Unsupported Content-Type; send parameters in the query string or as "
                       "application/x-www-form-urlencoded.", status=415)
    try:
        return raw.decode("ascii")
    except UnicodeDecodeError:
        raise ApiError(errors.ILLEGAL_CHARS, "Illegal characters found in the request body.") from None


def raw_query(request: web.Request) -> str:
    return request.rel_url.raw_query_string


async def public_params(request: web.Request) -> Params:
    """The parameters of an unsigned request."""
    query = parse_form(raw_query(request), "query string")
    body = parse_form(await read_body(request), "request body")
    return Params(merge(query, body))


def _without_signature(text: str) -> str:
    if "signature=" not in text:
        return text
    end = text.rfind("&signature=")
    if end >= 0 and text.count("signature=") == 1 and "&" not in text[end + 1:]:
        return text[:end]   # the usual place: last, and the only field named like it
    return "&".join(p for p in text.split("&") if not p.startswith("signature="))


def sign(secret: str, payload: str) -> str:
    """Return the hex HMAC-SHA256 of ``payload`` keyed with ``secret``."""
    return hmac.digest(secret.encode(), payload.encode(), "sha256").hex()


def order_source(api_key: str) -> str:
    """What a key's orders carry as their ``source`` (PlaceOrder.source): enough of the
    key to tell an account's keys apart, so its kill switch finds them."""
    return api_key[:16]


async def api_key_of(request: web.Request) -> ApiKey:
    """The caller's key from the ``X-MBX-APIKEY`` header alone (no signature), as
    Binance's listen-key routes take it: -2014 malformed, -2015 unknown or revoked."""
    api_key = request.headers.get("X-MBX-APIKEY", "")
    if not _KEY_FORMAT.match(api_key):
        raise ApiError(errors.BAD_API_KEY_FMT, "API-key format invalid.")
    key = await request.app[KEYS].get(request.app[POOL], api_key)
    if key is None:
        raise ApiError(errors.REJECTED_MBX_KEY, "Invalid API-key, IP, or permissions for action.")
    return key


async def signed_params(request: web.Request, permission: str = "read",
                        clock=time.time) -> tuple[Params, ApiKey]:
    """Authenticate a signed request; return its parameters and the caller's key.

    Refuses with -2014 (key missing or malformed), -2015 (unknown or revoked
    key), -1102 (timestamp or signature missing), -1131 (bad recvWindow),
    -1022 (bad signature), -1021 (timestamp outside recvWindow) and -1002
    (key lacks the permission).
    """
    api_key = request.headers.get("X-MBX-APIKEY", "")
    if not _KEY_FORMAT.match(api_key):
        raise ApiError(errors.BAD_API_KEY_FMT, "API-key format invalid.")
    query_text = raw_query(request)
    body_text = await read_body(request)
    params = Params(merge(parse_form(query_text, "query string"),
                          parse_form(body_text, "request body")))
    payload = _without_signature(query_text) + _without_signature(body_text)
    key = await check_signed(request.app, api_key, params, payload, permission, clock)
    return params, key


async def check_signed(app: web.Application, api_key: str, params: Params, payload: str,
                       permission: str = "read", clock=time.time) -> ApiKey:
    """Check a signed request's key, timestamp, recvWindow and ``signature`` (the hex
    HMAC-SHA256 of ``payload``); return the caller's key.

    The REST edge (``signed_params``) and the WebSocket API (which signs its
    JSON params sorted by name, as ``k=v&...``) share it. Refuses with the
    codes listed at ``signed_params``.
    """
    if not _KEY_FORMAT.match(api_key):
        raise ApiError(errors.BAD_API_KEY_FMT, "API-key format invalid.")
    keys = app[KEYS]
    key = keys.cached(api_key)
    if key is None:
        key = await keys.get(app[POOL], api_key)
    if key is None:
        raise ApiError(errors.REJECTED_MBX_KEY, "Invalid API-key, IP, or permissions for action.")
    timestamp = params.time_ms("timestamp", required=True)
    recv_window = params.int("recvWindow")
    if recv_window is None:
        recv_window = DEFAULT_RECV_WINDOW
    elif not 0 < recv_window <= MAX_RECV_WINDOW:
        raise ApiError(errors.BAD_RECV_WINDOW, f"recvWindow must be less than {MAX_RECV_WINDOW}.")
    signature = params.raw("signature")
    if signature is None:
        raise errors.mandatory("signature")
    if not _SIGNATURE.match(signature) or not hmac.compare_digest(
            signature.lower(), sign(key.secret, payload)):
        raise ApiError(errors.INVALID_SIGNATURE, "Signature for this request is not valid.")
    now_ms = int(clock() * 1000)
    if timestamp >= now_ms + MAX_AHEAD_MS:
        raise ApiError(errors.INVALID_TIMESTAMP,
                       f"Timestamp for this request was {MAX_AHEAD_MS}ms ahead of the server's time.")
    if now_ms - timestamp > recv_window:
        raise ApiError(errors.INVALID_TIMESTAMP,
                       "Timestamp for this request is outside of the recvWindow.")
    if permission not in key.permissions:
        raise ApiError(errors.UNAUTHORIZED, "You are not authorized to execute this request.")
    return key
