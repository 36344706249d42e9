"""Registration, login, refresh, logout and password change on a real server and PostgreSQL."""

import os
import stat
import time

import jwt

from exchange.keys import ACCESS_TOKENS, POOL, VENUE
from exchange.platform.tokens import ISSUER
from exchange.bootstrap import deposit

PASSWORD = "correct horse battery"   # the password the conftest's Client registers with


async def test_register_creates_an_account_with_an_argon2id_password(app, api):
    body = await api.register("Grace@Example.com")
    assert body["email"] == "grace@example.com"
    assert body["account_id"] >= 2   # the demo account is 1
    row = await app[POOL].fetchrow("SELECT u.email, u.password_hash, u.totp_enabled, "
                                   "u.failed_logins, a.name FROM users u JOIN accounts a "
                                   "USING (account_id) WHERE account_id = $1", body["account_id"])
    assert row["email"] == "grace@example.com" and row["name"] == "grace@example.com"
    assert row["password_hash"].startswith("$argon2id$") and PASSWORD not in row["password_hash"]
    assert row["totp_enabled"] is False and row["failed_logins"] == 0


async def test_a_taken_email_is_refused_whatever_its_case(app, api):
    await api.register("grace@example.com")
    before = await app[POOL].fetchval("SELECT count(*) FROM accounts")
    status, body, _ = await api.call("POST", "/api/v1/auth/register",
                                     {"email": "GRACE@example.com", "password": PASSWORD})
    assert (status, body["code"]) == (409, "EMAIL_TAKEN")
    assert await app[POOL].fetchval("SELECT count(*) FROM accounts") == before


async def test_login_returns_a_short_lived_jwt_and_a_refresh_token(app, api):
    account = await api.register("grace@example.com")
    status, body, _ = await api.login("grace@example.com")
    assert status == 200
    assert body["token_type"] == "Bearer" and body["expires_in"] == 900
    claims = jwt.decode(body["access_token"], options={"verify_signature": False})
    assert claims["sub"] == str(account["account_id"]) and claims["iss"] == ISSUER
    assert claims["exp"] - claims["iat"] == 900 and claims["jti"] and claims["sid"]
    assert jwt.get_unverified_header(body["access_token"])["alg"] == "HS256"
    stored = await app[POOL].fetchval("SELECT count(*) FROM refresh_tokens WHERE token_hash = "
                                      "sha256(convert_to($1, 'UTF8'))", body["refresh_token"])
    assert stored == 1   # stored hashed, never as sent
    status, me, _ = await api.call("GET", "/api/v1/me")
    assert status == 200
    assert me == {"account_id": account["account_id"], "email": "grace@example.com",
                  "created_at": account["created_at"], "totp_enabled": False,
                  "role": "trader", "kyc_status": "NONE", "email_verified": False,
                  "email_preferences": {"fills": False, "alerts": False}}


async def test_wrong_password_and_unknown_email_are_the_same_refusal(api):
    await api.register("grace@example.com")
    status, wrong, _ = await api.login("grace@example.com", "not the password")
    assert (status, wrong["code"]) == (401, "INVALID_CREDENTIALS")
    status, unknown, _ = await api.login("nobody@example.com")
    assert (status, unknown) == (401, wrong)


async def test_refresh_rotates_and_a_reused_refresh_token_ends_the_session(user):
    first_refresh, first_access = user.refresh_token, user.token
    status, body, _ = await user.call("POST", "/api/v1/auth/refresh",
                                      {"refresh_token": first_refresh}, token="")
    assert status == 200 and body["refresh_token"] != first_refresh
    assert body["access_token"] != first_access
    second = body
    status, _, _ = await user.call("GET", "/api/v1/me", token=second["access_token"])
    assert status == 200
    # the first refresh token again: refused, and the whole session is revoked
    status, body, _ = await user.call("POST", "/api/v1/auth/refresh",
                                      {"refresh_token": first_refresh}, token="")
    assert (status, body["code"]) == (401, "REFRESH_TOKEN_REUSED")
    status, body, _ = await user.call("POST", "/api/v1/auth/refresh",
                                      {"refresh_token": second["refresh_token"]}, token="")
    assert (status, body["code"]) == (401, "REFRESH_TOKEN_REVOKED")
    status, body, _ = await user.call("GET", "/api/v1/me", token=second["access_token"])
    assert (status, body["code"]) == (401, "TOKEN_REVOKED")


async def test_unknown_refresh_token_is_refused(api):
    status, body, _ = await api.call("POST", "/api/v1/auth/refresh", {"refresh_token": "x" * 43})
    assert (status, body["code"]) == (401, "REFRESH_TOKEN_INVALID")


async def test_logout_revokes_the_access_token_and_the_refresh_token(app, user):
    token, refresh = user.token, user.refresh_token
    status, body, _ = await user.call("POST", "/api/v1/auth/logout")
    assert (status, body) == (200, {"logged_out": True})
    jti = jwt.decode(token, options={"verify_signature": False})["jti"]
    assert await app[POOL].fetchval("SELECT count(*) FROM revoked_tokens WHERE jti = $1", jti) == 1
    for method, path in (("GET", "/api/v1/me"), ("GET", "/api/v1/balances"),
                         ("GET", "/api/v1/api-keys"), ("POST", "/api/v1/auth/logout")):
        status, body, headers = await user.call(method, path, token=token)
        assert (status, body["code"]) == (401, "TOKEN_REVOKED"), path
        assert headers["WWW-Authenticate"].startswith("Bearer")
    status, body, _ = await user.call("POST", "/api/v1/auth/refresh", {"refresh_token": refresh})
    assert (status, body["code"]) == (401, "REFRESH_TOKEN_REVOKED")


async def test_logout_ends_only_its_own_session(user):
    first = user.token
    await user.login(user.email)
    status, _, _ = await user.call("POST", "/api/v1/auth/logout")
    assert status == 200
    status, _, _ = await user.call("GET", "/api/v1/me", token=first)
    assert status == 200


async def test_expired_access_token_is_refused(app, user):
    claims = jwt.decode(user.token, options={"verify_signature": False})
    tokens = app[ACCESS_TOKENS]
    tokens_clock = tokens._clock
    tokens._clock = lambda: time.time() - 3600   # issue one an hour ago: expired 45 min ago
    try:
        old, _ = tokens.issue(int(claims["sub"]), claims["sid"])
    finally:
        tokens._clock = tokens_clock
    status, body, _ = await user.call("GET", "/api/v1/me", token=old)
    assert (status, body["code"]) == (401, "TOKEN_EXPIRED")


async def test_forged_or_malformed_tokens_are_refused(user):
    claims = jwt.decode(user.token, options={"verify_signature": False})
    forged = jwt.encode(claims, "another secret of at least thirty-two chars", algorithm="HS256")
    unsigned = jwt.encode(claims, None, algorithm="none")
    for token, code in ((forged, "TOKEN_INVALID"), (unsigned, "TOKEN_INVALID"),
                        ("not.a.jwt", "TOKEN_INVALID")):
        status, body, _ = await user.call("GET", "/api/v1/me", token=token)
        assert (status, body["code"]) == (401, code), token
    for header in ("", "Basic abc", "Bearer", "Bearer  ", "Bearer " + "a" * 5000):
        status, body, _ = await user.call("GET", "/api/v1/me", headers={"Authorization": header},
                                          token="")
        assert (status, body["code"]) == (401, "UNAUTHENTICATED"), header
    status, body, _ = await user.call("GET", "/api/v1/me", token="")
    assert (status, body["code"]) == (401, "UNAUTHENTICATED")


async def test_password_change_needs_the_current_one_and_revokes_other_sessions(user, api):
    other = type(user)(user.client)
    await other.login(user.email)
    kept = user.token
    status, body, _ = await user.call("POST", "/api/v1/auth/password",
                                      {"current_password": "wrong password!",
                                       "new_password": "a new long password"})
    assert (status, body["code"]) == (401, "INVALID_CREDENTIALS")
    status, body, _ = await other.call("GET", "/api/v1/me")
    assert status == 200
    status, body, _ = await user.call("POST", "/api/v1/auth/password",
                                      {"current_password": PASSWORD,
                                       "new_password": "a new long password"})
    assert (status, body) == (200, {"password_changed": True, "revoked_sessions": 1})
    status, body, _ = await other.call("GET", "/api/v1/me")
    assert (status, body["code"]) == (401, "TOKEN_REVOKED")
    status, body, _ = await other.call("POST", "/api/v1/auth/refresh",
                                       {"refresh_token": other.refresh_token})
    assert (status, body["code"]) == (401, "REFRESH_TOKEN_REVOKED")
    status, _, _ = await user.call("GET", "/api/v1/me", token=kept)
    assert status == 200
    assert (await api.login(user.email))[0] == 401
    assert (await api.login(user.email, "a new long password"))[0] == 200


async def test_signing_secret_is_generated_once_into_the_data_dir(start_server, tmp_path):
    app, client = await start_server()
    path = tmp_path / "jwt-secret"
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    secret = path.read_text().strip()
    assert len(secret) >= 32
    await client.register("grace@example.com")
    status, body, _ = await client.login("grace@example.com")
    jwt.decode(body["access_token"], secret, algorithms=["HS256"], issuer=ISSUER)


async def test_a_configured_signing_secret_is_used(start_server, tmp_path):
    secret = "s" * 40
    app, client = await start_server(jwt_secret=secret)
    assert not (tmp_path / "jwt-secret").exists()
    await client.register("grace@example.com")
    status, body, _ = await client.login("grace@example.com")
    jwt.decode(body["access_token"], secret, algorithms=["HS256"], issuer=ISSUER)


async def test_balances_come_from_the_ledger_as_decimal_strings(app, user):
    await deposit(app, user.account_id, "USD", "1234.50")
    status, body, _ = await user.call("GET", "/api/v1/balances")
    assert status == 200 and body["account_id"] == user.account_id
    by_asset = {b["asset"]: b for b in body["balances"]}
    assert by_asset["USD"] == {"asset": "USD", "free": "1234.50", "locked": "0.00"}
    assert by_asset["AAPL"] == {"asset": "AAPL", "free": "0", "locked": "0"}
    assert set(by_asset) == set(app[VENUE].sequencer.assets)


def test_auth_settings_come_from_config_toml_and_exchange_variables():
    from exchange import settings as config
    defaults = config.load(env={})
    assert (defaults.jwt_secret, defaults.access_token_ttl_s, defaults.login_max_failures,
            defaults.login_lockout_s, defaults.password_min_length) == ("", 900, 5, 900, 10)
    s = config.load(env={"EXCHANGE_JWT_SECRET": "k" * 32, "EXCHANGE_LOGIN_MAX_FAILURES": "7",
                         "EXCHANGE_ACCESS_TOKEN_TTL_S": "60"})
    assert (s.jwt_secret, s.login_max_failures, s.access_token_ttl_s) == ("k" * 32, 7, 60)


def test_a_short_configured_or_stored_signing_secret_is_refused(tmp_path):
    import pytest
    from exchange.platform.tokens import load_secret
    with pytest.raises(ValueError):
        load_secret("too short", str(tmp_path))
    (tmp_path / "jwt-secret").write_text("short\n")
    with pytest.raises(ValueError):
        load_secret("", str(tmp_path))
    assert load_secret("", str(tmp_path / "new")) == load_secret("", str(tmp_path / "new"))
