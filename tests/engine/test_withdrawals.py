"""Withdrawals an operator approves: the amount is held until approved or rejected."""

from decimal import Decimal

import pytest

from exchange.engine import (BalanceChanged, CommandRejected, Deposit, Instrument, ListInstrument,
                             PlaceOrder, Reason, RequestWithdrawal, ResolveWithdrawal, Sequencer,
                             WithdrawalUpdated)


@pytest.fixture
def venue():
    seq = Sequencer()
    seq.apply(ListInstrument(1, Instrument("ABC", "ABC", "USD", Decimal("0.01"), Decimal("1"),
                                           base_decimals=0, quote_decimals=2)))
    seq.apply(Deposit(2, 7, "USD", 10_000))
    return seq


def apply(seq, cmd):
    events = seq.apply(cmd)
    seq.check()
    return events


def usd(seq, account=7):
    b = seq.ledger.balance(account, "USD")
    return b.free, b.locked


def test_request_holds_the_amount(venue):
    events = apply(venue, RequestWithdrawal(3, 7, "USD", 4_000, "w1"))
    assert [type(e) for e in events] == [BalanceChanged, WithdrawalUpdated]
    assert events[1] == WithdrawalUpdated.of(venue.seq, 3, "w1", 7, "USD", 4_000, "PENDING",
                                             None)
    assert usd(venue) == (6_000, 4_000)


def test_the_destination_travels_unread_into_the_event(venue):
    events = apply(venue, RequestWithdrawal(3, 7, "USD", 4_000, "w1", destination="IBAN DE00 1"))
    assert events[1] == WithdrawalUpdated.of(venue.seq, 3, "w1", 7, "USD", 4_000, "PENDING",
                                             "IBAN DE00 1")
    events = apply(venue, ResolveWithdrawal(4, "w1", True, note="paid"))
    assert events[-1].status == "APPROVED" and events[-1].destination is None


def test_approval_pays_the_held_amount_out_of_the_venue(venue):
    apply(venue, RequestWithdrawal(3, 7, "USD", 4_000, "w1"))
    events = apply(venue, ResolveWithdrawal(4, "w1", True))
    assert events[-1].status == "APPROVED"
    assert usd(venue) == (6_000, 0)
    assert venue.ledger.external["USD"] == 6_000


def test_rejection_releases_the_held_amount(venue):
    apply(venue, RequestWithdrawal(3, 7, "USD", 4_000, "w1"))
    events = apply(venue, ResolveWithdrawal(4, "w1", False))
    assert events[-1].status == "REJECTED"
    assert usd(venue) == (10_000, 0)
    assert venue.ledger.external["USD"] == 10_000


def test_held_amount_cannot_pay_for_an_order(venue):
    apply(venue, RequestWithdrawal(3, 7, "USD", 9_000, "w1"))
    events = apply(venue, PlaceOrder(4, 7, "ABC", "buy", "LIMIT", qty=20, price=100))
    assert [e.reason for e in events] == [Reason.INSUFFICIENT_BALANCE]


@pytest.mark.parametrize("cmd, reason", [
    (RequestWithdrawal(3, 7, "USD", 10_001, "w9"), Reason.INSUFFICIENT_BALANCE),
    (RequestWithdrawal(3, 7, "EUR", 1, "w9"), Reason.UNKNOWN_ASSET),
    (RequestWithdrawal(3, 7, "USD", 0, "w9"), Reason.INVALID_AMOUNT),
    (RequestWithdrawal(3, 7, "USD", 1, "w1"), Reason.DUPLICATE_WITHDRAWAL),
    (RequestWithdrawal(3, 7, "USD", 1, ""), Reason.DUPLICATE_WITHDRAWAL),
    (ResolveWithdrawal(3, "nope", True), Reason.UNKNOWN_WITHDRAWAL),
])
def test_refused_requests_change_nothing(venue, cmd, reason):
    apply(venue, RequestWithdrawal(2, 7, "USD", 1_000, "w1"))
    before = (usd(venue), dict(venue.withdrawals), dict(venue.ledger.external))
    events = apply(venue, cmd)
    assert len(events) == 1 and type(events[0]) is CommandRejected
    assert events[0].reason == reason
    assert (usd(venue), dict(venue.withdrawals), dict(venue.ledger.external)) == before


def test_a_withdrawal_is_resolved_once(venue):
    apply(venue, RequestWithdrawal(3, 7, "USD", 1_000, "w1"))
    apply(venue, ResolveWithdrawal(4, "w1", True))
    events = apply(venue, ResolveWithdrawal(5, "w1", False))
    assert events[0].reason == Reason.UNKNOWN_WITHDRAWAL
    assert usd(venue) == (9_000, 0)
