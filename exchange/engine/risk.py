"""Pre-trade risk: limits, kill switches, daily notional, price bands and halts.

A limit of 0 is "unlimited". An account's limits are its own values where it
set them (``SetRiskLimits``) and the venue's defaults (``SetRiskDefaults``)
elsewhere; the sequencer keeps the resolved ``Limits`` per account so that a
check is a handful of integer comparisons, and skips them all when no limit
anywhere is set. An account's kill switch and its limits are checked by order
entry before anything changes.

Volatility halts: a taker that reaches the edge of its symbol's price band
(``_protection``) with liquidity still crossing beyond it stops there, its
remainder expires (VOLATILITY_HALT) and the symbol is HALT for ``halt_s``
seconds (``SetRiskDefaults``); 0 disables halts.
"""

from __future__ import annotations

from dataclasses import dataclass
from heapq import heappop
from typing import TYPE_CHECKING, Any

from .commands import SetKillSwitch, SetRiskDefaults, SetRiskLimits
from .core import (BOOK_TIF, BUY, DAY_NS, FOK, GTC, HALT, IOC, MARKET, PRICED, R_HALT, R_IOC, SELL,
                   TRADING, Core)
from .enums import OrderType, Side
from .limits import LIMIT_FIELDS, Limits, valid_limit
from .events import Event, Expired, InstrumentChanged, Reason

if TYPE_CHECKING:
    from .market import Market
    from .orders import Order

@dataclass(frozen=True, slots=True)
class RiskState:
    """A read of one account's risk state (``Sequencer.risk_state``), copied out."""

    limits: Limits                       # resolved: own values where set, else defaults
    own_limits: tuple[int | None, ...]   # as last set (None: the default), LIMIT_FIELDS order
    defaults: Limits
    kill_switch: bool
    killed_api_keys: tuple[str, ...]     # sorted
    open_orders: int
    by_symbol: dict[str, tuple[int, int]]  # symbol -> (open orders, open buy lots)
    daily_notional: int                  # quote minor units traded in the day of ts_ns
    halt_s: int


class RiskControls(Core):
    """Pre-trade risk and volatility halts of the Sequencer (a mixin of it)."""

    def _check_limits(self, limits: Limits, cmd: Any, mkt: Market, side: Side, type_: OrderType,
                      qty: Any, budget: Any, stp: Any) -> Reason | None:
        """The first pre-trade limit a new order breaks (a Reason), or None.

        Open orders count this one; a buy's position counts the base the
        account holds, its open buys on the symbol and this order. The notional
        of a market order is what the book would fill now (within the band).
        """
        account = cmd.account
        if limits.max_open_orders and len(self.by_account.get(account, ())) >= limits.max_open_orders:
            return Reason.RISK_MAX_OPEN_ORDERS
        if limits.max_order_qty and qty is not None and qty > limits.max_order_qty:
            return Reason.RISK_MAX_ORDER_QTY
        if limits.max_order_notional or limits.max_daily_notional:
            qptl = mkt.qptl
            if type_ in PRICED:
                notional = cmd.price * qty * qptl
            elif type_ is not MARKET:  # a stop that becomes a market order: at its stop price
                notional = cmd.stop_price * qty * qptl
            elif cmd.quote_qty is not None:
                notional = cmd.quote_qty
            elif side is BUY:
                notional = budget * qptl
            else:
                notional = mkt.book.sweep(SELL, qty, self._protection(mkt, SELL), account,
                                          stp)[1] * qptl
            if limits.max_order_notional and notional > limits.max_order_notional:
                return Reason.RISK_MAX_ORDER_NOTIONAL
            if limits.max_daily_notional and (
                    self.daily_notional(account, cmd.ts_ns) + notional > limits.max_daily_notional):
                return Reason.RISK_MAX_DAILY_NOTIONAL
        if limits.max_position and side is BUY:
            if qty is None:  # a market buy by quote amount: what it would buy now
                qty = mkt.book.sweep(BUY, mkt.inst.max_qty, self._protection(mkt, BUY), account,
                                     stp, funds=budget)[0]
            if self._position_after(account, mkt, qty) > limits.max_position * mkt.bpl:
                return Reason.RISK_MAX_POSITION
        return None

    def _check_amend_limits(self, limits: Limits, o: Order, mkt: Market, qty: int, price: int,
                            ts: int) -> Reason | None:
        """The first limit an amendment to ``qty`` open at ``price`` breaks, or None."""
        if limits.max_order_qty and o.executed_qty + qty > limits.max_order_qty:
            return Reason.RISK_MAX_ORDER_QTY
        notional = price * qty * mkt.qptl
        if limits.max_order_notional and notional > limits.max_order_notional:
            return Reason.RISK_MAX_ORDER_NOTIONAL
        if limits.max_daily_notional and (
                self.daily_notional(o.account, ts) + notional > limits.max_daily_notional):
            return Reason.RISK_MAX_DAILY_NOTIONAL
        if (limits.max_position and o.side is BUY and qty > o.open and self._position_after(
                o.account, mkt, qty - o.open) > limits.max_position * mkt.bpl):
            return Reason.RISK_MAX_POSITION
        return None

    def _position_after(self, account: int, mkt: Market, lots: int) -> int:
        """Base minor units ``account`` would hold with its open buys on ``mkt`` and ``lots`` more."""
        inst = mkt.inst
        b = self.ledger.balance(account, inst.base)
        symbol = inst.symbol
        for o in self.by_account.get(account, {}).values():
            if o.symbol == symbol and o.side is BUY:
                lots += o.open
        return b.free + b.locked + lots * mkt.bpl

    def daily_notional(self, account: int, ts_ns: int) -> int:
        """Quote minor units ``account`` traded (maker or taker) in the trading day of ``ts_ns``."""
        d = self.daily.get(account)
        if d is None or d[0] != (ts_ns - self._day_end_ns) // DAY_NS:
            return 0
        return d[1]

    def limits(self, account: int) -> Limits:
        """The resolved pre-trade limits of ``account``."""
        return self._limits.get(account, self.risk_defaults)

    def risk_state(self, account: int, ts_ns: int) -> RiskState:
        """Read ``account``'s limits, switches and usage (as of ``ts_ns``); O(its orders)."""
        by_symbol: dict[str, tuple[int, int]] = {}
        mine = self.by_account.get(account, {})
        for o in mine.values():
            orders, buys = by_symbol.get(o.symbol, (0, 0))
            by_symbol[o.symbol] = (orders + 1, buys + (o.open if o.side is BUY else 0))
        return RiskState(
            self.limits(account), self.risk_limits.get(account, (None,) * len(LIMIT_FIELDS)),
            self.risk_defaults, account in self.killed,
            tuple(sorted(k for a, k in self.killed_keys if a == account)), len(mine), by_symbol,
            self.daily_notional(account, ts_ns), self.halt_ns // 10**9)

    def _protection(self, mkt: Market, side: Side) -> int | None:
        """The price a market order may not trade through: the band's edge, if any."""
        inst, ref = mkt.inst, mkt.reference_price
        if not inst.price_band_bps or ref is None:
            return None
        if side is BUY:
            return ref * (10_000 + inst.price_band_bps) // 10_000
        return -(-ref * (10_000 - inst.price_band_bps) // 10_000)

    def _limit_in_band(self, mkt: Market, o: Order, protect: int) -> tuple[list[Event], bool]:
        """Match a limit order whose price lies beyond the band's edge ``protect``.

        A limit price within the band (every new order's) can only fill within
        it; a triggered stop-limit's may not. It fills up to ``protect``; if the
        book would still cross it beyond, the remainder expires and the symbol
        halts; otherwise the remainder rests (or expires: IOC) at its own price.
        Returns (book events, whether to halt).
        """
        book, side = mkt.book, o.side
        tif = BOOK_TIF[o.tif]
        display = o.display_qty if o.display_qty is not None and o.display_qty < o.open else None
        args = (o.account, o.stp, display)
        if tif is FOK:
            if (book.fillable(side, o.open, protect, o.account, o.stp) < o.open
                    and book.fillable(side, o.open, o.price, o.account, o.stp) >= o.open):
                return [Expired.of(o.order_id, o.open, R_HALT)], True
            return book.limit(o.order_id, side, o.price, o.open, FOK, False, *args), False
        first = book.limit(o.order_id, side, protect, o.open, IOC, False, *args)
        last = first[-1]
        if type(last) is not Expired or last.reason is not R_IOC:
            return first, False  # filled, or expired by self-trade prevention
        best = book.best_ask() if side is BUY else book.best_bid()
        if best is not None and (best[0] <= o.price if side is BUY else best[0] >= o.price):
            first[-1] = Expired.of(last.order_id, last.qty, R_HALT)  # the halt's reason, anew
            return first, True
        if tif is IOC:
            return first, False
        rest = book.limit(o.order_id, side, o.price, last.qty, GTC, False, *args, o)
        return first[:-1] + rest[1:], False  # less the IOC expiry and the second Accepted

    def _halt(self, mkt: Market, ts: int, events: list[Event]) -> None:
        """Halt ``mkt`` for ``halt_ns``: a volatility interruption."""
        mkt.status = HALT
        mkt.reopen_ns = ts + self.halt_ns
        self._schedule(self._reopens, mkt.reopen_ns, mkt.inst.symbol)
        events.append(InstrumentChanged.of(self.seq, ts, mkt.inst.symbol, HALT))

    def _reopen_due(self, ts: int, events: list[Event]) -> None:
        reopens = self._reopens
        while reopens and reopens[0][0] <= ts:
            when, symbol = heappop(reopens)
            mkt = self.markets[symbol]
            if mkt.reopen_ns == when:  # else an operator set the status since
                mkt.reopen_ns = None
                mkt.status = TRADING
                events.append(InstrumentChanged.of(self.seq, ts, symbol, TRADING))
                self._run_stops(mkt, ts, events)

    def _set_risk_defaults(self, cmd: SetRiskDefaults, events: list[Event]) -> None:
        values = tuple(getattr(cmd, name) for name in LIMIT_FIELDS)
        if not all(valid_limit(v, False) for v in values + (cmd.halt_s,)):
            return self._reject(cmd, Reason.INVALID_LIMIT, events)
        self.risk_defaults = Limits(*values)
        self.halt_ns = cmd.halt_s * 10**9
        self._limits = {a: Limits.resolve(own, self.risk_defaults)
                        for a, own in self.risk_limits.items()}
        self._update_risk_on()

    def _set_risk_limits(self, cmd: SetRiskLimits, events: list[Event]) -> None:
        own = tuple(getattr(cmd, name) for name in LIMIT_FIELDS)
        if not all(valid_limit(v, True) for v in own):
            return self._reject(cmd, Reason.INVALID_LIMIT, events)
        if all(v is None for v in own):
            self.risk_limits.pop(cmd.account, None)
            self._limits.pop(cmd.account, None)
        else:
            self.risk_limits[cmd.account] = own
            self._limits[cmd.account] = Limits.resolve(own, self.risk_defaults)
        self._update_risk_on()

    def _update_risk_on(self) -> None:
        self._risk_on = self.risk_defaults.any or any(l.any for l in self._limits.values())

    def _set_kill_switch(self, cmd: SetKillSwitch, events: list[Event]) -> None:
        key = cmd.api_key
        killed: set[Any]
        switch: Any
        killed, switch = (self.killed, cmd.account) if key is None else (
            self.killed_keys, (cmd.account, key))
        if not cmd.active:
            killed.discard(switch)
            return
        killed.add(switch)
        for o in list(self.by_account.get(cmd.account, {}).values()):
            if key is None or o.source == key:
                self._cancel_order(o, Reason.KILL_SWITCH, cmd.ts_ns, events)
