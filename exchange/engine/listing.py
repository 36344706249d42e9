"""Listing: instruments listed, their trading status set, their rules changed.

``ChangeInstrument`` (``_change_instrument``) replaces a symbol's rules,
coarsening its price/quantity grid only in whole multiples of the units fixed at
listing (so every stored price keeps its meaning), cancelling or refusing for
open orders off the new grid, and re-holding open buys when the fee rate their
hold covers changes. ``SetInstrumentStatus`` DELISTED cancels every order and
stop of the symbol; the status is final.
"""

from __future__ import annotations

from dataclasses import replace

from .core import BUY, CHANGE_FIELDS, DELISTED, TRADING, Core, off_grid
from .commands import ChangeInstrument, ListInstrument, SetInstrumentStatus
from .enums import STATUS_OF
from .events import Event, InstrumentChanged, InstrumentDefined, Reason
from .instrument import Instrument, RuleViolation
from .market import Market


class Listing(Core):
    """Listing of the Sequencer (a mixin of it): instruments, their status and rules."""

    def _list_instrument(self, cmd: ListInstrument, events: list[Event]) -> None:
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
        self.markets[inst.symbol] = Market(inst)
        events.append(InstrumentChanged.of(self.seq, cmd.ts_ns, inst.symbol, inst.status))

    def _set_status(self, cmd: SetInstrumentStatus, events: list[Event]) -> None:
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

    def _change_instrument(self, cmd: ChangeInstrument, events: list[Event]) -> None:
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
            off = [o for o in mine if off_grid(new, o.price, o.stop_price, o.open,
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
                self.ledger.hold(self.seq, o.hold_balance, delta, o.order_id, events)
                o.hold = need
        events.append(InstrumentDefined.of(self.seq, ts, new))
