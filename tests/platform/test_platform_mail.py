"""Mail: verification, password reset, notices and opt-in fills and alerts, sent over SMTP
(aiosmtplib) to a real local SMTP server (aiosmtpd) on a free port, read as received.

Nothing here is mocked: the server under test is the production application and the
mail goes over a socket; the tests read what the SMTP server was handed.
"""

import asyncio
import datetime
import ipaddress
import ssl

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from exchange.keys import POOL
from exchange.keys import NOTIFIER
from exchange.bootstrap import deposit

from tests.helpers.mail import Inbox, free_port, smtp_server, token_of
from tests.helpers.platform_clients import Trader, api_key

PASSWORD = "correct horse battery"
NEW_PASSWORD = "a brand new passphrase"
SELF = {"selfTradePreventionMode": "NONE"}


@pytest.fixture
def smtp():
    with smtp_server() as (inbox, port):
        yield inbox, port


@pytest.fixture
async def server(start_server, smtp):
    _, port = smtp
    return await start_server(smtp_host="127.0.0.1", smtp_port=port, smtp_security="none",
                              smtp_from="venue@example.com", notify_coalesce_ms=3_600_000,
                              public_url="https://venue.example")


@pytest.fixture
def inbox(smtp):
    return smtp[0]


async def verified(api, inbox, address: str):
    """Register ``address``, verify it with the mailed token, log in."""
    await api.register(address)
    (msg,) = await inbox.wait(address, "Confirm your email address")
    status, body, _ = await api.call("POST", "/api/v1/auth/verify-email",
                                     {"token": token_of(msg)}, token="")
    assert (status, body) == (200, {"email_verified": True})
    status, _, _ = await api.login(address)
    assert status == 200


async def test_register_mails_a_verification_token_that_works_once(app, api, inbox):
    account = await api.register("ada@example.com")
    (msg,) = await inbox.wait("ada@example.com", "Confirm your email address")
    assert msg["From"] == "venue@example.com"
    token = token_of(msg)
    assert f"https://venue.example/#verify-email?token={token}" in msg.get_content()
    await api.login("ada@example.com")
    status, me, _ = await api.call("GET", "/api/v1/me")
    assert me["email_verified"] is False
    status, body, _ = await api.call("POST", "/api/v1/auth/verify-email", {"token": token},
                                     token="")
    assert (status, body) == (200, {"email_verified": True})
    status, me, _ = await api.call("GET", "/api/v1/me")
    assert me["email_verified"] is True
    status, body, _ = await api.call("POST", "/api/v1/auth/verify-email", {"token": token},
                                     token="")
    assert (status, body["code"]) == (400, "VERIFY_TOKEN_INVALID")
    # stored as sha256 only
    rows = await app[POOL].fetch("SELECT token_hash FROM email_tokens WHERE account_id = $1",
                                 account["account_id"])
    assert len(rows) == 1 and await app[POOL].fetchval(
        "SELECT sha256(convert_to($1, 'UTF8'))", token) == rows[0]["token_hash"]


async def test_password_reset_answers_alike_mails_a_single_use_token_and_ends_every_session(
        app, api, user, inbox):
    first_access, first_refresh = user.token, user.refresh_token
    other = type(user)(user.client)
    assert (await other.login(user.email))[0] == 200
    answers = []
    for address in (user.email, "nobody@example.com"):
        status, body, _ = await api.call("POST", "/api/v1/auth/password-reset",
                                         {"email": address}, token="")
        answers.append((status, body))
    assert answers == [(202, {"requested": True})] * 2
    (msg,) = await inbox.wait(user.email, "Reset your password")
    token = token_of(msg)
    status, body, _ = await api.call("POST", "/api/v1/auth/password-reset/confirm",
                                     {"token": token, "new_password": NEW_PASSWORD}, token="")
    assert (status, body) == (200, {"password_reset": True, "revoked_sessions": 2})
    status, body, _ = await api.call("GET", "/api/v1/me", token=first_access)
    assert (status, body["code"]) == (401, "TOKEN_REVOKED")
    status, body, _ = await api.call("POST", "/api/v1/auth/refresh",
                                     {"refresh_token": first_refresh}, token="")
    assert (status, body["code"]) == (401, "REFRESH_TOKEN_REVOKED")
    assert (await api.login(user.email, PASSWORD))[0] == 401
    assert (await api.login(user.email, NEW_PASSWORD))[0] == 200
    status, body, _ = await api.call("POST", "/api/v1/auth/password-reset/confirm",
                                     {"token": token, "new_password": "yet another one!"},
                                     token="")
    assert (status, body["code"]) == (400, "RESET_TOKEN_INVALID")
    assert inbox.to("nobody@example.com") == []
    assert await app[POOL].fetchval("SELECT count(*) FROM email_tokens WHERE token_hash = "
                                    "convert_to($1, 'UTF8')", token) == 0


async def test_a_reset_lifts_a_login_lock_and_one_reset_mail_goes_out_per_minute(
        app, api, user, inbox):
    for _ in range(5):
        await api.login(user.email, "not the password")
    assert (await api.login(user.email))[0] == 423
    for _ in range(3):
        status, body, _ = await api.call("POST", "/api/v1/auth/password-reset",
                                         {"email": user.email}, token="")
        assert (status, body) == (202, {"requested": True})
    (msg,) = await inbox.wait(user.email, "Reset your password")
    status, _, _ = await api.call("POST", "/api/v1/auth/password-reset/confirm",
                                  {"token": token_of(msg), "new_password": NEW_PASSWORD},
                                  token="")
    assert status == 200
    assert (await api.login(user.email, NEW_PASSWORD))[0] == 200
    assert len(inbox.to(user.email, "Reset your password")) == 1
    assert await app[POOL].fetchval("SELECT count(*) FROM email_tokens WHERE purpose = 'reset'"
                                    ) == 1


async def test_a_reset_token_expires(start_server, smtp):
    inbox, port = smtp
    app, api = await start_server(smtp_host="127.0.0.1", smtp_port=port, smtp_security="none",
                                  reset_token_ttl_s=1)
    await api.register("ada@example.com")
    await api.call("POST", "/api/v1/auth/password-reset", {"email": "ada@example.com"},
                   token="")
    (msg,) = await inbox.wait("ada@example.com", "Reset your password")
    await asyncio.sleep(1.1)
    status, body, _ = await api.call("POST", "/api/v1/auth/password-reset/confirm",
                                     {"token": token_of(msg), "new_password": NEW_PASSWORD},
                                     token="")
    assert (status, body["code"]) == (400, "RESET_TOKEN_INVALID")
    assert (await api.login("ada@example.com"))[0] == 200


async def test_without_smtp_the_mail_features_answer_503_and_the_rest_works(start_server):
    app, api = await start_server()
    await api.register("ada@example.com")
    status, body, _ = await api.call("POST", "/api/v1/auth/password-reset",
                                     {"email": "ada@example.com"}, token="")
    assert (status, body["code"]) == (503, "MAIL_DISABLED")
    await api.login("ada@example.com")
    status, body, _ = await api.call("POST", "/api/v1/auth/verify-email/resend")
    assert (status, body["code"]) == (503, "MAIL_DISABLED")
    assert await app[POOL].fetchval("SELECT count(*) FROM email_tokens") == 0


async def test_an_smtp_failure_never_fails_the_request_and_is_one_counted_line(
        start_server, caplog):
    app, api = await start_server(smtp_host="127.0.0.1", smtp_port=free_port(),
                                  smtp_security="none")
    await api.register("ada@example.com")        # 201: the mail fails after the answer
    metric = 'exchange_mail_total{outcome="failed"} 1.0'
    for _ in range(400):
        status, _, _ = await api.call("GET", "/healthz")
        text = await (await api.client.get("/metrics")).text()
        if metric in text:
            break
        await asyncio.sleep(0.025)
    assert metric in text
    lines = [r for r in caplog.records if r.name == "exchange.platform.mail"]
    assert len(lines) == 1 and lines[0].exc_info is None and "not sent" in lines[0].getMessage()
    assert "ada@example.com" not in lines[0].getMessage()


async def test_resend_mails_a_new_token_and_refuses_a_verified_address(api, inbox):
    await api.register("ada@example.com")
    await api.login("ada@example.com")
    status, body, _ = await api.call("POST", "/api/v1/auth/verify-email/resend")
    assert (status, body) == (202, {"requested": True})
    first, second = await inbox.wait("ada@example.com", "Confirm your email address", 2)
    results = sorted([(await api.call("POST", "/api/v1/auth/verify-email",
                                      {"token": token_of(m)}, token=""))[0]
                      for m in (first, second)])
    assert results == [200, 400]     # the newer token replaced the older one
    status, body, _ = await api.call("POST", "/api/v1/auth/verify-email/resend")
    assert (status, body["code"]) == (409, "EMAIL_ALREADY_VERIFIED")


async def test_a_login_from_a_new_device_is_mailed_to_a_verified_address(api, inbox):
    await verified(api, inbox, "ada@example.com")   # the first login: no notice
    for agent in ("Browser A", "Browser A", "Browser B"):
        status, _, _ = await api.call("POST", "/api/v1/auth/login", {
            "email": "ada@example.com", "password": PASSWORD}, token="",
            headers={"User-Agent": agent})
        assert status == 200
    mails = await inbox.wait("ada@example.com", "New sign-in to your account", 2)
    await asyncio.sleep(0.2)   # (a third would have been queued by now)
    mails = inbox.to("ada@example.com", "New sign-in to your account")
    assert len(mails) == 2
    assert {("Browser A" in m.get_content(), "Browser B" in m.get_content())
            for m in mails} == {(True, False), (False, True)}


async def test_a_withdrawal_request_is_mailed(app, api, inbox):
    await verified(api, inbox, "ada@example.com")
    status, me, _ = await api.call("GET", "/api/v1/me")
    await deposit(app, me["account_id"], "USD", "100.00")
    status, body, _ = await api.call("POST", "/api/v1/funding/withdrawals",
                                     {"asset": "USD", "amount": "10.00", "destination": "IBAN1"})
    assert status == 201
    (msg,) = await inbox.wait("ada@example.com", "Withdrawal requested")
    text = msg.get_content()
    assert "10.00 USD" in text and "IBAN1" in text and body["withdrawal_id"] in text


async def test_registering_a_taken_email_answers_409_and_tells_the_owner(api, inbox):
    await verified(api, inbox, "ada@example.com")
    status, body, _ = await api.call("POST", "/api/v1/auth/register", {
        "email": "ada@example.com", "password": PASSWORD}, token="")
    assert (status, body["code"]) == (409, "EMAIL_TAKEN")
    await inbox.wait("ada@example.com", "Someone tried to register your email")
    status, _, _ = await api.call("POST", "/api/v1/auth/register", {
        "email": "ada@example.com", "password": PASSWORD}, token="")
    assert status == 409
    status, _, _ = await api.call("POST", "/api/v1/auth/password-reset",
                                  {"email": "ada@example.com"}, token="")
    await inbox.wait("ada@example.com", "Reset your password")   # (mail after the second)
    assert len(inbox.to("ada@example.com", "Someone tried to register your email")) == 1


async def test_fills_and_price_alerts_are_mailed_only_when_opted_in(app, api, inbox):
    await verified(api, inbox, "ada@example.com")
    status, me, _ = await api.call("GET", "/api/v1/me")
    assert me["email_preferences"] == {"fills": False, "alerts": False}
    account = me["account_id"]
    await deposit(app, account, "USD", "10000.00")
    key = await api_key(api)
    mine = Trader(api, account, key["api_key"], key["secret"])
    other_key = await api_key(api)   # the counterparty: the same account, self-trade allowed
    other = Trader(api, account, other_key["api_key"], other_key["secret"])
    await deposit(app, account, "AAPL", "10")

    async def trade(price):
        await other.order("AAPL", "SELL", price, "1")
        await mine.order("AAPL", "BUY", price, "1", **SELF)
        await app[NOTIFIER].flush()

    await trade("100.00")                           # not opted in: no mail
    status, body, _ = await api.call("PUT", "/api/v1/me/email-preferences",
                                     {"fills": True, "alerts": True})
    assert (status, body) == (200, {"email_verified": True, "fills": True, "alerts": True})
    status, body, _ = await api.call("POST", "/api/v1/alerts", {
        "symbol": "AAPL", "direction": "above", "price": "101.00"})
    assert status == 201
    await trade("101.00")
    (fills,) = await inbox.wait("ada@example.com", "Your orders were filled")
    (alert,) = await inbox.wait("ada@example.com", "Price alert")
    assert "filled" in fills.get_content() and "AAPL above 101.00" in alert.get_content()
    status, body, _ = await api.call("PUT", "/api/v1/me/email-preferences", {"fills": False})
    assert body == {"email_verified": True, "fills": False, "alerts": True}
    await trade("99.00")
    await asyncio.sleep(0.2)
    assert len(inbox.to("ada@example.com", "Your orders were filled")) == 1
    status, body, _ = await api.call("PUT", "/api/v1/me/email-preferences", {"fills": "yes"})
    assert (status, body["code"]) == (400, "INVALID_FIELD")


def self_signed(tmp_path):
    """A certificate and key for 127.0.0.1 (PEM files), made with cryptography."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName(
                [x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256()))
    cert_file, key_file = tmp_path / "smtp-cert.pem", tmp_path / "smtp-key.pem"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                           serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return cert_file, key_file


async def test_mail_goes_over_starttls_with_a_login(start_server, tmp_path):
    cert_file, key_file = self_signed(tmp_path)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert_file, key_file)
    logins = []

    def authenticator(server, session, envelope, mechanism, auth_data):
        logins.append((session.ssl is not None, auth_data.login, auth_data.password))
        return AuthResult(success=auth_data.password == b"smtp secret")

    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=free_port(),
                            tls_context=context, require_starttls=True,
                            authenticator=authenticator, auth_require_tls=True,
                            auth_required=True)
    controller.start()
    try:
        app, api = await start_server(
            smtp_host="127.0.0.1", smtp_port=controller.port, smtp_security="starttls",
            smtp_ca_file=str(cert_file), smtp_user="venue", smtp_password="smtp secret")
        await api.register("ada@example.com")
        await inbox.wait("ada@example.com", "Confirm your email address")
        assert logins == [(True, b"venue", b"smtp secret")]
    finally:
        controller.stop()
