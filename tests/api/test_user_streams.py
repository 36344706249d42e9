"""User data streams against the real server and PostgreSQL: listen keys, the events an
order and a deposit produce, who gets them (the owner only), the web page's JWT socket
and the WebSocket API's signed subscription.

"Receives none of them" is shown without timing: after the events, each other
account gets an event of its own (a deposit, committed later), and a stream
delivers its messages in publish order, so anything wrongly sent to it would
have arrived before that sentinel.
"""

import time
from urllib.parse import urlencode

import orjson
from aiohttp import WSMsgType

from exchange.keys import NOTIFIER, USER_FEED
from exchange.bootstrap import create_account, deposit
from tests.helpers.user_streams import WAIT_S, call, listen_key, receive_json, receive_until, signed

SYMBOL = "AAPL"


async def listen_key_call(trader, method: str, listen_key=None, api_key=None):
    params = {} if listen_key is None else {"listenKey": listen_key}
    resp = await trader.client.request(
        method, "/api/v3/userDataStream?" + urlencode(params),
        headers={"X-MBX-APIKEY": trader.api_key if api_key is None else api_key})
    return resp.status, await resp.json()


async def user_socket(trader):
    return await trader.client.ws_connect(f"/ws/{await listen_key(trader)}")


async def sentinel(app, account_id: int, ws, amount: str = "1.00") -> list:
    """Deposit to the account and return what its socket got up to that deposit's event."""
    await deposit(app, account_id, "USD", amount)
    got = await receive_until(ws, lambda m: m.get("e") == "balanceUpdate" and m["d"] == amount)
    position = await receive_json(ws)   # the deposit's outboundAccountPosition comes next
    assert position["e"] == "outboundAccountPosition", position
    return got + [position]


def reports(messages, **match) -> list:
    return [m for m in messages if m.get("e") == "executionReport"
            and all(m[k] == v for k, v in match.items())]


# ---- listen keys -------------------------------------------------------------------------

async def test_listen_key_create_keepalive_delete_and_errors(app, client, alice, bob):
    key = await listen_key(alice)
    assert len(key) == 60 and key.isalnum()
    assert await listen_key(alice) == key          # the account's live key, extended
    assert await listen_key_call(alice, "PUT", key) == (200, {})

    # errors, in Binance's shape
    status, body = await listen_key_call(alice, "PUT", "x" * 60)
    assert (status, body["code"], body["msg"]) == (400, -1125, "This listenKey does not exist.")
    status, body = await listen_key_call(alice, "PUT")
    assert (status, body["code"]) == (400, -1102)
    status, body = await listen_key_call(bob, "PUT", key)       # another account's key
    assert (status, body["code"]) == (400, -1125)
    status, body = await listen_key_call(bob, "DELETE", key)
    assert (status, body["code"]) == (400, -1125)
    resp = await client.post("/api/v3/userDataStream")
    assert resp.status == 401 and (await resp.json())["code"] == -2014
    status, body = await listen_key_call(alice, "POST", api_key="A" * 64)
    assert (status, body["code"]) == (401, -2015)
    status, body = await listen_key_call(alice, "POST", api_key="A" * 64 + "?")
    assert (status, body["code"]) == (401, -2014)
    resp = await client.post("/api/v3/userDataStream?foo=1",
                             headers={"X-MBX-APIKEY": alice.api_key})
    assert resp.status == 400 and (await resp.json())["code"] == -1104

    # a socket on the key works, and closing the key closes it
    ws = await client.ws_connect(f"/ws/{key}")
    got = await sentinel(app, alice.account_id, ws)
    assert [m["e"] for m in got] == ["balanceUpdate", "outboundAccountPosition"]
    assert await listen_key_call(alice, "DELETE", key) == (200, {})
    msg = await ws.receive(timeout=WAIT_S)
    assert msg.type in (WSMsgType.CLOSE, WSMsgType.CLOSED, WSMsgType.CLOSING), msg
    await ws.close()
    assert (await listen_key_call(alice, "PUT", key))[1]["code"] == -1125
    assert (await listen_key_call(alice, "DELETE", key))[1]["code"] == -1125
    assert app[USER_FEED].stream_of(key) is None

    # a deleted key opens nothing: that socket sees no user events (a new key's socket does)
    stale = await client.ws_connect(f"/ws/{key}")
    fresh = await user_socket(alice)
    await sentinel(app, alice.account_id, fresh, "2.00")
    await stale.send_str(orjson.dumps({"method": "LIST_SUBSCRIPTIONS", "id": 7}).decode())
    assert await receive_json(stale) == {"result": [], "id": 7}
    await stale.close()
    await fresh.close()


async def test_an_expired_listen_key_says_so_and_closes_its_sockets(app, client, alice):
    feed = app[USER_FEED]
    key = await listen_key(alice)
    ws = await client.ws_connect(f"/ws/{key}")
    await sentinel(app, alice.account_id, ws)           # the socket is live
    real_clock = feed.clock
    feed.clock = lambda: real_clock() + feed.ttl_s + 1  # an hour later, no keepalive
    try:
        assert feed.stream_of(key) is None
        assert feed.sweep() == 1
        expired = await receive_json(ws)
        assert expired["e"] == "listenKeyExpired" and expired["listenKey"] == key
        msg = await ws.receive(timeout=WAIT_S)
        assert msg.type in (WSMsgType.CLOSE, WSMsgType.CLOSED, WSMsgType.CLOSING), msg
        assert (await listen_key_call(alice, "PUT", key))[1]["code"] == -1125
    finally:
        feed.clock = real_clock
    assert await listen_key(alice) != key
    await ws.close()


# ---- what an order and a deposit produce, and for whom ------------------------------------

EXECUTION_FIELDS = set("e E s c S o f q p P F g C x X r i l z L n N T t I w m M O Z Y Q W V"
                       .split())


async def test_order_reports_and_balances_reach_only_their_owner(app, client, alice, bob,
                                                                 trader):
    carol = await create_account(app, "carol", {"USD": "10.00"})
    sockets = {name: await user_socket(t) for name, t in (("alice", alice), ("bob", bob))}
    carol_ws = await client.ws_connect(
        f"/ws/{await listen_key(trader(client, carol['api_key'], carol['api_secret']))}")

    status, placed, _ = await alice.order(symbol=SYMBOL, side="BUY", type="LIMIT",
                                          timeInForce="GTC", quantity="5", price="100.00",
                                          newClientOrderId="alice-buy")
    assert status == 200, placed
    buy_id = placed["orderId"]
    got = await receive_until(sockets["alice"], lambda m: m["e"] == "outboundAccountPosition")
    new, position = got[-2], got[-1]
    assert set(new) == EXECUTION_FIELDS
    assert {k: new[k] for k in "s c S o f q p P F g C x X r i l z L n N t w m Z Y Q V".split()} == {
        "s": SYMBOL, "c": "alice-buy", "S": "BUY", "o": "LIMIT", "f": "GTC", "q": "5",
        "p": "100.00", "P": "0.00", "F": "0", "g": -1, "C": "", "x": "NEW", "X": "NEW",
        "r": "NONE", "i": buy_id, "l": "0", "z": "0", "L": "0.00", "n": "0", "N": None,
        "t": -1, "w": True, "m": False, "Z": "0.00", "Y": "0.00", "Q": "0.00",
        "V": placed["selfTradePreventionMode"]}
    assert new["O"] == new["T"] == new["W"] == placed["transactTime"]
    assert position["B"] == [{"a": "USD", "f": "999499.90", "l": "500.10"}]  # 500 + fee hold

    # bob takes 2 then 3: partial then full fill; each side sees only its own order
    for qty in ("2", "3"):
        status, sold, _ = await bob.order(symbol=SYMBOL, side="SELL", type="LIMIT",
                                          timeInForce="GTC", quantity=qty, price="100.00")
        assert status == 200 and sold["status"] == "FILLED", sold
    got = await receive_until(sockets["alice"], lambda m: m.get("X") == "FILLED")
    partial, full = reports(got, x="TRADE")
    trades = (await alice.signed("GET", "/api/v3/myTrades", {"symbol": SYMBOL}))[1]
    assert [t["id"] for t in trades] == [partial["t"], full["t"]]
    assert (partial["X"], partial["l"], partial["z"], partial["L"], partial["m"], partial["w"],
            partial["Y"], partial["Z"], partial["N"]) == (
        "PARTIALLY_FILLED", "2", "2", "100.00", True, True, "200.00", "200.00", "USD")
    assert partial["n"] == trades[0]["commission"]
    assert (full["X"], full["l"], full["z"], full["Z"], full["w"], full["n"]) == (
        "FILLED", "3", "5", "500.00", False, trades[1]["commission"])
    balances = await receive_until(sockets["alice"], lambda m: m["e"] == "outboundAccountPosition"
                                   and any(b["a"] == "AAPL" and b["f"] == "10005"
                                           for b in m["B"]))
    assert {b["a"] for b in balances[-1]["B"]} == {"USD", "AAPL"}

    bob_got = await receive_until(sockets["bob"], lambda m: m.get("z") == "3")
    bob_trades = reports(bob_got, x="TRADE")
    assert [(r["S"], r["X"], r["l"], r["m"]) for r in bob_trades] == [
        ("SELL", "FILLED", "2", False), ("SELL", "FILLED", "3", False)]
    assert [r["t"] for r in bob_trades] == [partial["t"], full["t"]]

    # a cancel
    status, rest, _ = await alice.order(symbol=SYMBOL, side="BUY", type="LIMIT",
                                        timeInForce="GTC", quantity="1", price="99.00",
                                        newClientOrderId="alice-rest")
    assert status == 200
    status, canceled, _ = await alice.signed("DELETE", "/api/v3/order",
                                             {"symbol": SYMBOL, "orderId": rest["orderId"]})
    assert status == 200, canceled
    got = await receive_until(sockets["alice"], lambda m: m.get("x") == "CANCELED")
    cancel = got[-1]
    assert (cancel["i"], cancel["X"], cancel["C"], cancel["w"], cancel["z"]) == (
        rest["orderId"], "CANCELED", "alice-rest", False, "0")
    got = await receive_until(sockets["alice"], lambda m: m["e"] == "outboundAccountPosition")
    account = (await alice.signed("GET", "/api/v3/account", {"omitZeroBalances": "true"}))[1]
    usd = next(b for b in account["balances"] if b["asset"] == "USD")
    assert got[-1]["B"] == [{"a": "USD", "f": usd["free"], "l": "0.00"}]
    assert usd["free"] == "999499.95"   # 500 paid for 5 at 100, and the 0.05 maker fee

    # nobody saw anyone else's: each account's stream up to its own later deposit
    alice_orders = {buy_id, rest["orderId"]}
    bob_rest = await sentinel(app, bob.account_id, sockets["bob"])
    assert not {r["i"] for r in reports(bob_got + bob_rest)} & alice_orders
    assert all(r["S"] == "SELL" for r in reports(bob_got + bob_rest))
    carol_got = await sentinel(app, carol["account_id"], carol_ws)
    assert [m["e"] for m in carol_got] == ["balanceUpdate", "outboundAccountPosition"]
    alice_rest = await sentinel(app, alice.account_id, sockets["alice"])
    assert not reports(alice_rest)
    for ws in (*sockets.values(), carol_ws):
        await ws.close()


async def test_deposit_sends_balance_update_then_position(app, client, bob):
    ws = await user_socket(bob)
    await deposit(app, bob.account_id, "USD", "12.34")
    update, position = await receive_until(ws, lambda m: m["e"] == "outboundAccountPosition")
    assert update["e"] == "balanceUpdate" and (update["a"], update["d"]) == ("USD", "12.34")
    assert isinstance(update["T"], int) and isinstance(update["E"], int)
    assert position["B"] == [{"a": "USD", "f": "100012.34", "l": "0.00"}]
    await ws.close()


# ---- the web page's socket: /api/v1/ws with the JWT ----------------------------------------

async def test_a_listen_key_in_a_combined_stream_names_its_events_by_the_key(app, client, bob):
    key = await listen_key(bob)
    ws = await client.ws_connect(f"/stream?streams=aapl@trade/{key}")
    await deposit(app, bob.account_id, "USD", "2.50")
    envelope = orjson.loads((await ws.receive(timeout=WAIT_S)).data)
    assert envelope["stream"] == key
    assert (envelope["data"]["e"], envelope["data"]["d"]) == ("balanceUpdate", "2.50")
    await ws.send_str('{"method": "LIST_SUBSCRIPTIONS", "id": 3}')
    listed = await receive_until(ws, lambda m: m.get("id") == 3)
    assert listed[-1]["result"] == sorted(["aapl@trade", key])
    await ws.close()


async def test_private_socket_with_jwt_gets_the_same_events_and_bad_tokens_get_401(app, client,
                                                                                  trader):
    resp = await client.post("/api/v1/auth/register",
                             json={"email": "dana@example.com", "password": "correct horse 1"})
    assert resp.status == 201
    account_id = (await resp.json())["account_id"]
    resp = await client.post("/api/v1/auth/login",
                             json={"email": "dana@example.com", "password": "correct horse 1"})
    token = (await resp.json())["access_token"]
    resp = await client.post("/api/v1/api-keys", json={"name": "bot", "permissions": ["read", "trade"]},
                             headers={"Authorization": f"Bearer {token}"})
    assert resp.status == 201
    key = await resp.json()
    dana = trader(client, key["api_key"], key["secret"], account_id)
    await deposit(app, account_id, "USD", "1000.00")

    by_query = await client.ws_connect(f"/api/v1/ws?token={token}")
    by_header = await client.ws_connect("/api/v1/ws", headers={"Authorization": f"Bearer {token}"})
    by_key = await user_socket(dana)
    status, placed, _ = await dana.order(symbol=SYMBOL, side="BUY", type="LIMIT",
                                         timeInForce="GTC", quantity="1", price="99.00")
    assert status == 200, placed
    await deposit(app, account_id, "USD", "5.00")
    streams = []
    for ws in (by_query, by_header, by_key):
        got = await receive_until(ws, lambda m: m["e"] == "balanceUpdate")
        # the page's sockets also carry notifications, whenever the notifier's window ends
        streams.append([m for m in got if m["e"] != "notification"])
    assert streams[0] == streams[1] == streams[2]
    assert [m["e"] for m in streams[0]] == ["executionReport", "outboundAccountPosition",
                                            "balanceUpdate"]
    assert streams[0][0]["i"] == placed["orderId"]

    # the page's socket also carries the account's notifications (a cancel makes one)
    status, _, _ = await dana.signed("DELETE", "/api/v3/order",
                                     {"symbol": SYMBOL, "orderId": placed["orderId"]})
    assert status == 200
    await receive_until(by_query, lambda m: m.get("x") == "CANCELED")
    await app[NOTIFIER].flush()
    note = (await receive_until(by_query, lambda m: m["e"] == "notification"))[-1]
    assert note["kind"] and note["title"]
    for ws in (by_query, by_header, by_key):
        await ws.close()

    for path, headers in (("/api/v1/ws", {}),
                          ("/api/v1/ws?token=not-a-jwt", {}),
                          ("/api/v1/ws?token=" + token[:-4] + "AAAA", {}),
                          ("/api/v1/ws", {"Authorization": "Bearer x.y.z"})):
        resp = await client.get(path, headers={"Connection": "Upgrade", "Upgrade": "websocket",
                                               "Sec-WebSocket-Version": "13",
                                               "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ==",
                                               **headers})
        body = await resp.json()
        assert resp.status == 401 and set(body) == {"code", "message"}, (path, body)

    # a logged-out (revoked) token is refused too
    resp = await client.post("/api/v1/auth/logout", headers={"Authorization": f"Bearer {token}"})
    assert resp.status == 200
    resp = await client.get(f"/api/v1/ws?token={token}")
    assert resp.status == 401 and (await resp.json())["code"] == "TOKEN_REVOKED"


async def test_private_sockets_close_when_their_session_ends(client):
    resp = await client.post("/api/v1/auth/register",
                             json={"email": "erin@example.com", "password": "correct horse 1"})
    assert resp.status == 201

    async def login():
        resp = await client.post("/api/v1/auth/login",
                                 json={"email": "erin@example.com", "password": "correct horse 1"})
        return (await resp.json())["access_token"]

    laptop, phone, tablet = await login(), await login(), await login()
    sockets = {name: await client.ws_connect(f"/api/v1/ws?token={token}")
               for name, token in (("laptop", laptop), ("phone", phone), ("tablet", tablet))}
    resp = await client.post("/api/v1/auth/logout", headers={"Authorization": f"Bearer {phone}"})
    assert resp.status == 200
    closed = await sockets["phone"].receive(timeout=WAIT_S)
    assert closed.type is WSMsgType.CLOSE and closed.data == 1008

    # a password change ends every other session: the tablet's socket closes, not the laptop's
    resp = await client.post("/api/v1/auth/password",
                             json={"current_password": "correct horse 1",
                                   "new_password": "correct horse 2"},
                             headers={"Authorization": f"Bearer {laptop}"})
    assert resp.status == 200 and (await resp.json())["revoked_sessions"] == 1
    closed = await sockets["tablet"].receive(timeout=WAIT_S)
    assert closed.type is WSMsgType.CLOSE and closed.data == 1008
    assert not sockets["laptop"].closed
    await sockets["laptop"].ping()
    await sockets["laptop"].close()


# ---- the WebSocket API -----------------------------------------------------------------------

async def test_ws_api_signed_subscription_and_refusals(app, client, alice, bob):
    ws = await client.ws_connect("/ws-api/v3")
    pong = await call(ws, "ping", id_=1)
    assert (pong["status"], pong["result"]) == (200, {})
    assert pong["rateLimits"][0]["rateLimitType"] == "REQUEST_WEIGHT"
    assert abs((await call(ws, "time"))["result"]["serverTime"] - time.time() * 1000) < 60_000

    bad = await call(ws, "userDataStream.subscribe.signature", signed(alice, secret="0" * 64))
    assert (bad["status"], bad["error"]["code"]) == (400, -1022)
    stale = await call(ws, "userDataStream.subscribe.signature",
                       signed(alice, timestamp=int(time.time() * 1000) - 120_000))
    assert stale["error"]["code"] == -1021
    assert (await call(ws, "userDataStream.subscribe"))["error"]["code"] == -1002  # no logon
    assert (await call(ws, "nope.method"))["error"]["code"] == -1020
    extra = await call(ws, "userDataStream.subscribe.signature", signed(alice, foo="1"))
    assert extra["error"]["code"] == -1104
    await ws.send_str("{not json")
    assert (await receive_json(ws))["status"] == 400

    # the refused connection gets no events: alice's valid listener sees her deposit,
    # and the refused one's next message is the reply to its next request
    listener = await client.ws_connect("/ws-api/v3")
    ok = await call(listener, "userDataStream.subscribe.signature", signed(alice))
    assert ok["status"] == 200 and ok["result"] == {"subscriptionId": 0}
    await deposit(app, alice.account_id, "USD", "3.00")
    got = await receive_until(listener, lambda m: "event" in m
                              and m["event"]["e"] == "outboundAccountPosition")
    assert [(m["subscriptionId"], m["event"]["e"]) for m in got] == [
        (0, "balanceUpdate"), (0, "outboundAccountPosition")]
    await ws.send_str(orjson.dumps({"id": 99, "method": "ping"}).decode())
    assert (await receive_json(ws))["id"] == 99

    # a second account on the same connection: its own subscription id, its own events
    dup = await call(listener, "userDataStream.subscribe.signature", signed(alice), id_="2")
    assert dup["error"]["code"] == -2035
    second = await call(listener, "userDataStream.subscribe.signature", signed(bob), id_="3")
    assert second["result"] == {"subscriptionId": 1}
    assert (await call(listener, "session.subscriptions", id_="4"))["result"] == [
        {"subscriptionId": 0}, {"subscriptionId": 1}]
    await deposit(app, bob.account_id, "USD", "4.00")
    got = await receive_until(listener, lambda m: m.get("event", {}).get("e") == "balanceUpdate")
    assert got[-1] == {"subscriptionId": 1, "event": got[-1]["event"]}
    assert got[-1]["event"]["d"] == "4.00"

    # unsubscribe alice: her next deposit is not delivered, bob's still is
    assert (await call(listener, "userDataStream.unsubscribe", {"subscriptionId": 0},
                       id_="5"))["result"] == {}
    assert (await call(listener, "userDataStream.unsubscribe", {"subscriptionId": 0},
                       id_="6"))["error"]["code"] == -2036
    await deposit(app, alice.account_id, "USD", "6.00")
    await deposit(app, bob.account_id, "USD", "7.00")
    got = await receive_until(listener, lambda m: m.get("event", {}).get("d") == "7.00")
    assert {m["subscriptionId"] for m in got if "event" in m} == {1}

    # session.logon then userDataStream.subscribe, and logout ends that subscription
    session = await client.ws_connect("/ws-api/v3")
    logon = await call(session, "session.logon", signed(bob))
    assert logon["result"]["apiKey"] == bob.api_key
    assert (await call(session, "userDataStream.subscribe", id_="7"))["result"] == {
        "subscriptionId": 0}
    status = await call(session, "session.status", id_="8")
    assert status["result"]["userDataStream"] is True
    out = await call(session, "session.logout", id_="9")
    assert out["result"]["apiKey"] is None and out["result"]["userDataStream"] is False
    for s in (ws, listener, session):
        await s.close()
