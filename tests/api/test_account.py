"""GET /api/v3/account reads committed balances and creates nothing."""

import asyncio

from exchange.bootstrap import create_account
from exchange.keys import POOL, VENUE


def _usd(account):
    return next(b for b in account["balances"] if b["asset"] == "USD")


async def test_reading_a_fresh_accounts_balances_creates_no_ledger_entry(app, client, trader):
    creds = await create_account(app, "carol")   # no funds: no balance anywhere
    carol = trader(client, creds["api_key"], creds["api_secret"], creds["account_id"])
    ledger = app[VENUE].sequencer.ledger
    before = len(list(ledger.balances()))
    status, account, _ = await carol.signed("GET", "/api/v3/account")
    assert status == 200
    assert account["balances"] and all(b["free"].strip("0.") == "" and
                                        b["locked"].strip("0.") == ""
                                        for b in account["balances"])
    status, account, _ = await carol.signed("GET", "/api/v3/account",
                                            {"omitZeroBalances": "true"})
    assert status == 200 and account["balances"] == []
    assert len(list(ledger.balances())) == before
    assert not [b for b in ledger.balances() if b.account == creds["account_id"]]


async def test_account_shows_committed_balances_not_the_ledger_ahead_of_the_commit(app, alice):
    status, before, _ = await alice.signed("GET", "/api/v3/account")
    assert status == 200 and _usd(before)["locked"] == "0.00"
    seq = app[VENUE].sequencer
    async with app[POOL].acquire() as conn:
        tx = conn.transaction()
        await tx.start()
        await conn.execute("LOCK TABLE balances IN EXCLUSIVE MODE")   # the batch cannot commit
        applied = seq.seq
        order = asyncio.create_task(alice.order(symbol="AAPL", side="BUY", type="LIMIT",
                                                timeInForce="GTC", quantity="2",
                                                price="100.00"))
        while seq.seq == applied:   # until the venue has applied it (in memory only)
            await asyncio.sleep(0.01)
        assert seq.ledger.amounts(1, "USD")[1] == 20004   # the live ledger holds it
        status, during, _ = await alice.signed("GET", "/api/v3/account")
        assert status == 200 and _usd(during) == _usd(before)   # not committed: not shown
        assert not order.done()
        await tx.rollback()                                     # the batch commits
    status, placed, _ = await order
    assert status == 200 and placed["status"] == "NEW"
    status, after, _ = await alice.signed("GET", "/api/v3/account")
    usd = _usd(after)
    assert usd["locked"] == "200.04"   # 2 x 100.00 plus the larger fee (0.02%)
    assert usd["free"] != _usd(before)["free"]
