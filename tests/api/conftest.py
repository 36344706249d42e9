"""A real server on a real PostgreSQL for the API tests, never a mock.

PostgreSQL and a fresh database per test come from ``tests/conftest.py``
(``fresh_dsn``: EXCHANGE_TEST_DATABASE_URL, else the session's one embedded
pgserver). The server is the production application
(``exchange.server.create_app``) listening on a free loopback port: it
migrates, recovers, lists the demo instruments and creates the funded demo
account exactly as ``exchange serve`` does.
"""

import time
from urllib.parse import urlencode

import pytest
from aiohttp.test_utils import TestClient, TestServer

from exchange.api import sign
from exchange.bootstrap import create_account
from exchange.server import create_app
from exchange.keys import DEMO_CREDENTIALS
from exchange.settings import Settings


class Trader:
    """A test client for one API key: signed and public requests, raw control when needed."""

    def __init__(self, client: TestClient, api_key: str, secret: str, account_id=None):
        self.client = client
        self.api_key = api_key
        self.secret = secret
        self.account_id = account_id

    async def public(self, path: str, **params):
        resp = await self.client.get(path, params=params)
        return resp.status, await resp.json(), resp.headers

    async def signed(self, method: str, path: str, params: dict | None = None, *,
                     in_body: bool | None = None, timestamp: int | None = None,
                     api_key: str | None = None, secret: str | None = None,
                     signature: str | None = None, headers: dict | None = None):
        """Send a signed request; parameters go in the body for POST unless told otherwise."""
        params = dict(params or {})
        params.setdefault("timestamp", int(time.time() * 1000) if timestamp is None else timestamp)
        payload = urlencode(params)
        sig = signature if signature is not None else sign(secret or self.secret, payload)
        payload += "&signature=" + sig
        hdrs = {"X-MBX-APIKEY": api_key if api_key is not None else self.api_key}
        hdrs.update(headers or {})
        if in_body is None:
            in_body = method == "POST"
        if in_body:
            hdrs["Content-Type"] = "application/x-www-form-urlencoded"
            resp = await self.client.request(method, path, data=payload.encode(), headers=hdrs)
        else:
            resp = await self.client.request(method, path + "?" + payload, headers=hdrs)
        return resp.status, await resp.json(), resp.headers

    async def order(self, **params):
        return await self.signed("POST", "/api/v3/order", params)


@pytest.fixture
async def app_server(fresh_dsn, tmp_path):
    settings = Settings(database_url=fresh_dsn, data_dir=str(tmp_path), weight_limit_1m=1_000_000)
    app = create_app(settings, on_fatal=lambda error: None)
    server = TestServer(app, host="127.0.0.1")
    client = TestClient(server)
    await client.start_server()
    yield app, client
    await client.close()


@pytest.fixture
def app(app_server):
    return app_server[0]


@pytest.fixture
def client(app_server):
    return app_server[1]


@pytest.fixture
def trader():
    """The Trader class, to build clients for other keys."""
    return Trader


@pytest.fixture
def alice(app_server):
    """The demo account the server created on first start."""
    app, client = app_server
    creds = app[DEMO_CREDENTIALS]
    return Trader(client, creds["api_key"], creds["api_secret"], 1)


@pytest.fixture
async def bob(app_server):
    """A second funded account: cash and shares of AAPL."""
    app, client = app_server
    creds = await create_account(app, "bob", {"USD": "100000.00", "AAPL": "500"})
    return Trader(client, creds["api_key"], creds["api_secret"], creds["account_id"])
