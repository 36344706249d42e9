"""JSON in and out: strict request bodies (objects of known, typed fields) and responses.

Protocol code only: bytes in, checked values out. Anything malformed is a
``PlatformError`` (400 MALFORMED_JSON / INVALID_BODY / UNKNOWN_FIELD /
MISSING_FIELD / INVALID_FIELD, 413, 415), never an exception of another kind.
"""

import orjson
from aiohttp import web

from . import errors

MAX_BODY_BYTES = 16 * 1024   # no platform request needs more
_MISSING = object()


def json(data, status: int = 200, headers=None) -> web.Response:
    """A JSON response encoded with orjson."""
    return web.Response(body=orjson.dumps(data), status=status, headers=headers,
                        content_type="application/json")


def no_query(request: web.Request) -> None:
    """Refuse a query string on a route that reads none."""
    for name in request.query:
        raise errors.unknown_parameter(name)


async def read_object(request: web.Request, fields: frozenset | set = frozenset()) -> dict:
    """The request's JSON object, whose keys must all be among ``fields``.

    An absent or empty body is ``{}`` (for routes whose fields are all optional).
    """
    no_query(request)
    if request.content_length is not None and request.content_length > MAX_BODY_BYTES:
        raise errors.body_too_large(MAX_BODY_BYTES)
    try:
        raw = await request.read() if request.body_exists else b""
    except web.HTTPRequestEntityTooLarge:
        raise errors.body_too_large(MAX_BODY_BYTES) from None
    if len(raw) > MAX_BODY_BYTES:
        raise errors.body_too_large(MAX_BODY_BYTES)
    if not raw.strip():
        return {}
    if request.content_type != "application/json":
        raise errors.unsupported_media_type()
    try:
        body = orjson.loads(raw)
    except orjson.JSONDecodeError:
        raise errors.malformed_json() from None
    if not isinstance(body, dict):
        raise errors.invalid_body()
    for name in body:
        if name not in fields:
            raise errors.unknown_field(name)
    return body


def string(body: dict, name: str, *, max_len: int = 1024, required: bool = True) -> str | None:
    """Field ``name`` as a non-empty string of at most ``max_len`` characters."""
    value = body.get(name, _MISSING)
    if value is _MISSING or value is None:
        if required:
            raise errors.missing_field(name)
        return None
    if not isinstance(value, str):
        raise errors.invalid_field(name, "must be a string")
    if not value:
        raise errors.invalid_field(name, "must not be empty")
    if len(value) > max_len:
        raise errors.invalid_field(name, f"must be at most {max_len} characters")
    if "\x00" in value:
        raise errors.invalid_field(name, "must not contain NUL")
    return value


def string_set(body: dict, name: str, allowed: tuple) -> list:
    """Field ``name`` as a non-empty list of distinct strings from ``allowed``, in that order."""
    value = body.get(name, _MISSING)
    if value is _MISSING or value is None:
        raise errors.missing_field(name)
    if not isinstance(value, list) or not value:
        raise errors.invalid_field(name, f"must be a non-empty list of {', '.join(allowed)}")
    chosen = set()
    for item in value:
        if not isinstance(item, str) or item not in allowed:
            raise errors.invalid_field(name, f"may hold only {', '.join(allowed)}")
        if item in chosen:
            raise errors.invalid_field(name, f"lists {item!r} twice")
        chosen.add(item)
    return [a for a in allowed if a in chosen]
