"""Failed-login locking holds under concurrency, and answers alike for unknown emails.

Every attempt is claimed (counted, and the lock taken at the limit) before its
password is checked, so however many guesses arrive at once, at most
``login_max_failures`` (5) of them are checked per lock window. These tests
send the guesses truly concurrently (asyncio.gather over real HTTP to the
running server).
"""

import asyncio
import time
from collections import Counter

import pyotp

from exchange.keys import POOL
from exchange.keys import PASSWORDS

WRONG = "not the password"
EMAIL = "ada@example.com"


async def together(api, n, email=EMAIL, password=WRONG, **extra):
    """``n`` logins sent at once; their (status, code) counted."""
    results = await asyncio.gather(*(api.login(email, password, **extra) for _ in range(n)))
    return Counter((status, body["code"]) for status, body, _ in results)


async def lock_row(app, email=EMAIL):
    return tuple(await app[POOL].fetchrow(
        "SELECT failed_logins, locked_until > now() AS locked FROM users WHERE email = $1",
        email))


async def test_thirty_concurrent_wrong_guesses_check_only_five(app, api):
    await api.register(EMAIL)
    checked = app[PASSWORDS].verifications
    outcome = await together(api, 30)
    assert outcome == {(401, "INVALID_CREDENTIALS"): 4, (423, "ACCOUNT_LOCKED"): 26}
    assert app[PASSWORDS].verifications - checked == 5
    assert await lock_row(app) == (5, True)
    status, body, headers = await api.login(EMAIL)
    assert (status, body["code"]) == (423, "ACCOUNT_LOCKED")
    assert 0 < int(headers["Retry-After"]) <= 900


async def test_the_right_password_after_28_concurrent_wrong_ones_is_refused(app, api):
    await api.register(EMAIL)
    outcome = await together(api, 28)
    assert outcome == {(401, "INVALID_CREDENTIALS"): 4, (423, "ACCOUNT_LOCKED"): 24}
    status, body, _ = await api.login(EMAIL)
    assert (status, body["code"]) == (423, "ACCOUNT_LOCKED")
    assert await lock_row(app) == (5, True)   # not reset by the right password
    assert await app[POOL].fetchval("SELECT count(*) FROM sessions s JOIN users u "
                                    "USING (account_id) WHERE u.email = $1", EMAIL) == 0


async def test_a_right_password_among_concurrent_guesses_never_lets_more_than_five_fail(
        app, api):
    await api.register(EMAIL)
    checked = app[PASSWORDS].verifications
    results = await asyncio.gather(*(api.login(EMAIL, WRONG) for _ in range(20)),
                                   api.login(EMAIL))
    failures = sum(status == 401 for status, _, _ in results)
    right = results[-1][0]
    # the right one either came in time (200, and the count started again) or was refused
    # by the lock (423); either way no lock window saw more than five failed checks
    assert right in (200, 423)
    if right == 423:
        assert failures == 4 and app[PASSWORDS].verifications - checked == 5
    else:
        assert failures <= 8 and app[PASSWORDS].verifications - checked <= 10


async def test_an_unknown_email_is_counted_and_locked_as_a_known_one(app, api):
    checked = app[PASSWORDS].verifications
    outcome = await together(api, 30, email="nobody@example.com")
    assert outcome == {(401, "INVALID_CREDENTIALS"): 4, (423, "ACCOUNT_LOCKED"): 26}
    assert app[PASSWORDS].verifications - checked == 5   # the dummy check, as slow


async def answers(api, email, n):
    out = []
    for _ in range(n):
        status, body, headers = await api.login(email, WRONG)
        out.append((status, body["code"], "Retry-After" in headers))
    return out


async def test_login_answers_tell_nothing_about_which_emails_have_accounts(api):
    await api.register(EMAIL)
    known, unknown = await answers(api, EMAIL, 7), await answers(api, "nobody@example.com", 7)
    assert known == unknown == [(401, "INVALID_CREDENTIALS", False)] * 4 + [
        (423, "ACCOUNT_LOCKED", True)] * 3


async def test_registering_a_locked_unknown_email_keeps_its_lock(app, api):
    await answers(api, "grace@example.com", 5)
    await api.register("grace@example.com")
    status, body, _ = await api.login("grace@example.com")
    assert (status, body["code"]) == (423, "ACCOUNT_LOCKED")
    assert await lock_row(app, "grace@example.com") == (5, True)
    assert await app[POOL].fetchval("SELECT count(*) FROM login_failures") == 0


async def test_the_lock_of_an_unknown_email_ends_and_counts_again(start_server):
    app, api = await start_server(login_max_failures=2, login_lockout_s=1)
    assert await answers(api, "nobody@example.com", 3) == [
        (401, "INVALID_CREDENTIALS", False), (423, "ACCOUNT_LOCKED", True),
        (423, "ACCOUNT_LOCKED", True)]
    await asyncio.sleep(1.1)
    # a row whose lock ended is forgotten by a later attempt (on any unknown email) ...
    await answers(api, "someone@example.com", 1)
    assert {r["email"] for r in await app[POOL].fetch("SELECT email FROM login_failures")} == {
        "someone@example.com"}
    # ... and counts again from one, as an ended lock does
    assert await answers(api, "nobody@example.com", 2) == [
        (401, "INVALID_CREDENTIALS", False), (423, "ACCOUNT_LOCKED", True)]


def wrong_code(secret: str) -> str:
    """A code that matches no step near now."""
    near = {pyotp.TOTP(secret).generate_otp(int(time.time()) // 30 + d) for d in (-2, -1, 0, 1, 2)}
    return next(c for c in (f"{i:06d}" for i in range(1000)) if c not in near)


async def test_concurrent_wrong_totp_codes_check_only_five_and_then_lock(app, api, user):
    status, body, _ = await user.call("POST", "/api/v1/auth/totp/enroll")
    secret = body["secret"]
    status, _, _ = await user.call("POST", "/api/v1/auth/totp/confirm",
                                   {"totp": pyotp.TOTP(secret).now()})
    assert status == 200
    bad = wrong_code(secret)
    outcome = await together(api, 30, email=user.email, password="correct horse battery",
                             totp=bad)
    assert outcome == {(401, "TOTP_INVALID"): 4, (423, "ACCOUNT_LOCKED"): 26}
    status, body, _ = await api.login(user.email, totp=pyotp.TOTP(secret).now())
    assert (status, body["code"]) == (423, "ACCOUNT_LOCKED")


async def test_a_right_password_without_its_totp_code_does_not_count(app, api, user):
    status, body, _ = await user.call("POST", "/api/v1/auth/totp/enroll")
    secret = body["secret"]
    await user.call("POST", "/api/v1/auth/totp/confirm", {"totp": pyotp.TOTP(secret).now()})
    for _ in range(12):
        status, body, _ = await api.login(user.email)
        assert (status, body["code"]) == (401, "TOTP_REQUIRED")
    assert await lock_row(app, user.email) == (0, None)
    # at once, at most five are checked at a time (the others wait out no lock: 423), and
    # each gives its claim back: nothing stays counted
    outcome = await together(api, 12, email=user.email, password="correct horse battery")
    assert outcome[(401, "TOTP_REQUIRED")] >= 5
    assert outcome[(401, "TOTP_REQUIRED")] + outcome[(423, "ACCOUNT_LOCKED")] == 12
    assert await lock_row(app, user.email) == (0, None)
    next_step = pyotp.TOTP(secret).generate_otp(int(time.time()) // 30 + 1)  # now's: spent
    status, _, _ = await api.login(user.email, totp=next_step)
    assert status == 200


async def test_concurrent_wrong_current_passwords_lock_the_password_change(app, user):
    results = await asyncio.gather(*(
        user.call("POST", "/api/v1/auth/password",
                  {"current_password": WRONG, "new_password": "another long password"})
        for _ in range(12)))
    assert Counter((s, b["code"]) for s, b, _ in results) == {
        (401, "INVALID_CREDENTIALS"): 4, (423, "ACCOUNT_LOCKED"): 8}
    status, body, _ = await user.call("POST", "/api/v1/auth/password", {
        "current_password": "correct horse battery", "new_password": "another long password"})
    assert (status, body["code"]) == (423, "ACCOUNT_LOCKED")
