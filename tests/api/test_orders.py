"""Order entry and queries through the real server: lifecycle, fills, idempotency, errors."""

import asyncio

import pytest

from exchange.keys import LIMITER, VENUE
from exchange.api.errors import REASON_ERRORS
from exchange.engine import Reason

LIMIT = {"symbol": "AAPL", "side": "BUY", "type": "LIMIT", "timeInForce": "GTC",
         "quantity": "2", "price": "100.00"}


def snapshot(app):
    """Everything an accepted command would change (seq aside: a refusal is journaled)."""
    seq = app[VENUE].sequencer
    return len(seq.orders), sorted((b.account, b.asset, b.free, b.locked)
                                   for b in seq.ledger.balances() if b.free or b.locked)


async def test_limit_order_lifecycle_new_query_open_cancel_all_orders(alice):
    status, placed, _ = await alice.order(**LIMIT, newClientOrderId="life-1")
    assert status == 200
    assert placed["status"] == "NEW" and placed["clientOrderId"] == "life-1"
    assert placed["price"] == "100.00" and placed["origQty"] == "2" and placed["fills"] == []
    oid = placed["orderId"]

    status, got, _ = await alice.signed("GET", "/api/v3/order", {"symbol": "AAPL", "orderId": oid})
    assert status == 200 and got["status"] == "NEW" and got["isWorking"] is True
    status, got, _ = await alice.signed("GET", "/api/v3/order",
                                        {"symbol": "AAPL", "origClientOrderId": "life-1"})
    assert got["orderId"] == oid

    status, opened, _ = await alice.signed("GET", "/api/v3/openOrders", {"symbol": "AAPL"})
    assert [o["orderId"] for o in opened] == [oid]
    status, account, _ = await alice.signed("GET", "/api/v3/account")
    usd = next(b for b in account["balances"] if b["asset"] == "USD")
    assert usd["locked"] == "200.04"  # 2 x 100.00 plus the larger fee (0.02%)

    status, canceled, _ = await alice.signed("DELETE", "/api/v3/order",
                                             {"symbol": "AAPL", "orderId": oid})
    assert status == 200 and canceled["status"] == "CANCELED"
    assert canceled["origClientOrderId"] == "life-1"
    status, opened, _ = await alice.signed("GET", "/api/v3/openOrders", {"symbol": "AAPL"})
    assert opened == []
    status, history, _ = await alice.signed("GET", "/api/v3/allOrders", {"symbol": "AAPL"})
    assert [(o["orderId"], o["status"]) for o in history] == [(oid, "CANCELED")]
    status, account, _ = await alice.signed("GET", "/api/v3/account", {"omitZeroBalances": "true"})
    usd = next(b for b in account["balances"] if b["asset"] == "USD")
    assert usd == {"asset": "USD", "free": "1000000.00", "locked": "0.00"}


async def test_trade_reports_fills_with_commission_and_my_trades(alice, bob):
    status, maker, _ = await bob.order(symbol="AAPL", side="SELL", type="LIMIT",
                                       timeInForce="GTC", quantity="3", price="101.00")
    assert status == 200 and maker["status"] == "NEW"
    status, taker, _ = await alice.order(symbol="AAPL", side="BUY", type="MARKET", quantity="2")
    assert status == 200, taker
    assert taker["status"] == "FILLED" and taker["executedQty"] == "2"
    assert taker["cummulativeQuoteQty"] == "202.00"
    assert taker["fills"] == [{"price": "101.00", "qty": "2", "commission": "0.04",
                               "commissionAsset": "USD", "tradeId": 1}]

    status, mine, _ = await alice.signed("GET", "/api/v3/myTrades", {"symbol": "AAPL"})
    assert [(t["id"], t["isBuyer"], t["isMaker"], t["price"], t["qty"], t["commission"])
            for t in mine] == [(1, True, False, "101.00", "2", "0.04")]
    status, theirs, _ = await bob.signed("GET", "/api/v3/myTrades", {"symbol": "AAPL"})
    assert [(t["isBuyer"], t["isMaker"], t["commission"]) for t in theirs] == [(False, True, "0.02")]
    status, got, _ = await bob.signed("GET", "/api/v3/order",
                                      {"symbol": "AAPL", "orderId": maker["orderId"]})
    assert got["status"] == "PARTIALLY_FILLED" and got["executedQty"] == "2"

    status, trades, _ = await alice.public("/api/v3/trades", symbol="AAPL")
    assert [(t["price"], t["qty"], t["isBuyerMaker"]) for t in trades] == [("101.00", "2", False)]
    status, depth, _ = await alice.public("/api/v3/depth", symbol="AAPL")
    assert depth["asks"] == [["101.00", "1"]] and depth["bids"] == []


async def test_response_types_ack_result_full(alice):
    _, ack, _ = await alice.order(**LIMIT, newOrderRespType="ACK")
    assert set(ack) == {"symbol", "orderId", "orderListId", "clientOrderId", "transactTime"}
    _, result, _ = await alice.order(**LIMIT, newOrderRespType="RESULT")
    assert result["status"] == "NEW" and "fills" not in result
    _, full, _ = await alice.order(**LIMIT, newOrderRespType="FULL")
    assert full["fills"] == []
    _, stop, _ = await alice.order(symbol="AAPL", side="BUY", type="STOP_LOSS", quantity="1",
                                   stopPrice="110.00")
    assert set(stop) == set(ack)  # stops default to ACK, as on Binance


async def test_market_buy_by_quote_amount_iceberg_and_stop(alice, bob):
    _, ice, _ = await bob.order(symbol="AAPL", side="SELL", type="LIMIT", timeInForce="GTC",
                                quantity="10", price="100.00", icebergQty="2")
    assert ice["status"] == "NEW"
    _, depth, _ = await alice.public("/api/v3/depth", symbol="AAPL")
    assert depth["asks"] == [["100.00", "2"]]
    status, bought, _ = await alice.order(symbol="AAPL", side="BUY", type="MARKET",
                                          quoteOrderQty="350.00")
    assert status == 200, bought
    assert bought["executedQty"] == "3" and bought["cummulativeQuoteQty"] == "300.00"
    assert bought["status"] in ("FILLED", "EXPIRED")
    _, stop, _ = await alice.order(symbol="AAPL", side="SELL", type="STOP_LOSS_LIMIT",
                                   timeInForce="GTC", quantity="1", price="90.00",
                                   stopPrice="95.00", newOrderRespType="RESULT")
    assert stop["status"] == "NEW" and stop["stopPrice"] == "95.00"
    _, got, _ = await alice.signed("GET", "/api/v3/order",
                                   {"symbol": "AAPL", "orderId": stop["orderId"]})
    assert got["isWorking"] is False and got["type"] == "STOP_LOSS_LIMIT"


async def test_client_order_id_retry_never_creates_a_second_order(app, alice, bob):
    status, first, _ = await alice.order(**LIMIT, newClientOrderId="retry-1")
    assert status == 200
    before = snapshot(app)
    status, again, _ = await alice.order(**LIMIT, newClientOrderId="retry-1")
    assert (status, again["code"], again["msg"]) == (400, -2010, "Duplicate order sent.")
    assert snapshot(app) == before
    # still a duplicate once the first is closed
    await alice.signed("DELETE", "/api/v3/order", {"symbol": "AAPL", "orderId": first["orderId"]})
    status, again, _ = await alice.order(**LIMIT, newClientOrderId="retry-1")
    assert again["code"] == -2010
    # another account may use the same id
    status, other, _ = await bob.order(**LIMIT, newClientOrderId="retry-1")
    assert status == 200


async def test_concurrent_requests_with_one_client_order_id_place_one_order(app, alice):
    results = await asyncio.gather(*[alice.order(**LIMIT, newClientOrderId="race-1")
                                     for _ in range(5)])
    statuses = sorted(status for status, _, _ in results)
    assert statuses == [200, 400, 400, 400, 400]
    assert all(body["code"] == -2010 for status, body, _ in results if status == 400)
    _, opened, _ = await alice.signed("GET", "/api/v3/openOrders", {"symbol": "AAPL"})
    assert len(opened) == 1


async def test_a_filled_ioc_retry_is_still_a_duplicate(alice, bob):
    await bob.order(symbol="AAPL", side="SELL", type="LIMIT", timeInForce="GTC", quantity="5",
                    price="100.00")
    status, first, _ = await alice.order(symbol="AAPL", side="BUY", type="LIMIT",
                                         timeInForce="IOC", quantity="1", price="100.00",
                                         newClientOrderId="ioc-1")
    assert first["status"] == "FILLED"
    status, again, _ = await alice.order(symbol="AAPL", side="BUY", type="LIMIT",
                                         timeInForce="IOC", quantity="1", price="100.00",
                                         newClientOrderId="ioc-1")
    assert again["code"] == -2010
    _, mine, _ = await alice.signed("GET", "/api/v3/myTrades", {"symbol": "AAPL"})
    assert len(mine) == 1


BAD_ORDERS = [
    ("off the lot grid", {"quantity": "1.5"}, -1013, "Filter failure: LOT_SIZE"),
    ("off the price grid", {"price": "100.005"}, -1013, "Filter failure: PRICE_FILTER"),
    ("zero quantity", {"quantity": "0"}, -1013, "Filter failure: LOT_SIZE"),
    ("outside the price band", {"price": "150.00"}, -1013,
     "Filter failure: PERCENT_PRICE_BY_SIDE"),
    ("iceberg not below the quantity", {"icebergQty": "2"}, -1013, "Filter failure: ICEBERG_PARTS"),
    ("too precise", {"quantity": "1.000000001"}, -1111, None),
    ("exponent", {"quantity": "1e2"}, -1100, None),
    ("negative", {"price": "-1"}, -1100, None),
    ("letters in a number", {"price": "abc"}, -1100, None),
    ("too many digits", {"quantity": "1" * 21}, -1100, None),
    ("bad client id", {"newClientOrderId": "no spaces allowed"}, -1100, None),
    ("bad stp mode", {"selfTradePreventionMode": "DECREMENT"}, -1100, None),
    ("missing quantity", {"quantity": None}, -1102, None),
    ("missing price", {"price": None}, -1102, None),
    ("missing timeInForce", {"timeInForce": None}, -1102, None),
    ("missing side", {"side": None}, -1102, None),
    ("missing symbol", {"symbol": None}, -1102, None),
    ("unread parameter", {"colour": "blue"}, -1104, None),
    ("trailing stops", {"trailingDelta": "100"}, -1104, None),
    ("price on a market order", {"type": "MARKET", "timeInForce": None}, -1106, None),
    ("tif on a market order", {"type": "MARKET", "price": None}, -1106, None),
    ("stop price on a limit order", {"stopPrice": "99.00"}, -1106, None),
    ("bad tif", {"timeInForce": "GTX"}, -1115, "Invalid timeInForce."),
    ("bad type", {"type": "BOGUS"}, -1116, "Invalid orderType."),
    ("bad side", {"side": "HOLD"}, -1117, "Invalid side."),
    ("unknown symbol", {"symbol": "ZZZZ"}, -1121, "Invalid symbol."),
    ("illegal symbol", {"symbol": "aapl;drop"}, -1100, None),
    ("insufficient balance", {"quantity": "100000"}, -2010,
     "Account has insufficient balance for requested action."),
    ("post-only would take", {"type": "LIMIT_MAKER", "timeInForce": None, "side": "SELL",
                              "price": "99.00"}, -2010, "Order would immediately match and take."),
]


REFUSED_BY_SEQUENCER = {"outside the price band", "iceberg not below the quantity",
                        "insufficient balance", "post-only would take"}


@pytest.mark.parametrize("case, change, code, msg", BAD_ORDERS, ids=[c[0] for c in BAD_ORDERS])
async def test_bad_orders_are_refused_with_binance_codes_and_change_nothing(
        app, alice, bob, case, change, code, msg):
    await bob.order(symbol="AAPL", side="BUY", type="LIMIT", timeInForce="GTC", quantity="1",
                    price="99.00")
    params = {**LIMIT, **change}
    params = {k: v for k, v in params.items() if v is not None}
    before = snapshot(app)
    seq_before = app[VENUE].sequencer.seq
    status, body, _ = await alice.order(**params)
    assert status == 400 and body["code"] == code, body
    if msg is not None:
        assert body["msg"] == msg
    assert snapshot(app) == before
    if case not in REFUSED_BY_SEQUENCER:  # refused at the edge: the sequencer never saw it
        assert app[VENUE].sequencer.seq == seq_before


async def test_duplicate_parameter_is_refused(app, alice):
    import time
    from urllib.parse import urlencode
    from exchange.api import sign
    q = urlencode(LIMIT) + "&quantity=3&timestamp=" + str(int(time.time() * 1000))
    resp = await alice.client.post(f"/api/v3/order?{q}&signature={sign(alice.secret, q)}",
                                   headers={"X-MBX-APIKEY": alice.api_key})
    assert resp.status == 400 and (await resp.json())["code"] == -1101


async def test_unknown_orders_cancel_2011_query_2013(app, alice, bob):
    _, theirs, _ = await bob.order(**LIMIT)
    before = snapshot(app)
    for ref in ({"orderId": 999}, {"origClientOrderId": "nope"}, {"orderId": theirs["orderId"]}):
        status, body, _ = await alice.signed("DELETE", "/api/v3/order", {"symbol": "AAPL", **ref})
        assert (status, body["code"], body["msg"]) == (400, -2011, "Unknown order sent.")
        status, body, _ = await alice.signed("GET", "/api/v3/order", {"symbol": "AAPL", **ref})
        assert (status, body["code"], body["msg"]) == (400, -2013, "Order does not exist.")
    status, body, _ = await alice.signed("DELETE", "/api/v3/order", {"symbol": "AAPL"})
    assert body["code"] == -1102
    assert snapshot(app) == before


async def test_cancel_open_orders_cancels_only_the_callers_on_the_symbol(alice, bob):
    for price in ("99.00", "98.00"):
        await alice.order(**{**LIMIT, "price": price})
    await alice.order(**{**LIMIT, "symbol": "MSFT"})
    await bob.order(**LIMIT)
    status, canceled, _ = await alice.signed("DELETE", "/api/v3/openOrders", {"symbol": "AAPL"})
    assert status == 200 and sorted(c["price"] for c in canceled) == ["98.00", "99.00"]
    _, left, _ = await alice.signed("GET", "/api/v3/openOrders")
    assert [o["symbol"] for o in left] == ["MSFT"]
    _, theirs, _ = await bob.signed("GET", "/api/v3/openOrders")
    assert len(theirs) == 1


async def test_cancel_replace_success_and_failures(app, alice):
    _, old, _ = await alice.order(**LIMIT)
    status, body, _ = await alice.signed("POST", "/api/v3/order/cancelReplace", {
        **LIMIT, "price": "100.50", "cancelReplaceMode": "STOP_ON_FAILURE",
        "cancelOrderId": old["orderId"]})
    assert status == 200, body
    assert body["cancelResult"] == "SUCCESS" and body["newOrderResult"] == "SUCCESS"
    assert body["cancelResponse"]["status"] == "CANCELED"
    new_id = body["newOrderResponse"]["orderId"]
    assert body["newOrderResponse"]["price"] == "100.50"

    before = snapshot(app)
    status, body, _ = await alice.signed("POST", "/api/v3/order/cancelReplace", {
        **LIMIT, "cancelReplaceMode": "STOP_ON_FAILURE", "cancelOrderId": 424242})
    assert (status, body["code"]) == (400, -2022)
    assert body["data"]["cancelResult"] == "FAILURE"
    assert body["data"]["newOrderResult"] == "NOT_ATTEMPTED"
    assert snapshot(app) == before

    # the cancel succeeds, the new order is refused: partial failure, 409
    status, body, _ = await alice.signed("POST", "/api/v3/order/cancelReplace", {
        **LIMIT, "quantity": "100000", "cancelReplaceMode": "STOP_ON_FAILURE",
        "cancelOrderId": new_id})
    assert (status, body["code"]) == (409, -2021)
    assert body["data"]["cancelResult"] == "SUCCESS"
    assert body["data"]["newOrderResponse"]["code"] == -2010
    _, opened, _ = await alice.signed("GET", "/api/v3/openOrders")
    assert opened == []


async def test_order_test_validates_without_placing(app, alice):
    before = snapshot(app)
    status, body, _ = await alice.signed("POST", "/api/v3/order/test", LIMIT)
    assert (status, body) == (200, {})
    status, body, _ = await alice.signed("POST", "/api/v3/order/test",
                                         {**LIMIT, "computeCommissionRates": "true"})
    assert body["standardCommissionForOrder"] == {"maker": "0.00010000", "taker": "0.00020000"}
    status, body, _ = await alice.signed("POST", "/api/v3/order/test", {**LIMIT, "quantity": "1.5"})
    assert body["code"] == -1013
    assert snapshot(app) == before


async def test_busy_venue_refuses_new_orders_with_503_but_takes_cancels(app, alice):
    _, placed, _ = await alice.order(**LIMIT)
    venue = app[VENUE]
    venue.max_backlog = 0
    try:
        before = snapshot(app)
        status, body, headers = await alice.order(**LIMIT)
        assert (status, body["code"]) == (503, -1008)
        assert headers["Retry-After"] == "1"
        assert snapshot(app) == before
        status, body, _ = await alice.signed("DELETE", "/api/v3/order",
                                             {"symbol": "AAPL", "orderId": placed["orderId"]})
        assert status == 200 and body["status"] == "CANCELED"
    finally:
        venue.max_backlog = 50_000


async def test_request_weight_header_and_429_past_the_limit(app, alice):
    status, _, headers = await alice.public("/api/v3/ping")
    first = int(headers["X-MBX-USED-WEIGHT-1M"])
    status, _, headers = await alice.public("/api/v3/exchangeInfo")
    assert int(headers["X-MBX-USED-WEIGHT-1M"]) == first + 20
    app[LIMITER].limit = first + 24
    status, body, headers = await alice.public("/api/v3/depth", symbol="AAPL")
    assert (status, body["code"]) == (429, -1003)
    assert int(headers["Retry-After"]) >= 1 and "X-MBX-USED-WEIGHT-1M" in headers


async def test_oversized_and_odd_bodies_are_4xx_json(client, alice):
    resp = await client.post("/api/v3/order", data=b"a=" + b"x" * 200_000,
                             headers={"X-MBX-APIKEY": alice.api_key,
                                      "Content-Type": "application/x-www-form-urlencoded"})
    assert resp.status == 413 and "code" in await resp.json()
    resp = await client.post("/api/v3/order", data=b'{"symbol": "AAPL"}',
                             headers={"X-MBX-APIKEY": alice.api_key,
                                      "Content-Type": "application/json"})
    assert resp.status == 415 and (await resp.json())["code"] == -1100
    resp = await client.post("/api/v3/order", data=b"symbol=%ff%fe",
                             headers={"X-MBX-APIKEY": alice.api_key,
                                      "Content-Type": "application/x-www-form-urlencoded"})
    assert resp.status == 400 and (await resp.json())["code"] == -1100
    resp = await client.get("/api/v3/nowhere")
    assert resp.status == 404 and (await resp.json())["code"] == -1000
    resp = await client.put("/api/v3/order")
    assert resp.status == 405 and "msg" in await resp.json()


def test_every_engine_reason_maps_to_a_binance_error():
    assert set(REASON_ERRORS) == set(Reason)
    assert all(isinstance(code, int) and code < 0 and msg for code, msg in REASON_ERRORS.values())


WEIRD = ["", " ", "-1", "0", "1e400", "NaN", "9" * 20, "99999999999999999999", "１２",
         "%00", "[]", '["AAPL",', "null", "true", "A" * 300, "1.2.3", "0x10", "☃"]
ENDPOINTS = [
    ("POST", "/api/v3/order", {**LIMIT}),
    ("GET", "/api/v3/order", {"symbol": "AAPL", "orderId": "1"}),
    ("DELETE", "/api/v3/order", {"symbol": "AAPL", "orderId": "1"}),
    ("GET", "/api/v3/allOrders", {"symbol": "AAPL", "orderId": "1", "startTime": "1",
                                  "endTime": "2", "limit": "5"}),
    ("GET", "/api/v3/myTrades", {"symbol": "AAPL", "fromId": "1", "startTime": "1",
                                 "endTime": "2", "limit": "5"}),
    ("POST", "/api/v3/order/cancelReplace", {**LIMIT, "cancelReplaceMode": "ALLOW_FAILURE",
                                             "cancelOrderId": "1"}),
    ("GET", "/api/v3/klines", {"symbol": "AAPL", "interval": "1m", "startTime": "1",
                               "endTime": "2", "limit": "5"}),
    ("GET", "/api/v3/aggTrades", {"symbol": "AAPL", "fromId": "1", "startTime": "1",
                                  "endTime": "2"}),
    ("GET", "/api/v3/ticker/24hr", {"symbols": '["AAPL"]', "type": "MINI"}),
]


async def test_malformed_values_in_every_parameter_are_4xx_never_5xx(app, alice):
    """Each parameter of each endpoint replaced by odd values: always a 4xx (or a 200)."""
    before = snapshot(app)
    for method, path, params in ENDPOINTS:
        for name in params:
            for value in WEIRD:
                sent = {**params, name: value}
                if path.startswith("/api/v3/klines") or path.startswith("/api/v3/aggTrades") \
                        or path.startswith("/api/v3/ticker"):
                    resp = await alice.client.get(path, params=sent)
                    status, body = resp.status, await resp.json()
                else:
                    status, body, _ = await alice.signed(method, path, sent)
                assert status < 500, (path, name, value, body)
                assert status == 200 or isinstance(body.get("code"), int), (path, name, value)
    # only the cancel-replace/POST cases that are valid can have changed state
    _, opened, _ = await alice.signed("GET", "/api/v3/openOrders")
    assert len(app[VENUE].sequencer.orders) == len(opened)
    assert before[0] <= len(opened)
