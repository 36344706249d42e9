"""The real ccxt pro (``ccxt.pro.binance``) watching the venue's public streams.

ccxt opens ``<ws>/0``, subscribes ``aapl@depth@100ms`` / ``aapl@trade`` by
SUBSCRIBE message, fetches the REST snapshot (``/depth?limit=1000``) when the
subscription is confirmed and applies the buffered diffs by U/u, exactly the
Binance procedure.
"""

import asyncio

import ccxt.pro
import pytest

from exchange import keys

from tests.helpers.market_flow import SYMBOL, levels, random_flow, rest_depth

WAIT_S = 20.0


@pytest.fixture
async def pro(client):
    base = str(client.make_url("")).rstrip("/")
    ex = ccxt.pro.binance({
        "urls": {"api": {"public": base + "/api/v3", "private": base + "/api/v3",
                         "ws": {"spot": base.replace("http://", "ws://") + "/ws"}}},
        "options": {"fetchMarkets": {"types": ["spot"]}, "fetchCurrencies": False,
                    "fetchMargins": False},
    })
    yield ex
    await ex.close()


def as_levels(side) -> dict:
    return levels([[str(p), str(q)] for p, q in side])


async def watch_until_nonce(ex, nonce: int):
    """Wait until ccxt's watched book has applied update ``nonce``.

    It reads the book ccxt keeps (``ex.orderbooks``) rather than awaiting the next
    ``watch_order_book``: ccxt resolves a watch only for an update that arrives while
    someone waits, so the last update, landing between two calls, would never be seen.
    """
    deadline = asyncio.get_running_loop().time() + WAIT_S
    while True:
        book = ex.orderbooks["AAPL/USD"]
        if book["nonce"] == nonce:
            return book
        assert book["nonce"] < nonce, (book["nonce"], nonce)
        assert asyncio.get_running_loop().time() < deadline, (book["nonce"], nonce)
        await asyncio.sleep(0.02)


async def test_watch_order_book_equals_rest_depth_and_keeps_up(pro, client, alice, bob):
    await random_flow([alice, bob], 60, seed=5)      # a book before ccxt looks
    first = await asyncio.wait_for(pro.watch_order_book("AAPL/USD"), WAIT_S)
    assert first["symbol"] == "AAPL/USD"
    for seed in (6, 7):                              # and after more orders
        await random_flow([alice, bob, alice, bob], 100, seed=seed)
        rest = await rest_depth(client)
        book = await watch_until_nonce(pro, rest["lastUpdateId"])
        assert as_levels(book["bids"]) == levels(rest["bids"])
        assert as_levels(book["asks"]) == levels(rest["asks"])


async def test_watch_trades_returns_the_trades_placed(pro, client, alice, bob):
    trades = asyncio.ensure_future(pro.watch_trades("AAPL/USD"))
    # the trades must come after ccxt's SUBSCRIBE took effect
    deadline = asyncio.get_running_loop().time() + WAIT_S
    hub_has_it = False
    while not hub_has_it:
        hub_has_it = client.app[keys.HUB].wanted("aapl@trade")
        assert asyncio.get_running_loop().time() < deadline
        await asyncio.sleep(0.02)
    for price in ("100.00", "100.10", "100.20"):
        await bob.order(symbol=SYMBOL, side="SELL", type="LIMIT", timeInForce="GTC",
                        quantity="2", price=price)
    await alice.order(symbol=SYMBOL, side="BUY", type="MARKET", quantity="5")
    await asyncio.wait_for(trades, WAIT_S)
    # the three trades came in one batch: later ones may have been handled before a next
    # watch_trades call could wait for them, so read what ccxt gathered
    while len(pro.trades["AAPL/USD"]) < 3:
        assert asyncio.get_running_loop().time() < deadline + WAIT_S
        await asyncio.sleep(0.02)
    got = list(pro.trades["AAPL/USD"])
    resp = await client.get("/api/v3/trades", params={"symbol": SYMBOL})
    rest = await resp.json()
    assert [(t["id"], t["price"], t["amount"], t["side"], t["symbol"]) for t in got] == [
        (str(r["id"]), float(r["price"]), float(r["qty"]), "buy", "AAPL/USD") for r in rest]
    assert [t["price"] for t in got] == [100.0, 100.1, 100.2]
