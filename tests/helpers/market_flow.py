"""Helpers for the stream tests: a seeded random order flow and a Binance-procedure local book.

``random_flow`` sends limit buys and sells around a mid, cancels, cancelReplace
amends, IOC and market orders from several traders at once (so batches hold
several commands). ``LocalBook`` keeps an order book from a diff depth stream
exactly as Binance's "How to manage a local order book correctly" says.
"""

import asyncio
import random
from decimal import Decimal

import orjson

SYMBOL = "AAPL"


def price_str(rng) -> str:
    """A price on a coarse grid around 100.00, so orders share levels and cross."""
    return f"{Decimal('100.00') + Decimal(rng.randint(-16, 16)) * Decimal('0.05'):.2f}"


async def random_flow(traders, n: int, seed: int) -> list:
    """Send about ``n`` random commands, spread over ``traders`` running concurrently;
    return the HTTP statuses (a refusal, e.g. insufficient funds, is part of the flow)."""
    statuses = []

    async def run(trader, count, rng):
        open_ids = []
        for _ in range(count):
            r = rng.random()
            side = rng.choice(("BUY", "SELL"))
            qty = str(rng.randint(1, 8))
            if r < 0.45 or not open_ids and r < 0.75:
                status, body, _ = await trader.order(symbol=SYMBOL, side=side, type="LIMIT",
                                                     timeInForce="GTC", quantity=qty,
                                                     price=price_str(rng))
            elif r < 0.60:
                oid = open_ids.pop(rng.randrange(len(open_ids)))
                status, body, _ = await trader.signed("DELETE", "/api/v3/order",
                                                      {"symbol": SYMBOL, "orderId": oid})
            elif r < 0.75:
                oid = open_ids.pop(rng.randrange(len(open_ids)))
                status, body, _ = await trader.signed("POST", "/api/v3/order/cancelReplace", {
                    "symbol": SYMBOL, "cancelReplaceMode": "STOP_ON_FAILURE",
                    "cancelOrderId": oid, "side": side, "type": "LIMIT", "timeInForce": "GTC",
                    "quantity": qty, "price": price_str(rng)})
                if status == 200:
                    body = body["newOrderResponse"]
            elif r < 0.88:
                status, body, _ = await trader.order(symbol=SYMBOL, side=side, type="LIMIT",
                                                     timeInForce="IOC", quantity=qty,
                                                     price=price_str(rng))
            else:
                status, body, _ = await trader.order(symbol=SYMBOL, side=side, type="MARKET",
                                                     quantity=qty)
            statuses.append(status)
            if status == 200 and body.get("status") in ("NEW", "PARTIALLY_FILLED"):
                open_ids.append(body["orderId"])

    rng = random.Random(seed)
    share = n // len(traders)
    await asyncio.gather(*[run(t, share, random.Random(rng.random())) for t in traders])
    return statuses


async def rest_depth(client, limit: int = 5000) -> dict:
    resp = await client.get("/api/v3/depth", params={"symbol": SYMBOL, "limit": str(limit)})
    assert resp.status == 200
    return await resp.json()


def levels(rows) -> dict:
    """``[[price, qty], ...]`` as {Decimal price: Decimal qty}."""
    return {Decimal(p): Decimal(q) for p, q in rows}


class LocalBook:
    """A local order book kept from ``<symbol>@depth[@100ms]`` by Binance's procedure.

    Events are buffered from the moment the socket opens; a snapshot comes from
    REST /depth?limit=5000; events with ``u <= lastUpdateId`` are dropped; the
    first applied one must have ``U <= lastUpdateId + 1 <= u`` and each later one
    ``U == previous u + 1``, else the book is rebuilt from a fresh snapshot.
    Quantities are absolute; "0" removes the level.
    """

    def __init__(self, client, stream: str):
        self.client = client
        self.stream = stream
        self.queue = asyncio.Queue()
        self.bids, self.asks = {}, {}
        self.u = None          # the update id the book is at
        self.synced = False    # an event has been applied on top of the snapshot
        self.snapshots = 0
        self.gaps = 0          # gaps detected (U != previous u + 1)
        self.drop_next = False  # test hook: lose the next message
        self.dropped = []
        self.ws = None
        self._tasks = []

    async def open(self):
        self.ws = await self.client.ws_connect("/ws/" + self.stream)
        self._tasks = [asyncio.create_task(self._read()), asyncio.create_task(self._apply())]

    async def close(self):
        for t in self._tasks:
            t.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await self.ws.close()

    async def _read(self):
        async for msg in self.ws:
            self.queue.put_nowait(orjson.loads(msg.data))

    async def _apply(self):
        while True:
            ev = await self.queue.get()
            assert ev["e"] == "depthUpdate" and ev["s"] == SYMBOL and ev["U"] <= ev["u"]
            if self.drop_next:
                self.drop_next = False
                self.dropped.append(ev)
                continue
            await self.handle(ev)

    async def snapshot(self):
        body = await rest_depth(self.client)
        self.bids, self.asks = levels(body["bids"]), levels(body["asks"])
        self.u, self.synced = body["lastUpdateId"], False
        self.snapshots += 1

    async def handle(self, ev):
        for _ in range(100):
            if self.u is None:
                await self.snapshot()
            if ev["u"] <= self.u:
                return  # already in the snapshot
            if self.synced:
                fits = ev["U"] == self.u + 1
            else:
                fits = ev["U"] <= self.u + 1 <= ev["u"]
            if fits:
                for side, rows in ((self.bids, ev["b"]), (self.asks, ev["a"])):
                    for p, q in rows:
                        if Decimal(q) == 0:
                            side.pop(Decimal(p), None)
                        else:
                            side[Decimal(p)] = Decimal(q)
                self.u, self.synced = ev["u"], True
                return
            if ev["U"] > self.u + 1:
                self.gaps += 1     # updates between the book and this event never came
            await self.snapshot()  # a gap, or a snapshot older than the stream: start again
        raise AssertionError(f"{self.stream}: no snapshot fits {ev}")

    async def wait_equal_to_rest(self, timeout: float = 30.0) -> dict:
        """Wait until the book has caught up with /depth's lastUpdateId; return /depth."""
        deadline = asyncio.get_running_loop().time() + timeout
        while True:
            body = await rest_depth(self.client)
            if self.u == body["lastUpdateId"] and self.queue.empty():
                return body
            assert asyncio.get_running_loop().time() < deadline, (
                f"{self.stream} stuck at {self.u}, /depth at {body['lastUpdateId']}")
            await asyncio.sleep(0.05)
