"""The client's address and the probes under rate limiting, against the real server.

Health probes are never charged nor refused; /api/v3/ping is charged its weight 1 and
refused past the limit, as on Binance. Behind a trusted proxy each client named by the
proxy header gets its own bucket (request weight, login attempts) and its own address in
the sessions table; from an untrusted peer the header is ignored; a forged left-most entry
changes nothing."""

import orjson
import pytest
from aiohttp.test_utils import TestClient, TestServer

from exchange.keys import POOL
from exchange.server import create_app
from exchange.settings import Settings, load

LIMIT = 10


@pytest.fixture
async def start(fresh_dsn, tmp_path):
    clients = []

    async def start(**overrides):
        settings = Settings(database_url=fresh_dsn, data_dir=str(tmp_path),
                            argon2_time_cost=1, argon2_memory_kib=1024, **overrides)
        app = create_app(settings, on_fatal=lambda error: None)
        client = TestClient(TestServer(app, host="127.0.0.1"))
        await client.start_server()
        clients.append(client)
        return app, client
    yield start
    for client in clients:
        await client.close()


async def ping(client, forwarded=None, header="X-Forwarded-For") -> int:
    headers = {} if forwarded is None else {header: forwarded}
    resp = await client.get("/api/v3/ping", headers=headers)
    await resp.read()
    return resp.status


async def exhaust(client, forwarded=None, header="X-Forwarded-For") -> None:
    statuses = [await ping(client, forwarded, header) for _ in range(LIMIT + 1)]
    assert statuses == [200] * LIMIT + [429]


async def test_probes_answer_when_the_address_is_over_its_weight_and_ping_does_not(start):
    app, client = await start(weight_limit_1m=LIMIT)
    await exhaust(client)
    resp = await client.get("/api/v3/ping")
    assert resp.status == 429 and (await resp.json())["code"] == -1003
    for path in ("/healthz", "/readyz", "/metrics"):
        for _ in range(LIMIT + 1):   # never charged: as often as an orchestrator likes
            resp = await client.get(path)
            assert resp.status == 200, path
            assert "X-MBX-USED-WEIGHT-1M" not in resp.headers
            await resp.read()
    assert (await ping(client)) == 429


async def test_behind_a_trusted_proxy_each_forwarded_client_has_its_own_bucket(start):
    app, client = await start(weight_limit_1m=LIMIT, trusted_proxies="127.0.0.1")
    await exhaust(client, "203.0.113.5")
    assert await ping(client, "198.51.100.7") == 200
    assert await ping(client, "203.0.113.5") == 429
    # a forged left-most entry: the right-most untrusted one is the client
    assert await ping(client, "198.51.100.7, 203.0.113.5") == 429
    assert await ping(client, "1.2.3.4, 203.0.113.5") == 429
    # several header lines are one list; a trusted hop in it is skipped
    app2, client2 = await start(weight_limit_1m=LIMIT, trusted_proxies="127.0.0.1, 10.0.0.0/8")
    await exhaust(client2, "203.0.113.9, 10.1.2.3")
    assert await ping(client2, "203.0.113.9") == 429
    assert await ping(client2, "::ffff:203.0.113.9") == 429   # one address, two spellings
    assert await ping(client2, "192.0.2.1, 10.1.2.3") == 200


async def test_from_an_untrusted_peer_the_header_is_ignored(start):
    app, client = await start(weight_limit_1m=LIMIT, trusted_proxies="10.0.0.0/8")
    await exhaust(client, "203.0.113.5")
    assert await ping(client, "198.51.100.7") == 429    # the same peer: one bucket
    app2, client2 = await start(weight_limit_1m=LIMIT)   # no trusted proxy at all (default)
    await exhaust(client2, "203.0.113.5")
    assert await ping(client2, "198.51.100.7") == 429


async def test_the_forwarded_header_when_the_proxies_set_it(start):
    app, client = await start(weight_limit_1m=LIMIT, trusted_proxies="127.0.0.1",
                              proxy_header="forwarded")
    await exhaust(client, 'for="[2001:db8::1]:4711";proto=https', header="Forwarded")
    assert await ping(client, "for=2001:db8::1", header="Forwarded") == 429
    assert await ping(client, 'for=192.0.2.60;by=10.0.0.1', header="Forwarded") == 200
    # X-Forwarded-For is not the configured header: ignored, so the peer's own bucket
    assert await ping(client, "198.51.100.7") == 200


async def test_login_attempts_and_the_session_record_use_the_forwarded_client(start):
    app, client = await start(trusted_proxies="127.0.0.1", auth_ip_limit_1m=3)
    resp = await client.post("/api/v1/auth/register",
                             json={"email": "ada@example.com", "password": "correct horse 1"},
                             headers={"X-Forwarded-For": "198.51.100.1"})
    assert resp.status == 201
    for _ in range(3):      # the limit: 3 credential checks a minute per client
        resp = await client.post("/api/v1/auth/login",
                                 json={"email": "nobody@example.com", "password": "x" * 12},
                                 headers={"X-Forwarded-For": "203.0.113.5"})
        assert resp.status == 401
    resp = await client.post("/api/v1/auth/login",
                             json={"email": "nobody@example.com", "password": "x" * 12},
                             headers={"X-Forwarded-For": "203.0.113.5"})
    assert (resp.status, (await resp.json())["code"]) == (429, "TOO_MANY_ATTEMPTS")
    resp = await client.post("/api/v1/auth/login",
                             json={"email": "ada@example.com", "password": "correct horse 1"},
                             headers={"X-Forwarded-For": "1.1.1.1, 192.0.2.44"})
    assert resp.status == 200, await resp.text()
    assert await app[POOL].fetchval("SELECT ip FROM sessions") == "192.0.2.44"


async def test_the_websocket_api_charges_the_forwarded_client(start):
    app, client = await start(weight_limit_1m=LIMIT, trusted_proxies="127.0.0.1")
    ws = await client.ws_connect("/ws-api/v3", headers={"X-Forwarded-For": "203.0.113.5"})
    for i in range(LIMIT - 1):   # the upgrade request itself weighed 1
        await ws.send_str(orjson.dumps({"id": i, "method": "ping"}).decode())
        assert orjson.loads((await ws.receive(timeout=30)).data)["status"] == 200
    await ws.send_str(orjson.dumps({"id": "x", "method": "ping"}).decode())
    assert orjson.loads((await ws.receive(timeout=30)).data)["status"] == 429
    assert await ping(client, "198.51.100.7") == 200
    assert await ping(client, "203.0.113.5") == 429
    await ws.close()


def test_trusted_proxies_and_proxy_header_are_checked_when_the_settings_load(tmp_path):
    toml = tmp_path / "c.toml"
    toml.write_text("")
    assert load(env={"EXCHANGE_TRUSTED_PROXIES": "10.0.0.0/8, ::1"}, path=toml).trusted_proxies
    for env in ({"EXCHANGE_TRUSTED_PROXIES": "10.0.0.0/8, nonsense"},
                {"EXCHANGE_TRUSTED_PROXIES": "10.0.0.0/33"},
                {"EXCHANGE_PROXY_HEADER": "x-real-ip"},
                {"EXCHANGE_BODY_READ_TIMEOUT_S": "0"},
                {"EXCHANGE_MAX_CONNECTIONS_PER_IP": "-1"}):
        with pytest.raises(ValueError):
            load(env=env, path=toml)
