"""The public WebSocket market data streams against the real server and PostgreSQL.

Binance's local order book procedure over ``@depth`` / ``@depth@100ms`` (with a
lost message and the resync it forces), the trade stream against REST, the
control protocol, partial depth, bookTicker, klines and tickers against REST,
the slow-consumer policy, and publication only after commit.
"""

import asyncio
import socket
import struct

import orjson
import pytest
from aiohttp import WSMsgType
from aiohttp.test_utils import TestClient, TestServer

from exchange import keys
from exchange.keys import DEMO_CREDENTIALS, POOL, VENUE
from exchange.bootstrap import create_account
from exchange.server import create_app
from exchange.settings import Settings

from tests.helpers.market_flow import SYMBOL, LocalBook, levels, random_flow, rest_depth

WAIT_S = 15.0   # generous: waiting for a message is never a timing assertion


async def receive_json(ws, timeout: float = WAIT_S):
    msg = await ws.receive(timeout=timeout)
    assert msg.type is WSMsgType.TEXT, msg
    return orjson.loads(msg.data)


async def receive_until(ws, predicate, timeout: float = WAIT_S):
    """The first message satisfying ``predicate`` (others are skipped)."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        left = deadline - asyncio.get_running_loop().time()
        assert left > 0, "no matching message in time"
        data = await receive_json(ws, left)
        if predicate(data):
            return data


async def request(ws, method: str, params=None, id_=1):
    body = {"method": method, "id": id_}
    if params is not None:
        body["params"] = params
    await ws.send_str(orjson.dumps(body).decode())
    return await receive_until(ws, lambda m: "id" in m and ("result" in m or "error" in m))


async def rest_trades(client) -> list:
    resp = await client.get("/api/v3/trades", params={"symbol": SYMBOL, "limit": "1000"})
    assert resp.status == 200
    return sorted(await resp.json(), key=lambda t: t["id"])


# ---- 1. Binance's local order book procedure ------------------------------------------------

async def test_local_book_by_binance_procedure_equals_rest_and_resyncs_after_a_lost_message(
        client, alice, bob):
    books = [LocalBook(client, "aapl@depth@100ms"), LocalBook(client, "aapl@depth")]
    for book in books:
        await book.open()
    try:
        statuses = await random_flow([alice, bob, alice, bob], 240, seed=7)
        assert statuses.count(200) > 150
        await bob.order(symbol=SYMBOL, side="SELL", type="LIMIT", timeInForce="GTC",
                        quantity="1", price="110.00")   # never empty, whatever the flow did
        await alice.order(symbol=SYMBOL, side="BUY", type="LIMIT", timeInForce="GTC",
                          quantity="1", price="90.00")
        for book in books:
            rest = await book.wait_equal_to_rest()
            assert book.gaps == 0
            assert book.bids == levels(rest["bids"]) and book.asks == levels(rest["asks"])
            assert book.bids and book.asks and max(book.bids) < min(book.asks)

        # lose one message in each client: the next one shows a gap, and a fresh snapshot heals it
        for book in books:
            book.drop_next = True
        await random_flow([alice, bob], 120, seed=8)
        deadline = asyncio.get_running_loop().time() + WAIT_S
        while not all(book.dropped for book in books):
            assert asyncio.get_running_loop().time() < deadline
            await asyncio.sleep(0.05)
        # a gap shows only with the next message: one more change
        await alice.order(symbol=SYMBOL, side="BUY", type="LIMIT", timeInForce="GTC",
                          quantity="1", price="90.00")
        for book in books:
            rest = await book.wait_equal_to_rest()
            assert len(book.dropped) == 1
            assert book.gaps == 1 and book.snapshots >= 2
            assert book.bids == levels(rest["bids"]) and book.asks == levels(rest["asks"])
    finally:
        for book in books:
            await book.close()


async def test_depth_diffs_are_contiguous_and_carry_absolute_quantities(client, alice, bob):
    ws = await client.ws_connect("/ws/aapl@depth@100ms")
    await alice.order(symbol=SYMBOL, side="BUY", type="LIMIT", timeInForce="GTC",
                      quantity="3", price="99.00")
    first = await receive_json(ws)
    assert first["e"] == "depthUpdate" and first["b"] == [["99.00", "3"]] and first["a"] == []
    await alice.order(symbol=SYMBOL, side="BUY", type="LIMIT", timeInForce="GTC",
                      quantity="2", price="99.00")
    second = await receive_json(ws)
    assert second["U"] == first["u"] + 1
    assert second["b"] == [["99.00", "5"]]   # the level's new total, not the change
    await bob.order(symbol=SYMBOL, side="SELL", type="MARKET", quantity="5")
    third = await receive_json(ws)
    assert third["U"] == second["u"] + 1 and third["b"] == [["99.00", "0"]]
    assert (await rest_depth(client))["lastUpdateId"] == third["u"]
    await ws.close()


# ---- 2. trades ------------------------------------------------------------------------------

async def test_every_trade_arrives_once_in_order_matching_rest(client, app, alice, bob):
    ws = await client.ws_connect("/stream?streams=aapl@trade/aapl@aggTrade")
    await random_flow([alice, bob, alice, bob], 200, seed=11)
    rest = await rest_trades(client)
    assert len(rest) > 20
    got = {"aapl@trade": [], "aapl@aggTrade": []}
    while not all(got[s] and got[s][-1]["data"].get("t", got[s][-1]["data"].get("a"))
                  == rest[-1]["id"] for s in got):
        env = await receive_json(ws)
        assert set(env) == {"stream", "data"}
        got[env["stream"]].append(env)
    trades = [e["data"] for e in got["aapl@trade"]]
    assert [t["t"] for t in trades] == [t["id"] for t in rest]     # each once, in id order
    assert [(t["p"], t["q"], t["m"]) for t in trades] == [
        (r["price"], r["qty"], r["isBuyerMaker"]) for r in rest]
    assert all(t["e"] == "trade" and t["s"] == SYMBOL and t["T"] == r["time"]
               for t, r in zip(trades, rest))
    aggs = [e["data"] for e in got["aapl@aggTrade"]]
    assert [(a["a"], a["f"], a["l"], a["p"], a["q"], a["m"]) for a in aggs] == [
        (r["id"], r["id"], r["id"], r["price"], r["qty"], r["isBuyerMaker"]) for r in rest]
    # the taker's own view agrees: alice's trades as myTrades reports them
    status, mine, _ = await alice.signed("GET", "/api/v3/myTrades", {"symbol": SYMBOL,
                                                                      "limit": 1000})
    assert status == 200 and mine
    by_id = {t["t"]: t for t in trades}
    for m in mine:
        t = by_id[m["id"]]
        assert (t["p"], t["q"]) == (m["price"], m["qty"])
        assert t["m"] == (m["isBuyer"] == m["isMaker"])   # buyer is maker
    await ws.close()


# ---- 3. control protocol --------------------------------------------------------------------

async def test_subscribe_unsubscribe_and_list(client, alice, bob):
    ws = await client.ws_connect("/ws/0")   # what ccxt opens: a name that is no stream
    assert await request(ws, "LIST_SUBSCRIPTIONS", id_=1) == {"result": [], "id": 1}
    assert await request(ws, "SUBSCRIBE", ["aapl@trade", "MSFT@bookTicker"], 2) == {
        "result": None, "id": 2}
    assert await request(ws, "LIST_SUBSCRIPTIONS", id_=3) == {
        "result": ["aapl@trade", "msft@bookTicker"], "id": 3}
    assert await request(ws, "UNSUBSCRIBE", ["msft@bookTicker"], 4) == {"result": None, "id": 4}
    assert await request(ws, "LIST_SUBSCRIPTIONS", id_="five") == {
        "result": ["aapl@trade"], "id": "five"}
    await bob.order(symbol=SYMBOL, side="SELL", type="LIMIT", timeInForce="GTC",
                    quantity="1", price="100.00")
    await alice.order(symbol=SYMBOL, side="BUY", type="LIMIT", timeInForce="IOC",
                      quantity="1", price="100.00")
    trade = await receive_json(ws)
    assert trade["e"] == "trade" and trade["p"] == "100.00"   # raw, no envelope
    await ws.close()


async def test_combined_streams_and_the_combined_property(client, alice, bob):
    ws = await client.ws_connect("/stream?streams=aapl@trade/aapl@bookTicker")
    assert await request(ws, "GET_PROPERTY", ["combined"], 1) == {"result": True, "id": 1}
    await bob.order(symbol=SYMBOL, side="SELL", type="LIMIT", timeInForce="GTC",
                    quantity="2", price="101.00")
    env = await receive_json(ws)
    assert env["stream"] == "aapl@bookTicker" and env["data"]["a"] == "101.00"
    assert env["data"]["A"] == "2" and env["data"]["s"] == SYMBOL

    assert await request(ws, "SET_PROPERTY", ["combined", False], 2) == {"result": None, "id": 2}
    assert await request(ws, "GET_PROPERTY", ["combined"], 3) == {"result": False, "id": 3}
    await alice.order(symbol=SYMBOL, side="BUY", type="MARKET", quantity="1")
    msgs = [await receive_json(ws), await receive_json(ws)]
    assert {m.get("e", "bookTicker") for m in msgs} == {"trade", "bookTicker"}
    assert all("stream" not in m for m in msgs)

    raw = await client.ws_connect("/ws/aapl@trade")
    assert await request(raw, "SET_PROPERTY", ["combined", True], 1) == {"result": None, "id": 1}
    await alice.order(symbol=SYMBOL, side="BUY", type="MARKET", quantity="1")
    env = await receive_json(raw)
    assert env["stream"] == "aapl@trade" and env["data"]["q"] == "1"
    await ws.close()
    await raw.close()


@pytest.mark.parametrize("text, code", [
    ("{not json", 3),
    ('{"method": "SUBSCRIBE", "params": ["aapl@trade"], "id": 1', 3),
    ('[1, 2]', 2),
    ('{"method": "FROBNICATE", "params": [], "id": 1}', 2),
    ('{"params": [], "id": 1}', 2),
    ('{"method": "SUBSCRIBE", "params": ["nosuch@trade"], "id": 1}', 2),
    ('{"method": "SUBSCRIBE", "params": ["aapl@depth7"], "id": 1}', 2),
    ('{"method": "SUBSCRIBE", "params": ["aapl"], "id": 1}', 2),
    ('{"method": "SUBSCRIBE", "params": [], "id": 1}', 2),
    ('{"method": "SUBSCRIBE", "params": [5], "id": 1}', 2),
    ('{"method": "SUBSCRIBE", "params": "aapl@trade", "id": 1}', 2),
    ('{"method": "SUBSCRIBE", "params": ["aapl@trade"], "id": -1}', 2),
    ('{"method": "SUBSCRIBE", "params": ["aapl@trade"], "id": 1.5}', 2),
    ('{"method": "SUBSCRIBE", "params": ["aapl@trade"], "id": 1, "x": 2}', 2),
    ('{"method": "SET_PROPERTY", "params": ["combined", "yes"], "id": 1}', 1),
    ('{"method": "SET_PROPERTY", "params": ["colour", true], "id": 1}', 0),
    ('{"method": "GET_PROPERTY", "params": [], "id": 1}', 0),
])
async def test_bad_requests_get_an_error_reply_and_the_socket_stays_usable(client, text, code):
    ws = await client.ws_connect("/ws")
    await ws.send_str(text)
    reply = await receive_json(ws)
    assert reply["error"]["code"] == code and reply["error"]["msg"], reply
    assert set(reply) == {"error", "id"}
    assert await request(ws, "SUBSCRIBE", ["aapl@trade"], 9) == {"result": None, "id": 9}
    assert await request(ws, "LIST_SUBSCRIPTIONS", id_=10) == {"result": ["aapl@trade"], "id": 10}
    await ws.close()


async def test_binary_frames_are_answered_and_ignored(client):
    ws = await client.ws_connect("/ws")
    await ws.send_bytes(b'{"method": "LIST_SUBSCRIPTIONS", "id": 1}')
    reply = await receive_json(ws)
    assert reply["error"]["code"] == 3
    assert await request(ws, "LIST_SUBSCRIPTIONS", id_=2) == {"result": [], "id": 2}
    await ws.close()


async def test_unknown_names_in_the_path_are_ignored(client):
    ws = await client.ws_connect("/ws/0/aapl@trade/nosuch@trade/aapl@nothing")
    assert await request(ws, "LIST_SUBSCRIPTIONS") == {"result": ["aapl@trade"], "id": 1}
    await ws.close()
    ws = await client.ws_connect("/stream?streams=AAPL@depth5")
    assert await request(ws, "LIST_SUBSCRIPTIONS") == {"result": ["aapl@depth5"], "id": 1}
    await ws.close()


async def test_too_many_messages_a_second_closes_with_1008(client):
    ws = await client.ws_connect("/ws")
    for i in range(100):
        await ws.send_str(orjson.dumps({"method": "LIST_SUBSCRIPTIONS", "id": i}).decode())
    while True:
        msg = await ws.receive(timeout=WAIT_S)
        if msg.type is not WSMsgType.TEXT:
            break
    assert msg.type in (WSMsgType.CLOSE, WSMsgType.CLOSED, WSMsgType.CLOSING)
    assert ws.close_code == 1008


# ---- 4. bookTicker, partial depth, klines and tickers ------------------------------------------

async def test_book_ticker_and_partial_depth_equal_the_top_of_rest_depth(client, alice, bob):
    ws = await client.ws_connect(
        "/stream?streams=aapl@bookTicker/aapl@depth5/aapl@depth10@100ms/aapl@depth20")
    await random_flow([alice, bob], 80, seed=3)
    await bob.order(symbol=SYMBOL, side="SELL", type="LIMIT", timeInForce="GTC",   # two-sided
                    quantity="1", price="110.00")
    await alice.order(symbol=SYMBOL, side="BUY", type="LIMIT", timeInForce="GTC",
                      quantity="1", price="90.00")
    rest = await rest_depth(client)
    last = rest["lastUpdateId"]
    seen = {}
    while len(seen) < 4:
        env = await receive_json(ws)
        data = env["data"]
        if data.get("u", data.get("lastUpdateId")) == last:
            seen[env["stream"]] = data
    bt = seen["aapl@bookTicker"]
    assert [bt["b"], bt["B"]] == rest["bids"][0] and [bt["a"], bt["A"]] == rest["asks"][0]
    assert bt["s"] == SYMBOL
    for stream, n in (("aapl@depth5", 5), ("aapl@depth10@100ms", 10), ("aapl@depth20", 20)):
        assert seen[stream] == {"lastUpdateId": last, "bids": rest["bids"][:n],
                                "asks": rest["asks"][:n]}
    await ws.close()


async def test_klines_and_tickers_equal_rest(client, alice, bob, trader):
    ws = await client.ws_connect("/stream?streams=aapl@kline_1m/aapl@ticker/aapl@miniTicker/"
                                 "!ticker@arr/!miniTicker@arr")
    for price in ("100.00", "100.50", "99.75"):
        await bob.order(symbol=SYMBOL, side="SELL", type="LIMIT", timeInForce="GTC",
                        quantity="3", price=price)
        await alice.order(symbol=SYMBOL, side="BUY", type="MARKET", quantity="2")
    await bob.order(symbol=SYMBOL, side="SELL", type="LIMIT", timeInForce="GTC",
                    quantity="4", price="102.00")
    await alice.order(symbol=SYMBOL, side="BUY", type="LIMIT", timeInForce="GTC",
                      quantity="1", price="98.00")
    depth = await rest_depth(client)
    _, rest, _ = await trader(client, "", "").public("/api/v3/ticker/24hr", symbol=SYMBOL)
    assert rest["count"] == 4 and rest["lastPrice"] == "99.75" and rest["volume"] == "6"
    assert rest["bidPrice"] == depth["bids"][0][0] and rest["askPrice"] == depth["asks"][0][0]

    def settled(env):   # the message shows all the trades and the final book
        d = env["data"]
        if env["stream"] == "aapl@kline_1m":
            return d["k"]["n"] == 4
        if env["stream"] == "aapl@ticker":
            return d["n"] == 4 and d["b"] == rest["bidPrice"] and d["a"] == rest["askPrice"]
        if env["stream"].startswith("!"):
            mine = [t for t in d if t["s"] == SYMBOL]
            return bool(mine) and mine[0]["c"] == "99.75" and mine[0]["v"] == "6"
        return d["c"] == "99.75" and d["v"] == "6"

    seen = {}
    while len(seen) < 5:
        env = await receive_json(ws)
        if settled(env):
            seen[env["stream"]] = env["data"]
    _, klines, _ = await trader(client, "", "").public("/api/v3/klines", symbol=SYMBOL,
                                                       interval="1m")
    k = seen["aapl@kline_1m"]["k"]
    row = klines[-1]
    assert [k["t"], k["o"], k["h"], k["l"], k["c"], k["v"], k["T"], k["q"], k["n"], k["V"],
            k["Q"]] == row[:11]
    assert k["i"] == "1m" and k["s"] == SYMBOL
    assert k["x"] is (k["T"] < seen["aapl@kline_1m"]["E"])   # closed once its minute is over
    t = seen["aapl@ticker"]
    pairs = {"p": "priceChange", "P": "priceChangePercent", "w": "weightedAvgPrice",
             "x": "prevClosePrice", "c": "lastPrice", "Q": "lastQty", "b": "bidPrice",
             "B": "bidQty", "a": "askPrice", "A": "askQty", "o": "openPrice", "h": "highPrice",
             "l": "lowPrice", "v": "volume", "q": "quoteVolume", "F": "firstId", "L": "lastId",
             "n": "count"}
    assert {s: t[s] for s in pairs} == {s: rest[r] for s, r in pairs.items()}
    assert t["e"] == "24hrTicker" and t["s"] == SYMBOL
    mini = seen["aapl@miniTicker"]
    assert {s: mini[s] for s in "cohlvq"} == {s: t[s] for s in "cohlvq"}
    arr = [x for x in seen["!ticker@arr"] if x["s"] == SYMBOL][0]
    assert {s: arr[s] for s in pairs} == {s: t[s] for s in pairs}
    marr = [x for x in seen["!miniTicker@arr"] if x["s"] == SYMBOL][0]
    assert marr["e"] == "24hrMiniTicker" and marr["c"] == "99.75"
    await ws.close()


async def test_a_ticker_subscriber_gets_pushes_without_new_trades(client, alice, bob):
    await bob.order(symbol=SYMBOL, side="SELL", type="LIMIT", timeInForce="GTC",
                    quantity="3", price="100.00")
    await alice.order(symbol=SYMBOL, side="BUY", type="MARKET", quantity="2")
    await asyncio.sleep(1.5)   # the trade's statistics tick has passed before anyone subscribed
    ws = await client.ws_connect("/ws/aapl@ticker/aapl@kline_1m")
    got = {}
    while len(got) < 2:
        m = await receive_json(ws)
        got[m["e"]] = m
    assert got["24hrTicker"]["n"] == 1 and got["24hrTicker"]["c"] == "100.00"
    assert got["kline"]["k"]["n"] == 1 and got["kline"]["k"]["c"] == "100.00"
    await ws.close()


async def test_kline_streams_carry_their_candle_over_later_trades_as_rest_shows_it(
        client, alice, bob, trader):
    """Once a kline stream has a candle, the feed folds the committed trades into it
    (exchange.marketdata.candles.roll): each stream ends at REST's last candle."""
    names = ("1m", "1h", "1w", "1M")
    ws = await client.ws_connect("/stream?streams=" + "/".join(
        f"aapl@kline_{i}" for i in names))
    await bob.order(symbol=SYMBOL, side="SELL", type="LIMIT", timeInForce="GTC",
                    quantity="10", price="100.00")
    await alice.order(symbol=SYMBOL, side="BUY", type="MARKET", quantity="2")
    shown = set()
    while len(shown) < len(names):   # every stream has its candle: later rounds carry it
        shown.add((await receive_until(ws, lambda m: m["data"]["k"]["n"] >= 1))["stream"])
    await alice.order(symbol=SYMBOL, side="BUY", type="MARKET", quantity="3")   # at 100.00
    await alice.order(symbol=SYMBOL, side="BUY", type="LIMIT", timeInForce="GTC",
                      quantity="4", price="99.50")
    await bob.order(symbol=SYMBOL, side="SELL", type="MARKET", quantity="3")     # at 99.50
    rest = {}
    for i in names:
        _, klines, _ = await trader(client, "", "").public("/api/v3/klines", symbol=SYMBOL,
                                                           interval=i)
        rest[f"aapl@kline_{i}"] = klines[-1][:11]
    assert rest["aapl@kline_1M"][4:9] == ["99.50", "8", rest["aapl@kline_1M"][6], "798.50", 3]
    seen = {}
    deadline = asyncio.get_running_loop().time() + WAIT_S
    while len(seen) < len(names):   # each stream's first message with REST's trade count
        assert asyncio.get_running_loop().time() < deadline, f"only {sorted(seen)} in time"
        env = await receive_json(ws)
        k = env["data"]["k"]
        if (k["t"], k["n"]) == (rest[env["stream"]][0], rest[env["stream"]][8]):
            seen.setdefault(env["stream"], k)
    assert {s: [k["t"], k["o"], k["h"], k["l"], k["c"], k["v"], k["T"], k["q"], k["n"],
                k["V"], k["Q"]] for s, k in seen.items()} == rest
    await ws.close()


async def close_a_one_trade_candle(client, alice, bob, ws, combined=False) -> dict:
    """Trade once, move the feed's clock two minutes on, and return the closing update of
    that trade's 1m candle as ``ws`` (subscribed to ``aapl@kline_1m``) receives it."""
    public = client.app[keys.PUBLIC_FEED]
    data = (lambda m: m["data"]) if combined else (lambda m: m)
    await bob.order(symbol=SYMBOL, side="SELL", type="LIMIT", timeInForce="GTC",
                    quantity="3", price="100.00")
    await alice.order(symbol=SYMBOL, side="BUY", type="MARKET", quantity="2")
    live = data(await receive_until(ws, lambda m: data(m)["k"]["n"] == 1))
    real = public.clock
    public.clock = lambda: real() + 120 * 10**9   # two minutes on: the candle has closed
    closing = live if live["k"]["x"] else data(
        await receive_until(ws, lambda m: data(m)["k"]["x"]))
    assert {k: closing["k"][k] for k in "tTonc"} == {k: live["k"][k] for k in "tTonc"}
    return closing


async def next_after_more_ticks(client, *socks) -> list:
    """Each socket's next message once two more statistics rounds have run (a marker,
    published to the kline stream, ends them)."""
    public = client.app[keys.PUBLIC_FEED]
    hub = client.app[keys.HUB]
    await public.publish_statistics()
    await public.publish_statistics()
    hub.publish("aapl@kline_1m", b'{"marker":true}')
    hub.flush_now()
    return [await receive_json(sock) for sock in socks]


MARKER = {"marker": True}


async def test_a_closed_candle_is_sent_once_then_only_to_a_new_subscriber(client, alice, bob):
    ws = await client.ws_connect("/ws/aapl@kline_1m")
    closing = await close_a_one_trade_candle(client, alice, bob, ws)
    assert await next_after_more_ticks(client, ws) == [MARKER]   # no repeated closing update
    late = await client.ws_connect("/ws/aapl@kline_1m")
    again = await receive_json(late)   # a new subscriber gets the candle, closed
    assert again["k"] == closing["k"] and again["k"]["x"] is True
    # ... and the first subscriber does not get it a second time
    assert await next_after_more_ticks(client, ws, late) == [MARKER, MARKER]
    await ws.close()
    await late.close()


async def test_a_newcomer_alone_gets_the_closed_candle_in_its_own_framing(client, alice, bob):
    raw = await client.ws_connect("/ws/aapl@kline_1m")
    combined = await client.ws_connect("/stream?streams=aapl@kline_1m")
    closing = await close_a_one_trade_candle(client, alice, bob, raw)
    assert (await receive_until(combined, lambda m: m["data"]["k"]["x"]))["data"]["k"] \
        == closing["k"]
    enveloped = {"stream": "aapl@kline_1m", "data": MARKER}
    assert await next_after_more_ticks(client, raw, combined) == [MARKER, enveloped]
    late = await client.ws_connect("/stream?streams=aapl@kline_1m")
    again = await receive_json(late)   # enveloped, as everything on /stream
    assert again["stream"] == "aapl@kline_1m" and again["data"]["k"] == closing["k"]
    assert await next_after_more_ticks(client, raw, combined, late) == [
        MARKER, enveloped, enveloped]   # the earlier two do not get the candle again
    for ws in (raw, combined, late):
        await ws.close()


# ---- 5. slow subscribers --------------------------------------------------------------------

@pytest.fixture
async def small_buffer_server(fresh_dsn, tmp_path):
    """A server whose WebSocket subscribers may hold only 16 KiB unsent."""
    settings = Settings(database_url=fresh_dsn, data_dir=str(tmp_path), weight_limit_1m=1_000_000,
                        ws_max_buffer_bytes=16 * 1024)
    app = create_app(settings, on_fatal=lambda error: None)
    client = TestClient(TestServer(app, host="127.0.0.1"))
    await client.start_server()
    yield app, client
    await client.close()


async def raw_websocket(port: int, path: str) -> socket.socket:
    """A client that completes the WebSocket handshake and then never reads by itself.

    Its receive buffer is tiny, so the server's kernel buffers fill soon after."""
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 2048)
    sock.setblocking(False)
    loop = asyncio.get_running_loop()
    await loop.sock_connect(sock, ("127.0.0.1", port))
    await loop.sock_sendall(sock, (
        f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUpgrade: websocket\r\n"
        "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
        "Sec-WebSocket-Version: 13\r\n\r\n").encode())
    head = b""
    while b"\r\n\r\n" not in head:
        head += await loop.sock_recv(sock, 1)
    assert head.startswith(b"HTTP/1.1 101"), head
    return sock


def parse_frames(data: bytes) -> list:
    """(opcode, payload) of each complete unmasked frame in ``data``."""
    out, i = [], 0
    while i + 2 <= len(data):
        opcode, n = data[i] & 0x0F, data[i + 1] & 0x7F
        i += 2
        if n == 126:
            n, i = struct.unpack("!H", data[i:i + 2])[0], i + 2
        elif n == 127:
            n, i = struct.unpack("!Q", data[i:i + 8])[0], i + 8
        if i + n > len(data):
            break
        out.append((opcode, data[i:i + n]))
        i += n
    return out


async def test_a_subscriber_that_stops_reading_is_dropped_and_others_keep_everything(
        small_buffer_server, trader):
    app, client = small_buffer_server
    creds = app[DEMO_CREDENTIALS]
    alice = trader(client, creds["api_key"], creds["api_secret"], 1)
    b = await create_account(app, "bob", {"USD": "100000.00", "AAPL": "500"})
    bob = trader(client, b["api_key"], b["api_secret"], b["account_id"])
    hub = app[keys.HUB]
    streams = "aapl@trade/aapl@aggTrade/aapl@bookTicker/aapl@depth@100ms/aapl@depth20@100ms"
    slow = await raw_websocket(client.port, "/ws/" + streams)
    # the kernel would otherwise absorb megabytes for it before the hub sees a backlog
    sub = next(iter(hub.by_stream["aapl@trade"]))
    sub.transport.get_extra_info("socket").setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4096)
    good = await client.ws_connect("/ws/aapl@trade")
    dropped_before = hub.dropped

    trades = []
    reader = asyncio.create_task(_collect(good, trades))
    for seed in range(20):
        await random_flow([alice, bob], 60, seed=100 + seed)
        if hub.dropped > dropped_before:
            break
    assert hub.dropped == dropped_before + 1
    assert sub.dropped and sub.transport is None and sub not in hub.by_stream.get(
        "aapl@trade", set())
    await random_flow([alice, bob], 40, seed=99)   # the others go on receiving
    rest = await rest_trades(client)
    deadline = asyncio.get_running_loop().time() + WAIT_S
    while not trades or trades[-1]["t"] != rest[-1]["id"]:
        assert asyncio.get_running_loop().time() < deadline
        await asyncio.sleep(0.05)
    assert [t["t"] for t in trades] == [r["id"] for r in rest]

    # what the slow client finds when it reads at last: its frames, then close 1008
    loop = asyncio.get_running_loop()
    data = b""
    while True:
        chunk = await asyncio.wait_for(loop.sock_recv(slow, 65536), WAIT_S)
        if not chunk:
            break
        data += chunk
    slow.close()
    frames = parse_frames(data)
    assert len(data) < 16 * 1024 + 512 * 1024   # bounded: the hub's limit plus kernel buffers
    assert frames[-1][0] == 0x8 and struct.unpack("!H", frames[-1][1][:2])[0] == 1008
    reader.cancel()
    await good.close()


async def _collect(ws, out):
    async for msg in ws:
        out.append(orjson.loads(msg.data))


# ---- 6. published after commit --------------------------------------------------------------

async def test_a_trade_is_published_only_after_its_batch_commits(app, client, alice, bob):
    ws = await client.ws_connect("/ws/aapl@trade/aapl@depth@100ms")
    status, _, _ = await bob.order(symbol=SYMBOL, side="SELL", type="LIMIT", timeInForce="GTC",
                                   quantity="2", price="100.00")
    assert status == 200
    rested = await receive_json(ws)
    assert rested["a"] == [["100.00", "2"]]
    before = await rest_depth(client)

    pool = app[POOL]
    async with pool.acquire() as conn:
        tx = conn.transaction()
        await tx.start()
        await conn.execute("LOCK TABLE trades IN EXCLUSIVE MODE")   # the batch cannot commit
        order = asyncio.create_task(alice.order(symbol=SYMBOL, side="BUY", type="MARKET",
                                                quantity="2"))
        with pytest.raises(asyncio.TimeoutError):
            await ws.receive(timeout=1.5)   # nothing about the uncommitted command
        assert not order.done()
        assert await rest_depth(client) == before   # /depth shows only committed state
        await tx.rollback()                          # the lock goes; the batch commits
    status, body, _ = await order
    assert status == 200 and body["status"] == "FILLED"
    msgs = [await receive_json(ws), await receive_json(ws)]
    trade = next(m for m in msgs if m["e"] == "trade")
    diff = next(m for m in msgs if m["e"] == "depthUpdate")
    assert diff["U"] == rested["u"] + 1 and diff["a"] == [["100.00", "0"]]
    assert await pool.fetchval("SELECT count(*) FROM trades WHERE trade_id = $1", trade["t"]) == 1
    await ws.close()


async def test_every_trade_message_is_already_in_the_trades_table(app, client, alice, bob):
    pool = app[POOL]
    ws = await client.ws_connect("/ws/aapl@trade")
    missing, seen = [], []

    async def check():
        async for msg in ws:
            t = orjson.loads(msg.data)["t"]
            seen.append(t)
            if not await pool.fetchval("SELECT count(*) FROM trades WHERE trade_id = $1", t):
                missing.append(t)

    checker = asyncio.create_task(check())
    await random_flow([alice, bob, alice, bob], 120, seed=21)
    rest = await rest_trades(client)
    deadline = asyncio.get_running_loop().time() + WAIT_S
    while not seen or seen[-1] != rest[-1]["id"]:
        assert asyncio.get_running_loop().time() < deadline
        await asyncio.sleep(0.05)
    checker.cancel()
    assert missing == [] and len(seen) == len(rest)
    await ws.close()


async def test_status_changes_are_market_data_events(app, client):
    from exchange.engine import SetInstrumentStatus
    ws = await client.ws_connect("/ws/aapl@status")
    for status in ("HALT", "TRADING"):
        await app[VENUE].submit(SetInstrumentStatus(0, "AAPL", status))
        event = await receive_json(ws)
        assert (event["e"], event["s"], event["X"]) == ("instrumentStatus", "AAPL", status)
    await ws.close()
