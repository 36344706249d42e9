"""Reports and analytics for the logged-in user, from the durable tables (SQL).

- ``GET /api/v1/reports/trades``: trade confirmations over a time range.
- ``GET /api/v1/reports/tax?year=``: realised gains and losses of the year's
  sales, cost matched to purchases first in, first out (FIFO lots).
- ``GET /api/v1/reports/statement``: per asset, the opening balance, each
  movement (deposits, withdrawals, trades, fees) and the closing balance.
- ``GET /api/v1/analytics/me``: per symbol, trades, volume, fees, realised
  P&L (FIFO) and win rate over a range, and unrealised P&L at the last price.
- ``GET /api/v1/analytics/markets``: per market, volume, VWAP, change,
  high/low and volatility over a window, and the top movers.

Reports answer JSON, or CSV with ``format=csv``. Times are ms since the epoch
(``start_time`` inclusive, ``end_time`` exclusive). All money is computed in
integers (lots, ticks, minor units) and shown as decimal strings.

FIFO: each buy adds a lot (its quantity, and its notional plus its fee as
cost); each sale takes lots oldest first, each lot's cost pro rata to the
quantity taken (rounded down, the lot keeps the rest), and its proceeds
(notional less its fee) pro rata over the parts (the last part gets the
remainder, so the parts sum to the proceeds). A sale of units not bought on
the venue (deposited) has no known cost: that part is reported as
``uncosted_quantity`` and left out of gains. In a self-trade the sale counts
first, like the portfolio's average cost.
"""

import csv
import io
from collections import deque
from datetime import datetime, timezone
from decimal import ROUND_HALF_EVEN, Decimal

from aiohttp import web

from ..keys import POOL, VENUE
from ..engine.instrument import from_units, minor_unit
from ..store.queries import account_trades, ledger
from ..store.queries import trades as trade_queries
from . import errors, query
from .body import json
from .history import iso_ns
from .session import authenticate

routes = web.RouteTableDef()

FORMATS = ("json", "csv")
WINDOWS = {"1h": 3600, "24h": 86400, "7d": 7 * 86400, "30d": 30 * 86400}
NS_PER_MS = 1_000_000


def _range(q: query.Query) -> tuple:
    start = q.time_ms("start_time")
    end = q.time_ms("end_time")
    if start is not None and end is not None and start >= end:
        raise errors.invalid_parameter("end_time", "must be after start_time")
    return (None if start is None else start * NS_PER_MS,
            None if end is None else end * NS_PER_MS)


class Fifo:
    """FIFO lots of one instrument: ``buy`` adds a lot, ``sell`` returns its disposals."""

    __slots__ = ("lots",)

    def __init__(self):
        self.lots = deque()   # [lots, cost, acquired ts_ns]

    def buy(self, lots: int, cost: int, ts_ns: int) -> None:
        self.lots.append([lots, cost, ts_ns])

    def sell(self, lots: int, proceeds: int) -> tuple[list, int]:
        """Take ``lots`` oldest first; return ([(lots, proceeds, cost, acquired)], uncosted)."""
        parts, left, given = [], lots, 0
        while left and self.lots:
            lot = self.lots[0]
            take = min(left, lot[0])
            cost = lot[1] * take // lot[0]
            lot[0] -= take
            lot[1] -= cost
            if not lot[0]:
                self.lots.popleft()
            left -= take
            share = proceeds - given if not left else proceeds * take // lots
            given += share
            parts.append((take, share, cost, lot[2]))
        return parts, left

    def holding(self) -> tuple[int, int]:
        """(lots, cost) still held."""
        return sum(lot[0] for lot in self.lots), sum(lot[1] for lot in self.lots)


def disposals(trades, markets, since_ns=None) -> tuple[dict, list]:
    """Replay ``trades`` through FIFO lots; return (symbol -> Fifo, sales at or after since)."""
    books, sales = {}, []
    for t in trades:
        fifo = books.get(t["symbol"])
        if fifo is None:
            fifo = books[t["symbol"]] = Fifo()
        notional, fee = int(t["quote_qty"]), int(t["fee"])
        if t["is_buy"]:
            fifo.buy(t["qty"], notional + fee, t["ts_ns"])
            continue
        parts, uncosted = fifo.sell(t["qty"], notional - fee)
        if since_ns is None or t["ts_ns"] >= since_ns:
            sales.append((t, parts, uncosted))
    return books, sales


def signed(text_of, value: int) -> str:
    """``value`` (minor units, ticks, ...) as ``text_of`` writes its magnitude, with a sign."""
    return ("-" if value < 0 else "") + text_of(abs(value))


def _respond(request, fmt: str, name: str, data: dict, header: list, rows: list):
    if fmt == "csv":
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(header)
        writer.writerows(rows)
        return web.Response(text=out.getvalue(), content_type="text/csv", headers={
            "Content-Disposition": f'attachment; filename="{name}.csv"'})
    return json(data)


@routes.get("/api/v1/reports/trades")
async def trade_confirmations(request: web.Request) -> web.Response:
    caller = await authenticate(request)
    return await trades_report(request, caller.account_id)


async def trades_report(request: web.Request, account: int) -> web.Response:
    """Answer the trade confirmations of ``account`` (the caller's, or any for compliance)."""
    q = query.Query(request, {"symbol", "start_time", "end_time", "format"})
    markets = request.app[VENUE].sequencer.market_views
    symbol = q.symbol(markets)
    start, end = _range(q)
    fmt = q.choice("format", FORMATS) or "json"
    rows = await account_trades.until(request.app[POOL], account, symbol, end)
    out = []
    for t in rows:
        if start is not None and t["ts_ns"] < start:
            continue
        inst = markets[t["symbol"]].inst
        out.append({"trade_id": t["trade_id"], "time": iso_ns(t["ts_ns"]),
                    "symbol": t["symbol"], "side": "buy" if t["is_buy"] else "sell",
                    "role": "maker" if t["is_maker"] else "taker", "order_id": t["order_id"],
                    "price": inst.price_str(t["price"]), "quantity": inst.qty_str(t["qty"]),
                    "quote_quantity": inst.quote_str(int(t["quote_qty"])),
                    "fee": inst.quote_str(int(t["fee"])), "fee_asset": inst.quote})
    header = list(out[0]) if out else ["trade_id", "time", "symbol", "side", "role", "order_id",
                                       "price", "quantity", "quote_quantity", "fee", "fee_asset"]
    return _respond(request, fmt, "trades", {"account_id": account, "trades": out},
                    header, [list(r.values()) for r in out])


@routes.get("/api/v1/reports/tax")
async def tax_report(request: web.Request) -> web.Response:
    caller = await authenticate(request)
    q = query.Query(request, {"year", "format"})
    year = q.year("year")
    if year is None:
        raise errors.invalid_parameter("year", "is required")
    fmt = q.choice("format", FORMATS) or "json"
    markets = request.app[VENUE].sequencer.market_views
    start = int(datetime(year, 1, 1, tzinfo=timezone.utc).timestamp()) * 10**9
    end = int(datetime(year + 1, 1, 1, tzinfo=timezone.utc).timestamp()) * 10**9
    trades = await account_trades.until(request.app[POOL], caller.account_id, None, end)
    _, sales = disposals(trades, markets, start)
    lines, by_symbol, by_quote = [], {}, {}
    for t, parts, uncosted in sales:
        inst = markets[t["symbol"]].inst
        s = by_symbol.setdefault(t["symbol"], [0, 0, 0, 0, inst])
        totals = by_quote.setdefault(inst.quote, [0, 0, inst])
        for lots, proceeds, cost, acquired in parts:
            gain = proceeds - cost
            s[0] += proceeds
            s[1] += cost
            s[2] += gain
            totals[0 if gain >= 0 else 1] += gain
            lines.append({"trade_id": t["trade_id"], "symbol": t["symbol"],
                          "sold": iso_ns(t["ts_ns"]), "acquired": iso_ns(acquired),
                          "quantity": inst.qty_str(lots), "proceeds": inst.quote_str(proceeds),
                          "cost": inst.quote_str(cost),
                          "gain": signed(inst.quote_str, gain),
                          "asset": inst.quote})
        s[3] += uncosted
    data = {
        "account_id": caller.account_id, "year": year, "method": "FIFO", "disposals": lines,
        "symbols": [{"symbol": sym, "proceeds": inst.quote_str(p), "cost": inst.quote_str(c),
                     "gain": signed(inst.quote_str, g), "uncosted_quantity": inst.qty_str(u),
                     "asset": inst.quote}
                    for sym, (p, c, g, u, inst) in sorted(by_symbol.items())],
        "totals": [{"asset": asset, "gains": inst.quote_str(gains),
                    "losses": signed(inst.quote_str, losses),
                    "net": signed(inst.quote_str, gains + losses)}
                   for asset, (gains, losses, inst) in sorted(by_quote.items())]}
    header = ["trade_id", "symbol", "sold", "acquired", "quantity", "proceeds", "cost", "gain",
              "asset"]
    return _respond(request, fmt, f"tax-{year}", data, header,
                    [[r[k] for k in header] for r in lines])


@routes.get("/api/v1/reports/statement")
async def statement(request: web.Request) -> web.Response:
    caller = await authenticate(request)
    return await statement_report(request, caller.account_id)


async def statement_report(request: web.Request, account: int) -> web.Response:
    """Answer the statement of ``account`` (the caller's, or any for compliance)."""
    q = query.Query(request, {"asset", "start_time", "end_time", "format"})
    seq = request.app[VENUE].sequencer
    asset = q.asset(seq.assets)
    start, end = _range(q)
    fmt = q.choice("format", FORMATS) or "json"
    rows = await ledger.movements(request.app[POOL], account, asset, end)
    assets = {}
    for r in rows:
        a = assets.setdefault(r["asset"], {"opening": 0, "entries": []})
        if start is not None and r["ts_ns"] < start:
            a["opening"] += int(r["delta"])
        else:
            a["entries"].append(r)
    out, csv_rows = [], []
    for name, a in sorted(assets.items()):
        unit = minor_unit(seq.assets[name])
        amount = lambda v: signed(lambda m: from_units(m, unit), v)  # noqa: E731, B023 (called in this iteration)
        balance = a["opening"]
        entries = []
        for r in a["entries"]:
            balance += int(r["delta"])
            entry = {"seq": r["seq"], "time": iso_ns(r["ts_ns"]), "asset": name,
                     "reason": r["reason"], "ref": r["ref"], "amount": amount(int(r["delta"])),
                     "balance": amount(balance)}
            entries.append(entry)
            csv_rows.append(list(entry.values()))
        credits = sum(int(r["delta"]) for r in a["entries"] if r["delta"] > 0)
        debits = sum(int(r["delta"]) for r in a["entries"] if r["delta"] < 0)
        out.append({"asset": name, "opening": amount(a["opening"]), "credits": amount(credits),
                    "debits": amount(debits), "closing": amount(balance), "entries": entries})
    return _respond(request, fmt, "statement", {"account_id": account, "assets": out},
                    ["seq", "time", "asset", "reason", "ref", "amount", "balance"], csv_rows)


@routes.get("/api/v1/analytics/me")
async def my_analytics(request: web.Request) -> web.Response:
    caller = await authenticate(request)
    q = query.Query(request, {"symbol", "start_time", "end_time"})
    markets = request.app[VENUE].sequencer.market_views
    symbol = q.symbol(markets)
    start, end = _range(q)
    trades = await account_trades.until(request.app[POOL], caller.account_id, symbol, end)
    books, sales = disposals(trades, markets, start)
    stats = {}
    for t in trades:
        if start is not None and t["ts_ns"] < start:
            continue
        s = stats.setdefault(t["symbol"], {"trades": 0, "lots": 0, "quote": 0, "fees": 0,
                                           "realised": 0, "wins": 0, "sales": 0})
        s["trades"] += 1
        s["lots"] += t["qty"]
        s["quote"] += int(t["quote_qty"])
        s["fees"] += int(t["fee"])
    for t, parts, _ in sales:
        if not parts:
            continue
        s = stats[t["symbol"]]
        gain = sum(p - c for _, p, c, _ in parts)
        s["realised"] += gain
        s["sales"] += 1
        s["wins"] += gain > 0
    out = []
    for sym in sorted(set(stats) | set(books)):
        mkt = markets[sym]
        inst = mkt.inst
        s = stats.get(sym, {"trades": 0, "lots": 0, "quote": 0, "fees": 0, "realised": 0,
                            "wins": 0, "sales": 0})
        lots, cost = books[sym].holding() if sym in books else (0, 0)
        unrealised = None
        if mkt.last_price is not None and lots:
            unrealised = lots * mkt.last_price * inst.quote_per_tick_lot - cost
        out.append({"symbol": sym, "asset": inst.quote, "trades": s["trades"],
                    "volume": inst.qty_str(s["lots"]), "quote_volume": inst.quote_str(s["quote"]),
                    "fees": inst.quote_str(s["fees"]),
                    "realised_pnl": signed(inst.quote_str, s["realised"]),
                    "unrealised_pnl": (None if unrealised is None
                                       else signed(inst.quote_str, unrealised)),
                    "sales": s["sales"],
                    "win_rate": _ratio(s["wins"], s["sales"])})
    return json({"account_id": caller.account_id, "method": "FIFO", "symbols": out})


def _ratio(num: int, den: int) -> str | None:
    if not den:
        return None
    return str((Decimal(num) / Decimal(den)).quantize(Decimal("0.0001"), ROUND_HALF_EVEN))


@routes.get("/api/v1/analytics/markets")
async def market_analytics(request: web.Request) -> web.Response:
    await authenticate(request)
    q = query.Query(request, {"window"})
    window = q.choice("window", tuple(WINDOWS)) or "24h"
    seq = request.app[VENUE].sequencer
    now_ns = request.app[VENUE].now()
    since = now_ns - WINDOWS[window] * 10**9
    rows = await trade_queries.market_stats(request.app[POOL], since)
    out = []
    for r in rows:
        mkt = seq.market_views.get(r["symbol"])
        if mkt is None:
            continue
        inst = mkt.inst
        volume, quote = int(r["volume"]), int(r["quote_volume"])
        vwap = (Decimal(quote).scaleb(-inst.quote_decimals) / (volume * inst.step_size))
        change = r["close"] - r["open"]
        out.append({
            "symbol": r["symbol"], "trades": r["count"], "volume": inst.qty_str(volume),
            "quote_volume": inst.quote_str(quote),
            "vwap": str(vwap.quantize(Decimal(1).scaleb(-(inst.quote_decimals + 4)),
                                      ROUND_HALF_EVEN)),
            "open": inst.price_str(r["open"]), "last": inst.price_str(r["close"]),
            "high": inst.price_str(r["high"]), "low": inst.price_str(r["low"]),
            "change": signed(inst.price_str, change),
            "change_percent": _percent(change, r["open"]),
            # a statistic, not money: the standard deviation of one-minute log returns
            "volatility": None if r["vol"] is None else f"{r['vol']:.6f}"})
    movers = sorted(out, key=lambda m: abs(Decimal(m["change_percent"])), reverse=True)
    return json({"window": window, "markets": sorted(out, key=lambda m: m["symbol"]),
                 "top_movers": [m["symbol"] for m in movers[:5]]})


def _percent(change: int, base: int) -> str:
    value = Decimal(change * 100) / Decimal(base) if base else Decimal(0)
    return str(value.quantize(Decimal("0.001"), ROUND_HALF_EVEN))
