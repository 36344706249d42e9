"""Instrument administration through the real server: list a symbol at run time and trade it
over /api/v3, change its grid and fees, delist it; refusals (bad input, non-operators on every
admin route) change nothing; a restart rebuilds the same instruments."""

import pytest

from exchange.keys import POOL, VENUE
from exchange.platform.roles import set_role
from exchange.bootstrap import create_account, deposit

from tests.helpers.funding import balance, make_operator
from tests.helpers.instruments import NFLX

ADMIN = [
    ("POST", "/api/v1/admin/instruments", NFLX),
    ("PATCH", "/api/v1/admin/instruments/AAPL", {"taker_fee": "0.01"}),
    ("POST", "/api/v1/admin/instruments/AAPL/delist", None),
    ("POST", "/api/v1/admin/instruments/AAPL/status", {"status": "HALT"}),
    ("PUT", "/api/v1/admin/accounts/{id}/kyc", {"status": "VERIFIED"}),
]


@pytest.fixture
async def operator(app, api):
    return await make_operator(app, type(api)(api.client))


def engine_state(app):
    """What an admin command could change (a refused command still takes a seq)."""
    seq = app[VENUE].sequencer
    return (len(seq.orders), seq.ledger.balances() and sorted(
        (b.account, b.asset, b.free, b.locked) for b in seq.ledger.balances()), sorted(seq.assets.items()),
            {s: (m.inst, str(m.status)) for s, m in seq.markets.items()})


async def info(client, symbol):
    status, body = await client.get("/api/v3/exchangeInfo", symbol=symbol)
    assert status == 200, body
    (sym,) = body["symbols"]
    return sym, {f["filterType"]: f for f in sym["filters"]}


async def test_non_operators_reach_no_admin_route_and_nothing_changes(app, user, traders):
    mine, _ = traders
    await mine.order("AAPL", "BUY", "90.00", "1")
    for role in ("trader", "compliance"):
        await set_role(app[POOL], user.email, role)
        before = engine_state(app), app[VENUE].sequencer.seq
        for method, path, body in ADMIN:
            status, out, _ = await user.call(method, path.format(id=user.account_id), body)
            assert (status, out["code"]) == (403, "FORBIDDEN"), (role, method, path)
        assert (engine_state(app), app[VENUE].sequencer.seq) == before   # no command at all
    assert await app[POOL].fetchval("SELECT kyc_status FROM accounts WHERE account_id = $1",
                                    user.account_id) == "NONE"
    assert await app[POOL].fetchval("SELECT count(*) FROM instruments WHERE symbol = 'NFLX'") == 0


async def test_a_symbol_listed_at_run_time_trades_and_shows_in_market_data(
        app, user, traders, operator):
    mine, other = traders
    status, inst, _ = await operator.call("POST", "/api/v1/admin/instruments", NFLX)
    assert status == 201, inst
    assert inst == {
        "symbol": "NFLX", "status": "TRADING", "base": "NFLX", "quote": "USD",
        "base_decimals": 2, "quote_decimals": 2, "tick_size": "0.05", "step_size": "0.2",
        "price_unit": "0.05", "qty_unit": "0.2", "min_qty": "0.2", "max_qty": "1000.0",
        "min_notional": "1.00", "price_band_bps": 0, "reference_price": None,
        "maker_fee": "0.001000", "taker_fee": "0.002000"}
    sym, filters = await info(user, "NFLX")
    assert sym["status"] == "TRADING" and (sym["baseAsset"], sym["quoteAsset"]) == ("NFLX", "USD")
    assert filters["PRICE_FILTER"]["tickSize"] == "0.05"
    assert filters["LOT_SIZE"] == {"filterType": "LOT_SIZE", "minQty": "0.2",
                                   "maxQty": "1000.0", "stepSize": "0.2"}
    row = await app[POOL].fetchrow("SELECT definition, status FROM instruments "
                                   "WHERE symbol = 'NFLX'")
    assert row["status"] == "TRADING" and row["definition"]["tick_size"] == "0.05"

    await deposit(app, other.account_id, "NFLX", "10")
    await other.order("NFLX", "SELL", "200.00", "2.4")
    status, depth = await user.get("/api/v3/depth", symbol="NFLX")
    assert status == 200 and depth["asks"] == [["200.00", "2.4"]] and depth["bids"] == []
    filled = await mine.order("NFLX", "BUY", "200.00", "1")
    assert filled["status"] == "FILLED" and filled["fills"][0]["commission"] == "0.40"
    assert balance(app, user.account_id, "USD") == (10000_00 - 200_40, 0)
    assert balance(app, user.account_id, "NFLX") == (100, 0)    # 1.00 NFLX
    status, out = await user.signed("POST", "/api/v3/order", mine.key, mine.secret, {
        "symbol": "NFLX", "side": "BUY", "type": "LIMIT", "timeInForce": "GTC",
        "quantity": "1", "price": "200.01"})
    assert (status, out["code"], out["msg"]) == (400, -1013, "Filter failure: PRICE_FILTER")

    # a fee change applies to the next fill
    status, changed, _ = await operator.call("PATCH", "/api/v1/admin/instruments/NFLX",
                                             {"maker_fee": "0", "taker_fee": "0.005"})
    assert status == 200 and changed["taker_fee"] == "0.005000" and changed["canceled_order_ids"] == []
    filled = await mine.order("NFLX", "BUY", "200.00", "1")
    assert filled["fills"][0]["commission"] == "1.00"
    assert balance(app, user.account_id, "USD") == (10000_00 - 200_40 - 201_00, 0)
    status, tr = await user.get("/api/v3/ticker/bookTicker", symbol="NFLX")
    assert status == 200 and (tr["askPrice"], tr["askQty"]) == ("200.00", "0.4")
    app[VENUE].sequencer.check()


async def test_open_buys_are_re_held_when_the_fee_rises(app, user, traders, operator):
    mine, _ = traders
    await mine.order("AAPL", "BUY", "100.00", "10")             # 1000.00 + 0.02 % = 1000.20
    assert balance(app, user.account_id, "USD") == (10000_00 - 1000_20, 1000_20)
    status, _, _ = await operator.call("PATCH", "/api/v1/admin/instruments/AAPL",
                                       {"taker_fee": "0.01"})
    assert status == 200
    assert balance(app, user.account_id, "USD") == (10000_00 - 1010_00, 1010_00)
    app[VENUE].sequencer.check()


async def test_a_grid_change_is_refused_for_off_grid_orders_unless_they_are_canceled(
        app, user, traders, operator):
    mine, _ = traders
    off = await mine.order("AAPL", "BUY", "90.01", "1")
    on = await mine.order("AAPL", "BUY", "90.10", "1")
    before = engine_state(app)
    status, out, _ = await operator.call("PATCH", "/api/v1/admin/instruments/AAPL",
                                         {"tick_size": "0.05"})
    assert (status, out["code"]) == (409, "OPEN_ORDERS_OFF_GRID")
    assert engine_state(app) == before
    status, out, _ = await operator.call("PATCH", "/api/v1/admin/instruments/AAPL",
                                         {"tick_size": "0.05", "cancel_off_grid": True})
    assert status == 200, out
    assert out["canceled_order_ids"] == [off["orderId"]] and out["tick_size"] == "0.05"
    assert set(app[VENUE].sequencer.orders) == {on["orderId"]}
    status, order = await user.signed("GET", "/api/v3/order", mine.key, mine.secret,
                                      {"symbol": "AAPL", "orderId": off["orderId"]})
    assert order["status"] == "CANCELED"
    _, filters = await info(user, "AAPL")
    assert filters["PRICE_FILTER"]["tickSize"] == "0.05"
    assert (await mine.order("AAPL", "BUY", "90.05", "1"))["status"] == "NEW"


@pytest.mark.parametrize("method, path, body, status, code", [
    ("POST", "/api/v1/admin/instruments", {**NFLX, "tick_size": 0.05}, 400, "INVALID_FIELD"),
    ("POST", "/api/v1/admin/instruments", {k: v for k, v in NFLX.items() if k != "step_size"},
     400, "MISSING_FIELD"),
    ("POST", "/api/v1/admin/instruments", {**NFLX, "tick_size": "abc"}, 400, "INVALID_FIELD"),
    ("POST", "/api/v1/admin/instruments", {**NFLX, "tick_size": "0"}, 400, "INVALID_FIELD"),
    ("POST", "/api/v1/admin/instruments", {**NFLX, "min_qty": "0.3"}, 400, "INVALID_FIELD"),
    ("POST", "/api/v1/admin/instruments", {**NFLX, "maker_fee": "1.5"}, 400, "INVALID_FIELD"),
    ("POST", "/api/v1/admin/instruments", {**NFLX, "taker_fee": "0.0000001"}, 400,
     "INVALID_FIELD"),
    ("POST", "/api/v1/admin/instruments", {**NFLX, "symbol": "nflx"}, 400, "INVALID_FIELD"),
    ("POST", "/api/v1/admin/instruments", {**NFLX, "quote": "NFLX", "quote_decimals": 2}, 400,
     "INVALID_INSTRUMENT"),
    ("POST", "/api/v1/admin/instruments", {**NFLX, "quote_decimals": 4}, 400, "INVALID_FIELD"),
    ("POST", "/api/v1/admin/instruments", {**NFLX, "base": "EUR", "base_decimals": None},
     400, "MISSING_FIELD"),
    ("POST", "/api/v1/admin/instruments", {**NFLX, "tick_size": "0.001"}, 400,
     "INVALID_INSTRUMENT"),          # tick x step is not a whole number of cents
    ("POST", "/api/v1/admin/instruments", {**NFLX, "min_qty": "5", "max_qty": "1"}, 400,
     "INVALID_INSTRUMENT"),
    ("POST", "/api/v1/admin/instruments", {**NFLX, "symbol": "AAPL"}, 409, "DUPLICATE_SYMBOL"),
    ("POST", "/api/v1/admin/instruments", {**NFLX, "color": "red"}, 400, "UNKNOWN_FIELD"),
    ("PATCH", "/api/v1/admin/instruments/NOPE", {"taker_fee": "0.01"}, 404, "UNKNOWN_SYMBOL"),
    ("PATCH", "/api/v1/admin/instruments/AAPL", {}, 400, "NO_CHANGE"),
    ("PATCH", "/api/v1/admin/instruments/AAPL", {"tick_size": "0.015"}, 400, "INVALID_FIELD"),
    ("PATCH", "/api/v1/admin/instruments/AAPL", {"step_size": "0.5"}, 400, "INVALID_FIELD"),
    ("PATCH", "/api/v1/admin/instruments/AAPL", {"price_band_bps": 10000}, 400, "INVALID_FIELD"),
    ("PATCH", "/api/v1/admin/instruments/AAPL", {"min_qty": "2000000000000"}, 400,
     "INVALID_INSTRUMENT"),         # above max_qty
    ("PATCH", "/api/v1/admin/instruments/AAPL", {"cancel_off_grid": "yes"}, 400,
     "INVALID_FIELD"),
    ("PATCH", "/api/v1/admin/instruments/AAPL", {"status": "HALT"}, 400, "UNKNOWN_FIELD"),
    ("POST", "/api/v1/admin/instruments/NOPE/delist", None, 404, "UNKNOWN_SYMBOL"),
    ("POST", "/api/v1/admin/instruments/AAPL/status", {"status": "DELISTED"}, 400,
     "INVALID_FIELD"),
])
async def test_bad_admin_input_is_a_4xx_with_a_code_and_changes_nothing(
        app, traders, operator, method, path, body, status, code):
    mine, _ = traders
    await mine.order("AAPL", "BUY", "90.00", "1")
    before = engine_state(app)
    got, out, _ = await operator.call(method, path, body)
    assert (got, out["code"]) == (status, code), out
    assert engine_state(app) == before


async def test_delisting_cancels_everything_and_refuses_new_orders(app, user, traders, operator):
    mine, other = traders
    a = await mine.order("AAPL", "BUY", "90.00", "3")
    b = await other.order("AAPL", "SELL", "110.00", "2")
    status, out = await user.signed("POST", "/api/v3/order", mine.key, mine.secret, {
        "symbol": "AAPL", "side": "SELL", "type": "STOP_LOSS", "quantity": "1",
        "stopPrice": "80.00"})
    assert status == 200, out
    stop = out
    status, out, _ = await operator.call("POST", "/api/v1/admin/instruments/AAPL/delist")
    assert status == 200, out
    assert out["status"] == "DELISTED"
    assert out["canceled_order_ids"] == sorted([a["orderId"], b["orderId"], stop["orderId"]])
    assert balance(app, user.account_id, "USD") == (10000_00, 0)
    assert balance(app, user.account_id, "AAPL") == (10, 0)
    sym, _ = await info(user, "AAPL")
    assert sym["status"] == "BREAK"
    status, depth = await user.get("/api/v3/depth", symbol="AAPL")
    assert depth["bids"] == [] and depth["asks"] == []
    status, out = await user.signed("POST", "/api/v3/order", mine.key, mine.secret, {
        "symbol": "AAPL", "side": "BUY", "type": "LIMIT", "timeInForce": "GTC",
        "quantity": "1", "price": "90.00"})
    assert (status, out["code"], out["msg"]) == (400, -2010, "Market is closed.")
    before = engine_state(app)
    for method, path, body, code in [
            ("POST", "/api/v1/admin/instruments/AAPL/delist", None, "DELISTED"),
            ("PATCH", "/api/v1/admin/instruments/AAPL", {"taker_fee": "0.01"}, "DELISTED"),
            ("POST", "/api/v1/admin/instruments/AAPL/status", {"status": "TRADING"},
             "DELISTED")]:
        status, out, _ = await operator.call(method, path, body)
        assert out["code"] == code and status in (400, 409), (path, out)
    assert engine_state(app) == before
    assert await app[POOL].fetchval(
        "SELECT status FROM instruments WHERE symbol = 'AAPL'") == "DELISTED"


async def test_admin_actions_are_audited(app, operator):
    status, _, _ = await operator.call("POST", "/api/v1/admin/instruments", NFLX)
    assert status == 201
    await operator.call("PATCH", "/api/v1/admin/instruments/NFLX", {"taker_fee": "0.003"})
    await operator.call("POST", "/api/v1/admin/instruments/NFLX/delist")
    rows = await app[POOL].fetch("SELECT action, target, actor FROM admin_actions "
                                 "WHERE action LIKE 'instrument.%' ORDER BY action_id")
    assert [(r["action"], r["target"], r["actor"]) for r in rows] == [
        ("instrument.list", "symbol:NFLX", operator.account_id),
        ("instrument.change", "symbol:NFLX", operator.account_id),
        ("instrument.delist", "symbol:NFLX", operator.account_id)]


async def test_a_restart_rebuilds_the_same_instruments(start_server):
    app, client = await start_server()
    await make_operator(app, client)
    status, _, _ = await client.call("POST", "/api/v1/admin/instruments", NFLX)
    assert status == 201
    other = await create_account(app, "other", {"USD": "1000.00", "NFLX": "5"})
    await deposit(app, other["account_id"], "USD", "1.00")
    status, out, _ = await client.call("PATCH", "/api/v1/admin/instruments/NFLX",
                                       {"tick_size": "0.10", "taker_fee": "0.004",
                                        "min_qty": "0.4", "price_band_bps": 1000,
                                        "reference_price": "100.00"})
    assert status == 200, out
    status, _, _ = await client.call("POST", "/api/v1/admin/instruments/MSFT/delist")
    assert status == 200
    seq = app[VENUE].sequencer
    before = {s: (m.inst, str(m.status)) for s, m in seq.markets.items()}
    await client.client.close()

    app, client = await start_server()        # recovery replays and cross-checks definitions
    seq = app[VENUE].sequencer
    assert {s: (m.inst, str(m.status)) for s, m in seq.markets.items()} == before
    assert seq.markets["NFLX"].inst.tick_units == 2 and str(seq.markets["MSFT"].status) == "DELISTED"
    sym, filters = await info(client, "NFLX")
    assert filters["PRICE_FILTER"]["tickSize"] == "0.10" and filters["LOT_SIZE"]["minQty"] == "0.4"
