"""WebSocket fan-out: N subscribers on one symbol's trade and depth streams while orders flow.

    python bench/feed.py [--subscribers N] [--trades-per-s R] [--seconds S] [--warmup S]
                         [--stall K] [--max-buffer B] [--client-procs P] [--path PATH] [--dsn DSN]
                         [--profile FILE]

This process serves ``exchange.server.create_app`` (durability sync) on a real
port against PostgreSQL (``--dsn``, an admin DSN: a fresh database is created
in it and dropped afterwards). An order generator inside the server process
submits ``PlaceOrder`` commands straight to ``Venue.submit`` at a controlled
rate, many in flight so that batches commit together: 1-share LIMIT buys of
one account at 100.00 crossing a resting 1,000-share LIMIT sell of another,
renewed every 1,000 buys, so each buy is one trade on AAPL (one command a
trade: HTTP entry tops out near 1,500 orders/s here). Nothing is short-cut: the
feed publishes what each committed batch holds, as in production.

``--client-procs`` separate processes (default 1) open N WebSocket
connections to ``--path`` (default ``/ws/aapl@trade/aapl@depth@100ms``) from
raw asyncio Protocols that parse frame headers themselves (server frames are
unmasked), count every message and answer pings, and decode only every 64th
chunk a connection receives (all trade messages in it) for the lag:
receipt time (``time.time_ns()``) minus the message's ``E``, the event time
``PublicFeed.on_commit`` stamps as it publishes the committed trade (same
machine, same clock; ``E`` is in whole ms, so the lag reads up to 1 ms
high). The lag from the trade's own time ``T`` (the command's stamp, before
its commit) is printed beside it.

``--stall K`` adds K subscribers (same streams, a 4 KiB receive buffer) that
never read after the handshake: the hub must drop them (close 1008) once
their unsent bytes pass ``ws_max_buffer_bytes``, and the server's RSS must
stay flat; RSS is printed every 5 s.

The first ``--warmup`` seconds are excluded. Prints the trades/s achieved,
messages delivered/s (summed over clients, and the hub's own count), lag
p50/p99/max, the hub's flush durations and how long a trade waited for its
flush, the server's GC pauses (CPU time), server RSS before/after, CPU, drops.
Frame headers are walked by a few lines of C built with ``cc`` at start
(Python fallback). Asserts nothing.
``--profile FILE`` runs cProfile in the server process over the timed
window (slows it).
"""

import argparse
import asyncio
import base64
import contextlib
import io
import multiprocessing
import os
import random
import re
import resource
import socket
import sys
import tempfile
import time
import uuid
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

# bench/http.py is named like the standard library's ``http``: keep this directory off the
# import path, or aiohttp's ``import http`` would load it.
_HERE = Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != _HERE]
sys.path.insert(0, str(_HERE.parent))

HOST = "127.0.0.1"
DEFAULT_PATH = "/ws/aapl@trade/aapl@depth@100ms"
SAMPLE_EVERY = 64        # a connection decodes every 64th chunk it receives, for the lag
CONNECT_AT_ONCE = 64     # handshakes in flight (the listen backlog is 128)
PRICE = 100_00           # ticks: 100.00
_TRADE_TIMES = re.compile(rb'"E":(\d+),"s":"[^"]*","t":\d+,"p":"[^"]*","q":"[^"]*","T":(\d+)')


# ---- the subscribers (their own processes) ----------------------------------------------

def frame_end(data: bytes, i: int, n: int) -> int:
    """The end of the (unmasked) frame starting at ``data[i]``, or -1 if it is incomplete."""
    if i + 2 > n:
        return -1
    b1 = data[i + 1]
    if b1 < 126:
        end = i + 2 + b1
    elif b1 == 126:
        end = i + 4 + (data[i + 2] << 8 | data[i + 3]) if i + 4 <= n else n + 1
    else:
        end = i + 10 + int.from_bytes(data[i + 2:i + 10], "big") if i + 10 <= n else n + 1
    return end if end <= n else -1


def walk_py(data: bytes, n: int, i: int):
    """Count the complete data frames from ``i``; stop at a control frame or an incomplete
    one. Returns (count, where it stopped)."""
    count = 0
    while True:
        end = frame_end(data, i, n)
        if end < 0 or data[i] & 0x08:   # incomplete, or a control frame (opcode >= 8)
            return count, i
        count += 1
        i = end


# The same walk in C (the per-frame Python loop costs ~0.4 us a frame here: at 2 million
# frames a second it would make the client the bottleneck). Built with the system compiler
# when the subscriber process starts; without one, walk_py is used.
_WALK_C = r"""
#include <stdint.h>
long walk(const unsigned char *b, long n, long i, long *stop) {
    long count = 0;
    while (i + 2 <= n) {
        unsigned l = b[i + 1];
        long end;
        if (l < 126) end = i + 2 + l;
        else if (l == 126) { if (i + 4 > n) break; end = i + 4 + ((long)b[i + 2] << 8 | b[i + 3]); }
        else {
            if (i + 10 > n) break;
            uint64_t len = 0;
            for (int k = 2; k < 10; k++) len = len << 8 | b[i + k];
            end = i + 10 + (long)len;
        }
        if (end > n || (b[i] & 0x08)) break;
        count++;
        i = end;
    }
    *stop = i;
    return count;
}
"""


def build_walk():
    """A C ``walk`` with walk_py's signature, or walk_py if it cannot be built."""
    import ctypes
    import subprocess
    tmp = tempfile.mkdtemp(prefix="bench-feed-walk-")
    src, lib = os.path.join(tmp, "walk.c"), os.path.join(tmp, "walk.so")
    with open(src, "w") as f:
        f.write(_WALK_C)
    try:
        subprocess.run(["cc", "-O2", "-shared", "-fPIC", "-o", lib, src], check=True,
                       capture_output=True)
        c_walk = ctypes.CDLL(lib).walk
    except (OSError, subprocess.CalledProcessError):
        return walk_py
    c_walk.restype = ctypes.c_long
    c_walk.argtypes = (ctypes.c_char_p, ctypes.c_long, ctypes.c_long,
                       ctypes.POINTER(ctypes.c_long))
    stop = ctypes.c_long()
    ref = ctypes.byref(stop)

    def walk(data, n, i):
        count = c_walk(data, n, i, ref)
        return count, stop.value
    return walk


walk = walk_py


class Subscriber(asyncio.Protocol):
    """One WebSocket client: handshake, then count frames; sample trade times now and then."""

    def __init__(self, request: bytes, stats: dict, stalled: bool):
        self.request = request
        self.stats = stats
        self.stalled = stalled
        self.transport = None
        self.upgraded = None      # future: the 101 arrived
        self.head = b""
        self.rest = b""
        self.chunks = random.randrange(SAMPLE_EVERY)   # connections sample out of step
        self.messages = 0
        self.close_code = None
        self.lost = False

    def connection_made(self, transport):
        self.transport = transport
        self.upgraded = asyncio.get_running_loop().create_future()
        transport.write(self.request)

    def connection_lost(self, exc):
        self.lost = True
        if not self.upgraded.done():
            self.upgraded.set_exception(ConnectionError("closed during the handshake"))

    def data_received(self, data):
        if not self.upgraded.done():
            self.head += data
            end = self.head.find(b"\r\n\r\n")
            if end < 0:
                return
            if not self.head.startswith(b"HTTP/1.1 101"):
                self.upgraded.set_exception(ConnectionError(self.head[:200].decode("latin-1")))
                return
            data, self.head = self.head[end + 4:], b""
            self.upgraded.set_result(None)
            if self.stalled:
                self.transport.pause_reading()
                return
            if not data:
                return
        now_ns = time.time_ns()
        if self.rest:
            data = self.rest + data
        n = len(data)
        count, i = walk(data, n, 0)
        while i < n:                    # stopped at a control frame, or an incomplete one
            end = frame_end(data, i, n)
            if end < 0:
                break
            self._control(data[i] & 0x0F, data, i, end)
            more, i = walk(data, n, end)
            count += more
        self.rest = data[i:] if i < n else b""
        self.messages += count
        self.chunks += 1
        if self.chunks % SAMPLE_EVERY == 0:
            stats = self.stats
            if stats["sampling"]:
                now_ms = now_ns / 1e6
                for e, t in _TRADE_TIMES.findall(data, 0, i):
                    stats["lag_e"].append(now_ms - int(e))
                    stats["lag_t"].append(now_ms - int(t))

    def _control(self, opcode, data, i, end):
        b1 = data[i + 1]
        start = i + 2 if b1 < 126 else i + 4 if b1 == 126 else i + 10
        payload = data[start:end]
        if opcode == 0x9:               # ping: a masked pong with the same payload
            self.transport.write(bytes((0x8A, 0x80 | len(payload))) + b"\0\0\0\0" + payload)
        elif opcode == 0x8:             # close
            self.close_code = int.from_bytes(payload[:2], "big") if len(payload) >= 2 else 1005
            self.transport.close()


def _handshake(path: str, port: int) -> bytes:
    key = base64.b64encode(os.urandom(16)).decode()
    return (f"GET {path} HTTP/1.1\r\nHost: {HOST}:{port}\r\nUpgrade: websocket\r\n"
            f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n"
            f"Sec-WebSocket-Version: 13\r\n\r\n").encode()


async def _open(port, path, stats, stalled, limit):
    loop = asyncio.get_running_loop()
    async with limit:
        sock = None
        if stalled:   # a small receive buffer: the backlog piles up in the server
            sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
            sock.setblocking(False)
            await loop.sock_connect(sock, (HOST, port))
            _, proto = await loop.create_connection(
                lambda: Subscriber(_handshake(path, port), stats, True), sock=sock)
        else:
            _, proto = await loop.create_connection(
                lambda: Subscriber(_handshake(path, port), stats, False), HOST, port)
        await proto.upgraded
        return proto


def subscribers(port, path, n, stall, pipe):
    """Process entry: open ``n`` readers and ``stall`` stalled connections, report, close."""
    import uvloop
    global walk
    walk = build_walk()

    async def run():
        stats = {"sampling": False, "lag_e": [], "lag_t": []}
        limit = asyncio.Semaphore(CONNECT_AT_ONCE)
        subs = await asyncio.gather(*(_open(port, path, stats, False, limit) for _ in range(n)))
        stalled = await asyncio.gather(*(_open(port, path, stats, True, limit)
                                         for _ in range(stall)))
        pipe.send("connected")
        loop = asyncio.get_running_loop()
        await loop.run_in_executor(None, pipe.recv)         # start of the timed window
        c0 = sum(s.messages for s in subs)
        stats["sampling"] = True
        t0 = time.perf_counter()
        ru0 = resource.getrusage(resource.RUSAGE_SELF)
        await loop.run_in_executor(None, pipe.recv)         # its end
        stats["sampling"] = False
        c1 = sum(s.messages for s in subs)
        elapsed = time.perf_counter() - t0
        ru1 = resource.getrusage(resource.RUSAGE_SELF)
        cpu = (ru1.ru_utime + ru1.ru_stime - ru0.ru_utime - ru0.ru_stime) / elapsed
        per_sub = sorted(s.messages for s in subs)
        closed = {}
        for s in subs:
            if s.close_code is not None or s.lost:
                closed[s.close_code] = closed.get(s.close_code, 0) + 1
        for s in subs + stalled:
            s.transport.abort()
        pipe.send({"messages": c1 - c0, "seconds": elapsed, "cpu": cpu,
                   "lag_e": stats["lag_e"], "lag_t": stats["lag_t"],
                   "min_sub": per_sub[0] if per_sub else 0,
                   "max_sub": per_sub[-1] if per_sub else 0, "closed": closed})

    uvloop.run(run())


# ---- the server side (this process) ---------------------------------------------------------

def rss_mb() -> float:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def cpu_s():
    """(user, system) CPU seconds of this process."""
    ru = resource.getrusage(resource.RUSAGE_SELF)
    return ru.ru_utime, ru.ru_stime


class OrderFlow:
    """Trades at ``rate`` a second: 1-share LIMIT buys crossing a resting sell of ``lot``
    shares, which is renewed every ``lot`` buys; many submits in flight at once."""

    def __init__(self, venue, seller: int, buyer: int, rate: float, lot: int = 1000,
                 max_in_flight: int = 2_000):
        self.venue = venue
        self.seller, self.buyer = seller, buyer
        self.rate = rate
        self.lot = lot
        self.max_in_flight = max_in_flight
        self.in_flight = 0
        self.skipped = 0      # trades not sent because too many submits were in flight
        self.failed = 0       # submits that raised (Busy) or were rejected
        self.commands = 0
        self._task = None

    def start(self):
        self._task = asyncio.get_running_loop().create_task(self._run())

    async def stop(self):
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task
        while self.in_flight:
            await asyncio.sleep(0.05)

    async def _run(self):
        from exchange.engine import OrderType, PlaceOrder, Side
        loop = asyncio.get_running_loop()
        sell = PlaceOrder(0, self.seller, "AAPL", Side.SELL, OrderType.LIMIT, qty=self.lot,
                          price=PRICE)
        buy = PlaceOrder(0, self.buyer, "AAPL", Side.BUY, OrderType.LIMIT, qty=1, price=PRICE)
        t0 = loop.time()
        sent = 0
        while True:
            due = int((loop.time() - t0) * self.rate)
            for _ in range(due - sent):
                if self.in_flight >= self.max_in_flight:
                    self.skipped += 1
                    continue
                # tasks start in creation order: the sell rests before the buys that cross it
                if self.commands % (self.lot + 1) == 0:
                    self._send(loop, sell)
                self._send(loop, buy)
            sent = due
            await asyncio.sleep(0.002)

    def _send(self, loop, cmd):
        self.commands += 1
        self.in_flight += 1
        loop.create_task(self._submit(cmd))

    async def _submit(self, cmd):
        from exchange.engine import CommandRejected
        try:
            events = await self.venue.submit(cmd)
            if any(type(e) is CommandRejected for e in events):
                self.failed += 1
        except Exception:
            self.failed += 1
        finally:
            self.in_flight -= 1


def time_flushes(hub) -> tuple:
    """Wrap ``hub.flush`` (the hub schedules ``self.flush``): record each one's duration and
    how long its oldest trade message waited since publication (its ``E``), in ms."""
    times, waits, flush, clock = [], [], hub.flush, time.perf_counter
    event_time = re.compile(rb'"E":(\d+)')

    def timed():
        for stream, messages in hub.pending.items():
            if stream.endswith("@trade") and messages:
                waits.append(time.time_ns() / 1e6 - int(event_time.search(messages[0])[1]))
                break
        t0 = clock()
        flush()
        times.append((clock() - t0) * 1e3)
    hub.flush = timed
    return times, waits


def time_gc() -> list:
    """Record the server's garbage collection pauses in ms of CPU time (gc.callbacks; CPU
    time, so time the process spent preempted by others is left out)."""
    import gc
    times, clock, started = [], time.thread_time, [0.0]

    def callback(phase, info):
        if phase == "start":
            started[0] = clock()
        else:
            times.append((clock() - started[0]) * 1e3)
    gc.callbacks.append(callback)
    return times


class TradeCounter:
    """A batcher listener: trades committed (and so published)."""

    def __init__(self):
        self.trades = 0

    def on_commit(self, batch):
        from exchange.engine import Traded
        n = 0
        for _, events in batch:
            for ev in events:
                n += type(ev) is Traded
        self.trades += n


def percentile(sorted_values, q):
    if not sorted_values:
        return float("nan")
    return sorted_values[min(len(sorted_values) - 1, int(q * len(sorted_values)))]


async def run(args, dsn, data_dir):
    from aiohttp import web

    from exchange import keys
    from exchange.bootstrap import create_account
    from exchange.server import create_app
    from exchange.keys import BATCHER, VENUE
    from exchange.settings import Settings

    extra = {"ws_flush_ms": args.flush_ms} if args.flush_ms is not None else {}
    if args.max_buffer:
        extra["ws_max_buffer_bytes"] = args.max_buffer
    settings = Settings(database_url=dsn, data_dir=data_dir, durability="sync",
                        log_level="WARNING", **extra)
    app = create_app(settings, on_fatal=lambda error: print("journal failed:", error))
    runner = web.AppRunner(app, access_log=None)
    with contextlib.redirect_stdout(io.StringIO()):   # the demo account's credentials
        await runner.setup()
    site = web.TCPSite(runner, HOST, 0, backlog=1024)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]
    rss = [("started", rss_mb())]
    procs = []
    try:
        funds = {"USD": "100000000000.00", "AAPL": "1000000000"}
        seller = (await create_account(app, "feed-seller", funds))["account_id"]
        buyer = (await create_account(app, "feed-buyer", funds))["account_id"]
        hub, batcher = app[keys.HUB], app[BATCHER]
        counter = TradeCounter()
        batcher.on_commit(counter.on_commit)
        flushes, waits = time_flushes(hub)
        pauses = time_gc()

        ctx = multiprocessing.get_context("spawn")
        pipes = []
        for p in range(args.client_procs):
            n = args.subscribers // args.client_procs + (p < args.subscribers % args.client_procs)
            k = args.stall // args.client_procs + (p < args.stall % args.client_procs)
            parent, child = ctx.Pipe()
            proc = ctx.Process(target=subscribers, args=(port, args.path, n, k, child),
                               daemon=True)
            proc.start()
            procs.append(proc)
            pipes.append(parent)
        t_connect = time.perf_counter()
        for pipe in pipes:
            msg = await asyncio.to_thread(pipe.recv)
            assert msg == "connected", msg
        print(f"connected {args.subscribers:,} subscribers"
              f"{f' + {args.stall} stalled' if args.stall else ''} in "
              f"{time.perf_counter() - t_connect:.1f} s")
        rss.append(("connected", rss_mb()))

        flow = OrderFlow(app[VENUE], seller, buyer, args.trades_per_s)
        flow.start()
        t_start = time.perf_counter()
        sampler = asyncio.get_running_loop().create_task(_sample_rss(rss, t_start, hub))
        await asyncio.sleep(args.warmup)

        for pipe in pipes:
            pipe.send("start")
        trades0, delivered0, batches0, seq0 = (counter.trades, hub.delivered, batcher.batches,
                                               batcher.committed_seq)
        flushes.clear()
        waits.clear()
        pauses.clear()
        c0, w0 = cpu_s(), time.perf_counter()
        profiler = None
        if args.profile:
            import cProfile
            profiler = cProfile.Profile()
            profiler.enable()
        await asyncio.sleep(args.seconds)
        if profiler is not None:
            profiler.disable()
            profiler.dump_stats(args.profile)
        for pipe in pipes:
            pipe.send("stop")
        elapsed = time.perf_counter() - w0
        c1 = cpu_s()
        flush_times = sorted(flushes)
        wait_times = sorted(waits)
        gc_times = sorted(p for p in pauses if p is not None)
        trades = counter.trades - trades0
        delivered = hub.delivered - delivered0
        batches, seqs = batcher.batches - batches0, batcher.committed_seq - seq0
        sampler.cancel()
        rss.append(("end", rss_mb()))   # before the clients' samples arrive in this process
        results = [await asyncio.to_thread(pipe.recv) for pipe in pipes]
        import gc
        tracked = len(gc.get_objects())
        await flow.stop()
    finally:
        with contextlib.redirect_stdout(io.StringIO()):
            await runner.cleanup()
        for proc in procs:
            proc.join(5)

    messages = sum(r["messages"] for r in results)
    window = max(r["seconds"] for r in results)
    lag_e = sorted(x for r in results for x in r["lag_e"])
    lag_t = sorted(x for r in results for x in r["lag_t"])
    print(f"trades       {trades / elapsed:>10,.0f} /s committed and published "
          f"(target {args.trades_per_s:,.0f}; {batches:,} transactions of "
          f"{seqs / batches if batches else 0:,.1f} commands; skipped {flow.skipped:,}, "
          f"failed submits {flow.failed:,})")
    print(f"delivered    {messages / window:>10,.0f} messages/s received by the clients "
          f"({messages / window / max(1, args.subscribers):,.0f} per subscriber; slowest "
          f"subscriber {min(r['min_sub'] for r in results):,}, fastest "
          f"{max(r['max_sub'] for r in results):,} in the window); the hub wrote "
          f"{delivered / elapsed:,.0f} messages/s")
    print(f"lag E        p50 {percentile(lag_e, 0.5):6.1f} ms   p99 "
          f"{percentile(lag_e, 0.99):6.1f} ms   max {lag_e[-1] if lag_e else float('nan'):6.1f} ms"
          f"   (publish -> receipt, {len(lag_e):,} sampled trade messages)")
    print(f"lag T        p50 {percentile(lag_t, 0.5):6.1f} ms   p99 "
          f"{percentile(lag_t, 0.99):6.1f} ms   max {lag_t[-1] if lag_t else float('nan'):6.1f} ms"
          f"   (trade stamp -> receipt: adds the commit)")
    if flush_times:
        print(f"hub flush    {len(flush_times) / elapsed:,.0f} /s, each p50 "
              f"{percentile(flush_times, 0.5):.1f} ms   p99 {percentile(flush_times, 0.99):.1f} ms"
              f"   max {flush_times[-1]:.1f} ms; the oldest trade in a flush waited p50 "
              f"{percentile(wait_times, 0.5):.1f} ms   p99 {percentile(wait_times, 0.99):.1f} ms"
              f" since its publication")
    if gc_times:
        print(f"gc pauses    {len(gc_times) / elapsed:,.0f} /s, CPU p99 {percentile(gc_times, 0.99):.1f} ms"
              f"   max {gc_times[-1]:.1f} ms   total {sum(gc_times) / elapsed / 10:.1f}% of the time;"
              f" {tracked:,} objects tracked at the end")
    closed = {}
    for r in results:
        for code, count in r["closed"].items():
            closed[code] = closed.get(code, 0) + count
    user, system = (c1[0] - c0[0]) / elapsed, (c1[1] - c0[1]) / elapsed
    print(f"cpu          server {user + system:.0%} of a core ({user:.0%} user, {system:.0%} "
          f"system), clients "
          f"{' + '.join(format(r['cpu'], '.0%') for r in results)} ({os.cpu_count()} cores)")
    print(f"server RSS   {'   '.join(f'{what} {mb:,.1f} MB' for what, mb in rss[:2] + rss[-1:])}")
    if args.stall:
        series = "  ".join(f"{what}:{mb:,.0f}" for what, mb in rss[2:-1])
        print(f"RSS over time (s: MB, drops so far)  {series}")
    print(f"dropped      {hub.dropped} subscribers by the hub (slow, close 1008; "
          f"ws_max_buffer_bytes {settings.ws_max_buffer_bytes:,})"
          f"{f'; readers closed: {closed}' if closed else ''}")


async def _sample_rss(rss, t0, hub):
    while True:
        await asyncio.sleep(5)
        rss.append((f"{time.perf_counter() - t0:.0f}s", rss_mb()))
        if hub.dropped:
            rss[-1] = (rss[-1][0] + f"(d{hub.dropped})", rss[-1][1])


async def main_async(args):
    import asyncpg

    tmp = tempfile.TemporaryDirectory(prefix="bench-feed-")
    name = f"bench_{uuid.uuid4().hex[:12]}"
    conn = await asyncpg.connect(args.dsn)
    await conn.execute(f'CREATE DATABASE "{name}"')
    await conn.close()
    dsn = urlunsplit(urlsplit(args.dsn)._replace(path="/" + name))
    try:
        print(f"python {sys.version.split()[0]}, {os.cpu_count()} cores, {args.subscribers:,} "
              f"subscribers on {args.path} in {args.client_procs} process(es), "
              f"{args.trades_per_s:,.0f} trades/s asked, {args.warmup:g} s warm-up + "
              f"{args.seconds:g} s timed, durability sync")
        await run(args, dsn, tmp.name)
    finally:
        conn = await asyncpg.connect(args.dsn)
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await conn.close()
        tmp.cleanup()


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--subscribers", type=int, default=1000)
    ap.add_argument("--trades-per-s", type=float, default=2000.0)
    ap.add_argument("--seconds", type=float, default=30.0, help="timed seconds")
    ap.add_argument("--warmup", type=float, default=5.0, help="untimed seconds first")
    ap.add_argument("--stall", type=int, default=0, help="subscribers that never read")
    ap.add_argument("--max-buffer", type=int, help="ws_max_buffer_bytes (default: the "
                    "setting's, 4 MiB); smaller drops stalled subscribers sooner")
    ap.add_argument("--flush-ms", type=int, help="ws_flush_ms (default: the setting's)")
    ap.add_argument("--client-procs", type=int, default=1, help="subscriber processes")
    ap.add_argument("--path", default=DEFAULT_PATH, help="the WebSocket path to open")
    ap.add_argument("--dsn", default="postgresql://postgres@127.0.0.1:5432/test",
                    help="admin DSN of a PostgreSQL (a fresh database is made in it)")
    ap.add_argument("--profile", metavar="FILE", help="cProfile the server's timed window")
    args = ap.parse_args()
    import uvloop
    uvloop.run(main_async(args))


if __name__ == "__main__":
    main()
