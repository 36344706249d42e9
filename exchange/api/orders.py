"""Signed order entry and queries: order, order/test, openOrders, allOrders, cancelReplace.

Parameters are checked and converted here (decimal strings to ticks, lots and
minor units through the instrument; off-grid values are refused naming the
filter, never rounded); the sequencer then checks every rule again and either
applies the command or refuses it with a Reason, which maps to Binance's code.
Nothing changes unless the whole command is accepted.

Client order ids are idempotent per account: an id that was ever used (open,
closed or in flight) is refused with -2010 "Duplicate order sent.", so a
retried request never creates a second order. When a request names none, the
venue generates one, as Binance does.
"""

import secrets
from decimal import Decimal

from aiohttp import web

from exchange.engine import (CancelAll, CancelOrder, CancelReplace, CommandRejected, ExecType,
                             OrderUpdated, PlaceOrder, Reason, RuleViolation, Traded)
from exchange.engine.instrument import places_of
from ..keys import CLIENT_IDS, KYC, POOL, VENUE
from exchange.store.queries import orders as order_queries
from exchange.venue import Busy

from . import errors
from .responses import json
from .auth import order_source, signed_params
from .errors import ApiError
from .exchange_info import MAX_PRICE_TICKS
from .market import market_of
from .ratelimit import weight
from .views import OrderView, fill_json, ms, order_json, result_json

routes = web.RouteTableDef()

ORDER_TYPES = ("LIMIT", "MARKET", "LIMIT_MAKER", "STOP_LOSS", "STOP_LOSS_LIMIT", "TAKE_PROFIT",
               "TAKE_PROFIT_LIMIT")
PRICED = frozenset({"LIMIT", "LIMIT_MAKER", "STOP_LOSS_LIMIT", "TAKE_PROFIT_LIMIT"})
STOPS = frozenset({"STOP_LOSS", "STOP_LOSS_LIMIT", "TAKE_PROFIT", "TAKE_PROFIT_LIMIT"})
NEEDS_TIF = frozenset({"LIMIT", "STOP_LOSS_LIMIT", "TAKE_PROFIT_LIMIT"})
TIFS = ("GTC", "IOC", "FOK")
STP_MODES = ("NONE", "EXPIRE_TAKER", "EXPIRE_MAKER", "EXPIRE_BOTH")
RESP_TYPES = ("ACK", "RESULT", "FULL")
MAX_PLACES = 8  # more decimal places than this (and than the grid has) is -1111
_PRECISION_FILTER = {Reason.FILTER_PRICE: "PRICE_FILTER", Reason.FILTER_LOT_SIZE: "LOT_SIZE"}


def _places(text: str) -> int:
    if "." not in text:
        return 0
    return len(text.split(".", 1)[1].rstrip("0"))


def _convert(params, name: str, convert, unit: Decimal, filter_name: str) -> int | None:
    """A decimal parameter in grid units; -1111 past the precision, -1013 off the grid."""
    text = params.decimal(name)
    if text is None:
        return None
    # (a text this short cannot have more than MAX_PLACES places)
    if len(text) > MAX_PLACES + 1 and _places(text) > max(MAX_PLACES, places_of(unit)):
        raise ApiError(errors.BAD_PRECISION, f"Parameter '{name}' has too much precision.")
    try:
        return convert(text)
    except RuleViolation:
        raise errors.filter_failure(filter_name) from None


def parse_new_order(params, inst, account: int, source: str | None = None
                    ) -> tuple[PlaceOrder, str, bool]:
    """Check a new order's parameters; return the command (client id filled in, entered
    by ``source``), the response type, and whether the client id was generated here."""
    side = params.str("side", required=True)
    if side not in ("BUY", "SELL"):
        raise ApiError(errors.INVALID_SIDE, "Invalid side.")
    type_ = params.str("type", required=True)
    if type_ not in ORDER_TYPES:
        raise ApiError(errors.INVALID_ORDER_TYPE, "Invalid orderType.")
    tif = params.str("timeInForce")
    if tif is not None and tif not in TIFS:
        raise ApiError(errors.INVALID_TIF, "Invalid timeInForce.")
    if type_ in NEEDS_TIF and tif is None:
        raise errors.mandatory("timeInForce")
    if type_ not in NEEDS_TIF and tif is not None and not (type_ == "LIMIT_MAKER" and tif == "GTC"):
        raise errors.not_required("timeInForce")
    market = type_ == "MARKET"
    qty = _convert(params, "quantity", inst.qty_lots, inst.step_size,
                   "MARKET_LOT_SIZE" if market else "LOT_SIZE")
    quote_qty = None
    if "quoteOrderQty" in params:
        if not market:
            raise errors.not_required("quoteOrderQty")
        if qty is not None:
            raise errors.not_required("quoteOrderQty")
        text = params.decimal("quoteOrderQty")
        try:
            quote_qty = inst.quote_units(text)
        except RuleViolation:
            raise ApiError(errors.BAD_PRECISION,
                           "Parameter 'quoteOrderQty' has too much precision.") from None
        if quote_qty <= 0:
            raise errors.filter_failure("NOTIONAL")
    elif qty is None:
        if market:
            raise ApiError(errors.MANDATORY_PARAM_MISSING, "Param 'quantity' or 'quoteOrderQty' "
                           "must be sent, but both were empty/null!")
        raise errors.mandatory("quantity")
    price = _convert(params, "price", inst.price_ticks, inst.tick_size, "PRICE_FILTER")
    if type_ in PRICED:
        if price is None:
            raise errors.mandatory("price")
    elif price is not None:
        raise errors.not_required("price")
    stop_price = _convert(params, "stopPrice", inst.price_ticks, inst.tick_size, "PRICE_FILTER")
    if type_ in STOPS:
        if stop_price is None:
            raise errors.mandatory("stopPrice")
    elif stop_price is not None:
        raise errors.not_required("stopPrice")
    for ticks in (price, stop_price):
        if ticks is not None and (ticks > MAX_PRICE_TICKS or ticks % inst.tick_units):
            raise errors.filter_failure("PRICE_FILTER")
    if qty is not None and qty % inst.step_units:  # a grid coarser than the units
        raise errors.filter_failure("MARKET_LOT_SIZE" if market else "LOT_SIZE")
    display = _convert(params, "icebergQty", inst.qty_lots, inst.step_size, "ICEBERG_PARTS")
    if display is not None and display % inst.step_units:
        raise errors.filter_failure("ICEBERG_PARTS")
    if display is not None and type_ not in PRICED:
        raise errors.not_required("icebergQty")
    stp = params.str("selfTradePreventionMode")
    if stp is not None and stp not in STP_MODES:
        raise errors.illegal("selfTradePreventionMode", "|".join(STP_MODES))
    resp_type = params.str("newOrderRespType")
    if resp_type is None:
        resp_type = "FULL" if type_ in ("LIMIT", "MARKET") else "ACK"
    elif resp_type not in RESP_TYPES:
        raise errors.illegal("newOrderRespType", "ACK|RESULT|FULL")
    params.raw("strategyId")  # accepted and ignored: no strategies here
    params.raw("strategyType")
    coid = params.client_id("newClientOrderId")
    generated = coid is None
    if generated:
        coid = secrets.token_urlsafe(16)
    cmd = PlaceOrder(0, account, inst.symbol, side.lower(), type_, qty=qty, price=price,
                     quote_qty=quote_qty, stop_price=stop_price,
                     tif=tif or ("GTC" if type_ in PRICED else "IOC"), display_qty=display,
                     client_order_id=coid, stp=stp, source=source)
    return cmd, resp_type, generated


async def _claim_client_id(request, account: int, coid: str, generated: bool) -> tuple:
    """Refuse a client id this account already used; mark it in flight."""
    app = request.app
    ids = app[CLIENT_IDS]
    key = (account, coid)
    if not generated and await order_queries.client_id_used(app[POOL], account, coid):
        raise _duplicate()
    # From here to begin() there is no await, so no other request can slip in between.
    if ids.in_flight(key) and await ids.wait(key):
        raise _duplicate()
    if ids.seen(key) or key in app[VENUE].sequencer.by_client:
        raise _duplicate()
    ids.begin(key)
    return key


def _duplicate() -> ApiError:
    return ApiError(errors.NEW_ORDER_REJECTED, "Duplicate order sent.")


async def require_kyc(request, account: int) -> None:
    """Refuse (-2010) a new order of an account that is not VERIFIED when ``[kyc]
    require_kyc_for_trading`` is on: the one KYC gate of order entry (cancels pass)."""
    kyc = request.app.get(KYC)
    if kyc is not None and kyc.require_for_trading and not await kyc.may_trade(
            request.app[POOL], account):  # (the flag first: no coroutine when it is off)
        raise ApiError(errors.NEW_ORDER_REJECTED, "KYC verification required: this account "
                       "may not place orders until its KYC status is VERIFIED.")


async def submit(request, cmd) -> list:
    """Submit a command to the venue; Busy becomes 503 + Retry-After."""
    try:
        return await request.app[VENUE].submit(cmd)
    except Busy as e:
        raise errors.busy(e.retry_after_s) from None


def _new_order_response(inst, events, account, coid, resp_type) -> dict:
    """The response to an accepted order, built from its events."""
    updates = [e for e in events if type(e) is OrderUpdated and e.spec.account == account
               and e.spec.client_order_id == coid]
    first = updates[0]
    order_id = first.spec.order_id
    last = [e for e in updates if e.spec.order_id == order_id][-1]
    if resp_type == "ACK":
        return {"symbol": inst.symbol, "orderId": order_id, "orderListId": -1,
                "clientOrderId": coid, "transactTime": ms(first.ts_ns)}
    out = result_json(inst, OrderView.of_event(last), first.ts_ns)
    if resp_type == "FULL":
        out["fills"] = [fill_json(inst, t, order_id) for t in events if type(t) is Traded
                        and order_id in (t.taker_order_id, t.maker_order_id)]
    return out


def _cancel_json(inst, ev, cancel_client_id: str | None) -> dict:
    v = OrderView.of_event(ev)
    full = order_json(inst, v)
    out = {"symbol": inst.symbol, "origClientOrderId": v.client_order_id or "",
           "orderId": v.order_id, "orderListId": -1,
           "clientOrderId": cancel_client_id or secrets.token_urlsafe(16),
           "transactTime": ms(ev.ts_ns)}
    for k in ("price", "origQty", "executedQty", "origQuoteOrderQty", "cummulativeQuoteQty",
              "status", "timeInForce", "type", "side"):
        out[k] = full[k]
    if v.stop_price is not None:
        out["stopPrice"] = full["stopPrice"]
    if v.display_qty is not None:
        out["icebergQty"] = full["icebergQty"]
    out["selfTradePreventionMode"] = v.stp
    return out


@routes.post("/api/v3/order")
@weight(1)
async def new_order(request):
    params, key = await signed_params(request, "trade")
    mkt = market_of(request, params.symbol())
    cmd, resp_type, generated = parse_new_order(params, mkt.inst, key.account,
                                                order_source(key.api_key))
    params.check_all_read()
    await require_kyc(request, key.account)
    claim = await _claim_client_id(request, key.account, cmd.client_order_id, generated)
    placed = True
    try:
        events = await submit(request, cmd)
    except ApiError:
        placed = False
        raise
    else:
        refused = [e for e in events if type(e) is CommandRejected]
        placed = not refused
    finally:
        request.app[CLIENT_IDS].end(claim, placed)
    if refused:
        raise errors.rejected(refused[0].reason)
    return json(_new_order_response(mkt.inst, events, key.account, cmd.client_order_id,
                                    resp_type))


@routes.post("/api/v3/order/test")
@weight(1)
async def test_order(request):
    """Check a new order's parameters without placing it."""
    params, key = await signed_params(request, "trade")
    mkt = market_of(request, params.symbol())
    parse_new_order(params, mkt.inst, key.account)
    rates = params.bool("computeCommissionRates")
    params.check_all_read()
    if not rates:
        return json({})
    inst = mkt.inst
    rate = lambda ppm: f"{Decimal(ppm).scaleb(-6):.8f}"  # noqa: E731
    zero = rate(0)
    return json({"standardCommissionForOrder": {"maker": rate(inst.maker_fee_ppm),
                                                "taker": rate(inst.taker_fee_ppm)},
                 "taxCommissionForOrder": {"maker": zero, "taker": zero},
                 "discount": {"enabledForAccount": False, "enabledForSymbol": False,
                              "discountAsset": None, "discount": zero}})


def _order_ref(params) -> tuple[int | None, str | None]:
    order_id = params.int("orderId", lo=1)
    client_id = params.client_id("origClientOrderId")
    if order_id is None and client_id is None:
        raise ApiError(errors.MANDATORY_PARAM_MISSING, "Param 'origClientOrderId' or 'orderId' "
                       "must be sent, but both were empty/null!")
    return order_id, client_id


@routes.get("/api/v3/order")
@weight(4)
async def query_order(request):
    params, key = await signed_params(request)
    mkt = market_of(request, params.symbol())
    order_id, client_id = _order_ref(params)
    params.check_all_read()
    row = await order_queries.one(request.app[POOL], key.account, mkt.inst.symbol, order_id,
                                  None if order_id is not None else client_id)
    if row is None or (client_id is not None and row["client_order_id"] != client_id):
        raise ApiError(errors.NO_SUCH_ORDER, "Order does not exist.")
    return json(order_json(mkt.inst, OrderView.of_row(row)))


@routes.delete("/api/v3/order")
@weight(1)
async def cancel_order(request):
    params, key = await signed_params(request, "trade")
    mkt = market_of(request, params.symbol())
    order_id, client_id = _order_ref(params)
    cancel_id = params.client_id("newClientOrderId")
    params.check_all_read()
    cmd = CancelOrder(0, key.account, mkt.inst.symbol, order_id=order_id,
                      client_order_id=None if order_id is not None else client_id)
    events = await submit(request, cmd)
    refused = [e for e in events if type(e) is CommandRejected]
    if refused:
        raise errors.rejected(refused[0].reason, "cancel")
    ev = next(e for e in events if type(e) is OrderUpdated and e.exec_type is ExecType.CANCELED)
    return json(_cancel_json(mkt.inst, ev, cancel_id))


@routes.get("/api/v3/openOrders")
@weight(lambda q: 6 if q.get("symbol") else 80)
async def open_orders(request):
    params, key = await signed_params(request)
    symbol = params.symbol(required=False)
    if symbol is not None:
        market_of(request, symbol)
    params.check_all_read()
    markets = request.app[VENUE].sequencer.market_views
    rows = await order_queries.open_of(request.app[POOL], key.account, symbol)
    return json([order_json(markets[r["symbol"]].inst, OrderView.of_row(r)) for r in rows])


@routes.delete("/api/v3/openOrders")
@weight(1)
async def cancel_open_orders(request):
    params, key = await signed_params(request, "trade")
    mkt = market_of(request, params.symbol())
    params.check_all_read()
    events = await submit(request, CancelAll(0, key.account, mkt.inst.symbol))
    refused = [e for e in events if type(e) is CommandRejected]
    if refused:
        raise errors.rejected(refused[0].reason, "cancel")
    return json([_cancel_json(mkt.inst, e, None) for e in events
                 if type(e) is OrderUpdated and e.exec_type is ExecType.CANCELED
                 and e.spec.account == key.account])


@routes.get("/api/v3/allOrders")
@weight(20)
async def all_orders(request):
    params, key = await signed_params(request)
    mkt = market_of(request, params.symbol())
    from_id, start, end, limit = params.page("orderId")
    params.check_all_read()
    rows = await order_queries.all_of(request.app[POOL], key.account, mkt.inst.symbol, from_id,
                                      start, end, limit)
    return json([order_json(mkt.inst, OrderView.of_row(r)) for r in rows])


_REPLACE_MODES = ("STOP_ON_FAILURE", "ALLOW_FAILURE")


@routes.post("/api/v3/order/cancelReplace")
@weight(1)
async def cancel_replace(request):
    """Cancel an order and place a new one in one command (Binance's modes)."""
    params, key = await signed_params(request, "trade")
    mkt = market_of(request, params.symbol())
    inst = mkt.inst
    mode = params.str("cancelReplaceMode", required=True)
    if mode not in _REPLACE_MODES:
        raise errors.illegal("cancelReplaceMode", "STOP_ON_FAILURE|ALLOW_FAILURE")
    cancel_id = params.int("cancelOrderId", lo=1)
    cancel_client_id = params.client_id("cancelOrigClientOrderId")
    if cancel_id is None and cancel_client_id is None:
        raise ApiError(errors.MANDATORY_PARAM_MISSING, "Param 'cancelOrigClientOrderId' or "
                       "'cancelOrderId' must be sent, but both were empty/null!")
    cancel_new_id = params.client_id("cancelNewClientOrderId")
    new, resp_type, generated = parse_new_order(params, inst, key.account,
                                                order_source(key.api_key))
    params.check_all_read()
    await require_kyc(request, key.account)
    cmd = CancelReplace(0, key.account, inst.symbol, new, cancel_order_id=cancel_id,
                        cancel_client_order_id=None if cancel_id is not None else cancel_client_id,
                        mode=mode)
    claim = await _claim_client_id(request, key.account, new.client_order_id, generated)
    placed = False
    try:
        events = await submit(request, cmd)
        canceled = [e for e in events if type(e) is OrderUpdated and e.exec_type is ExecType.CANCELED
                    and e.reason == Reason.REPLACED]
        refused = [e for e in events if type(e) is CommandRejected]
        cancel_refusal = None if canceled else refused.pop(0)
        attempted = bool(canceled) or mode == "ALLOW_FAILURE"
        placed = attempted and not refused
    finally:
        request.app[CLIENT_IDS].end(claim, placed)
    if canceled:
        cancel_result, cancel_response = "SUCCESS", _cancel_json(inst, canceled[0], cancel_new_id)
    else:
        e = errors.rejected(cancel_refusal.reason, "cancel")
        cancel_result, cancel_response = "FAILURE", {"code": e.code, "msg": e.msg}
    if placed:
        new_result = "SUCCESS"
        new_response = _new_order_response(inst, events, key.account, new.client_order_id,
                                           resp_type)
    elif attempted:
        e = errors.rejected(refused[0].reason)
        new_result, new_response = "FAILURE", {"code": e.code, "msg": e.msg}
    else:
        new_result, new_response = "NOT_ATTEMPTED", None
    body = {"cancelResult": cancel_result, "newOrderResult": new_result,
            "cancelResponse": cancel_response, "newOrderResponse": new_response}
    if canceled and placed:
        return json(body)
    if canceled or placed:
        raise ApiError(errors.REPLACE_PARTIALLY_FAILED, "Order cancel-replace partially failed.",
                       data=body)
    raise ApiError(errors.REPLACE_FAILED, "Order cancel-replace failed.", data=body)
