"""The links the server mails, opened in the trading page: Debian's Chromium, driven by
Playwright, against the production application on a loopback port with a real local SMTP
server (aiosmtpd) receiving its mail.

``<public_url>/#reset-password?token=T`` opens a "choose a new password" form that calls
``POST /api/v1/auth/password-reset/confirm``; ``<public_url>/#verify-email?token=T`` calls
``POST /api/v1/auth/verify-email`` at once. The links are read from the received mail and
opened as they are (``public_url`` is the test server's own address). Nothing is mocked.
"""

import aiohttp
import pytest
from aiohttp.test_utils import TestServer
from playwright.async_api import Page, expect

from exchange.server import create_app
from exchange.settings import Settings
from tests.helpers.mail import free_port, link_of, smtp_server
from tests.helpers.web_page import PASSWORD, open_page, sign_up

NEW_PASSWORD = "a brand new passphrase"
DESKTOP = {"width": 1440, "height": 900}


@pytest.fixture
def smtp():
    with smtp_server() as (inbox, port):
        yield inbox, port


@pytest.fixture
def inbox(smtp):
    return smtp[0]


@pytest.fixture
async def base_url(built_page, fresh_dsn, tmp_path, smtp):
    """The venue's address. Ask for it before ``browser``: the browser then closes first,
    and the server's shutdown does not wait for the page's open sockets."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    settings = Settings(database_url=fresh_dsn, data_dir=str(tmp_path), weight_limit_1m=1_000_000,
                        argon2_time_cost=1, argon2_memory_kib=1024, auth_ip_limit_1m=1_000_000,
                        smtp_host="127.0.0.1", smtp_port=smtp[1], smtp_security="none",
                        smtp_from="venue@example.com", public_url=url)
    server = TestServer(create_app(settings, on_fatal=lambda error: None), host="127.0.0.1",
                        port=port)
    await server.start_server()
    yield url
    await server.close()


@pytest.fixture
async def http():
    async with aiohttp.ClientSession() as session:
        yield session


async def post(http, base_url: str, path: str, body: dict):
    async with http.post(base_url + path, json=body) as resp:
        return resp.status, await resp.json()


async def page_me(page: Page) -> dict:
    """``GET /api/v1/me`` with the page's own session."""
    return await page.evaluate("""async () => {
        const t = JSON.parse(localStorage.getItem('exchange.session'));
        const r = await fetch('/api/v1/me', {headers: {Authorization: 'Bearer ' + t.access_token}});
        return await r.json();
    }""")


async def test_a_mailed_reset_link_sets_a_new_password_and_the_page_logs_in_with_it(
        base_url, browser, http, inbox):
    address = "ada@example.com"
    assert (await post(http, base_url, "/api/v1/auth/register",
                       {"email": address, "password": PASSWORD}))[0] == 201
    status, body = await post(http, base_url, "/api/v1/auth/password-reset", {"email": address})
    assert (status, body) == (202, {"requested": True})
    (msg,) = await inbox.wait(address, "Reset your password")
    link = link_of(msg, "#reset-password")
    assert link.startswith(f"{base_url}/#reset-password?token=")

    page = await open_page(browser, base_url, DESKTOP)
    await page.goto(link)
    form = page.get_by_role("form", name="Choose a new password")
    await expect(form).to_be_visible()
    await expect(page).to_have_url(f"{base_url}/")   # the token left the address bar

    await form.get_by_label("New password", exact=True).fill(NEW_PASSWORD)
    await form.get_by_label("New password again").fill(NEW_PASSWORD + "!")
    await form.get_by_role("button", name="Set password").click()
    await expect(form.get_by_role("alert")).to_have_text("The two passwords differ.")

    await form.get_by_label("New password", exact=True).fill("short")
    await form.get_by_label("New password again").fill("short")
    await form.get_by_role("button", name="Set password").click()
    await expect(form.get_by_role("alert")).to_have_text(
        "Field 'new_password' must be at least 10 characters. (WEAK_PASSWORD)")

    await form.get_by_label("New password", exact=True).fill(NEW_PASSWORD)
    await form.get_by_label("New password again").fill(NEW_PASSWORD)
    await form.get_by_role("button", name="Set password").click()
    await expect(page.get_by_role("status").filter(has_text="Your password is changed")).to_have_text(
        "Your password is changed. Log in with the new one.")
    await expect(form).to_have_count(0)

    login = page.get_by_role("form", name="Log in")
    await login.get_by_label("Email").fill(address)
    await login.get_by_label("Password").fill(NEW_PASSWORD)
    await login.get_by_role("button", name="Log in").click()
    await expect(page.locator("details.account summary")).to_have_text(address)
    await expect(page.get_by_role("region", name="Order ticket")).to_be_visible()

    assert (await post(http, base_url, "/api/v1/auth/login",
                       {"email": address, "password": PASSWORD}))[0] == 401
    assert (await post(http, base_url, "/api/v1/auth/login",
                       {"email": address, "password": NEW_PASSWORD}))[0] == 200

    # the token worked once: the same link again is refused with the server's message
    await page.goto(link)
    await expect(form).to_be_visible()
    await form.get_by_label("New password", exact=True).fill("yet another passphrase")
    await form.get_by_label("New password again").fill("yet another passphrase")
    await form.get_by_role("button", name="Set password").click()
    await expect(form.get_by_role("alert")).to_have_text(
        "The reset token is unknown, used or expired. (RESET_TOKEN_INVALID)")
    await expect(page).to_have_url(f"{base_url}/")
    assert (await post(http, base_url, "/api/v1/auth/login",
                       {"email": address, "password": NEW_PASSWORD}))[0] == 200


async def test_a_mailed_verification_link_verifies_the_address_once(base_url, browser, inbox):
    address = "ben@example.com"
    page = await open_page(browser, base_url, DESKTOP)
    await sign_up(page, address)
    (msg,) = await inbox.wait(address, "Confirm your email address")
    link = link_of(msg, "#verify-email")
    assert link.startswith(f"{base_url}/#verify-email?token=")
    assert (await page_me(page))["email_verified"] is False

    await page.goto(link)
    await expect(page.get_by_role("status").filter(has_text="Email verified")).to_have_text(
        "Email verified.")
    await expect(page).to_have_url(f"{base_url}/")
    assert (await page_me(page))["email_verified"] is True
    await expect(page.get_by_role("region", name="Order ticket")).to_be_visible()

    await page.goto(link)
    await expect(page.get_by_role("alert").filter(has_text="Email not verified")).to_have_text(
        "Email not verified: The verification token is unknown, used or expired. "
        "(VERIFY_TOKEN_INVALID)")
    await expect(page).to_have_url(f"{base_url}/")
    assert (await page_me(page))["email_verified"] is True


async def test_a_verification_link_opened_in_a_fresh_tab_needs_no_session(base_url, browser, http,
                                                                          inbox):
    address = "cy@example.com"
    assert (await post(http, base_url, "/api/v1/auth/register",
                       {"email": address, "password": PASSWORD}))[0] == 201
    (msg,) = await inbox.wait(address, "Confirm your email address")
    context = await browser.new_context(viewport=DESKTOP)
    page = await context.new_page()
    await page.goto(link_of(msg, "#verify-email"))
    await expect(page.get_by_role("status").filter(has_text="Email verified")).to_have_text(
        "Email verified.")
    await expect(page).to_have_url(f"{base_url}/")
    status, tokens = await post(http, base_url, "/api/v1/auth/login",
                                {"email": address, "password": PASSWORD})
    assert status == 200
    async with http.get(base_url + "/api/v1/me",
                        headers={"Authorization": f"Bearer {tokens['access_token']}"}) as resp:
        assert (await resp.json())["email_verified"] is True
