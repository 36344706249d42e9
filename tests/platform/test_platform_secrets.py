"""Secrets at rest: API secrets and TOTP secrets are sealed in the database with a key
kept outside it, plaintext rows are sealed at start-up, and ``exchange secrets rotate``
re-seals everything under a new key while the server keeps working."""

import os
import stat
import subprocess
import sys
import time

import asyncpg
import pyotp
import pytest
from cryptography.fernet import Fernet, InvalidToken

from exchange.keys import KEYS, POOL
from exchange.store.sealing import PREFIX, SealingError, new_key

from tests.helpers.platform_clients import api_key

PASSWORD = "correct horse battery"


async def with_totp(user) -> str:
    status, body, _ = await user.call("POST", "/api/v1/auth/totp/enroll")
    assert status == 200
    secret = body["secret"]
    status, _, _ = await user.call("POST", "/api/v1/auth/totp/confirm",
                                   {"totp": pyotp.TOTP(secret).now()})
    assert status == 200
    return secret


async def stored(app):
    """Every secret column value in the database, read directly."""
    keys = [r["secret"] for r in await app[POOL].fetch("SELECT secret FROM api_keys")]
    totp = [r["totp_secret"] for r in await app[POOL].fetch(
        "SELECT totp_secret FROM users WHERE totp_secret IS NOT NULL")]
    return keys, totp


def opens_with(key: str, value: str) -> bool:
    try:
        Fernet(key).decrypt(value[len(PREFIX):].encode())
        return True
    except InvalidToken:
        return False


async def account_ok(user, key):
    status, body = await user.signed("GET", "/api/v3/account", key["api_key"], key["secret"])
    return status


async def test_api_and_totp_secrets_are_stored_sealed_with_a_0600_key_file(app, user, tmp_path):
    key = await api_key(user)
    secret = await with_totp(user)
    keys, totp = await stored(app)
    assert keys and totp
    for value in keys + totp:
        assert value.startswith(PREFIX)
        assert key["secret"] not in value and secret not in value
    path = tmp_path / "secrets-key"
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    file_key = path.read_text().split()[0]
    assert all(opens_with(file_key, v) for v in keys + totp)
    assert await account_ok(user, key) == 200


async def test_plaintext_rows_are_sealed_at_start_up(start_server, fresh_dsn):
    app, api = await start_server()
    account = await api.register("ada@example.com")
    await api.client.close()
    # a row as written before secrets at rest (or by hand)
    conn = await asyncpg.connect(fresh_dsn)
    plain = "ab" * 32
    await conn.execute("INSERT INTO api_keys (api_key, secret, account_id, permissions) "
                       "VALUES ('k1', $1, $2, '{read}')", plain, account["account_id"])
    await conn.execute("UPDATE users SET totp_secret = 'JBSWY3DPEHPK3PXP' "
                       "WHERE account_id = $1", account["account_id"])
    await conn.close()
    app, api = await start_server()
    keys, totp = await stored(app)
    assert all(v.startswith(PREFIX) for v in keys + totp)
    assert plain not in keys and "JBSWY3DPEHPK3PXP" not in totp
    status, _ = await api.signed("GET", "/api/v3/account", "k1", plain)
    assert status == 200


async def test_a_server_whose_keys_open_no_stored_secret_refuses_to_start(start_server,
                                                                         tmp_path):
    app, api = await start_server()
    await api.register("ada@example.com")
    await api_key_for(api, "ada@example.com")
    await api.client.close()
    (tmp_path / "secrets-key").write_text(new_key() + "\n")
    with pytest.raises(SealingError):
        await start_server()


async def api_key_for(api, email):
    status, _, _ = await api.login(email)
    assert status == 200
    return await api_key(api)


def rotate_command(dsn, data_dir, **env):
    return subprocess.run(
        [sys.executable, "-m", "exchange.cli", "secrets", "rotate", "--data-dir", str(data_dir)],
        env={**os.environ, "EXCHANGE_DATABASE_URL": dsn, **env}, capture_output=True, text=True,
        timeout=120)


async def test_rotate_reseals_everything_and_the_running_server_keeps_working(
        app, api, user, fresh_dsn, tmp_path):
    key = await api_key(user)
    secret = await with_totp(user)
    old_key = (tmp_path / "secrets-key").read_text().split()[0]
    before = await stored(app)
    done = rotate_command(fresh_dsn, tmp_path)
    assert done.returncode == 0, done.stderr
    assert "re-sealed" in done.stdout and key["secret"] not in done.stdout + done.stderr
    keys_now = (tmp_path / "secrets-key").read_text().split()
    assert len(keys_now) == 2 and keys_now[1] == old_key and keys_now[0] != old_key
    assert stat.S_IMODE(os.stat(tmp_path / "secrets-key").st_mode) == 0o600
    after = await stored(app)
    for value in after[0] + after[1]:
        assert value.startswith(PREFIX) and key["secret"] not in value and secret not in value
        assert opens_with(keys_now[0], value) and not opens_with(old_key, value)
    assert set(after[0]).isdisjoint(before[0]) and set(after[1]).isdisjoint(before[1])
    # the running server: a key read again from the table, and a TOTP login
    app[KEYS].forget(key["api_key"])
    assert await account_ok(user, key) == 200
    code = pyotp.TOTP(secret).generate_otp(int(time.time()) // 30 + 1)
    status, body, _ = await api.login(user.email, totp=code)
    assert status == 200, body
    # a key made after the rotation is sealed under the new key
    fresh = await api_key(user)
    row = await app[POOL].fetchval("SELECT secret FROM api_keys WHERE api_key = $1",
                                   fresh["api_key"])
    assert opens_with(keys_now[0], row)


async def test_rotate_with_keys_in_the_environment(start_server, fresh_dsn, tmp_path):
    old, new = new_key(), new_key()
    app, api = await start_server(secrets_key=old)
    await api.register("ada@example.com")
    key = await api_key_for(api, "ada@example.com")
    await api.client.close()
    done = rotate_command(fresh_dsn, tmp_path, EXCHANGE_SECRETS_KEY=f"{new},{old}")
    assert done.returncode == 0, done.stderr
    assert not (tmp_path / "secrets-key").exists()
    app, api = await start_server(secrets_key=new)   # the old key dropped
    assert all(opens_with(new, v) for v in (await stored(app))[0])
    status, _ = await api.signed("GET", "/api/v3/account", key["api_key"], key["secret"])
    assert status == 200


def test_new_key_prints_a_usable_key():
    done = subprocess.run([sys.executable, "-m", "exchange.cli", "secrets", "new-key"],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0
    Fernet(done.stdout.strip())


async def test_a_stored_secret_no_key_opens_is_refused_not_a_server_error(app, user):
    key = await api_key(user)
    foreign = PREFIX + Fernet(new_key()).encrypt(b"ab" * 32).decode()
    await app[POOL].execute("UPDATE api_keys SET secret = $2 WHERE api_key = $1",
                            key["api_key"], foreign)
    app[KEYS].forget(key["api_key"])
    status, body = await user.signed("GET", "/api/v3/account", key["api_key"], "ab" * 32)
    assert (status, body["code"]) == (401, -2015)
