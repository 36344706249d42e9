"""Revocation ends what a credential opened, at once: an API key's listen keys and their
sockets, its /ws-api/v3 logons and subscriptions; an account's lockout or role change
(also from another process: ``exchange role``) ends everything of the account, the web
page's /api/v1/ws sockets included. Real server, real sockets, real PostgreSQL.

"Receives nothing more" is read from the hub (no subscriber is left on the stream), not
from the absence of a message within some time.
"""

import time

import orjson
import pytest
from aiohttp import WSMsgType

from exchange.api import sign
from exchange.api.auth import KeyStore
from exchange.api.grants import Grants
from exchange.bootstrap import deposit
from exchange.feed.user import account_stream
from exchange.keys import GRANTS, HUB, POOL, USER_FEED
from exchange.server import set_account_role
from exchange.settings import Settings

from tests.helpers.platform_clients import api_key

WAIT_S = 30.0   # generous: waiting for a message is never a timing assertion


async def receive_json(ws):
    msg = await ws.receive(timeout=WAIT_S)
    assert msg.type is WSMsgType.TEXT, msg
    return orjson.loads(msg.data)


async def receive_until(ws, predicate) -> list:
    seen = []
    while True:
        seen.append(await receive_json(ws))
        if predicate(seen[-1]):
            return seen


async def closed_with(ws) -> tuple:
    """Skip to the close frame; return (code, reason)."""
    while True:
        msg = await ws.receive(timeout=WAIT_S)
        if msg.type is WSMsgType.CLOSE:
            return msg.data, msg.extra
        assert msg.type is WSMsgType.TEXT, msg


async def listen_key_call(user, method: str, key: str, listen_key: str | None = None):
    query = "" if listen_key is None else f"?listenKey={listen_key}"
    resp = await user.client.request(method, "/api/v3/userDataStream" + query,
                                     headers={"X-MBX-APIKEY": key})
    return resp.status, await resp.json()


async def new_listen_key(user, key: str) -> str:
    status, body = await listen_key_call(user, "POST", key)
    assert status == 200, body
    return body["listenKey"]


def signed(key: dict, **params) -> dict:
    params = {"apiKey": key["api_key"], "timestamp": int(time.time() * 1000), **params}
    payload = "&".join(f"{k}={params[k]}" for k in sorted(params))
    return {**params, "signature": sign(key["secret"], payload)}


async def call(ws, method: str, params=None, id_="1") -> dict:
    body = {"id": id_, "method": method}
    if params is not None:
        body["params"] = params
    await ws.send_str(orjson.dumps(body).decode())
    return (await receive_until(ws, lambda m: m.get("id") == id_ and "status" in m))[-1]


async def revoke(user, key: dict) -> None:
    status, body, _ = await user.call("DELETE", f"/api/v1/api-keys/{key['api_key']}")
    assert (status, body["revoked"]) == (200, True), body


def subscribers(app, stream: str) -> int:
    return len(app[HUB].by_stream.get(stream, ()))


# ---- an API key ----------------------------------------------------------------------------

async def test_revoking_a_key_invalidates_its_listen_key_and_closes_its_sockets(app, user):
    key, other = await api_key(user), await api_key(user)
    listen_key = await new_listen_key(user, key["api_key"])
    raw = await user.client.ws_connect(f"/ws/{listen_key}")
    combined = await user.client.ws_connect(f"/stream?streams={listen_key}")
    await deposit(app, user.account_id, "USD", "1.00")
    assert (await receive_json(raw))["e"] == "balanceUpdate"            # live before

    await revoke(user, key)
    for ws, unwrap in ((raw, lambda m: m), (combined, lambda m: m["data"])):
        expired = unwrap((await receive_until(
            ws, lambda m: unwrap(m)["e"] == "listenKeyExpired"))[-1])
        assert expired["listenKey"] == listen_key
        assert await closed_with(ws) == (1008, "API key revoked")
    assert subscribers(app, listen_key) == 0

    # the listen key is gone for every key of the account; the revoked key is refused
    assert await listen_key_call(user, "PUT", key["api_key"], listen_key) == (
        401, {"code": -2015, "msg": "Invalid API-key, IP, or permissions for action."})
    assert (await listen_key_call(user, "PUT", other["api_key"], listen_key))[1]["code"] == -1125
    assert (await listen_key_call(user, "DELETE", other["api_key"], listen_key))[1]["code"] == -1125
    assert (await listen_key_call(user, "POST", key["api_key"]))[1]["code"] == -2015
    # a new socket on it joins nothing (the server answered its request first)
    late = await user.client.ws_connect(f"/ws/{listen_key}")
    await late.send_str('{"method": "LIST_SUBSCRIPTIONS", "id": 1}')
    assert await receive_json(late) == {"result": [], "id": 1}
    assert subscribers(app, listen_key) == 0 and app[USER_FEED].stream_of(listen_key) is None
    # another key of the account gets a new listen key that streams
    fresh = await new_listen_key(user, other["api_key"])
    assert fresh != listen_key
    ws = await user.client.ws_connect(f"/ws/{fresh}")
    await deposit(app, user.account_id, "USD", "2.00")
    assert (await receive_json(ws))["d"] == "2.00"
    assert app[GRANTS].held(api_key=key["api_key"]) == 0
    for s in (raw, combined, late, ws):
        await s.close()


async def test_revoking_a_key_logs_out_its_ws_api_sessions_and_ends_its_subscriptions(app, user):
    key, other = await api_key(user), await api_key(user)
    logged_on = await user.client.ws_connect("/ws-api/v3")
    assert (await call(logged_on, "session.logon", signed(key)))["status"] == 200
    sub = await call(logged_on, "userDataStream.subscribe")
    assert sub["result"] == {"subscriptionId": 0}
    by_signature = await user.client.ws_connect("/ws-api/v3")
    mixed = await call(by_signature, "userDataStream.subscribe.signature", signed(key))
    assert mixed["result"] == {"subscriptionId": 0}
    survivor = await user.client.ws_connect("/ws-api/v3")
    assert (await call(survivor, "userDataStream.subscribe.signature", signed(other)))[
        "status"] == 200
    stream = account_stream(user.account_id)
    assert subscribers(app, stream) == 3

    await revoke(user, key)
    for ws in (logged_on, by_signature):
        event = await receive_json(ws)
        assert event["subscriptionId"] == 0 and event["event"]["e"] == "eventStreamTerminated"
        assert type(event["event"]["E"]) is int
    assert subscribers(app, stream) == 1                 # only the other key's subscription
    status = (await call(logged_on, "session.status", id_="2"))["result"]
    assert status["apiKey"] is None and status["userDataStream"] is False
    refused = await call(logged_on, "userDataStream.subscribe", id_="3")
    assert refused["error"]["code"] == -1002             # logged out
    relogon = await call(logged_on, "session.logon", signed(key), id_="4")
    assert (relogon["status"], relogon["error"]["code"]) == (401, -2015)
    assert (await call(by_signature, "session.subscriptions", id_="5"))["result"] == []
    # the connections stay usable with a valid key, and the survivor still streams
    assert (await call(logged_on, "session.logon", signed(other), id_="6"))["status"] == 200
    await deposit(app, user.account_id, "USD", "3.00")
    got = await receive_json(survivor)
    assert got["event"]["e"] == "balanceUpdate" and got["event"]["d"] == "3.00"
    for ws in (logged_on, by_signature, survivor):
        await ws.close()


async def test_a_logon_subscription_stays_bound_to_its_key_after_a_new_logon(app, user):
    first, second = await api_key(user), await api_key(user)
    ws = await user.client.ws_connect("/ws-api/v3")
    assert (await call(ws, "session.logon", signed(first)))["status"] == 200
    assert (await call(ws, "userDataStream.subscribe", id_="2"))["result"] == {
        "subscriptionId": 0}
    assert (await call(ws, "session.logon", signed(second), id_="3"))["status"] == 200
    await revoke(user, first)        # the subscription was opened with the first key
    event = await receive_until(ws, lambda m: "event" in m)
    assert event[-1]["event"]["e"] == "eventStreamTerminated"
    status = (await call(ws, "session.status", id_="4"))["result"]
    assert status["apiKey"] == second["api_key"]     # the second logon stands
    await revoke(user, second)
    status = (await call(ws, "session.status", id_="5"))["result"]
    assert status["apiKey"] is None
    await ws.close()


# ---- an account ----------------------------------------------------------------------------

async def open_everything(app, user, key) -> dict:
    """A listen key socket, a /ws-api/v3 signed subscription and the page's /api/v1/ws."""
    listen_key = await new_listen_key(user, key["api_key"])
    sockets = {"listen_key": await user.client.ws_connect(f"/ws/{listen_key}"),
               "ws_api": await user.client.ws_connect("/ws-api/v3"),
               "page": await user.client.ws_connect(f"/api/v1/ws?token={user.token}")}
    assert (await call(sockets["ws_api"], "userDataStream.subscribe.signature",
                       signed(key)))["status"] == 200
    await deposit(app, user.account_id, "USD", "1.00")
    for ws in sockets.values():   # each one streams the account's events
        await receive_until(ws, lambda m: m.get("e", m.get("event", {}).get("e"))
                            == "balanceUpdate")
    return {"listen_key": listen_key, **sockets}


async def assert_all_ended(app, user, opened, reason: str) -> None:
    await receive_until(opened["listen_key"], lambda m: m["e"] == "listenKeyExpired")
    assert await closed_with(opened["listen_key"]) == (1008, reason)
    assert await closed_with(opened["page"]) == (1008, reason)
    ended = await receive_until(opened["ws_api"], lambda m: "event" in m
                                and m["event"]["e"] == "eventStreamTerminated")
    assert ended[-1]["subscriptionId"] == 0
    assert subscribers(app, account_stream(user.account_id)) == 0
    assert subscribers(app, opened["listen_key"]) == 0
    assert app[GRANTS].held(account=user.account_id) == 0
    for name in ("listen_key", "ws_api", "page"):
        await opened[name].close()


async def test_an_account_lockout_ends_every_stream_of_the_account(app, api, user):
    key = await api_key(user)
    opened = await open_everything(app, user, key)
    for _ in range(4):
        status, _, _ = await api.login(user.email, "not the password")
        assert status == 401
    status, body, _ = await api.login(user.email, "not the password")
    assert (status, body["code"]) == (423, "ACCOUNT_LOCKED")
    await assert_all_ended(app, user, opened, "account locked")
    # the key itself stays valid (a login lockout): a new listen key can be made
    assert (await listen_key_call(user, "PUT", key["api_key"], opened["listen_key"]))[1][
        "code"] == -1125
    assert await new_listen_key(user, key["api_key"]) != opened["listen_key"]


async def test_a_role_change_from_another_process_ends_every_stream_of_the_account(
        app, user, fresh_dsn, tmp_path):
    key = await api_key(user)
    opened = await open_everything(app, user, key)
    # what `exchange role <id> operator` runs: its own connection to the database
    settings = Settings(database_url=fresh_dsn, data_dir=str(tmp_path))
    assert await set_account_role(settings, str(user.account_id), "operator") == (
        user.account_id, "trader")
    await assert_all_ended(app, user, opened, "account role changed")
    assert await app[POOL].fetchval("SELECT role FROM accounts WHERE account_id = $1",
                                    user.account_id) == "operator"


async def test_logout_ends_the_page_socket_through_the_same_point(app, user):
    page = await user.client.ws_connect(f"/api/v1/ws?token={user.token}")
    await deposit(app, user.account_id, "USD", "1.00")
    await receive_until(page, lambda m: m.get("e") == "balanceUpdate")
    assert app[GRANTS].held(account=user.account_id) == 1
    status, _, _ = await user.call("POST", "/api/v1/auth/logout")
    assert status == 200
    assert await closed_with(page) == (1008, "session ended")
    assert app[GRANTS].held(account=user.account_id) == 0
    await page.close()


# ---- the registry itself -------------------------------------------------------------------

def test_grants_end_each_thing_once_and_only_what_the_revoked_credential_opened():
    grants = Grants(KeyStore())
    ended = []
    a = grants.hold(lambda r: ended.append(("a", r)), account=1, api_key="K1")
    grants.hold(lambda r: ended.append(("b", r)), account=1, api_key="K2")
    grants.hold(lambda r: ended.append(("c", r)), account=1, session_id="s")
    grants.hold(lambda r: ended.append(("d", r)), account=2, api_key="K3")
    assert grants.revoke_key("K1") == 1 and ended == [("a", "API key revoked")]
    assert grants.revoked("K1") and not grants.revoked("K2")
    a.forget()                                           # idempotent after its end
    assert grants.revoke_key("K1") == 0
    assert grants.end_session("s", "session ended") == 1
    assert grants.revoke_account(1, "account locked") == 1          # only b is left
    assert [name for name, _ in ended] == ["a", "c", "b"]
    assert grants.held(account=1) == 0 and grants.held(account=2) == 1
    gone = grants.hold(lambda r: ended.append(("e", r)), account=2)
    gone.forget()                                        # ended by itself: not ended again
    assert grants.revoke_account(2, "account role changed") == 1
    assert ended[-1] == ("d", "account role changed")


async def test_a_key_read_in_flight_when_revoked_is_not_cached_back(app, user):
    key = await api_key(user)
    keys = KeyStore()
    keys.revoke(key["api_key"])   # as if the revocation landed while the row was being read
    assert await keys.get(app[POOL], key["api_key"]) is None
    assert keys.cached(key["api_key"]) is None


@pytest.mark.parametrize("payload", ["account:x:role", "key:1:r", "account::r", "account:²:r"])
def test_malformed_revocation_notifications_are_ignored(payload):
    from exchange.store.queries.revocations import parse
    assert parse(payload) is None
    assert parse("account:12:account role changed") == (12, "account role changed")
