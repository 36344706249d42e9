"""ccxt pro against the server: ``watchOrders`` and ``watchBalance`` for spot, which ccxt
4.5 serves over the WebSocket API (``userDataStream.subscribe.signature`` on
``/ws-api/v3``), with orders placed through ccxt's REST calls."""

import asyncio

import ccxt.pro as ccxtpro
import pytest

WAIT_S = 30.0   # generous: waiting for an update is never a timing assertion


def binance_pro(base_url: str, api_key: str, secret: str):
    """A ccxt pro binance client for this venue: REST and both WebSocket URLs rewritten."""
    ex = ccxtpro.binance({
        "apiKey": api_key,
        "secret": secret,
        "options": {
            "fetchMarkets": {"types": ["spot"]},   # no futures/options endpoints
            "fetchCurrencies": False,              # no sapi capital endpoint
            "fetchMargins": False,                 # no sapi margin endpoints
            "adjustForTimeDifference": True,
        },
    })
    ex.urls["api"]["public"] = ex.urls["api"]["private"] = base_url + "/api/v3"
    ws_url = "ws" + base_url[len("http"):]
    ex.urls["api"]["ws"]["spot"] = ws_url + "/ws"
    ex.urls["api"]["ws"]["ws-api"]["spot"] = ws_url + "/ws-api/v3"
    return ex


@pytest.fixture
async def exchange(client, alice):
    ex = binance_pro(str(client.make_url("")).rstrip("/"), alice.api_key, alice.secret)
    yield ex
    await ex.close()


async def watch_until(watch, predicate):
    """Call ``watch()`` until what it returns satisfies ``predicate``; return that."""
    async def loop():
        while True:
            result = await watch()
            if predicate(result):
                return result
    return await asyncio.wait_for(loop(), WAIT_S)


async def test_watch_orders_sees_an_order_placed_through_rest(exchange, bob):
    await exchange.load_markets()
    first = asyncio.ensure_future(exchange.watch_orders("AAPL/USD"))
    # the subscription is acknowledged once ccxt's ws-api client has its subscriptionId
    await asyncio.wait_for(_subscribed(exchange), WAIT_S)

    order = await exchange.create_order("AAPL/USD", "limit", "buy", 3, 99.5)
    orders = await asyncio.wait_for(first, WAIT_S)
    seen = {o["id"]: o for o in orders}
    assert seen[order["id"]]["status"] == "open"
    assert seen[order["id"]]["amount"] == 3 and seen[order["id"]]["price"] == 99.5
    assert seen[order["id"]]["side"] == "buy" and seen[order["id"]]["symbol"] == "AAPL/USD"

    # bob sells into it: the partial fill, then the cancel, arrive the same way
    status, _, _ = await bob.order(symbol="AAPL", side="SELL", type="LIMIT", timeInForce="GTC",
                                   quantity="1", price="99.50")
    assert status == 200
    filled = await watch_until(lambda: exchange.watch_orders("AAPL/USD"),
                               lambda os: any(o["id"] == order["id"] and o["filled"] == 1
                                              for o in os))
    mine = [o for o in filled if o["id"] == order["id"]][-1]
    assert mine["remaining"] == 2 and mine["status"] == "open"

    await exchange.cancel_order(order["id"], "AAPL/USD")
    canceled = await watch_until(lambda: exchange.watch_orders("AAPL/USD"),
                                 lambda os: any(o["id"] == order["id"]
                                                and o["status"] == "canceled" for o in os))
    assert [o for o in canceled if o["id"] == order["id"]][-1]["filled"] == 1

    # bob's order never shows up in alice's stream
    all_seen = exchange.orders if exchange.orders is not None else []
    assert {o["side"] for o in all_seen} == {"buy"}


async def test_watch_balance_follows_an_order(exchange):
    await exchange.load_markets()
    before = await exchange.fetch_balance()
    watching = asyncio.ensure_future(exchange.watch_balance())
    await asyncio.wait_for(_subscribed(exchange), WAIT_S)
    await exchange.create_order("AAPL/USD", "limit", "buy", 2, 99.0)
    balance = await asyncio.wait_for(watching, WAIT_S)
    assert balance["USD"]["used"] > 0
    assert balance["USD"]["free"] < before["USD"]["free"]


async def _subscribed(exchange):
    """Wait until ccxt's ws-api connection has its user data subscription confirmed."""
    url = exchange.urls["api"]["ws"]["ws-api"]["spot"]
    while True:
        client = exchange.clients.get(url)
        if client is not None and client.subscriptions.get("spot") and not any(
                k.startswith("authenticate:") for k in client.futures):
            return
        await asyncio.sleep(0.05)
