"""End to end with the real ccxt library: ``ccxt.binance`` pointed at the server."""

import ccxt
import ccxt.async_support as ccxt_async
import pytest


def binance(base_url: str, api_key: str, secret: str):
    """A ccxt binance client for this venue: the options a user needs (see README)."""
    return ccxt_async.binance({
        "apiKey": api_key,
        "secret": secret,
        "urls": {"api": {"public": base_url + "/api/v3", "private": base_url + "/api/v3"}},
        "options": {
            "fetchMarkets": {"types": ["spot"]},   # no futures/options endpoints
            "fetchCurrencies": False,              # no sapi capital endpoint
            "fetchMargins": False,                 # no sapi margin endpoints
            "adjustForTimeDifference": True,       # uses /api/v3/time
            "warnOnFetchOpenOrdersWithoutSymbol": False,
        },
    })


@pytest.fixture
async def exchange(client, alice):
    ex = binance(str(client.make_url("")).rstrip("/"), alice.api_key, alice.secret)
    yield ex
    await ex.close()


async def test_ccxt_trades_against_the_venue(exchange, bob):
    markets = await exchange.load_markets()
    assert "AAPL/USD" in markets
    aapl = markets["AAPL/USD"]
    assert aapl["precision"]["price"] == 0.01 and aapl["precision"]["amount"] == 1
    assert aapl["active"] is True and aapl["spot"] is True

    # liquidity from another account
    status, _, _ = await bob.order(symbol="AAPL", side="SELL", type="LIMIT", timeInForce="GTC",
                                   quantity="5", price="101.00")
    assert status == 200

    balance = await exchange.fetch_balance()
    assert balance["USD"]["free"] == 1_000_000 and balance["AAPL"]["total"] == 10_000

    book = await exchange.fetch_order_book("AAPL/USD")
    assert book["asks"][0][:2] == [101.0, 5.0] and book["bids"] == []

    bought = await exchange.create_order("AAPL/USD", "market", "buy", 2)
    assert bought["status"] == "closed" and bought["filled"] == 2
    assert bought["fee"]["currency"] == "USD"

    resting = await exchange.create_order("AAPL/USD", "limit", "buy", 3, 99.5)
    assert resting["status"] == "open" and resting["price"] == 99.5
    fetched = await exchange.fetch_order(resting["id"], "AAPL/USD")
    assert fetched["status"] == "open" and fetched["remaining"] == 3
    open_orders = await exchange.fetch_open_orders("AAPL/USD")
    assert [o["id"] for o in open_orders] == [resting["id"]]
    assert [o["id"] for o in await exchange.fetch_open_orders()] == [resting["id"]]
    canceled = await exchange.cancel_order(resting["id"], "AAPL/USD")
    assert canceled["status"] == "canceled"
    assert await exchange.fetch_open_orders("AAPL/USD") == []
    closed = await exchange.fetch_orders("AAPL/USD")
    assert {o["status"] for o in closed} == {"closed", "canceled"}

    mine = await exchange.fetch_my_trades("AAPL/USD")
    assert [(t["side"], t["price"], t["amount"], t["takerOrMaker"]) for t in mine] == [
        ("buy", 101.0, 2.0, "taker")]
    assert mine[0]["fee"]["cost"] == 0.04

    trades = await exchange.fetch_trades("AAPL/USD")
    assert [(t["price"], t["amount"], t["side"]) for t in trades] == [(101.0, 2.0, "buy")]
    ticker = await exchange.fetch_ticker("AAPL/USD")
    assert ticker["last"] == 101.0 and ticker["baseVolume"] == 2.0
    assert ticker["ask"] == 101.0
    ohlcv = await exchange.fetch_ohlcv("AAPL/USD", "1m")
    assert len(ohlcv) == 1 and ohlcv[0][1:] == [101.0, 101.0, 101.0, 101.0, 2.0]

    with pytest.raises(ccxt.InsufficientFunds):
        await exchange.create_order("AAPL/USD", "limit", "buy", 100_000, 100.0)
    with pytest.raises(ccxt.OrderNotFound):
        await exchange.fetch_order("987654", "AAPL/USD")
    with pytest.raises(ccxt.BaseError):
        await exchange.cancel_order("987654", "AAPL/USD")
