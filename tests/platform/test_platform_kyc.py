"""KYC through the real server: statuses set by operators and submitted by users, shown in
/me, and with [kyc] require_kyc_for_trading / require_kyc_for_withdrawals on, new orders and
cancel-replaces refused over /api/v3 (cancels pass) and withdrawals refused (403
KYC_REQUIRED) until the account is VERIFIED; every refusal changes nothing."""

import pytest

from exchange.keys import KYC, POOL, VENUE
from exchange.bootstrap import deposit

from tests.helpers.platform_clients import Trader, api_key
from tests.helpers.funding import balance, make_operator

GATED = {"require_kyc_for_trading": True, "require_kyc_for_withdrawals": True}
ORDER = {"symbol": "AAPL", "side": "BUY", "type": "LIMIT", "timeInForce": "GTC",
         "quantity": "1", "price": "90.00"}


async def gated_user(start_server, **settings):
    """A server with ``settings``; (app, the user's client and Trader, an operator client)."""
    app, client = await start_server(**settings)
    body = await client.register("ada@example.com")
    await client.login("ada@example.com")
    client.email, client.account_id = "ada@example.com", body["account_id"]
    await deposit(app, client.account_id, "USD", "1000.00")
    key = await api_key(client)
    operator = await make_operator(app, type(client)(client.client))
    return app, client, Trader(client, client.account_id, key["api_key"], key["secret"]), operator


async def set_kyc(operator, account, status, note=None):
    code, body, _ = await operator.call("PUT", f"/api/v1/admin/accounts/{account}/kyc",
                                        {"status": status, "note": note})
    assert code == 200, body
    return body


async def test_with_the_defaults_nothing_is_gated_and_me_shows_none(start_server):
    app, user, trader, _ = await gated_user(start_server)
    status, me = await user.get("/api/v1/me")
    assert status == 200 and me["kyc_status"] == "NONE"
    assert (await trader.order("AAPL", "BUY", "90.00", "1"))["status"] == "NEW"
    status, w, _ = await user.call("POST", "/api/v1/funding/withdrawals",
                                   {"asset": "USD", "amount": "1.00"})
    assert status == 201, w


async def test_orders_and_withdrawals_wait_for_verification(start_server):
    app, user, trader, operator = await gated_user(start_server, **GATED)
    seq = app[VENUE].sequencer
    before = (seq.seq, balance(app, user.account_id, "USD"))
    status, out = await user.signed("POST", "/api/v3/order", trader.key, trader.secret, ORDER)
    assert (status, out["code"]) == (400, -2010) and "KYC" in out["msg"]
    status, out = await user.signed("POST", "/api/v3/order/cancelReplace", trader.key,
                                    trader.secret, {**ORDER, "cancelReplaceMode": "STOP_ON_FAILURE",
                                                    "cancelOrderId": 1})
    assert (status, out["code"]) == (400, -2010) and "KYC" in out["msg"]
    status, out, _ = await user.call("POST", "/api/v1/funding/withdrawals",
                                     {"asset": "USD", "amount": "1.00"})
    assert (status, out["code"]) == (403, "KYC_REQUIRED")
    assert (seq.seq, balance(app, user.account_id, "USD")) == before   # no command at all
    assert await app[POOL].fetchval("SELECT count(*) FROM withdrawals") == 0

    # the user submits, the operator verifies: the gates open at once (the cache is told)
    status, sub, _ = await user.call("POST", "/api/v1/kyc/submit")
    assert status == 200 and sub["kyc_status"] == "PENDING" and sub["set_by"] is None
    status, out = await user.signed("POST", "/api/v3/order", trader.key, trader.secret, ORDER)
    assert (status, out["code"]) == (400, -2010)                      # PENDING is not enough
    body = await set_kyc(operator, user.account_id, "VERIFIED", "passport checked")
    assert body["kyc_status"] == "VERIFIED" and body["set_by"] == operator.account_id
    assert body["note"] == "passport checked" and body["set_at"].endswith("Z")
    placed = await trader.order("AAPL", "BUY", "90.00", "1")
    assert placed["status"] == "NEW"
    status, w, _ = await user.call("POST", "/api/v1/funding/withdrawals",
                                   {"asset": "USD", "amount": "1.00"})
    assert status == 201, w

    # rejected later: new orders refused again, but the open order may still be canceled
    await set_kyc(operator, user.account_id, "REJECTED", "document expired")
    status, out = await user.signed("POST", "/api/v3/order", trader.key, trader.secret, ORDER)
    assert (status, out["code"]) == (400, -2010) and "KYC" in out["msg"]
    await trader.cancel("AAPL", placed["orderId"])
    status, out = await user.signed("DELETE", "/api/v3/openOrders", trader.key, trader.secret,
                                    {"symbol": "AAPL"})
    assert (status, out) == (200, [])                                # cancels are never gated
    assert app[KYC]._status[user.account_id] == "REJECTED"


async def test_submit_moves_none_or_rejected_to_pending_only(start_server):
    app, user, _, operator = await gated_user(start_server)
    status, body, _ = await user.call("POST", "/api/v1/kyc/submit")
    assert status == 200 and body["kyc_status"] == "PENDING"
    status, body, _ = await user.call("POST", "/api/v1/kyc/submit")
    assert (status, body["code"]) == (409, "KYC_STATE")
    await set_kyc(operator, user.account_id, "REJECTED", "blurry photo")
    status, me = await user.get("/api/v1/me")
    assert me["kyc_status"] == "REJECTED"
    status, body, _ = await user.call("POST", "/api/v1/kyc/submit")
    assert status == 200 and body["kyc_status"] == "PENDING"
    await set_kyc(operator, user.account_id, "VERIFIED")
    status, body, _ = await user.call("POST", "/api/v1/kyc/submit")
    assert (status, body["code"]) == (409, "KYC_STATE")
    status, body, _ = await user.call("POST", "/api/v1/kyc/submit", {"status": "VERIFIED"})
    assert (status, body["code"]) == (400, "UNKNOWN_FIELD")
    row = await app[POOL].fetchrow("SELECT kyc_status, kyc_set_by FROM accounts "
                                   "WHERE account_id = $1", user.account_id)
    assert tuple(row) == ("VERIFIED", operator.account_id)


@pytest.mark.parametrize("account, body, status, code", [
    ("{id}", {"status": "GOLD"}, 400, "INVALID_FIELD"),
    ("{id}", {}, 400, "MISSING_FIELD"),
    ("{id}", {"status": "VERIFIED", "note": "bad\x00note"}, 400, "INVALID_FIELD"),
    ("{id}", {"status": "VERIFIED", "note": "x" * 501}, 400, "INVALID_FIELD"),
    ("{id}", {"status": "VERIFIED", "by": 1}, 400, "UNKNOWN_FIELD"),
    ("abc", {"status": "VERIFIED"}, 400, "INVALID_PARAMETER"),
    ("999999", {"status": "VERIFIED"}, 404, "UNKNOWN_ACCOUNT"),
])
async def test_bad_kyc_input_is_refused_and_changes_nothing(start_server, account, body, status,
                                                           code):
    app, user, _, operator = await gated_user(start_server)
    path = f"/api/v1/admin/accounts/{account.format(id=user.account_id)}/kyc"
    got, out, _ = await operator.call("PUT", path, body)
    assert (got, out["code"]) == (status, code), out
    assert await app[POOL].fetchval("SELECT count(*) FROM accounts WHERE kyc_status <> 'NONE'") == 0
    assert await app[POOL].fetchval(
        "SELECT count(*) FROM admin_actions WHERE action = 'kyc.status'") == 0


async def test_a_trader_cannot_set_kyc_and_the_operator_change_is_audited(start_server):
    app, user, _, operator = await gated_user(start_server)
    status, out, _ = await user.call("PUT", f"/api/v1/admin/accounts/{user.account_id}/kyc",
                                     {"status": "VERIFIED"})
    assert (status, out["code"]) == (403, "FORBIDDEN")
    assert await app[POOL].fetchval("SELECT kyc_status FROM accounts WHERE account_id = $1",
                                    user.account_id) == "NONE"
    await set_kyc(operator, user.account_id, "VERIFIED", "ok")
    row = await app[POOL].fetchrow("SELECT actor, target, details FROM admin_actions "
                                   "WHERE action = 'kyc.status'")
    assert (row["actor"], row["target"]) == (operator.account_id, f"account:{user.account_id}")
    assert row["details"] == {"status": "VERIFIED", "previous": "NONE", "note": "ok"}
