"""Orders and trades as Binance shows them: integers in, decimal strings out.

An order reaches the edge either as the sequencer's ``OrderUpdated`` event
(responses to order entry) or as a row of the ``orders`` table (queries);
``OrderView`` gives both one shape, and ``order_json`` renders it.
"""

from exchange.engine import Instrument

NS_PER_MS = 1_000_000


def ms(ts_ns: int) -> int:
    return ts_ns // NS_PER_MS


class OrderView:
    """One order's state, from an event or a row; integer units throughout."""

    __slots__ = ("order_id", "account", "symbol", "client_order_id", "side", "type", "tif",
                 "price", "qty", "quote_qty", "stop_price", "display_qty", "stp", "working",
                 "status", "executed_qty", "cum_quote", "created_ts_ns", "updated_ts_ns")

    @classmethod
    def of_event(cls, ev) -> "OrderView":
        """From an ``OrderUpdated`` event."""
        v = cls()
        s = ev.spec
        v.order_id, v.account, v.symbol, v.client_order_id = (s.order_id, s.account, s.symbol,
                                                              s.client_order_id)
        v.side, v.type, v.tif, v.quote_qty = str(s.side), str(s.type), str(s.tif), s.quote_qty
        v.stop_price, v.display_qty, v.stp = s.stop_price, s.display_qty, str(s.stp)
        v.created_ts_ns, v.updated_ts_ns = s.created_ts_ns, ev.ts_ns
        v.price, v.qty, v.working, v.status = ev.price, ev.qty, ev.working, str(ev.status)
        v.executed_qty, v.cum_quote = ev.executed_qty, ev.cum_quote
        return v

    @classmethod
    def of_row(cls, row) -> "OrderView":
        """From a row of the ``orders`` table."""
        v = cls()
        v.order_id, v.account, v.symbol = row["order_id"], row["account_id"], row["symbol"]
        v.client_order_id, v.side, v.type, v.tif = (row["client_order_id"], row["side"],
                                                    row["type"], row["tif"])
        v.price, v.qty = row["price"], row["qty"]
        v.quote_qty = None if row["quote_qty"] is None else int(row["quote_qty"])
        v.stop_price, v.display_qty, v.stp = row["stop_price"], row["display_qty"], row["stp"]
        v.working, v.status = row["working"], row["status"]
        v.executed_qty, v.cum_quote = row["executed_qty"], int(row["cum_quote"])
        v.created_ts_ns, v.updated_ts_ns = row["created_ts_ns"], row["updated_ts_ns"]
        return v


def _zero(inst: Instrument, fmt, value):
    return fmt(0 if value is None else value)


def _orig_qty(v: OrderView) -> int:
    """A market buy by quote amount has no quantity: it shows what it executed."""
    return v.qty if v.qty is not None else v.executed_qty


def _working_time(v: OrderView) -> int:
    return ms(v.created_ts_ns) if v.working else -1


def order_json(inst: Instrument, v: OrderView) -> dict:
    """The order as GET /api/v3/order shows it."""
    return {
        "symbol": v.symbol,
        "orderId": v.order_id,
        "orderListId": -1,
        "clientOrderId": v.client_order_id or "",
        "price": _zero(inst, inst.price_str, v.price),
        "origQty": inst.qty_str(_orig_qty(v)),
        "executedQty": inst.qty_str(v.executed_qty),
        "cummulativeQuoteQty": inst.quote_str(v.cum_quote),
        "status": v.status,
        "timeInForce": v.tif,
        "type": v.type,
        "side": v.side.upper(),
        "stopPrice": _zero(inst, inst.price_str, v.stop_price),
        "icebergQty": _zero(inst, inst.qty_str, v.display_qty),
        "time": ms(v.created_ts_ns),
        "updateTime": ms(v.updated_ts_ns),
        "isWorking": v.working,
        "workingTime": _working_time(v),
        "origQuoteOrderQty": _zero(inst, inst.quote_str, v.quote_qty),
        "selfTradePreventionMode": v.stp,
    }


def result_json(inst: Instrument, v: OrderView, transact_ts_ns: int) -> dict:
    """The order as a RESULT response to order entry shows it: ``order_json``'s values
    in Binance's order for this response (built directly: it is every order's answer)."""
    out = {"symbol": v.symbol, "orderId": v.order_id, "orderListId": -1,
           "clientOrderId": v.client_order_id or "", "transactTime": ms(transact_ts_ns),
           "price": _zero(inst, inst.price_str, v.price),
           "origQty": inst.qty_str(_orig_qty(v)),
           "executedQty": inst.qty_str(v.executed_qty),
           "origQuoteOrderQty": _zero(inst, inst.quote_str, v.quote_qty),
           "cummulativeQuoteQty": inst.quote_str(v.cum_quote),
           "status": v.status, "timeInForce": v.tif, "type": v.type, "side": v.side.upper()}
    if v.stop_price is not None:
        out["stopPrice"] = inst.price_str(v.stop_price)
    if v.display_qty is not None:
        out["icebergQty"] = inst.qty_str(v.display_qty)
    out["workingTime"] = _working_time(v)
    out["selfTradePreventionMode"] = v.stp
    return out


def fill_json(inst: Instrument, trade, order_id: int) -> dict:
    """One fill of ``order_id`` from a ``Traded`` event, with that order's commission."""
    fee = trade.maker_fee if trade.maker_order_id == order_id else trade.taker_fee
    return {"price": inst.price_str(trade.price), "qty": inst.qty_str(trade.qty),
            "commission": inst.quote_str(fee), "commissionAsset": inst.quote,
            "tradeId": trade.trade_id}
