"""Order entry: new orders, cancels, amendments and replaces (the pipeline's first step).

``_check_place`` checks a new order completely (shape, the instrument's filters, the
session, pre-trade risk through ``RiskControls``, funds) and builds the ``Order``;
only then does ``_place`` change anything: ids, indexes, its hold, and the book
through ``Settlement._work``. ``_amend`` likewise checks before it moves the order
in its book (``OrderBook.move``). A refused command yields one ``CommandRejected``.

Speed (bench/engine.py): the amendment and new-order paths inline the small
helpers they would call, each at most once and tagged ``# inline copy of <helper>``
(tests/engine/test_inline_copies.py compares each copy with its helper), since a
Python call costs about as much as the work it wraps. An ``Order`` is also its
book's record of it (``OrderBook.limit``'s ``record``), so an amendment, checked
here, goes to the book's ``move`` with the record itself: no lookup, no second
check, no Amended event built to be thrown away. A new order, checked here,
likewise enters through the book's trusted ``submit``.
"""

from __future__ import annotations

from typing import Any

from .book import REFUSED as M_REFUSED
from .commands import (AmendOrder, CancelAll, CancelOnDisconnect, CancelOrder, CancelReplace,
                       PlaceOrder)
from .core import (BUY, CLIENT_ID_CHARS, DAY, DAY_NS, FOK, GTC, GTD, HOLD, IOC, LIMIT_MAKER, MARKET,
                   MARKET_LIKE, PRICED, R_USER, RELEASE, SELL, STOP_LOSS, STOP_LOSS_LIMIT, STOPS,
                   TRADING, TYPE_OF, X_AMENDED, X_CANCELED, X_NEW, Core, off_grid, positive)
from .enums import SIDE_OF, STP_OF, TIF_OF, OrderType, Side
from .events import Event, OrderSpec, OrderUpdated, Reason
from .instrument import PPM
from .orders import CANCELED, NEW, Order


def _rises(side: Side, type_: OrderType) -> bool:
    """Whether a stop order triggers on a rising price (else on a falling one)."""
    return (side is BUY) == (type_ in (STOP_LOSS, STOP_LOSS_LIMIT))


class OrderEntry(Core):
    """Order entry of the Sequencer (a mixin of it): place, cancel, amend, replace."""

    def _place(self, cmd: PlaceOrder, events: list[Event]) -> Order | None:
        o = self._check_place(cmd)
        if not isinstance(o, Order):
            self._reject(cmd, o, events)
            return None
        # Nothing can fail from here on.
        o.order_id = o.spec.order_id = order_id = self.next_order_id
        self.next_order_id = order_id + 1
        account, coid, ts, mkt, hold = o.account, o.client_order_id, cmd.ts_ns, o.market, o.hold
        self.orders[order_id] = o
        try:
            self.by_account[account][order_id] = o
        except KeyError:  # the account's first open order
            self.by_account[account] = {order_id: o}
        if coid is not None:
            self.by_client[(account, coid)] = o
        if hold:
            self.ledger.hold(self.seq, o.hold_balance, hold, order_id, events)
        self._report(o, X_NEW, None, ts, events)
        expire = o.spec.expire_ts_ns
        if expire is not None:
            self._schedule(self._expiries, expire, order_id)
        if o.working:
            last = mkt.last_price
            self._work(mkt, o, ts, events)
            # No waiting stop can trigger at the last price it had (each command ends with
            # none triggerable), so stops are only looked at when a trade moved it.
            if mkt.last_price != last:
                self._run_stops(mkt, ts, events)
        elif _rises(o.side, o.type):
            o.stop_key = (o.stop_price, order_id)
            mkt.rising.add(o.stop_key)
        else:
            o.stop_key = (-o.stop_price, order_id)
            mkt.falling.add(o.stop_key)
        return o

    def _check_place(self, cmd: PlaceOrder) -> "Order | Reason":
        """Return the Reason ``cmd`` fails for, or the Order it places once nothing can
        fail: complete but for its id (``_place`` gives it one), and not yet anywhere."""
        try:  # subscripts, not .get: no method call (a command's fields are hashable)
            mkt = self.markets[cmd.symbol]
        except KeyError:
            return Reason.UNKNOWN_SYMBOL
        if self.killed and cmd.account in self.killed:
            return Reason.KILL_SWITCH
        if self.killed_keys and (cmd.account, cmd.source) in self.killed_keys:
            return Reason.KILL_SWITCH
        inst = mkt.inst
        try:
            side = SIDE_OF[cmd.side]
        except KeyError:
            return Reason.INVALID_SIDE
        try:
            type_ = TYPE_OF[cmd.type]
        except KeyError:
            return Reason.INVALID_ORDER_TYPE
        if mkt.status is not TRADING:
            return Reason.MARKET_CLOSED
        # Ints or None, as the command's types say; which may be None depends on the order's
        # type in ways the checks below establish and a type checker cannot follow.
        qty: Any
        price: Any
        quote_qty: Any
        stop_price: Any
        qty, price, quote_qty, stop_price = cmd.qty, cmd.price, cmd.quote_qty, cmd.stop_price
        if type_ in PRICED:
            if price is None or price <= 0:  # an int or None: the command checked its type
                return Reason.INVALID_PRICE
        elif price is not None:
            return Reason.INVALID_PRICE
        if type_ is MARKET and quote_qty is not None:
            if qty is not None or not positive(quote_qty):
                return Reason.INVALID_QUANTITY
        elif qty is None or qty <= 0 or quote_qty is not None:
            return Reason.INVALID_QUANTITY
        if type_ in STOPS:
            if not positive(stop_price):
                return Reason.INVALID_STOP_PRICE
        elif stop_price is not None:
            return Reason.INVALID_STOP_PRICE
        if type_ in MARKET_LIKE:
            tif = IOC
        else:
            try:
                tif = TIF_OF[cmd.tif]
            except KeyError:
                return Reason.INVALID_TIF
            if type_ is LIMIT_MAKER and tif not in (GTC, DAY, GTD):
                return Reason.INVALID_TIF
        expire = cmd.expire_ts_ns
        if tif is GTD:
            if not positive(expire) or expire <= cmd.ts_ns:
                return Reason.INVALID_EXPIRY
        elif expire is not None:
            return Reason.INVALID_EXPIRY
        elif tif is DAY:
            expire = ((cmd.ts_ns - self._day_end_ns) // DAY_NS + 1) * DAY_NS + self._day_end_ns
        display = cmd.display_qty
        if display is not None and (type_ not in PRICED or tif in (IOC, FOK)
                                    or not positive(display) or display >= qty):
            return Reason.FILTER_ICEBERG
        stp = inst.default_stp if cmd.stp is None else STP_OF.get(cmd.stp)
        if stp is None:
            return Reason.INVALID_STP
        if stp not in inst.allowed_stp:
            return Reason.STP_MODE_NOT_ALLOWED
        coid = cmd.client_order_id
        if coid is not None:
            if type(coid) is not str or not 0 < len(coid) <= 36 or not CLIENT_ID_CHARS.issuperset(coid):
                return Reason.INVALID_CLIENT_ORDER_ID
            if (cmd.account, coid) in self.by_client:
                return Reason.DUPLICATE_CLIENT_ORDER_ID
        # filters
        if qty is not None and not inst.min_qty <= qty <= inst.max_qty:
            return Reason.FILTER_MARKET_LOT_SIZE if type_ is MARKET else Reason.FILTER_LOT_SIZE
        if inst.coarse:  # a grid coarser than the units
            reason = off_grid(inst, price, stop_price, qty, display)
            if reason is not None:
                return (Reason.FILTER_MARKET_LOT_SIZE if reason is Reason.FILTER_LOT_SIZE
                        and type_ is MARKET else reason)
        if type_ in PRICED:
            if inst.price_band_bps and not inst.in_band(price, mkt.reference_price):
                return Reason.FILTER_PERCENT_PRICE
            if inst.min_notional and price * qty * mkt.qptl < inst.min_notional:
                return Reason.FILTER_NOTIONAL
        if quote_qty is not None and quote_qty < inst.min_notional:
            return Reason.FILTER_NOTIONAL
        if type_ in STOPS:
            last = mkt.last_price
            if last is not None and (last >= stop_price if _rises(side, type_) else last <= stop_price):
                return Reason.WOULD_TRIGGER_IMMEDIATELY
        book = mkt.book
        if type_ is LIMIT_MAKER:
            best = book.best_ask() if side is BUY else book.best_bid()
            if best is not None and (price >= best[0] if side is BUY else price <= best[0]):
                return Reason.POST_ONLY_WOULD_TAKE
        # funds
        budget = None
        if side is BUY:
            balance = self.ledger.balance(cmd.account, inst.quote)
            if type_ is MARKET:
                protect = self._protection(mkt, BUY)
                if quote_qty is not None:
                    hold = quote_qty
                    budget = inst.budget_ticklots(quote_qty)
                else:
                    _, budget = book.sweep(BUY, qty, protect, cmd.account, stp)
                    n = budget * mkt.qptl
                    hold = n + -(-n * inst.taker_fee_ppm // PPM)
            else:
                hold = inst.buy_hold(stop_price if price is None else price, qty)
        else:
            balance = self.ledger.balance(cmd.account, inst.base)
            if quote_qty is not None:
                protect = self._protection(mkt, SELL)
                budget = quote_qty // mkt.qptl
                qty, _ = book.sweep(SELL, inst.max_qty, protect, cmd.account, stp, funds=budget)
                if 0 < qty < inst.min_qty:
                    return Reason.FILTER_MARKET_LOT_SIZE
            hold = qty * mkt.bpl
        if self._risk_on:
            limits = self._limits.get(cmd.account, self.risk_defaults)
            if limits.any:
                reason = self._check_limits(limits, cmd, mkt, side, type_, qty, budget, stp)
                if reason is not None:
                    return reason
        if hold > balance.free:
            return Reason.INSUFFICIENT_BALANCE
        account, ts = cmd.account, cmd.ts_ns
        o = Order()
        o.account = account
        o.symbol = symbol = cmd.symbol
        o.market = mkt
        o.client_order_id = coid
        o.source = cmd.source
        o.side = side
        o.type = type_
        o.tif = tif
        o.price = price
        o.qty = qty
        o.quote_qty = quote_qty
        o.stop_price = stop_price
        o.display_qty = display
        o.stp = stp
        o.post_only = type_ is LIMIT_MAKER
        o.status = NEW  # its first status (TRANSITIONS[None]); move_to from here on
        o.open = qty
        o.executed_qty = 0
        o.cum_quote = 0
        o.hold = hold
        o.hold_balance = balance
        o.budget = budget
        o.working = type_ not in STOPS
        o.stop_key = None
        o.spec = spec = OrderSpec()
        spec.account = account
        spec.symbol = symbol
        spec.client_order_id = coid
        spec.side = side
        spec.type = type_
        spec.tif = tif
        spec.quote_qty = quote_qty
        spec.stop_price = stop_price
        spec.display_qty = display
        spec.stp = stp
        spec.expire_ts_ns = expire
        spec.created_ts_ns = ts
        return o

    def _find(self, cmd: Any, order_id: int | None, client_order_id: str | None) -> "Order | Reason":
        """Return the caller's open order on the command's symbol, or a Reason."""
        if order_id is not None:
            o = self.orders.get(order_id)
        elif client_order_id is not None:
            o = self.by_client.get((cmd.account, client_order_id))
        else:
            return Reason.UNKNOWN_ORDER
        if o is None or o.symbol != cmd.symbol:
            return Reason.UNKNOWN_ORDER
        if o.account != cmd.account:
            return Reason.UNKNOWN_ORDER  # another account's order: say nothing about it
        return o

    def _cancel(self, cmd: CancelOrder, events: list[Event]) -> Order | None:
        if cmd.symbol not in self.markets:
            self._reject(cmd, Reason.UNKNOWN_SYMBOL, events)
            return None
        o = self._find(cmd, cmd.order_id, cmd.client_order_id)
        if not isinstance(o, Order):
            self._reject(cmd, o, events)
            return None
        self._cancel_order(o, R_USER, cmd.ts_ns, events)
        return o

    def _cancel_order(self, o: Order, reason: Reason, ts: int, events: list[Event]) -> None:
        if o.working:
            mkt = o.market
            mkt.book.cancel(o.order_id)
            self._touch(mkt, o)
        self._close(o, CANCELED, X_CANCELED, reason, ts, events)

    def _cancel_all(self, cmd: CancelAll, events: list[Event]) -> None:
        if cmd.symbol not in self.markets:
            return self._reject(cmd, Reason.UNKNOWN_SYMBOL, events)
        mine = [o for o in self.by_account.get(cmd.account, {}).values() if o.symbol == cmd.symbol]
        for o in mine:
            self._cancel_order(o, Reason.USER, cmd.ts_ns, events)

    def _cancel_on_disconnect(self, cmd: CancelOnDisconnect, events: list[Event]) -> None:
        for o in list(self.by_account.get(cmd.account, {}).values()):
            if cmd.source is None or o.source == cmd.source:
                self._cancel_order(o, Reason.DISCONNECTED, cmd.ts_ns, events)

    def _cancel_replace(self, cmd: CancelReplace, events: list[Event]) -> None:
        new = cmd.new
        if cmd.mode not in ("STOP_ON_FAILURE", "ALLOW_FAILURE") or type(new) is not PlaceOrder or (
                new.account, new.symbol) != (cmd.account, cmd.symbol):
            return self._reject(cmd, Reason.INVALID_ORDER_TYPE, events)
        o = self._find(cmd, cmd.cancel_order_id, cmd.cancel_client_order_id)
        if isinstance(o, Order):
            self._cancel_order(o, Reason.REPLACED, cmd.ts_ns, events)
        else:
            self._reject(cmd, o, events)
            if cmd.mode == "STOP_ON_FAILURE":
                return
        self._place(new.stamped(cmd.ts_ns), events)

    def _amend(self, cmd: AmendOrder, events: list[Event]) -> None:
        try:
            o = self.orders[cmd.order_id]  # a subscript, not .get: no method call
        except KeyError:
            return self._reject(cmd, Reason.UNKNOWN_ORDER, events)
        if o.account != cmd.account or o.symbol != cmd.symbol:
            return self._reject(cmd, Reason.UNKNOWN_ORDER, events)
        if self.killed and cmd.account in self.killed:
            return self._reject(cmd, Reason.KILL_SWITCH, events)
        if not o.working:
            return self._reject(cmd, Reason.NOT_AMENDABLE, events)
        mkt = o.market
        if mkt.status is not TRADING:
            return self._reject(cmd, Reason.MARKET_CLOSED, events)
        qty: Any
        price: Any
        total: Any
        qty, price, old = cmd.qty, cmd.price, o.price  # ints or None (the command's types)
        if qty is None:
            qty = o.open
            total = o.qty  # executed + open, as ever for a working limit order
        elif qty <= 0:
            return self._reject(cmd, Reason.INVALID_QUANTITY, events)
        else:
            total = o.executed_qty + qty
        if price is None:
            price = old
        elif price <= 0:
            return self._reject(cmd, Reason.INVALID_PRICE, events)
        inst = mkt.inst
        if not inst.min_qty <= total <= inst.max_qty:
            return self._reject(cmd, Reason.FILTER_LOT_SIZE, events)
        if inst.coarse:
            reason = off_grid(inst, cmd.price, None, cmd.qty, None)
            if reason is not None:
                return self._reject(cmd, reason, events)
        if price != old:
            if inst.price_band_bps and not inst.in_band(price, mkt.reference_price):
                return self._reject(cmd, Reason.FILTER_PERCENT_PRICE, events)
            if inst.min_notional and price * qty * mkt.qptl < inst.min_notional:
                return self._reject(cmd, Reason.FILTER_NOTIONAL, events)
        if self._risk_on and (qty > o.open or price != old):  # adds exposure
            limits = self._limits.get(cmd.account, self.risk_defaults)
            if limits.any:
                reason = self._check_amend_limits(limits, o, mkt, qty, price, cmd.ts_ns)
                if reason is not None:
                    return self._reject(cmd, reason, events)
        if o.side is BUY:  # inline copy of Instrument.buy_hold (the hot path, as below)
            notional = price * qty * mkt.qptl
            hold = notional + -(-notional * inst.hold_fee_ppm // PPM)
            touched = mkt.touched_bids
        else:
            hold = qty * mkt.bpl
            touched = mkt.touched_asks
        delta = hold - o.hold
        if delta > 0 and delta > o.hold_balance.free:  # 0 first: a balance is often a big int
            return self._reject(cmd, Reason.INSUFFICIENT_BALANCE, events)
        # The book moves the order (its price and open); it returns events only if the
        # order crossed (its fills are applied below) or could not move (post-only).
        level = o.level
        moved = mkt.book.move(o, qty, price)
        if moved.events and moved.outcome is M_REFUSED:  # events: refused, or crossed
            return self._reject(cmd, moved.events[0].reason, events)
        # Nothing can fail from here on.
        touched.add(level)   # inline copy of _touch (the old level, then the new)
        touched.add(o.level)
        seq = self.seq
        if delta:  # inline copy of Ledger.hold
            self._post(seq, o.hold_balance, -delta, delta, HOLD if delta > 0 else RELEASE,
                       o.order_id, events)
            o.hold = hold
        o.qty = total
        ev = OrderUpdated()  # inline copy of _report (o, X_AMENDED, None)
        ev.seq = seq
        ev.ts_ns = cmd.ts_ns
        ev.spec = o.spec
        ev.price = price
        ev.qty = total
        ev.working = True
        ev.status = o.status
        ev.exec_type = X_AMENDED
        ev.executed_qty = o.executed_qty
        ev.cum_quote = o.cum_quote
        ev.reason = None
        events.append(ev)
        if moved.events:  # it crossed: its fills, after its Amended
            self._apply_book(mkt, o, moved.events[1:], cmd.ts_ns, events)
            self._run_stops(mkt, cmd.ts_ns, events)
