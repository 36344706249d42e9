"""Settlement: a working order through its book, then fills, holds, fees and reports.

``_work`` sends an order to its book (within its price band: ``RiskControls``);
``_apply_book`` turns the book's events into ledger postings (``_fill``: both
sides' holds, the trade, the fees), ``OrderUpdated`` reports and closes
(``_close``: the hold released, the order forgotten as open); ``_run_stops``
starts the stops a trade's price reached.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .core import (BOOK_TIF, BUY, DAY_NS, MARKET_LIKE, R_HALT, R_MARKET, R_STP, RELEASE, TRADING,
                   X_CANCELED, X_EXPIRED, X_TRADE, X_TRIGGERED, Core)
from .enums import ExecType, OrderStatus
from .events import (Accepted, Canceled, Event, Expired, Filled, Reason, Rejected, Rested,
                     Traded)
from .instrument import PPM
from .ledger import FEE_ACCOUNT
from .orders import CANCELED, EXPIRED, EXPIRED_IN_MATCH, FILLED, OPEN, PARTIALLY_FILLED

if TYPE_CHECKING:
    from .market import Market
    from .orders import Order


class Settlement(Core):
    """Settlement of the Sequencer (a mixin of it): the book's events to fills, holds and reports."""

    def _work(self, mkt: Market, o: Order, ts: int, events: list[Event]) -> None:
        """Send a working order to the book and apply what happened."""
        if o.type in MARKET_LIKE:
            if o.open == 0 or o.budget == 0:  # nothing it can fill
                self._close(o, EXPIRED, X_EXPIRED, Reason.MARKET, ts, events)
                return
            qty = None if o.qty is None else o.open
            if o.side is BUY and o.budget is None:  # a triggered stop: its hold pays
                o.budget = mkt.inst.budget_ticklots(o.hold)
            protect = self._protection(mkt, o.side)
            book = mkt.book
            book_events = book.market(o.order_id, o.side, qty, o.account, o.stp, o.budget, protect)
            halt = False
            if protect is not None and self.halt_ns:
                last = book_events[-1]
                if (type(last) is Expired and last.reason is R_MARKET
                        and (book.best_ask() if o.side is BUY else book.best_bid()) is not None):
                    # Stopped at the band's edge with liquidity beyond it: the venue's reason
                    # is the halt, in a new event (the book's own stays as it was returned).
                    book_events[-1] = Expired.of(last.order_id, last.qty, R_HALT)
                    halt = True
        else:
            protect = None
            if self.halt_ns and mkt.inst.price_band_bps:
                protect = self._protection(mkt, o.side)
            if protect is not None and (o.price > protect if o.side is BUY else o.price < protect):
                book_events, halt = self._limit_in_band(mkt, o, protect)
            else:
                halt = False
                book_events = mkt.book.submit(o.order_id, o.side, o.price, o.open,
                                              BOOK_TIF[o.tif], o.post_only,
                                              o.account, o.stp, o.display_qty, o)
        self._apply_book(mkt, o, book_events, ts, events)
        if halt:
            self._halt(mkt, ts, events)

    def _apply_book(self, mkt: Market, taker: Order, book_events: list[Event], ts: int,
                    events: list[Event]) -> None:
        """Turn the book's events for ``taker`` into fills, settlements and reports."""
        ev: Any   # one of the book's events, told apart by type
        for ev in book_events:
            t = type(ev)
            if t is Filled:  # _fill notes the maker's level (_touch)
                self._fill(mkt, taker, ev, ts, events)
            elif t is Accepted:
                continue
            elif t is Rested:  # the taker rested
                self._touch(mkt, taker)
            elif t is Expired:
                o = taker if ev.order_id == taker.order_id else self.orders[ev.order_id]
                if o is not taker:  # a maker expired by self-trade prevention
                    self._touch(mkt, o)
                if ev.reason is R_STP:
                    self._close(o, EXPIRED_IN_MATCH, X_EXPIRED, R_STP, ts, events)
                elif o.quote_qty is not None and o.executed_qty:
                    self._close(o, FILLED, X_TRADE, ev.reason, ts, events)
                else:
                    self._close(o, EXPIRED, X_EXPIRED, ev.reason, ts, events)
            elif t is Canceled:
                self._close(self.orders[ev.order_id], CANCELED, X_CANCELED, ev.reason, ts, events)
            elif t is Rejected:
                raise AssertionError(f"book refused a checked command: {ev}")
        if taker.type in MARKET_LIKE and taker.status in OPEN:
            raise AssertionError(f"market order {taker.order_id} left open")

    def _fill(self, mkt: Market, taker: Order, ev: Filled, ts: int, events: list[Event]) -> None:
        """Settle one fill between ``taker`` and the resting maker."""
        seq = self.seq
        inst = mkt.inst
        maker = self.orders[ev.maker_order_id]
        self._touch(mkt, maker)
        price, lots = ev.price, ev.qty
        notional = price * lots * mkt.qptl
        base_qty = lots * mkt.bpl
        maker_fee = notional * inst.maker_fee_ppm // PPM
        taker_fee = notional * inst.taker_fee_ppm // PPM
        maker.open = ev.maker_remaining
        if ev.taker_remaining is not None:
            taker.open = ev.taker_remaining
        if taker.side is BUY:
            buyer, seller, buyer_fee, seller_fee = taker, maker, taker_fee, maker_fee
        else:
            buyer, seller, buyer_fee, seller_fee = maker, taker, maker_fee, taker_fee
        buyer.hold -= notional + buyer_fee
        release = 0
        if buyer.budget is None:  # a limit order: keep exactly what its open part needs
            need = inst.buy_hold(buyer.price, buyer.open)
            release = buyer.hold - need
            buyer.hold = need
        seller.hold -= base_qty
        trade_id = self.next_trade_id
        self.next_trade_id += 1
        ledger = self.ledger
        ledger.settle(seq, trade_id, events, buyer.hold_balance,
                      ledger.balance(buyer.account, inst.base), seller.hold_balance,
                      ledger.balance(seller.account, inst.quote),
                      ledger.balance(FEE_ACCOUNT, inst.quote),
                      notional, base_qty, buyer_fee, seller_fee, release)
        tr = Traded()
        tr.seq = seq
        tr.ts_ns = ts
        tr.trade_id = trade_id
        tr.symbol = inst.symbol
        tr.price = price
        tr.qty = lots
        tr.quote_qty = notional
        tr.maker_order_id = maker.order_id
        tr.taker_order_id = taker.order_id
        tr.maker_account = maker.account
        tr.taker_account = taker.account
        tr.taker_side = taker.side
        tr.maker_fee = maker_fee
        tr.taker_fee = taker_fee
        events.append(tr)
        mkt.last_price = price
        daily = self.daily
        day = (ts - self._day_end_ns) // DAY_NS
        for account in (maker.account, taker.account):
            d = daily.get(account)
            if d is None or d[0] != day:
                daily[account] = [day, notional]
            else:
                d[1] += notional
        for o in (maker, taker):
            o.executed_qty += lots
            o.cum_quote += notional
            if o.open or o.open is None:  # None: a buy by quote amount, ended by the book
                o.move_to(PARTIALLY_FILLED)
                self._report(o, X_TRADE, None, ts, events)
            else:
                self._close(o, FILLED, X_TRADE, None, ts, events)

    def _close(self, o: Order, status: OrderStatus, exec_type: ExecType, reason: Reason | None,
               ts: int, events: list[Event]) -> None:
        """Move an order to a final status, release its hold, forget it as open."""
        o.move_to(status)
        hold = o.hold
        if hold:  # inline copy of Ledger.release (every order ends here)
            self._post(self.seq, o.hold_balance, hold, -hold, RELEASE, o.order_id, events)
            o.hold = 0
        del self.orders[o.order_id]
        del self.by_account[o.account][o.order_id]
        if o.client_order_id is not None:
            del self.by_client[(o.account, o.client_order_id)]
        if not o.working:
            mkt = o.market
            (mkt.rising if o.stop_key[0] > 0 else mkt.falling).remove(o.stop_key)
        self._report(o, exec_type, reason, ts, events)

    def _run_stops(self, mkt: Market, ts: int, events: list[Event]) -> None:
        """Start every stop the last trade price has reached, in trigger order.

        Rising stops go from the lowest stop price up, falling ones from the
        highest down, ties in placement order; each may trade and so trigger
        more.
        """
        rising, falling = mkt.rising, mkt.falling
        while mkt.last_price is not None and mkt.status is TRADING:
            last = mkt.last_price
            if rising and rising[0][0] <= last:
                key = rising.pop(0)
            elif falling and -falling[0][0] >= last:
                key = falling.pop(0)
            else:
                return
            o = self.orders[key[1]]
            o.working = True
            o.stop_key = None
            self._report(o, X_TRIGGERED, None, ts, events)
            self._work(mkt, o, ts, events)
