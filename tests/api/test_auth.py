"""Signed requests: keys, signatures, timestamps and recvWindow; refusals change nothing."""

import time

import pytest

from exchange.keys import KEYS, POOL, VENUE
from exchange.bootstrap import create_account

ORDER = {"symbol": "AAPL", "side": "BUY", "type": "LIMIT", "timeInForce": "GTC",
         "quantity": "1", "price": "100.00"}


def snapshot(app):
    seq = app[VENUE].sequencer
    return seq.seq, len(seq.orders), [(b.account, b.asset, b.free, b.locked)
                                      for b in seq.ledger.balances()]


async def test_signed_order_is_accepted_with_params_in_body_or_query(app, alice):
    status, body, _ = await alice.order(**ORDER)
    assert status == 200 and body["status"] == "NEW"
    status, body, _ = await alice.signed("POST", "/api/v3/order", ORDER, in_body=False)
    assert status == 200 and body["status"] == "NEW"


async def test_signature_covers_query_string_then_body(alice):
    import urllib.parse
    from exchange.api import sign
    query = urllib.parse.urlencode({"symbol": "AAPL", "side": "BUY", "type": "LIMIT"})
    body = urllib.parse.urlencode({"timeInForce": "GTC", "quantity": "1", "price": "99.00",
                                   "timestamp": int(time.time() * 1000)})
    sig = sign(alice.secret, query + body)
    resp = await alice.client.post(f"/api/v3/order?{query}", data=(body + "&signature=" + sig).encode(),
                                   headers={"X-MBX-APIKEY": alice.api_key,
                                            "Content-Type": "application/x-www-form-urlencoded"})
    assert resp.status == 200, await resp.text()


@pytest.mark.parametrize("case, code, status", [
    ("no key", -2014, 401),
    ("malformed key", -2014, 401),
    ("unknown key", -2015, 401),
    ("bad signature", -1022, 400),
    ("signature with another secret", -1022, 400),
    ("no signature", -1102, 400),
    ("no timestamp", -1102, 400),
    ("old timestamp", -1021, 400),
    ("future timestamp", -1021, 400),
    ("recvWindow too large", -1131, 400),
    ("recvWindow not a number", -1100, 400),
])
async def test_bad_authentication_is_refused_and_changes_nothing(app, alice, case, code, status):
    before = snapshot(app)
    now = int(time.time() * 1000)
    params = dict(ORDER)
    kw = {}
    if case == "no key":
        kw["api_key"] = ""
    elif case == "malformed key":
        kw["api_key"] = "not a key!"
    elif case == "unknown key":
        kw["api_key"] = "A" * 64
    elif case == "bad signature":
        kw["signature"] = "0" * 64
    elif case == "signature with another secret":
        kw["secret"] = "f" * 64
    elif case == "old timestamp":
        kw["timestamp"] = now - 6000
    elif case == "future timestamp":
        kw["timestamp"] = now + 5000
    elif case == "recvWindow too large":
        params["recvWindow"] = "60001"
    elif case == "recvWindow not a number":
        params["recvWindow"] = "5s"
    if case == "no signature":
        resp = await alice.client.post("/api/v3/order", params={**params, "timestamp": now},
                                       headers={"X-MBX-APIKEY": alice.api_key})
        got_status, body = resp.status, await resp.json()
    elif case == "no timestamp":
        from exchange.api import sign
        from urllib.parse import urlencode
        q = urlencode(params)
        resp = await alice.client.post(f"/api/v3/order?{q}&signature={sign(alice.secret, q)}",
                                       headers={"X-MBX-APIKEY": alice.api_key})
        got_status, body = resp.status, await resp.json()
    else:
        got_status, body, _ = await alice.signed("POST", "/api/v3/order", params, **kw)
    assert (got_status, body["code"]) == (status, code), body
    assert isinstance(body["msg"], str) and body["msg"]
    assert snapshot(app) == before


async def test_a_longer_recv_window_accepts_an_older_timestamp(alice):
    old = int(time.time() * 1000) - 20_000
    status, body, _ = await alice.signed("GET", "/api/v3/account", {"recvWindow": "60000"},
                                         timestamp=old)
    assert status == 200, body
    status, body, _ = await alice.signed("GET", "/api/v3/account", timestamp=old)
    assert body["code"] == -1021


async def test_read_only_key_cannot_trade(app, client, trader):
    creds = await create_account(app, "reader", {"USD": "1000.00"}, permissions=("read",))
    reader = trader(client, creds["api_key"], creds["api_secret"])
    before = snapshot(app)
    status, body, _ = await reader.order(**ORDER)
    assert (status, body["code"]) == (401, -1002)
    assert snapshot(app) == before
    status, body, _ = await reader.signed("GET", "/api/v3/account")
    assert status == 200 and body["canTrade"] is False


async def test_revoked_key_is_refused(app, alice):
    await app[POOL].execute("UPDATE api_keys SET revoked_at = now() WHERE api_key = $1",
                            alice.api_key)
    app[KEYS].forget(alice.api_key)
    status, body, _ = await alice.signed("GET", "/api/v3/account")
    assert (status, body["code"]) == (401, -2015)
