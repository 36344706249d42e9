"""The portfolio: ledger balances, positions at the last trade price, average cost with fees, P&L."""

from exchange.keys import VENUE
from exchange.bootstrap import deposit


async def test_positions_are_valued_at_the_last_price_with_average_cost_and_pnl(app, user,
                                                                                traders):
    me, other = traders
    await other.order("AAPL", "SELL", "100.00", "5")
    await me.order("AAPL", "BUY", "100.00", "3")      # cost 300.00 + 0.06 fee: 100.02 a share
    await me.order("AAPL", "SELL", "101.00", "2")     # rests; filled as maker below
    await other.order("AAPL", "BUY", "101.00", "2")   # proceeds 202.00 - 0.02 fee; cost out 200.04
    await me.order("MSFT", "BUY", "95.00", "1")       # holds 95.00 + 0.02
    status, body = await user.get("/api/v1/portfolio")
    assert status == 200, body
    assert body["account_id"] == user.account_id and body["cost_method"] == "average_cost"
    balances = {b["asset"]: b for b in body["balances"]}
    assert balances["USD"] == {"asset": "USD", "free": "9806.90", "locked": "95.02",
                               "total": "9901.92"}
    assert balances["AAPL"] == {"asset": "AAPL", "free": "11", "locked": "0", "total": "11"}
    assert balances["MSFT"] == {"asset": "MSFT", "free": "0", "locked": "0", "total": "0"}
    assert body["positions"] == [{
        "symbol": "AAPL", "base": "AAPL", "quote": "USD", "quantity": "11",
        "last_price": "101.00", "value": "1111.00",
        "costed_quantity": "1", "uncosted_quantity": "10",   # 10 were deposited
        "cost": "100.02", "average_cost": "100.020000",
        "unrealised_pnl": "0.98", "realised_pnl": "1.94"}]
    assert body["totals"] == [{"asset": "USD", "cash": "9901.92", "positions_value": "1111.00",
                               "total": "11012.92", "unrealised_pnl": "0.98"}]
    assert app[VENUE].sequencer.markets["AAPL"].last_price == 101_00


async def test_an_unpriced_position_has_no_value_and_average_cost_spans_buys(app, user,
                                                                            traders):
    me, other = traders
    await deposit(app, user.account_id, "NVDA", "4")
    status, body = await user.get("/api/v1/portfolio")
    nvda = next(p for p in body["positions"] if p["symbol"] == "NVDA")
    assert nvda["last_price"] is None and nvda["value"] is None
    assert nvda["unrealised_pnl"] is None and nvda["average_cost"] is None
    assert body["totals"][0]["positions_value"] == "0.00"   # AAPL has no trade yet either
    await deposit(app, other.account_id, "TSLA", "5")
    await other.order("TSLA", "SELL", "100.00", "1")
    await other.order("TSLA", "SELL", "103.00", "2")
    await me.order("TSLA", "BUY", "103.00", "3")      # 100.00 + 206.00 + fees 0.02 + 0.04
    await other.order("TSLA", "BUY", "90.00", "1")
    await me.order("TSLA", "SELL", "90.00", "1")      # 90.00 - 0.01 fee; cost out 306.06 / 3 = 102.02
    status, body = await user.get("/api/v1/portfolio")
    tsla = next(p for p in body["positions"] if p["symbol"] == "TSLA")
    assert tsla == {"symbol": "TSLA", "base": "TSLA", "quote": "USD", "quantity": "2",
                    "last_price": "90.00", "value": "180.00", "costed_quantity": "2",
                    "uncosted_quantity": "0", "cost": "204.04", "average_cost": "102.020000",
                    "unrealised_pnl": "-24.04", "realised_pnl": "-12.03"}


async def test_portfolio_needs_a_login_and_reads_no_query(api, user):
    status, body, _ = await api.call("GET", "/api/v1/portfolio", token="")
    assert (status, body["code"]) == (401, "UNAUTHENTICATED")
    status, body = await user.get("/api/v1/portfolio", symbol="AAPL")
    assert (status, body["code"]) == (400, "UNKNOWN_PARAMETER")
