"""Bounds on what one client may hold: time to send a request, open connections.

- **Request head:** a connection must deliver a complete request line and
  headers within ``header_timeout_s`` of opening, or of its previous
  response, or it is closed. This is aiohttp's keep-alive timer
  (``keepalive_timeout``, set through the application's ``handler_args``),
  which also covers a head that never completes; so it is also how long an
  idle keep-alive connection is kept.
- **Request body:** ``body_deadline`` (the innermost middleware) reads a
  body that has not arrived whole with its head before the handler runs,
  within ``body_read_timeout_s``; a body still incomplete then (a
  ``Content-Length`` larger than what is sent, an unterminated chunked body)
  is answered 408 and the connection closed. A ``Content-Length`` over
  ``max_body_bytes`` is answered 413 at once, before a byte of the body is
  read. After either answer the rest of the body is read and dropped for at
  most ``exchange.server.LINGER_S`` (2 s, aiohttp's lingering close:
  so that the client can read the answer before the connection closes), then
  the connection is closed. Each dialect's middleware words the answer:
  ``{"code": "REQUEST_TIMEOUT" | "BODY_TOO_LARGE", "message"}`` under
  ``/api/v1/``, Binance's ``{"code": -1000 | -1100, "msg"}`` elsewhere. A
  client that disconnects mid-body is a DEBUG line, nothing more.
- **Connections:** at most ``max_connections_per_ip`` open connections per
  peer address (``ConnectionBound``, wrapped around the server's protocol by
  ``exchange.server.start_site``). One more is answered at once with HTTP 429
  ``{"code": -1003, "msg"}`` and closed, before anything of it is read.
  Connections from a trusted proxy are not counted: the proxy carries many
  clients, and at the connection, before any header, only the peer is known.
"""

import asyncio
import ipaddress
import logging

import orjson
from aiohttp import web

from . import errors
from .address import TrustedProxies
from ..keys import API_SETTINGS, BODY_READ_TIMEOUT

log = logging.getLogger(__name__)



@web.middleware
def body_deadline(request: web.Request, handler):
    """Read the request's body within the deadline (408), refusing a declared size over the
    limit at once (413); then run the handler, whose reads find the body in memory.

    Not a coroutine function: a request without a body, or whose body has arrived whole
    already (an order's, as a rule: it comes with its head), goes to its handler without
    a frame or a timer of ours; its handler's read finds it in memory."""
    if not request.body_exists or request.content.is_eof():
        return handler(request)
    return _read_then_handle(request, handler)


async def _read_then_handle(request: web.Request, handler):
    limit = request.app[API_SETTINGS].max_body_bytes   # the application's client_max_size
    length = request.content_length
    if length is not None and length > limit:
        raise web.HTTPRequestEntityTooLarge(limit, length)
    try:
        async with asyncio.timeout(request.app[BODY_READ_TIMEOUT]):
            await request.read()   # over the limit: HTTPRequestEntityTooLarge (413)
    except TimeoutError:
        raise web.HTTPRequestTimeout() from None
    except ConnectionError:
        log.debug("client disconnected before its request body was complete")
        raise
    return await handler(request)


# ---- connections --------------------------------------------------------------------------

def _refusal(limit: int) -> bytes:
    body = orjson.dumps({"code": errors.TOO_MANY_REQUESTS,
                         "msg": f"Too many open connections from this address (at most "
                                f"{limit}); close some before opening more."})
    return (b"HTTP/1.1 429 Too Many Requests\r\nContent-Type: application/json\r\n"
            b"Connection: close\r\nContent-Length: " + str(len(body)).encode() + b"\r\n\r\n"
            + body)


class ConnectionBound:
    """Open connections per peer address, at most ``limit`` each (0: no bound)."""

    def __init__(self, limit: int, proxies: TrustedProxies | None = None):
        self.limit = limit
        self.proxies = proxies or TrustedProxies()
        self.open = {}        # address -> open connections counted
        self.refused = 0
        self._refusal = _refusal(limit)

    def admit(self, address: str) -> bool:
        """Count a new connection from ``address``; False (not counted) past the bound."""
        if self.limit <= 0 or self.proxies.trusts(address):
            return True
        n = self.open.get(address, 0)
        if n >= self.limit:
            self.refused += 1
            return False
        self.open[address] = n + 1
        return True

    def release(self, address: str) -> None:
        n = self.open.get(address, 0) - 1
        if n > 0:
            self.open[address] = n
        else:
            self.open.pop(address, None)

    def factory(self, make_protocol):
        """A protocol factory for ``loop.create_server``: ``make_protocol``'s protocols
        (aiohttp's request handlers), each admitted or refused when its connection opens."""
        return lambda: _Bounded(make_protocol(), self)


def _peer(transport) -> str:
    peer = transport.get_extra_info("peername")
    text = peer[0] if isinstance(peer, tuple) and peer else "?"
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        return text
    if address.version == 6 and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return str(address)


class _Bounded(asyncio.Protocol):
    """Passes a connection to ``inner`` if the bound admits it; else answers 429 and closes.
    Only the asyncio protocol interface is forwarded: nothing reads the wrapper's insides."""

    __slots__ = ("inner", "bound", "address")

    def __init__(self, inner, bound: ConnectionBound):
        self.inner = inner
        self.bound = bound
        self.address = None   # set once admitted

    def connection_made(self, transport) -> None:
        address = _peer(transport)
        if not self.bound.admit(address):
            log.info("refused a connection: %d already open from %s", self.bound.limit, address)
            transport.write(self.bound._refusal)
            transport.close()
            return
        self.address = address
        self.inner.connection_made(transport)

    def connection_lost(self, exc) -> None:
        if self.address is not None:
            self.bound.release(self.address)
            self.address = None
            self.inner.connection_lost(exc)

    def data_received(self, data) -> None:
        if self.address is not None:
            self.inner.data_received(data)

    def eof_received(self):
        if self.address is not None:
            return self.inner.eof_received()
        return None

    def pause_writing(self) -> None:
        if self.address is not None:
            self.inner.pause_writing()

    def resume_writing(self) -> None:
        if self.address is not None:
            self.inner.resume_writing()


class BoundedSite(web.TCPSite):
    """aiohttp's TCP site, its connections passed through a ``ConnectionBound``."""

    __slots__ = ("bound",)

    def __init__(self, runner: web.BaseRunner, host: str, port: int, bound: ConnectionBound):
        super().__init__(runner, host, port)
        self.bound = bound

    async def start(self) -> None:
        await web.BaseSite.start(self)   # registers the site with its runner
        server = self._runner.server
        factory = self.bound.factory(server) if self.bound.limit > 0 else server
        self._server = await asyncio.get_running_loop().create_server(
            factory, self._host, self._port, backlog=self._backlog)
        self._bound_port = self._server.sockets[0].getsockname()[1]
