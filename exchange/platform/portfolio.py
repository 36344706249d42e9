"""The logged-in user's portfolio (``GET /api/v1/portfolio``): balances, positions, P&L.

Balances (free and locked per asset) come from the venue's ledger in memory;
a position is the account's holding (free + locked) of an instrument's base
asset, valued at the instrument's last trade price. The cost of a position
is by the **average cost** method over the account's trades (from
PostgreSQL), in trade order: a buy adds its notional plus its fee to the
cost and its quantity to the costed quantity; a sell takes its share of the
cost out at the average (``cost * sold // costed``, rounded down) and
realises its proceeds less its fee minus that share. Units the account got
otherwise (deposits) carry no known cost: they are ``uncosted_quantity`` and
left out of the average and the P&L; if the holding is below the costed
quantity (a withdrawal), the costed quantity and cost shrink to it pro rata.

All arithmetic is in integers (lots, ticks, minor units); values are rounded
down to the quote asset's minor unit; ``average_cost`` (quote per one unit
of the base asset) has the quote asset's places plus four, rounded half to
even. Totals are per quote asset: its balance plus the value of every priced
position quoted in it. A base asset traded in several instruments shows
under each of them (and counts in each of their quotes' totals).
"""

from decimal import ROUND_HALF_EVEN, Decimal, localcontext

from aiohttp import web

from ..keys import POOL, VENUE
from ..engine.instrument import from_units, minor_unit
from ..store.queries import account_trades
from . import body
from .body import json
from .session import authenticate

routes = web.RouteTableDef()

COST_METHOD = "average_cost"
AVERAGE_EXTRA_PLACES = 4


class Cost:
    """Average-cost replay of one instrument's trades, in lots and quote minor units."""

    __slots__ = ("lots", "cost", "realised")

    def __init__(self):
        self.lots = self.cost = self.realised = 0

    def buy(self, lots: int, notional: int, fee: int) -> None:
        self.lots += lots
        self.cost += notional + fee

    def sell(self, lots: int, notional: int, fee: int) -> None:
        covered = min(lots, self.lots)
        if not covered:
            return
        removed = self.cost * covered // self.lots
        self.realised += (notional - fee) * covered // lots - removed
        self.cost -= removed
        self.lots -= covered

    def cap(self, held_lots: int) -> None:
        """Shrink to a holding below the costed quantity (units left by other means)."""
        if held_lots < self.lots:
            self.cost = self.cost * held_lots // self.lots if self.lots else 0
            self.lots = held_lots


async def account_costs(pool, account: int) -> dict:
    """symbol -> ``Cost`` replayed over every trade of the account (a self-trade sells first)."""
    rows = await account_trades.for_costing(pool, account)
    costs = {}
    for r in rows:
        c = costs.get(r["symbol"])
        if c is None:
            c = costs[r["symbol"]] = Cost()
        (c.buy if r["is_buy"] else c.sell)(r["qty"], int(r["quote_qty"]), int(r["fee"]))
    return costs


def average_cost(inst, cost: Cost) -> str | None:
    """Quote per one unit of the base asset, or None with nothing costed."""
    if not cost.lots:
        return None
    with localcontext() as ctx:
        ctx.prec = 80
        value = (Decimal(cost.cost).scaleb(-inst.quote_decimals)
                 / (cost.lots * inst.step_size))
        places = Decimal(1).scaleb(-(inst.quote_decimals + AVERAGE_EXTRA_PLACES))
        return str(value.quantize(places, rounding=ROUND_HALF_EVEN))


@routes.get("/api/v1/portfolio")
async def portfolio(request: web.Request) -> web.Response:
    """Balances, positions valued at the last trade price with average cost and P&L, totals."""
    caller = await authenticate(request)
    body.no_query(request)
    costs = await account_costs(request.app[POOL], caller.account_id)
    seq = request.app[VENUE].sequencer
    ledger, account = seq.ledger, caller.account_id

    def held(asset):
        return ledger.amounts(account, asset)  # a read: creates no balance

    balances = []
    for asset, decimals in sorted(seq.assets.items()):
        free, locked = held(asset)
        unit = minor_unit(decimals)
        balances.append({"asset": asset, "free": from_units(free, unit), "locked": from_units(locked, unit),
                         "total": from_units(free + locked, unit)})

    positions, totals = [], {}
    for symbol, mkt in sorted(seq.market_views.items()):
        inst = mkt.inst
        qty = sum(held(inst.base))
        cost = costs.get(symbol, Cost())
        total = totals.setdefault(inst.quote, {"value": 0, "unrealised": 0, "inst": inst})
        if not qty and symbol not in costs:
            continue
        cost.cap(qty // inst.base_per_lot)
        last = mkt.last_price
        value = unrealised = None
        if last is not None:
            value = qty * last * inst.quote_per_tick_lot // inst.base_per_lot
            unrealised = cost.lots * last * inst.quote_per_tick_lot - cost.cost
            total["value"] += value
            total["unrealised"] += unrealised
        opt = lambda v: None if v is None else inst.quote_str(v)  # noqa: E731, B023 (called in this iteration)
        positions.append({
            "symbol": symbol, "base": inst.base, "quote": inst.quote,
            "quantity": inst.base_str(qty),
            "last_price": None if last is None else inst.price_str(last),
            "value": opt(value),
            "costed_quantity": inst.qty_str(cost.lots),
            "uncosted_quantity": inst.base_str(qty - cost.lots * inst.base_per_lot),
            "cost": inst.quote_str(cost.cost), "average_cost": average_cost(inst, cost),
            "unrealised_pnl": opt(unrealised), "realised_pnl": inst.quote_str(cost.realised)})

    out_totals = []
    for quote, t in sorted(totals.items()):
        inst = t["inst"]
        cash = sum(held(quote))
        out_totals.append({"asset": quote, "cash": inst.quote_str(cash),
                           "positions_value": inst.quote_str(t["value"]),
                           "total": inst.quote_str(cash + t["value"]),
                           "unrealised_pnl": inst.quote_str(t["unrealised"])})
    return json({"account_id": account, "cost_method": COST_METHOD, "balances": balances,
                 "positions": positions, "totals": out_totals})
