"""The write-behind batcher: the venue's journal, one transaction per batch.

``append`` is synchronous and cheap: it queues the applied command with its
events and returns a future. A background task takes everything queued (up
to ``max_batch`` commands) and writes it in ONE transaction while the next
batch fills behind it:

- inserts into ``journal`` (seq, ts_ns, kind, the command via ``codec``, the
  reason of its first CommandRejected event, if any, and the row's link in the
  audit hash chain, ``exchange.store.audit``), ``trades`` (Traded
  events) and ``ledger_entries`` (BalanceChanged; ``idx`` is the event's
  position among the command's events);
- upserts of the last state in the batch of each order (OrderUpdated) and
  each balance (BalanceChanged), and of instruments (InstrumentChanged, with
  the definition from ListInstrument; InstrumentDefined, a changed definition);
- ``withdrawals`` (WithdrawalUpdated): a row per request, with the
  destination its event carries, updated when an operator resolves it, with
  the note and the operator (``resolved_by``) the ResolveWithdrawal command
  carries (a request and its resolution in one batch are one row);
- ``risk_alerts``: a row per CommandRejected with a risk reason
  (``RISK_REASONS``) and per order expired by a volatility halt.

The tables are written by ONE statement (data-modifying CTEs over one JSON
document of the batch's rows), which PostgreSQL runs as its own transaction:
one round trip per batch, on a connection the writer keeps. Round trips are
what a batch's latency is made of while the event loop is busy serving
requests (each await waits its turn behind them), so this is several times
faster under load than BEGIN, COPY per table, upserts and COMMIT. A batch
that lists or changes instruments, or holds admin records, adds their
statements in an explicit transaction around it.

Admin records (``exchange.store.actions``): an operator's command carries an
``AdminRecord`` (``admin``), opaque to the engine. For each command of the
batch that was not rejected, the batcher appends its record to the admin
actions' chain (``actions.append``, under its table lock) in the batch's own
transaction, with ``seq`` (and ``canceled_order_ids`` for commands that
cancel orders) added to its details: the command and its record commit
together or not at all.

Only after COMMIT are the batch's futures resolved and the ``on_commit``
listeners called with ``[(seq, events), ...]`` in seq order. If a write
fails, the venue's memory is ahead of the database and nothing can put that
right in this process: every pending future fails with the error, later
appends get failed futures, and ``on_fatal(error)`` is called (the server
exits; recovery on restart rebuilds from what did commit).

The hash chain is computed here, in Python, as each batch is built: the
writer starts from the hash of the last committed row (read when it starts,
unless given) and keeps the last hash of each committed batch. The batcher is
the journal's one writer, which is what keeps the chain linear.

It implements ``exchange.venue.Journal``: ``append``, ``backlog``,
``committed_seq`` and ``wait_committed(seq)``, which returns once every
command appended up to ``seq`` has committed (at once for a seq older than
anything appended, such as one recovered at start-up) and raises the write
error if the batcher failed. Nobody polls.
"""

import asyncio
import heapq
import itertools
import logging
import time
from decimal import Decimal

import orjson

from ..engine.events import (RISK_REASONS, BalanceChanged, CommandRejected, InstrumentChanged,
                             InstrumentDefined, OrderUpdated, Reason, Traded, WithdrawalUpdated)
from ..engine.commands import (ChangeInstrument, Deposit, ListInstrument, ResolveWithdrawal,
                               SetInstrumentStatus, SetKillSwitch, SetRiskLimits)
from . import actions, audit, chain, codec

log = logging.getLogger(__name__)
R_HALT = Reason.VOLATILITY_HALT
# Commands that may carry an AdminRecord (``admin``), and those of them that cancel orders
# (their record's details get the canceled order ids).
ADMIN_CARRIERS = frozenset({Deposit, ResolveWithdrawal, ListInstrument, SetInstrumentStatus,
                            ChangeInstrument, SetRiskLimits, SetKillSwitch})
_CANCELERS = frozenset({SetInstrumentStatus, ChangeInstrument, SetKillSwitch})

# One statement for a whole batch: its rows as ONE JSON document (orjson builds it in
# C, PostgreSQL parses it in C), an array of tables, each an array of rows, each row an
# array of columns; one CTE per table. Passing ~80 parallel arrays instead cost asyncpg an
# ABC isinstance check and a Python codec call per element: most of a busy venue's CPU.
WRITE_BATCH = """
WITH b AS (SELECT ($1::text)::jsonb AS j
), journal_rows AS (
    INSERT INTO journal (seq, ts_ns, kind, command, rejected, hash)
    SELECT (r->>0)::bigint, (r->>1)::bigint, r->>2, r->3, r->>4, decode(r->>5, 'hex')
    FROM b, jsonb_array_elements(b.j->0) r
), trade_rows AS (
    INSERT INTO trades (trade_id, seq, ts_ns, symbol, price, qty, quote_qty, maker_order_id,
                        taker_order_id, maker_account, taker_account, taker_side, maker_fee,
                        taker_fee)
    SELECT (r->>0)::bigint, (r->>1)::bigint, (r->>2)::bigint, r->>3, (r->>4)::bigint,
           (r->>5)::bigint, (r->>6)::numeric, (r->>7)::bigint, (r->>8)::bigint,
           (r->>9)::bigint, (r->>10)::bigint, r->>11, (r->>12)::numeric, (r->>13)::numeric
    FROM b, jsonb_array_elements(b.j->1) r
), ledger_rows AS (
    INSERT INTO ledger_entries (seq, idx, account_id, asset, free_delta, locked_delta, free,
                                locked, reason, ref)
    SELECT (r->>0)::bigint, (r->>1)::integer, (r->>2)::bigint, r->>3, (r->>4)::numeric,
           (r->>5)::numeric, (r->>6)::numeric, (r->>7)::numeric, r->>8, r->>9
    FROM b, jsonb_array_elements(b.j->2) r
), order_rows AS (
    INSERT INTO orders (order_id, account_id, symbol, client_order_id, side, type, tif, price,
                        qty, quote_qty, stop_price, display_qty, stp, expire_ts_ns, working,
                        status, executed_qty, cum_quote, created_ts_ns, updated_ts_ns,
                        updated_seq)
    SELECT (r->>0)::bigint, (r->>1)::bigint, r->>2, r->>3, r->>4, r->>5, r->>6,
           (r->>7)::bigint, (r->>8)::bigint, (r->>9)::numeric, (r->>10)::bigint,
           (r->>11)::bigint, r->>12, (r->>13)::bigint, (r->>14)::boolean, r->>15,
           (r->>16)::bigint, (r->>17)::numeric, (r->>18)::bigint, (r->>19)::bigint,
           (r->>20)::bigint
    FROM b, jsonb_array_elements(b.j->3) r
    ON CONFLICT (order_id) DO UPDATE SET
        price = EXCLUDED.price, qty = EXCLUDED.qty, working = EXCLUDED.working,
        status = EXCLUDED.status, executed_qty = EXCLUDED.executed_qty,
        cum_quote = EXCLUDED.cum_quote, updated_ts_ns = EXCLUDED.updated_ts_ns,
        updated_seq = EXCLUDED.updated_seq
), balance_rows AS (
    INSERT INTO balances (account_id, asset, free, locked, updated_seq)
    SELECT (r->>0)::bigint, r->>1, (r->>2)::numeric, (r->>3)::numeric, (r->>4)::bigint
    FROM b, jsonb_array_elements(b.j->4) r
    ON CONFLICT (account_id, asset) DO UPDATE SET
        free = EXCLUDED.free, locked = EXCLUDED.locked, updated_seq = EXCLUDED.updated_seq
), withdrawal_rows AS (
    INSERT INTO withdrawals (requested_seq, withdrawal_id, account_id, asset, amount, status,
                             requested_ts_ns, resolved_seq, resolved_ts_ns, destination,
                             resolved_by, note)
    SELECT (r->>0)::bigint, r->>1, (r->>2)::bigint, r->>3, (r->>4)::numeric, r->>5,
           (r->>6)::bigint, (r->>7)::bigint, (r->>8)::bigint, r->>9, (r->>10)::bigint, r->>11
    FROM b, jsonb_array_elements(b.j->5) r
), withdrawal_resolutions AS (
    -- withdrawals requested in earlier batches (one statement cannot update its own inserts)
    UPDATE withdrawals w SET status = r->>1, resolved_seq = (r->>2)::bigint,
                             resolved_ts_ns = (r->>3)::bigint, resolved_by = (r->>4)::bigint,
                             note = r->>5
    FROM b, jsonb_array_elements(b.j->6) r
    WHERE w.withdrawal_id = r->>0 AND w.status = 'PENDING'
), risk_rows AS (
    INSERT INTO risk_alerts (seq, idx, ts_ns, account_id, symbol, reason, client_order_id,
                             order_id)
    SELECT (r->>0)::bigint, (r->>1)::integer, (r->>2)::bigint, (r->>3)::bigint, r->>4,
           r->>5, r->>6, (r->>7)::bigint
    FROM b, jsonb_array_elements(b.j->7) r
)
SELECT 1
"""
INSERT_INSTRUMENT = """
INSERT INTO instruments (symbol, definition, status, updated_seq) VALUES ($1, $2, $3, $4)
ON CONFLICT (symbol) DO UPDATE SET
    definition = EXCLUDED.definition, status = EXCLUDED.status, updated_seq = EXCLUDED.updated_seq
"""
UPDATE_INSTRUMENT = "UPDATE instruments SET status = $2, updated_seq = $3 WHERE symbol = $1"


class Batcher:
    """Write-behind journal (exchange.venue.Journal) on an asyncpg pool."""

    def __init__(self, pool, *, max_batch: int = 5_000, on_fatal=None, metrics=None,
                 chain_head: bytes | None = None, cut=None, committed_seq: int = 0):
        """``metrics``: an ``exchange.metrics.Metrics`` to observe batches in (or None).
        ``committed_seq``: the seq the journal holds at start (the recovered venue's).
        ``chain_head``: the hash of the last committed journal row; None reads it
        from the database when the writer starts. ``cut``: called when a batch takes
        everything appended (so the venue's state is exactly that after the batch's
        last command), returning events derived from that state
        (``Sequencer.depth_changes``); the listeners get them with the batch, as one
        more ``(seq, events)`` entry after its last command."""
        self.pool = pool
        self.max_batch = max_batch
        self.on_fatal = on_fatal
        self.metrics = metrics
        self.chain_head = chain_head  # hash of the last committed journal row
        self.cut = cut
        self.backlog = 0            # appended, not yet committed
        self.batches = 0            # transactions committed
        self.committed_seq = committed_seq   # highest committed seq (the recovered one at start)
        self.error = None           # the write failure that stopped the batcher
        self._pending = []          # [(seq, cmd, events, future)]
        self._writing = None        # the batch being written, or None
        self._waiters = []          # heap of (seq, n, future): wait_committed
        self._tie = itertools.count()
        self._listeners = []
        self._wake = asyncio.Event()
        self._stopping = False
        self._task = None
        self._loop = None

    # ---- the Journal protocol ---------------------------------------------------

    def append(self, seq: int, cmd, events: list) -> asyncio.Future:
        """Queue an applied command; return a future resolved (None) once it committed. O(1)."""
        if self._loop is None:
            self._loop = asyncio.get_running_loop()
        fut = self._loop.create_future()
        if self.error is not None:
            fut.set_exception(self.error)
            fut.exception()  # reported once through on_fatal: do not log each future
            return fut
        self._pending.append((seq, cmd, events, fut))
        self.backlog += 1
        self._wake.set()
        return fut

    async def wait_committed(self, seq: int) -> None:
        """Return once every command appended up to ``seq`` has committed; raise the write
        error if the batcher failed. O(log waiters)."""
        if self.error is not None:
            raise self.error
        if seq < self._first_uncommitted():
            return
        fut = asyncio.get_running_loop().create_future()
        heapq.heappush(self._waiters, (seq, next(self._tie), fut))
        await fut

    def _first_uncommitted(self) -> float:
        """The seq of the oldest appended command not yet committed (inf: none)."""
        if self._writing is not None:
            return self._writing[0][0]
        if self._pending:
            return self._pending[0][0]
        return float("inf")

    def _wake_waiters(self) -> None:
        waiters, first = self._waiters, self._first_uncommitted()
        while waiters and waiters[0][0] < first:
            fut = heapq.heappop(waiters)[2]
            if not fut.done():
                fut.set_result(None)

    def on_commit(self, callback) -> None:
        """Call ``callback([(seq, events), ...])`` after each commit, in seq order."""
        self._listeners.append(callback)

    # ---- lifecycle ---------------------------------------------------------------

    def start(self) -> None:
        """Start the background writer."""
        if self._task is None:
            self._loop = asyncio.get_running_loop()
            self._task = self._loop.create_task(self._run(), name="journal-batcher")

    async def stop(self) -> None:
        """Write everything queued, then stop the writer."""
        self._stopping = True
        self._wake.set()
        if self._task is not None:
            await self._task
            self._task = None
        elif self._pending and self.error is None:
            raise RuntimeError("stop() with commands queued but the batcher was never started")

    @property
    def running(self) -> bool:
        """Whether the writer task is running and has not failed or been told to stop."""
        return (self._task is not None and not self._task.done() and self.error is None
                and not self._stopping)

    async def _run(self):
        try:
            conn = await self.pool.acquire()  # kept: a pool release costs a reset round trip
        except Exception as e:
            self._fail(e, [])
            return
        try:
            if self.chain_head is None:
                try:
                    self.chain_head = await audit.chain_head(conn)
                except Exception as e:
                    self._fail(e, [])
                    return
            await self._loop_batches(conn)
        finally:
            await self.pool.release(conn)

    async def _loop_batches(self, conn):
        pending = self._pending
        metrics = self.metrics
        while True:
            if not pending:
                if self._stopping:
                    return
                self._wake.clear()
                await self._wake.wait()
                continue
            derived = None
            if len(pending) <= self.max_batch:
                batch = pending[:]
                pending.clear()
                if self.cut is not None:   # no await since the last append: state == batch's
                    derived = self.cut()
            else:  # state is ahead of this batch: derive with the batch that ends the backlog
                batch = pending[:self.max_batch]
                del pending[:self.max_batch]
            started = time.perf_counter()
            self._writing = batch
            try:
                await self._write(conn, batch)
            except Exception as e:
                self._fail(e, batch)
                return
            self._writing = None
            if metrics is not None:
                metrics.observe_batch(len(batch), time.perf_counter() - started)
            self._committed(batch, derived)

    def _committed(self, batch, derived=None):
        self.backlog -= len(batch)
        self.batches += 1
        self.committed_seq = batch[-1][0]
        for _, _, _, fut in batch:
            if not fut.done():  # the waiter may have been cancelled
                fut.set_result(None)
        if self._waiters:
            self._wake_waiters()
        if self._listeners:
            done = [(seq, events) for seq, _, events, _ in batch]
            if derived:
                done.append((batch[-1][0], derived))
            for callback in self._listeners:
                try:
                    callback(done)
                except Exception:
                    log.exception("on_commit listener %r failed", callback,
                                  extra={"seq": self.committed_seq})

    def _fail(self, error, batch):
        extra = {"seq": batch[0][0]} if batch else None  # the first command not made durable
        log.critical("journal write failed; the venue's memory is ahead of the database: %r",
                     error, extra=extra)
        self.error = error
        for _, _, _, fut in batch + self._pending:
            if not fut.done():
                fut.set_exception(error)
                fut.exception()  # mark retrieved: on_fatal is the report
        self._pending.clear()
        for _, _, fut in self._waiters:
            if not fut.done():
                fut.set_exception(error)
                fut.exception()
        self._waiters.clear()
        if self.on_fatal is not None:
            try:
                self.on_fatal(error)
            except Exception:
                log.exception("on_fatal callback failed")

    # ---- one batch -------------------------------------------------------------

    async def _write(self, conn, batch):
        (journal, trades, ledger, orders, balances, instruments, withdrawals,
         resolutions, alerts, records) = build_rows(batch, self.chain_head)
        document = batch_json(journal, trades, ledger, list(orders.values()),
                              list(balances.values()), withdrawals, resolutions, alerts)
        if not instruments and not records:
            await conn.execute(WRITE_BATCH, document)  # one statement: its own transaction
        else:
            async with conn.transaction():
                await conn.execute(WRITE_BATCH, document)
                for symbol, (definition, status, seq) in instruments.items():
                    if definition is not None:
                        await conn.execute(INSERT_INSTRUMENT, symbol, definition, status, seq)
                    else:
                        await conn.execute(UPDATE_INSTRUMENT, symbol, status, seq)
                if records:
                    await actions.append(conn, records)
        self.chain_head = journal[-1][5]  # committed


def batch_json(journal, *tables) -> str:
    """The batch's rows as the JSON document WRITE_BATCH reads: journal rows carry their
    command as the canonical JSON bytes hashed into the chain (embedded as they are) and
    the hash in hex; enums go as their values; integers past 64 bits (which orjson
    refuses) as decimal strings, which PostgreSQL casts exactly."""
    document = ([(seq, ts, kind, orjson.Fragment(command), rejected, digest.hex())
                 for seq, ts, kind, command, rejected, digest in journal],) + tables
    try:
        return orjson.dumps(document, default=_exact).decode()
    except orjson.JSONEncodeError:   # an integer orjson cannot write: the slow, exact way
        return orjson.dumps(_big_ints_as_text(document), default=_exact).decode()


def _exact(value):
    if isinstance(value, Decimal):
        return str(value)
    raise TypeError(f"cannot journal a {type(value).__name__}")


def _big_ints_as_text(value):
    if type(value) is int and not -2**63 <= value < 2**64:
        return str(value)
    if type(value) in (list, tuple):
        return [_big_ints_as_text(v) for v in value]
    return value


def build_rows(batch, chain_head: bytes = chain.GENESIS):
    """Turn ``[(seq, cmd, events, _), ...]`` into the rows of one transaction.

    Journal rows are ``(seq, ts_ns, kind, canonical command bytes, rejected,
    hash)``, chained from ``chain_head`` (the hash of the row before the batch).
    Returns journal, trade and ledger rows (lists of tuples), the last order
    row per order id and balance row per (account, asset) (dicts),
    instruments ``{symbol: (definition or None, status, seq)}``, the
    withdrawals requested in the batch (rows in their last state in it), the
    resolutions of withdrawals requested before it, risk alert rows, and the
    admin records of the batch's accepted commands as ``[(created_at,
    AdminRecord), ...]`` (details completed with ``seq``, and
    ``canceled_order_ids`` for commands that cancel orders).
    """
    journal, trades, ledger = [], [], []
    orders, balances, instruments = {}, {}, {}
    withdrawals, resolutions, pending = [], [], {}   # pending: id -> its row in withdrawals
    alerts, records = [], []
    encode, canonical, row_hash = codec.encode, chain.canonical, chain.row_hash
    prev = chain_head
    for seq, cmd, events, _ in batch:
        rejected = None
        for idx, ev in enumerate(events):
            t = type(ev)
            if t is OrderUpdated:
                s = ev.spec
                orders[s.order_id] = (
                    s.order_id, s.account, s.symbol, s.client_order_id, s.side, s.type, s.tif,
                    ev.price, ev.qty, s.quote_qty, s.stop_price, s.display_qty, s.stp,
                    s.expire_ts_ns, ev.working, ev.status, ev.executed_qty, ev.cum_quote,
                    s.created_ts_ns, ev.ts_ns, seq)
                if ev.reason is R_HALT:
                    alerts.append((seq, idx, ev.ts_ns, s.account, s.symbol, R_HALT,
                                   s.client_order_id, s.order_id))
            elif t is BalanceChanged:
                ledger.append((seq, idx, ev.account, ev.asset, ev.free_delta, ev.locked_delta,
                               ev.free, ev.locked, ev.reason,
                               None if ev.ref is None else str(ev.ref)))
                balances[(ev.account, ev.asset)] = (ev.account, ev.asset, ev.free, ev.locked, seq)
            elif t is Traded:
                trades.append((ev.trade_id, seq, ev.ts_ns, ev.symbol, ev.price, ev.qty,
                               ev.quote_qty, ev.maker_order_id, ev.taker_order_id,
                               ev.maker_account, ev.taker_account, ev.taker_side, ev.maker_fee,
                               ev.taker_fee))
            elif t is CommandRejected:
                if rejected is None:
                    rejected = ev.reason
                if ev.reason in RISK_REASONS:
                    alerts.append((seq, idx, ev.ts_ns, ev.account, ev.symbol, ev.reason,
                                   ev.client_order_id, None))
            elif t is WithdrawalUpdated:
                if ev.status == "PENDING":
                    row = [seq, ev.withdrawal_id, ev.account, ev.asset, ev.amount, "PENDING",
                           ev.ts_ns, None, None, ev.destination, None, None]
                    withdrawals.append(row)
                    pending[ev.withdrawal_id] = row
                else:
                    # the operator and the note ride in the command, unread by the engine
                    note = by = None
                    if type(cmd) is ResolveWithdrawal:
                        note = cmd.note
                        by = None if cmd.admin is None else cmd.admin.actor
                    row = pending.pop(ev.withdrawal_id, None)
                    if row is not None:   # requested in this batch
                        row[5], row[7], row[8], row[10], row[11] = (ev.status, seq, ev.ts_ns,
                                                                    by, note)
                    else:
                        resolutions.append((ev.withdrawal_id, ev.status, seq, ev.ts_ns, by,
                                            note))
            elif t is InstrumentChanged:
                definition = None
                if type(cmd) is ListInstrument and cmd.instrument.symbol == ev.symbol:
                    definition = encode(cmd)["instrument"]
                elif ev.symbol in instruments:
                    definition = instruments[ev.symbol][0]  # listed earlier in this batch
                instruments[ev.symbol] = (definition, ev.status, seq)
            elif t is InstrumentDefined:
                inst = ev.instrument
                instruments[inst.symbol] = (codec.encode_instrument(inst), inst.status, seq)
        cls = type(cmd)
        if cls in ADMIN_CARRIERS and cmd.admin is not None and rejected is None:
            records.append((actions.created_at_of(cmd.ts_ns), _completed(cmd, seq, events)))
        kind, command = cls.__name__, canonical(encode(cmd))
        prev = row_hash(prev, seq, cmd.ts_ns, kind, command, rejected)
        journal.append((seq, cmd.ts_ns, kind, command, rejected, prev))
    return (journal, trades, ledger, orders, balances, instruments, withdrawals, resolutions,
            alerts, records)


def _completed(cmd, seq: int, events: list):
    """The command's AdminRecord with what only its outcome tells in its details."""
    record = cmd.admin
    details = {**record.details, "seq": seq}
    if type(cmd) in _CANCELERS:
        details["canceled_order_ids"] = sorted(
            {ev.spec.order_id for ev in events
             if type(ev) is OrderUpdated and ev.exec_type == "CANCELED"})
    return record._replace(details=details)
