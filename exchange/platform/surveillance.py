"""Market surveillance: alerts computed from the committed event stream.

``Surveillance`` is a batcher listener (like the Notifier): ``on_commit`` runs
the rules over each committed batch, synchronously and in seq order, and
queues the alerts; every ``flush_s`` they are written to
``surveillance_alerts`` in one statement. The rules look only at the events'
own times (``ts_ns``), never at the wall clock, so the same events give the
same alerts. Thresholds come from ``[surveillance]`` in config.toml.

- WASH_TRADE: a trade whose maker and taker are one account, or accounts an
  operator marked as one beneficial owner (``accounts.beneficial_owner``,
  loaded at start, updated by ``set_owner`` when an operator changes it).
  The trades of one owner in one symbol within a flush window are one alert.
- SPOOFING: a limit order of notional >= ``spoof_min_notional`` (quote minor
  units) priced >= ``spoof_away_bps`` from the best opposite price when it
  was placed (the committed depth, ``exchange.marketdata``, as of its batch;
  the last trade price when that side is empty), cancelled by its owner
  (a cancel or a cancel-replace) within ``spoof_max_lifetime_ms`` with
  nothing filled. An amended order is no longer judged.
- LAYERING: ``layering_min_orders`` such orders of one account on one side of
  one symbol cancelled within ``layering_window_ms``: one alert naming them
  all (the ones before the last were already reported as SPOOFING).
- UNUSUAL_VOLUME: a symbol's traded quantity in a clock minute >=
  ``volume_multiple`` x its mean per-minute volume over the previous hour
  (minutes without trades count as zero; over the minutes since its first
  trade when that is less than an hour), once the symbol has
  ``volume_min_history_min`` minutes of history and some volume in it. At
  most one alert per symbol and minute.
- UNUSUAL_PRICE: a trade >= ``price_move_bps`` above the lowest or below the
  highest trade price of the last ``price_window_s`` seconds; the window then
  starts again from that trade.

Each alert carries its evidence (order and trade ids, prices, quantities,
times, accounts) and the range of seqs it comes from.
"""

import asyncio
import logging
from collections import deque

from .. import tasks
from ..engine import ExecType, OrderUpdated, Reason, Traded
from ..store.queries import accounts as account_queries
from ..store.queries import surveillance as queries
from .history import iso_ns

log = logging.getLogger(__name__)

KINDS = ("WASH_TRADE", "SPOOFING", "LAYERING", "UNUSUAL_VOLUME", "UNUSUAL_PRICE")
MINUTE_NS = 60 * 10**9
HOUR_MIN = 60
MAX_WASH_TRADES = 100       # trades listed in one wash alert's evidence (all are counted)
MAX_ACCOUNTS = 50           # accounts listed in one volume alert
MAX_QUEUED = 100_000        # alerts kept for a retry while the database refuses them
_OWNER_CANCELS = frozenset({Reason.USER, Reason.REPLACED})


class _Volume:
    """One symbol's traded lots per minute over the last hour."""

    __slots__ = ("first_minute", "minute", "buckets", "history", "accounts", "trades",
                 "first_seq", "fired")

    def __init__(self, first_minute: int):
        self.first_minute = first_minute
        self.minute = None      # the current minute
        self.buckets = {}       # minute -> lots
        self.history = 0        # lots of the 60 minutes before the current one
        self.accounts = set()   # of the current minute's trades
        self.trades = []        # [first trade id, last trade id, count] of the current minute
        self.first_seq = None
        self.fired = False


class _Price:
    """One symbol's trades of the last window: monotonic deques of the low and the high."""

    __slots__ = ("lows", "highs")

    def __init__(self):
        self.lows = deque()     # increasing prices: lows[0] is the window's low
        self.highs = deque()    # decreasing prices: highs[0] is the window's high


class Surveillance:
    def __init__(self, pool, sequencer, marketdata, settings, *, flush_s: float | None = None):
        self.pool = pool
        self.markets = sequencer.market_views
        self.marketdata = marketdata
        self.flush_s = settings.surveillance_flush_ms / 1000 if flush_s is None else flush_s
        self.min_notional = settings.spoof_min_notional
        self.away_bps = settings.spoof_away_bps
        self.lifetime_ns = settings.spoof_max_lifetime_ms * 10**6
        self.layering_min = settings.layering_min_orders
        self.layering_ns = settings.layering_window_ms * 10**6
        self.volume_multiple = settings.volume_multiple
        self.min_history = settings.volume_min_history_min
        self.move_bps = settings.price_move_bps
        self.price_window_ns = settings.price_window_s * 10**9
        self.owners = {}        # account -> beneficial owner (only accounts that have one)
        self.last = {s: m.last_price for s, m in sequencer.market_views.items()
                     if m.last_price is not None}
        self.alerts = []        # (kind, symbol, accounts, evidence, first_seq, last_seq)
        self.wash = {}          # (symbol, owner key) -> [accounts, trades, count, first, last]
        self.placed = {}        # order_id -> what it was when placed (a spoofing candidate)
        self.spoofs = {}        # (account, symbol, side) -> deque of spoofing evidence
        self.volumes = {}       # symbol -> _Volume
        self.prices = {}        # symbol -> _Price
        self.now_ns = 0         # the latest event time seen
        self._task = None

    async def start(self) -> None:
        """Load the beneficial owners and the last hour's volumes; start flushing."""
        self.owners = await account_queries.beneficial_owners(self.pool)
        last = await queries.last_trade_ts(self.pool)
        if last is not None:
            since = last // MINUTE_NS - HOUR_MIN
            for symbol in self.markets:
                first = await queries.first_trade_ts(self.pool, symbol)
                if first is not None:
                    self.volumes[symbol] = _Volume(first // MINUTE_NS)
            for symbol, minute, lots in await queries.minute_volumes(
                    self.pool, since * MINUTE_NS, MINUTE_NS):
                vol = self.volumes.get(symbol)
                if vol is not None:
                    vol.buckets[minute] = lots
        self._task = asyncio.get_running_loop().create_task(
            tasks.repeat(self.flush_s, self.flush, "surveillance flush"), name="surveillance")

    async def stop(self) -> None:
        await tasks.stop(self._task)
        self._task = None
        await self.flush()

    def set_owner(self, account: int, owner: str | None) -> None:
        """An operator marked ``account``'s beneficial owner (None: the account itself)."""
        if owner is None:
            self.owners.pop(account, None)
        else:
            self.owners[account] = owner

    def _owner(self, account: int):
        owner = self.owners.get(account)
        return ("account", account) if owner is None else ("owner", owner)

    # ---- after each commit -----------------------------------------------------------

    def on_commit(self, batch) -> None:
        for _, events in batch:
            for ev in events:
                t = type(ev)
                if t is Traded:
                    self._trade(ev)
                elif t is OrderUpdated:
                    self._order(ev)

    def _trade(self, ev) -> None:
        self.now_ns = max(self.now_ns, ev.ts_ns)
        self.placed.pop(ev.maker_order_id, None)
        self.placed.pop(ev.taker_order_id, None)
        maker, taker = ev.maker_account, ev.taker_account
        key = self._owner(maker)
        if maker == taker or key == self._owner(taker):
            group = self.wash.get((ev.symbol, key))
            if group is None:
                group = self.wash[(ev.symbol, key)] = [set(), [], 0, ev.seq, ev.seq]
            group[0].update((maker, taker))
            if len(group[1]) < MAX_WASH_TRADES:
                group[1].append(ev)
            group[2] += 1
            group[4] = ev.seq
        self._volume(ev)
        self._price(ev)
        self.last[ev.symbol] = ev.price

    def _volume(self, ev) -> None:
        minute = ev.ts_ns // MINUTE_NS
        vol = self.volumes.get(ev.symbol)
        if vol is None:
            vol = self.volumes[ev.symbol] = _Volume(minute)
        if vol.minute != minute:
            vol.minute = minute
            for m in [m for m in vol.buckets if m < minute - HOUR_MIN]:
                del vol.buckets[m]
            vol.history = sum(lots for m, lots in vol.buckets.items() if m < minute)
            vol.accounts = set()
            vol.trades = [ev.trade_id, ev.trade_id, 0]
            vol.first_seq = ev.seq
            vol.fired = False
        lots = vol.buckets.get(minute, 0) + ev.qty
        vol.buckets[minute] = lots
        if len(vol.accounts) < MAX_ACCOUNTS:
            vol.accounts.update((ev.maker_account, ev.taker_account))
        vol.trades[1] = ev.trade_id
        vol.trades[2] += 1
        minutes = minute - max(vol.first_minute, minute - HOUR_MIN)
        if vol.fired or minutes < self.min_history or not vol.history:
            return
        if lots * minutes >= self.volume_multiple * vol.history:
            vol.fired = True
            inst = self.markets[ev.symbol].inst
            mean = vol.history // minutes
            self.alerts.append(("UNUSUAL_VOLUME", ev.symbol, sorted(vol.accounts), {
                "minute": iso_ns(minute * MINUTE_NS), "quantity": inst.qty_str(lots),
                "mean_per_minute": inst.qty_str(mean), "history_minutes": minutes,
                "multiple": self.volume_multiple, "trades": vol.trades[2],
                "first_trade_id": vol.trades[0], "last_trade_id": vol.trades[1]},
                vol.first_seq, ev.seq))

    def _price(self, ev) -> None:
        p = self.prices.get(ev.symbol)
        if p is None:
            p = self.prices[ev.symbol] = _Price()
        lows, highs, price = p.lows, p.highs, ev.price
        cutoff = ev.ts_ns - self.price_window_ns
        while lows and lows[0].ts_ns < cutoff:
            lows.popleft()
        while highs and highs[0].ts_ns < cutoff:
            highs.popleft()
        low = lows[0] if lows else None
        high = highs[0] if highs else None
        start = None
        if low is not None and (price - low.price) * 10_000 >= self.move_bps * low.price:
            start = low
        elif high is not None and (high.price - price) * 10_000 >= self.move_bps * high.price:
            start = high
        if start is not None:
            lows.clear()
            highs.clear()
            inst = self.markets[ev.symbol].inst
            move = (price - start.price) * 10_000 // start.price
            self.alerts.append(("UNUSUAL_PRICE", ev.symbol, sorted(
                {start.maker_account, start.taker_account, ev.maker_account, ev.taker_account}),
                {"from": _trade_json(start, inst), "to": _trade_json(ev, inst),
                 "move_bps": move, "window_s": self.price_window_ns // 10**9},
                start.seq, ev.seq))
        while lows and lows[-1].price >= price:
            lows.pop()
        lows.append(ev)
        while highs and highs[-1].price <= price:
            highs.pop()
        highs.append(ev)

    def _order(self, ev) -> None:
        exec_type = ev.exec_type
        if exec_type is ExecType.NEW:
            self._placed(ev)
            return
        placed = self.placed.pop(ev.order_id, None)
        if placed is None or exec_type is not ExecType.CANCELED or ev.reason not in _OWNER_CANCELS:
            return
        if ev.executed_qty or ev.ts_ns - placed["placed_ts_ns"] > self.lifetime_ns:
            return
        self.now_ns = max(self.now_ns, ev.ts_ns)
        evidence = {k: v for k, v in placed.items() if k != "placed_ts_ns"}
        evidence.update(canceled_at=iso_ns(ev.ts_ns), canceled_seq=ev.seq,
                        lifetime_ms=(ev.ts_ns - placed["placed_ts_ns"]) // 10**6)
        key = (ev.account, ev.symbol, str(ev.side))
        layer = self.spoofs.get(key)
        if layer is None:
            layer = self.spoofs[key] = deque()
        while layer and layer[0][0] < ev.ts_ns - self.layering_ns:
            layer.popleft()
        layer.append((ev.ts_ns, evidence))
        if len(layer) >= self.layering_min:
            orders = [e for _, e in layer]
            layer.clear()
            self.alerts.append(("LAYERING", ev.symbol, [ev.account], {
                "side": str(ev.side), "orders": orders, "count": len(orders),
                "window_ms": self.layering_ns // 10**6},
                min(e["placed_seq"] for e in orders), ev.seq))
        else:
            self.alerts.append(("SPOOFING", ev.symbol, [ev.account], evidence,
                                evidence["placed_seq"], ev.seq))

    def _placed(self, ev) -> None:
        price, qty = ev.price, ev.qty
        if price is None or not qty or not ev.working or ev.executed_qty:
            return
        self.now_ns = max(self.now_ns, ev.ts_ns)
        mkt = self.markets.get(ev.symbol)
        if mkt is None:
            return
        inst = mkt.inst
        notional = inst.notional(price, qty)
        if notional < self.min_notional:
            return
        bid, ask = self.marketdata.of(ev.symbol).best()
        buy = ev.side == "buy"
        level = ask if buy else bid
        ref = level[0] if level is not None else self.last.get(ev.symbol)
        if not ref:
            return
        away = (ref - price) if buy else (price - ref)
        if away * 10_000 < self.away_bps * ref:
            return
        self.placed[ev.order_id] = {
            "order_id": ev.order_id, "client_order_id": ev.client_order_id,
            "account_id": ev.account, "side": str(ev.side), "price": inst.price_str(price),
            "quantity": inst.qty_str(qty), "notional": inst.quote_str(notional),
            "best_opposite": inst.price_str(ref), "away_bps": away * 10_000 // ref,
            "placed_at": iso_ns(ev.ts_ns), "placed_seq": ev.seq, "placed_ts_ns": ev.ts_ns}

    # ---- every flush -----------------------------------------------------------------

    def _forget(self) -> None:
        """Drop candidates that can no longer be spoofing (older than the lifetime)."""
        cutoff = self.now_ns - self.lifetime_ns
        for order_id in [o for o, p in self.placed.items() if p["placed_ts_ns"] < cutoff]:
            del self.placed[order_id]
        cutoff = self.now_ns - self.layering_ns
        for key in [k for k, d in self.spoofs.items() if not d or d[-1][0] < cutoff]:
            del self.spoofs[key]

    async def flush(self) -> int:
        """Write the alerts noted since the last flush; return how many."""
        self._forget()
        alerts, self.alerts = self.alerts, []
        wash, self.wash = self.wash, {}
        for (symbol, key), (accounts, trades, count, first, last) in wash.items():
            inst = self.markets[symbol].inst
            alerts.append(("WASH_TRADE", symbol, sorted(accounts), {
                "beneficial_owner": key[1] if key[0] == "owner" else None,
                "same_account": key[0] == "account",
                "trades": [_trade_json(t, inst) for t in trades], "trade_count": count},
                first, last))
        if not alerts:
            return 0
        try:
            await queries.insert(self.pool, alerts)
        except Exception:
            self.alerts[:0] = alerts[-MAX_QUEUED:]   # kept for the next flush
            raise
        return len(alerts)


def _trade_json(t, inst) -> dict:
    return {"trade_id": t.trade_id, "seq": t.seq, "time": iso_ns(t.ts_ns),
            "price": inst.price_str(t.price), "quantity": inst.qty_str(t.qty),
            "maker_order_id": t.maker_order_id, "taker_order_id": t.taker_order_id,
            "maker_account": t.maker_account, "taker_account": t.taker_account,
            "taker_side": str(t.taker_side)}


