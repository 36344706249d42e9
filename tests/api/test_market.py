"""Public market data through the real server."""

import time

import pytest


async def test_ping_time_and_exchange_info(alice):
    status, body, _ = await alice.public("/api/v3/ping")
    assert (status, body) == (200, {})
    _, body, _ = await alice.public("/api/v3/time")
    assert abs(body["serverTime"] - time.time() * 1000) < 5000
    _, info, _ = await alice.public("/api/v3/exchangeInfo")
    assert [s["symbol"] for s in info["symbols"]] == ["AAPL", "MSFT", "NVDA", "AMZN", "TSLA"]
    aapl = info["symbols"][0]
    assert (aapl["status"], aapl["baseAsset"], aapl["quoteAsset"]) == ("TRADING", "AAPL", "USD")
    assert aapl["ocoAllowed"] is False and aapl["allowTrailingStop"] is False
    assert aapl["icebergAllowed"] is True and aapl["quoteOrderQtyMarketAllowed"] is True
    filters = {f["filterType"]: f for f in aapl["filters"]}
    assert filters["PRICE_FILTER"]["tickSize"] == "0.01"
    assert filters["LOT_SIZE"]["stepSize"] == "1"
    assert set(filters) == {"PRICE_FILTER", "LOT_SIZE", "MARKET_LOT_SIZE", "NOTIONAL",
                            "PERCENT_PRICE_BY_SIDE"}
    assert filters["PERCENT_PRICE_BY_SIDE"]["bidMultiplierUp"] == "1.2000"
    assert aapl["defaultSelfTradePreventionMode"] == "EXPIRE_MAKER"
    assert info["rateLimits"][0]["rateLimitType"] == "REQUEST_WEIGHT"
    _, one, _ = await alice.public("/api/v3/exchangeInfo", symbol="MSFT")
    assert [s["symbol"] for s in one["symbols"]] == ["MSFT"]


async def trade_some(alice, bob):
    for price, qty in (("100.00", "2"), ("101.50", "3"), ("99.25", "1")):
        await bob.order(symbol="AAPL", side="SELL", type="LIMIT", timeInForce="GTC",
                        quantity=qty, price=price)
        status, body, _ = await alice.order(symbol="AAPL", side="BUY", type="MARKET",
                                            quantity=qty)
        assert status == 200 and body["status"] == "FILLED", body
    await bob.order(symbol="AAPL", side="SELL", type="LIMIT", timeInForce="GTC", quantity="4",
                    price="102.00")
    await alice.order(symbol="AAPL", side="BUY", type="LIMIT", timeInForce="GTC", quantity="5",
                      price="98.00")


async def test_depth_trades_klines_tickers_and_avg_price(alice, bob):
    await trade_some(alice, bob)
    _, depth, _ = await alice.public("/api/v3/depth", symbol="AAPL", limit="5")
    assert depth["bids"] == [["98.00", "5"]] and depth["asks"] == [["102.00", "4"]]
    assert depth["lastUpdateId"] > 0

    _, trades, _ = await alice.public("/api/v3/trades", symbol="AAPL", limit="2")
    assert [(t["price"], t["qty"]) for t in trades] == [("101.50", "3"), ("99.25", "1")]
    assert trades[0]["quoteQty"] == "304.50"
    _, agg, _ = await alice.public("/api/v3/aggTrades", symbol="AAPL", fromId="1")
    assert [a["p"] for a in agg] == ["100.00", "101.50", "99.25"]

    for interval in ("1m", "1h", "1d", "1w", "1M"):
        status, candles, _ = await alice.public("/api/v3/klines", symbol="AAPL", interval=interval)
        assert status == 200, candles
        assert len(candles) == 1
        open_ms, o, h, l, c, volume, close_ms, quote_volume, count, *_ = candles[0]
        assert (o, h, l, c, volume, count) == ("100.00", "101.50", "99.25", "99.25", "6", 3)
        assert quote_volume == "603.75" and open_ms <= time.time() * 1000 <= close_ms

    _, t24, _ = await alice.public("/api/v3/ticker/24hr", symbol="AAPL")
    assert (t24["openPrice"], t24["highPrice"], t24["lowPrice"], t24["lastPrice"]) == (
        "100.00", "101.50", "99.25", "99.25")
    assert (t24["volume"], t24["quoteVolume"], t24["count"]) == ("6", "603.75", 3)
    assert (t24["priceChange"], t24["priceChangePercent"]) == ("-0.75", "-0.750")
    assert t24["weightedAvgPrice"] == "100.62500000"
    assert (t24["bidPrice"], t24["askPrice"]) == ("98.00", "102.00")
    _, many, _ = await alice.public("/api/v3/ticker/24hr", symbols='["AAPL","MSFT"]')
    assert [t["symbol"] for t in many] == ["AAPL", "MSFT"] and many[1]["count"] == 0

    _, price, _ = await alice.public("/api/v3/ticker/price", symbol="AAPL")
    assert price == {"symbol": "AAPL", "price": "99.25"}
    _, book, _ = await alice.public("/api/v3/ticker/bookTicker", symbol="AAPL")
    assert book == {"symbol": "AAPL", "bidPrice": "98.00", "bidQty": "5",
                    "askPrice": "102.00", "askQty": "4"}
    _, prices, _ = await alice.public("/api/v3/ticker/price")
    assert len(prices) == 5
    _, avg, _ = await alice.public("/api/v3/avgPrice", symbol="AAPL")
    assert avg["mins"] == 5 and avg["price"] == "100.62500000"


@pytest.mark.parametrize("path, params, status, code", [
    ("/api/v3/depth", {}, 400, -1102),
    ("/api/v3/depth", {"symbol": "NOPE"}, 400, -1121),
    ("/api/v3/depth", {"symbol": "AAPL", "limit": "ten"}, 400, -1100),
    ("/api/v3/depth", {"symbol": "AAPL", "limit": "0"}, 400, -1130),
    ("/api/v3/depth", {"symbol": "AAPL", "extra": "1"}, 400, -1104),
    ("/api/v3/klines", {"symbol": "AAPL", "interval": "7m"}, 400, -1120),
    ("/api/v3/klines", {"symbol": "AAPL"}, 400, -1102),
    ("/api/v3/klines", {"symbol": "AAPL", "interval": "1m", "startTime": "-5"}, 400, -1130),
    ("/api/v3/ticker/24hr", {"symbols": "AAPL"}, 400, -1100),
    ("/api/v3/ticker/24hr", {"symbol": "AAPL", "symbols": '["AAPL"]'}, 400, -1130),
    ("/api/v3/trades", {"symbol": "AAPL", "limit": "1001"}, 400, -1130),
])
async def test_bad_market_data_requests_get_binance_errors(alice, path, params, status, code):
    got, body, _ = await alice.public(path, **params)
    assert (got, body["code"]) == (status, code), body
