"""Signed account reads: GET /api/v3/account (balances) and /api/v3/myTrades."""

import time
from decimal import Decimal

from aiohttp import web

from exchange.engine.instrument import from_units, minor_unit

from ..store.queries import account_trades
from .responses import json
from .auth import signed_params
from .market import market_of
from .ratelimit import weight
from ..keys import MARKETDATA, POOL, VENUE

routes = web.RouteTableDef()


def _rate(ppm: int) -> str:
    return f"{Decimal(ppm).scaleb(-6):.8f}"


@routes.get("/api/v3/account")
@weight(20)
async def account(request):
    params, key = await signed_params(request)
    omit_zero = params.bool("omitZeroBalances")
    params.check_all_read()
    seq = request.app[VENUE].sequencer
    # Committed balances, as /depth shows the committed book: a read creates nothing.
    committed = request.app[MARKETDATA].balances
    balances = []
    for asset, decimals in sorted(seq.assets.items()):
        free, locked = committed.of(key.account, asset)  # zeros for an asset never held
        if omit_zero and not (free or locked):
            continue
        unit = minor_unit(decimals)
        balances.append({"asset": asset, "free": from_units(free, unit),
                         "locked": from_units(locked, unit)})
    # Fees are per instrument here; the account shows the highest rates charged.
    insts = [m.inst for m in seq.market_views.values()]
    maker = max((i.maker_fee_ppm for i in insts), default=0)
    taker = max((i.taker_fee_ppm for i in insts), default=0)
    can_trade = "trade" in key.permissions
    return json({
        "makerCommission": maker // 100, "takerCommission": taker // 100,
        "buyerCommission": 0, "sellerCommission": 0,
        "commissionRates": {"maker": _rate(maker), "taker": _rate(taker),
                            "buyer": _rate(0), "seller": _rate(0)},
        "canTrade": can_trade, "canWithdraw": False, "canDeposit": False, "brokered": False,
        "requireSelfTradePrevention": False, "preventSor": False,
        "updateTime": time.time_ns() // 1_000_000, "accountType": "SPOT",
        "balances": balances, "permissions": ["SPOT"], "uid": key.account,
    })


@routes.get("/api/v3/myTrades")
@weight(20)
async def my_trades(request):
    params, key = await signed_params(request)
    mkt = market_of(request, params.symbol())
    order_id = params.int("orderId", lo=1)
    from_id, start, end, limit = params.page("fromId")
    params.check_all_read()
    inst = mkt.inst
    rows = await account_trades.sides(request.app[POOL], key.account, inst.symbol, order_id,
                                      from_id, start, end, limit)
    return json([{
        "symbol": inst.symbol, "id": r["trade_id"], "orderId": r["order_id"], "orderListId": -1,
        "price": inst.price_str(r["price"]), "qty": inst.qty_str(r["qty"]),
        "quoteQty": inst.quote_str(int(r["quote_qty"])),
        "commission": inst.quote_str(int(r["fee"])), "commissionAsset": inst.quote,
        "time": r["ts_ns"] // 1_000_000, "isBuyer": r["is_buyer"], "isMaker": r["is_maker"],
        "isBestMatch": True,
    } for r in rows])
