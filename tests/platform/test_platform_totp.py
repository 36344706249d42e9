"""TOTP two-factor: enrol, confirm, then login needs a fresh code; codes are not replayable."""

import asyncio
import time
from urllib.parse import parse_qs, urlsplit

import pyotp

from exchange.keys import POOL

STEP_S = 30


async def fresh_step():
    """Wait out the last second of a TOTP step, so codes made here match the server's step."""
    if time.time() % STEP_S > STEP_S - 1.5:
        await asyncio.sleep(STEP_S - time.time() % STEP_S + 0.05)


def code(secret: str, offset: int = 0) -> str:
    """The code of the current time step plus ``offset``."""
    return pyotp.TOTP(secret).generate_otp(int(time.time()) // STEP_S + offset)


async def enable(user) -> str:
    status, body, _ = await user.call("POST", "/api/v1/auth/totp/enroll")
    assert status == 200, body
    await fresh_step()
    status, body2, _ = await user.call("POST", "/api/v1/auth/totp/confirm",
                                       {"totp": code(body["secret"], -1)})
    assert (status, body2) == (200, {"totp_enabled": True})
    return body["secret"]


async def test_enroll_returns_a_secret_and_an_otpauth_uri_and_is_pending(user):
    status, body, _ = await user.call("POST", "/api/v1/auth/totp/enroll")
    assert status == 200 and body["totp_enabled"] is False
    uri = urlsplit(body["otpauth_uri"])
    assert (uri.scheme, uri.netloc) == ("otpauth", "totp")
    assert parse_qs(uri.query)["secret"] == [body["secret"]]
    assert parse_qs(uri.query)["issuer"] == ["exchange"] and "ada%40example.com" in uri.path
    assert pyotp.parse_uri(body["otpauth_uri"]).secret == body["secret"]
    # pending: login still needs no code, /me says off
    status, _, _ = await user.login(user.email)
    assert status == 200
    status, me, _ = await user.call("GET", "/api/v1/me")
    assert me["totp_enabled"] is False


async def test_confirm_with_a_wrong_code_leaves_it_off(app, user):
    status, body, _ = await user.call("POST", "/api/v1/auth/totp/enroll")
    secret = body["secret"]
    wrong = f"{(int(code(secret)) + 1) % 1_000_000:06d}"
    for bad in (wrong, code(secret, -5)):
        if bad in (code(secret, -1), code(secret), code(secret, 1)):
            continue
        status, body, _ = await user.call("POST", "/api/v1/auth/totp/confirm", {"totp": bad})
        assert (status, body["code"]) == (401, "TOTP_INVALID")
    assert await app[POOL].fetchval("SELECT totp_enabled FROM users WHERE account_id = $1",
                                    user.account_id) is False


async def test_confirm_before_enroll_is_refused(user):
    status, body, _ = await user.call("POST", "/api/v1/auth/totp/confirm", {"totp": "123456"})
    assert (status, body["code"]) == (409, "TOTP_NOT_ENROLLED")


async def test_once_enabled_login_needs_a_valid_unused_code(api, user):
    secret = await enable(user)
    status, me, _ = await user.call("GET", "/api/v1/me")
    assert me["totp_enabled"] is True
    status, body, _ = await api.login(user.email)
    assert (status, body["code"]) == (401, "TOTP_REQUIRED")
    status, body, _ = await api.login(user.email, totp=code(secret, -5))
    assert (status, body["code"]) == (401, "TOTP_INVALID")
    status, body, _ = await api.login(user.email, totp=code(secret, -1))   # spent by confirm
    assert (status, body["code"]) == (401, "TOTP_INVALID")
    status, body, _ = await api.login(user.email, totp=code(secret))
    assert status == 200, body
    status, body, _ = await api.login(user.email, totp=code(secret))        # replayed
    assert (status, body["code"]) == (401, "TOTP_INVALID")
    status, body, _ = await api.login(user.email, totp=code(secret, 1))     # next step, clock skew
    assert status == 200, body
    # a wrong password with a good code is still a wrong password
    status, body, _ = await api.login(user.email, "not the password", totp=code(secret, 1))
    assert (status, body["code"]) == (401, "INVALID_CREDENTIALS")


async def test_enroll_again_once_enabled_is_refused(user):
    secret = await enable(user)
    status, body, _ = await user.call("POST", "/api/v1/auth/totp/enroll")
    assert (status, body["code"]) == (409, "TOTP_ALREADY_ENABLED")
    status, body, _ = await user.call("POST", "/api/v1/auth/totp/confirm",
                                      {"totp": code(secret)})
    assert (status, body["code"]) == (409, "TOTP_ALREADY_ENABLED")


async def test_wrong_codes_count_towards_the_lockout(start_server):
    app, api = await start_server(login_max_failures=3)
    await api.register("ada@example.com")
    await api.login("ada@example.com")
    api.email = "ada@example.com"
    secret = await enable(api)
    for _ in range(2):
        status, body, _ = await api.login("ada@example.com", totp=code(secret, -5))
        assert (status, body["code"]) == (401, "TOTP_INVALID")
    status, body, headers = await api.login("ada@example.com", totp=code(secret, -5))
    assert (status, body["code"]) == (423, "ACCOUNT_LOCKED") and int(headers["Retry-After"]) > 0
    status, body, _ = await api.login("ada@example.com", totp=code(secret))
    assert (status, body["code"]) == (423, "ACCOUNT_LOCKED")
