"""API keys of the logged-in user: create, list, revoke; created keys trade over the Binance routes."""

import pytest

from exchange.keys import POOL, VENUE
from exchange.bootstrap import deposit

ORDER = {"symbol": "AAPL", "side": "BUY", "type": "LIMIT", "timeInForce": "GTC",
         "quantity": "1", "price": "100.00"}


def snapshot(app):
    seq = app[VENUE].sequencer
    return seq.seq, len(seq.orders), sorted(
        (b.account, b.asset, b.free, b.locked) for b in seq.ledger.balances()
        if b.free or b.locked)


async def create(user, name="bot", permissions=("read", "trade")):
    status, body, _ = await user.call("POST", "/api/v1/api-keys",
                                      {"name": name, "permissions": list(permissions)})
    assert status == 201, body
    return body


async def test_create_returns_the_secret_once_and_list_never_shows_it(user):
    key = await create(user, "my bot", ["trade", "read"])
    assert set(key) == {"api_key", "secret", "name", "permissions", "created_at"}
    assert key["permissions"] == ["read", "trade"] and key["name"] == "my bot"
    assert len(key["api_key"]) == 64 and len(key["secret"]) == 64
    other = await create(user, "reader", ["read"])
    status, body, _ = await user.call("GET", "/api/v1/api-keys")
    assert status == 200
    assert body == {"api_keys": [
        {k: key[k] for k in ("api_key", "name", "permissions", "created_at")},
        {k: other[k] for k in ("api_key", "name", "permissions", "created_at")}]}
    assert key["secret"] not in str(body) and other["secret"] not in str(body)


async def test_a_created_key_trades_over_the_binance_routes(app, user):
    await deposit(app, user.account_id, "USD", "1000.00")
    key = await create(user, "trader", ["read", "trade"])
    status, placed = await user.signed("POST", "/api/v3/order", key["api_key"], key["secret"],
                                       ORDER)
    assert status == 200 and placed["status"] == "NEW", placed
    status, account = await user.signed("GET", "/api/v3/account", key["api_key"], key["secret"])
    assert status == 200 and account["uid"] == user.account_id
    status, body, _ = await user.call("GET", "/api/v1/balances")
    usd = next(b for b in body["balances"] if b["asset"] == "USD")
    assert usd["locked"] != "0.00" and usd["free"] != "1000.00"
    status, canceled = await user.signed("DELETE", "/api/v3/order", key["api_key"],
                                         key["secret"],
                                         {"symbol": "AAPL", "orderId": placed["orderId"]})
    assert status == 200 and canceled["status"] == "CANCELED"


@pytest.mark.parametrize("permissions", [["read"], ["read", "withdraw"], ["withdraw"]])
async def test_a_key_without_trade_cannot_enter_or_cancel_orders(app, user, permissions):
    await deposit(app, user.account_id, "USD", "1000.00")
    trader = await create(user, "trader", ["read", "trade"])
    status, placed = await user.signed("POST", "/api/v3/order", trader["api_key"],
                                       trader["secret"], ORDER)
    assert status == 200
    key = await create(user, "limited", permissions)
    before = snapshot(app)
    for method, path, params in (
            ("POST", "/api/v3/order", ORDER),
            ("POST", "/api/v3/order/test", ORDER),
            ("DELETE", "/api/v3/order", {"symbol": "AAPL", "orderId": placed["orderId"]}),
            ("DELETE", "/api/v3/openOrders", {"symbol": "AAPL"}),
            ("POST", "/api/v3/order/cancelReplace",
             {**ORDER, "cancelReplaceMode": "STOP_ON_FAILURE",
              "cancelOrderId": placed["orderId"]})):
        status, body = await user.signed(method, path, key["api_key"], key["secret"], params)
        assert (status, body["code"]) == (401, -1002), (path, body)
    assert snapshot(app) == before
    status, body = await user.signed("GET", "/api/v3/openOrders", key["api_key"], key["secret"],
                                     {"symbol": "AAPL"})
    if "read" in permissions:
        assert status == 200 and [o["orderId"] for o in body] == [placed["orderId"]]
    else:
        assert (status, body["code"]) == (401, -1002)


async def test_a_trade_only_key_cannot_read(user):
    key = await create(user, "blind", ["trade"])
    for path, params in (("/api/v3/account", {}), ("/api/v3/openOrders", {"symbol": "AAPL"}),
                         ("/api/v3/allOrders", {"symbol": "AAPL"}),
                         ("/api/v3/myTrades", {"symbol": "AAPL"}),
                         ("/api/v3/order", {"symbol": "AAPL", "orderId": 1})):
        status, body = await user.signed("GET", path, key["api_key"], key["secret"], params)
        assert (status, body["code"]) == (401, -1002), path


async def test_a_revoked_key_is_refused_at_once(app, user):
    key = await create(user)
    status, _ = await user.signed("GET", "/api/v3/account", key["api_key"], key["secret"])
    assert status == 200   # now cached by the key store
    status, body, _ = await user.call("DELETE", f"/api/v1/api-keys/{key['api_key']}")
    assert status == 200 and body["revoked"] is True and body["api_key"] == key["api_key"]
    status, body = await user.signed("GET", "/api/v3/account", key["api_key"], key["secret"])
    assert (status, body["code"]) == (401, -2015)
    status, body, _ = await user.call("GET", "/api/v1/api-keys")
    assert body == {"api_keys": []}
    status, body, _ = await user.call("DELETE", f"/api/v1/api-keys/{key['api_key']}")
    assert (status, body["code"]) == (404, "API_KEY_NOT_FOUND")


async def test_another_users_key_cannot_be_seen_or_revoked(app, server, user):
    key = await create(user)
    _, api = server
    other = type(api)(api.client)
    await other.register("grace@example.com")
    await other.login("grace@example.com")
    status, body, _ = await other.call("GET", "/api/v1/api-keys")
    assert body == {"api_keys": []}
    status, body, _ = await other.call("DELETE", f"/api/v1/api-keys/{key['api_key']}")
    assert (status, body["code"]) == (404, "API_KEY_NOT_FOUND")
    status, _ = await user.signed("GET", "/api/v3/account", key["api_key"], key["secret"])
    assert status == 200


async def test_the_number_of_active_keys_is_capped(start_server):
    app, api = await start_server(max_api_keys=2)
    await api.register("ada@example.com")
    await api.login("ada@example.com")
    first = await create(api, "one")
    await create(api, "two")
    status, body, _ = await api.call("POST", "/api/v1/api-keys",
                                     {"name": "three", "permissions": ["read"]})
    assert (status, body["code"]) == (409, "TOO_MANY_API_KEYS")
    await api.call("DELETE", f"/api/v1/api-keys/{first['api_key']}")
    await create(api, "three")
    assert await app[POOL].fetchval("SELECT count(*) FROM api_keys WHERE name IS NOT NULL") == 3


async def test_api_keys_need_a_login(api):
    for method, path in (("GET", "/api/v1/api-keys"), ("POST", "/api/v1/api-keys"),
                         ("DELETE", "/api/v1/api-keys/abc")):
        status, body, _ = await api.call(method, path)
        assert (status, body["code"]) == (401, "UNAUTHENTICATED"), path
