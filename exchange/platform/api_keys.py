"""API keys of the logged-in user (``/api/v1/api-keys``): create, list, revoke.

A key signs requests to the Binance-dialect routes (``exchange.api.auth``)
with the permissions it was given: ``read`` (queries), ``trade`` (order
entry and cancels), ``withdraw`` (funding, later). The secret is shown once,
in the response that creates the key; listings never show it. It is stored
sealed (``exchange.store.sealing``) and opened only by the signed edge.
"""

import re
import secrets

from aiohttp import web

from ..keys import KEYS, PLATFORM_SETTINGS, POOL, SECRET_BOX
from ..store.queries import api_keys as api_key_rows
from . import body, errors
from .body import json
from .session import authenticate

routes = web.RouteTableDef()

PERMISSIONS = ("read", "trade", "withdraw")
MAX_NAME_CHARS = 64
_KEY = re.compile(r"[A-Za-z0-9]{1,128}")


def _view(row) -> dict:
    return {"api_key": row["api_key"], "name": row["name"],
            "permissions": [p for p in PERMISSIONS if p in row["permissions"]],
            "created_at": row["created_at"].isoformat().replace("+00:00", "Z")}


@routes.post("/api/v1/api-keys")
async def create_key(request: web.Request) -> web.Response:
    """Create an API key with a name and permissions; the response holds its secret, once."""
    caller = await authenticate(request)
    data = await body.read_object(request, {"name", "permissions"})
    name = body.string(data, "name", max_len=MAX_NAME_CHARS)
    if not name.isprintable():
        raise errors.invalid_field("name", "must be printable")
    permissions = body.string_set(data, "permissions", PERMISSIONS)
    limit = request.app[PLATFORM_SETTINGS].max_api_keys
    api_key, secret = secrets.token_hex(32), secrets.token_hex(32)
    row = await api_key_rows.create(request.app[POOL], api_key,
                                    request.app[SECRET_BOX].seal(secret), caller.account_id,
                                    permissions, name, limit=limit)
    if row is None:
        raise errors.PlatformError(409, "TOO_MANY_API_KEYS",
                                   f"An account may hold at most {limit} active API keys.")
    return json(dict(_view(row), secret=secret), status=201)


@routes.get("/api/v1/api-keys")
async def list_keys(request: web.Request) -> web.Response:
    """List the caller's active API keys, without secrets."""
    caller = await authenticate(request)
    body.no_query(request)
    rows = await api_key_rows.list_active(request.app[POOL], caller.account_id)
    return json({"api_keys": [_view(r) for r in rows]})


@routes.delete("/api/v1/api-keys/{api_key}")
async def revoke_key(request: web.Request) -> web.Response:
    """Revoke one of the caller's API keys; it is refused (-2015) from then on."""
    caller = await authenticate(request)
    await body.read_object(request)
    api_key = request.match_info["api_key"]
    row = None
    if _KEY.fullmatch(api_key):
        row = await api_key_rows.revoke(request.app[POOL], api_key, caller.account_id)
    if row is None:
        raise errors.PlatformError(404, "API_KEY_NOT_FOUND", "No such active API key.")
    request.app[KEYS].forget(api_key)
    return json(dict(_view(row), revoked=True))
