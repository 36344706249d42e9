"""The server's life: first start, restart with recovery, refusal on bad state, settings, CLI."""

import asyncio
import json
import os
import socket
import subprocess
import sys
import time

import asyncpg
import pytest
from aiohttp import ClientSession
from aiohttp.test_utils import TestClient, TestServer

from exchange import settings as config
from exchange.server import create_app
from exchange.keys import DEMO_CREDENTIALS, RECOVERED, VENUE
from exchange.settings import Settings
from exchange.store import RecoveryError


async def start(dsn, data_dir):
    app = create_app(Settings(database_url=dsn, data_dir=str(data_dir)),
                     on_fatal=lambda error: None)
    client = TestClient(TestServer(app, host="127.0.0.1"))
    await client.start_server()
    return app, client


async def test_restart_recovers_orders_and_keeps_the_demo_account(fresh_dsn, tmp_path, trader):
    app, client = await start(fresh_dsn, tmp_path)
    creds = app[DEMO_CREDENTIALS]
    assert json.loads((tmp_path / "demo-credentials.json").read_text()) == creds
    alice = trader(client, creds["api_key"], creds["api_secret"])
    status, placed, _ = await alice.order(symbol="AAPL", side="BUY", type="LIMIT",
                                          timeInForce="GTC", quantity="2", price="100.00")
    assert status == 200
    final_seq = app[VENUE].sequencer.seq
    await client.close()
    # the shutdown took a snapshot of the final state, and the next start begins there
    conn = await asyncpg.connect(fresh_dsn)
    try:
        assert await conn.fetchval("SELECT max(seq) FROM snapshots") == final_seq
    finally:
        await conn.close()

    app, client = await start(fresh_dsn, tmp_path)
    try:
        assert app[RECOVERED] == {"snapshot": final_seq, "replayed": 0}
        assert DEMO_CREDENTIALS not in app  # not created twice
        alice = trader(client, creds["api_key"], creds["api_secret"])
        _, opened, _ = await alice.signed("GET", "/api/v3/openOrders")
        assert [o["orderId"] for o in opened] == [placed["orderId"]]
        _, depth, _ = await alice.public("/api/v3/depth", symbol="AAPL")
        assert depth["bids"] == [["100.00", "2"]]
        resp = await client.get("/healthz")
        health = await resp.json()
        assert resp.status == 200 and health["status"] == "ok"
        # the recovered state is all committed: the probe says so before any new commit
        assert health["seq"] == health["committed_seq"] == final_seq
    finally:
        await client.close()


async def test_refuses_to_serve_when_recovery_fails(fresh_dsn, tmp_path):
    app, client = await start(fresh_dsn, tmp_path)
    await client.close()
    conn = await asyncpg.connect(fresh_dsn)
    try:
        await conn.execute("UPDATE balances SET free = free + 1 WHERE account_id = 1 "
                           "AND asset = 'USD'")
    finally:
        await conn.close()
    app = create_app(Settings(database_url=fresh_dsn, data_dir=str(tmp_path)))
    server = TestServer(app, host="127.0.0.1")
    with pytest.raises(RecoveryError):
        await server.start_server()
    await server.close()


def test_settings_layering(tmp_path):
    toml = tmp_path / "config.toml"
    toml.write_text('[server]\nport = 9001\nhost = "0.0.0.0"\n[store]\ndurability = "async"\n')
    s = config.load(env={"EXCHANGE_PORT": "9002"}, path=toml)
    assert (s.port, s.host, s.durability) == (9002, "0.0.0.0", "async")
    s = config.load({"port": 9003}, env={"EXCHANGE_PORT": "9002"}, path=toml)
    assert s.port == 9003
    with pytest.raises(ValueError):
        config.load(env={"EXCHANGE_PORT": "lots"}, path=toml)
    with pytest.raises(ValueError):
        config.load(env={"EXCHANGE_DURABILITY": "maybe"}, path=toml)
    defaults = config.load(env={})
    assert defaults.durability == "sync" and defaults.max_backlog == 50_000


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


async def test_exchange_serve_command_starts_a_working_server(fresh_dsn, tmp_path):
    port = free_port()
    env = dict(os.environ, EXCHANGE_DATABASE_URL=fresh_dsn)
    proc = subprocess.Popen(
        [sys.executable, "-m", "exchange.cli", "serve", "--port", str(port),
         "--data-dir", str(tmp_path)], env=env, stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT)
    try:
        async with ClientSession() as session:
            deadline = time.monotonic() + 30
            while True:
                try:
                    async with session.get(f"http://127.0.0.1:{port}/healthz") as resp:
                        if resp.status == 200:
                            break
                except OSError:
                    pass
                assert time.monotonic() < deadline and proc.poll() is None, "server did not start"
                await asyncio.sleep(0.2)
            async with session.get(f"http://127.0.0.1:{port}/api/v3/ticker/price",
                                   params={"symbol": "TSLA"}) as resp:
                assert await resp.json() == {"symbol": "TSLA", "price": "100.00"}
        creds = json.loads((tmp_path / "demo-credentials.json").read_text())
        # the API key and, since issue 14, the demo login for the trading page
        assert set(creds) == {"api_key", "api_secret", "email", "password"}
    finally:
        proc.terminate()
        out, _ = proc.communicate(timeout=30)
    # a redirected stdout is told where the credentials are, never what they are (issue 14)
    out = out.decode()
    assert str(tmp_path / "demo-credentials.json") in out
    assert all(creds[k] not in out for k in ("api_key", "api_secret", "password"))


async def test_a_failed_snapshot_is_tried_again_only_after_another_snapshot_every(
        monkeypatch, tmp_path):
    from types import SimpleNamespace

    from exchange import snapshotter as snapshot_schedule

    attempts = []

    async def failing_take(sequencer, batcher, pool, data_dir, day_end_s):
        attempts.append(sequencer.seq)
        raise OSError("no space left on device")

    monkeypatch.setattr(snapshot_schedule.snapshots, "take", failing_take)
    sequencer = SimpleNamespace(seq=100)
    snapshotter = snapshot_schedule.Snapshotter(sequencer, SimpleNamespace(error=None), None,
                                                Settings(data_dir=str(tmp_path), snapshot_every=100), 0)
    with pytest.raises(OSError):
        await snapshotter.maybe()
    sequencer.seq = 150
    await snapshotter.maybe()          # 50 commands since the failure: not yet
    sequencer.seq = 200
    with pytest.raises(OSError):
        await snapshotter.maybe()
    assert attempts == [100, 200]
