"""The REST edge as an aiohttp sub-system: middleware, JSON, route registration.

``setup(app, settings)`` adds the Binance-dialect routes to an application
whose ``VENUE`` and ``POOL`` keys the server fills. The ``edge`` middleware
charges request weight, turns every refusal into Binance's ``{code, msg}``
JSON with its HTTP status, and never lets an exception become an HTML page.
"""

import logging

from aiohttp import web

from . import account, errors, market, orders
from .address import client_address
from .auth import KeyStore
from .grants import Grants
from ..keys import API_SETTINGS, CLIENT_IDS, GRANTS, KEYS, LIMITER
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
    408: (errors.UNKNOWN, "The request body did not arrive in time; nothing was done."),
    413: (errors.ILLEGAL_CHARS, "Request body too large."),
}


def route_name(request: web.Request) -> str:
    """The route's pattern (``/ws/{path}``), never the path itself: a path may hold a
    listen key, and log lines hold no credentials."""
    try:
        return request.match_info.route.resource.canonical
    except Exception:
        return "(no route)"


@web.middleware
async def edge(request: web.Request, handler):
    """Charge weight, run the handler, and answer every failure as ``{code, msg}``."""
    weight = weight_of(request)
    if weight is None:   # a health probe: neither charged nor refused
        used, retry_after = None, None
    else:
        used, retry_after = request.app[LIMITER].charge(client_address(request), weight)
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
        if e.status in (408, 413):
            response.force_close()   # the rest of the body is not read
    except ConnectionError:
        raise                        # the client left: aiohttp drops it (one DEBUG line)
    except Exception:
        log.exception("unhandled error in %s %s", request.method, route_name(request))
        response = json({"code": errors.UNKNOWN,
                         "msg": "An unknown error occurred while processing the request."},
                        status=500)
    if used is not None:
        response.headers["X-MBX-USED-WEIGHT-1M"] = str(used)
    return response


def setup(app: web.Application, settings: ApiSettings | None = None) -> None:
    """Add the REST API's routes, middleware and shared state to ``app``."""
    settings = settings or ApiSettings()
    app[API_SETTINGS] = settings
    app[KEYS] = KeyStore()
    app[GRANTS] = Grants(app[KEYS])
    app[LIMITER] = RateLimiter(settings.weight_limit_1m)
    app[CLIENT_IDS] = ClientIds()
    app.middlewares.append(edge)
    for module in (market, orders, account):
        app.router.add_routes(module.routes)
