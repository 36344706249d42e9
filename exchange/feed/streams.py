"""The WebSocket endpoints of the stream dialect: ``/ws``, ``/ws/<streams>``, ``/stream``.

``/ws/<a>/<b>`` sends raw messages; ``/stream?streams=<a>/<b>`` wraps each in
``{"stream": name, "data": message}``. On an open socket a client sends
``{"method": "SUBSCRIBE" | "UNSUBSCRIBE" | "LIST_SUBSCRIPTIONS" | "SET_PROPERTY"
| "GET_PROPERTY", "params": [...], "id": n}`` and gets Binance's replies
(``{"result": null, "id": n}``, or ``{"error": {"code", "msg"}, "id": n}``).
A path segment that is a listen key (``POST /api/v3/userDataStream``) joins
that account's user data stream; one that names nothing is ignored (ccxt
opens ``/ws/0`` and subscribes by message). The server pings every
``ws_ping_s`` seconds and closes a socket whose pong does not come back
(aiohttp's heartbeat); a client sending more than ``MAX_MESSAGES_PER_S``
messages a second is disconnected, as Binance does.
"""

import time

import orjson
from aiohttp import WSMsgType, web

from ..keys import HUB, PUBLIC_FEED, USER_FEED, WS_PING_S
from .user import cancel_on_disconnect

MAX_STREAMS = 1024           # per connection, as Binance
MAX_MESSAGES_PER_S = 10      # incoming control messages per connection per second
MAX_MESSAGE_BYTES = 16 * 1024

routes = web.RouteTableDef()


def canonical(app: web.Application, name):
    """The canonical public stream name for ``name``, or None if it names none."""
    if type(name) is not str or not name:
        return None
    feed = app[PUBLIC_FEED]
    symbol = feed.symbol_of(name)
    if symbol is None:
        return None
    if symbol == "":
        return name
    return symbol.lower() + name[name.index("@"):]


def _error(code: int, msg: str, id_=None) -> bytes:
    return orjson.dumps({"error": {"code": code, "msg": msg}, "id": id_})


@routes.get("/ws")
@routes.get("/ws/{path:.+}")
async def raw_streams(request: web.Request) -> web.StreamResponse:
    names = [n for n in request.match_info.get("path", "").split("/") if n]
    return await serve(request, names, combined=False)


@routes.get("/stream")
async def combined_streams(request: web.Request) -> web.StreamResponse:
    names = [n for n in request.query.get("streams", "").split("/") if n]
    return await serve(request, names, combined=True)


async def serve(request: web.Request, names: list, *, combined: bool) -> web.StreamResponse:
    app = request.app
    hub = app[HUB]
    user_feed = app.get(USER_FEED)
    ws = web.WebSocketResponse(heartbeat=app[WS_PING_S], compress=False,
                               max_msg_size=MAX_MESSAGE_BYTES)
    await ws.prepare(request)
    sub = hub.connect(request.transport, "combined" if combined else None)
    cancels = set()   # (account, order source) to cancel when this socket closes
    try:
        for name in names[:MAX_STREAMS]:
            stream = canonical(app, name)
            if stream is None and user_feed is not None:
                stream = user_feed.stream_of(name)   # a listen key
                cancel = user_feed.cancel_of(name)
                if cancel is not None:
                    cancels.add(cancel)
            if stream is not None:
                hub.subscribe(sub, stream)
        window, count = int(time.monotonic()), 0
        async for msg in ws:
            if msg.type is not WSMsgType.TEXT:
                if msg.type is WSMsgType.BINARY:   # replies are text frames, as Binance's
                    await ws.send_str(_error(3, "Invalid JSON: binary frames are not accepted")
                                      .decode())
                continue
            now = int(time.monotonic())
            if now != window:
                window, count = now, 0
            count += 1
            if count > MAX_MESSAGES_PER_S:
                hub.disconnect(sub)   # no stream frame may follow the close frame
                await ws.close(code=1008, message=b"too many messages")
                break
            reply = control(app, sub, msg.data)
            await ws.send_str(reply.decode())
    finally:
        hub.disconnect(sub)
        for account, source in cancels:
            cancel_on_disconnect(app, account, source)
    return ws


def control(app: web.Application, sub, text: str) -> bytes:
    """Apply one control message to ``sub``; return the reply."""
    hub = app[HUB]
    try:
        req = orjson.loads(text)
    except orjson.JSONDecodeError as e:
        return _error(3, f"Invalid JSON: {e}")
    if type(req) is not dict:
        return _error(2, "Invalid request: expected a JSON object")
    id_ = req.get("id")
    if id_ is not None and not (type(id_) is int and id_ >= 0) and type(id_) is not str:
        return _error(2, "Invalid request: request ID must be an unsigned integer", None)
    unknown = set(req) - {"method", "params", "id"}
    if unknown:
        return _error(2, "Invalid request: unknown variable", id_)
    method, params = req.get("method"), req.get("params", [])
    if type(params) is not list:
        return _error(2, "Invalid request: params must be an array", id_)
    if method in ("SUBSCRIBE", "UNSUBSCRIBE"):
        streams = [canonical(app, p) for p in params]
        if not params:
            return _error(2, "Invalid request: params must name at least one stream", id_)
        if None in streams:
            bad = next(p for p, s in zip(params, streams) if s is None)
            return _error(2, f"Invalid request: invalid stream name {bad!r}", id_)
        if method == "SUBSCRIBE":
            if len(sub.streams | set(streams)) > MAX_STREAMS:
                return _error(2, f"Invalid request: more than {MAX_STREAMS} streams", id_)
            for s in streams:
                hub.subscribe(sub, s)
        else:
            for s in streams:
                hub.unsubscribe(sub, s)
        return orjson.dumps({"result": None, "id": id_})
    if method == "LIST_SUBSCRIPTIONS":
        public = sorted(s for s in sub.streams if not s.startswith("@"))
        return orjson.dumps({"result": public, "id": id_})
    if method in ("SET_PROPERTY", "GET_PROPERTY"):
        if not params or params[0] != "combined":
            return _error(0, "Unknown property", id_)
        if method == "GET_PROPERTY":
            return orjson.dumps({"result": sub.wrap == "combined", "id": id_})
        if len(params) != 2 or type(params[1]) is not bool:
            return _error(1, "Invalid value type: expected Boolean", id_)
        sub.wrap = "combined" if params[1] else None
        return orjson.dumps({"result": None, "id": id_})
    return _error(2, "Invalid request: unknown method", id_)
