"""Every admin handler whose action is an engine command records it through the command:
the record is in the journal row of its command and in the admin actions' chain, written
in the same transaction (the same xmin) as the command's journal row. The withdrawal's
destination, note and operator are in the journal too."""

import pytest

from exchange.keys import POOL
from exchange.bootstrap import deposit

from tests.helpers.funding import make_operator
from tests.helpers.instruments import NFLX


@pytest.fixture
async def operator(app, api):
    return await make_operator(app, type(api)(api.client))


async def test_each_command_and_its_admin_record_commit_in_one_transaction(app, user, operator,
                                                                           traders):
    mine, _ = traders
    pool = app[POOL]
    account = user.account_id
    calls = [
        ("POST", "/api/v1/funding/deposits", {"account_id": account, "asset": "USD",
                                              "amount": "5.00"}, "funding.deposit"),
        ("PUT", f"/api/v1/admin/accounts/{account}/risk-limits", {"max_order_qty": 50},
         "risk.limits"),
        ("POST", f"/api/v1/admin/api-keys/{mine.key}/kill-switch", {"active": True},
         "risk.key_kill_switch"),
        ("POST", f"/api/v1/admin/accounts/{account}/kill-switch", {"active": True},
         "risk.kill_switch"),
        ("POST", "/api/v1/admin/instruments/AAPL/status", {"status": "HALT"},
         "instrument.status"),
        ("POST", "/api/v1/admin/instruments", NFLX, "instrument.list"),
        ("PATCH", "/api/v1/admin/instruments/NFLX", {"taker_fee": "0.003"},
         "instrument.change"),
        ("POST", "/api/v1/admin/instruments/NFLX/delist", {}, "instrument.delist"),
    ]
    for method, path, body, action in calls:
        status, out, _ = await operator.call(method, path, body)
        assert status in (200, 201), (path, out)
        row = await pool.fetchrow("SELECT * FROM admin_actions ORDER BY action_id DESC LIMIT 1")
        assert (row["action"], row["actor"], row["role"]) == (action, operator.account_id,
                                                              "operator")
        seq = row["details"]["seq"]
        journal = await pool.fetchrow("SELECT xmin::text AS xmin, command FROM journal "
                                      "WHERE seq = $1", seq)
        assert await pool.fetchval("SELECT xmin::text FROM admin_actions WHERE action_id = $1",
                                   row["action_id"]) == journal["xmin"], action
        recorded = journal["command"]["admin"]
        assert (recorded["action"], recorded["actor"]) == (action, operator.account_id)
        assert {**recorded["details"], "seq": seq} == {
            k: v for k, v in row["details"].items() if k != "canceled_order_ids"}


async def test_a_withdrawals_destination_note_and_operator_are_journaled(app, user, operator):
    pool = app[POOL]
    await deposit(app, user.account_id, "USD", "100.00")
    status, w, _ = await user.call("POST", "/api/v1/funding/withdrawals",
                                   {"asset": "USD", "amount": "10.00", "destination": "IBAN 9"})
    assert status == 201 and w["destination"] == "IBAN 9"
    request = await pool.fetchval("SELECT command FROM journal WHERE kind = 'RequestWithdrawal'")
    assert (request["withdrawal_id"], request["destination"]) == (w["withdrawal_id"], "IBAN 9")
    status, done, _ = await operator.call(
        "POST", f"/api/v1/admin/withdrawals/{w['withdrawal_id']}/reject", {"note": "bad IBAN"})
    assert status == 200 and (done["note"], done["resolved_by"]) == ("bad IBAN",
                                                                    operator.account_id)
    resolve = await pool.fetchrow("SELECT seq, xmin::text AS xmin, command FROM journal "
                                  "WHERE kind = 'ResolveWithdrawal'")
    assert resolve["command"]["note"] == "bad IBAN"
    action = await pool.fetchrow("SELECT xmin::text AS xmin, action, details FROM admin_actions "
                                 "WHERE action = 'withdrawal.reject'")
    assert action["details"] == {"account_id": user.account_id, "asset": "USD",
                                 "amount": "1000", "note": "bad IBAN", "seq": resolve["seq"]}
    row = await pool.fetchrow("SELECT xmin::text AS xmin FROM withdrawals "
                              "WHERE withdrawal_id = $1", w["withdrawal_id"])
    assert action["xmin"] == resolve["xmin"] == row["xmin"]
