"""What the sequencer's steps share: its state, its vocabulary and three small helpers.

The ``Sequencer`` is one class made of one mixin per step of the pipeline
(exchange-core's split): ``OrderEntry`` (entry.py), ``RiskControls``
(risk.py), ``Settlement`` (settlement.py), ``Funding`` (funding.py) and
``Listing`` (listing.py), each a subclass of ``Core``. ``Core`` declares the
state they share, which ``Sequencer.__init__`` creates, and what each step
calls of another; it implements the reports every step makes
(``_reject``, ``_report``), the noting of touched depth levels (``_touch``)
and the scheduling of due times (``_schedule``).
"""

from __future__ import annotations

from heapq import heappush
from typing import TYPE_CHECKING, Any, TypeGuard

from .enums import ExecType, InstrumentStatus, OrderType, Side, TimeInForce
from .events import CommandRejected, OrderUpdated, Reason
from .ledger import Entry, Ledger

if TYPE_CHECKING:
    from .instrument import Instrument
    from .market import Market
    from .orders import Order
    from .limits import Limits

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
CLIENT_ID_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.")
# Enum attribute access is slow (a descriptor call); hot paths use these globals.
R_STP, R_USER = Reason.STP, Reason.USER
R_FUNDS = Reason.FUNDS
R_MARKET, R_IOC, R_HALT = Reason.MARKET, Reason.IOC, Reason.VOLATILITY_HALT
HOLD, RELEASE = Entry.HOLD, Entry.RELEASE
X_NEW, X_TRADE, X_CANCELED, X_EXPIRED, X_AMENDED, X_TRIGGERED = (
    ExecType.NEW, ExecType.TRADE, ExecType.CANCELED, ExecType.EXPIRED, ExecType.AMENDED,
    ExecType.TRIGGERED)


def positive(value: object) -> TypeGuard[int]:
    """Whether ``value`` is a positive int."""
    return type(value) is int and value > 0


def off_grid(inst: "Instrument", price: int | None, stop_price: int | None, qty: int | None,
             display: int | None) -> Reason | None:
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


class Core:
    """The state and helpers the sequencer's steps share (``Sequencer.__init__`` sets it)."""

    seq: int
    next_order_id: int
    next_trade_id: int
    ledger: Ledger
    markets: "dict[str, Market]"
    assets: dict[str, int]
    orders: "dict[int, Order]"
    by_client: "dict[tuple[int, str], Order]"
    by_account: "dict[int, dict[int, Order]]"
    withdrawals: dict[str, tuple[int, str, int]]
    risk_defaults: "Limits"
    halt_ns: int
    risk_limits: dict[int, tuple[int | None, ...]]
    killed: set[int]
    killed_keys: set[tuple[int, str]]
    daily: dict[int, list[int]]
    _post: Any                 # Ledger.post, bound once: a posting is on every hot path
    _expiries: list[tuple[int, int]]
    _reopens: list[tuple[int, str]]
    _due: int | None
    _day_end_ns: int
    _limits: "dict[int, Limits]"
    _risk_on: bool

    if TYPE_CHECKING:  # what one step calls of another (each defined in its own module)
        def _cancel_order(self, o: "Order", reason: Reason, ts: int, events: list[Any]) -> None: ...
        def _work(self, mkt: "Market", o: "Order", ts: int, events: list[Any]) -> None: ...
        def _apply_book(self, mkt: "Market", taker: "Order", book_events: list[Any], ts: int,
                        events: list[Any]) -> None: ...
        def _close(self, o: "Order", status: Any, exec_type: ExecType, reason: Reason | None, ts: int,
                   events: list[Any]) -> None: ...
        def _run_stops(self, mkt: "Market", ts: int, events: list[Any]) -> None: ...
        def _protection(self, mkt: "Market", side: Side) -> int | None: ...
        def _limit_in_band(self, mkt: "Market", o: "Order",
                           protect: int) -> tuple[list[Any], bool]: ...
        def _halt(self, mkt: "Market", ts: int, events: list[Any]) -> None: ...
        def _check_limits(self, limits: "Limits", cmd: Any, mkt: "Market", side: Side,
                          type_: OrderType, qty: Any, budget: Any, stp: Any) -> Reason | None: ...
        def _check_amend_limits(self, limits: "Limits", o: "Order", mkt: "Market", qty: int,
                                price: int, ts: int) -> Reason | None: ...
        def _place(self, cmd: Any, events: list[Any]) -> Any: ...

    def _schedule(self, heap: list[Any], when: int, key: Any) -> None:
        """Put ``(when, key)`` on ``heap`` (_expiries or _reopens) and keep ``_due``."""
        heappush(heap, (when, key))
        if self._due is None or when < self._due:
            self._due = when

    def _touch(self, mkt: "Market", o: "Order") -> None:
        """Note that the level ``o`` rests (or rested last) on changed (see depth_changes)."""
        (mkt.touched_bids if o.side is BUY else mkt.touched_asks).add(o.level)

    def _reject(self, cmd: Any, reason: Reason, events: list[Any]) -> None:
        ev = CommandRejected()
        ev.seq = self.seq
        ev.ts_ns = getattr(cmd, "ts_ns", None)
        ev.account = getattr(cmd, "account", None)
        ev.symbol = getattr(cmd, "symbol", None)
        ev.client_order_id = getattr(cmd, "client_order_id", None)
        ev.order_id = getattr(cmd, "order_id", None)
        ev.reason = reason
        events.append(ev)

    def _report(self, o: "Order", exec_type: ExecType, reason: Reason | None, ts: int,
                events: list[Any]) -> None:
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
