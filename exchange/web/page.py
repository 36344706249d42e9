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
# The Content-Type of each kind of asset Vite emits (the OpenAPI document lists these),
# fixed here rather than left to the mimetypes tables of the machine (.map has none).
ASSET_TYPES = {".js": "text/javascript", ".css": "text/css", ".map": "application/json",
               ".svg": "image/svg+xml", ".png": "image/png", ".woff2": "font/woff2"}

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
    if not _NAME.fullmatch(name) or not path.is_file():
        return web.Response(status=404, text="No such asset.", content_type="text/plain")
    return web.FileResponse(path, headers={
        "Cache-Control": "public, max-age=31536000, immutable",
        "Content-Type": ASSET_TYPES.get(path.suffix, "application/octet-stream")})


def setup(app: web.Application) -> None:
    """Add the page's routes to ``app``."""
    app.router.add_routes(routes)
