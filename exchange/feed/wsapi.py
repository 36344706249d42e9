"""``/ws-api/v3``: the part of Binance's WebSocket API that user data streams need.

A client sends ``{"id": ..., "method": ..., "params": {...}}`` and gets
``{"id", "status": 200, "result": ..., "rateLimits": [...]}``, or
``{"id", "status": 4xx, "error": {"code", "msg"}, "rateLimits": [...]}`` with
the REST API's Binance codes. Requests are charged to the caller's IP in the
same request-weight window as REST (``api.ratelimit``).

Methods: ``ping``, ``time``; ``session.logon`` (signed), ``session.status``,
``session.logout``; ``userDataStream.subscribe`` (the logged-on account),
``userDataStream.subscribe.signature`` (any account whose key signs it: what
ccxt pro's ``watchOrders``/``watchBalance`` use for spot),
``userDataStream.unsubscribe`` (one ``subscriptionId``, or all) and
``session.subscriptions``. Signed requests carry ``apiKey``, ``timestamp``,
optional ``recvWindow`` and ``signature``: the hex HMAC-SHA256 of the other
params sorted by name as ``k=v&...``, checked by the REST API's own
``api.auth.check_signed``. Binance takes only Ed25519 keys for
``session.logon``; here the HMAC keys this venue issues do.

Each subscription's events arrive as ``{"subscriptionId": n, "event": {...}}``
(one hub subscriber per subscription, on the connection's transport, its
``wrap`` adding the envelope). One subscription per account per connection,
at most ``MAX_SUBSCRIPTIONS`` at once.
"""

import time

import orjson
from aiohttp import WSMsgType, web

from ..api import errors
from ..api.auth import check_signed, order_source
from ..api.errors import ApiError
from ..api.params import Params
from ..keys import HUB, LIMITER, WS_PING_S
from .streams import MAX_MESSAGE_BYTES, MAX_MESSAGES_PER_S
from .user import account_stream, cancel_on_disconnect

MAX_SUBSCRIPTIONS = 1000
ALREADY_SUBSCRIBED = -2035      # Binance: "User Data Stream subscription already active."
NOT_SUBSCRIBED = -2036          # Binance: "User Data Stream subscription not active."
UNSUPPORTED = -1020             # Binance: "This operation is not supported."
_ID_MAX_CHARS = 36
_WEIGHTS = {"ping": 1, "time": 1, "session.logon": 2, "session.status": 2,
            "session.logout": 2, "userDataStream.subscribe": 2,
            "userDataStream.subscribe.signature": 2, "userDataStream.unsubscribe": 2,
            "session.subscriptions": 2}

routes = web.RouteTableDef()


def envelope(subscription_id: int):
    """The hub ``wrap`` of one subscription: ``{"subscriptionId": n, "event": <message>}``."""
    head = b'{"subscriptionId":' + str(subscription_id).encode() + b',"event":'
    return lambda message: head + message + b"}"


def _scalar(name: str, value) -> str:
    """A JSON param as the text it is signed as; objects, arrays and floats are refused."""
    if type(value) is bool:
        return "true" if value else "false"
    if type(value) in (int, str):
        return str(value)
    raise errors.illegal(name, "a string, an integer or a boolean")


class Session:
    """One WebSocket API connection: its logon and its user data subscriptions."""

    def __init__(self, request: web.Request):
        self.request = request
        self.app = request.app
        self.hub = request.app[HUB]
        self.connected_ms = int(time.time() * 1000)
        self.logon = None            # the ApiKey of session.logon
        self.logon_ms = None
        self.logon_cancel = False    # session.logon opted in to cancel-on-disconnect
        self.subs = {}               # subscription id -> (hub Subscriber, account, by logon)
        self.cancels = {}            # subscription id -> (account, order source) to cancel
        self.next_id = 0

    async def handle(self, text: str) -> bytes:
        """Answer one request (subscribing first, so no event can precede its reply)."""
        try:
            req = orjson.loads(text)
        except orjson.JSONDecodeError:
            return self._error(None, ApiError(errors.ILLEGAL_CHARS, "Malformed request: invalid JSON."))
        if type(req) is not dict:
            return self._error(None, ApiError(errors.ILLEGAL_CHARS,
                                              "Malformed request: expected a JSON object."))
        id_ = req.get("id")
        if not (id_ is None or (type(id_) is int and -2**63 <= id_ < 2**63)
                or (type(id_) is str and 0 < len(id_) <= _ID_MAX_CHARS)):
            return self._error(None, ApiError(errors.ILLEGAL_CHARS, "Malformed request: 'id' must "
                                              "be an integer, a string of 1 to 36 characters "
                                              "or null."))
        method, params = req.get("method"), req.get("params", {})
        extra = set(req) - {"id", "method", "params"}
        if extra:
            return self._error(id_, ApiError(errors.ILLEGAL_CHARS, "Malformed request: unknown "
                                             f"field {sorted(extra)[0]!r}."))
        if type(method) is not str or method not in _WEIGHTS:
            return self._error(id_, ApiError(UNSUPPORTED, f"Unknown method {method!r}."
                                             if type(method) is str else
                                             "Malformed request: 'method' must be a string."))
        used, retry_after = self.app[LIMITER].charge(self.request.remote or "?", _WEIGHTS[method])
        if retry_after is not None:
            return self._error(id_, ApiError(
                errors.TOO_MANY_REQUESTS, f"Too many requests; retry after {retry_after} s."),
                used)
        if type(params) is not dict:
            return self._error(id_, ApiError(errors.ILLEGAL_CHARS,
                                             "Malformed request: 'params' must be an object."),
                               used)
        try:
            result = await getattr(self, "_" + method.replace(".", "_"))(params)
        except ApiError as e:
            return self._error(id_, e, used)
        return orjson.dumps({"id": id_, "status": 200, "result": result,
                             "rateLimits": self._limits(used)})

    def _limits(self, used: int) -> list:
        return [{"rateLimitType": "REQUEST_WEIGHT", "interval": "MINUTE", "intervalNum": 1,
                 "limit": self.app[LIMITER].limit, "count": used}]

    def _error(self, id_, e: ApiError, used: int | None = None) -> bytes:
        out = {"id": id_, "status": e.status, "error": {"code": e.code, "msg": e.msg}}
        if used is not None:
            out["rateLimits"] = self._limits(used)
        return orjson.dumps(out)

    # ---- parameters ---------------------------------------------------------------

    def _params(self, params: dict) -> Params:
        return Params({k: _scalar(k, v) for k, v in params.items()})

    async def _signed(self, params: dict):
        """Check a signed request's params; return the caller's ApiKey and whether it asks
        for cancel-on-disconnect (``cancelOnDisconnect``, signed like the rest)."""
        texts = {k: _scalar(k, v) for k, v in params.items()}
        payload = "&".join(f"{k}={texts[k]}" for k in sorted(texts) if k != "signature")
        values = Params(texts)
        api_key = values.raw("apiKey")
        if api_key is None:
            raise errors.mandatory("apiKey")
        key = await check_signed(self.app, api_key, values, payload)
        cancel = bool(values.bool("cancelOnDisconnect"))
        values.check_all_read()
        return key, cancel

    def _none(self, params: dict) -> None:
        self._params(params).check_all_read()

    # ---- methods ------------------------------------------------------------------------

    async def _ping(self, params):
        self._none(params)
        return {}

    async def _time(self, params):
        self._none(params)
        return {"serverTime": int(time.time() * 1000)}

    def _status(self) -> dict:
        return {"apiKey": None if self.logon is None else self.logon.api_key,
                "authorizedSince": self.logon_ms, "connectedSince": self.connected_ms,
                "returnRateLimits": True, "serverTime": int(time.time() * 1000),
                "userDataStream": bool(self.subs)}

    async def _session_logon(self, params):
        self.logon, self.logon_cancel = await self._signed(params)
        self.logon_ms = int(time.time() * 1000)
        return self._status()

    async def _session_status(self, params):
        self._none(params)
        return self._status()

    async def _session_logout(self, params):
        self._none(params)
        for sid in [sid for sid, (_, _, by_logon) in self.subs.items() if by_logon]:
            self._unsubscribe(sid)
        self.logon = self.logon_ms = None
        self.logon_cancel = False
        return self._status()

    async def _userDataStream_subscribe(self, params):
        self._none(params)
        if self.logon is None:
            raise ApiError(errors.UNAUTHORIZED, "Authenticate this session with session.logon "
                           "first, or use userDataStream.subscribe.signature.")
        return self._subscribe(self.logon.account, True)

    async def _userDataStream_subscribe_signature(self, params):
        key, cancel = await self._signed(params)
        result = self._subscribe(key.account, False)
        if cancel:
            self.cancels[result["subscriptionId"]] = (key.account, order_source(key.api_key))
        return result

    async def _userDataStream_unsubscribe(self, params):
        values = self._params(params)
        sid = values.int("subscriptionId", lo=0)
        values.check_all_read()
        if sid is None:
            for s in list(self.subs):
                self._unsubscribe(s)
        elif sid in self.subs:
            self._unsubscribe(sid)
        else:
            raise ApiError(NOT_SUBSCRIBED, "User Data Stream subscription not active.")
        return {}

    async def _session_subscriptions(self, params):
        self._none(params)
        return [{"subscriptionId": sid} for sid in sorted(self.subs)]

    # ---- subscriptions ----------------------------------------------------------------

    def _subscribe(self, account: int, by_logon: bool) -> dict:
        if any(a == account for _, a, _ in self.subs.values()):
            raise ApiError(ALREADY_SUBSCRIBED, "User Data Stream subscription already active.")
        if len(self.subs) >= MAX_SUBSCRIPTIONS:
            raise ApiError(errors.INVALID_PARAMETER,
                           f"Too many subscriptions on this connection (at most {MAX_SUBSCRIPTIONS}).")
        sid = self.next_id
        self.next_id += 1
        sub = self.hub.connect(self.request.transport, envelope(sid))
        self.hub.subscribe(sub, account_stream(account))
        self.subs[sid] = (sub, account, by_logon)
        return {"subscriptionId": sid}

    def _unsubscribe(self, sid: int) -> None:
        sub, _, _ = self.subs.pop(sid)
        self.cancels.pop(sid, None)   # ended on purpose: nothing to cancel
        self.hub.disconnect(sub)

    def close(self) -> None:
        """The connection ended: forget its subscriptions, then cancel what opted in."""
        cancels = set(self.cancels.values())
        if self.logon is not None and self.logon_cancel:
            cancels.add((self.logon.account, order_source(self.logon.api_key)))
        self.cancels.clear()
        for sid in list(self.subs):
            self._unsubscribe(sid)
        for account, source in cancels:
            cancel_on_disconnect(self.app, account, source)


@routes.get("/ws-api/v3")
async def ws_api(request: web.Request) -> web.StreamResponse:
    """The WebSocket API connection: requests in, responses and subscribed events out."""
    ws = web.WebSocketResponse(heartbeat=request.app[WS_PING_S], compress=False,
                               max_msg_size=MAX_MESSAGE_BYTES)
    await ws.prepare(request)
    session = Session(request)
    try:
        window, count = int(time.monotonic()), 0
        async for msg in ws:
            if msg.type is not WSMsgType.TEXT:
                if msg.type is WSMsgType.BINARY:
                    await ws.send_str(session._error(None, ApiError(
                        errors.ILLEGAL_CHARS, "Malformed request: binary frames are not accepted."
                    )).decode())
                continue
            now = int(time.monotonic())
            if now != window:
                window, count = now, 0
            count += 1
            if count > MAX_MESSAGES_PER_S:
                await ws.close(code=1008, message=b"too many messages")
                break
            reply = await session.handle(msg.data)
            await ws.send_str(reply.decode())
    finally:
        session.close()
    return ws
