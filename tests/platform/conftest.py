"""A real server on a real PostgreSQL for the platform API tests, never a mock.

PostgreSQL and a fresh database per test come from ``tests/conftest.py``
(``fresh_dsn``). The server is the production application
(``exchange.server.create_app``) on a free loopback port. Password hashing
uses a cheap argon2id cost (still argon2id) and the per-IP throttle is
lifted, unless a test starts its own server with other settings.
"""

import time
from urllib.parse import urlencode

import pytest
from aiohttp.test_utils import TestClient, TestServer

from exchange.api import sign
from exchange.bootstrap import create_account, deposit
from exchange.server import create_app
from exchange.settings import Settings

from tests.helpers.platform_clients import Trader, api_key

PASSWORD = "correct horse battery"

FAST = {"weight_limit_1m": 1_000_000, "argon2_time_cost": 1, "argon2_memory_kib": 1024,
        "auth_ip_limit_1m": 1_000_000}


class Client:
    """Platform requests (JSON, bearer tokens) and signed Binance-dialect requests."""

    def __init__(self, client: TestClient):
        self.client = client
        self.token = None        # the access token sent by default
        self.refresh_token = None

    async def call(self, method: str, path: str, body=None, *, token: str | None = None,
                   raw: bytes | None = None, headers: dict | None = None):
        """Send a request; return (status, parsed JSON or None, headers)."""
        hdrs = dict(headers or {})
        token = self.token if token is None else token
        if token:
            hdrs.setdefault("Authorization", f"Bearer {token}")
        kw = {}
        if raw is not None:
            kw["data"] = raw
        elif body is not None:
            kw["json"] = body
        resp = await self.client.request(method, path, headers=hdrs, **kw)
        text = await resp.read()
        data = None
        if text:
            import orjson
            data = orjson.loads(text)
        return resp.status, data, resp.headers

    async def register(self, email: str, password: str = PASSWORD):
        status, body, _ = await self.call("POST", "/api/v1/auth/register",
                                          {"email": email, "password": password}, token="")
        assert status == 201, body
        return body

    async def login(self, email: str, password: str = PASSWORD, **extra):
        status, body, headers = await self.call("POST", "/api/v1/auth/login",
                                                {"email": email, "password": password, **extra},
                                                token="")
        if status == 200:
            self.token, self.refresh_token = body["access_token"], body["refresh_token"]
        return status, body, headers

    async def get(self, path: str, **params):
        """A GET with ``params`` in the query string (as given); return (status, JSON)."""
        query = "&".join(f"{k}={v}" for k, v in params.items())
        status, body, _ = await self.call("GET", f"{path}?{query}" if query else path)
        return status, body

    async def signed(self, method: str, path: str, api_key: str, secret: str,
                     params: dict | None = None):
        """A signed Binance-dialect request, parameters in the query string."""
        params = dict(params or {})
        params["timestamp"] = int(time.time() * 1000)
        payload = urlencode(params)
        payload += "&signature=" + sign(secret, payload)
        resp = await self.client.request(method, f"{path}?{payload}",
                                         headers={"X-MBX-APIKEY": api_key})
        return resp.status, await resp.json()


@pytest.fixture
async def start_server(fresh_dsn, tmp_path):
    """Start a server with FAST settings plus ``overrides``; return (app, Client)."""
    clients = []

    async def start(**overrides):
        settings = Settings(database_url=fresh_dsn, data_dir=str(tmp_path),
                            **{**FAST, **overrides})
        app = create_app(settings, on_fatal=lambda error: None)
        client = TestClient(TestServer(app, host="127.0.0.1"))
        await client.start_server()
        clients.append(client)
        return app, Client(client)

    yield start
    for client in clients:
        await client.close()


@pytest.fixture
async def server(start_server):
    return await start_server()


@pytest.fixture
def app(server):
    return server[0]


@pytest.fixture
def api(server):
    """A client with no login yet."""
    return server[1]


@pytest.fixture
async def user(server):
    """A client logged in as a newly registered user (``user.email``, ``user.account_id``)."""
    _, client = server
    body = await client.register("ada@example.com")
    status, _, _ = await client.login("ada@example.com")
    assert status == 200
    client.email, client.account_id = "ada@example.com", body["account_id"]
    return client


@pytest.fixture
async def traders(app, user):
    """(the user's Trader, a funded counterparty's Trader); the user has 10000 USD and 10 AAPL."""
    await deposit(app, user.account_id, "USD", "10000.00")
    await deposit(app, user.account_id, "AAPL", "10")
    key = await api_key(user)
    other = await create_account(app, "other", {"USD": "100000.00", "AAPL": "100"})
    return (Trader(user, user.account_id, key["api_key"], key["secret"]),
            Trader(user, other["account_id"], other["api_key"], other["api_secret"]))

