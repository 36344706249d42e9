"""The REST edge's JSON response, encoded with orjson (shared by every handler module and
by ``app``, which imports them)."""

import orjson
from aiohttp import web


def json(data, status: int = 200, headers=None) -> web.Response:
    """A JSON response encoded with orjson."""
    return web.Response(body=orjson.dumps(data), status=status, headers=headers,
                        content_type="application/json")
