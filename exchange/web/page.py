"""Serve the built trading page: ``GET /`` (index.html) and ``GET /assets/{name}``.

Vite names every asset by its content hash, so assets are cached for a
year; ``index.html`` is revalidated on every load. Before a build exists
``/`` answers 503 saying how to build it.
"""

import re

from aiohttp import web

from .build import DIST, INDEX

ASSETS = DIST / "assets"
_NAME = re.compile(r"^[A-Za-z0-9_-][A-Za-z0-9._-]{0,200}$")   # no separators, no leading dot

routes = web.RouteTableDef()

NOT_BUILT = ("<!doctype html><title>exchange</title><p>The trading page is not built. "
             "<code>exchange serve</code> builds it on start (it needs Node.js and npm); "
             "or run <code>npm ci &amp;&amp; npm run build</code> in <code>exchange/web</code>.</p>")


@routes.get("/")
async def index(request: web.Request) -> web.StreamResponse:
    """The trading page."""
    if not INDEX.is_file():
        return web.Response(text=NOT_BUILT, status=503, content_type="text/html")
    return web.FileResponse(INDEX, headers={"Cache-Control": "no-cache"})


@routes.get("/assets/{name}")
async def asset(request: web.Request) -> web.StreamResponse:
    """A built script, style sheet or source map, by its hashed name."""
    name = request.match_info["name"]
    path = ASSETS / name
    if not _NAME.match(name) or not path.is_file():
        raise web.HTTPNotFound()
    return web.FileResponse(path, headers={"Cache-Control": "public, max-age=31536000, immutable"})


def setup(app: web.Application) -> None:
    """Add the page's routes to ``app``."""
    app.router.add_routes(routes)
