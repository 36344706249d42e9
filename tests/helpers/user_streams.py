"""User data stream clients: listen keys and WebSocket API calls, signed like Binance's."""

import asyncio
import time

import orjson
from aiohttp import WSMsgType

from exchange.api import sign

WAIT_S = 30.0   # generous: waiting for a message is never a timing assertion


async def receive_json(ws, timeout: float = WAIT_S):
    msg = await ws.receive(timeout=timeout)
    assert msg.type is WSMsgType.TEXT, msg
    return orjson.loads(msg.data)


async def receive_until(ws, predicate, timeout: float = WAIT_S) -> list:
    """Every message up to and including the first satisfying ``predicate``."""
    deadline = asyncio.get_running_loop().time() + timeout
    seen = []
    while True:
        left = deadline - asyncio.get_running_loop().time()
        assert left > 0, f"no matching message in time; got {seen}"
        data = await receive_json(ws, left)
        seen.append(data)
        if predicate(data):
            return seen


async def listen_key(trader) -> str:
    resp = await trader.client.post("/api/v3/userDataStream",
                                    headers={"X-MBX-APIKEY": trader.api_key})
    body = await resp.json()
    assert resp.status == 200, body
    return body["listenKey"]


def signed(trader, secret: str | None = None, **params) -> dict:
    params = {"apiKey": trader.api_key, "timestamp": int(time.time() * 1000), **params}
    payload = "&".join(f"{k}={params[k]}" for k in sorted(params))
    return {**params, "signature": sign(secret or trader.secret, payload)}


async def call(ws, method: str, params=None, id_="1") -> dict:
    body = {"id": id_, "method": method}
    if params is not None:
        body["params"] = params
    await ws.send_str(orjson.dumps(body).decode())
    return (await receive_until(ws, lambda m: m.get("id") == id_ and "status" in m))[-1]
