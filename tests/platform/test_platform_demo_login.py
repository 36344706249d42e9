"""The demo account has a login for the trading page: an email and a generated password,
printed only to a terminal (never to the log, nor to a redirected stdout) and kept in the
0600 credentials file."""

import json
import os
import stat

import asyncpg

from exchange.keys import POOL
from exchange.bootstrap import DEMO_EMAIL
from exchange.keys import DEMO_CREDENTIALS


async def test_the_demo_account_logs_in_with_the_credentials_of_its_0600_file(
        start_server, tmp_path, capsys, caplog):
    app, api = await start_server()
    path = tmp_path / "demo-credentials.json"
    creds = json.loads(path.read_text())
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert creds == app[DEMO_CREDENTIALS]
    assert creds["email"] == DEMO_EMAIL and len(creds["password"]) >= 20
    out = capsys.readouterr().out   # not a terminal: the file's path, no secret
    assert str(path) in out and "demo account created" in out
    assert creds["password"] not in out and creds["api_secret"] not in out
    assert not any(creds["password"] in r.getMessage() or creds["api_secret"] in r.getMessage()
                   for r in caplog.records)
    status, body, _ = await api.login(creds["email"], creds["password"])
    assert status == 200, body
    demo = await app[POOL].fetchval("SELECT account_id FROM accounts WHERE name = 'demo'")
    assert body["account_id"] == demo
    status, account = await api.signed("GET", "/api/v3/account", creds["api_key"],
                                       creds["api_secret"])
    assert (status, account["uid"]) == (200, demo)   # the key and the login: one account
    status, balances = await api.get("/api/v1/balances")
    assert status == 200 and any(b["asset"] == "USD" and b["free"] != "0"
                                 for b in balances["balances"])


async def test_a_demo_account_made_before_logins_gets_one_at_the_next_start(
        start_server, fresh_dsn, tmp_path):
    app, api = await start_server()
    first = json.loads((tmp_path / "demo-credentials.json").read_text())
    await api.client.close()
    conn = await asyncpg.connect(fresh_dsn)   # as a venue made before the demo had a login
    await conn.execute("DELETE FROM users WHERE email = $1", DEMO_EMAIL)
    await conn.close()
    app, api = await start_server()
    creds = json.loads((tmp_path / "demo-credentials.json").read_text())
    assert creds["api_key"] == first["api_key"] and creds["api_secret"] == first["api_secret"]
    assert creds["password"] != first["password"]
    assert (await api.login(DEMO_EMAIL, creds["password"]))[0] == 200
    await api.client.close()
    app, api = await start_server()   # a third start: nothing new
    assert DEMO_CREDENTIALS not in app
    assert json.loads((tmp_path / "demo-credentials.json").read_text()) == creds


def test_the_credentials_are_shown_on_a_terminal_and_only_there(monkeypatch, tmp_path):
    import io

    from exchange import bootstrap

    class Terminal(io.StringIO):
        def isatty(self):
            return True

    shown = {"api secret": "s3cr3t", "password": "pa55word"}
    for out, secrets_seen in ((Terminal(), True), (io.StringIO(), False)):
        monkeypatch.setattr(bootstrap.sys, "stdout", out)
        bootstrap._tell("demo account created", shown, tmp_path / "demo-credentials.json")
        text = out.getvalue()
        assert text.startswith("demo account created\n")
        assert str(tmp_path / "demo-credentials.json") in text
        assert ("s3cr3t" in text and "pa55word" in text) is secrets_seen
        assert ("s3cr3t" in text or "pa55word" in text) is secrets_seen
