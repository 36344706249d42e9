"""The ledger: free and locked balances per account and asset, in minor units.

Every change is a posting that also appends a ``BalanceChanged`` event with
the deltas, the resulting balance, a reason and a reference (order or trade
id, or the caller's reference for funding). Postings of one command sum to
zero per asset, except deposits and withdrawals, which are counted in
``external`` so that conservation is checkable: for each asset, the sum over
accounts of free + locked equals ``external[asset]`` (deposits - withdrawals).

The ledger never checks whether a posting is allowed: the sequencer validates
a whole command first, then posts. ``Balance`` objects are stable, so callers
may keep one (an order keeps the balance its hold sits in).
"""

from collections.abc import Iterator
from enum import StrEnum
from typing import Any

from .events import BalanceChanged, Event

FEE_ACCOUNT = 0  # collects maker and taker fees


class Entry(StrEnum):
    DEPOSIT = "DEPOSIT"
    WITHDRAWAL = "WITHDRAWAL"
    HOLD = "HOLD"          # free -> locked for an order
    RELEASE = "RELEASE"    # locked -> free (cancel, expiry, fill below the limit)
    TRADE = "TRADE"        # settlement of a fill
    FEE = "FEE"            # fee income of the fee account


_HOLD, _RELEASE, _TRADE, _FEE = Entry.HOLD, Entry.RELEASE, Entry.TRADE, Entry.FEE


class Balance:
    __slots__ = ("account", "asset", "free", "locked")

    def __init__(self, account: int, asset: str) -> None:
        self.account = account
        self.asset = asset
        self.free = 0
        self.locked = 0


class Ledger:
    """Balances of every account. All amounts are non-negative integers."""

    def __init__(self) -> None:
        self._balances: dict[tuple[int, str], Balance] = {}   # (account, asset) -> Balance
        self.external: dict[str, int] = {}    # asset -> deposits - withdrawals

    def balance(self, account: int, asset: str) -> Balance:
        """Return the (possibly new, zero) balance of ``account`` in ``asset``; O(1).

        This is the one narrow door to free balances (DESIGN.md §7), for the engine's
        postings; a read from outside uses ``amounts``, which creates nothing.
        """
        b = self._balances.get((account, asset))
        if b is None:
            b = self._balances[(account, asset)] = Balance(account, asset)
        return b

    def balances(self) -> Iterator[Balance]:
        """Iterate over every balance ever touched (the engine's own objects: read only)."""
        return iter(self._balances.values())

    def amounts(self, account: int, asset: str) -> tuple[int, int]:
        """Return ``(free, locked)`` of ``account`` in ``asset``, zeros if it never held any;
        O(1). A read: it creates no balance (``balance`` does)."""
        b = self._balances.get((account, asset))
        return (0, 0) if b is None else (b.free, b.locked)

    def nonzero(self) -> Iterator[tuple[int, str, int, int]]:
        """Yield ``(account, asset, free, locked)`` of every balance that is not zero."""
        for b in self._balances.values():
            if b.free or b.locked:
                yield b.account, b.asset, b.free, b.locked

    def restore(self, account: int, asset: str, free: int, locked: int) -> None:
        """Set a balance while rebuilding state from storage (no event)."""
        b = self.balance(account, asset)
        b.free, b.locked = free, locked
        self.external[asset] = self.external.get(asset, 0) + free + locked

    # ---- postings ----------------------------------------------------------

    def post(self, seq: int, b: Balance, free_delta: int, locked_delta: int, reason: Entry,
             ref: Any, events: list[Event]) -> None:
        """Apply deltas to balance ``b`` and append the event."""
        ev = BalanceChanged()
        ev.seq = seq
        ev.account = b.account
        ev.asset = b.asset
        ev.free_delta = free_delta
        ev.locked_delta = locked_delta
        ev.free = b.free = b.free + free_delta  # each sum computed once, stored twice
        ev.locked = b.locked = b.locked + locked_delta
        ev.reason = reason
        ev.ref = ref
        events.append(ev)

    def deposit(self, seq: int, account: int, asset: str, amount: int, ref: Any,
                events: list[Event]) -> None:
        self.external[asset] = self.external.get(asset, 0) + amount
        self.post(seq, self.balance(account, asset), amount, 0, Entry.DEPOSIT, ref, events)

    def withdraw(self, seq: int, account: int, asset: str, amount: int, ref: Any,
                 events: list[Event], from_locked: bool = False) -> None:
        """Pay ``amount`` out of the venue, from free (or from locked: an approved hold)."""
        self.external[asset] -= amount
        b = self.balance(account, asset)
        if from_locked:
            self.post(seq, b, 0, -amount, Entry.WITHDRAWAL, ref, events)
        else:
            self.post(seq, b, -amount, 0, Entry.WITHDRAWAL, ref, events)

    def hold(self, seq: int, b: Balance, amount: int, ref: Any, events: list[Event]) -> None:
        """Move ``amount`` from free to locked (``amount`` may be negative: a release)."""
        if amount:
            self.post(seq, b, -amount, amount, _HOLD if amount > 0 else _RELEASE, ref, events)

    def release(self, seq: int, b: Balance, amount: int, ref: Any, events: list[Event]) -> None:
        """Move ``amount`` from locked back to free."""
        if amount:
            self.post(seq, b, amount, -amount, _RELEASE, ref, events)

    def settle(self, seq: int, trade_id: int, events: list[Event], buyer_quote: Balance,
               buyer_base: Balance, seller_base: Balance, seller_quote: Balance, fees: Balance,
               notional: int, base_qty: int, buyer_fee: int, seller_fee: int,
               buyer_release: int) -> None:
        """Settle one fill (quote amounts in quote minor units, base in base minor units).

        The buyer pays notional + fee out of its locked quote and gets
        ``buyer_release`` of that lock back (it bid above the fill price); the
        seller delivers ``base_qty`` out of its locked base and receives the
        notional less its fee; the fee account receives both fees.
        """
        post = self.post
        post(seq, buyer_quote, buyer_release, -(notional + buyer_fee + buyer_release), _TRADE,
             trade_id, events)
        post(seq, seller_base, 0, -base_qty, _TRADE, trade_id, events)
        post(seq, buyer_base, base_qty, 0, _TRADE, trade_id, events)
        post(seq, seller_quote, notional - seller_fee, 0, _TRADE, trade_id, events)
        if buyer_fee or seller_fee:
            post(seq, fees, buyer_fee + seller_fee, 0, _FEE, trade_id, events)

    # ---- invariants --------------------------------------------------------

    def check(self, holds: dict[tuple[int, str], int] | None = None) -> None:
        """Assert no negative balance and conservation per asset; with ``holds``
        ({(account, asset): amount}), assert locked equals them exactly."""
        totals: dict[str, int] = {}
        for (account, asset), b in self._balances.items():
            assert b.free >= 0 and b.locked >= 0, f"negative balance {account} {asset}"
            totals[asset] = totals.get(asset, 0) + b.free + b.locked
            if holds is not None:
                assert b.locked == holds.get((account, asset), 0), (
                    f"locked {b.locked} != holds {holds.get((account, asset), 0)} "
                    f"for {account} {asset}")
        for asset in set(totals) | set(self.external):
            assert totals.get(asset, 0) == self.external.get(asset, 0), f"{asset} not conserved"
