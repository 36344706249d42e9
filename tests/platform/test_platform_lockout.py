"""Login throttling: a locked account after N failures in a row, reset by success; per-IP limit."""

import asyncio

from exchange.keys import POOL

PASSWORD = "correct horse battery"   # the password the conftest's Client registers with


async def fail(api, email, times):
    for _ in range(times):
        status, body, _ = await api.login(email, "not the password")
        assert (status, body["code"]) == (401, "INVALID_CREDENTIALS")


async def test_five_failures_in_a_row_lock_the_account_with_retry_after(app, api):
    await api.register("ada@example.com")
    await fail(api, "ada@example.com", 4)
    status, body, headers = await api.login("ada@example.com", "not the password")
    assert (status, body["code"]) == (423, "ACCOUNT_LOCKED")
    assert 0 < int(headers["Retry-After"]) <= 900
    # locked: even the right password is refused, and without counting a failure
    status, body, headers = await api.login("ada@example.com")
    assert (status, body["code"]) == (423, "ACCOUNT_LOCKED")
    assert 890 <= int(headers["Retry-After"]) <= 900
    row = await app[POOL].fetchrow("SELECT failed_logins, locked_until > now() AS locked "
                                   "FROM users WHERE email = 'ada@example.com'")
    assert (row["failed_logins"], row["locked"]) == (5, True)


async def test_a_good_login_resets_the_count(app, api):
    await api.register("ada@example.com")
    await fail(api, "ada@example.com", 4)
    status, _, _ = await api.login("ada@example.com")
    assert status == 200
    assert await app[POOL].fetchval(
        "SELECT failed_logins FROM users WHERE email = 'ada@example.com'") == 0
    await fail(api, "ada@example.com", 4)
    status, _, _ = await api.login("ada@example.com")
    assert status == 200


async def test_the_lock_ends_after_the_lockout_time(start_server):
    app, api = await start_server(login_max_failures=2, login_lockout_s=1)
    await api.register("ada@example.com")
    await fail(api, "ada@example.com", 1)
    status, body, headers = await api.login("ada@example.com", "not the password")
    assert (status, body["code"], headers["Retry-After"]) == (423, "ACCOUNT_LOCKED", "1")
    status, _, _ = await api.login("ada@example.com")
    assert status == 423
    await asyncio.sleep(1.1)
    # after the lock the count starts again from zero
    await fail(api, "ada@example.com", 1)
    status, _, _ = await api.login("ada@example.com")
    assert status == 200
    assert await app[POOL].fetchval(
        "SELECT locked_until FROM users WHERE email = 'ada@example.com'") is None


async def test_failed_logins_of_one_account_do_not_lock_another(api):
    await api.register("ada@example.com")
    await api.register("grace@example.com")
    await fail(api, "ada@example.com", 4)
    assert (await api.login("ada@example.com", "not the password"))[0] == 423
    assert (await api.login("grace@example.com"))[0] == 200


async def test_per_ip_throttle_refuses_with_429_and_retry_after(start_server):
    app, api = await start_server(auth_ip_limit_1m=3)
    await api.register("ada@example.com")                 # 1
    assert (await api.login("ada@example.com"))[0] == 200  # 2
    await fail(api, "nobody@example.com", 1)               # 3
    status, body, headers = await api.login("ada@example.com")
    assert (status, body["code"]) == (429, "TOO_MANY_ATTEMPTS")
    assert 1 <= int(headers["Retry-After"]) <= 60
    status, body, _ = await api.call("POST", "/api/v1/auth/register",
                                     {"email": "grace@example.com", "password": PASSWORD})
    assert (status, body["code"]) == (429, "TOO_MANY_ATTEMPTS")
    # (the demo account has a login of its own since issue 14)
    assert await app[POOL].fetchval("SELECT count(*) FROM users "
                                    "WHERE email <> 'demo@example.com'") == 1
    # routes that check no credentials are not throttled
    status, _, _ = await api.call("GET", "/api/v1/me")
    assert status == 200
