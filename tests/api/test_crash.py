"""Crash safety: `exchange serve` killed with SIGKILL under load loses nothing acknowledged.

The server runs as a subprocess on a real PostgreSQL. Concurrent clients send
signed orders (crossing each other, with self-trade prevention off so they
trade) and cancels; every response that came back is an acknowledgement we
record. At random moments the server is killed with SIGKILL and restarted on
the same database, at least five times. Then the database must hold every
acknowledged order and trade with at least its acknowledged state, and be
internally whole: no command half-applied, every asset conserved.
"""

import asyncio
import json
import os
import random
import signal
import socket
import subprocess
import sys
import time
from decimal import Decimal
from urllib.parse import urlencode

import aiohttp
import asyncpg

from exchange.api import sign

KILLS = 5
CLIENTS = 6
FINAL = {"FILLED", "CANCELED", "EXPIRED", "EXPIRED_IN_MATCH", "REJECTED"}


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    def __init__(self, dsn, data_dir):
        self.dsn, self.data_dir, self.port = dsn, data_dir, free_port()
        self.proc = None
        self.log = open(data_dir / "server.log", "ab")

    async def start(self):
        # snapshots every 50 commands: restarts recover from a snapshot and the journal's
        # tail, and some kills land while one is being taken
        env = dict(os.environ, EXCHANGE_DATABASE_URL=self.dsn, EXCHANGE_LOG_LEVEL="WARNING",
                   EXCHANGE_SNAPSHOT_EVERY="50")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "exchange.cli", "serve", "--port", str(self.port),
             "--data-dir", str(self.data_dir)],
            env=env, stdout=self.log, stderr=self.log)
        deadline = time.monotonic() + 90
        async with aiohttp.ClientSession() as http:
            while time.monotonic() < deadline:
                assert self.proc.poll() is None, (self.data_dir / "server.log").read_text()
                try:
                    async with http.get(f"{self.url}/healthz") as resp:
                        if resp.status == 200:
                            return
                except aiohttp.ClientError:
                    pass
                await asyncio.sleep(0.1)
        raise AssertionError("server did not become healthy")

    @property
    def url(self):
        return f"http://127.0.0.1:{self.port}"

    def kill(self):
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait()


async def signed(http, url, creds, method, path, params):
    params = dict(params, timestamp=int(time.time() * 1000), recvWindow=60000)
    payload = urlencode(params)
    payload += "&signature=" + sign(creds["api_secret"], payload)
    headers = {"X-MBX-APIKEY": creds["api_key"],
               "Content-Type": "application/x-www-form-urlencoded"}
    async with http.request(method, url + path, data=payload.encode(), headers=headers) as r:
        return r.status, await r.json()


async def load(server, creds, rng, acked, stop):
    """Send orders and cancels until ``stop``; record every acknowledged response."""
    async def client(n):
        mine = []
        async with aiohttp.ClientSession() as http:
            while not stop.is_set():
                try:
                    if mine and rng.random() < 0.2:
                        oid = mine.pop(rng.randrange(len(mine)))
                        status, body = await signed(http, server.url, creds, "DELETE",
                                                    "/api/v3/order",
                                                    {"symbol": "AAPL", "orderId": oid})
                        if status == 200:
                            acked["cancels"][body["orderId"]] = body
                        continue
                    side = rng.choice(("BUY", "SELL"))
                    price = f"{rng.choice((99.98, 99.99, 100.00, 100.01, 100.02)):.2f}"
                    status, body = await signed(http, server.url, creds, "POST",
                                                "/api/v3/order", {
                        "symbol": "AAPL", "side": side, "type": "LIMIT",
                        "timeInForce": "GTC", "quantity": str(rng.randint(1, 5)),
                        "price": price, "newOrderRespType": "FULL",
                        "selfTradePreventionMode": "NONE",
                        "newClientOrderId": f"c{n}x{len(acked['orders'])}x{rng.random():.9f}"[:36]})
                    if status == 200:
                        acked["orders"][body["orderId"]] = body
                        if body["status"] in ("NEW", "PARTIALLY_FILLED"):
                            mine.append(body["orderId"])
                except (aiohttp.ClientError, asyncio.TimeoutError, ConnectionError):
                    await asyncio.sleep(0.01)  # the server is gone: no acknowledgement

    await asyncio.gather(*(client(n) for n in range(CLIENTS)))


async def test_sigkill_under_load_loses_nothing_acknowledged(fresh_dsn, tmp_path):
    rng = random.Random(20261122)
    server = Server(fresh_dsn, tmp_path)
    acked = {"orders": {}, "cancels": {}}
    await server.start()
    creds = json.loads((tmp_path / "demo-credentials.json").read_text())
    for _ in range(KILLS):
        stop = asyncio.Event()
        traffic = asyncio.create_task(load(server, creds, rng, acked, stop))
        await asyncio.sleep(rng.uniform(0.5, 2.0))
        server.kill()  # mid-flight: requests in progress get no acknowledgement
        stop.set()
        await traffic
        await server.start()  # recovery must succeed on the same database
    print(f"acknowledged {len(acked['orders'])} orders, {len(acked['cancels'])} cancels")
    assert len(acked["orders"]) > 50 and acked["cancels"], "the load did not get going"

    # The restarted venue still trades.
    async with aiohttp.ClientSession() as http:
        status, body = await signed(http, server.url, creds, "POST", "/api/v3/order", {
            "symbol": "AAPL", "side": "BUY", "type": "LIMIT", "timeInForce": "GTC",
            "quantity": "1", "price": "90.00"})
        assert status == 200, body
    server.kill()

    db = await asyncpg.connect(fresh_dsn)
    try:
        orders = {r["order_id"]: r for r in await db.fetch("SELECT * FROM orders")}
        trades = {r["trade_id"]: r for r in await db.fetch("SELECT * FROM trades")}
        print(f"database: {len(orders)} orders, {len(trades)} trades")
        # Every acknowledged order is there, at least as far along as acknowledged.
        for oid, ack in acked["orders"].items():
            row = orders[oid]
            assert row["executed_qty"] >= int(ack["executedQty"]), oid
            if ack["status"] in FINAL:
                assert row["status"] == ack["status"], oid
            for fill in ack.get("fills", []):
                trade = trades[fill["tradeId"]]
                assert (trade["price"], trade["qty"]) == (int(Decimal(fill["price"]) * 100),
                                                          int(fill["qty"]))
        for oid in acked["cancels"]:
            assert orders[oid]["status"] == "CANCELED", oid
        # Nothing half-applied: each order's trades add up to its executed quantity ...
        executed = {}
        for t in trades.values():
            for oid in (t["maker_order_id"], t["taker_order_id"]):
                executed[oid] = executed.get(oid, 0) + t["qty"]
        for oid, row in orders.items():
            assert executed.get(oid, 0) == row["executed_qty"], oid
        # ... the journal has no gap, the ledger adds up to the balances ...
        seqs = await db.fetchval("SELECT count(*) = max(seq) FROM journal")
        assert seqs
        assert await db.fetchval("SELECT count(*) FROM snapshots") > 0
        mismatched = await db.fetch("""
            SELECT b.account_id, b.asset FROM balances b
            LEFT JOIN (SELECT account_id, asset, sum(free_delta) AS f, sum(locked_delta) AS l
                       FROM ledger_entries GROUP BY account_id, asset) e
              USING (account_id, asset)
            WHERE b.free <> coalesce(e.f, 0) OR b.locked <> coalesce(e.l, 0)""")
        assert mismatched == []
        # ... and every asset is conserved: balances sum to deposits - withdrawals.
        unbalanced = await db.fetch("""
            SELECT asset FROM balances GROUP BY asset
            HAVING sum(free + locked) <> (
                SELECT coalesce(sum(free_delta), 0) FROM ledger_entries e
                WHERE e.asset = balances.asset AND e.reason IN ('DEPOSIT', 'WITHDRAWAL'))""")
        assert unbalanced == []
    finally:
        await db.close()
