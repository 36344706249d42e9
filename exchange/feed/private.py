"""``/api/v1/ws``: the web page's private WebSocket, authenticated by its JWT access token.

The token comes as ``?token=<access token>`` (browsers cannot set headers on
a WebSocket) or ``Authorization: Bearer <access token>``; it is checked like
every /api/v1 request (``platform.session``: signature, expiry, revocation)
before the upgrade, so a bad one gets HTTP 401 ``{code, message}``. The socket
then carries the account's user data events as Binance's raw event objects
(``executionReport``, ``outboundAccountPosition``, ``balanceUpdate``) and the
account's notifications (``{"e": "notification", ...}``, ``platform.notifications``),
and is closed (1008) when the access token expires (the page reconnects with a
refreshed one) or its session ends (logout, a password change elsewhere, a
reused refresh token). Messages from the client are not read (beyond a rate
limit).
"""

import asyncio
import time

from aiohttp import WSMsgType, web

from ..platform import errors as platform_errors
from ..platform.notifications import notify_stream
from ..platform.session import MAX_TOKEN_CHARS, authenticate, on_session_end, verify_token
from ..keys import HUB, WS_PING_S
from .streams import MAX_MESSAGE_BYTES, MAX_MESSAGES_PER_S
from .user import account_stream, cancel_on_disconnect

TOKEN_EXPIRED_CLOSE = 1008   # the access token expired, or its session ended

routes = web.RouteTableDef()


async def _caller(request: web.Request):
    token = request.query.get("token")
    if token is None:
        return await authenticate(request)
    if not token or len(token) > MAX_TOKEN_CHARS:
        raise platform_errors.unauthenticated("Send the access token as ?token=<access token>.")
    return await verify_token(request, token)


@routes.get("/api/v1/ws")
async def private_stream(request: web.Request) -> web.StreamResponse:
    """The caller's user data events over a WebSocket (JWT in ?token= or the header)."""
    caller = await _caller(request)
    for name in request.query:
        if name not in ("token", "cancel_on_disconnect"):
            raise platform_errors.unknown_parameter(name)
    cancel = request.query.get("cancel_on_disconnect")
    if cancel not in (None, "true", "false"):
        raise platform_errors.invalid_parameter("cancel_on_disconnect", "must be true or false")
    hub = request.app[HUB]
    ws = web.WebSocketResponse(heartbeat=request.app[WS_PING_S], compress=False,
                               max_msg_size=MAX_MESSAGE_BYTES)
    await ws.prepare(request)
    sub = hub.connect(request.transport)
    hub.subscribe(sub, account_stream(caller.account_id))
    hub.subscribe(sub, notify_stream(caller.account_id))
    expiry = asyncio.get_running_loop().call_later(
        max(0.0, caller.expires_at - time.time()),
        lambda: hub.end(sub, "access token expired", TOKEN_EXPIRED_CLOSE))
    forget = on_session_end(request.app, caller.session_id,
                            lambda: hub.end(sub, "session ended", TOKEN_EXPIRED_CLOSE))
    try:
        window, count = int(time.monotonic()), 0
        async for msg in ws:
            if msg.type not in (WSMsgType.TEXT, WSMsgType.BINARY):
                continue
            now = int(time.monotonic())
            if now != window:
                window, count = now, 0
            count += 1
            if count > MAX_MESSAGES_PER_S:
                await ws.close(code=1008, message=b"too many messages")
                break
    finally:
        expiry.cancel()
        forget()
        hub.disconnect(sub)
        if cancel == "true":
            cancel_on_disconnect(request.app, caller.account_id, None)
    return ws
