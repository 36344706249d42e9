"""Rebuild the sequencer at start-up from the committed journal, then cross-check it.

DESIGN.md §5 describes loading balances and open orders directly. This
module instead replays the journal, in seq order, through a ``Sequencer``:
the newest usable snapshot (``snapshots``) or a fresh one, then every command
after it. The sequencer is deterministic (time travels on the command),
so replaying the same commands rebuilds exactly the same state — balances,
books with their original time priority, stop lists, expiry heap, last
prices, next order and trade ids, seq — by construction, with no second
loader to keep in step with the engine. The tables written beside the
journal in the same transactions then serve as an independent check: the
rebuilt ledger must equal ``balances``, the rebuilt open orders must equal
the open rows of ``orders``, instrument statuses and pending withdrawals
must match, and every
replayed command must get the seq it was journaled with and be rejected
again exactly when (and why) it was rejected the first time. Any difference
raises RecoveryError, and the server must refuse to serve.

Replay time grows with the journal's tail after the snapshot. A recovery
from a snapshot that fails the checks is done again from the whole journal
(and used if that one passes: the snapshot was the fault).
"""

import logging

from dataclasses import replace

from ..engine.events import CommandRejected
from ..engine.orders import OPEN
from ..engine.sequencer import Sequencer
from . import codec, snapshots

FETCH = 20_000  # journal rows per round trip
_SHOW = 5       # mismatches listed in an error


log = logging.getLogger(__name__)


class RecoveryError(RuntimeError):
    """The durable state is inconsistent: the venue must not serve from it."""


async def recover(pool, day_end_s: int = 0, *, use_snapshot: bool = True,
                  report: dict | None = None) -> Sequencer:
    """Return a Sequencer rebuilt from the newest usable snapshot (``use_snapshot``) and
    the journal after it; raise RecoveryError on any mismatch. ``report``, if given,
    receives ``snapshot`` (its seq, or None) and ``replayed`` (journal commands applied)."""
    report = {} if report is None else report
    try:
        return await _recover(pool, day_end_s, use_snapshot, report)
    except _SnapshotFailed as e:
        log.error("recovery from the snapshot at seq %d failed (%s); replaying the whole "
                  "journal", e.seq, e.__cause__)
        return await _recover(pool, day_end_s, False, report)


class _SnapshotFailed(Exception):
    def __init__(self, seq):
        super().__init__(seq)
        self.seq = seq


async def _recover(pool, day_end_s, use_snapshot, report):
    started = None
    async with pool.acquire() as conn:
        # One view of the journal, the snapshot and the tables it is all checked against.
        async with conn.transaction(isolation="repeatable_read", readonly=True):
            found = await snapshots.latest(conn, day_end_s) if use_snapshot else None
            if found is None:
                seq = Sequencer(day_end_s)
            else:
                started, seq = found
            try:
                replayed = await _replay(conn, seq)
            except RecoveryError as e:
                if started is None:
                    raise
                raise _SnapshotFailed(started) from e
            balances = await conn.fetch("SELECT account_id, asset, free, locked FROM balances")
            orders = await conn.fetch(
                "SELECT order_id, account_id, symbol, side, type, price, qty, working, status, "
                "executed_qty, cum_quote FROM orders WHERE status IN ('NEW', 'PARTIALLY_FILLED')")
            instruments = await conn.fetch("SELECT symbol, status, definition FROM instruments")
            withdrawals = await conn.fetch(
                "SELECT withdrawal_id, account_id, asset, amount FROM withdrawals "
                "WHERE status = 'PENDING'")
    try:
        _check_balances(seq, balances)
        _check_orders(seq, orders)
        _check_instruments(seq, instruments)
        _check_withdrawals(seq, withdrawals)
        try:
            seq.check()
        except AssertionError as e:
            raise RecoveryError(f"rebuilt state breaks an invariant: {e}") from e
    except RecoveryError as e:
        if started is None:
            raise
        raise _SnapshotFailed(started) from e
    seq.reset_depth_ids()
    report["snapshot"], report["replayed"] = started, replayed
    return seq


async def _replay(conn, seq) -> int:
    """Apply the journal's commands after ``seq.seq``; return how many."""
    cursor = await conn.cursor("SELECT seq, command, rejected FROM journal WHERE seq > $1 "
                               "ORDER BY seq", seq.seq)
    apply, decode = seq.apply, codec.decode
    replayed = 0
    while True:
        rows = await cursor.fetch(FETCH)
        replayed += len(rows)
        for stored_seq, command, rejected in rows:
            try:
                cmd = decode(command)
            except ValueError as e:
                raise RecoveryError(f"journal seq {stored_seq}: undecodable command: {e}") from e
            events = apply(cmd)
            if seq.seq != stored_seq:
                raise RecoveryError(f"journal seq {stored_seq} replayed as seq {seq.seq}: "
                                    "the journal has a gap or a duplicate")
            reason = None
            for ev in events:
                if type(ev) is CommandRejected:
                    reason = ev.reason
                    break
            if reason != rejected:
                raise RecoveryError(
                    f"journal seq {stored_seq} ({type(cmd).__name__}) was "
                    f"{'rejected ' + rejected if rejected else 'accepted'} but replays as "
                    f"{'rejected ' + reason if reason else 'accepted'}")
        # Nothing reads depth during a replay: forget the levels it touched, which the
        # sequencer keeps (level objects, some long gone from the book) until asked.
        seq.reset_depth_ids()
        if len(rows) < FETCH:
            return replayed


def _mismatches(what, memory, stored):
    bad = [(k, memory.get(k), stored.get(k)) for k in sorted(memory.keys() | stored.keys())
           if memory.get(k) != stored.get(k)]
    if bad:
        shown = "; ".join(f"{k}: replayed {m}, table {s}" for k, m, s in bad[:_SHOW])
        more = f" (and {len(bad) - _SHOW} more)" if len(bad) > _SHOW else ""
        raise RecoveryError(f"{len(bad)} {what} differ from the replayed journal: {shown}{more}")


def _check_balances(seq, rows):
    memory = {(account, asset): (free, locked)
              for account, asset, free, locked in seq.ledger.nonzero()}
    stored = {(r[0], r[1]): (int(r[2]), int(r[3])) for r in rows if r[2] or r[3]}
    _mismatches("balances", memory, stored)


def _check_orders(seq, rows):
    memory = {}
    for o in seq.orders.values():
        assert o.status in OPEN
        memory[o.order_id] = (o.account, o.symbol, str(o.side), str(o.type), o.price, o.qty,
                              o.working, str(o.status), o.executed_qty, o.cum_quote)
    stored = {r[0]: (r[1], r[2], r[3], r[4], r[5], r[6], r[7], r[8], r[9], int(r[10]))
              for r in rows}
    _mismatches("open orders", memory, stored)


def _check_instruments(seq, rows):
    memory = {symbol: str(mkt.status) for symbol, mkt in seq.market_views.items()}
    stored = {r[0]: r[1] for r in rows}
    _mismatches("instruments", memory, stored)
    # The rules too (listed or last changed); the status is the column's, compared above.
    memory, stored = {}, {}
    for symbol, status, definition in rows:
        try:
            inst = codec.decode_instrument(definition)
        except ValueError as e:
            raise RecoveryError(f"instrument {symbol}: undecodable definition: {e}") from e
        # compared encoded: canonical (a set's repr depends on its insertion history)
        stored[symbol] = codec.encode_instrument(replace(inst, status=status))
        memory[symbol] = codec.encode_instrument(replace(seq.market_views[symbol].inst,
                                                         status=status))
    _mismatches("instrument definitions", memory, stored)


def _check_withdrawals(seq, rows):
    memory = dict(seq.withdrawals)   # id -> (account, asset, amount), pending ones
    stored = {r[0]: (r[1], r[2], int(r[3])) for r in rows}
    _mismatches("pending withdrawals", memory, stored)
