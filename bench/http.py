"""HTTP order entry end to end, beside a bare aiohttp handler, in the same run.

    python bench/http.py [--connections N] [--seconds S] [--warmup S] [--dsn DSN]
                         [--client-ids] [--profile FILE]

Three targets, one after the other, each served alone by this process on
uvloop and driven by the same load generator in a SEPARATE process (spawned)
with N concurrent keep-alive HTTP/1.1 connections, closed loop (each sends
its next request when the previous answer arrived):

- bare: an aiohttp POST handler that reads the body and returns a small JSON
  body: the ceiling of aiohttp on this machine;
- floor: the least any durable signed order entry must do, and nothing more:
  look up the key's secret, check the HMAC, parse the form, append the raw
  body to a group commit (one ``INSERT ... unnest`` per commit, one in flight
  while the next fills, on the same PostgreSQL) and answer a small JSON body
  once its commit is done. No validation, no engine, no state: a bound on
  what the real server can reach here;
- server: ``exchange.server.create_app`` (durability=sync) on a real
  PostgreSQL: ``--dsn`` (a fresh database is created in it and dropped
  afterwards), else an embedded one (``open_database``) in a temp dir.
  ``POST /api/v3/order`` per request: HMAC signature check, parameter
  parsing, the sequencer, the journal commit, the JSON response (FULL).

Requests are signed like a Binance client (``X-MBX-APIKEY``, ``timestamp``,
HMAC-SHA256 of the form body) at send time; both targets receive the same
bytes. Orders alternate buy and sell LIMIT GTC of 1-5 shares of AAPL priced a
few ticks around 100.00 (``selfTradePreventionMode=NONE``), so about a third
trade and the rest rest; each connection has its own funded account (made
with ``exchange.bootstrap.create_account``). ``--client-ids`` also sends a
``newClientOrderId`` (the server then checks the orders table for a reused
id). The first ``--warmup`` seconds are excluded. Prints requests/s and
latency percentiles for each, the throughput ratios to bare, and the
commits and average orders per commit during the timed window.
``--profile FILE`` runs cProfile in the server process during the timed
window of the server run and writes its stats to FILE (slows the run).
Prints figures; asserts nothing.
"""

import os
import sys

# This file is named like the standard library's ``http`` package: keep its
# directory off the import path, or aiohttp's ``import http`` would load it.
_HERE = os.path.dirname(os.path.abspath(__file__))
sys.path[:] = [p for p in sys.path if os.path.abspath(p or ".") != _HERE]
sys.path.insert(0, os.path.dirname(_HERE))

import argparse  # noqa: E402
import asyncio  # noqa: E402
import contextlib  # noqa: E402
import hashlib  # noqa: E402
import hmac  # noqa: E402
import io  # noqa: E402
import multiprocessing  # noqa: E402
import random  # noqa: E402
import resource  # noqa: E402
import statistics  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
import uuid  # noqa: E402
from urllib.parse import parse_qsl, urlsplit, urlunsplit  # noqa: E402

HOST = "127.0.0.1"
ORDER_PATH = "/api/v3/order"
MID_TICKS = 100_00  # the demo instruments' reference price, 100.00


# ---- the load generator (runs in its own process) -------------------------------------------

class _Conn(asyncio.Protocol):
    """One keep-alive HTTP/1.1 connection: send a request, wait for one whole response."""

    def __init__(self):
        self.transport = None
        self.buf = bytearray()
        self.waiter = None
        self.closed = None

    def connection_made(self, transport):
        self.transport = transport

    def data_received(self, data):
        buf = self.buf
        buf += data
        if self.waiter is None:
            return
        end = buf.find(b"\r\n\r\n")
        if end < 0:
            return
        head = bytes(buf[:end])
        i = head.find(b"Content-Length: ")
        if i < 0:
            i = head.lower().find(b"content-length: ")
        j = head.find(b"\r\n", i)
        length = int(head[i + 16:j if j >= 0 else len(head)])
        total = end + 4 + length
        if len(buf) < total:
            return
        status = int(head[9:12])
        body = bytes(buf[end + 4:total])
        del buf[:total]
        waiter, self.waiter = self.waiter, None
        if not waiter.done():
            waiter.set_result((status, body))

    def connection_lost(self, exc):
        if self.waiter is not None and not self.waiter.done():
            self.waiter.set_exception(ConnectionError("connection closed"))

    def request(self, data: bytes) -> asyncio.Future:
        self.waiter = asyncio.get_running_loop().create_future()
        self.transport.write(data)
        return self.waiter


def _order_bodies(rng):
    """Endless order form bodies (without timestamp): alternating sides around the mid."""
    i = 0
    while True:
        side = "BUY" if i % 2 == 0 else "SELL"
        # buys from 4 below to 2 above the mid, sells the mirror: some cross, most rest
        offset = rng.randint(-4, 2)
        ticks = MID_TICKS + offset if side == "BUY" else MID_TICKS - offset
        yield (f"symbol=AAPL&side={side}&type=LIMIT&timeInForce=GTC"
               f"&quantity={rng.randint(1, 5)}&price={ticks // 100}.{ticks % 100:02d}"
               f"&selfTradePreventionMode=NONE")
        i += 1


async def _client(port, path, key, secret, warm_until, stop_at, seed, client_ids, out):
    loop = asyncio.get_running_loop()
    _, conn = await loop.create_connection(_Conn, HOST, port)
    secret_b = secret.encode()
    head = (f"POST {path} HTTP/1.1\r\nHost: {HOST}:{port}\r\nX-MBX-APIKEY: {key}\r\n"
            f"Content-Type: application/x-www-form-urlencoded\r\n").encode()
    bodies = _order_bodies(random.Random(seed))
    latencies, statuses = out["latencies"], out["statuses"]
    clock = time.perf_counter
    n = 0
    while True:
        t0 = clock()
        if t0 >= stop_at:
            break
        body = next(bodies)
        if client_ids:
            n += 1
            body += f"&newClientOrderId=b{seed}x{n}"
        body += f"&timestamp={int(time.time() * 1000)}"
        sig = hmac.new(secret_b, body.encode(), hashlib.sha256).hexdigest()
        body = (body + "&signature=" + sig).encode()
        status, _ = await conn.request(
            head + b"Content-Length: " + str(len(body)).encode() + b"\r\n\r\n" + body)
        t1 = clock()
        if t0 >= warm_until and t1 <= stop_at:
            latencies.append(t1 - t0)
            statuses[status] = statuses.get(status, 0) + 1
    conn.transport.close()


def loadgen(port, path, accounts, warmup_s, seconds, client_ids, pipe):
    """Process entry: drive ``path`` with one connection per account; send the results back."""
    import uvloop

    async def run():
        start = time.perf_counter()
        pipe.send(("started", time.time()))
        warm_until, stop_at = start + warmup_s, start + warmup_s + seconds
        out = {"latencies": [], "statuses": {}}
        await asyncio.gather(*(
            _client(port, path, a["api_key"], a["api_secret"], warm_until, stop_at, i,
                    client_ids, out)
            for i, a in enumerate(accounts)))
        return out

    out = uvloop.run(run())
    pipe.send(("done", out["latencies"], out["statuses"]))


def drive(port, path, accounts, args):
    """Start the load generator process; return (handle, pipe)."""
    ctx = multiprocessing.get_context("spawn")
    parent, child = ctx.Pipe()
    proc = ctx.Process(target=loadgen, args=(port, path, accounts, args.warmup, args.seconds,
                                             args.client_ids, child), daemon=True)
    proc.start()
    return proc, parent


async def _recv(pipe):
    return await asyncio.to_thread(pipe.recv)


# ---- the two targets (served by this process) ---------------------------------------------

def _cpu():
    """(this process's CPU seconds, the machine's busy and total jiffies)."""
    ru = resource.getrusage(resource.RUSAGE_SELF)
    with open("/proc/stat") as f:
        fields = [int(x) for x in f.readline().split()[1:]]
    idle = fields[3] + fields[4]
    return ru.ru_utime + ru.ru_stime, sum(fields) - idle, sum(fields)


def _cpu_line(before, after, seconds):
    own = (after[0] - before[0]) / seconds
    busy = (after[1] - before[1]) / max(1, after[2] - before[2])
    return (f"this process {own:.0%} of a core, the machine {busy:.0%} busy "
            f"({os.cpu_count()} cores)")


async def _timed_window(seconds, profile=None):
    """Sleep through the timed window (cProfile it into ``profile``); return CPU readings."""
    c0 = _cpu()
    profiler = None
    if profile:
        import cProfile
        profiler = cProfile.Profile()
        profiler.enable()
    await asyncio.sleep(seconds)
    if profiler is not None:
        profiler.disable()
        profiler.dump_stats(profile)
    return c0, _cpu()


async def _serve(app):
    from aiohttp import web
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, HOST, 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]
    return runner, port


def bare_app():
    import orjson
    from aiohttp import web

    async def order(request):
        await request.read()
        return web.Response(body=orjson.dumps({"symbol": "AAPL", "orderId": 1, "status": "NEW"}),
                            content_type="application/json")

    app = web.Application()
    app.router.add_post(ORDER_PATH, order)
    return app


def floor_app(pool, secrets: dict):
    """The floor target: key lookup, HMAC check, form parse, group commit, small reply.

    Returns ``(app, counts)``; ``counts`` holds the commits and orders so far."""
    import orjson
    from aiohttp import web

    pending = []      # (body, future) waiting for the next commit
    counts = {"commits": 0, "orders": 0, "task": None}

    async def commit():
        while pending:
            batch = pending[:]
            del pending[:]
            await pool.execute("INSERT INTO floor_journal (body) SELECT unnest($1::text[])",
                               [body for body, _ in batch])
            counts["commits"] += 1
            counts["orders"] += len(batch)
            for _, done in batch:
                done.set_result(None)
        counts["task"] = None

    async def order(request):
        body = await request.read()
        secret = secrets.get(request.headers.get("X-MBX-APIKEY"))
        i = body.rfind(b"&signature=")
        if secret is None or i < 0 or not hmac.compare_digest(
                hmac.new(secret, body[:i], hashlib.sha256).hexdigest().encode(), body[i + 11:]):
            return web.Response(status=401)
        params = dict(parse_qsl(body[:i].decode(), strict_parsing=True))
        loop = asyncio.get_running_loop()
        done = loop.create_future()
        pending.append((body.decode(), done))
        if counts["task"] is None:
            counts["task"] = loop.create_task(commit())
        await done
        return web.Response(body=orjson.dumps({"symbol": params["symbol"], "orderId": 1,
                                               "status": "NEW"}),
                            content_type="application/json")

    app = web.Application()
    app.router.add_post(ORDER_PATH, order)
    return app, counts


def summarize(name, latencies, statuses, seconds):
    lat = sorted(latencies)
    n = len(lat)
    if not n:
        print(f"{name:<8} no requests completed in the timed window")
        return 0.0
    q = statistics.quantiles(lat, n=1000, method="inclusive") if n > 1 else lat * 999
    rps = n / seconds
    other = {s: c for s, c in sorted(statuses.items()) if s != 200}
    print(f"{name:<8} {rps:>9,.0f} requests/s   p50 {q[499] * 1e3:6.2f} ms   "
          f"p99 {q[989] * 1e3:6.2f} ms   p99.9 {q[998] * 1e3:6.2f} ms   max "
          f"{lat[-1] * 1e3:6.1f} ms   ({n:,} requests"
          f"{', non-200: ' + str(other) if other else ''})")
    return rps


async def run_bare(args, accounts):
    runner, port = await _serve(bare_app())
    try:
        proc, pipe = drive(port, ORDER_PATH, accounts, args)
        await _recv(pipe)
        await asyncio.sleep(args.warmup)
        c0, c1 = await _timed_window(args.seconds)
        _, latencies, statuses = await _recv(pipe)
        proc.join()
    finally:
        await runner.cleanup()
    rps = summarize("bare", latencies, statuses, args.seconds)
    print(f"{'':<8} cpu: {_cpu_line(c0, c1, args.seconds)}")
    return rps


async def run_floor(args, dsn, data_dir, accounts):
    from exchange.store.db import open_database

    db = await open_database(dsn, os.path.join(data_dir, "floor"))
    try:
        await db.pool.execute("CREATE TABLE floor_journal "
                              "(seq bigserial PRIMARY KEY, body text NOT NULL)")
        app, counts = floor_app(db.pool, {a["api_key"]: a["api_secret"].encode()
                                          for a in accounts})
        runner, port = await _serve(app)
        try:
            proc, pipe = drive(port, ORDER_PATH, accounts, args)
            await _recv(pipe)
            await asyncio.sleep(args.warmup)
            k0, n0 = counts["commits"], counts["orders"]
            c0, c1 = await _timed_window(args.seconds)
            k1, n1 = counts["commits"], counts["orders"]
            _, latencies, statuses = await _recv(pipe)
            proc.join()
        finally:
            await runner.cleanup()
    finally:
        await db.close()
    rps = summarize("floor", latencies, statuses, args.seconds)
    print(f"{'':<8} cpu: {_cpu_line(c0, c1, args.seconds)}")
    print(f"{'':<8} {k1 - k0:,} commits in the timed window, "
          f"{(n1 - n0) / max(1, k1 - k0):,.1f} orders each")
    return rps


async def run_server(args, dsn, data_dir):
    from exchange.bootstrap import create_account
    from exchange.server import create_app
    from exchange.keys import BATCHER
    from exchange.settings import Settings

    settings = Settings(database_url=dsn or "", data_dir=data_dir, durability="sync",
                        weight_limit_1m=10**12, log_level="WARNING")
    app = create_app(settings, on_fatal=lambda error: print("journal failed:", error))
    with contextlib.redirect_stdout(io.StringIO()):  # the demo account's credentials
        runner, port = await _serve(app)
    try:
        accounts = [await create_account(app, f"bench{i}", {"USD": "100000000.00",
                                                            "AAPL": "10000000"})
                    for i in range(args.connections)]
        batcher = app[BATCHER]
        proc, pipe = drive(port, ORDER_PATH, accounts, args)
        await _recv(pipe)
        await asyncio.sleep(args.warmup)
        b0, s0 = batcher.batches, batcher.committed_seq
        c0, c1 = await _timed_window(args.seconds, args.profile)
        b1, s1 = batcher.batches, batcher.committed_seq
        _, latencies, statuses = await _recv(pipe)
        proc.join()
    finally:
        await runner.cleanup()
    rps = summarize("server", latencies, statuses, args.seconds)
    print(f"{'':<8} cpu: {_cpu_line(c0, c1, args.seconds)}")
    batches = b1 - b0
    print(f"{'':<8} batcher: {batches:,} transactions in the timed window, "
          f"{(s1 - s0) / batches if batches else 0:,.1f} commands each")
    return rps


async def main_async(args):
    import asyncpg

    tmp = tempfile.TemporaryDirectory(prefix="bench-http-")
    admin, name, dsn = args.dsn, None, None
    if admin:
        name = f"bench_{uuid.uuid4().hex[:12]}"
        conn = await asyncpg.connect(admin)
        await conn.execute(f'CREATE DATABASE "{name}"')
        await conn.close()
        dsn = urlunsplit(urlsplit(admin)._replace(path="/" + name))
    try:
        where = "given DSN" if admin else "embedded"
        print(f"python {sys.version.split()[0]}, {os.cpu_count()} cores, "
              f"{args.connections} connections, {args.warmup:g} s warm-up + {args.seconds:g} s "
              f"timed each, PostgreSQL {where}, durability sync")
        # bare and floor keep no accounts: random keys of the same shape do
        keys = [{"api_key": os.urandom(32).hex(), "api_secret": os.urandom(32).hex()}
                for _ in range(args.connections)]
        rps_bare = await run_bare(args, keys)
        rps_floor = await run_floor(args, dsn, tmp.name, keys)
        rps_server = await run_server(args, dsn, tmp.name)
        if rps_bare:
            print(f"ratio    floor / bare = {rps_floor / rps_bare:.0%}, server / bare = "
                  f"{rps_server / rps_bare:.0%} of the bare handler's requests/s")
    finally:
        if name is not None:
            conn = await asyncpg.connect(admin)
            await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            await conn.close()
        tmp.cleanup()


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--connections", type=int, default=16)
    ap.add_argument("--seconds", type=float, default=10.0, help="timed seconds per target")
    ap.add_argument("--warmup", type=float, default=2.0, help="untimed seconds per target")
    ap.add_argument("--dsn", help="admin DSN of a PostgreSQL (default: embedded in a temp dir)")
    ap.add_argument("--client-ids", action="store_true", help="send newClientOrderId")
    ap.add_argument("--profile", metavar="FILE", help="cProfile the server run into FILE")
    args = ap.parse_args()
    import uvloop
    uvloop.run(main_async(args))


if __name__ == "__main__":
    main()
