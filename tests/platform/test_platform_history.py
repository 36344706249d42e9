"""The logged-in user's orders and trades: newest first, paged by id cursors, filtered, decimals."""

import time

import pytest


async def test_trades_show_the_users_side_role_and_fee_newest_first(user, traders):
    me, other = traders
    await other.order("AAPL", "SELL", "100.00", "5")
    buy = await me.order("AAPL", "BUY", "100.00", "3")           # taker: 300.00, fee 0.06
    sell = await me.order("AAPL", "SELL", "101.00", "2")         # rests: maker
    await other.order("AAPL", "BUY", "101.00", "2")              # 202.00, maker fee 0.0202 -> 0.02
    status, body = await user.get("/api/v1/trades")
    assert status == 200, body
    for t in body["trades"]:
        assert isinstance(t.pop("trade_id"), int) and t.pop("time").endswith("Z")
    assert body == {"next_before": None, "trades": [
        {"order_id": sell["orderId"], "symbol": "AAPL", "side": "sell", "role": "maker",
         "price": "101.00", "quantity": "2", "quote_quantity": "202.00", "fee": "0.02",
         "fee_asset": "USD"},
        {"order_id": buy["orderId"], "symbol": "AAPL", "side": "buy", "role": "taker",
         "price": "100.00", "quantity": "3", "quote_quantity": "300.00", "fee": "0.06",
         "fee_asset": "USD"}]}
    status, body = await user.get("/api/v1/trades", side="BUY")
    assert [t["order_id"] for t in body["trades"]] == [buy["orderId"]]
    status, body = await user.get("/api/v1/trades", symbol="MSFT")
    assert status == 200 and body["trades"] == []


async def test_a_self_trade_is_one_trade_with_both_sides(user, traders):
    me, _ = traders
    sell = await me.order("AAPL", "SELL", "100.00", "1", selfTradePreventionMode="NONE")
    buy = await me.order("AAPL", "BUY", "100.00", "1", selfTradePreventionMode="NONE")
    status, body = await user.get("/api/v1/trades", limit=1)
    assert status == 200
    assert [(t["side"], t["role"], t["order_id"], t["fee"]) for t in body["trades"]] == [
        ("buy", "taker", buy["orderId"], "0.02"), ("sell", "maker", sell["orderId"], "0.01")]
    assert body["trades"][0]["trade_id"] == body["trades"][1]["trade_id"] == body["next_before"]
    status, body = await user.get("/api/v1/trades", side="sell")
    assert [t["role"] for t in body["trades"]] == ["maker"]


async def test_orders_page_newest_first_by_before_and_after(user, traders):
    me, _ = traders
    ids = [(await me.order("AAPL", "BUY", f"9{i}.00", "1"))["orderId"] for i in range(5)]
    status, body = await user.get("/api/v1/orders", limit=2)
    assert status == 200
    assert [o["order_id"] for o in body["orders"]] == [ids[4], ids[3]]
    assert body["next_before"] == ids[3]
    status, body = await user.get("/api/v1/orders", limit=2, before=ids[3])
    assert [o["order_id"] for o in body["orders"]] == [ids[2], ids[1]]
    status, body = await user.get("/api/v1/orders", limit=2, before=ids[1])
    assert [o["order_id"] for o in body["orders"]] == [ids[0]] and body["next_before"] is None
    status, body = await user.get("/api/v1/orders", limit=2, after=ids[0])
    assert [o["order_id"] for o in body["orders"]] == [ids[2], ids[1]]
    status, body = await user.get("/api/v1/orders", before=ids[4], after=ids[1])
    assert [o["order_id"] for o in body["orders"]] == [ids[3], ids[2]]


async def test_orders_filter_by_symbol_side_status_and_time(user, traders):
    me, other = traders
    t0 = int(time.time() * 1000) - 1000
    canceled = await me.order("AAPL", "BUY", "90.00", "1")
    await me.cancel("AAPL", canceled["orderId"])
    msft = await me.order("MSFT", "BUY", "95.00", "1")
    sell = await me.order("AAPL", "SELL", "110.00", "2")
    status, body = await user.get("/api/v1/orders")
    assert [o["order_id"] for o in body["orders"]] == [sell["orderId"], msft["orderId"],
                                                        canceled["orderId"]]
    assert body["orders"][1] == {
        "order_id": msft["orderId"], "client_order_id": msft["clientOrderId"],
        "symbol": "MSFT", "side": "buy", "type": "LIMIT", "time_in_force": "GTC",
        "status": "NEW", "working": True, "price": "95.00", "quantity": "1",
        "quote_quantity": None, "stop_price": None, "iceberg_quantity": None,
        "executed_quantity": "0", "cumulative_quote": "0.00",
        "self_trade_prevention": "EXPIRE_MAKER",
        "created_at": body["orders"][1]["created_at"],
        "updated_at": body["orders"][1]["updated_at"]}
    cases = [({"symbol": "MSFT"}, [msft]), ({"symbol": "aapl"}, [sell, canceled]),
             ({"side": "sell"}, [sell]), ({"status": "CANCELED"}, [canceled]),
             ({"status": "NEW,canceled"}, [sell, msft, canceled]),
             ({"symbol": "AAPL", "side": "BUY", "status": "NEW"}, []),
             ({"start_time": t0}, [sell, msft, canceled]),
             ({"start_time": t0 + 86_400_000}, []), ({"end_time": t0}, [])]
    for params, expected in cases:
        status, body = await user.get("/api/v1/orders", **params)
        assert status == 200, (params, body)
        assert [o["order_id"] for o in body["orders"]] == [o["orderId"] for o in expected], params


async def test_another_accounts_orders_and_trades_are_not_shown(user, traders):
    _, other = traders
    await other.order("AAPL", "SELL", "100.00", "1")
    for path, key in (("/api/v1/orders", "orders"), ("/api/v1/trades", "trades")):
        status, body = await user.get(path)
        assert status == 200 and body[key] == []


BAD = [
    ("limit=0", "INVALID_PARAMETER"), ("limit=501", "INVALID_PARAMETER"),
    ("limit=x", "INVALID_PARAMETER"), ("limit=-1", "INVALID_PARAMETER"),
    ("limit=1.5", "INVALID_PARAMETER"), ("limit=", "INVALID_PARAMETER"),
    ("limit=1&limit=2", "INVALID_PARAMETER"), ("before=0", "INVALID_PARAMETER"),
    ("before=9223372036854775808", "INVALID_PARAMETER"),
    ("after=99999999999999999999999", "INVALID_PARAMETER"),
    ("start_time=9000000000001", "INVALID_PARAMETER"), ("end_time=-5", "INVALID_PARAMETER"),
    ("side=both", "INVALID_PARAMETER"), ("symbol=NOPE", "UNKNOWN_SYMBOL"),
    ("symbol=%00", "INVALID_PARAMETER"), ("symbol=" + "A" * 50, "INVALID_PARAMETER"),
    ("symbol=%FF", "INVALID_PARAMETER"), ("limit=%EF%BC%91", "INVALID_PARAMETER"),
    ("foo=1", "UNKNOWN_PARAMETER"),
]


@pytest.mark.parametrize("path", ["/api/v1/orders", "/api/v1/trades"])
@pytest.mark.parametrize("query,code", BAD + [("status=NEW", "status-for-trades")])
async def test_malformed_queries_are_400_with_a_code(user, path, query, code):
    if code == "status-for-trades":
        code = "UNKNOWN_PARAMETER" if path.endswith("trades") else None
    status, body, _ = await user.call("GET", f"{path}?{query}")
    if code is None:
        assert status == 200, body
    else:
        assert (status, body["code"]) == (400, code), (query, body)


@pytest.mark.parametrize("query", ["status=OPEN", "status=NEW,", "status=,"])
async def test_unknown_statuses_are_refused(user, query):
    status, body, _ = await user.call("GET", f"/api/v1/orders?{query}")
    assert (status, body["code"]) == (400, "INVALID_PARAMETER")


@pytest.mark.parametrize("path", ["/api/v1/orders", "/api/v1/trades"])
async def test_history_needs_a_login(api, path):
    status, body, _ = await api.call("GET", path)
    assert (status, body["code"]) == (401, "UNAUTHENTICATED")
