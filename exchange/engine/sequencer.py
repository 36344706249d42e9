"""The sequencer: the venue's single writer, and the dispatcher of its pipeline.

``apply(command)`` validates a command completely, then changes state (books,
stops, ledger, orders) and returns the events, each stamped with the command's
``seq``. There is no rollback, so nothing is changed until every check has
passed; a refused command yields one ``CommandRejected`` and nothing else. The
sequencer reads no clock: time comes on the command. Before each command it
expires the DAY/GTD orders due by the command's ``ts_ns``, then reopens the
symbols whose volatility halt has run out.

This module holds ``seq``, the due heaps and the dispatch; each step of the
pipeline is a module of its own, a mixin of ``Sequencer`` (exchange-core's
split): order entry and validation (entry.py), pre-trade risk, price bands and
halts (risk.py), settlement of fills, holds and fees (settlement.py), funding
(funding.py) and listing (listing.py); core.py holds what they share. The
shell reads the venue through ``market_views`` and ``Ledger.amounts``, never
through the mutable state here.
"""

from __future__ import annotations

from collections.abc import Callable
from heapq import heappop
from typing import Any

from .commands import (AmendOrder, CancelAll, CancelOnDisconnect, CancelOrder, CancelReplace,
                       ChangeInstrument, Deposit, ExpireOrders, ListInstrument, PlaceOrder,
                       RequestWithdrawal, ResolveWithdrawal, SetInstrumentStatus, SetKillSwitch,
                       SetRiskDefaults, SetRiskLimits, Withdraw)
from .core import BUY, SELL, X_EXPIRED, Core
from .entry import OrderEntry
from .events import DepthUpdated, Event, Reason
from .funding import Funding
from .ledger import Balance, Ledger
from .listing import Listing
from .market import MarketViews
from .orders import EXPIRED, OPEN
from .limits import NO_LIMITS
from .risk import RiskControls
from .settlement import Settlement


class Sequencer(OrderEntry, RiskControls, Settlement, Funding, Listing, Core):
    """Books, stops and ledger of a venue, changed one command at a time."""

    def __init__(self, day_end_s: int = 0) -> None:
        self.seq = 0
        self.next_order_id = 1
        self.next_trade_id = 1
        self.ledger = Ledger()
        self._post = self.ledger.post   # bound once: a posting is on every hot path
        self.markets = {}        # symbol -> Market (the shell reads market_views)
        self.assets = {}         # asset -> decimals
        self.orders = {}         # order_id -> Order, every open order (stops included)
        self.by_client = {}      # (account, client_order_id) -> Order, open orders
        self.by_account = {}     # account -> {order_id: Order}, open orders
        self._expiries = []      # heap of (expire_ts_ns, order_id)
        self._due = None         # the earliest time in _expiries and _reopens (None: empty)
        self.withdrawals = {}    # withdrawal_id -> (account, asset, amount), pending ones
        self._day_end_ns = day_end_s * 10**9
        # pre-trade risk
        self.risk_defaults = NO_LIMITS   # the venue's Limits (SetRiskDefaults)
        self.halt_ns = 0                 # volatility halt length; 0: no halts
        self.risk_limits = {}    # account -> its own values (None = default), as last set
        self._limits = {}        # account -> resolved Limits, for accounts in risk_limits
        self._risk_on = False    # whether any limit is set anywhere (else no check runs)
        self.killed = set()      # accounts whose kill switch is active
        self.killed_keys = set() # (account, api key) whose key kill switch is active
        self.daily = {}          # account -> [trading day, notional traded that day]
        self._reopens = []       # heap of (reopen_ts_ns, symbol): volatility halts
        self.market_views = MarketViews(self.markets)  # the shell's read-only view of them
        self._handlers: dict[type, Callable[[Any, list[Event]], object]] = {
            PlaceOrder: self._place, CancelOrder: self._cancel, CancelAll: self._cancel_all,
            CancelOnDisconnect: self._cancel_on_disconnect,
            AmendOrder: self._amend, CancelReplace: self._cancel_replace,
            Deposit: self._deposit, Withdraw: self._withdraw,
            RequestWithdrawal: self._request_withdrawal,
            ResolveWithdrawal: self._resolve_withdrawal,
            ListInstrument: self._list_instrument, SetInstrumentStatus: self._set_status,
            ChangeInstrument: self._change_instrument,
            ExpireOrders: self._tick, SetRiskDefaults: self._set_risk_defaults,
            SetRiskLimits: self._set_risk_limits, SetKillSwitch: self._set_kill_switch,
        }

    def apply(self, cmd: Any) -> list[Event]:
        """Apply one command; return its events, each stamped with its seq."""
        self.seq += 1
        events: list[Event] = []
        try:
            handler = self._handlers[type(cmd)]
        except KeyError:
            self._reject(cmd, Reason.UNKNOWN_COMMAND, events)
            return events
        if self._due is not None and cmd.ts_ns >= self._due:
            self._run_due(cmd.ts_ns, events)
        handler(cmd, events)
        return events

    @property
    def due_ns(self) -> int | None:
        """The earliest time in the DAY/GTD expiries and volatility-halt ends still to
        run, or None: a command at or after it runs them first (``ExpireOrders``, with
        nothing else to do, is one)."""
        return self._due

    def _run_due(self, ts: int, events: list[Event]) -> None:
        """Expire the orders due by ``ts``, then end the volatility halts due by it."""
        expiries, reopens = self._expiries, self._reopens
        if expiries and expiries[0][0] <= ts:
            self._expire_due(ts, events)
        if reopens and reopens[0][0] <= ts:
            self._reopen_due(ts, events)
        self._due = self._earliest_due()

    def _earliest_due(self) -> int | None:
        """The earliest time in _expiries and _reopens, or None when both are empty."""
        heads = [heap[0][0] for heap in (self._expiries, self._reopens) if heap]
        return min(heads) if heads else None

    def _tick(self, cmd: ExpireOrders, events: list[Event]) -> None:
        """Nothing beyond the expiries ``apply`` already ran for this time."""

    def _expire_due(self, ts: int, events: list[Event]) -> None:
        expiries = self._expiries
        while expiries and expiries[0][0] <= ts:
            _, order_id = heappop(expiries)
            o = self.orders.get(order_id)
            if o is not None:
                if o.working:
                    mkt = o.market
                    mkt.book.cancel(order_id)
                    self._touch(mkt, o)
                self._close(o, EXPIRED, X_EXPIRED, Reason.TIME, ts, events)

    def depth_changes(self) -> list[DepthUpdated]:
        """Return one DepthUpdated per book changed since the last call: the visible qty
        now (as of ``seq``) of each level that changed, and the symbol's next update id.

        Called when a batch of commands is cut for the journal (the book then stands
        exactly as after the batch's last command), so the depth stream and /depth
        advance once per committed batch, never ahead of the commit, and applying
        the commands costs only the noting of touched levels. Markets come in
        listing order; O(markets + touched levels).
        """
        seq = self.seq
        events = []
        for mkt in self.markets.values():
            if not mkt.touched_bids and not mkt.touched_asks:
                continue
            book = mkt.book
            ev = DepthUpdated()
            ev.seq = seq
            ev.symbol = mkt.inst.symbol
            mkt.update_id += 1
            ev.update_id = mkt.update_id
            # () when none was touched; a price whose level was dropped and made anew may
            # have two level objects, so the prices are a set
            ev.bids = book.level_qtys(BUY, {lvl.price for lvl in mkt.touched_bids})
            ev.asks = book.level_qtys(SELL, {lvl.price for lvl in mkt.touched_asks})
            mkt.touched_bids.clear()
            mkt.touched_asks.clear()
            events.append(ev)
        return events

    def reset_depth_ids(self) -> None:
        """Forget the touched levels and start every symbol's update ids at ``seq`` (after
        recovery: the ids then only grow across restarts, as there is at most one per
        command)."""
        self.depth_changes()
        for mkt in self.markets.values():
            mkt.update_id = self.seq

    def check(self) -> None:
        """Assert every invariant of the venue; O(state). For tests.

        No book is crossed; every open order is where it should be (working in
        its book with the same open quantity, waiting in its stop list); each
        balance's locked part equals the holds of its open orders and pending
        withdrawals; every asset is conserved; no balance is negative.
        """
        held: dict[Balance, int] = {}   # Balance -> the holds of the open orders in it
        markets = self.markets
        working = dict.fromkeys(markets, 0)   # symbol -> its open orders in the book
        waiting = dict.fromkeys(markets, 0)   # symbol -> its stops not triggered
        for o in self.orders.values():
            assert o.status in OPEN, f"closed order {o.order_id} still open"
            hold, balance = o.hold, o.hold_balance
            assert hold >= 0 and balance.account == o.account
            held[balance] = held.get(balance, 0) + hold
            mkt = markets[o.symbol]
            assert o.market is mkt, f"order {o.order_id}'s market"
            if o.working:
                working[o.symbol] += 1
                # the Order is the book's record of it (so the book's side, price and open
                # quantity are the order's own)
                assert mkt.book.record(o.order_id) is o, f"order {o.order_id} in its book"
                assert o.qty == o.executed_qty + o.open, f"order {o.order_id}'s qty"
                if o.side is BUY:
                    assert hold == mkt.inst.buy_hold(o.price, o.open), f"hold {o.order_id}"
                else:
                    assert hold == o.open * mkt.bpl, f"hold {o.order_id}"
            else:
                waiting[o.symbol] += 1
                assert o.stop_key in (mkt.rising if o.stop_key[0] > 0 else mkt.falling)
        assert self._due == self._earliest_due(), "due time"
        holds: dict[tuple[int, str], int] = {}   # (account, asset) -> its locked, as held
        for b, amount in held.items():
            holds[(b.account, b.asset)] = holds.get((b.account, b.asset), 0) + amount
        for account, asset, amount in self.withdrawals.values():
            holds[(account, asset)] = holds.get((account, asset), 0) + amount
        for symbol, mkt in markets.items():
            assert (mkt.qptl, mkt.bpl) == (mkt.inst.quote_per_tick_lot, mkt.inst.base_per_lot)
            mkt.book.check()
            # every working order is in its book (above): as many as the book holds means
            # the book holds no order the sequencer does not
            assert len(mkt.book) == working[symbol], f"{symbol}'s book has other orders"
            assert len(mkt.rising) + len(mkt.falling) == waiting[symbol]
        self.ledger.check(holds)
