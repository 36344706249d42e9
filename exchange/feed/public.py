"""Public market data streams in Binance's stream dialect, published after commit.

Stream names (symbols in lower case, as Binance writes them):

- ``<s>@trade`` and ``<s>@aggTrade`` (every trade is its own aggregate here),
  sent as each batch commits;
- ``<s>@depth`` and ``<s>@depth@100ms``: diffs every 1000 ms / 100 ms, with
  ``U``/``u`` the first and last per-symbol update id they cover (the same
  counter as REST ``/depth``'s ``lastUpdateId``); each level is its absolute
  quantity, "0" when it emptied;
- ``<s>@depth5|10|20`` (and ``@100ms``): the top of the book, every 1000 ms /
  100 ms, when it changed;
- ``<s>@bookTicker``: best bid and ask, whenever they change;
- ``<s>@status``: the symbol's trading status as it changes (a volatility
  halt and its reopening, an operator's HALT/CANCEL_ONLY, delisting), as
  ``{"e": "instrumentStatus", "s", "X": status, "T": its time}`` (not a
  Binance stream: Binance announces these out of band);
- ``<s>@kline_<interval>``, ``<s>@ticker``, ``<s>@miniTicker``,
  ``!ticker@arr``, ``!miniTicker@arr``: every second while someone listens (a
  ticker for each symbol with a trade in the last 24 h), from the stored trades (the
  same queries, ``Candle`` and ``ticker`` of ``exchange.marketdata`` as REST
  ``/klines`` and ``/ticker/24hr``).

``PublicFeed.on_commit`` is a batcher listener, registered after
``MarketData``'s, so it only ever sees and shows committed state.
"""

import asyncio
import logging
import time

import orjson

from .. import tasks
from ..engine import DepthUpdated, InstrumentChanged, Traded
from ..engine.enums import Side
from ..marketdata import INTERVALS, Candle, WindowStats, ticker, window_start_ns
from ..marketdata.candles import roll
from ..store.queries import candles as candle_queries
from ..store.queries import trades as trade_queries

log = logging.getLogger(__name__)

NS_PER_MS = 1_000_000
TICK_S = 0.1                       # the 100 ms streams; the others every 10th tick
PARTIAL_LEVELS = (5, 10, 20)
SPEEDS = ("", "@100ms")
KINDS = {"trade", "aggTrade", "bookTicker", "ticker", "miniTicker", "depth", "depth@100ms",
         "status"} | {
    f"depth{n}{speed}" for n in PARTIAL_LEVELS for speed in SPEEDS} | {
    f"kline_{i}" for i in INTERVALS}
ALL_MARKET = {"!ticker@arr", "!miniTicker@arr"}
SELL = Side.SELL


def dumps(obj) -> bytes:
    return orjson.dumps(obj)


class PublicFeed:
    def __init__(self, hub, marketdata, sequencer, pool, *, clock=time.time_ns):
        self.hub = hub
        self.marketdata = marketdata
        self.markets = sequencer.market_views   # instrument rules by symbol (immutable objects)
        self.pool = pool
        self.clock = clock
        self.names = {}                    # symbol -> lower-case stream prefix
        self.diffs = {"": {}, "@100ms": {}}  # speed -> symbol -> [U, u, {bid}, {ask}]
        self.changed = {"": set(), "@100ms": set()}  # symbols whose depth changed, per speed
        self.kline_symbols = set()         # symbols with a kline stream at the last round
        self.traded = {}                   # kline symbol -> its trades since the last round
        self.open_klines = {}              # kline stream -> (Candle last sent, the
        #                                    subscribers that had it closed, or None)
        self._rounds = asyncio.Lock()      # one statistics round at a time
        self._task = None

    # ---- names -------------------------------------------------------------------

    def symbol_of(self, stream: str):
        """The symbol of a valid public stream name, "" for an all-market one, else None."""
        if stream in ALL_MARKET:
            return ""
        prefix, sep, kind = stream.partition("@")
        if not sep or kind not in KINDS:
            return None
        symbol = prefix.upper()
        return symbol if symbol in self.markets else None

    def _name(self, symbol: str) -> str:
        name = self.names.get(symbol)
        if name is None:
            name = self.names[symbol] = symbol.lower()
        return name

    # ---- after each commit ---------------------------------------------------------

    def on_commit(self, batch) -> None:
        hub = self.hub
        now_ms = self.clock() // NS_PER_MS
        tops = {}
        for _, events in batch:
            for ev in events:
                t = type(ev)
                if t is Traded:
                    if ev.symbol in self.kline_symbols:
                        trades = self.traded.get(ev.symbol)
                        if trades is None:
                            trades = self.traded[ev.symbol] = []
                        trades.append(ev)
                    name = self._name(ev.symbol)
                    for kind in ("@trade", "@aggTrade"):
                        if hub.wanted(name + kind):
                            hub.publish(name + kind, self._trade(ev, kind, now_ms))
                elif t is DepthUpdated:
                    self._diff(ev)
                    tops[ev.symbol] = ev.update_id
                elif t is InstrumentChanged:   # listed, halted, reopened, delisted
                    stream = self._name(ev.symbol) + "@status"
                    if hub.wanted(stream):
                        hub.publish(stream, dumps({"e": "instrumentStatus", "E": now_ms,
                                                   "s": ev.symbol, "X": str(ev.status),
                                                   "T": ev.ts_ns // NS_PER_MS}))
        for symbol, update_id in tops.items():
            stream = self._name(symbol) + "@bookTicker"
            if hub.wanted(stream):
                hub.publish(stream, self._book_ticker(symbol, update_id))
        hub.flush_now()      # the commit's messages go out now, not after the next batch

    def _trade(self, ev, kind, now_ms) -> bytes:
        inst = self.markets[ev.symbol].inst
        if kind == "@trade":
            msg = {"e": "trade", "E": now_ms, "s": ev.symbol, "t": ev.trade_id}
        else:
            msg = {"e": "aggTrade", "E": now_ms, "s": ev.symbol, "a": ev.trade_id}
        msg["p"] = inst.price_str(ev.price)
        msg["q"] = inst.qty_str(ev.qty)
        if kind == "@aggTrade":
            msg["f"] = msg["l"] = ev.trade_id
        msg["T"] = ev.ts_ns // NS_PER_MS
        msg["m"] = ev.taker_side is SELL   # the buyer was the maker
        msg["M"] = True
        return dumps(msg)

    def _diff(self, ev) -> None:
        name = self._name(ev.symbol)
        for speed in SPEEDS:
            self.changed[speed].add(ev.symbol)
            if not self.hub.wanted(name + "@depth" + speed):
                # Forget what was gathered: a diff must hold every update from U to u, and
                # this one is not kept, so one gathered before it would claim to cover it.
                self.diffs[speed].pop(ev.symbol, None)
                continue
            acc = self.diffs[speed].get(ev.symbol)
            if acc is None:
                acc = self.diffs[speed][ev.symbol] = [ev.update_id, ev.update_id, {}, {}]
            acc[1] = ev.update_id
            acc[2].update(ev.bids)
            acc[3].update(ev.asks)

    def _book_ticker(self, symbol, update_id) -> bytes:
        inst = self.markets[symbol].inst
        bid, ask = self.marketdata.of(symbol).best()
        p, q = inst.price_str, inst.qty_str
        return dumps({"u": update_id, "s": symbol,
                      "b": p(bid[0]) if bid else p(0), "B": q(bid[1]) if bid else q(0),
                      "a": p(ask[0]) if ask else p(0), "A": q(ask[1]) if ask else q(0)})

    # ---- timed streams ---------------------------------------------------------------

    def flush_depth(self, speed: str) -> None:
        """Publish the depth diffs and partial books gathered at ``speed``."""
        hub = self.hub
        now_ms = self.clock() // NS_PER_MS
        diffs, self.diffs[speed] = self.diffs[speed], {}
        for symbol, (first, last, bids, asks) in diffs.items():
            inst = self.markets[symbol].inst
            p, q = inst.price_str, inst.qty_str
            hub.publish(self._name(symbol) + "@depth" + speed, dumps({
                "e": "depthUpdate", "E": now_ms, "s": symbol, "U": first, "u": last,
                "b": [[p(x), q(y)] for x, y in sorted(bids.items(), reverse=True)],
                "a": [[p(x), q(y)] for x, y in sorted(asks.items())]}))
        changed, self.changed[speed] = self.changed[speed], set()
        for symbol in changed:
            name = self._name(symbol)
            for n in PARTIAL_LEVELS:
                stream = f"{name}@depth{n}{speed}"
                if hub.wanted(stream):
                    hub.publish(stream, self.partial_depth(symbol, n))

    def partial_depth(self, symbol: str, n: int) -> bytes:
        """``<s>@depthN``'s message: the committed top ``n`` levels and their update id."""
        inst = self.markets[symbol].inst
        depth = self.marketdata.of(symbol)
        bids, asks = depth.top(n)
        p, q = inst.price_str, inst.qty_str
        return dumps({"lastUpdateId": depth.update_id,
                      "bids": [[p(x), q(y)] for x, y in bids],
                      "asks": [[p(x), q(y)] for x, y in asks]})

    async def publish_statistics(self) -> None:
        """Tickers and candles of every symbol someone listens to, as Binance pushes them
        every second whether or not the symbol traded. One round at a time: a kline
        stream's candle is carried from one round to the next."""
        async with self._rounds:
            await self._publish_statistics()

    async def _publish_statistics(self) -> None:
        traded, self.traded = self.traded, {}
        hub = self.hub
        now_ms = self.clock() // NS_PER_MS
        await self._klines(traded, now_ms)
        if any(hub.wanted(s) for s in ALL_MARKET):
            symbols = list(self.markets)
        else:
            symbols = [s for s in self.markets if hub.wanted(self._name(s) + "@ticker")
                       or hub.wanted(self._name(s) + "@miniTicker")]
        if not symbols:
            return
        stats = await trade_queries.stats_since(self.pool, symbols, window_start_ns(now_ms))
        full, mini = [], []
        for symbol in symbols:
            row = stats.get(symbol)
            if row is None:
                continue   # no trade in 24 h: Binance's tickers leave such symbols out
            rest = ticker(self.markets[symbol].inst, WindowStats.of_row(row), now_ms, True,
                          self.marketdata.of(symbol).best())
            t = {"e": "24hrTicker", "E": now_ms, "s": symbol}
            for key, short in _TICKER_KEYS:
                t[short] = rest[key]
            m = {"e": "24hrMiniTicker", "E": now_ms, "s": symbol}
            for key in "cohlvq":
                m[key] = t[key]
            full.append(t)
            mini.append(m)
            name = self._name(symbol)
            hub.publish(name + "@ticker", dumps(t))
            hub.publish(name + "@miniTicker", dumps(m))
        if full:
            hub.publish("!ticker@arr", dumps(full))
            hub.publish("!miniTicker@arr", dumps(mini))

    async def _klines(self, traded: dict, now_ms: int) -> None:
        """The current candle of each subscribed (symbol, interval), every call, and the
        closing update (``x`` true) of a candle whose interval ended. A new stream's
        candle comes from the stored trades (the query of REST ``/klines``); after that
        it is carried forward over the committed trades (``marketdata.candles.roll``),
        which gives what the query would, and the query runs again only where it could
        not (a trade in an earlier bucket, a candle that opens after now). As in REST
        ``/klines``, an interval without trades has no candle: a quiet stream sends its
        last candle's closing update once, and a subscriber who joins before the next
        trade is sent it too (only that newcomer: each subscriber gets a candle's closing
        update once)."""
        by_stream = self.hub.by_stream
        streams = [s for s in by_stream if "@kline_" in s]
        for gone in [s for s in self.open_klines if s not in by_stream]:
            del self.open_klines[gone]   # nobody listens any more: start afresh next time
        # Keep the trades of these symbols from now on (before any query below awaits), so
        # that the next call can carry forward a candle the query gives now.
        self.kline_symbols = {s.partition("@kline_")[0].upper() for s in streams}
        for stream in streams:
            prefix, _, interval = stream.partition("@kline_")
            symbol = prefix.upper()
            iv = INTERVALS[interval]
            shown, seen = self.open_klines.get(stream, (None, None))
            rows = None
            if shown is not None:
                if symbol not in traded:
                    rows = [shown]
                else:   # from the candle last sent on: its final state, then any later ones
                    rows = roll(shown, iv, traded[symbol])
                    if rows is not None and rows[-1].open_ms <= now_ms:
                        rows = rows[-2:]   # as the query's last two, from shown on
                    else:
                        rows = None
            if rows is None:
                rows = [Candle.of_row(r) for r in await candle_queries.candles(
                    self.pool, symbol, iv.step_ns, iv.offset_ns, None, now_ms, 2)]
                # from the candle last sent on: its final state if it has ended, then the new
                rows = rows[-1:] if shown is None else [
                    r for r in rows if r.open_ms >= shown.open_ms]
            subs = by_stream.get(stream)
            if subs is None:
                continue   # everyone left during the query
            for r in rows:
                closed = r is not rows[-1] or r.closed(now_ms)
                if seen is not None and r.open_ms == shown.open_ms:
                    newcomers = subs - seen   # the others have its closing update
                    if not newcomers:
                        continue
                    self.hub.publish_to(newcomers, stream,
                                        self._kline(symbol, interval, r, closed, now_ms))
                else:
                    self.hub.publish(stream, self._kline(symbol, interval, r, closed, now_ms))
                self.open_klines[stream] = (r, set(subs) if closed else None)

    def _kline(self, symbol, interval, candle, closed, now_ms) -> bytes:
        k = candle.kline(self.markets[symbol].inst)
        return dumps({"e": "kline", "E": now_ms, "s": symbol, "k": {
            "t": k[0], "T": k[6], "s": symbol, "i": interval, "f": candle.first_id,
            "L": candle.last_id, "o": k[1], "c": k[4], "h": k[2], "l": k[3], "v": k[5],
            "n": k[8], "x": closed, "q": k[7], "V": k[9], "Q": k[10], "B": "0"}})

    # ---- the clock ----------------------------------------------------------------------

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._run(), name="public-feed")

    async def stop(self) -> None:
        await tasks.stop(self._task)
        self._task = None

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        tick = 0
        stats = None
        next_at = loop.time()
        while True:
            next_at += TICK_S
            await asyncio.sleep(max(0.0, next_at - loop.time()))
            tick += 1
            try:
                self.flush_depth("@100ms")
                if tick % 10 == 0:
                    self.flush_depth("")
                    if stats is None or stats.done():  # never two SQL rounds at once
                        stats = loop.create_task(self._statistics())
            except Exception:
                log.exception("public feed tick failed")

    async def _statistics(self) -> None:
        try:
            await self.publish_statistics()
        except Exception:
            log.exception("ticker/kline publication failed")


_TICKER_KEYS = (
    ("priceChange", "p"), ("priceChangePercent", "P"), ("weightedAvgPrice", "w"),
    ("prevClosePrice", "x"), ("lastPrice", "c"), ("lastQty", "Q"), ("bidPrice", "b"),
    ("bidQty", "B"), ("askPrice", "a"), ("askQty", "A"), ("openPrice", "o"),
    ("highPrice", "h"), ("lowPrice", "l"), ("volume", "v"), ("quoteVolume", "q"),
    ("openTime", "O"), ("closeTime", "C"), ("firstId", "F"), ("lastId", "L"), ("count", "n"))
