"""Funding: deposits, withdrawals, and withdrawals held until approved or rejected."""

from __future__ import annotations

from .commands import Deposit, RequestWithdrawal, ResolveWithdrawal, Withdraw
from .core import Core, positive
from .events import Event, Reason, WithdrawalUpdated


class Funding(Core):
    """Funding of the Sequencer (a mixin of it): deposits and withdrawals."""

    def _deposit(self, cmd: Deposit, events: list[Event]) -> None:
        if cmd.asset not in self.assets:
            return self._reject(cmd, Reason.UNKNOWN_ASSET, events)
        if not positive(cmd.amount):
            return self._reject(cmd, Reason.INVALID_AMOUNT, events)
        self.ledger.deposit(self.seq, cmd.account, cmd.asset, cmd.amount, cmd.ref, events)

    def _withdraw(self, cmd: Withdraw, events: list[Event]) -> None:
        if cmd.asset not in self.assets:
            return self._reject(cmd, Reason.UNKNOWN_ASSET, events)
        if not positive(cmd.amount):
            return self._reject(cmd, Reason.INVALID_AMOUNT, events)
        if self.ledger.amounts(cmd.account, cmd.asset)[0] < cmd.amount:  # a read: creates none
            return self._reject(cmd, Reason.INSUFFICIENT_BALANCE, events)
        self.ledger.withdraw(self.seq, cmd.account, cmd.asset, cmd.amount, cmd.ref, events)

    def _request_withdrawal(self, cmd: RequestWithdrawal, events: list[Event]) -> None:
        if cmd.asset not in self.assets:
            return self._reject(cmd, Reason.UNKNOWN_ASSET, events)
        if not positive(cmd.amount):
            return self._reject(cmd, Reason.INVALID_AMOUNT, events)
        if cmd.withdrawal_id in self.withdrawals or not cmd.withdrawal_id:
            return self._reject(cmd, Reason.DUPLICATE_WITHDRAWAL, events)
        if self.ledger.amounts(cmd.account, cmd.asset)[0] < cmd.amount:  # a read: creates none
            return self._reject(cmd, Reason.INSUFFICIENT_BALANCE, events)
        self.withdrawals[cmd.withdrawal_id] = (cmd.account, cmd.asset, cmd.amount)
        self.ledger.hold(self.seq, self.ledger.balance(cmd.account, cmd.asset), cmd.amount, cmd.withdrawal_id, events)
        events.append(WithdrawalUpdated.of(self.seq, cmd.ts_ns, cmd.withdrawal_id, cmd.account,
                                           cmd.asset, cmd.amount, "PENDING", cmd.destination))

    def _resolve_withdrawal(self, cmd: ResolveWithdrawal, events: list[Event]) -> None:
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
