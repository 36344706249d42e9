"""User data streams: each account's own events in Binance's shapes, published after commit.

``UserFeed.on_commit`` is a batcher listener. From each committed command's
events it builds, per account, Binance's user data events:

- ``executionReport`` for each ``OrderUpdated`` (a TRADE report carries its
  fill from the command's ``Traded`` event: l, L, n, N, t, m, Y);
- ``balanceUpdate`` for each deposit or withdrawal posting (``BalanceChanged``
  with the ledger's DEPOSIT or WITHDRAWAL reason; ``d`` is free + locked delta);
- ``outboundAccountPosition`` once per command, with the account's balances
  that the command changed (free and locked after it).

They go out on the hub under stream names no SUBSCRIBE message can name:
the internal ``@user:<account>`` (the WebSocket API's subscriptions and the
web page's ``/api/v1/ws``; "@" starts no public stream) and, per listen key,
the key itself (``/ws/<listenKey>`` and ``/stream?streams=<listenKey>``, whose
envelopes name the key, as Binance's do), so that an expired or deleted key
closes exactly the sockets it opened. An account's events go only to its own
streams; nothing is built for an account nobody listens to.

Listen keys (``POST/PUT/DELETE /api/v3/userDataStream``) live in memory: a
key is valid until 60 minutes after its last keepalive, then its sockets get
a ``listenKeyExpired`` event and are closed. A restart forgets every key;
clients create a new one when they reconnect, as they must on Binance anyway.
"""

import asyncio
import logging
import secrets
import time

import orjson
from aiohttp import web

from .. import tasks
from ..api import errors
from ..api.responses import json
from ..api.auth import api_key_of, order_source, public_params
from ..api.errors import ApiError
from ..api.ratelimit import weight
from ..api.views import OrderView, ms, order_json
from ..engine import BalanceChanged, CancelOnDisconnect, ExecType, OrderUpdated, Traded
from ..engine.instrument import from_units, minor_unit
from ..engine.ledger import Entry
from ..keys import USER_FEED, VENUE

log = logging.getLogger(__name__)

LISTEN_KEY_TTL_S = 3600.0      # a key lives this long after its last keepalive
SWEEP_S = 5.0                  # how often expired keys are looked for
NS_PER_MS = 1_000_000

# the engine's ExecType -> Binance's "x"; STP expiries become TRADE_PREVENTION below
EXEC_TYPES = {ExecType.NEW: "NEW", ExecType.TRADE: "TRADE", ExecType.CANCELED: "CANCELED",
              ExecType.EXPIRED: "EXPIRED", ExecType.AMENDED: "REPLACED", ExecType.TRIGGERED: "NEW"}
FUNDING = (Entry.DEPOSIT, Entry.WITHDRAWAL)
OPEN = ("NEW", "PARTIALLY_FILLED")


_CANCELS = set()   # cancel-on-disconnect tasks in flight (a task needs a reference)


def cancel_on_disconnect(app: web.Application, account: int, source: str | None) -> None:
    """A session that opted in ended: cancel the account's open orders (only those
    entered by ``source``, an ``order_source``, if given), in the background."""
    async def run():
        try:
            await app[VENUE].submit(CancelOnDisconnect(0, account, source))
        except Exception:  # the journal failed: on_fatal stops the server
            log.exception("cancel-on-disconnect for account %d failed", account)
    task = asyncio.get_running_loop().create_task(run(), name="cancel-on-disconnect")
    _CANCELS.add(task)
    task.add_done_callback(_CANCELS.discard)


def account_stream(account: int) -> str:
    """The internal stream carrying ``account``'s user data events."""
    return f"@user:{account}"


class ListenKey:
    __slots__ = ("key", "account", "expires_at", "cancel_source")   # the key is its stream

    def __init__(self, key, account, expires_at):
        self.key = key
        self.account = account
        self.expires_at = expires_at
        self.cancel_source = None   # opted in to cancel-on-disconnect: the key's order_source


class UserFeed:
    def __init__(self, hub, sequencer, *, clock=time.time, ttl_s: float = LISTEN_KEY_TTL_S):
        self.hub = hub
        self.markets = sequencer.market_views   # symbol -> market (its .inst formats numbers)
        self.assets = sequencer.assets     # asset -> decimals
        self.clock = clock
        self.ttl_s = ttl_s
        self.keys = {}                     # listen key -> ListenKey
        self.by_account = {}               # account -> its live ListenKey
        self._exec_id = 0                  # executionReport "I": a running id
        self._task = None

    # ---- listen keys -------------------------------------------------------------

    def create(self, account: int, cancel_source: str | None = None) -> str:
        """Return the account's listen key, extended by ``ttl_s``; a new one if it has none.
        With ``cancel_source``, a socket of the key that closes cancels the open orders
        entered with that API key (cancel-on-disconnect); without, it does not."""
        lk = self.by_account.get(account)
        if lk is not None and lk.expires_at > self.clock():
            lk.expires_at = self.clock() + self.ttl_s
            lk.cancel_source = cancel_source
            return lk.key
        if lk is not None:
            self._end(lk, expired=True)
        key = secrets.token_hex(30)        # 60 characters, like Binance's
        lk = ListenKey(key, account, self.clock() + self.ttl_s)
        lk.cancel_source = cancel_source
        self.keys[key] = lk
        self.by_account[account] = lk
        return key

    def _live(self, key, account=None):
        lk = self.keys.get(key) if type(key) is str else None
        if lk is None or lk.expires_at <= self.clock():
            return None
        if account is not None and lk.account != account:
            return None
        return lk

    def keepalive(self, account: int, key: str) -> bool:
        """Extend a live key of ``account`` by ``ttl_s``; False if there is none such."""
        lk = self._live(key, account)
        if lk is None:
            return False
        lk.expires_at = self.clock() + self.ttl_s
        return True

    def close(self, account: int, key: str) -> bool:
        """Invalidate a live key of ``account`` and close its sockets; False if none such."""
        lk = self._live(key, account)
        if lk is None:
            return False
        self._end(lk, expired=False)
        return True

    def stream_of(self, name):
        """The hub stream of a valid listen key ``name`` (the key), else None."""
        lk = self._live(name)
        return None if lk is None else lk.key

    def cancel_of(self, name):
        """``(account, order source)`` to cancel when a socket of listen key ``name`` closes,
        if the key opted in to cancel-on-disconnect; else None."""
        lk = self._live(name)
        if lk is None or lk.cancel_source is None:
            return None
        return lk.account, lk.cancel_source

    def sweep(self) -> int:
        """Forget the keys past their expiry and close their sockets; return how many."""
        now = self.clock()
        expired = [lk for lk in self.keys.values() if lk.expires_at <= now]
        for lk in expired:
            self._end(lk, expired=True)
        return len(expired)

    def _end(self, lk: ListenKey, *, expired: bool) -> None:
        self.keys.pop(lk.key, None)
        if self.by_account.get(lk.account) is lk:
            del self.by_account[lk.account]
        subs = self.hub.by_stream.get(lk.key)
        if not subs:
            return
        if expired:
            message = orjson.dumps({"e": "listenKeyExpired", "E": int(self.clock() * 1000),
                                    "listenKey": lk.key})
        for sub in list(subs):
            if expired:
                self.hub.send(sub, message)
            self.hub.end(sub, "listenKey expired" if expired else "listenKey closed")

    # ---- after each commit ---------------------------------------------------------

    def _streams(self, account) -> list:
        """The streams of ``account`` that someone listens to."""
        out = []
        stream = account_stream(account)
        if self.hub.wanted(stream):
            out.append(stream)
        lk = self.by_account.get(account)
        if lk is not None and self.hub.wanted(lk.key):
            out.append(lk.key)
        return out

    def on_commit(self, batch) -> None:
        if not self.hub.by_stream:
            return
        now_ms = int(self.clock() * 1000)
        listening = {}   # account -> its wanted streams ([] when none), for this batch
        for _, events in batch:
            self._command(events, listening, now_ms)

    def _command(self, events, listening, now_ms) -> None:
        out = {}         # account -> [message bytes], in event order
        positions = {}   # account -> {asset: (free, locked)}
        fills = {}       # order id -> its latest Traded not yet reported
        ts_ns = None
        for ev in events:
            t = type(ev)
            if t is Traded:
                fills[ev.maker_order_id] = fills[ev.taker_order_id] = ev
                ts_ns = ev.ts_ns
                continue
            if t is OrderUpdated:
                account = ev.spec.account
                ts_ns = ev.ts_ns
            elif t is BalanceChanged:
                account = ev.account
            else:
                ts_ns = getattr(ev, "ts_ns", ts_ns)
                continue
            streams = listening.get(account)
            if streams is None:
                streams = listening[account] = self._streams(account)
            if not streams:
                continue
            if t is OrderUpdated:
                trade = fills.pop(ev.spec.order_id, None) if ev.exec_type is ExecType.TRADE else None
                out.setdefault(account, []).append(self._execution_report(ev, trade, now_ms))
            else:
                positions.setdefault(account, {})[ev.asset] = (ev.free, ev.locked)
                if ev.reason in FUNDING:
                    out.setdefault(account, []).append(orjson.dumps({
                        "e": "balanceUpdate", "E": now_ms, "a": ev.asset,
                        "d": self._amount(ev.asset, ev.free_delta + ev.locked_delta),
                        "T": now_ms if ts_ns is None else ts_ns // NS_PER_MS}))
        update_ms = now_ms if ts_ns is None else ts_ns // NS_PER_MS
        for account, assets in positions.items():
            out.setdefault(account, []).append(orjson.dumps({
                "e": "outboundAccountPosition", "E": now_ms, "u": update_ms,
                "B": [{"a": a, "f": self._amount(a, f), "l": self._amount(a, lk)}
                      for a, (f, lk) in assets.items()]}))
        publish = self.hub.publish
        for account, messages in out.items():
            for stream in listening[account]:
                for m in messages:
                    publish(stream, m)

    def _amount(self, asset: str, units: int) -> str:
        return from_units(units, minor_unit(self.assets[asset]))

    def _execution_report(self, ev, trade, now_ms) -> bytes:
        """Binance's executionReport for ``ev`` (and the fill it reports, if any)."""
        inst = self.markets[ev.spec.symbol].inst
        o = order_json(inst, OrderView.of_event(ev))
        x = EXEC_TYPES[ev.exec_type]
        if ev.exec_type is ExecType.EXPIRED and o["status"] == "EXPIRED_IN_MATCH":
            x = "TRADE_PREVENTION"
        self._exec_id += 1
        order_id = o["orderId"]
        msg = {
            "e": "executionReport", "E": now_ms, "s": o["symbol"], "c": o["clientOrderId"],
            "S": o["side"], "o": o["type"], "f": o["timeInForce"], "q": o["origQty"],
            "p": o["price"], "P": o["stopPrice"], "F": o["icebergQty"], "g": -1,
            "C": o["clientOrderId"] if x == "CANCELED" else "", "x": x, "X": o["status"],
            "r": "NONE", "i": order_id, "l": inst.qty_str(0), "z": o["executedQty"],
            "L": inst.price_str(0), "n": "0", "N": None, "T": ms(ev.ts_ns), "t": -1,
            "I": self._exec_id, "w": ev.working and o["status"] in OPEN, "m": False,
            "M": False, "O": o["time"], "Z": o["cummulativeQuoteQty"],
            "Y": inst.quote_str(0), "Q": o["origQuoteOrderQty"],
        }
        if trade is not None:
            maker = trade.maker_order_id == order_id
            msg["l"] = inst.qty_str(trade.qty)
            msg["L"] = inst.price_str(trade.price)
            msg["n"] = inst.quote_str(trade.maker_fee if maker else trade.taker_fee)
            msg["N"] = inst.quote
            msg["t"] = trade.trade_id
            msg["m"] = maker
            msg["M"] = True
            msg["Y"] = inst.quote_str(trade.quote_qty)
        if o["workingTime"] != -1:
            msg["W"] = o["workingTime"]
        msg["V"] = o["selfTradePreventionMode"]
        return orjson.dumps(msg)

    # ---- the expiry clock -------------------------------------------------------------

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(
            tasks.repeat(SWEEP_S, self.sweep, "listen key sweep"), name="listen-keys")

    async def stop(self) -> None:
        await tasks.stop(self._task)
        self._task = None


# ---- POST/PUT/DELETE /api/v3/userDataStream -----------------------------------------

routes = web.RouteTableDef()


def _no_such_key() -> ApiError:
    return ApiError(errors.INVALID_LISTEN_KEY, "This listenKey does not exist.")


async def _listen_key_request(request, needs_key: bool):
    key = await api_key_of(request)
    params = await public_params(request)
    listen_key = params.str("listenKey", required=needs_key) if needs_key else None
    cancel = None if needs_key else params.bool("cancelOnDisconnect")
    params.check_all_read()
    return request.app[USER_FEED], key, listen_key, cancel


@routes.post("/api/v3/userDataStream")
@weight(2)
async def create_listen_key(request):
    """Start (or extend) the account's user data stream; X-MBX-APIKEY only, no signature.
    ``cancelOnDisconnect=true``: a socket of the key that closes cancels the orders this
    API key entered."""
    feed, key, _, cancel = await _listen_key_request(request, False)
    return json({"listenKey": feed.create(key.account,
                                          order_source(key.api_key) if cancel else None)})


@routes.put("/api/v3/userDataStream")
@weight(2)
async def keepalive_listen_key(request):
    """Keep a listen key valid for another 60 minutes."""
    feed, key, listen_key, _ = await _listen_key_request(request, True)
    if not feed.keepalive(key.account, listen_key):
        raise _no_such_key()
    return json({})


@routes.delete("/api/v3/userDataStream")
@weight(2)
async def close_listen_key(request):
    """Invalidate a listen key; its sockets are closed."""
    feed, key, listen_key, _ = await _listen_key_request(request, True)
    if not feed.close(key.account, listen_key):
        raise _no_such_key()
    return json({})
