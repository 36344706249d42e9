"""Every write goes through the journal: fields an operator's or a user's command must store
travel in the command, admin records commit in the batch's own transaction, and the venue
waits on the journal's ``wait_committed`` (the real batcher) instead of polling."""

import asyncio

import asyncpg
import pytest

from exchange.engine import (Deposit, PlaceOrder, RequestWithdrawal, ResolveWithdrawal,
                             Sequencer, SetKillSwitch)
from exchange.engine.commands import AdminRecord
from exchange.store import Batcher, actions
from exchange.store.actions import record_admin_action, verify_actions
from exchange.store.audit import GENESIS, verify
from exchange.venue import Journal, Venue

from tests.helpers.store_streams import setup_commands


class Operator:
    account_id, role = 42, "operator"


def admin(action="funding.deposit", target="account:1", **details):
    return actions.record(Operator, action, target, details)


async def started(pool, **kwargs):
    batcher = Batcher(pool, chain_head=GENESIS, **kwargs)
    batcher.start()
    return batcher


async def journal_all(seq, batcher, cmds):
    """Apply each command and journal it, as Venue.submit does; wait for all."""
    futures = []
    for cmd in cmds:
        events = seq.apply(cmd)
        futures.append(batcher.append(seq.seq, cmd, events))
    await asyncio.gather(*futures)


# ---- the Journal protocol ------------------------------------------------------------

async def test_the_batcher_is_the_journal_the_venue_waits_on(pool):
    batcher = await started(pool)
    assert isinstance(batcher, Journal)
    venue = Venue(Sequencer(), batcher, durability="async")   # submit does not wait
    try:
        for cmd in setup_commands():
            await venue.submit(cmd)
        seq = venue.sequencer.seq
        await batcher.wait_committed(seq)
        assert batcher.committed_seq == seq and batcher.backlog == 0
        assert await pool.fetchval("SELECT max(seq) FROM journal") == seq
    finally:
        await batcher.stop()


async def test_wait_committed_returns_at_once_for_seqs_nothing_appended_holds(pool):
    # A venue recovered at seq 100 starts a batcher that has committed nothing yet.
    batcher = await started(pool)
    try:
        assert batcher.committed_seq == 0
        await batcher.wait_committed(100)
    finally:
        await batcher.stop()


async def test_wait_committed_waits_until_the_batch_holding_its_seq_commits(pool, fresh_dsn):
    seq, batcher = Sequencer(), await started(pool)
    other = await asyncpg.connect(fresh_dsn)
    try:
        blocker = other.transaction()
        await blocker.start()
        await other.execute("LOCK TABLE journal IN SHARE MODE")   # the batch cannot commit
        for cmd in setup_commands():
            events = seq.apply(cmd)
            batcher.append(seq.seq, cmd, events)
        waiter = asyncio.ensure_future(batcher.wait_committed(seq.seq))
        earlier = asyncio.ensure_future(batcher.wait_committed(1))
        await asyncio.sleep(0.2)
        assert not waiter.done() and not earlier.done()
        await blocker.rollback()
        await asyncio.gather(waiter, earlier)
        assert await other.fetchval("SELECT max(seq) FROM journal") == seq.seq
    finally:
        await other.close()
        await batcher.stop()


async def test_wait_committed_raises_the_write_error(pool):
    failures = []
    seq, batcher = Sequencer(), await started(pool, on_fatal=failures.append)
    await pool.execute("ALTER TABLE journal ADD CONSTRAINT no_writes CHECK (seq < 0) NOT VALID")
    events = seq.apply(setup_commands()[0])
    done = batcher.append(seq.seq, setup_commands()[0], events)
    with pytest.raises(asyncpg.CheckViolationError):
        await batcher.wait_committed(seq.seq)
    with pytest.raises(asyncpg.CheckViolationError):
        await done
    with pytest.raises(asyncpg.CheckViolationError):   # and any later wait
        await batcher.wait_committed(seq.seq + 5)
    assert len(failures) == 1
    await batcher.stop()


# ---- admin records in the batch's transaction ------------------------------------------

async def test_an_admin_record_commits_in_the_transaction_of_its_commands_batch(pool):
    seq, batcher = Sequencer(), await started(pool)
    await journal_all(seq, batcher, setup_commands())
    deposit = Deposit(7, 1, "USD", 500, "wire", admin(asset="USD", amount="500"))
    await journal_all(seq, batcher, [deposit])
    await batcher.stop()
    row = await pool.fetchrow("SELECT * FROM admin_actions")
    assert (row["action_id"], row["actor"], row["role"], row["action"], row["target"]) == (
        1, 42, "operator", "funding.deposit", "account:1")
    assert row["details"] == {"asset": "USD", "amount": "500", "seq": seq.seq}
    # one transaction: the journal row, the ledger entry and the record share their xmin
    xmins = await pool.fetchrow(
        "SELECT (SELECT xmin::text FROM journal WHERE seq = $1) AS journal, "
        "(SELECT xmin::text FROM ledger_entries WHERE seq = $1) AS ledger, "
        "(SELECT xmin::text FROM admin_actions WHERE action_id = 1) AS action", seq.seq)
    assert xmins["journal"] == xmins["ledger"] == xmins["action"]
    # the record is in the journal (and its hash chain) too
    command = await pool.fetchval("SELECT command FROM journal WHERE seq = $1", seq.seq)
    assert command["admin"] == {"actor": 42, "role": "operator", "action": "funding.deposit",
                                "target": "account:1",
                                "details": {"asset": "USD", "amount": "500"}}
    async with pool.acquire() as conn:
        assert (await verify(conn)).ok and (await verify_actions(conn)).ok


async def test_a_batch_that_fails_leaves_neither_the_command_nor_its_record(pool):
    seq, batcher = Sequencer(), await started(pool, on_fatal=lambda e: None)
    await journal_all(seq, batcher, setup_commands())
    journaled = await pool.fetchval("SELECT count(*) FROM journal")
    # The record's insert fails (as a crash between the two writes would): the whole batch
    # rolls back, its command with it.
    await pool.execute("ALTER TABLE admin_actions ADD CONSTRAINT no_records "
                       "CHECK (action_id < 0) NOT VALID")
    deposit = Deposit(7, 1, "USD", 500, "wire", admin(asset="USD", amount="500"))
    events = seq.apply(deposit)
    with pytest.raises(asyncpg.CheckViolationError):
        await batcher.append(seq.seq, deposit, events)
    await batcher.stop()
    assert await pool.fetchval("SELECT count(*) FROM journal") == journaled
    assert await pool.fetchval("SELECT count(*) FROM ledger_entries WHERE ref = 'wire'") == 0
    assert await pool.fetchval("SELECT count(*) FROM admin_actions") == 0


async def test_a_rejected_command_records_nothing(pool):
    seq, batcher = Sequencer(), await started(pool)
    await journal_all(seq, batcher, setup_commands()
                      + [Deposit(7, 1, "NOPE", 500, None, admin(asset="NOPE", amount="500"))])
    await batcher.stop()
    assert await pool.fetchval("SELECT rejected FROM journal WHERE seq = $1",
                               seq.seq) == "UNKNOWN_ASSET"
    assert await pool.fetchval("SELECT count(*) FROM admin_actions") == 0


async def test_records_of_cancelling_commands_name_the_orders_they_canceled(pool):
    seq, batcher = Sequencer(), await started(pool)
    cmds = setup_commands() + [PlaceOrder(3, 1, "AAA", "buy", "LIMIT", qty=1, price=900),
                               PlaceOrder(3, 1, "AAA", "buy", "LIMIT", qty=1, price=901)]
    await journal_all(seq, batcher, cmds)
    ids = sorted(seq.by_account[1])
    await journal_all(seq, batcher, [SetKillSwitch(4, 1, True, admin=admin(
        "risk.kill_switch", "account:1", active=True))])
    await batcher.stop()
    details = await pool.fetchval("SELECT details FROM admin_actions")
    assert details == {"active": True, "seq": seq.seq, "canceled_order_ids": ids}


async def test_batch_records_and_other_writers_share_one_linear_chain(pool):
    seq, batcher = Sequencer(), await started(pool)
    await journal_all(seq, batcher, setup_commands())
    await record_admin_action(pool, Operator, "kyc.status", "account:2", {"status": "VERIFIED"})
    await asyncio.gather(
        journal_all(seq, batcher, [Deposit(8, 1, "USD", 1, None, admin(n=1)),
                                   Deposit(8, 2, "USD", 1, None, admin(n=2))]),
        record_admin_action(pool, None, "role.set", "account:3", {"role": "operator"}))
    await batcher.stop()
    rows = await pool.fetch("SELECT action_id, action FROM admin_actions ORDER BY action_id")
    assert [r["action_id"] for r in rows] == [1, 2, 3, 4]
    assert sorted(r["action"] for r in rows) == ["funding.deposit", "funding.deposit",
                                                  "kyc.status", "role.set"]
    async with pool.acquire() as conn:
        verdict = await verify_actions(conn)
    assert verdict.ok and verdict.rows == 4


def test_a_record_with_details_jsonb_would_change_is_refused_before_the_command():
    for details in ({"x": 1.5}, {"x": 2**64}, {"x": "nul\x00"}, {"x": "\ud800"}, {1: "a"}):
        with pytest.raises(actions.ActionError):
            actions.record(Operator, "funding.deposit", "account:1", details)
    assert actions.record(None, "role.set", 3, {"a": [1, None, True]}) == AdminRecord(
        None, "cli", "role.set", "3", {"a": [1, None, True]})


# ---- withdrawals: destination, note and operator in the batch ------------------------------

async def test_withdrawal_fields_are_written_by_the_batch_that_journals_them(pool):
    seq, batcher = Sequencer(), await started(pool)
    await journal_all(seq, batcher, setup_commands())
    resolve = ResolveWithdrawal(6, "w1", True, "sent", admin("withdrawal.approve", "withdrawal:w1"))
    # requested and resolved in one batch (one row), and across two batches
    await journal_all(seq, batcher, [RequestWithdrawal(5, 1, "USD", 100, "w1", "IBAN 1"),
                                     resolve,
                                     RequestWithdrawal(5, 2, "USD", 100, "w2", "IBAN 2")])
    await journal_all(seq, batcher, [ResolveWithdrawal(7, "w2", False, None, admin(
        "withdrawal.reject", "withdrawal:w2"))])
    await batcher.stop()
    rows = {r["withdrawal_id"]: r for r in await pool.fetch("SELECT * FROM withdrawals")}
    assert [(rows[w]["status"], rows[w]["destination"], rows[w]["resolved_by"], rows[w]["note"])
            for w in ("w1", "w2")] == [("APPROVED", "IBAN 1", 42, "sent"),
                                       ("REJECTED", "IBAN 2", 42, None)]
    commands = [r["command"] for r in await pool.fetch(
        "SELECT command FROM journal WHERE kind = 'RequestWithdrawal' ORDER BY seq")]
    assert [c["destination"] for c in commands] == ["IBAN 1", "IBAN 2"]
    xmins = await pool.fetch(
        "SELECT a.xmin::text AS a, j.xmin::text AS j FROM admin_actions a "
        "JOIN journal j ON j.seq = (a.details->>'seq')::bigint")
    assert len(xmins) == 2 and all(r["a"] == r["j"] for r in xmins)
