"""Funding: operator deposits, the sandbox faucet, withdrawals held until an operator resolves
them, roles, history pages, refusals that change nothing, and recovery of the withdrawals table."""

import asyncpg
import orjson
import pytest

from exchange.keys import POOL, VENUE
from exchange.platform.roles import RoleError, set_role
from exchange.bootstrap import deposit
from exchange.store import recover
from exchange.store.db import init_connection
from tests.helpers.funding import balance, make_operator

JSON = {"Content-Type": "application/json"}


@pytest.fixture
async def operator(app, api):
    """A second client on the same server, logged in as an operator."""
    return await make_operator(app, type(api)(api.client))


async def tables(app):
    """Everything a refused funding request must leave alone."""
    async with app[POOL].acquire() as conn:
        return (await conn.fetch("SELECT * FROM balances ORDER BY account_id, asset"),
                await conn.fetch("SELECT * FROM ledger_entries ORDER BY seq, idx"),
                await conn.fetch("SELECT * FROM withdrawals ORDER BY requested_seq"),
                await conn.fetch("SELECT account_id, role FROM accounts ORDER BY account_id"))


async def test_an_operator_deposit_credits_the_balance_and_is_listed(app, user, operator):
    status, body, _ = await operator.call("POST", "/api/v1/funding/deposits", {
        "account_id": user.account_id, "asset": "USD", "amount": "1250.50", "ref": "wire-7"})
    assert status == 201, body
    assert body["account_id"] == user.account_id and body["asset"] == "USD"
    assert (body["amount"], body["ref"]) == ("1250.50", "wire-7")
    assert balance(app, user.account_id, "USD") == (125050, 0)
    status, body = await user.get("/api/v1/balances")
    assert {"asset": "USD", "free": "1250.50", "locked": "0.00"} in body["balances"]
    status, body = await user.get("/api/v1/funding/deposits")
    assert status == 200 and [d["amount"] for d in body["deposits"]] == ["1250.50"]
    assert body["next_before"] is None
    # without a ref, the operator is named
    status, body, _ = await operator.call("POST", "/api/v1/funding/deposits", {
        "account_id": user.account_id, "asset": "AAPL", "amount": "3"})
    assert status == 201 and body["ref"] == f"operator:{operator.account_id}"


async def test_a_non_operator_is_refused_every_operator_route_and_nothing_changes(app, user):
    await deposit(app, user.account_id, "USD", "100.00")
    status, body, _ = await user.call("POST", "/api/v1/funding/withdrawals",
                                      {"asset": "USD", "amount": "10.00"})
    assert status == 201
    wid = body["withdrawal_id"]
    before = await tables(app)
    for method, path, body in (
            ("POST", "/api/v1/funding/deposits",
             {"account_id": user.account_id, "asset": "USD", "amount": "1.00"}),
            ("GET", "/api/v1/admin/withdrawals", None),
            ("POST", f"/api/v1/admin/withdrawals/{wid}/approve", {}),
            ("POST", f"/api/v1/admin/withdrawals/{wid}/reject", {})):
        status, out, _ = await user.call(method, path, body)
        assert (status, out["code"]) == (403, "FORBIDDEN"), (path, out)
    assert await tables(app) == before
    assert balance(app, user.account_id, "USD") == (9000, 1000)
    status, out, _ = await user.call("GET", "/api/v1/admin/withdrawals", token="")
    assert (status, out["code"]) == (401, "UNAUTHENTICATED")


async def test_roles_are_set_by_email_or_account_id_and_shown_by_me(app, user):
    status, body = await user.get("/api/v1/me")
    assert body["role"] == "trader"
    assert await set_role(app[POOL], str(user.account_id), "compliance") == (
        user.account_id, "trader")
    status, body = await user.get("/api/v1/me")
    assert body["role"] == "compliance"
    status, out, _ = await user.call("GET", "/api/v1/admin/withdrawals")
    assert (status, out["code"]) == (403, "FORBIDDEN")     # compliance is not an operator
    with pytest.raises(RoleError, match="unknown role"):
        await set_role(app[POOL], user.email, "root")
    with pytest.raises(RoleError, match="no account"):
        await set_role(app[POOL], "nobody@example.com", "operator")
    with pytest.raises(RoleError, match="no account"):
        await set_role(app[POOL], "999999", "operator")


async def test_the_faucet_is_off_by_default(app, user):
    before = await tables(app)
    status, body, _ = await user.call("POST", "/api/v1/funding/faucet",
                                      {"asset": "USD", "amount": "10.00"})
    assert (status, body["code"]) == (403, "FAUCET_DISABLED")
    assert await tables(app) == before


async def test_the_faucet_when_on_credits_the_caller_up_to_its_limit(start_server):
    app, client = await start_server(faucet=True, faucet_limit="500")
    body = await client.register("bob@example.com")
    await client.login("bob@example.com")
    account = body["account_id"]
    status, body, _ = await client.call("POST", "/api/v1/funding/faucet",
                                        {"asset": "USD", "amount": "500"})
    assert status == 201 and (body["amount"], body["ref"]) == ("500.00", "faucet")
    assert balance(app, account, "USD") == (50000, 0)
    before = await tables(app)
    status, body, _ = await client.call("POST", "/api/v1/funding/faucet",
                                        {"asset": "USD", "amount": "500.01"})
    assert (status, body["code"]) == (400, "FAUCET_LIMIT")
    status, body, _ = await client.call("POST", "/api/v1/funding/faucet",
                                        {"asset": "AAPL", "amount": "0.5"})
    assert (status, body["code"]) == (400, "AMOUNT_OFF_GRID")
    assert await tables(app) == before


async def test_a_withdrawal_holds_funds_until_approved_then_pays_out(app, user, operator):
    await deposit(app, user.account_id, "USD", "100.00")
    external_before = app[VENUE].sequencer.ledger.external["USD"]
    status, w, _ = await user.call("POST", "/api/v1/funding/withdrawals",
                                   {"asset": "USD", "amount": "40.00",
                                    "destination": "IBAN DE00 1234"})
    assert status == 201, w
    assert (w["status"], w["amount"], w["destination"]) == ("PENDING", "40.00", "IBAN DE00 1234")
    assert w["resolved_at"] is None and w["account_id"] == user.account_id
    assert balance(app, user.account_id, "USD") == (6000, 4000)
    status, body = await operator.get("/api/v1/admin/withdrawals", status="PENDING")
    assert [x["withdrawal_id"] for x in body["withdrawals"]] == [w["withdrawal_id"]]
    status, done, _ = await operator.call(
        "POST", f"/api/v1/admin/withdrawals/{w['withdrawal_id']}/approve", {"note": "sent"})
    assert status == 200, done
    assert (done["status"], done["resolved_by"], done["note"]) == (
        "APPROVED", operator.account_id, "sent")
    assert done["resolved_at"] is not None and done["destination"] == "IBAN DE00 1234"
    assert balance(app, user.account_id, "USD") == (6000, 0)
    seq = app[VENUE].sequencer
    assert seq.ledger.external["USD"] == external_before - 4000
    seq.check()
    async with app[POOL].acquire() as conn:  # the ledger in the database: held, then paid out
        rows = await conn.fetch("SELECT reason, free_delta, locked_delta FROM ledger_entries "
                                "WHERE account_id = $1 AND ref = $2 ORDER BY seq",
                                user.account_id, w["withdrawal_id"])
        assert [(r[0], int(r[1]), int(r[2])) for r in rows] == [
            ("HOLD", -4000, 4000), ("WITHDRAWAL", 0, -4000)]
        total = await conn.fetchval("SELECT sum(free + locked) FROM balances WHERE asset = 'USD'")
        flows = await conn.fetchval("SELECT sum(free_delta + locked_delta) FROM ledger_entries "
                                    "WHERE asset = 'USD' AND reason IN ('DEPOSIT', 'WITHDRAWAL')")
        assert total == flows == seq.ledger.external["USD"]
    status, body = await user.get("/api/v1/funding/withdrawals")
    assert [x["status"] for x in body["withdrawals"]] == ["APPROVED"]


async def test_a_rejected_withdrawal_releases_the_hold(app, user, operator):
    await deposit(app, user.account_id, "AAPL", "10")
    status, w, _ = await user.call("POST", "/api/v1/funding/withdrawals",
                                   {"asset": "AAPL", "amount": "10"})
    assert status == 201 and balance(app, user.account_id, "AAPL") == (0, 10)
    status, done, _ = await operator.call(
        "POST", f"/api/v1/admin/withdrawals/{w['withdrawal_id']}/reject")
    assert status == 200 and done["status"] == "REJECTED" and done["note"] is None
    assert balance(app, user.account_id, "AAPL") == (10, 0)
    app[VENUE].sequencer.check()


async def test_resolving_twice_or_an_unknown_withdrawal_is_refused(app, user, operator):
    await deposit(app, user.account_id, "USD", "10.00")
    status, w, _ = await user.call("POST", "/api/v1/funding/withdrawals",
                                   {"asset": "USD", "amount": "10.00"})
    path = f"/api/v1/admin/withdrawals/{w['withdrawal_id']}"
    status, _, _ = await operator.call("POST", path + "/approve")
    assert status == 200
    before = await tables(app)
    for action in ("approve", "reject"):
        status, body, _ = await operator.call("POST", f"{path}/{action}")
        assert (status, body["code"]) == (409, "WITHDRAWAL_NOT_PENDING"), body
    for wid in ("999999", "no-such", "x" * 65, "%00", "a%20b"):
        status, body, _ = await operator.call("POST", f"/api/v1/admin/withdrawals/{wid}/approve")
        assert (status, body["code"]) == (404, "UNKNOWN_WITHDRAWAL"), (wid, body)
    status, body, _ = await operator.call("POST", path + "/approve", {"note": 5})
    assert (status, body["code"]) == (400, "INVALID_FIELD")
    assert await tables(app) == before


async def test_insufficient_balance_is_refused_and_changes_nothing(app, user):
    await deposit(app, user.account_id, "USD", "5.00")
    before = await tables(app)
    status, body, _ = await user.call("POST", "/api/v1/funding/withdrawals",
                                      {"asset": "USD", "amount": "5.01"})
    assert (status, body["code"]) == (400, "INSUFFICIENT_BALANCE")
    status, body, _ = await user.call("POST", "/api/v1/funding/withdrawals",
                                      {"asset": "MSFT", "amount": "1"})
    assert (status, body["code"]) == (400, "INSUFFICIENT_BALANCE")
    assert await tables(app) == before
    assert balance(app, user.account_id, "USD") == (500, 0)


BAD_AMOUNTS = [
    ({"asset": "USD", "amount": "0"}, "INVALID_AMOUNT"),
    ({"asset": "USD", "amount": "0.00"}, "INVALID_AMOUNT"),
    ({"asset": "USD", "amount": "-1.00"}, "INVALID_AMOUNT"),
    ({"asset": "USD", "amount": "1e3"}, "INVALID_AMOUNT"),
    ({"asset": "USD", "amount": " 1"}, "INVALID_AMOUNT"),
    ({"asset": "USD", "amount": "1."}, "INVALID_AMOUNT"),
    ({"asset": "USD", "amount": "NaN"}, "INVALID_AMOUNT"),
    ({"asset": "USD", "amount": "１"}, "INVALID_AMOUNT"),
    ({"asset": "USD", "amount": "9" * 32}, "INVALID_AMOUNT"),
    ({"asset": "USD", "amount": "1.001"}, "AMOUNT_OFF_GRID"),
    ({"asset": "AAPL", "amount": "1.5"}, "AMOUNT_OFF_GRID"),
    ({"asset": "USD", "amount": 1}, "INVALID_FIELD"),
    ({"asset": "USD", "amount": 1.5}, "INVALID_FIELD"),
    ({"asset": "USD", "amount": None}, "MISSING_FIELD"),   # null reads as absent
    ({"asset": "USD"}, "MISSING_FIELD"),
    ({"amount": "1"}, "MISSING_FIELD"),
    ({"asset": "DOGE", "amount": "1"}, "UNKNOWN_ASSET"),
    ({"asset": "usd", "amount": "1"}, "UNKNOWN_ASSET"),
    ({"asset": 7, "amount": "1"}, "INVALID_FIELD"),
    ({"asset": ["USD"], "amount": "1"}, "INVALID_FIELD"),
    ({"asset": "USD", "amount": "1", "extra": 1}, "UNKNOWN_FIELD"),
]


async def test_every_bad_input_is_a_4xx_with_a_code_and_changes_nothing(app, user, operator):
    await deposit(app, user.account_id, "USD", "100.00")
    before = await tables(app)
    routes = [(user, "/api/v1/funding/withdrawals", {}),
              (operator, "/api/v1/funding/deposits", {"account_id": user.account_id})]
    for client, path, extra in routes:
        for fields, code in BAD_AMOUNTS:
            body = {**extra, **fields}
            status, out, _ = await client.call("POST", path, raw=orjson.dumps(body),
                                               headers=JSON)
            assert 400 <= status < 500 and out["code"] == code, (path, body, out)
        for raw, code in ((b"{", "MALFORMED_JSON"), (b"[]", "INVALID_BODY"),
                          (b'"x"', "INVALID_BODY"), (b"", "MISSING_FIELD")):
            status, out, _ = await client.call("POST", path, raw=raw, headers=JSON)
            assert (status, out["code"]) == (400, code), (path, raw, out)
        status, out, _ = await client.call("POST", path, raw=b"asset=USD",
                                           headers={"Content-Type": "text/plain"})
        assert (status, out["code"]) == (415, "UNSUPPORTED_MEDIA_TYPE")
    for account_id, code in ((0, "INVALID_FIELD"), (-1, "INVALID_FIELD"), ("1", "INVALID_FIELD"),
                             (True, "INVALID_FIELD"), (1.0, "INVALID_FIELD"),
                             (2**63, "INVALID_FIELD"), (424242, "UNKNOWN_ACCOUNT")):
        status, out, _ = await operator.call("POST", "/api/v1/funding/deposits", {
            "account_id": account_id, "asset": "USD", "amount": "1.00"})
        assert 400 <= status < 500 and out["code"] == code, (account_id, out)
    for field, value in (("destination", 5), ("destination", "a\nb"),
                         ("destination", "d" * 257)):
        status, out, _ = await user.call("POST", "/api/v1/funding/withdrawals",
                                         {"asset": "USD", "amount": "1.00", field: value})
        assert (status, out["code"]) == (400, "INVALID_FIELD"), out
    for path, params, code in (
            ("/api/v1/funding/deposits", {"limit": "0"}, "INVALID_PARAMETER"),
            ("/api/v1/funding/deposits", {"limit": "501"}, "INVALID_PARAMETER"),
            ("/api/v1/funding/deposits", {"before": "x"}, "INVALID_PARAMETER"),
            ("/api/v1/funding/deposits", {"asset": "DOGE"}, "INVALID_PARAMETER"),
            ("/api/v1/funding/deposits", {"status": "PENDING"}, "UNKNOWN_PARAMETER"),
            ("/api/v1/funding/withdrawals", {"status": "DONE"}, "INVALID_PARAMETER"),
            ("/api/v1/funding/withdrawals", {"account_id": "1"}, "UNKNOWN_PARAMETER")):
        status, out = await user.get(path, **params)
        assert (status, out["code"]) == (400, code), (path, params, out)
    status, out = await operator.get("/api/v1/admin/withdrawals", account_id="-1")
    assert (status, out["code"]) == (400, "INVALID_PARAMETER")
    assert await tables(app) == before


async def test_histories_are_newest_first_in_pages(app, user, operator):
    for i in range(1, 6):
        status, _, _ = await operator.call("POST", "/api/v1/funding/deposits", {
            "account_id": user.account_id, "asset": "USD", "amount": f"{i}.00", "ref": f"d{i}"})
        assert status == 201
    await deposit(app, operator.account_id, "USD", "1.00")   # someone else's: never listed
    status, page = await user.get("/api/v1/funding/deposits", limit="2")
    assert [d["ref"] for d in page["deposits"]] == ["d5", "d4"]
    status, page2 = await user.get("/api/v1/funding/deposits", limit="2",
                                   before=page["next_before"])
    assert [d["ref"] for d in page2["deposits"]] == ["d3", "d2"]
    status, page3 = await user.get("/api/v1/funding/deposits", limit="2",
                                   before=page2["next_before"])
    assert [d["ref"] for d in page3["deposits"]] == ["d1"] and page3["next_before"] is None
    status, page = await user.get("/api/v1/funding/deposits", asset="AAPL")
    assert page == {"deposits": [], "next_before": None}
    ids = []
    for amount in ("1.00", "2.00", "3.00"):
        status, w, _ = await user.call("POST", "/api/v1/funding/withdrawals",
                                       {"asset": "USD", "amount": amount})
        ids.append(w["withdrawal_id"])
    await operator.call("POST", f"/api/v1/admin/withdrawals/{ids[0]}/approve")
    await operator.call("POST", f"/api/v1/admin/withdrawals/{ids[1]}/reject")
    status, body = await user.get("/api/v1/funding/withdrawals")
    assert [w["withdrawal_id"] for w in body["withdrawals"]] == ids[::-1]
    status, body = await user.get("/api/v1/funding/withdrawals", status="approved,rejected")
    assert [w["status"] for w in body["withdrawals"]] == ["REJECTED", "APPROVED"]
    status, body = await user.get("/api/v1/funding/withdrawals", limit="1")
    status, body = await user.get("/api/v1/funding/withdrawals", limit="2",
                                  before=body["next_before"])
    assert [w["withdrawal_id"] for w in body["withdrawals"]] == [ids[1], ids[0]]
    status, body = await operator.get("/api/v1/admin/withdrawals", status="PENDING",
                                      account_id=str(user.account_id))
    assert [w["withdrawal_id"] for w in body["withdrawals"]] == [ids[2]]


async def test_the_withdrawals_table_matches_after_a_restart(start_server, fresh_dsn):
    app, client = await start_server()
    body = await client.register("ada@example.com")
    await client.login("ada@example.com")
    account = body["account_id"]
    await deposit(app, account, "USD", "100.00")
    ids = []
    for amount in ("10.00", "20.00", "30.00"):
        status, w, _ = await client.call("POST", "/api/v1/funding/withdrawals",
                                         {"asset": "USD", "amount": amount, "destination": "x"})
        assert status == 201
        ids.append(w["withdrawal_id"])
    await make_operator(app, client, "op@example.com")
    await client.call("POST", f"/api/v1/admin/withdrawals/{ids[0]}/approve")
    await client.call("POST", f"/api/v1/admin/withdrawals/{ids[1]}/reject")
    pending = dict(app[VENUE].sequencer.withdrawals)
    await client.client.close()

    app, client = await start_server()       # recovery replays the journal and cross-checks
    assert app[VENUE].sequencer.withdrawals == pending == {ids[2]: (account, "USD", 3000)}
    assert balance(app, account, "USD") == (6000, 3000)   # 10 paid out, 20 released
    await client.login("op@example.com")
    status, body = await client.get("/api/v1/admin/withdrawals")
    assert [(w["withdrawal_id"], w["status"]) for w in body["withdrawals"]] == [
        (ids[2], "PENDING"), (ids[1], "REJECTED"), (ids[0], "APPROVED")]
    status, body, _ = await client.call("POST", f"/api/v1/admin/withdrawals/{ids[2]}/approve")
    assert status == 200 and body["destination"] == "x"
    assert balance(app, account, "USD") == (6000, 0)
    await client.client.close()

    conn = await asyncpg.connect(fresh_dsn)   # a tampered pending row: recovery refuses
    try:
        await conn.execute("UPDATE withdrawals SET status = 'PENDING', resolved_seq = NULL "
                           "WHERE withdrawal_id = $1", ids[0])
        pool = await asyncpg.create_pool(fresh_dsn, min_size=1, max_size=2,
                                         init=init_connection)
        try:
            with pytest.raises(Exception, match="pending withdrawals differ"):
                await recover(pool)
        finally:
            await pool.close()
    finally:
        await conn.close()
