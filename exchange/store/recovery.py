"""Rebuild the sequencer at start-up: the newest snapshot, the journal after it, the checks.

``recover`` loads the newest usable snapshot (``snapshots``: the state in a
documented, versioned format, loadable by any later code version), or starts
from an empty ``Sequencer`` when there is none, and replays the journal's
commands after it, in seq order. The sequencer is deterministic (time travels
on the command), so this rebuilds exactly the state the venue had: books with
their time priority, stops, expiries, balances, ids, seq. Each replayed command
must get the seq it was journaled with and be rejected again exactly when (and
why) it was rejected the first time.

Then the checks, all of them cheap next to loading the state:

- the engine's invariants (``Sequencer.check()``: books, holds, conservation);
- a digest of the state tables written beside the journal in the same
  transactions, compared with the same digest of the rebuilt state: per asset,
  the count of non-zero balances and the sums of free and locked; per symbol,
  the count of open orders, the sums of their ids, prices, quantities, executed
  quantities and quote amounts, and how many work and how many are partially
  filled; per asset, the count and sum of pending withdrawals; and every
  instrument's status and rules (a handful of rows). PostgreSQL computes the
  tables' side in one query on a second connection, in this transaction's
  snapshot, while the state loads. Only where a digest differs are that
  asset's or symbol's rows fetched and compared, to name them in the error.

Any difference raises RecoveryError, and the server must refuse to serve. A
recovery from a snapshot that fails is done again from the whole journal (and
used if that one passes: the snapshot was the fault).

The full proof that the tables equal the journal — replay every command from
the first and compare every row, and each stored snapshot with the replayed
state at its seq — is ``audit_replay`` (``exchange audit replay``), which
takes time in proportion to the venue's whole history.
"""

import asyncio
import contextlib
import gc
import logging
import re
import time
from dataclasses import replace

from ..engine import state
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
                  report: dict | None = None, timings: dict | None = None) -> Sequencer:
    """Return a Sequencer rebuilt from the newest usable snapshot (``use_snapshot``) and
    the journal after it; raise RecoveryError on any mismatch. ``report``, if given,
    receives ``snapshot`` (its seq, or None) and ``replayed`` (journal commands applied);
    ``timings``, if given, the seconds each phase took (``fetch`` and ``load``: the
    snapshot, ``replay``, ``check``: the invariants, ``digest``: the comparison with
    the tables' digests, counted from when the state was ready)."""
    report = {} if report is None else report
    timings = {} if timings is None else timings
    # Millions of objects are made and none is garbage: a collection would only walk them
    # (each full one all of them); the engine's records hold no cycles (server.tune_gc).
    enabled = gc.isenabled()
    gc.disable()
    try:
        try:
            return await _recover(pool, day_end_s, use_snapshot, report, timings)
        except _SnapshotFailed as e:
            log.error("recovery from the snapshot at seq %d failed (%s); replaying the whole "
                      "journal", e.seq, e.__cause__)
            return await _recover(pool, day_end_s, False, report, timings)
    finally:
        if enabled:
            gc.enable()


class _SnapshotFailed(Exception):
    def __init__(self, seq):
        super().__init__(seq)
        self.seq = seq


async def _recover(pool, day_end_s, use_snapshot, report, timings):
    started = None
    clock = time.perf_counter
    async with pool.acquire() as conn:
        # One view of the journal, the snapshot and the tables it is all checked against.
        async with conn.transaction(isolation="repeatable_read", readonly=True):
            # The tables' digests are aggregates PostgreSQL computes while this process
            # loads the state: on a second connection, in this transaction's view.
            tables = await _TableDigests.start(pool, conn)
            try:
                t = clock()
                found = await snapshots.fetch_latest(conn, day_end_s) if use_snapshot else None
                timings["fetch"] = clock() - t
                t = clock()
                found = None if found is None else snapshots.load(*found)
                if found is None:
                    seq = Sequencer(day_end_s)
                else:
                    started, seq = found
                timings["load"] = clock() - t
                try:
                    t = clock()
                    replayed = await _replay(conn, seq)
                    timings["replay"] = clock() - t
                    t = clock()
                    try:
                        seq.check()
                    except AssertionError as e:
                        raise RecoveryError(
                            f"the recovered state breaks an invariant: {e}") from e
                    timings["check"] = clock() - t
                    t = clock()
                    await check_digests(conn, seq, await tables.result())
                    timings["digest"] = clock() - t
                except RecoveryError as e:
                    if started is None:
                        raise
                    raise _SnapshotFailed(started) from e
            finally:
                await tables.close()
    seq.reset_depth_ids()
    report["snapshot"], report["replayed"] = started, replayed
    return seq


_SNAPSHOT_ID = re.compile(r"[0-9A-F]+-[0-9A-F]+(-[0-9]+)?")


class _TableDigests:
    """The tables' digests (``table_digests``) in a transaction's view: computed by
    PostgreSQL on a second connection while this process loads the state, or, when
    the pool has none to spare, on the transaction's own connection when asked for."""

    def __init__(self, conn, task=None):
        self.conn, self.task = conn, task

    @classmethod
    async def start(cls, pool, conn) -> "_TableDigests":
        """Start them (the query is on its way when this returns)."""
        if pool.get_max_size() < 2:
            return cls(conn)
        view = await conn.fetchval("SELECT pg_export_snapshot()")
        if not _SNAPSHOT_ID.fullmatch(view):
            raise RecoveryError(f"unexpected snapshot id {view!r}")
        sent = asyncio.Event()

        async def run():
            async with pool.acquire() as other:
                async with other.transaction(isolation="repeatable_read", readonly=True):
                    await other.execute(f"SET TRANSACTION SNAPSHOT '{view}'")
                    return await table_digests(other, sent)

        task = asyncio.ensure_future(run())
        waiter = asyncio.ensure_future(sent.wait())
        await asyncio.wait([task, waiter], return_when=asyncio.FIRST_COMPLETED)
        waiter.cancel()
        return cls(conn, task)

    async def result(self) -> dict:
        if self.task is None:
            return await table_digests(self.conn)
        return await self.task

    async def close(self) -> None:
        if self.task is not None and not self.task.done():
            self.task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self.task


async def _replay(conn, seq, until: int | None = None) -> int:
    """Apply the journal's commands after ``seq.seq`` (through ``until``, if given); return
    how many."""
    if until is None:
        until = await conn.fetchval("SELECT max(seq) FROM journal")
    if until is None or until <= seq.seq:
        return 0
    # Bounded on both sides: a planner without statistics yet (a journal just written)
    # would read a one-sided range as a third of the table, and sort all of it.
    cursor = await conn.cursor("SELECT seq, command, rejected FROM journal WHERE seq > $1 "
                               "AND seq <= $2 ORDER BY seq", seq.seq, until)
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


# ---- the cheap check: digests of the tables -------------------------------------------

BALANCE_DIGEST = """
SELECT asset, count(*), sum(free), sum(locked) FROM balances
WHERE free <> 0 OR locked <> 0 GROUP BY asset
"""
ORDER_DIGEST = """
SELECT symbol, count(*), sum(order_id), sum(coalesce(price, 0)), sum(coalesce(qty, 0)),
       sum(executed_qty), sum(cum_quote), count(*) FILTER (WHERE working),
       count(*) FILTER (WHERE status = 'PARTIALLY_FILLED')
FROM orders WHERE status IN ('NEW', 'PARTIALLY_FILLED') GROUP BY symbol
"""
WITHDRAWAL_DIGEST = """
SELECT asset, count(*), sum(amount) FROM withdrawals WHERE status = 'PENDING' GROUP BY asset
"""


TABLE_DIGESTS = f"""
SELECT 'balances', asset, count, free, locked, 0, 0, 0, 0, 0
FROM ({BALANCE_DIGEST}) AS b (asset, count, free, locked)
UNION ALL
SELECT 'orders', symbol, count, ids, prices, qtys, executed, cum_quote, working, partial
FROM ({ORDER_DIGEST}) AS o (symbol, count, ids, prices, qtys, executed, cum_quote, working,
                           partial)
UNION ALL
SELECT 'withdrawals', asset, count, amount, 0, 0, 0, 0, 0, 0
FROM ({WITHDRAWAL_DIGEST}) AS w (asset, count, amount)
"""
_DIGEST_WIDTH = {"balances": 3, "orders": 8, "withdrawals": 2}


async def table_digests(conn, sent: asyncio.Event | None = None) -> dict:
    """The tables' digests as ``{"balances": {asset: (...)}, "orders": {symbol: (...)},
    "withdrawals": {asset: (...)}}``, in one query (``sent`` is set as it goes out)."""
    stmt = await conn.prepare(TABLE_DIGESTS)
    if sent is not None:
        sent.set()   # the waiter runs after this task next waits: with the query sent
    out = {kind: {} for kind in _DIGEST_WIDTH}
    for kind, key, *values in await stmt.fetch():
        out[kind][key] = tuple(int(v) for v in values[:_DIGEST_WIDTH[kind]])
    return out


async def check_digests(conn, seq, stored: dict) -> None:
    """Compare the tables' digests ``stored`` (``table_digests``) with ``seq``'s; on a
    difference, compare the rows of what differs and raise RecoveryError naming them.
    O(open orders + balances)."""
    memory = state.digest(seq)
    bad = _differing(memory["balances"], stored["balances"])
    if bad:
        rows = await conn.fetch("SELECT account_id, asset, free, locked FROM balances "
                                "WHERE asset = ANY($1::text[])", bad)
        _check_balances(seq, rows, assets=set(bad))
        raise RecoveryError(f"the balances' digest of {', '.join(bad)} differs, the rows not")
    bad = _differing(memory["orders"], stored["orders"])
    if bad:
        rows = await conn.fetch(_OPEN_ORDERS + " AND symbol = ANY($1::text[])", bad)
        _check_orders(seq, rows, symbols=set(bad))
        raise RecoveryError(f"the open orders' digest of {', '.join(bad)} differs, the rows "
                            "not")
    bad = _differing(memory["withdrawals"], stored["withdrawals"])
    if bad:
        rows = await conn.fetch(_PENDING_WITHDRAWALS)
        _check_withdrawals(seq, rows)
        raise RecoveryError(f"the pending withdrawals' digest of {bad} differs, the rows not")
    _check_instruments(seq, await conn.fetch(_INSTRUMENTS))


def _differing(memory: dict, stored: dict) -> list:
    return sorted(k for k in memory.keys() | stored.keys() if memory.get(k) != stored.get(k))


# ---- the rows: named in an error, or all compared (audit_replay) ----------------------

_OPEN_ORDERS = ("SELECT order_id, account_id, symbol, side, type, price, qty, working, status, "
                "executed_qty, cum_quote FROM orders WHERE status IN ('NEW', 'PARTIALLY_FILLED')")
_PENDING_WITHDRAWALS = ("SELECT withdrawal_id, account_id, asset, amount FROM withdrawals "
                        "WHERE status = 'PENDING'")
_INSTRUMENTS = "SELECT symbol, status, definition FROM instruments"


def _mismatches(what, memory, stored):
    bad = [(k, memory.get(k), stored.get(k)) for k in sorted(memory.keys() | stored.keys())
           if memory.get(k) != stored.get(k)]
    if bad:
        shown = "; ".join(f"{k}: replayed {m}, table {s}" for k, m, s in bad[:_SHOW])
        more = f" (and {len(bad) - _SHOW} more)" if len(bad) > _SHOW else ""
        raise RecoveryError(f"{len(bad)} {what} differ from the replayed journal: {shown}{more}")


def _check_balances(seq, rows, assets=None):
    memory = {(account, asset): (free, locked)
              for account, asset, free, locked in seq.ledger.nonzero()
              if assets is None or asset in assets}
    stored = {(r[0], r[1]): (int(r[2]), int(r[3])) for r in rows if r[2] or r[3]}
    _mismatches("balances", memory, stored)


def _check_orders(seq, rows, symbols=None):
    memory = {}
    for o in seq.orders.values():
        assert o.status in OPEN
        if symbols is None or o.symbol in symbols:
            memory[o.order_id] = (o.account, o.symbol, str(o.side), str(o.type), o.price,
                                  o.qty, o.working, str(o.status), o.executed_qty, o.cum_quote)
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


# ---- the audit: the whole journal, every row ------------------------------------------

# What a snapshot holds that depends on when depth was last read out (batch cuts), not
# on the commands: left out when a snapshot is compared with the replayed state.
_DEPTH_ONLY = ("touched", "update_id")


async def audit_replay(pool, day_end_s: int = 0) -> dict:
    """Replay the whole journal into a fresh Sequencer and compare every row of the state
    tables with it, and each stored snapshot with the replayed state at its seq; raise
    RecoveryError at the first difference. Return what was compared: ``replayed``,
    ``balances``, ``open_orders``, ``instruments``, ``pending_withdrawals`` (row
    counts) and ``snapshots`` (the seqs compared). O(journal)."""
    seq = Sequencer(day_end_s)
    replayed = 0
    compared = []
    async with pool.acquire() as conn:
        async with conn.transaction(isolation="repeatable_read", readonly=True):
            stored = await conn.fetch("SELECT seq FROM snapshots WHERE day_end_utc_s = $1 "
                                      "ORDER BY seq", day_end_s)
            for (at,) in stored:
                replayed += await _replay(conn, seq, until=at)
                if seq.seq != at:
                    raise RecoveryError(f"the snapshot at seq {at} is past the journal's end")
                await _compare_snapshot(conn, seq, at)
                compared.append(at)
            replayed += await _replay(conn, seq)
            try:
                seq.check()
            except AssertionError as e:
                raise RecoveryError(f"the replayed state breaks an invariant: {e}") from e
            balances = await conn.fetch("SELECT account_id, asset, free, locked FROM balances")
            orders = await conn.fetch(_OPEN_ORDERS)
            instruments = await conn.fetch(_INSTRUMENTS)
            withdrawals = await conn.fetch(_PENDING_WITHDRAWALS)
    _check_balances(seq, balances)
    _check_orders(seq, orders)
    _check_instruments(seq, instruments)
    _check_withdrawals(seq, withdrawals)
    return {"replayed": replayed, "balances": len(balances), "open_orders": len(orders),
            "instruments": len(instruments), "pending_withdrawals": len(withdrawals),
            "snapshots": compared}


def _comparable(data):
    """Leave out of a state's data what depends on reads and batch cuts rather than on
    the commands: the depth bookkeeping, and the zero balances that reads create (a
    ledger makes a balance the first time one is asked for) and their order."""
    for market in data.get("markets", ()):
        for key in _DEPTH_ONLY:
            market.pop(key, None)
    b = data.get("balances")
    if isinstance(b, dict):
        data["balances"] = sorted(
            (a, asset, free, locked) for a, asset, free, locked
            in zip(b["account"], b["asset"], b["free"], b["locked"]) if free or locked)
    if isinstance(data.get("external"), list):
        data["external"] = sorted(map(tuple, data["external"]))


async def _compare_snapshot(conn, seq, at):
    row = await conn.fetchrow("SELECT parts, format FROM snapshots WHERE seq = $1", at)
    parts = await conn.fetch("SELECT data FROM snapshot_parts WHERE seq = $1 ORDER BY part", at)
    if len(parts) != row["parts"]:
        raise RecoveryError(f"the snapshot at seq {at} has {len(parts)} of its "
                            f"{row['parts']} parts")
    try:
        saved = state.upgrade(snapshots.decode(b"".join(p["data"] for p in parts)))
    except ValueError as e:
        raise RecoveryError(f"the snapshot at seq {at} does not decode: {e}") from e
    replayed = state.dump(seq)
    for data in (saved, replayed):
        _comparable(data)
    if saved != replayed:
        keys = sorted(k for k in saved.keys() | replayed.keys()
                      if saved.get(k) != replayed.get(k))
        raise RecoveryError(f"the snapshot at seq {at} differs from the replayed journal in "
                            f"{', '.join(keys)}")


async def audit_replay_configured(settings) -> tuple[bool, str]:
    """``exchange audit replay`` on the configured database: ``(ok, message)``."""
    import asyncpg

    from .db import open_configured
    try:
        db = await open_configured(settings, min_size=1, max_size=1)
    except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as e:
        return False, f"cannot connect to the database: {e}"
    try:
        found = await audit_replay(db.pool, settings.day_end_utc_s)
    except RecoveryError as e:
        return False, f"replay: {e}"
    finally:
        await db.close()
    shots = found["snapshots"]
    return True, (
        f"replay: {found['replayed']:,} journal commands replayed from the first; the tables "
        f"equal the replayed state ({found['balances']:,} balances, {found['open_orders']:,} "
        f"open orders, {found['instruments']:,} instruments, "
        f"{found['pending_withdrawals']:,} pending withdrawals)"
        + (f"; so do the snapshots at seq {', '.join(map(str, shots))}" if shots else
           "; no snapshot to compare"))
