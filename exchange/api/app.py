"""The REST edge as an aiohttp sub-system: middleware, JSON, route registration.

``setup(app, settings)`` adds the Binance-dialect routes to an application
whose ``VENUE`` and ``POOL`` keys the server fills. The ``edge`` middleware
charges request weight, turns every refusal into Binance's ``{code, msg}``
JSON with its HTTP status, and never lets an exception become an HTML page.
"""

import logging

from aiohttp import web

from . import account, errors, market, orders
from .auth import KeyStore
from ..keys import API_SETTINGS, CLIENT_IDS, KEYS, LIMITER
from .errors import ApiError
from .responses import json
from .ratelimit import RateLimiter, weight_of
from .state import ApiSettings, ClientIds

log = logging.getLogger("exchange.api")


def _error_response(e: ApiError) -> web.Response:
    return json(e.body(), status=e.status, headers=e.headers)


_HTTP_ERRORS = {
    404: (errors.UNKNOWN, "Not found: no such endpoint."),
    405: (errors.UNKNOWN, "Method not allowed for this endpoint."),
    413: (errors.ILLEGAL_CHARS, "Request body too large."),
}


@web.middleware
async def edge(request: web.Request, handler):
    """Charge weight, run the handler, and answer every failure as ``{code, msg}``."""
    used, retry_after = request.app[LIMITER].charge(request.remote or "?", weight_of(request))
    try:
        if retry_after is not None:
            raise ApiError(errors.TOO_MANY_REQUESTS,
                           f"Too many requests; current limit of IP is "
                           f"{request.app[LIMITER].limit} request weight per minute. "
                           f"Please use WebSocket Streams for live updates to avoid polling the API.",
                           headers={"Retry-After": str(retry_after)})
        response = await handler(request)
    except ApiError as e:
        response = _error_response(e)
    except web.HTTPException as e:
        if e.status < 400:
            raise
        code, msg = _HTTP_ERRORS.get(e.status, (errors.UNKNOWN, e.reason))
        response = json({"code": code, "msg": msg}, status=e.status)
    except Exception:
        log.exception("unhandled error in %s %s", request.method, request.path)
        response = json({"code": errors.UNKNOWN,
                         "msg": "An unknown error occurred while processing the request."},
                        status=500)
    response.headers["X-MBX-USED-WEIGHT-1M"] = str(used)
    return response


def setup(app: web.Application, settings: ApiSettings | None = None) -> None:
    """Add the REST API's routes, middleware and shared state to ``app``."""
    settings = settings or ApiSettings()
    app[API_SETTINGS] = settings
    app[KEYS] = KeyStore()
    app[LIMITER] = RateLimiter(settings.weight_limit_1m)
    app[CLIENT_IDS] = ClientIds()
    app.middlewares.append(edge)
    for module in (market, orders, account):
        app.router.add_routes(module.routes)
