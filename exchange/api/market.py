"""Public market data: ping, time, exchangeInfo, depth, trades, klines, tickers, avgPrice.

Depth and best prices come from the committed depth (``exchange.marketdata``,
with the per-symbol ``lastUpdateId`` the depth streams count with), last
prices and instrument rules from the sequencer's memory; trade history (trades,
klines, 24h statistics, average price) from the ``trades`` table
(``exchange.store.queries``). Candles and tickers are built and rendered by
``exchange.marketdata.candles`` and ``.tickers``, as the streams build theirs.
"""

import time

from aiohttp import web

from .. import parse
from ..marketdata import INTERVALS, Candle, WindowStats, ticker, vwap, window_start_ns
from ..store.queries import candles as candle_queries
from ..store.queries import trades as trade_queries
from . import errors
from .responses import json
from .auth import public_params
from .errors import ApiError
from .exchange_info import exchange_info
from .ratelimit import weight
from ..keys import MARKETDATA, POOL, VENUE

routes = web.RouteTableDef()
NS_PER_MS = 1_000_000


def now_ms() -> int:
    return time.time_ns() // NS_PER_MS


def market_of(request: web.Request, symbol: str):
    """The sequencer's market for ``symbol``, or -1121."""
    mkt = request.app[VENUE].sequencer.market_views.get(symbol)
    if mkt is None:
        raise ApiError(errors.BAD_SYMBOL, "Invalid symbol.")
    return mkt


def _selected(request, params) -> list:
    """The markets named by ``symbol`` or ``symbols``, or all; and whether one was named."""
    symbol = params.symbol(required=False)
    symbols = params.symbols()
    if symbol and symbols:
        raise ApiError(errors.INVALID_PARAMETER,
                       "Parameter 'symbol' and 'symbols' cannot be sent together.")
    if symbol:
        return [market_of(request, symbol)], True
    if symbols:
        return [market_of(request, s) for s in symbols], False
    return list(request.app[VENUE].sequencer.market_views.values()), False


@routes.get("/api/v3/ping")
@weight(1)
async def ping(request):
    (await public_params(request)).check_all_read()
    return json({})


@routes.get("/api/v3/time")
@weight(1)
async def server_time(request):
    (await public_params(request)).check_all_read()
    return json({"serverTime": now_ms()})


@routes.get("/api/v3/exchangeInfo")
@weight(20)
async def exchange_info_handler(request):
    params = await public_params(request)
    markets, _ = _selected(request, params)
    params.check_all_read()
    return json(exchange_info(markets, request.app, now_ms()))


def _depth_weight(query):
    try:
        limit = parse.integer(query.get("limit") or "100")
    except parse.BadNumber:
        return 1     # as weight_of charges a weight function that fails: the handler refuses it
    return 5 if limit <= 100 else 25 if limit <= 500 else 50 if limit <= 1000 else 250


@routes.get("/api/v3/depth")
@weight(_depth_weight)
async def depth(request):
    params = await public_params(request)
    mkt = market_of(request, params.symbol())
    limit = params.int("limit", lo=1, hi=5000) or 100
    params.check_all_read()
    inst = mkt.inst
    depth = request.app[MARKETDATA].of(inst.symbol)
    bids, asks = depth.top(limit)
    p, q = inst.price_str, inst.qty_str
    return json({"lastUpdateId": depth.update_id,
                 "bids": [[p(price), q(qty)] for price, qty in bids],
                 "asks": [[p(price), q(qty)] for price, qty in asks]})


def _trade_json(inst, row) -> dict:
    return {"id": row["trade_id"], "price": inst.price_str(row["price"]),
            "qty": inst.qty_str(row["qty"]), "quoteQty": inst.quote_str(int(row["quote_qty"])),
            "time": row["ts_ns"] // NS_PER_MS, "isBuyerMaker": row["taker_side"] == "sell",
            "isBestMatch": True}


@routes.get("/api/v3/trades")
@weight(25)
async def trades(request):
    params = await public_params(request)
    mkt = market_of(request, params.symbol())
    limit = params.int("limit", lo=1, hi=1000) or 500
    params.check_all_read()
    rows = await trade_queries.recent(request.app[POOL], mkt.inst.symbol, limit)
    return json([_trade_json(mkt.inst, r) for r in rows])


@routes.get("/api/v3/historicalTrades")
@weight(25)
async def historical_trades(request):
    params = await public_params(request)
    mkt = market_of(request, params.symbol())
    limit = params.int("limit", lo=1, hi=1000) or 500
    from_id = params.int("fromId", lo=0)
    params.check_all_read()
    rows = await trade_queries.from_id(request.app[POOL], mkt.inst.symbol, from_id, None,
                                           None, limit)
    return json([_trade_json(mkt.inst, r) for r in rows])


@routes.get("/api/v3/aggTrades")
@weight(4)
async def agg_trades(request):
    """Every trade is its own aggregate here (one taker order, one maker, one price)."""
    params = await public_params(request)
    mkt = market_of(request, params.symbol())
    from_id, start, end, limit = params.page("fromId")
    params.check_all_read()
    inst = mkt.inst
    if from_id is None and start is None and end is None:
        rows = await trade_queries.recent(request.app[POOL], inst.symbol, limit)
    else:
        rows = await trade_queries.from_id(request.app[POOL], inst.symbol, from_id, start,
                                           end, limit)
    return json([{"a": r["trade_id"], "p": inst.price_str(r["price"]), "q": inst.qty_str(r["qty"]),
                  "f": r["trade_id"], "l": r["trade_id"], "T": r["ts_ns"] // NS_PER_MS,
                  "m": r["taker_side"] == "sell", "M": True} for r in rows])


@routes.get("/api/v3/klines")
@weight(2)
async def klines(request):
    params = await public_params(request)
    mkt = market_of(request, params.symbol())
    interval = params.str("interval", required=True)
    iv = INTERVALS.get(interval)
    if iv is None:
        raise ApiError(errors.INVALID_INTERVAL, "Invalid interval.")
    _, start, end, limit = params.page()
    params.check_all_read()
    if start is not None and end is not None and start > end:
        raise ApiError(errors.INVALID_PARAMETER, "startTime must not be after endTime.")
    inst = mkt.inst
    rows = await candle_queries.candles(request.app[POOL], inst.symbol, iv.step_ns,
                                        iv.offset_ns, start, end, limit)
    return json([Candle.of_row(r).kline(inst) for r in rows])


def _ticker_weight(query):
    if query.get("symbol"):
        return 2
    if query.get("symbols"):
        return 40
    return 80


@routes.get("/api/v3/ticker/24hr")
@weight(_ticker_weight)
async def ticker_24hr(request):
    params = await public_params(request)
    markets, single = _selected(request, params)
    kind = params.str("type") or "FULL"
    if kind not in ("FULL", "MINI"):
        raise ApiError(errors.INVALID_PARAMETER, "Invalid value for parameter 'type'.")
    params.check_all_read()
    now = now_ms()
    rows = await trade_queries.stats_since(request.app[POOL], [m.inst.symbol for m in markets],
                                           window_start_ns(now))
    depth = request.app[MARKETDATA]
    out = []
    for m in markets:
        row = rows.get(m.inst.symbol)
        stats = WindowStats.empty(m.last_price or 0) if row is None else WindowStats.of_row(row)
        out.append(ticker(m.inst, stats, now, kind == "FULL", depth.of(m.inst.symbol).best()))
    return json(out[0] if single else out)


@routes.get("/api/v3/ticker/price")
@weight(lambda q: 2 if q.get("symbol") else 4)
async def ticker_price(request):
    params = await public_params(request)
    markets, single = _selected(request, params)
    params.check_all_read()
    out = [{"symbol": m.inst.symbol, "price": m.inst.price_str(m.reference_price or 0)}
           for m in markets]
    return json(out[0] if single else out)


@routes.get("/api/v3/ticker/bookTicker")
@weight(lambda q: 2 if q.get("symbol") else 4)
async def book_ticker(request):
    params = await public_params(request)
    markets, single = _selected(request, params)
    params.check_all_read()
    out = []
    depth = request.app[MARKETDATA]
    for m in markets:
        p, q = m.inst.price_str, m.inst.qty_str
        bid, ask = depth.of(m.inst.symbol).best()
        out.append({"symbol": m.inst.symbol,
                    "bidPrice": p(bid[0]) if bid else p(0), "bidQty": q(bid[1]) if bid else q(0),
                    "askPrice": p(ask[0]) if ask else p(0), "askQty": q(ask[1]) if ask else q(0)})
    return json(out[0] if single else out)


@routes.get("/api/v3/avgPrice")
@weight(2)
async def avg_price(request):
    params = await public_params(request)
    mkt = market_of(request, params.symbol())
    params.check_all_read()
    inst = mkt.inst
    now = now_ms()
    row = await trade_queries.window_totals(request.app[POOL], inst.symbol,
                                            (now - 5 * 60_000) * NS_PER_MS)
    if row["lots"]:
        price, close = vwap(inst, int(row["quote"]), int(row["lots"])), row["last_ms"]
    else:  # no trade in the window: the last price (or the listed reference)
        price = inst.price_str(mkt.reference_price or 0)
        close = now
    return json({"mins": 5, "price": price, "closeTime": close})
