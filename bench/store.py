"""Durable store figures: batcher throughput, and restart time from the journal or a snapshot.

    python bench/store.py [--commands N] [--orders N] [--max-batch N] [--dsn DSN]
                          [--only batcher|recovery]

Batcher: the engine benchmark's mix (bench/engine.py: 9% GTC, 3% IOC, 6%
cancel, 82% move over ~1,000 resting orders), journaled through the
write-behind batcher into a fresh database. Two figures: "journal only"
appends commands already applied (the batcher's own ceiling), "apply +
journal" applies each command and appends it in the same event loop, the
way the venue does, yielding to the loop every 100 commands. Rows are every
row written: journal, trades, ledger entries, order and balance upserts.
Then the restarts of that history (~1,000 open orders after N commands).

Recovery: a journal with N resting orders (default 1,000,000) on one symbol,
and its restarts.

Restarts: ``recover()`` timed from the whole journal (read, decode and replay
every command, then the checks: invariants and digests of the tables); then a
snapshot taken as the server takes one (``snapshots.take``: fork, the child
dumps the state, the parent stores it), with the longest the event loop stood
still meanwhile; then ``recover()`` from that snapshot: the restart with N
open orders; then the same in a subprocess running a copy of the tree whose
``exchange/engine/book.py`` has one more comment: the restart after an engine
source change (an upgrade), which must load the same snapshot and replay nothing.
Each line gives the wall time, the recovering process's CPU time (what the
restart costs whatever else the machine runs) and its phases in seconds
(fetch and load the snapshot, replay, check: invariants, digest: the tables'
digests compared, counted from when the state is ready).
Uses --dsn (or EXCHANGE_DATABASE_URL), else an embedded PostgreSQL in a temp
dir; always in a new database, dropped afterwards.
Prints figures; asserts nothing.
"""

import argparse
import asyncio
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import asyncpg  # noqa: E402

from engine import INSTRUMENT, generate_sequencer, sequencer_setup  # noqa: E402
from exchange.engine import (BalanceChanged, PlaceOrder, Sequencer,  # noqa: E402
                             Traded)
from exchange.store import Batcher, migrate, open_database, recover, snapshots  # noqa: E402
from exchange.store.db import start_embedded  # noqa: E402


def count_rows(events):
    """Rows a command's events write (before the per-batch upsert dedup)."""
    n = 1
    for ev in events:
        t = type(ev)
        n += t is Traded or t is BalanceChanged
    return n


async def journal(pool, items, max_batch, yield_every=None, apply=None):
    """Append ``items`` ((seq, cmd, events), or commands with ``apply``); return
    (seconds, commands, rows, batches)."""
    batcher = Batcher(pool, max_batch=max_batch)
    batcher.start()
    rows = 0
    last = None
    t0 = time.perf_counter()
    for i, item in enumerate(items):
        if apply is not None:
            events = apply(item)
            seq, cmd = apply.__self__.seq, item
        else:
            seq, cmd, events = item
        rows += count_rows(events)
        last = batcher.append(seq, cmd, events)
        if yield_every and i % yield_every == 0:
            await asyncio.sleep(0)
        if batcher.backlog > 4 * max_batch:  # back-pressure, as the venue's Busy would
            await last
    await batcher.stop()
    elapsed = time.perf_counter() - t0
    async with pool.acquire() as conn:
        upserts = await conn.fetchval("SELECT (SELECT count(*) FROM orders) + "
                                      "(SELECT count(*) FROM balances)")
    return elapsed, i + 1, rows, batcher.batches, upserts


def report(name, elapsed, commands, rows, batches):
    print(f"{name:<34} {commands / elapsed:>10,.0f} commands/s {rows / elapsed:>10,.0f} rows/s"
          f"   {batches:,} transactions, {commands / batches:,.0f} commands each,"
          f" {elapsed:.1f} s")


async def bench_batcher(pool, dsn, n, max_batch, seed):
    warm, timed = generate_sequencer(n, seed)
    cmds = sequencer_setup() + warm + timed
    # journal only: apply first, then time the batcher alone
    seq = Sequencer()
    applied = []
    for cmd in cmds:
        events = seq.apply(cmd)
        applied.append((seq.seq, cmd, events))
    elapsed, count, rows, batches, _ = await journal(pool, applied, max_batch)
    report("journal only (pre-applied)", elapsed, count, rows, batches)
    async with pool.acquire() as conn:
        await conn.execute("TRUNCATE journal, trades, ledger_entries, orders, balances, "
                           "instruments")
    seq = Sequencer()
    elapsed, count, rows, batches, _ = await journal(pool, cmds, max_batch, yield_every=100,
                                                     apply=seq.apply)
    report("apply + journal", elapsed, count, rows, batches)
    del seq
    await time_restarts(pool, dsn)


def resting_orders(n, seed, levels):
    """Setup commands, then ``n`` non-crossing limit orders over ``levels`` prices a side."""
    rng = random.Random(seed)
    yield from sequencer_setup()
    mid = 100_000
    for i in range(n):
        side = "buy" if i % 2 else "sell"
        offset = 1 + rng.randrange(levels)
        price = mid - offset if side == "buy" else mid + offset
        yield PlaceOrder(1 + i, 1 + i % 100, INSTRUMENT.symbol, side, "LIMIT",
                         qty=rng.randint(1, 10), price=price)


async def bench_recovery(pool, dsn, orders, max_batch, seed, levels):
    seq = Sequencer()
    elapsed, count, rows, batches, _ = await journal(pool, resting_orders(orders, seed, levels),
                                                     max_batch, apply=seq.apply)
    report(f"write journal ({orders:,} orders)", elapsed, count, rows, batches)
    open_orders = len(seq.orders)
    del seq
    rebuilt = await time_restarts(pool, dsn)
    assert len(rebuilt.orders) == open_orders  # a sanity check of the setup, not a timing


def _phases(timings):
    return ", ".join(f"{k} {v:.2f}" for k, v in timings.items())


async def time_restarts(pool, dsn):
    """Time recover() from the whole journal, taking a snapshot, recover() from it, and
    recover() from it by a copy of the code whose engine changed."""
    timings = {}
    t0, c0 = time.perf_counter(), time.process_time()
    rebuilt = await recover(pool, use_snapshot=False, timings=timings)
    elapsed, cpu = time.perf_counter() - t0, time.process_time() - c0
    print(f"{'restart from the journal alone':<38} {elapsed:>8.1f} s (cpu {cpu:.1f} s) for "
          f"{rebuilt.seq:,} journaled commands, {len(rebuilt.orders):,} open orders "
          f"({rebuilt.seq / elapsed:,.0f} commands/s; {_phases(timings)})")

    class Drained:   # the journal has committed everything (what take() waits for)
        backlog, committed_seq, error = 0, rebuilt.seq, None

        @staticmethod
        async def wait_committed(seq):
            pass

    stalls = []
    loop = asyncio.get_running_loop()

    async def watch():   # how long the loop stands still while the snapshot is taken
        while True:
            t = loop.time()
            await asyncio.sleep(0.001)
            stalls.append(loop.time() - t - 0.001)

    watcher = loop.create_task(watch())
    with tempfile.TemporaryDirectory(prefix="bench-snapshot-") as tmp:
        t0 = time.perf_counter()
        await snapshots.take(rebuilt, Drained, pool, tmp, 0)
        elapsed = time.perf_counter() - t0
    watcher.cancel()
    size = await pool.fetchval("SELECT bytes FROM snapshots WHERE seq = $1", rebuilt.seq)
    print(f"{'take a snapshot (fork, dump, store)':<38} {elapsed:>8.1f} s, "
          f"{size / 2**20:,.0f} MB; the loop stood still at most {max(stalls) * 1000:,.0f} ms")
    seq, open_orders = rebuilt.seq, len(rebuilt.orders)
    del rebuilt
    found, timings = {}, {}
    t0, c0 = time.perf_counter(), time.process_time()
    rebuilt = await recover(pool, report=found, timings=timings)
    elapsed, cpu = time.perf_counter() - t0, time.process_time() - c0
    assert found == {"snapshot": seq, "replayed": 0}, found
    print(f"{f'restart with {open_orders:,} open orders':<38} {elapsed:>8.1f} s (cpu {cpu:.1f} s)"
          f" from the snapshot; {_phases(timings)}")
    found, elapsed, cpu, timings = await asyncio.to_thread(restart_after_engine_change, dsn)
    assert found == {"snapshot": seq, "replayed": 0}, found
    print(f"{'restart after an engine source change':<38} {elapsed:>8.1f} s (cpu {cpu:.1f} s)"
          f" from the snapshot, no replay; {_phases(timings)}")
    return rebuilt


# recover() in a copy of the tree whose engine differs by a comment: what the first
# start after an upgrade does (the snapshot was taken by the code before it)
_CHANGED_ENGINE = """
import asyncio, json, sys, tempfile, time, exchange
from exchange.store import open_database, recover
async def main():
    db = await open_database(sys.argv[1], tempfile.gettempdir(), min_size=1, max_size=2)
    found, timings = {}, {}
    t0, c0 = time.perf_counter(), time.process_time()
    await recover(db.pool, report=found, timings=timings)
    elapsed, cpu = time.perf_counter() - t0, time.process_time() - c0
    await db.close()
    print(json.dumps([exchange.__file__, found, elapsed, cpu, timings]))
asyncio.run(main())
"""


def restart_after_engine_change(dsn):
    root = Path(__file__).resolve().parent.parent
    with tempfile.TemporaryDirectory(prefix="bench-upgrade-") as tmp:
        tree = Path(tmp)
        shutil.copytree(root / "exchange", tree / "exchange",
                        ignore=shutil.ignore_patterns("__pycache__", "node_modules", "dist"))
        with (tree / "exchange" / "engine" / "book.py").open("a") as f:
            f.write("\n# an upgrade: the engine's source is not the one that took the snapshot\n")
        done = subprocess.run([sys.executable, "-c", _CHANGED_ENGINE, dsn], cwd=tree,
                              env=dict(os.environ, PYTHONPATH=str(tree)), capture_output=True,
                              text=True)
        if done.returncode != 0:
            raise RuntimeError(f"recover() in the changed tree failed:\n{done.stderr}")
        where, found, elapsed, cpu, timings = json.loads(done.stdout.splitlines()[-1])
        assert where.startswith(str(tree)), where
    return found, elapsed, cpu, timings


async def main_async(args):
    server = None
    admin = args.dsn or os.environ.get("EXCHANGE_DATABASE_URL")
    tmp = tempfile.TemporaryDirectory(prefix="bench-store-")
    if not admin:
        server = await asyncio.to_thread(start_embedded, Path(tmp.name) / "pg")
        admin = server.get_uri("postgres")
    name = f"bench_{uuid.uuid4().hex[:12]}"
    conn = await asyncpg.connect(admin)
    await conn.execute(f'CREATE DATABASE "{name}"')
    version = await conn.fetchval("SHOW server_version")
    try:
        dsn = urlunsplit(urlsplit(admin)._replace(path="/" + name))
        db = await open_database(dsn, tmp.name)
        try:
            await migrate(db.pool)
            print(f"python {sys.version.split()[0]}, PostgreSQL {version} "
                  f"({'embedded' if server else 'given DSN'}), max_batch {args.max_batch:,}, "
                  f"loop {type(asyncio.get_running_loop()).__module__}")
            if args.only in (None, "batcher"):
                await bench_batcher(db.pool, dsn, args.commands, args.max_batch, args.seed)
                async with db.pool.acquire() as c:
                    await c.execute("TRUNCATE journal, trades, ledger_entries, orders, "
                                    "balances, instruments, snapshots CASCADE")
            if args.only in (None, "recovery"):
                await bench_recovery(db.pool, dsn, args.orders, args.max_batch, args.seed,
                                     args.levels)
        finally:
            await db.close()
    finally:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await conn.close()
        if server is not None:
            await asyncio.to_thread(server.cleanup)
        tmp.cleanup()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--commands", type=int, default=200_000)
    ap.add_argument("--orders", type=int, default=1_000_000)
    ap.add_argument("--max-batch", type=int, default=5_000)
    ap.add_argument("--seed", type=int, default=1)
    # 60: OrderBook loses the 65th price level of a side (compact() in add_level
    # drops the new, still empty level), which recover()'s check() then reports.
    ap.add_argument("--levels", type=int, default=60, help="price levels a side (recovery)")
    ap.add_argument("--dsn")
    ap.add_argument("--only", choices=["batcher", "recovery"])
    args = ap.parse_args()
    try:
        import uvloop
        uvloop.run(main_async(args))
    except ImportError:
        asyncio.run(main_async(args))


if __name__ == "__main__":
    main()
