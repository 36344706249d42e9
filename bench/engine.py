"""Engine throughput and latency on exchange-core's command mix.

    python bench/engine.py [--commands N] [--seed S] [--repeat R] [--only book|sequencer]

Mix: 9% new GTC limit, 3% IOC limit (takes liquidity), 6% cancel, 82% move
(amend to a new price), over ~1,000 resting orders on ~750 price levels.
Commands are generated (by driving a scratch copy of the same engine, so every
id they name exists) before the clock starts; then they are replayed on fresh
engines: ``--repeat`` times for throughput (the best and the median run are
printed), then once with a per-command clock for latency percentiles. Prints
figures; asserts nothing.
"""

import argparse
import gc
import random
import sys
import sysconfig
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from decimal import Decimal  # noqa: E402

from exchange.engine import (AmendOrder, CancelOrder, Deposit, Instrument,  # noqa: E402
                             ListInstrument, OrderBook, OrderUpdated, PlaceOrder, Sequencer)

MID = 100_000          # ticks
HALF_SPREAD_LEVELS = 375
TARGET_ORDERS = 1_000


def _price(rng, side):
    offset = 1 + int(rng.expovariate(1 / 120)) % HALF_SPREAD_LEVELS
    return MID - offset if side == "buy" else MID + offset


class _Live:
    """Resting order ids, with O(1) add, discard and random pick (a swap-remove list)."""

    def __init__(self):
        self.ids = []
        self.where = {}  # order id -> index in ids

    def __len__(self):
        return len(self.ids)

    def add(self, oid):
        if oid not in self.where:
            self.where[oid] = len(self.ids)
            self.ids.append(oid)

    def discard(self, oid):
        i = self.where.pop(oid, None)
        if i is not None:
            last = self.ids.pop()
            if last != oid:
                self.ids[i] = last
                self.where[last] = i

    def pick(self, rng):
        return self.ids[rng.randrange(len(self.ids))]


def _operation(rng, live):
    """Draw the next command of exchange-core's mix: new GTC, IOC, cancel or move."""
    r = rng.random()
    if r < 0.09 or not live:
        return "GTC"
    if r < 0.12:
        return "IOC"
    return "cancel" if r < 0.18 else "move"


def _move_price(rng, side, price):
    """A new price for a move: drawn like a new order's, never the current one."""
    new_price = _price(rng, side)
    if new_price == price:
        new_price += 1 if side == "sell" else -1
    return new_price


def generate(n, seed):
    """Return (warm-up commands, timed commands) as tuples ``(op, args)``."""
    rng = random.Random(seed)
    book = OrderBook()
    live = _Live()
    next_id = [1]

    def track(events):
        for ev in events:
            name = type(ev).__name__
            if name == "Rested":
                live.add(ev.order_id)
            elif name in ("Canceled", "Expired"):
                live.discard(ev.order_id)
            elif name == "Filled" and ev.maker_remaining == 0:
                live.discard(ev.maker_order_id)

    def new(tif):
        oid = next_id[0]
        next_id[0] += 1
        side = "buy" if rng.random() < 0.5 else "sell"
        if tif == "IOC":  # aggressive: crosses the spread by a few levels
            price = MID + 5 if side == "buy" else MID - 5
        else:
            price = _price(rng, side)
        return ("limit", (oid, side, price, rng.randint(1, 10), tif))

    warm = []
    while len(live) < TARGET_ORDERS:
        cmd = new("GTC")
        warm.append(cmd)
        track(book.limit(*cmd[1]))
    timed = []
    for _ in range(n):
        op = _operation(rng, live)
        if op in ("GTC", "IOC"):
            cmd = new(op)
        elif op == "cancel":
            cmd = ("cancel", (live.pick(rng),))
        else:
            oid = live.pick(rng)
            side, price, _, _ = book.order(oid)
            new_price = _move_price(rng, side, price)
            cmd = ("amend", (oid, None, new_price))
        timed.append(cmd)
        track(getattr(book, cmd[0])(*cmd[1]))
    return warm, timed


ACCOUNTS = 100
INSTRUMENT = Instrument("BENCH", "BENCH", "USD", Decimal("0.01"), Decimal("1"),
                        base_decimals=0, quote_decimals=2, maker_fee_ppm=500, taker_fee_ppm=1000)


def sequencer_setup():
    """Commands that list the instrument and fund every account."""
    cmds = [ListInstrument(0, INSTRUMENT)]
    for acct in range(1, ACCOUNTS + 1):
        cmds.append(Deposit(0, acct, "USD", 10**15))
        cmds.append(Deposit(0, acct, "BENCH", 10**12))
    return cmds


def generate_sequencer(n, seed):
    """Return (warm-up, timed) sequencer commands on the same mix as ``generate``."""
    rng = random.Random(seed)
    seq = Sequencer()
    for cmd in sequencer_setup():
        seq.apply(cmd)
    live = _Live()
    info = {}  # order id -> (account, side)
    ts = [1]

    def track(events):
        for ev in events:
            if type(ev) is OrderUpdated:
                oid = ev.order_id
                if ev.exec_type == "NEW" and ev.status == "NEW":
                    info[oid] = (ev.account, ev.side)
                if ev.status in ("NEW", "PARTIALLY_FILLED"):
                    live.add(oid)
                else:
                    live.discard(oid)

    def stamp():
        ts[0] += 1
        return ts[0]

    def new(tif):
        side = "buy" if rng.random() < 0.5 else "sell"
        acct = rng.randint(1, ACCOUNTS)
        price = (MID + 5 if side == "buy" else MID - 5) if tif == "IOC" else _price(rng, side)
        return PlaceOrder(stamp(), acct, "BENCH", side, "LIMIT", qty=rng.randint(1, 10),
                          price=price, tif=tif)

    warm = []
    while len(live) < TARGET_ORDERS:
        cmd = new("GTC")
        warm.append(cmd)
        track(seq.apply(cmd))
    timed = []
    for _ in range(n):
        op = _operation(rng, live)
        if op in ("GTC", "IOC"):
            cmd = new(op)
        elif op == "cancel":
            oid = live.pick(rng)
            cmd = CancelOrder(stamp(), info[oid][0], "BENCH", order_id=oid)
        else:
            oid = live.pick(rng)
            acct, side = info[oid]
            new_price = _move_price(rng, side, seq.orders[oid].price)
            cmd = AmendOrder(stamp(), acct, "BENCH", oid, price=new_price)
        timed.append(cmd)
        track(seq.apply(cmd))
    return warm, timed


def measure(fresh, loop, latency_loop, repeat):
    """Time ``loop(work)`` on ``repeat`` fresh ``(engine, work) = fresh()`` for throughput,
    then ``latency_loop`` on one more (each command clocked), and check that engine.

    Returns (best commands/s, median commands/s, latency percentiles in µs). The best
    run is the figure to compare (as timeit's documentation advises: slower runs are
    the host's doing, not the code's); the median shows how much the host moved.
    """
    rates = []
    for _ in range(repeat):
        _, work = fresh()
        gc.disable()
        t0 = time.perf_counter_ns()
        n = loop(work)
        elapsed = time.perf_counter_ns() - t0
        gc.enable()
        rates.append(n / (elapsed / 1e9))
    engine, work = fresh()
    gc.disable()
    lat = latency_loop(work)
    gc.enable()
    engine.check()
    rates.sort()
    return rates[-1], rates[len(rates) // 2], percentiles(lat)


def percentiles(samples_ns):
    samples_ns.sort()
    n = len(samples_ns)
    return {p: samples_ns[min(n - 1, int(n * p / 100))] / 1000 for p in (50, 99, 99.9)}


def fresh_sequencer(warm, timed):
    """A sequencer set up with ``warm``, and its work: ``(apply, timed)``."""
    seq = Sequencer()
    for cmd in sequencer_setup() + warm:
        seq.apply(cmd)
    return seq, (seq.apply, timed)


def sequencer_loop(work):
    apply, cmds = work
    for cmd in cmds:
        apply(cmd)
    return len(cmds)


def sequencer_latency(work):
    apply, cmds = work
    lat = []
    clock = time.perf_counter_ns
    for cmd in cmds:
        t = clock()
        apply(cmd)
        lat.append(clock() - t)
    return lat


def fresh_book(warm, timed):
    """A book set up with ``warm``, and its work: ``[(bound method, args), ...]``."""
    book = OrderBook()
    for _, args in warm:
        book.limit(*args)
    return book, [(getattr(book, op), args) for op, args in timed]


def book_loop(calls):
    for fn, args in calls:
        fn(*args)
    return len(calls)


def book_latency(calls):
    lat = []
    clock = time.perf_counter_ns
    for fn, args in calls:
        t = clock()
        fn(*args)
        lat.append(clock() - t)
    return lat


def report(name, best, median, pct):
    print(f"{name:<20} best {best:>10,.0f} commands/s (median {median:>10,.0f})   latency µs  "
          f"p50 {pct[50]:.2f}  p99 {pct[99]:.2f}  p99.9 {pct[99.9]:.2f}")


def _libpython_loaded():
    """Whether this interpreter runs from a shared libpython (slower: calls into it go
    through the PLT). Py_ENABLE_SHARED cannot tell: Debian sets it for the library it
    also ships, though its python3 is linked statically."""
    try:
        with open("/proc/self/maps") as f:
            return "libpython" in f.read()
    except OSError:  # not Linux
        return bool(sysconfig.get_config_var("Py_ENABLE_SHARED"))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--commands", type=int, default=1_000_000)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--repeat", type=int, default=3, help="throughput runs per engine")
    ap.add_argument("--only", choices=["book", "sequencer"])
    args = ap.parse_args()
    shared = ", libpython shared" if _libpython_loaded() else ""
    print(f"python {sys.version.split()[0]} ({sys.executable}{shared}), {args.commands:,} "
          "commands (9% GTC, 3% IOC, 6% cancel, 82% move), ~1,000 resting orders, "
          f"best and median of {args.repeat} runs")
    if args.only in (None, "book"):
        warm, timed = generate(args.commands, args.seed)
        report("OrderBook", *measure(lambda: fresh_book(warm, timed), book_loop, book_latency,
                                     args.repeat))
    if args.only in (None, "sequencer"):
        warm, timed = generate_sequencer(args.commands, args.seed)
        report("Sequencer + ledger", *measure(lambda: fresh_sequencer(warm, timed),
                                              sequencer_loop, sequencer_latency, args.repeat))


if __name__ == "__main__":
    main()
