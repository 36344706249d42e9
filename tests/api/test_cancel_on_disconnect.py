"""Cancel-on-disconnect, an opt-in of user-stream sessions: when the session's socket goes,
the orders it covers are canceled (reason DISCONNECTED); without the opt-in, or when the
session ends on purpose (unsubscribe), nothing is.

"The server has seen the socket close" is read from the hub (the session's stream has no
subscriber left), and "its cancel is done" from the cancel tasks in flight, so the tests
wait for states, never for time.
"""

import asyncio
import secrets
import time

from exchange.keys import HUB, POOL, SECRET_BOX, USER_FEED, VENUE
from exchange.feed import user as user_feed
from exchange.feed.user import account_stream
from exchange.bootstrap import deposit

from tests.helpers.user_streams import call, listen_key, signed

WAIT_S = 30.0


async def settled(app, stream: str) -> None:
    """Wait until the server dropped ``stream``'s last socket and ran any cancel it caused."""
    deadline = time.monotonic() + WAIT_S
    while app[HUB].wanted(stream) or user_feed._CANCELS:
        assert time.monotonic() < deadline, "the server never saw the socket close"
        await asyncio.sleep(0.01)


async def rest(trader, price: str) -> int:
    status, body, _ = await trader.order(symbol="AAPL", side="BUY", type="LIMIT",
                                         timeInForce="GTC", quantity="1", price=price)
    assert status == 200, body
    return body["orderId"]


def open_ids(app, account: int) -> set:
    return set(app[VENUE].sequencer.by_account.get(account, {}))


async def statuses(app, order_ids) -> list:
    rows = await app[POOL].fetch(
        "SELECT status FROM orders WHERE order_id = ANY($1) ORDER BY order_id", list(order_ids))
    return [r["status"] for r in rows]


async def second_key(app, trader_cls, client, account: int):
    """Another API key of ``account``."""
    api_key, secret = secrets.token_hex(32), secrets.token_hex(32)
    # stored sealed, as every API secret at rest (exchange.store.sealing)
    await app[POOL].execute("INSERT INTO api_keys (api_key, secret, account_id) "
                            "VALUES ($1, $2, $3)", api_key, app[SECRET_BOX].seal(secret),
                            account)
    return trader_cls(client, api_key, secret, account)


async def test_a_listen_key_socket_that_opted_in_cancels_its_keys_orders_when_it_closes(
        app, client, alice, trader):
    spare = await second_key(app, trader, client, alice.account_id)
    mine = {await rest(alice, "90.00"), await rest(alice, "89.00")}
    other = await rest(spare, "88.00")
    resp = await client.post("/api/v3/userDataStream?cancelOnDisconnect=true",
                             headers={"X-MBX-APIKEY": alice.api_key})
    key = (await resp.json())["listenKey"]
    stream = app[USER_FEED].stream_of(key)
    ws = await client.ws_connect(f"/ws/{key}")
    await ws.close()
    await settled(app, stream)
    assert open_ids(app, alice.account_id) == {other}          # the other key's order stays
    assert await statuses(app, mine) == ["CANCELED", "CANCELED"]


async def test_without_the_opt_in_a_closing_socket_cancels_nothing(app, client, alice):
    order = await rest(alice, "90.00")
    key = await listen_key(alice)
    stream = app[USER_FEED].stream_of(key)
    ws = await client.ws_connect(f"/ws/{key}")
    await ws.close()
    await settled(app, stream)
    assert order in open_ids(app, alice.account_id)
    # asking again without the flag turns the opt-in off
    resp = await client.post("/api/v3/userDataStream?cancelOnDisconnect=true",
                             headers={"X-MBX-APIKEY": alice.api_key})
    assert (await resp.json())["listenKey"] == key
    await listen_key(alice)
    ws = await client.ws_connect(f"/ws/{key}")
    await ws.close()
    await settled(app, stream)
    assert order in open_ids(app, alice.account_id)


async def test_a_bad_opt_in_value_is_refused(client, alice):
    resp = await client.post("/api/v3/userDataStream?cancelOnDisconnect=maybe",
                             headers={"X-MBX-APIKEY": alice.api_key})
    body = await resp.json()
    assert resp.status == 400 and body["code"] < 0


async def test_a_ws_api_subscription_that_opted_in_cancels_when_the_connection_drops(
        app, client, alice, bob):
    mine = await rest(alice, "90.00")
    theirs = await rest(bob, "90.00")
    ws = await client.ws_connect("/ws-api/v3")
    ok = await call(ws, "userDataStream.subscribe.signature",
                    signed(alice, cancelOnDisconnect="true"))
    assert ok["status"] == 200, ok
    await ws.close()
    await settled(app, account_stream(alice.account_id))
    assert mine not in open_ids(app, alice.account_id)
    assert theirs in open_ids(app, bob.account_id)
    assert await statuses(app, [mine]) == ["CANCELED"]


async def test_unsubscribing_on_purpose_cancels_nothing(app, client, alice):
    mine = await rest(alice, "90.00")
    ws = await client.ws_connect("/ws-api/v3")
    ok = await call(ws, "userDataStream.subscribe.signature",
                    signed(alice, cancelOnDisconnect="true"))
    assert ok["status"] == 200
    done = await call(ws, "userDataStream.unsubscribe", {}, id_="2")
    assert done["status"] == 200
    await ws.close()
    await settled(app, account_stream(alice.account_id))
    assert mine in open_ids(app, alice.account_id)


async def test_a_logon_session_that_opted_in_cancels_its_keys_orders(app, client, alice):
    mine = await rest(alice, "90.00")
    ws = await client.ws_connect("/ws-api/v3")
    ok = await call(ws, "session.logon", signed(alice, cancelOnDisconnect="true"))
    assert ok["status"] == 200, ok
    ok = await call(ws, "userDataStream.subscribe", {}, id_="2")
    assert ok["status"] == 200, ok
    await ws.close()
    await settled(app, account_stream(alice.account_id))
    assert mine not in open_ids(app, alice.account_id)


async def test_the_web_pages_socket_that_opted_in_cancels_all_the_accounts_orders(
        app, client, trader):
    login = {"email": "erin@example.com", "password": "correct horse 1"}
    resp = await client.post("/api/v1/auth/register", json=login)
    account = (await resp.json())["account_id"]
    token = (await (await client.post("/api/v1/auth/login", json=login)).json())["access_token"]
    resp = await client.post("/api/v1/api-keys", json={"name": "a", "permissions": ["trade"]},
                             headers={"Authorization": f"Bearer {token}"})
    key = await resp.json()
    erin = trader(client, key["api_key"], key["secret"], account)
    spare = await second_key(app, trader, client, account)
    await deposit(app, account, "USD", "1000.00")
    orders = {await rest(erin, "90.00"), await rest(spare, "89.00")}
    resp = await client.get(f"/api/v1/ws?token={token}&cancel_on_disconnect=maybe")
    assert resp.status == 400 and (await resp.json())["code"] == "INVALID_PARAMETER"
    plain = await client.ws_connect(f"/api/v1/ws?token={token}")
    await plain.close()
    await settled(app, account_stream(account))
    assert open_ids(app, account) == orders
    ws = await client.ws_connect(f"/api/v1/ws?token={token}&cancel_on_disconnect=true")
    await ws.close()
    await settled(app, account_stream(account))
    assert open_ids(app, account) == set()                   # every key's orders
    assert await statuses(app, orders) == ["CANCELED", "CANCELED"]
