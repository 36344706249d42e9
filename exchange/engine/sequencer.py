"""The sequencer: the venue's single writer.

``apply(command)`` validates a command completely, then changes state (books,
stops, ledger, orders) and returns the events, each stamped with the command's
``seq``. There is no rollback, so nothing is changed until every check has
passed; a refused command yields one ``CommandRejected`` and nothing else. The
sequencer reads no clock: time comes on the command. Before each command it
expires the DAY/GTD orders due by the command's ``ts_ns``, then reopens the
symbols whose volatility halt has run out.

Pre-trade risk (``exchange.engine.risk``): an account's kill switch and its
limits are checked in ``_check_place`` and ``_amend`` before anything
changes; the limit checks cost one dict lookup when no limit is set
anywhere. Volatility halts: a taker that reaches the edge of its symbol's
price band (``_protection``) with liquidity still crossing beyond it stops
there, its remainder expires (VOLATILITY_HALT) and the symbol is HALT for
``halt_s`` seconds (``SetRiskDefaults``); 0 disables halts.

Instruments change at run time: ``ChangeInstrument`` (``_change_instrument``)
replaces a symbol's rules, coarsening its price/quantity grid only in whole
multiples of the units fixed at listing (so every stored price keeps its
meaning), cancelling or refusing for open orders off the new grid, and
re-holding open buys when the fee rate their hold covers changes.
``SetInstrumentStatus`` DELISTED cancels every order and stop of the symbol;
the status is final.

Speed (bench/engine.py): the amendment and new-order paths inline the small
helpers they would call (``_report``, ``_touch``, ``buy_hold``, ``ledger.hold``),
since a Python call costs about as much as the work it wraps. An ``Order`` is
also its book's record of it (``OrderBook.limit``'s ``record``), so an
amendment, checked here, goes to the book's ``move`` with the record itself:
no lookup, no second check, no Amended event built to be thrown away. A new
order, checked here, likewise enters through the book's trusted ``submit``.
"""

from dataclasses import replace
from heapq import heappop, heappush

from sortedcontainers import SortedList

from .book import OrderBook
from .commands import (AmendOrder, CancelAll, CancelOnDisconnect, CancelOrder, CancelReplace,
                       ChangeInstrument, Deposit, ExpireOrders, ListInstrument, PlaceOrder,
                       RequestWithdrawal, ResolveWithdrawal, SetInstrumentStatus, SetKillSwitch,
                       SetRiskDefaults, SetRiskLimits, Withdraw)
from .enums import SIDE_OF, STATUS_OF, STP_OF, TIF_OF, InstrumentStatus, OrderType, Side, TimeInForce
from .events import (Accepted, Canceled, CommandRejected, DepthUpdated, Expired, Filled,
                     InstrumentChanged, InstrumentDefined, OrderSpec, OrderUpdated, Reason, Rejected, Rested,
                     Traded, WithdrawalUpdated)
from .instrument import PPM, Instrument, RuleViolation
from .ledger import FEE_ACCOUNT, Entry, Ledger
from .orders import (CANCELED, EXPIRED, EXPIRED_IN_MATCH, FILLED, NEW, OPEN,
                     PARTIALLY_FILLED, Order)
from .risk import LIMIT_FIELDS, NO_LIMITS, Limits, valid_limit

BUY, SELL = Side.BUY, Side.SELL
GTC, IOC, FOK, DAY, GTD = (TimeInForce.GTC, TimeInForce.IOC, TimeInForce.FOK, TimeInForce.DAY,
                           TimeInForce.GTD)
LIMIT, MARKET, LIMIT_MAKER = OrderType.LIMIT, OrderType.MARKET, OrderType.LIMIT_MAKER
STOP_LOSS, STOP_LOSS_LIMIT = OrderType.STOP_LOSS, OrderType.STOP_LOSS_LIMIT
TAKE_PROFIT, TAKE_PROFIT_LIMIT = OrderType.TAKE_PROFIT, OrderType.TAKE_PROFIT_LIMIT
TRADING, HALT, DELISTED = InstrumentStatus.TRADING, InstrumentStatus.HALT, InstrumentStatus.DELISTED
# ChangeInstrument's fields that are Instrument rules of the same name
CHANGE_FIELDS = ("tick_units", "step_units", "min_qty", "max_qty", "min_notional",
                 "price_band_bps", "reference_price", "maker_fee_ppm", "taker_fee_ppm")
TYPE_OF = {m.value: m for m in OrderType}
PRICED = frozenset({LIMIT, LIMIT_MAKER, STOP_LOSS_LIMIT, TAKE_PROFIT_LIMIT})
STOPS = frozenset({STOP_LOSS, STOP_LOSS_LIMIT, TAKE_PROFIT, TAKE_PROFIT_LIMIT})
MARKET_LIKE = frozenset({MARKET, STOP_LOSS, TAKE_PROFIT})
DAY_NS = 86_400 * 10**9
# the book's time in force of an order: DAY and GTD rest as GTC (the sequencer expires them)
BOOK_TIF = {GTC: GTC, IOC: IOC, FOK: FOK, DAY: GTC, GTD: GTC}
_CLIENT_ID_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.")
R_STP, R_USER = Reason.STP, Reason.USER
R_FUNDS = Reason.FUNDS
R_MARKET, R_IOC, R_HALT = Reason.MARKET, Reason.IOC, Reason.VOLATILITY_HALT
HOLD, RELEASE = Entry.HOLD, Entry.RELEASE


class _Market:
    """One symbol's state: rules, book, stops, last trade price."""

    __slots__ = ("inst", "book", "status", "last_price", "rising", "falling", "qptl", "bpl",
                 "update_id", "touched_bids", "touched_asks", "reopen_ns")

    def __init__(self, inst: Instrument):
        self.inst = inst
        self.book = OrderBook()
        self.status = inst.status
        self.last_price = None
        self.rising = SortedList()   # (stop_price, order_id): trigger when last >= stop
        self.falling = SortedList()  # (-stop_price, order_id): trigger when last <= stop
        self.qptl = inst.quote_per_tick_lot
        self.bpl = inst.base_per_lot
        self.update_id = 0            # depth changes of the book (DepthUpdated)
        self.touched_bids = set()     # the book's levels changed since depth_changes
        self.touched_asks = set()     # (level objects: they hash by identity, prices don't)
        self.reopen_ns = None         # when a volatility halt ends (None: not in one)

    @property
    def reference_price(self):
        return self.last_price if self.last_price is not None else self.inst.reference_price


def _rises(side, type_):
    """Whether a stop order triggers on a rising price (else on a falling one)."""
    return (side is BUY) == (type_ in (STOP_LOSS, STOP_LOSS_LIMIT))


class Sequencer:
    """Books, stops and ledger of a venue, changed one command at a time."""

    def __init__(self, day_end_s: int = 0):
        self.seq = 0
        self.next_order_id = 1
        self.next_trade_id = 1
        self.ledger = Ledger()
        self._post = self.ledger.post   # bound once: a posting is on every hot path
        self.markets = {}        # symbol -> _Market
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
        self._handlers = {
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

    def apply(self, cmd):
        """Apply one command; return its events, each stamped with its seq."""
        self.seq += 1
        events = []
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
    def due_ns(self):
        """The earliest time in the DAY/GTD expiries and volatility-halt ends still to
        run, or None: a command at or after it runs them first (``ExpireOrders``, with
        nothing else to do, is one)."""
        return self._due

    def _run_due(self, ts, events):
        """Expire the orders due by ``ts``, then end the volatility halts due by it."""
        expiries, reopens = self._expiries, self._reopens
        if expiries and expiries[0][0] <= ts:
            self._expire_due(ts, events)
        if reopens and reopens[0][0] <= ts:
            self._reopen_due(ts, events)
        self._due = self._earliest_due()

    def _earliest_due(self):
        """The earliest time in _expiries and _reopens, or None when both are empty."""
        heads = [heap[0][0] for heap in (self._expiries, self._reopens) if heap]
        return min(heads) if heads else None

    def _schedule(self, heap, when, key):
        """Put ``(when, key)`` on ``heap`` (_expiries or _reopens) and keep ``_due``."""
        heappush(heap, (when, key))
        if self._due is None or when < self._due:
            self._due = when

    def _touch(self, mkt, o):
        """Note that the level ``o`` rests (or rested last) on changed (see depth_changes)."""
        (mkt.touched_bids if o.side is BUY else mkt.touched_asks).add(o.level)

    def depth_changes(self) -> list:
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

    # ---- order entry -----------------------------------------------------

    def _place(self, cmd, events):
        o = self._check_place(cmd)
        if type(o) is not Order:
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
        if hold:  # self.ledger.hold(...), inlined (a new order's hold is never negative)
            self._post(self.seq, o.hold_balance, -hold, hold, HOLD, order_id, events)
        self._report(o, "NEW", None, ts, events)
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

    def _check_place(self, cmd):
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
        qty, price, quote_qty, stop_price = cmd.qty, cmd.price, cmd.quote_qty, cmd.stop_price
        if type_ in PRICED:
            if type(price) is not int or price <= 0:  # not _positive(price), inlined
                return Reason.INVALID_PRICE
        elif price is not None:
            return Reason.INVALID_PRICE
        if type_ is MARKET and quote_qty is not None:
            if qty is not None or not _positive(quote_qty):
                return Reason.INVALID_QUANTITY
        elif type(qty) is not int or qty <= 0 or quote_qty is not None:
            return Reason.INVALID_QUANTITY
        if type_ in STOPS:
            if not _positive(stop_price):
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
            if not _positive(expire) or expire <= cmd.ts_ns:
                return Reason.INVALID_EXPIRY
        elif expire is not None:
            return Reason.INVALID_EXPIRY
        elif tif is DAY:
            expire = ((cmd.ts_ns - self._day_end_ns) // DAY_NS + 1) * DAY_NS + self._day_end_ns
        display = cmd.display_qty
        if display is not None and (type_ not in PRICED or tif in (IOC, FOK)
                                    or not _positive(display) or display >= qty):
            return Reason.FILTER_ICEBERG
        stp = inst.default_stp if cmd.stp is None else STP_OF.get(cmd.stp)
        if stp is None:
            return Reason.INVALID_STP
        if stp not in inst.allowed_stp:
            return Reason.STP_MODE_NOT_ALLOWED
        coid = cmd.client_order_id
        if coid is not None:
            if type(coid) is not str or not 0 < len(coid) <= 36 or not _CLIENT_ID_CHARS.issuperset(coid):
                return Reason.INVALID_CLIENT_ORDER_ID
            if (cmd.account, coid) in self.by_client:
                return Reason.DUPLICATE_CLIENT_ORDER_ID
        # filters
        if qty is not None and not inst.min_qty <= qty <= inst.max_qty:
            return Reason.FILTER_MARKET_LOT_SIZE if type_ is MARKET else Reason.FILTER_LOT_SIZE
        if inst.coarse:  # a grid coarser than the units
            reason = _off_grid(inst, price, stop_price, qty, display)
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
            else:  # inst.buy_hold(stop_price if price is None else price, qty), inlined
                n = (stop_price if price is None else price) * qty * mkt.qptl
                hold = n + -(-n * inst.hold_fee_ppm // PPM)
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

    def _check_limits(self, limits, cmd, mkt, side, type_, qty, budget, stp):
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

    def _position_after(self, account, mkt, lots):
        """Base minor units ``account`` would hold with its open buys on ``mkt`` and ``lots`` more."""
        inst = mkt.inst
        b = self.ledger.balance(account, inst.base)
        symbol = inst.symbol
        for o in self.by_account.get(account, {}).values():
            if o.symbol == symbol and o.side is BUY:
                lots += o.open
        return b.free + b.locked + lots * mkt.bpl

    def daily_notional(self, account, ts_ns):
        """Quote minor units ``account`` traded (maker or taker) in the trading day of ``ts_ns``."""
        d = self.daily.get(account)
        if d is None or d[0] != (ts_ns - self._day_end_ns) // DAY_NS:
            return 0
        return d[1]

    def limits(self, account) -> Limits:
        """The resolved pre-trade limits of ``account``."""
        return self._limits.get(account, self.risk_defaults)

    def _protection(self, mkt, side):
        """The price a market order may not trade through: the band's edge, if any."""
        inst, ref = mkt.inst, mkt.reference_price
        if not inst.price_band_bps or ref is None:
            return None
        if side is BUY:
            return ref * (10_000 + inst.price_band_bps) // 10_000
        return -(-ref * (10_000 - inst.price_band_bps) // 10_000)

    def _work(self, mkt, o, ts, events):
        """Send a working order to the book and apply what happened."""
        if o.type in MARKET_LIKE:
            if o.open == 0 or o.budget == 0:  # nothing it can fill
                self._close(o, EXPIRED, "EXPIRED", Reason.MARKET, ts, events)
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
                    last.reason = R_HALT  # stopped at the band's edge with liquidity beyond it
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

    def _limit_in_band(self, mkt, o, protect):
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
            last.reason = R_HALT
            return first, True
        if tif is IOC:
            return first, False
        rest = book.limit(o.order_id, side, o.price, last.qty, GTC, False, *args, o)
        return first[:-1] + rest[1:], False  # less the IOC expiry and the second Accepted

    def _halt(self, mkt, ts, events):
        """Halt ``mkt`` for ``halt_ns``: a volatility interruption."""
        mkt.status = HALT
        mkt.reopen_ns = ts + self.halt_ns
        self._schedule(self._reopens, mkt.reopen_ns, mkt.inst.symbol)
        events.append(InstrumentChanged.of(self.seq, ts, mkt.inst.symbol, HALT))

    def _reopen_due(self, ts, events):
        reopens = self._reopens
        while reopens and reopens[0][0] <= ts:
            when, symbol = heappop(reopens)
            mkt = self.markets[symbol]
            if mkt.reopen_ns == when:  # else an operator set the status since
                mkt.reopen_ns = None
                mkt.status = TRADING
                events.append(InstrumentChanged.of(self.seq, ts, symbol, TRADING))
                self._run_stops(mkt, ts, events)

    def _apply_book(self, mkt, taker, book_events, ts, events):
        """Turn the book's events for ``taker`` into fills, settlements and reports."""
        for ev in book_events:  # _touch inlined: every new order comes here
            t = type(ev)
            if t is Filled:  # _fill notes the maker's level (_touch)
                self._fill(mkt, taker, ev, ts, events)
            elif t is Accepted:
                continue
            elif t is Rested:  # the taker rested
                (mkt.touched_bids if ev.side is BUY else mkt.touched_asks).add(taker.level)
            elif t is Expired:
                o = taker if ev.order_id == taker.order_id else self.orders[ev.order_id]
                if o is not taker:  # a maker expired by self-trade prevention
                    self._touch(mkt, o)
                if ev.reason is R_STP:
                    self._close(o, EXPIRED_IN_MATCH, "EXPIRED", R_STP, ts, events)
                elif o.quote_qty is not None and o.executed_qty:
                    self._close(o, FILLED, "TRADE", ev.reason, ts, events)
                else:
                    self._close(o, EXPIRED, "EXPIRED", ev.reason, ts, events)
            elif t is Canceled:
                self._close(self.orders[ev.order_id], CANCELED, "CANCELED", ev.reason, ts, events)
            elif t is Rejected:
                raise AssertionError(f"book refused a checked command: {ev}")
        if taker.type in MARKET_LIKE and taker.status in OPEN:
            raise AssertionError(f"market order {taker.order_id} left open")

    def _fill(self, mkt, taker, ev, ts, events):
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
            need = buyer.price * buyer.open * mkt.qptl  # inst.buy_hold(...), inlined
            need += -(-need * inst.hold_fee_ppm // PPM)
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
                self._report(o, "TRADE", None, ts, events)
            else:
                self._close(o, FILLED, "TRADE", None, ts, events)

    def _close(self, o, status, exec_type, reason, ts, events):
        """Move an order to a final status, release its hold, forget it as open."""
        o.move_to(status)
        hold = o.hold
        if hold:  # self.ledger.release(...), inlined: every order ends here
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

    def _run_stops(self, mkt, ts, events):
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
            self._report(o, "TRIGGERED", None, ts, events)
            self._work(mkt, o, ts, events)

    # ---- cancel, amend, replace ------------------------------------------

    def _find(self, cmd, order_id, client_order_id):
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

    def _cancel(self, cmd, events):
        if cmd.symbol not in self.markets:
            return self._reject(cmd, Reason.UNKNOWN_SYMBOL, events)
        o = self._find(cmd, cmd.order_id, cmd.client_order_id)
        if type(o) is not Order:
            return self._reject(cmd, o, events)
        self._cancel_order(o, R_USER, cmd.ts_ns, events)
        return o

    def _cancel_order(self, o, reason, ts, events):
        if o.working:
            mkt = o.market
            mkt.book.cancel(o.order_id)
            self._touch(mkt, o)
        self._close(o, CANCELED, "CANCELED", reason, ts, events)

    def _cancel_all(self, cmd, events):
        if cmd.symbol not in self.markets:
            return self._reject(cmd, Reason.UNKNOWN_SYMBOL, events)
        mine = [o for o in self.by_account.get(cmd.account, {}).values() if o.symbol == cmd.symbol]
        for o in mine:
            self._cancel_order(o, Reason.USER, cmd.ts_ns, events)

    def _cancel_on_disconnect(self, cmd, events):
        for o in list(self.by_account.get(cmd.account, {}).values()):
            if cmd.source is None or o.source == cmd.source:
                self._cancel_order(o, Reason.DISCONNECTED, cmd.ts_ns, events)

    def _cancel_replace(self, cmd, events):
        new = cmd.new
        if cmd.mode not in ("STOP_ON_FAILURE", "ALLOW_FAILURE") or type(new) is not PlaceOrder or (
                new.account, new.symbol) != (cmd.account, cmd.symbol):
            return self._reject(cmd, Reason.INVALID_ORDER_TYPE, events)
        o = self._find(cmd, cmd.cancel_order_id, cmd.cancel_client_order_id)
        if type(o) is Order:
            self._cancel_order(o, Reason.REPLACED, cmd.ts_ns, events)
        else:
            self._reject(cmd, o, events)
            if cmd.mode == "STOP_ON_FAILURE":
                return
        self._place(new.stamped(cmd.ts_ns), events)

    def _amend(self, cmd, events):
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
            reason = _off_grid(inst, cmd.price, None, cmd.qty, None)
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
        if o.side is BUY:  # inst.buy_hold(price, qty), inlined: the hot path
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
        book_events = mkt.book.move(o, qty, price)
        if book_events and type(book_events[0]) is Rejected:
            return self._reject(cmd, book_events[0].reason, events)
        # Nothing can fail from here on.
        touched.add(level)   # _touch, inlined: the hot path (the old level, then the new)
        touched.add(o.level)
        seq = self.seq
        if delta:
            self._post(seq, o.hold_balance, -delta, delta, HOLD if delta > 0 else RELEASE,
                       o.order_id, events)
            o.hold = hold
        o.qty = total
        ev = OrderUpdated()  # self._report(o, "AMENDED", ...), inlined: the hot path
        ev.seq = seq
        ev.ts_ns = cmd.ts_ns
        ev.spec = o.spec
        ev.price = price
        ev.qty = total
        ev.working = True
        ev.status = o.status
        ev.exec_type = "AMENDED"
        ev.executed_qty = o.executed_qty
        ev.cum_quote = o.cum_quote
        ev.reason = None
        events.append(ev)
        if book_events is not None and len(book_events) > 1:  # it crossed and traded
            self._apply_book(mkt, o, book_events[1:], cmd.ts_ns, events)
            self._run_stops(mkt, cmd.ts_ns, events)

    def _check_amend_limits(self, limits, o, mkt, qty, price, ts):
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

    # ---- risk ------------------------------------------------------------

    def _set_risk_defaults(self, cmd, events):
        values = tuple(getattr(cmd, name) for name in LIMIT_FIELDS)
        if not all(valid_limit(v, False) for v in values + (cmd.halt_s,)):
            return self._reject(cmd, Reason.INVALID_LIMIT, events)
        self.risk_defaults = Limits(*values)
        self.halt_ns = cmd.halt_s * 10**9
        self._limits = {a: Limits.resolve(own, self.risk_defaults)
                        for a, own in self.risk_limits.items()}
        self._update_risk_on()

    def _set_risk_limits(self, cmd, events):
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

    def _update_risk_on(self):
        self._risk_on = self.risk_defaults.any or any(l.any for l in self._limits.values())

    def _set_kill_switch(self, cmd, events):
        key = cmd.api_key
        killed, switch = (self.killed, cmd.account) if key is None else (
            self.killed_keys, (cmd.account, key))
        if not cmd.active:
            killed.discard(switch)
            return
        killed.add(switch)
        for o in list(self.by_account.get(cmd.account, {}).values()):
            if key is None or o.source == key:
                self._cancel_order(o, Reason.KILL_SWITCH, cmd.ts_ns, events)

    # ---- time ------------------------------------------------------------

    def _tick(self, cmd, events):
        """Nothing beyond the expiries ``apply`` already ran for this time."""

    def _expire_due(self, ts, events):
        expiries = self._expiries
        while expiries and expiries[0][0] <= ts:
            _, order_id = heappop(expiries)
            o = self.orders.get(order_id)
            if o is not None:
                if o.working:
                    mkt = o.market
                    mkt.book.cancel(order_id)
                    self._touch(mkt, o)
                self._close(o, EXPIRED, "EXPIRED", Reason.TIME, ts, events)

    # ---- funding and instruments -----------------------------------------

    def _deposit(self, cmd, events):
        if cmd.asset not in self.assets:
            return self._reject(cmd, Reason.UNKNOWN_ASSET, events)
        if not _positive(cmd.amount):
            return self._reject(cmd, Reason.INVALID_AMOUNT, events)
        self.ledger.deposit(self.seq, cmd.account, cmd.asset, cmd.amount, cmd.ref, events)

    def _withdraw(self, cmd, events):
        if cmd.asset not in self.assets:
            return self._reject(cmd, Reason.UNKNOWN_ASSET, events)
        if not _positive(cmd.amount):
            return self._reject(cmd, Reason.INVALID_AMOUNT, events)
        if self.ledger.balance(cmd.account, cmd.asset).free < cmd.amount:
            return self._reject(cmd, Reason.INSUFFICIENT_BALANCE, events)
        self.ledger.withdraw(self.seq, cmd.account, cmd.asset, cmd.amount, cmd.ref, events)

    def _request_withdrawal(self, cmd, events):
        if cmd.asset not in self.assets:
            return self._reject(cmd, Reason.UNKNOWN_ASSET, events)
        if not _positive(cmd.amount):
            return self._reject(cmd, Reason.INVALID_AMOUNT, events)
        if cmd.withdrawal_id in self.withdrawals or not cmd.withdrawal_id:
            return self._reject(cmd, Reason.DUPLICATE_WITHDRAWAL, events)
        balance = self.ledger.balance(cmd.account, cmd.asset)
        if balance.free < cmd.amount:
            return self._reject(cmd, Reason.INSUFFICIENT_BALANCE, events)
        self.withdrawals[cmd.withdrawal_id] = (cmd.account, cmd.asset, cmd.amount)
        self.ledger.hold(self.seq, balance, cmd.amount, cmd.withdrawal_id, events)
        events.append(WithdrawalUpdated.of(self.seq, cmd.ts_ns, cmd.withdrawal_id, cmd.account,
                                           cmd.asset, cmd.amount, "PENDING", cmd.destination))

    def _resolve_withdrawal(self, cmd, events):
        pending = self.withdrawals.pop(cmd.withdrawal_id, None)
        if pending is None:
            return self._reject(cmd, Reason.UNKNOWN_WITHDRAWAL, events)
        account, asset, amount = pending
        if cmd.approve:
            self.ledger.withdraw(self.seq, account, asset, amount, cmd.withdrawal_id, events,
                                 from_locked=True)
        else:
            self.ledger.release(self.seq, self.ledger.balance(account, asset), amount,
                                cmd.withdrawal_id, events)
        events.append(WithdrawalUpdated.of(self.seq, cmd.ts_ns, cmd.withdrawal_id, account,
                                           asset, amount,
                                           "APPROVED" if cmd.approve else "REJECTED", None))

    def _list_instrument(self, cmd, events):
        inst = cmd.instrument
        if type(inst) is not Instrument:
            return self._reject(cmd, Reason.INVALID_INSTRUMENT, events)
        if inst.symbol in self.markets:
            return self._reject(cmd, Reason.DUPLICATE_SYMBOL, events)
        try:
            inst.validate()
        except RuleViolation as e:
            return self._reject(cmd, e.reason, events)
        if inst.status is DELISTED:
            return self._reject(cmd, Reason.INVALID_INSTRUMENT, events)
        for asset, decimals in ((inst.base, inst.base_decimals), (inst.quote, inst.quote_decimals)):
            if self.assets.get(asset, decimals) != decimals:
                return self._reject(cmd, Reason.INVALID_INSTRUMENT, events)
        self.assets[inst.base] = inst.base_decimals
        self.assets[inst.quote] = inst.quote_decimals
        self.markets[inst.symbol] = _Market(inst)
        events.append(InstrumentChanged.of(self.seq, cmd.ts_ns, inst.symbol, inst.status))

    def _set_status(self, cmd, events):
        mkt = self.markets.get(cmd.symbol)
        if mkt is None:
            return self._reject(cmd, Reason.UNKNOWN_SYMBOL, events)
        status = STATUS_OF.get(cmd.status)
        if status is None:
            return self._reject(cmd, Reason.INVALID_STATUS, events)
        if mkt.status is DELISTED:
            return self._reject(cmd, Reason.DELISTED, events)
        mkt.status = status
        mkt.reopen_ns = None  # the operator's status stands; a pending reopening lapses
        events.append(InstrumentChanged.of(self.seq, cmd.ts_ns, cmd.symbol, status))
        if status is TRADING:
            self._run_stops(mkt, cmd.ts_ns, events)
        elif status is DELISTED:
            for o in [o for o in self.orders.values() if o.symbol == cmd.symbol]:
                self._cancel_order(o, Reason.DELISTED, cmd.ts_ns, events)

    def _change_instrument(self, cmd, events):
        """Change a symbol's rules (ChangeInstrument); every check before the first change.

        Emits the cancels and hold changes it makes, then InstrumentDefined.
        O(open orders of the venue).
        """
        mkt = self.markets.get(cmd.symbol)
        if mkt is None:
            return self._reject(cmd, Reason.UNKNOWN_SYMBOL, events)
        if mkt.status is DELISTED:
            return self._reject(cmd, Reason.DELISTED, events)
        old = mkt.inst
        changes = {name: getattr(cmd, name) for name in CHANGE_FIELDS
                   if getattr(cmd, name) is not None}
        new = replace(old, status=mkt.status, **changes)
        try:
            new.validate()
        except RuleViolation as e:
            return self._reject(cmd, e.reason, events)
        mine = [o for o in self.orders.values() if o.symbol == cmd.symbol]  # in order id order
        off = []
        if (new.tick_units, new.step_units) != (old.tick_units, old.step_units):
            off = [o for o in mine if _off_grid(new, o.price, o.stop_price, o.open,
                                                o.display_qty) is not None]
            if off and not cmd.cancel_off_grid:
                return self._reject(cmd, Reason.OPEN_ORDERS_OFF_GRID, events)
        # Nothing can fail from here on.
        ts, R_CHANGED = cmd.ts_ns, Reason.INSTRUMENT_CHANGED
        for o in off:
            self._cancel_order(o, R_CHANGED, ts, events)
        mkt.inst = new
        if new.hold_fee_ppm != old.hold_fee_ppm:
            # Every open buy holds its notional plus the larger fee rate: re-hold it. All
            # deltas have one sign, so the order in which they are taken cannot matter
            # except for a buy its account cannot fund, which is canceled.
            for o in mine:
                if o.side is not BUY or o.order_id not in self.orders:
                    continue
                need = new.buy_hold(o.stop_price if o.price is None else o.price, o.open)
                delta = need - o.hold
                if not delta:
                    continue
                if delta > o.hold_balance.free:
                    self._cancel_order(o, R_CHANGED, ts, events)
                    continue
                self.ledger.post(self.seq, o.hold_balance, -delta, delta,
                                 HOLD if delta > 0 else RELEASE, o.order_id, events)
                o.hold = need
        events.append(InstrumentDefined.of(self.seq, ts, new))

    # ---- reports ---------------------------------------------------------

    def _reject(self, cmd, reason, events):
        ev = CommandRejected()
        ev.seq = self.seq
        ev.ts_ns = getattr(cmd, "ts_ns", None)
        ev.account = getattr(cmd, "account", None)
        ev.symbol = getattr(cmd, "symbol", None)
        ev.client_order_id = getattr(cmd, "client_order_id", None)
        ev.order_id = getattr(cmd, "order_id", None)
        ev.reason = reason
        events.append(ev)

    def _report(self, o, exec_type, reason, ts, events):
        ev = OrderUpdated()
        ev.seq = self.seq
        ev.ts_ns = ts
        ev.spec = o.spec
        ev.price = o.price
        ev.qty = o.qty
        ev.working = o.working
        ev.status = o.status
        ev.exec_type = exec_type
        ev.executed_qty = o.executed_qty
        ev.cum_quote = o.cum_quote
        ev.reason = reason
        events.append(ev)

    # ---- invariants ------------------------------------------------------

    def check(self):
        """Assert every invariant of the venue; O(state). For tests.

        No book is crossed; every open order is where it should be (working in
        its book with the same open quantity, waiting in its stop list); each
        balance's locked part equals the holds of its open orders and pending
        withdrawals; every asset is conserved; no balance is negative.
        """
        holds = {}
        for o in self.orders.values():
            assert o.status in OPEN, f"closed order {o.order_id} still open"
            assert o.hold >= 0 and o.hold_balance.account == o.account
            key = (o.account, o.hold_balance.asset)
            holds[key] = holds.get(key, 0) + o.hold
            mkt = self.markets[o.symbol]
            assert o.market is mkt, f"order {o.order_id}'s market"
            if o.working:
                side, price, open_, _ = mkt.book.order(o.order_id)
                assert (side, price, open_) == (o.side, o.price, o.open), f"order {o.order_id}"
                assert o.qty == o.executed_qty + o.open, f"order {o.order_id}'s qty"
                if o.side is BUY:
                    assert o.hold == mkt.inst.buy_hold(o.price, o.open), f"hold {o.order_id}"
                else:
                    assert o.hold == o.open * mkt.bpl, f"hold {o.order_id}"
            else:
                assert o.stop_key in (mkt.rising if o.stop_key[0] > 0 else mkt.falling)
        assert self._due == self._earliest_due(), "due time"
        for account, asset, amount in self.withdrawals.values():
            holds[(account, asset)] = holds.get((account, asset), 0) + amount
        for mkt in self.markets.values():
            assert (mkt.qptl, mkt.bpl) == (mkt.inst.quote_per_tick_lot, mkt.inst.base_per_lot)
            mkt.book.check()
            assert all(oid in self.orders for oid, *_ in mkt.book.orders())
            assert len(mkt.rising) + len(mkt.falling) == sum(
                1 for o in self.orders.values() if o.symbol == mkt.inst.symbol and not o.working)
        self.ledger.check(holds)


def _positive(value):
    return type(value) is int and value > 0


def _off_grid(inst, price, stop_price, qty, display):
    """The filter that a price, stop price, quantity or iceberg quantity (None: not
    given) off ``inst``'s grid fails, or None when all are on it."""
    t, s = inst.tick_units, inst.step_units
    if (price is not None and price % t) or (stop_price is not None and stop_price % t):
        return Reason.FILTER_PRICE
    if qty is not None and qty % s:
        return Reason.FILTER_LOT_SIZE
    if display is not None and display % s:
        return Reason.FILTER_ICEBERG
    return None
