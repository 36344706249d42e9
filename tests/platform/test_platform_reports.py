"""Reports (trade confirmations, FIFO tax lots, statements) and analytics, to the cent.

The scenario: the user holds 10 deposited AAPL (no known cost) and buys 3 at
100.00 (taker, fee 0.06) and 2 at 102.00 (taker, fee 0.04); sells 4 at 105.00
as maker (fee 0.04) and 3 at 90.00 as taker (fee 0.05). FIFO: the first sale
takes the 3 from 100.00 (cost 300.06) and 1 from 102.00 (cost 102.02) for
proceeds 419.96 split 314.97 + 104.99; the second takes the last lot from
102.00 (cost 102.02) for 89.98 of its 269.95 proceeds, and 2 units with no
known cost.
"""

import asyncio
import csv
import io
import time

import pytest

from exchange.bootstrap import deposit

YEAR = time.gmtime().tm_year


@pytest.fixture
async def history(app, user, traders):
    me, other = traders
    await other.order("AAPL", "SELL", "100.00", "3")
    await me.order("AAPL", "BUY", "100.00", "3")
    await other.order("AAPL", "SELL", "102.00", "2")
    await me.order("AAPL", "BUY", "102.00", "2")
    await me.order("AAPL", "SELL", "105.00", "4")
    await other.order("AAPL", "BUY", "105.00", "4")
    await other.order("AAPL", "BUY", "90.00", "3")
    await me.order("AAPL", "SELL", "90.00", "3")
    return me, other


async def test_the_tax_report_matches_sales_to_purchases_first_in_first_out(user, history):
    status, body = await user.get("/api/v1/reports/tax", year=YEAR)
    assert status == 200, body
    assert body["method"] == "FIFO" and body["year"] == YEAR
    lots = [(d["quantity"], d["proceeds"], d["cost"], d["gain"]) for d in body["disposals"]]
    assert lots == [("3", "314.97", "300.06", "14.91"), ("1", "104.99", "102.02", "2.97"),
                    ("1", "89.98", "102.02", "-12.04")]
    assert body["symbols"] == [{"symbol": "AAPL", "proceeds": "509.94", "cost": "504.10",
                                "gain": "5.84", "uncosted_quantity": "2", "asset": "USD"}]
    assert body["totals"] == [{"asset": "USD", "gains": "17.88", "losses": "-12.04",
                               "net": "5.84"}]
    status, body = await user.get("/api/v1/reports/tax", year=YEAR - 1)
    assert status == 200 and body["disposals"] == [] and body["totals"] == []


async def test_reports_come_as_csv(user, history):
    resp = await user.client.get(f"/api/v1/reports/tax?year={YEAR}&format=csv",
                                 headers={"Authorization": f"Bearer {user.token}"})
    assert resp.status == 200 and resp.headers["Content-Type"].startswith("text/csv")
    assert resp.headers["Content-Disposition"] == f'attachment; filename="tax-{YEAR}.csv"'
    rows = list(csv.reader(io.StringIO(await resp.text())))
    assert rows[0] == ["trade_id", "symbol", "sold", "acquired", "quantity", "proceeds", "cost",
                       "gain", "asset"]
    assert [r[4:8] for r in rows[1:]] == [["3", "314.97", "300.06", "14.91"],
                                          ["1", "104.99", "102.02", "2.97"],
                                          ["1", "89.98", "102.02", "-12.04"]]


async def test_trade_confirmations_list_each_of_the_users_trades(user, history):
    status, body = await user.get("/api/v1/reports/trades", symbol="AAPL")
    assert status == 200, body
    got = [(t["side"], t["role"], t["price"], t["quantity"], t["quote_quantity"], t["fee"])
           for t in body["trades"]]
    assert got == [("buy", "taker", "100.00", "3", "300.00", "0.06"),
                   ("buy", "taker", "102.00", "2", "204.00", "0.04"),
                   ("sell", "maker", "105.00", "4", "420.00", "0.04"),
                   ("sell", "taker", "90.00", "3", "270.00", "0.05")]
    future = int(time.time() * 1000) + 3_600_000
    status, body = await user.get("/api/v1/reports/trades", start_time=future)
    assert status == 200 and body["trades"] == []


async def test_the_statement_runs_from_the_opening_to_the_closing_balance(app, user, history):
    status, body = await user.get("/api/v1/reports/statement", asset="USD")
    assert status == 200, body
    (usd,) = body["assets"]
    assert usd["opening"] == "0.00"
    total = sum(int(e["amount"].replace(".", "")) for e in usd["entries"])
    status, balances = await user.get("/api/v1/balances")
    held = next(b for b in balances["balances"] if b["asset"] == "USD")
    closing = int(held["free"].replace(".", "")) + int(held["locked"].replace(".", ""))
    assert total == closing and int(usd["closing"].replace(".", "")) == closing
    assert usd["entries"][0]["reason"] and usd["entries"][-1]["balance"] == usd["closing"]
    credits, debits = (int(usd[k].replace(".", "").replace("-", "")) for k in ("credits",
                                                                               "debits"))
    assert credits - debits == closing
    after = int(time.time() * 1000) + 1
    await asyncio.sleep(0.01)   # the deposit is stamped after ``after``
    await deposit(app, user.account_id, "USD", "5.00")
    status, body = await user.get("/api/v1/reports/statement", asset="USD", start_time=after)
    (usd,) = body["assets"]
    assert int(usd["opening"].replace(".", "")) == closing
    assert [e["amount"] for e in usd["entries"]] == ["5.00"]


async def test_my_analytics_show_volume_fees_realised_pnl_and_win_rate(user, history):
    status, body = await user.get("/api/v1/analytics/me")
    assert status == 200, body
    (aapl,) = body["symbols"]
    assert aapl == {"symbol": "AAPL", "asset": "USD", "trades": 4, "volume": "12",
                    "quote_volume": "1194.00", "fees": "0.19", "realised_pnl": "5.84",
                    "unrealised_pnl": None, "sales": 2, "win_rate": "0.5000"}


async def test_market_analytics_show_volume_vwap_change_and_movers(user, history):
    status, body = await user.get("/api/v1/analytics/markets", window="24h")
    assert status == 200, body
    (aapl,) = body["markets"]
    assert {k: aapl[k] for k in ("trades", "volume", "quote_volume", "vwap", "open", "last",
                                 "high", "low", "change", "change_percent")} == {
        "trades": 4, "volume": "12", "quote_volume": "1194.00", "vwap": "99.500000",
        "open": "100.00", "last": "90.00", "high": "105.00", "low": "90.00",
        "change": "-10.00", "change_percent": "-10.000"}
    assert body["top_movers"] == ["AAPL"]


@pytest.mark.parametrize("path, query, code", [
    ("/api/v1/reports/tax", "", "INVALID_PARAMETER"),
    ("/api/v1/reports/tax", "?year=abc", "INVALID_PARAMETER"),
    ("/api/v1/reports/tax", "?year=2024&format=xml", "INVALID_PARAMETER"),
    ("/api/v1/reports/trades", "?symbol=NOPE", "UNKNOWN_SYMBOL"),
    ("/api/v1/reports/trades", "?start_time=10&end_time=5", "INVALID_PARAMETER"),
    ("/api/v1/reports/statement", "?asset=NOPE", "INVALID_PARAMETER"),
    ("/api/v1/reports/statement", "?bogus=1", "UNKNOWN_PARAMETER"),
    ("/api/v1/analytics/markets", "?window=2y", "INVALID_PARAMETER"),
])
async def test_bad_report_queries_are_refused(user, path, query, code):
    status, body, _ = await user.call("GET", path + query)
    assert (status, body["code"]) == (400, code), body


async def test_reports_need_a_login(api):
    for path in ("/api/v1/reports/tax?year=2024", "/api/v1/reports/trades",
                 "/api/v1/reports/statement", "/api/v1/analytics/me",
                 "/api/v1/analytics/markets"):
        status, body, _ = await api.call("GET", path, token="")
        assert (status, body["code"]) == (401, "UNAUTHENTICATED"), path
