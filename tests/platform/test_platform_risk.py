"""Risk on the platform API: the user's view and alerts, operators' limits, kill switch and
instrument status, and refusals (403 for non-operators on every admin route) that change
nothing."""

import pytest

from exchange.keys import POOL, VENUE
from exchange.platform.roles import set_role

from tests.helpers.funding import make_operator

ADMIN = [
    ("PUT", "/api/v1/admin/accounts/{id}/risk-limits", {"max_order_qty": 1}),
    ("POST", "/api/v1/admin/accounts/{id}/kill-switch", {"active": True}),
    ("POST", "/api/v1/admin/instruments/AAPL/status", {"status": "HALT"}),
    ("GET", "/api/v1/admin/risk/alerts", None),
]


@pytest.fixture
async def operator(app, api):
    return await make_operator(app, type(api)(api.client))


def engine_state(app):
    seq = app[VENUE].sequencer
    return (seq.seq, dict(seq.risk_limits), set(seq.killed), len(seq.orders),
            {s: str(m.status) for s, m in seq.markets.items()})


async def test_a_trader_is_refused_every_admin_route_and_nothing_changes(app, user, traders):
    mine, _ = traders
    await mine.order("AAPL", "BUY", "90.00", "1")
    before = engine_state(app)
    for method, path, body in ADMIN:
        status, out, _ = await user.call(method, path.format(id=user.account_id), body)
        assert (status, out["code"]) == (403, "FORBIDDEN"), (method, path)
    assert engine_state(app) == before


async def test_compliance_may_read_alerts_but_not_change_anything(app, user, traders):
    await set_role(app[POOL], user.email, "compliance")
    before = engine_state(app)
    for method, path, body in ADMIN[:3]:
        status, out, _ = await user.call(method, path.format(id=user.account_id), body)
        assert (status, out["code"]) == (403, "FORBIDDEN"), (method, path)
    assert engine_state(app) == before
    status, out = await user.get("/api/v1/admin/risk/alerts")
    assert status == 200 and out["alerts"] == []


async def test_limits_refuse_orders_with_a_precise_code_and_alerts_are_listed(
        app, user, traders, operator):
    mine, _ = traders
    status, view, _ = await operator.call(
        "PUT", f"/api/v1/admin/accounts/{user.account_id}/risk-limits",
        {"max_order_qty": 5, "max_open_orders": 2})
    assert status == 200, view
    assert view["limits"]["max_order_qty"] == 5 and view["own_limits"]["max_position"] is None
    params = {"symbol": "AAPL", "side": "BUY", "type": "LIMIT", "timeInForce": "GTC",
              "quantity": "6", "price": "90.00"}
    status, out = await user.signed("POST", "/api/v3/order", mine.key, mine.secret, params)
    assert (status, out["code"]) == (400, -2010)
    assert "order quantity" in out["msg"]
    await mine.order("AAPL", "BUY", "90.00", "5")
    await mine.order("AAPL", "BUY", "91.00", "1")
    status, out = await user.signed("POST", "/api/v3/order", mine.key, mine.secret,
                                    {**params, "quantity": "1"})
    assert (status, out["code"]) == (400, -2010) and "open orders" in out["msg"]

    status, alerts = await user.get("/api/v1/risk/alerts")
    assert status == 200
    assert [a["reason"] for a in alerts["alerts"]] == ["RISK_MAX_OPEN_ORDERS",
                                                       "RISK_MAX_ORDER_QTY"]
    assert all(a["account_id"] == user.account_id and a["symbol"] == "AAPL"
               for a in alerts["alerts"])
    status, everyone = await operator.get("/api/v1/admin/risk/alerts",
                                          account_id=user.account_id, limit=1)
    assert status == 200 and len(everyone["alerts"]) == 1
    assert everyone["next_before"] == everyone["alerts"][0]["seq"]

    status, risk = await user.get("/api/v1/risk")
    assert status == 200
    assert risk["usage"]["open_orders"] == 2 and risk["kill_switch"] is False
    assert risk["symbols"]["AAPL"]["open_buy_lots"] == 6
    locked = app[VENUE].sequencer.ledger.balance(user.account_id, "USD").locked
    assert risk["holds"]["USD"] == f"{locked / 100:.2f}" and locked >= 541_00  # 5x90 + 91 + fees
    # null everywhere: back to the venue defaults (none)
    status, view, _ = await operator.call(
        "PUT", f"/api/v1/admin/accounts/{user.account_id}/risk-limits", {})
    assert status == 200 and view["limits"]["max_order_qty"] == 0
    await mine.order("AAPL", "BUY", "90.00", "6")


async def test_kill_switch_cancels_everything_and_refuses_until_lifted(
        app, user, traders, operator):
    mine, _ = traders
    first = await mine.order("AAPL", "BUY", "90.00", "1")
    second = await mine.order("AAPL", "SELL", "110.00", "1")
    path = f"/api/v1/admin/accounts/{user.account_id}/kill-switch"
    status, out, _ = await operator.call("POST", path, {"active": True})
    assert status == 200
    assert out["canceled_order_ids"] == sorted([first["orderId"], second["orderId"]])
    params = {"symbol": "AAPL", "side": "BUY", "type": "LIMIT", "timeInForce": "GTC",
              "quantity": "1", "price": "90.00"}
    status, out = await user.signed("POST", "/api/v3/order", mine.key, mine.secret, params)
    assert (status, out["code"]) == (400, -2010) and "Kill switch" in out["msg"]
    status, risk = await user.get("/api/v1/risk")
    assert risk["kill_switch"] is True and risk["usage"]["open_orders"] == 0
    status, out, _ = await operator.call("POST", path, {"active": False})
    assert status == 200 and out["canceled_order_ids"] == []
    await mine.order("AAPL", "BUY", "90.00", "1")
    status, alerts = await user.get("/api/v1/risk/alerts")
    assert [a["reason"] for a in alerts["alerts"]] == ["KILL_SWITCH"]


async def test_operator_sets_instrument_status(app, user, traders, operator):
    mine, _ = traders
    status, out, _ = await operator.call("POST", "/api/v1/admin/instruments/AAPL/status",
                                         {"status": "HALT"})
    assert (status, out) == (200, {"symbol": "AAPL", "status": "HALT"})
    params = {"symbol": "AAPL", "side": "BUY", "type": "LIMIT", "timeInForce": "GTC",
              "quantity": "1", "price": "90.00"}
    status, out = await user.signed("POST", "/api/v3/order", mine.key, mine.secret, params)
    assert (status, out["code"]) == (400, -2010)
    status, out, _ = await operator.call("POST", "/api/v1/admin/instruments/AAPL/status",
                                         {"status": "TRADING"})
    assert status == 200
    await mine.order("AAPL", "BUY", "90.00", "1")


@pytest.mark.parametrize("method, path, body, expect", [
    ("PUT", "/api/v1/admin/accounts/{id}/risk-limits", {"max_order_qty": -1},
     (400, "INVALID_FIELD")),
    ("PUT", "/api/v1/admin/accounts/{id}/risk-limits", {"max_order_qty": "5"},
     (400, "INVALID_FIELD")),
    ("PUT", "/api/v1/admin/accounts/{id}/risk-limits", {"max_orders": 5},
     (400, "UNKNOWN_FIELD")),
    ("PUT", "/api/v1/admin/accounts/999999/risk-limits", {"max_order_qty": 5},
     (404, "UNKNOWN_ACCOUNT")),
    ("PUT", "/api/v1/admin/accounts/abc/risk-limits", {}, (400, "INVALID_PARAMETER")),
    ("POST", "/api/v1/admin/accounts/{id}/kill-switch", {}, (400, "MISSING_FIELD")),
    ("POST", "/api/v1/admin/accounts/{id}/kill-switch", {"active": 1}, (400, "INVALID_FIELD")),
    ("POST", "/api/v1/admin/instruments/AAPL/status", {"status": "OPEN"},
     (400, "INVALID_FIELD")),
    ("POST", "/api/v1/admin/instruments/NOPE/status", {"status": "HALT"},
     (404, "UNKNOWN_SYMBOL")),
    ("GET", "/api/v1/admin/risk/alerts?limit=0", None, (400, "INVALID_PARAMETER")),
])
async def test_bad_admin_requests_are_4xx_and_change_nothing(app, user, operator, method, path,
                                                            body, expect):
    before = engine_state(app)
    status, out, _ = await operator.call(method, path.format(id=user.account_id), body)
    assert (status, out["code"]) == expect, out
    assert engine_state(app) == before


async def test_an_api_keys_kill_switch_stops_that_key_alone(app, user, traders, operator):
    mine, other = traders          # ``mine`` trades with one of the user's API keys
    status, second, _ = await user.call("POST", "/api/v1/api-keys",
                                        {"name": "second", "permissions": ["read", "trade"]})
    assert status == 201
    spare = type(mine)(user, user.account_id, second["api_key"], second["secret"])
    first = await mine.order("AAPL", "BUY", "90.00", "1")
    kept = await spare.order("AAPL", "BUY", "89.00", "1")
    status, out, _ = await user.call("POST", f"/api/v1/api-keys/{mine.key}/kill-switch",
                                     {"active": True})
    assert status == 200, out
    assert out == {"api_key": mine.key, "account_id": user.account_id, "kill_switch": True,
                   "canceled_order_ids": [first["orderId"]]}
    status, refused = await user.signed("POST", "/api/v3/order", mine.key, mine.secret, {
        "symbol": "AAPL", "side": "BUY", "type": "LIMIT", "timeInForce": "GTC",
        "quantity": "1", "price": "90.00"})
    assert (status, refused["code"]) == (400, -2010)
    assert "Kill switch" in refused["msg"]
    await spare.order("AAPL", "BUY", "88.00", "1")                 # the other key trades on
    assert kept["orderId"] in app[VENUE].sequencer.orders
    status, view = await user.get("/api/v1/risk")
    assert view["kill_switch"] is False and view["killed_api_keys"] == [mine.key[:16]]
    # an operator lifts it; the lift is audited
    status, out, _ = await operator.call(
        "POST", f"/api/v1/admin/api-keys/{mine.key}/kill-switch", {"active": False})
    assert (status, out["kill_switch"], out["canceled_order_ids"]) == (200, False, [])
    await mine.order("AAPL", "BUY", "90.00", "1")
    action = await app[POOL].fetchval(
        "SELECT action FROM admin_actions ORDER BY action_id DESC LIMIT 1")
    assert action == "risk.key_kill_switch"


async def test_key_kill_switch_refusals_change_nothing(app, user, traders, operator):
    mine, other = traders
    before = engine_state(app)
    for path, body, code in [
        (f"/api/v1/api-keys/{other.key}/kill-switch", {"active": True}, "API_KEY_NOT_FOUND"),
        ("/api/v1/api-keys/nosuchkey/kill-switch", {"active": True}, "API_KEY_NOT_FOUND"),
        ("/api/v1/api-keys/bad-key!/kill-switch", {"active": True}, "API_KEY_NOT_FOUND"),
        (f"/api/v1/api-keys/{mine.key}/kill-switch", {"active": "yes"}, "INVALID_FIELD"),
        (f"/api/v1/api-keys/{mine.key}/kill-switch", {}, "MISSING_FIELD"),
        (f"/api/v1/admin/api-keys/{mine.key}/kill-switch", {"active": True}, "FORBIDDEN"),
    ]:
        status, out, _ = await user.call("POST", path, body)
        assert out["code"] == code, (path, out)
        assert 400 <= status < 500
    assert engine_state(app) == before and not app[VENUE].sequencer.killed_keys
