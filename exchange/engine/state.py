"""The sequencer's whole state as plain, versioned data, and a sequencer rebuilt from it.

``dump(sequencer)`` returns the state as plain data (dicts, lists, str, int,
bool, None: what msgpack or JSON can carry); ``load(data)`` builds a
``Sequencer`` from it through a trusted path that runs no per-order
validation (the caller runs ``Sequencer.check()`` after); ``upgrade(data)``
brings data of an older format version up to ``FORMAT``. Nothing here does
IO: the store encodes the data (``exchange.store.snapshots``) and keeps it.
The format is what the data says, not the classes that held it, so a change
to the engine's code leaves every saved state loadable; a change to what the
state *is* bumps ``FORMAT`` and adds an upgrade from the version before.

Format 1 (every name below is a key of the top-level dict)::

    format         1
    seq, next_order_id, next_trade_id, day_end_ns     ints
    assets         [[asset, decimals], ...]              in listing order
    markets        [{instrument: {...Instrument's fields: Decimals as strings,
                                  enums as their values, allowed_stp a sorted list},
                     status, last_price, update_id, reopen_ns,
                     touched: [[bid prices], [ask prices]],
                     book: [[[price, orders], ...] bids best first, [...] asks]}, ...]
                                                          in listing order
    orders         {column: [value per open order]}: first the orders resting in
                   the books, market by market, bids then asks, level by level as
                   ``book`` lists them and in time priority within a level (a
                   level's ``orders`` is how many of the next rows it holds); then
                   the stops still waiting, by order id. Columns: order_id, market
                   (index in markets), account, source, client_order_id, side, type,
                   tif, price, qty, quote_qty, stop_price, display_qty, stp, post_only,
                   status, open, executed_qty, cum_quote, hold, budget, working,
                   expire_ts_ns, created_ts_ns, visible and display (the book's
                   shown part and iceberg slice; None for a waiting stop). The enum
                   columns (side, type, tif, stp, status) hold codes: indexes into
                   the lists of values under the key ``enums`` ({column: [value,
                   ...]}), so that a value is decoded once, not once per order
    balances       {account: [...], asset: [...], free: [...], locked: [...]}
                                                          every balance, in creation order
    external       [[asset, deposits - withdrawals], ...]
    withdrawals    [[withdrawal id, account, asset, amount], ...]   pending, in request order
    expiries       [[expire ts_ns, order id], ...]       the heap as it is (stale entries too)
    reopens        [[reopen ts_ns, symbol], ...]         the heap as it is
    risk           {defaults: [5 limits], halt_ns, limits: [[account, [5 values or None]]],
                    killed: [accounts], killed_keys: [[account, api key]],
                    daily: [[account, trading day, notional]]}

What is derived is not stored: an order's market, book side and level, its
hold balance (the quote for a buy, the base for a sell), its stop key, its
``OrderSpec`` (from its own columns), the open-order indexes, the stop lists,
each market's per-lot factors, resolved risk limits and the next due time.
Integers may exceed 64 bits (money in minor units); the store's encoding must
keep them exact.

All reading and writing of the sequencer's attributes is in ``dump`` and
``load``; the rest works on plain data and on the records they hand over.
"""

from collections.abc import Callable
from dataclasses import fields
from decimal import Decimal
from operator import attrgetter
from typing import Any

from sortedcontainers import SortedList

from .enums import SIDE_OF, STATUS_OF, STP_OF, TIF_OF, OrderStatus, OrderType, Side
from .events import OrderSpec
from .instrument import Instrument
from .orders import Order
from .limits import Limits
from .book import _Level
from .ledger import Balance
from .market import Market
from .sequencer import Sequencer

FORMAT = 1

ORDER_COLUMNS = (
    "order_id", "market", "account", "source", "client_order_id", "side", "type", "tif",
    "price", "qty", "quote_qty", "stop_price", "display_qty", "stp", "post_only", "status",
    "open", "executed_qty", "cum_quote", "hold", "budget", "working", "expire_ts_ns",
    "created_ts_ns", "visible", "display")
_INSTRUMENT_FIELDS = tuple(f.name for f in fields(Instrument) if f.init)
_TYPE_OF = {m.value: m for m in OrderType}
_ORDER_STATUS_OF = {m.value: m for m in OrderStatus}
# the enum columns of ``orders``: each value's member, from its string
ENUM_COLUMNS: dict[str, dict[Any, Any]] = {
    "side": SIDE_OF, "type": _TYPE_OF, "tif": TIF_OF, "stp": STP_OF, "status": _ORDER_STATUS_OF}
_CODES: dict[str, dict[Any, int]] = {   # column -> member -> its code (dump)
    name: {m: i for i, m in enumerate(dict.fromkeys(of.values()))}
    for name, of in ENUM_COLUMNS.items()}
BUY = Side.BUY
_STOP_LOSSES = frozenset({OrderType.STOP_LOSS, OrderType.STOP_LOSS_LIMIT})
# upgrades[v](data) -> the same state as format v + 1 (none yet: format 1 is the first)
Data = dict[str, Any]   # a state as plain data
UPGRADES: dict[int, Callable[[Data], Data]] = {}


class StateError(ValueError):
    """Data that is not a state this code can load (unknown or malformed format)."""


def upgrade(data: Data) -> Data:
    """Return ``data`` brought up to ``FORMAT``; raise StateError if it cannot be."""
    if type(data) is not dict:
        raise StateError("a state is a dict")
    version = data.get("format")
    if type(version) is not int:
        raise StateError(f"no format version: {version!r}")
    if version > FORMAT:
        raise StateError(f"format {version} is newer than this code's {FORMAT}")
    while version < FORMAT:
        step = UPGRADES.get(version)
        if step is None:
            raise StateError(f"format {version} has no upgrade to {version + 1}")
        data = step(data)
        if data.get("format") != version + 1:
            raise StateError(f"the upgrade from format {version} did not give {version + 1}")
        version += 1
    return data


# ---- reading the state out ------------------------------------------------------------

def dump(seq: Sequencer) -> Data:
    """Return the whole state of ``seq`` as plain data of format ``FORMAT``; O(state)."""
    market_index: dict[str, int] = {}
    markets: list[dict[str, Any]] = []
    resting: list[Any] = []   # the books' orders (Order records), in the books' order
    for i, (symbol, mkt) in enumerate(seq.markets.items()):
        market_index[symbol] = i
        book: list[list[list[int]]] = []
        for book_side in (BUY, Side.SELL):
            levels: list[list[int]] = []
            for price, records in mkt.book.resting(book_side):
                levels.append([price, len(records)])
                resting += records
            book.append(levels)
        markets.append({
            "instrument": _instrument_data(mkt.inst), "status": mkt.status.value,
            "last_price": mkt.last_price, "update_id": mkt.update_id,
            "reopen_ns": mkt.reopen_ns,
            "touched": [sorted({lvl.price for lvl in mkt.touched_bids}),
                        sorted({lvl.price for lvl in mkt.touched_asks})],
            "book": book,
        })
    waiting = [o for o in seq.orders.values() if not o.working]   # by order id
    columns: dict[str, Any] = {name: [] for name in ORDER_COLUMNS}
    side, type_, tif, stp, status = (_CODES[name] for name in ENUM_COLUMNS)
    if resting or waiting:
        rows = [(o.order_id, market_index[o.symbol], o.account, o.source, o.client_order_id,
                 side[o.side], type_[o.type], tif[o.tif], o.price, o.qty, o.quote_qty,
                 o.stop_price, o.display_qty, stp[o.stp], o.post_only, status[o.status], o.open,
                 o.executed_qty, o.cum_quote, o.hold, o.budget, o.working,
                 o.spec.expire_ts_ns, o.spec.created_ts_ns,
                 o.visible if o.working else None, o.display if o.working else None)
                for o in resting + waiting]
        columns = dict(zip(ORDER_COLUMNS, map(list, zip(*rows))))
    columns["enums"] = {name: [m.value for m in codes] for name, codes in _CODES.items()}
    balances = list(seq.ledger.balances())
    limits = seq.risk_defaults
    return {
        "format": FORMAT,
        "seq": seq.seq, "next_order_id": seq.next_order_id,
        "next_trade_id": seq.next_trade_id, "day_end_ns": seq._day_end_ns,
        "assets": [[a, d] for a, d in seq.assets.items()],
        "markets": markets,
        "orders": columns,
        "balances": {"account": [b.account for b in balances],
                     "asset": [b.asset for b in balances],
                     "free": [b.free for b in balances],
                     "locked": [b.locked for b in balances]},
        "external": [[a, v] for a, v in seq.ledger.external.items()],
        "withdrawals": [[w, *rest] for w, rest in seq.withdrawals.items()],
        "expiries": [list(e) for e in seq._expiries],
        "reopens": [list(r) for r in seq._reopens],
        "risk": {"defaults": list(limits.values()), "halt_ns": seq.halt_ns,
                 "limits": [[a, list(own)] for a, own in seq.risk_limits.items()],
                 "killed": sorted(seq.killed), "killed_keys": sorted(map(list, seq.killed_keys)),
                 "daily": [[a, day, notional] for a, (day, notional) in seq.daily.items()]},
    }


def _instrument_data(inst: Instrument) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name in _INSTRUMENT_FIELDS:
        value = getattr(inst, name)
        if isinstance(value, Decimal):
            value = str(value)
        elif isinstance(value, frozenset):
            value = sorted(m.value for m in value)
        elif hasattr(value, "value"):   # an enum
            value = value.value
        out[name] = value
    return out


# ---- a digest of it ---------------------------------------------------------------------

_ID, _PRICE, _QTY, _EXECUTED, _CUM_QUOTE, _WORKING, _STATUS = map(attrgetter, (
    "order_id", "price", "qty", "executed_qty", "cum_quote", "working", "status"))


def digest(seq: Sequencer) -> dict[str, dict[str, tuple[int, ...]]]:
    """Return counts and sums of ``seq``'s state, to compare with the same of the state
    tables (``exchange.store.recovery``): ``balances``: {asset: (non-zero balances, sum
    of free, sum of locked)}; ``orders``: {symbol: (open orders, sum of their ids, of
    prices, of qtys, of executed qtys, of cum quotes, working ones, partially filled
    ones)} (a missing price or qty counts 0); ``withdrawals``: {asset: (pending, their
    sum)}. Reads each market's orders where they rest, then its waiting stops (which
    ``check()`` shows are exactly its open orders), and sums each column in C.
    O(open orders + balances)."""
    balances: dict[str, list[int]] = {}
    for _, asset, free, locked in seq.ledger.nonzero():
        d = balances.get(asset)
        if d is None:
            balances[asset] = [1, free, locked]
        else:
            d[0] += 1
            d[1] += free
            d[2] += locked
    orders: dict[str, tuple[int, ...]] = {}
    by_id = seq.orders
    for symbol, mkt in seq.markets.items():
        records: list[Any] = []
        for side in (BUY, Side.SELL):
            for _, level in mkt.book.resting(side):
                records += level
        records += [by_id[key[1]] for key in mkt.rising]
        records += [by_id[key[1]] for key in mkt.falling]
        if records:
            orders[symbol] = (len(records), sum(map(_ID, records)),
                              sum(filter(None, map(_PRICE, records))),
                              sum(filter(None, map(_QTY, records))),
                              sum(map(_EXECUTED, records)), sum(map(_CUM_QUOTE, records)),
                              sum(map(_WORKING, records)),
                              list(map(_STATUS, records)).count(OrderStatus.PARTIALLY_FILLED))
    withdrawals: dict[str, tuple[int, int]] = {}
    for _, asset, amount in seq.withdrawals.values():
        n, total = withdrawals.get(asset, (0, 0))
        withdrawals[asset] = (n + 1, total + amount)
    return {"balances": {k: tuple(v) for k, v in balances.items()}, "orders": orders,
            "withdrawals": dict(withdrawals)}


# ---- building a sequencer from it -----------------------------------------------------

def load(data: Data) -> Sequencer:
    """Return a Sequencer holding the state ``data`` describes (any format ``upgrade``
    brings to ``FORMAT``). Trusted: it runs no command validation, only what a
    malformed document breaks on (StateError, or the error it raises); call
    ``check()`` on the result before serving from it. O(state)."""
    data = upgrade(data)
    try:
        return _load(data)
    except StateError:
        raise
    except (KeyError, IndexError, TypeError, ValueError, AttributeError) as e:
        raise StateError(f"malformed state: {type(e).__name__}: {e}") from e


def _load(data: Data) -> Sequencer:
    day_end_ns = data["day_end_ns"]
    if type(day_end_ns) is not int or day_end_ns % 10**9:
        raise StateError(f"day_end_ns {day_end_ns!r}")
    seq = Sequencer(day_end_ns // 10**9)
    seq.seq = data["seq"]
    seq.next_order_id = data["next_order_id"]
    seq.next_trade_id = data["next_trade_id"]
    seq.assets = {a: d for a, d in data["assets"]}
    markets = []
    for m in data["markets"]:
        inst = Instrument(**m["instrument"])
        mkt = Market(inst)
        mkt.status = STATUS_OF[m["status"]]
        mkt.last_price = m["last_price"]
        mkt.update_id = m["update_id"]
        mkt.reopen_ns = m["reopen_ns"]
        bids, asks = m["touched"]
        # a level object for each price whose depth changed (depth_changes reads their
        # prices); detached from the book, as a level dropped since would be
        mkt.touched_bids = {_Level(p) for p in bids}
        mkt.touched_asks = {_Level(p) for p in asks}
        seq.markets[inst.symbol] = mkt
        markets.append(mkt)
    # the ledger first: orders keep the balance their hold sits in
    ledger = seq.ledger
    b = data["balances"]
    balance = {}
    for account, asset, free, locked in zip(b["account"], b["asset"], b["free"], b["locked"]):
        bal = ledger.balance(account, asset)
        bal.free, bal.locked = free, locked
        balance[(account, asset)] = bal
    ledger.external = {a: v for a, v in data["external"]}
    records = _orders(seq, markets, data["orders"], balance)
    start = 0
    for mkt, m in zip(markets, data["markets"]):
        bids, asks = m["book"]
        book = mkt.book
        for side, levels in ((BUY, bids), (Side.SELL, asks)):
            for price, count in levels:
                book.restore(side, price, records[start:start + count])
                start += count
    if any(o.working for o in records[start:]) or not all(o.working for o in records[:start]):
        raise StateError("the books do not hold exactly the working orders")
    seq.withdrawals = {w: (account, asset, amount)
                       for w, account, asset, amount in data["withdrawals"]}
    seq._expiries = [(ts, oid) for ts, oid in data["expiries"]]
    seq._reopens = [(ts, symbol) for ts, symbol in data["reopens"]]
    seq._due = seq._earliest_due()
    risk = data["risk"]
    seq.risk_defaults = Limits(*risk["defaults"])
    seq.halt_ns = risk["halt_ns"]
    seq.risk_limits = {a: tuple(own) for a, own in risk["limits"]}
    seq._limits = {a: Limits.resolve(own, seq.risk_defaults)
                   for a, own in seq.risk_limits.items()}
    seq._update_risk_on()
    seq.killed = set(risk["killed"])
    seq.killed_keys = {(a, key) for a, key in risk["killed_keys"]}
    seq.daily = {a: [day, notional] for a, day, notional in risk["daily"]}
    return seq


def _orders(seq: Sequencer, markets: list[Market], columns: dict[str, Any],
            balance: dict[tuple[int, str], Balance]) -> list[Order]:
    """Build every open order from its columns (in the order they come: the books' order)
    into ``seq``'s indexes (by order id) and its market's stop lists; return the
    orders in the columns' order. The hot loop of a restart: locals only, no calls but
    the constructors."""
    new = object.__new__
    enums = columns["enums"]
    side_of, type_of, tif_of, stp_of, status_of = (
        tuple(ENUM_COLUMNS[name][value] for value in enums[name]) for name in ENUM_COLUMNS)
    stop_losses = _STOP_LOSSES
    # per market: account -> its Balance in the quote (a buy's hold), in the base (a sell's)
    holds_in = [tuple({a: b for (a, asset), b in balance.items() if asset == held}
                      for held in (m.inst.quote, m.inst.base)) for m in markets]
    symbols = [m.inst.symbol for m in markets]
    rising: list[list[tuple[int, Any]]] = [[] for _ in markets]
    falling: list[list[tuple[int, Any]]] = [[] for _ in markets]
    records: list[Order] = []
    keep = records.append
    for (oid, mi, account, source, coid, side, type_, tif, price, qty, quote_qty, stop_price,
         display_qty, stp, post_only, status, open_, executed, cum_quote, hold, budget, working,
         expire, created, visible, display) in zip(*[columns[name] for name in ORDER_COLUMNS]):
        symbol = symbols[mi]
        o = new(Order)
        o.order_id = oid
        o.account = o.owner = account
        o.symbol = symbol
        o.market = markets[mi]
        o.client_order_id = coid
        o.source = source
        o.side = s = side_of[side]
        o.type = t = type_of[type_]
        o.tif = f = tif_of[tif]
        o.price = price
        o.qty = qty
        o.quote_qty = quote_qty
        o.stop_price = stop_price
        o.display_qty = display_qty
        o.stp = p = stp_of[stp]
        o.post_only = post_only
        o.status = status_of[status]
        o.open = open_
        o.executed_qty = executed
        o.cum_quote = cum_quote
        o.hold = hold
        o.hold_balance = holds_in[mi][s is not BUY][account]
        o.budget = budget
        o.working = working
        if working:
            o.stop_key = None
            o.visible = visible
            o.display = display
        elif (s is BUY) == (t in stop_losses):   # it triggers on a rising price (_rises)
            o.stop_key = key = (stop_price, oid)
            rising[mi].append(key)
        else:
            o.stop_key = key = (-stop_price, oid)
            falling[mi].append(key)
        o.spec = spec = new(OrderSpec)
        spec.order_id = oid
        spec.account = account
        spec.symbol = symbol
        spec.client_order_id = coid
        spec.side = s
        spec.type = t
        spec.tif = f
        spec.quote_qty = quote_qty
        spec.stop_price = stop_price
        spec.display_qty = display_qty
        spec.stp = p
        spec.expire_ts_ns = expire
        spec.created_ts_ns = created
        keep(o)
    for mkt, up, down in zip(markets, rising, falling):
        mkt.rising = SortedList(up)
        mkt.falling = SortedList(down)
    # The indexes go by order id (placement order), which is what iterating them means:
    # the columns are nearly sorted runs (a level's orders are mostly in id order).
    ids, accounts, coids = columns["order_id"], columns["account"], columns["client_order_id"]
    orders, by_account, by_client = seq.orders, seq.by_account, seq.by_client
    for i in sorted(range(len(ids)), key=ids.__getitem__):
        oid, account, o = ids[i], accounts[i], records[i]
        orders[oid] = o
        try:
            by_account[account][oid] = o
        except KeyError:
            by_account[account] = {oid: o}
        coid = coids[i]
        if coid is not None:
            by_client[(account, coid)] = o
    if len(orders) != len(ids):
        raise StateError("two open orders with one id")
    return records
