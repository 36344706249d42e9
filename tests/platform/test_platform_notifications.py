"""Notifications (order updates, refusals, bursts coalesced) and price alerts.

The server runs with a long coalescing window, and each test ends a window
itself with ``Notifier.flush()``, so what lands in one window is exact.
"""

import pytest

from exchange.platform.notifications import notify_stream
from exchange.keys import NOTIFIER


SELF = {"selfTradePreventionMode": "NONE"}   # the counterparty trades with itself


@pytest.fixture
async def server(start_server):
    return await start_server(notify_coalesce_ms=3_600_000)


@pytest.fixture
async def me(app, user, traders):
    return traders


async def other_user(user, email):
    """A second logged-in client on the same server."""
    other = type(user)(user.client)
    await other.register(email)
    await other.login(email)
    return other


async def notifications(user, **params):
    status, body = await user.get("/api/v1/notifications", **params)
    assert status == 200, body
    return body


async def test_a_fill_and_a_cancel_are_notified_once_each(app, user, me):
    mine, other = me
    await other.order("AAPL", "SELL", "100.00", "5")
    buy = await mine.order("AAPL", "BUY", "100.00", "2")
    rest = await mine.order("AAPL", "BUY", "99.00", "1")
    await mine.cancel("AAPL", rest["orderId"])
    await app[NOTIFIER].flush()
    body = await notifications(user)
    got = [(n["kind"], n["title"], n["detail"]["status"], n["read"])
           for n in body["notifications"]]
    assert got == [
        ("ORDER", f"AAPL buy order {rest['orderId']} cancelled", "CANCELED", False),
        ("ORDER", f"AAPL buy order {buy['orderId']} filled", "FILLED", False)]
    assert body["unread_count"] == 2
    filled = body["notifications"][1]["detail"]
    assert (filled["executed_qty"], filled["cum_quote"], filled["fills"]) == ("2", "200.00", 1)


async def test_a_burst_is_coalesced_into_one_summary(app, user, me):
    mine, _ = me
    for i in range(7):
        await mine.order("AAPL", "BUY", f"9{i}.00", "1")
    status, _ = await user.signed("DELETE", "/api/v3/openOrders", mine.key, mine.secret,
                                  {"symbol": "AAPL"})
    assert status == 200
    await app[NOTIFIER].flush()
    body = await notifications(user)
    assert [(n["title"], n["detail"]) for n in body["notifications"]] == [
        ("7 orders updated", {"orders": 7, "statuses": {"CANCELED": 7}})]


async def test_refused_orders_are_notified(app, user, me):
    mine, _ = me
    status, _ = await user.signed("POST", "/api/v3/order", mine.key, mine.secret, {
        "symbol": "AAPL", "side": "BUY", "type": "LIMIT", "timeInForce": "GTC",
        "quantity": "1000", "price": "100.00"})
    assert status == 400
    await app[NOTIFIER].flush()
    (n,) = (await notifications(user))["notifications"]
    assert n["kind"] == "ORDER" and n["detail"]["reason"] == "INSUFFICIENT_BALANCE"


async def test_marking_read_by_id_and_all(app, user, me):
    mine, other = me
    for price in ("99.00", "98.00", "97.00"):
        order = await mine.order("AAPL", "BUY", price, "1")
        await mine.cancel("AAPL", order["orderId"])
        await app[NOTIFIER].flush()
    ids = [n["notification_id"] for n in (await notifications(user))["notifications"]]
    status, body, _ = await user.call("POST", "/api/v1/notifications/read", {"ids": ids[:1]})
    assert (status, body) == (200, {"marked": 1})
    body = await notifications(user, unread="true")
    assert [n["notification_id"] for n in body["notifications"]] == ids[1:]
    assert body["unread_count"] == 2
    status, body, _ = await user.call("POST", "/api/v1/notifications/read", {"all": True})
    assert (status, body) == (200, {"marked": 2})
    assert (await notifications(user))["unread_count"] == 0
    assert (await notifications(user, limit=2))["next_before"] == ids[1]


async def test_no_account_sees_another_accounts_notifications(app, user, me):
    mine, other = me
    await other.order("AAPL", "SELL", "100.00", "1")
    await mine.order("AAPL", "BUY", "100.00", "1")
    await app[NOTIFIER].flush()
    bob = await other_user(user, "bob@example.com")
    assert (await notifications(bob))["notifications"] == []
    ids = [n["notification_id"] for n in (await notifications(user))["notifications"]]
    status, body, _ = await bob.call("POST", "/api/v1/notifications/read", {"ids": ids})
    assert (status, body) == (200, {"marked": 0})
    assert (await notifications(user))["unread_count"] == 1


async def alert(user, **fields):
    status, body, _ = await user.call("POST", "/api/v1/alerts", fields)
    assert status == 201, body
    return body


async def test_a_one_shot_alert_fires_once_when_the_price_reaches_it(app, user, me):
    mine, other = me
    a = await alert(user, symbol="AAPL", direction="above", price="101.00")
    assert (a["active"], a["repeating"], a["price"]) == (True, False, "101.00")
    await other.order("AAPL", "SELL", "100.50", "1")
    await other.order("AAPL", "BUY", "100.50", "1", **SELF)   # below the alert: nothing
    await app[NOTIFIER].flush()
    assert (await notifications(user))["notifications"] == []
    await other.order("AAPL", "SELL", "101.50", "1")
    await other.order("AAPL", "BUY", "101.50", "1", **SELF)
    await app[NOTIFIER].flush()
    (n,) = (await notifications(user))["notifications"]
    assert (n["kind"], n["title"], n["detail"]["last_price"]) == (
        "PRICE_ALERT", "AAPL above 101.00", "101.50")
    await other.order("AAPL", "SELL", "102.00", "1")
    await other.order("AAPL", "BUY", "102.00", "1", **SELF)
    await app[NOTIFIER].flush()
    assert len((await notifications(user))["notifications"]) == 1
    status, body = await user.get("/api/v1/alerts")
    assert [(x["active"], x["triggered_count"]) for x in body["alerts"]] == [(False, 1)]


async def test_a_repeating_alert_rearms_when_the_price_crosses_back(app, user, me):
    mine, other = me
    await alert(user, symbol="AAPL", direction="below", price="99.00", repeating=True)

    async def trade(price):
        await other.order("AAPL", "SELL", price, "1")
        await other.order("AAPL", "BUY", price, "1", **SELF)
        await app[NOTIFIER].flush()

    await trade("98.00")     # fires
    await trade("97.00")     # still below: not re-armed, nothing
    await trade("100.00")    # back above: re-arms
    await trade("99.00")     # fires again
    titles = [n["title"] for n in (await notifications(user))["notifications"]]
    assert titles == ["AAPL below 99.00", "AAPL below 99.00"]
    status, body = await user.get("/api/v1/alerts")
    assert [(x["active"], x["triggered_count"]) for x in body["alerts"]] == [(True, 2)]


async def test_alerts_are_loaded_at_start(start_server, app, user):
    await alert(user, symbol="AAPL", direction="above", price="150.00")
    await alert(user, symbol="MSFT", direction="below", price="50.00", repeating=True)
    again, _ = await start_server(notify_coalesce_ms=3_600_000)   # a second server, same database
    loaded = {(a.symbol, a.direction, a.price, a.repeating)
              for alerts in again[NOTIFIER].alerts.values() for a in alerts.values()}
    assert loaded == {("AAPL", "above", 150_00, False), ("MSFT", "below", 50_00, True)}


async def test_a_deleted_alert_never_fires(app, user, me):
    mine, other = me
    a = await alert(user, symbol="AAPL", direction="above", price="100.00")
    status, body, _ = await user.call("DELETE", f"/api/v1/alerts/{a['alert_id']}")
    assert (status, body) == (200, {"alert_id": a["alert_id"], "active": False})
    await other.order("AAPL", "SELL", "100.00", "1")
    await other.order("AAPL", "BUY", "100.00", "1", **SELF)
    await app[NOTIFIER].flush()
    assert (await notifications(user))["notifications"] == []
    status, body, _ = await user.call("DELETE", f"/api/v1/alerts/{a['alert_id']}")
    assert (status, body["code"]) == (404, "UNKNOWN_ALERT")


@pytest.mark.parametrize("fields, code", [
    ({"symbol": "NOPE", "direction": "above", "price": "1.00"}, "UNKNOWN_SYMBOL"),
    ({"symbol": "AAPL", "direction": "sideways", "price": "1.00"}, "INVALID_FIELD"),
    ({"symbol": "AAPL", "direction": "above", "price": "1.001"}, "INVALID_FIELD"),
    ({"symbol": "AAPL", "direction": "above", "price": "-1.00"}, "INVALID_FIELD"),
    ({"symbol": "AAPL", "direction": "above", "price": 1.5}, "INVALID_FIELD"),
    ({"symbol": "AAPL", "direction": "above", "price": "1.00", "repeating": "yes"},
     "INVALID_FIELD"),
    ({"symbol": "AAPL", "direction": "above"}, "MISSING_FIELD"),
    ({"symbol": "AAPL", "direction": "above", "price": "1.00", "x": 1}, "UNKNOWN_FIELD"),
])
async def test_bad_alerts_are_refused_and_create_nothing(user, fields, code):
    status, body, _ = await user.call("POST", "/api/v1/alerts", fields)
    assert (status, body["code"]) == (400, code), body
    status, body = await user.get("/api/v1/alerts")
    assert body["alerts"] == []


@pytest.mark.parametrize("payload, code", [
    ({}, "MISSING_FIELD"), ({"ids": []}, "INVALID_FIELD"), ({"ids": ["1"]}, "INVALID_FIELD"),
    ({"ids": [1], "all": True}, "INVALID_FIELD"), ({"all": "yes"}, "INVALID_FIELD"),
])
async def test_bad_mark_read_requests_are_refused(user, payload, code):
    status, body, _ = await user.call("POST", "/api/v1/notifications/read", payload)
    assert (status, body["code"]) == (400, code), body


async def test_other_users_alerts_cannot_be_deleted(app, user):
    a = await alert(user, symbol="AAPL", direction="above", price="100.00")
    eve = await other_user(user, "eve@example.com")
    status, body, _ = await eve.call("DELETE", f"/api/v1/alerts/{a['alert_id']}")
    assert (status, body["code"]) == (404, "UNKNOWN_ALERT")
    status, body = await user.get("/api/v1/alerts")
    assert body["alerts"][0]["active"] is True


def test_notifications_have_their_own_internal_stream():
    assert notify_stream(7) == "@notify:7"
