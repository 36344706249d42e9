"""The trading page end to end: Debian's Chromium, driven by Playwright, against a real server.

The server is the production application (``exchange.server.create_app``)
on a real loopback port and a fresh PostgreSQL database, with the sandbox
faucet on so that users fund themselves from the page. The page is the one
``exchange serve`` builds (``exchange.web.build.ensure_built``, run once per
session: ``npm ci`` and ``npm run build`` when ``exchange/web/dist`` is
missing or stale). Screenshots of the desktop and the narrow layout are
written to ``tests/web/artifacts/`` (gitignored) and their paths printed.

Chromium is ``/usr/bin/chromium`` (``apt-get install -y chromium``) or the
one ``EXCHANGE_TEST_CHROMIUM`` names; without it these tests fail, never skip.
Waits are generous; nothing here asserts on time.
"""

import asyncio
import pathlib
import re
import time

import orjson
import pyotp
import pytest
from aiohttp.test_utils import TestServer
from playwright.async_api import Page, expect

from exchange import keys
from exchange.server import create_app
from exchange.settings import Settings
from tests.helpers.web_page import PASSWORD, WAIT_MS, open_page, sign_up

ARTIFACTS = pathlib.Path(__file__).parent / "artifacts"
DESKTOP = {"width": 1440, "height": 900}
PHONE = {"width": 390, "height": 844}


@pytest.fixture
async def web_server(built_page, fresh_dsn, tmp_path):
    settings = Settings(database_url=fresh_dsn, data_dir=str(tmp_path), weight_limit_1m=1_000_000,
                        argon2_time_cost=1, argon2_memory_kib=1024, auth_ip_limit_1m=1_000_000,
                        faucet=True)
    server = TestServer(create_app(settings, on_fatal=lambda error: None), host="127.0.0.1")
    await server.start_server()
    yield server
    await server.close()


@pytest.fixture
def base_url(web_server):
    return str(web_server.make_url("/")).rstrip("/")


async def fund(page: Page, asset: str, amount: str) -> None:
    """Credit the user from the Wallet's Funding tab (the venue's faucet)."""
    wallet = page.get_by_role("region", name="Wallet")
    await wallet.get_by_role("tab", name="Funding").click()
    await wallet.get_by_label("Asset").select_option(asset)
    await wallet.get_by_label("Amount").fill(amount)
    await wallet.get_by_role("button", name="Get test funds").click()
    await wallet.get_by_role("tab", name="Balances").click()
    await expect(wallet.get_by_role("table", name="Balances").get_by_role("row").filter(
        has=page.get_by_role("rowheader", name=asset, exact=True))).to_contain_text(amount)


async def order(page: Page, side: str, *, type_: str, quantity: str, price: str | None = None,
                stop: str | None = None):
    """Fill the ticket and send it; return the ticket's form."""
    ticket = page.get_by_role("form", name="Order ticket")
    await ticket.get_by_label(side, exact=True).check()
    await ticket.get_by_label("Order type").select_option(label=type_)
    if stop is not None:
        await ticket.get_by_label(re.compile("^Stop price")).fill(stop)
    if price is not None:
        await ticket.get_by_label(re.compile("^Limit price")).fill(price)
    await ticket.get_by_label(re.compile("^Quantity")).fill(quantity)
    await ticket.get_by_role("button", name=re.compile(f"^{side} ")).click()
    return ticket


async def server_balances(page: Page) -> dict:
    """The logged-in user's balances as the server has them, with the page's own token."""
    body = await page.evaluate("""async () => {
        const t = JSON.parse(localStorage.getItem('exchange.session'));
        const r = await fetch('/api/v1/balances', {headers: {Authorization: 'Bearer ' + t.access_token}});
        return await r.text();
    }""")
    return {b["asset"]: b for b in orjson.loads(body)["balances"]}


async def server_open_orders(page: Page) -> list:
    """The logged-in user's open orders as the server has them, with the page's own token."""
    body = await page.evaluate("""async () => {
        const t = JSON.parse(localStorage.getItem('exchange.session'));
        const r = await fetch('/api/v1/orders?status=NEW,PARTIALLY_FILLED',
                              {headers: {Authorization: 'Bearer ' + t.access_token}});
        return await r.text();
    }""")
    return orjson.loads(body)["orders"]


async def expect_balances_match_server(page: Page, assets) -> None:
    table = page.get_by_role("region", name="Wallet").get_by_role("table", name="Balances")
    for asset in assets:
        b = (await server_balances(page))[asset]
        row = table.get_by_role("row").filter(has=page.get_by_role("rowheader", name=asset, exact=True))
        await expect(row.get_by_role("cell").nth(0)).to_have_text(b["free"])
        await expect(row.get_by_role("cell").nth(1)).to_have_text(b["locked"])


async def seller_and_buyer(browser, base_url: str, seller_email: str, buyer_email: str):
    """Two signed-up desktop pages on AAPL: a seller with 100 AAPL, a buyer with 10,000 USD."""
    seller = await open_page(browser, base_url, DESKTOP)
    buyer = await open_page(browser, base_url, DESKTOP)
    await sign_up(seller, seller_email)
    await sign_up(buyer, buyer_email)
    await fund(seller, "AAPL", "100")
    await fund(buyer, "USD", "10000")
    for page in (seller, buyer):
        await page.get_by_role("combobox", name="Market", exact=True).select_option("AAPL")
    return seller, buyer


def screenshot_path(name: str) -> pathlib.Path:
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / name
    print(f"screenshot: {path}")
    return path


async def test_two_users_trade_and_both_see_it_everywhere(base_url, browser):
    seller, buyer = await seller_and_buyer(browser, base_url, "seller@example.com",
                                           "buyer@example.com")
    for page in (seller, buyer):
        await expect(page.get_by_role("region", name="Chart")).to_contain_text("No trades yet")

    # The seller rests a limit order: it shows in the book (both pages) and in open orders.
    ticket = await order(seller, "Sell", type_="Limit", quantity="10", price="101.50")
    await expect(ticket.get_by_role("status")).to_contain_text("new, filled 0 of 10")
    for page in (seller, buyer):
        asks = page.get_by_role("table", name="Order book").locator("tbody.ask")
        await expect(asks.get_by_role("row").filter(has_text="101.50")).to_contain_text("10")
    open_orders = seller.get_by_role("table", name="Open orders")
    await expect(open_orders.get_by_role("row").filter(has_text="101.50")).to_contain_text("sell")
    await expect_balances_match_server(seller, ["AAPL"])

    # The buyer sets a price alert, then takes part of the order with a market order.
    alerts = buyer.get_by_role("region", name="Alerts and notifications")
    await alerts.get_by_role("combobox", name="Alert market").select_option("AAPL")
    await alerts.get_by_label("When the price is").select_option("above")
    await alerts.get_by_label("Alert price").fill("101.00")
    await alerts.get_by_role("button", name="Add alert").click()
    await expect(alerts.get_by_role("list", name="Active alerts")).to_contain_text("AAPL ≥ 101.00")
    ticket = await order(buyer, "Buy", type_="Market", quantity="4")
    await expect(ticket.get_by_role("status")).to_contain_text("filled, filled 4 of 4")

    # Both see the trade on the tape, the chart's candle, their history and balances.
    for page in (seller, buyer):
        tape = page.get_by_role("table", name="Trade tape")
        await expect(tape.get_by_role("row").nth(1)).to_contain_text("101.50")
        await expect(tape.get_by_role("row").nth(1)).to_contain_text("4")
        legend = page.get_by_test_id("chart-legend")
        await expect(legend).to_contain_text("C 101.5")
        await expect(legend).to_contain_text("V 4")
        await expect(legend).to_have_attribute("data-candles", "1")
        await expect(page.get_by_test_id("last-price")).to_have_text("101.50")
        orders = page.get_by_role("region", name="Orders")
        await orders.get_by_role("tab", name="Trade history").click()
        trade = orders.get_by_role("table", name="Trade history").get_by_role("row").nth(1)
        await expect(trade).to_contain_text("AAPL")
        await expect(trade).to_contain_text("101.50")
        await expect(trade).to_contain_text("maker" if page is seller else "taker")
        await orders.get_by_role("tab", name="Order history").click()
        await expect(orders.get_by_role("table", name="Order history").get_by_role("row").nth(1)
                     ).to_contain_text("partially filled" if page is seller else "filled")
        await orders.get_by_role("tab", name=re.compile("^Open orders")).click()
    await expect_balances_match_server(seller, ["AAPL", "USD"])
    await expect_balances_match_server(buyer, ["AAPL", "USD"])
    assert (await server_balances(buyer))["AAPL"]["free"] == "4"

    # The seller amends the rest (6) to a new price; the buyer's book follows.
    row = open_orders.get_by_role("row").nth(1)   # the only open order
    await expect(row).to_contain_text("101.50")
    await row.get_by_role("button", name=re.compile("^Amend")).click()
    await row.get_by_label("New price").fill("102.00")
    await row.get_by_role("button", name="Save").click()
    await expect(open_orders.get_by_role("row").filter(has_text="102.00")).to_contain_text("6")
    asks = buyer.get_by_role("table", name="Order book").locator("tbody.ask")
    await expect(asks.get_by_role("row").filter(has_text="102.00")).to_contain_text("6")
    await expect(asks.get_by_role("row").filter(has_text="101.50")).to_have_count(0)

    # The portfolio shows the buyer's position, costed at what was paid.
    wallet = buyer.get_by_role("region", name="Wallet")
    await wallet.get_by_role("tab", name="Portfolio").click()
    await expect(wallet.get_by_role("table", name="Positions").get_by_role("row").nth(1)
                 ).to_contain_text("AAPL")
    notes = seller.get_by_role("list", name="Notifications")
    await expect(notes).to_contain_text("amended")
    await expect(notes).to_contain_text("AAPL sell order 1 partially filled")
    notes = buyer.get_by_role("list", name="Notifications")
    await expect(notes).to_contain_text("AAPL above 101.00")   # the alert fired
    await expect(alerts.get_by_role("list", name="Active alerts")).not_to_contain_text("101.00")

    await seller.screenshot(path=screenshot_path("desktop.png"), full_page=True)


async def test_narrow_layout_ticket_checks_and_server_errors(base_url, browser):
    page = await open_page(browser, base_url, PHONE)
    await sign_up(page, "phone@example.com")
    await fund(page, "USD", "1000")
    await page.get_by_role("combobox", name="Market", exact=True).select_option("MSFT")

    # One column: nothing wider than the screen (wide tables scroll inside their panel).
    assert await page.evaluate("document.documentElement.scrollWidth - window.innerWidth") <= 0
    await expect(page.get_by_role("navigation", name="Sections")).to_be_visible()

    # Off the instrument's grid: refused by the page, nothing sent.
    ticket = await order(page, "Buy", type_="Limit", quantity="1", price="100.005")
    await expect(ticket.get_by_role("alert")).to_have_text(
        "Price must be a multiple of the tick size 0.01.")
    ticket = await order(page, "Buy", type_="Limit", quantity="1.5", price="100.00")
    await expect(ticket.get_by_role("alert")).to_contain_text("step size 1")
    await expect(page.get_by_role("table", name="Open orders").get_by_role("row")).to_have_count(1)

    # Within the filters but beyond the balance: the server's refusal is shown.
    ticket = await order(page, "Buy", type_="Limit", quantity="50", price="100.00")
    await expect(ticket.get_by_role("alert")).to_contain_text("Refused by the server")
    await expect(ticket.get_by_role("alert")).to_contain_text("-2010")

    # With the keyboard: Enter in the quantity field sends a stop-limit order.
    ticket = page.get_by_role("form", name="Order ticket")
    await ticket.get_by_label("Order type").select_option(label="Stop-limit")
    await ticket.get_by_label(re.compile("^Stop price")).fill("110.00")
    await ticket.get_by_label(re.compile("^Limit price")).fill("111.00")
    await ticket.get_by_label(re.compile("^Quantity")).fill("2")
    await ticket.get_by_label(re.compile("^Quantity")).press("Enter")
    await expect(ticket.get_by_role("status")).to_contain_text("new, filled 0 of 2")
    row = page.get_by_role("table", name="Open orders").get_by_role("row").filter(has_text="111.00")
    await expect(row).to_contain_text("stop 110.00")
    assert await page.evaluate("document.documentElement.scrollWidth - window.innerWidth") <= 0
    await page.screenshot(path=screenshot_path("narrow.png"), full_page=True)

    await row.get_by_role("button", name=re.compile("^Cancel")).click()
    await expect(page.get_by_role("table", name="Open orders").get_by_role("row")).to_have_count(1)
    await expect_balances_match_server(page, ["USD"])


async def test_two_factor_set_up_on_the_page_then_required_at_login(base_url, browser):
    page = await open_page(browser, base_url, DESKTOP)
    await sign_up(page, "careful@example.com")
    await page.locator("details.account summary").click()
    await page.get_by_role("button", name="Set up an authenticator").click()
    secret = (await page.get_by_test_id("totp-secret").text_content()).strip()
    totp = pyotp.TOTP(secret)
    await page.get_by_label("Code from the app").fill(totp.now())
    await page.get_by_role("button", name="Turn on two-factor login").click()
    await expect(page.get_by_text("Two-factor login: on")).to_be_visible()
    await page.get_by_role("button", name="Log out").click()

    form = page.get_by_role("form", name="Log in")
    await form.get_by_label("Email").fill("careful@example.com")
    await form.get_by_label("Password").fill(PASSWORD)
    await form.get_by_role("button", name="Log in").click()
    await expect(form.get_by_role("alert")).to_contain_text("authenticator")
    # The confirmation used this 30 s step's code; the next step's is also accepted.
    await form.get_by_label("Authenticator code").fill(totp.at(time.time() + 30))
    await form.get_by_role("button", name="Log in").click()
    await expect(page.locator("details.account summary")).to_have_text("careful@example.com")


async def test_sockets_reconnect_by_themselves_and_the_price_band_is_checked(web_server, base_url,
                                                                            browser):
    seller, buyer = await seller_and_buyer(browser, base_url, "steady@example.com",
                                           "taker@example.com")
    for page in (seller, buyer):
        await expect(page.get_by_role("status").filter(has_text="Market data")).to_contain_text(
            "Account: live")
    ticket = await order(seller, "Sell", type_="Limit", quantity="10", price="101.50")
    await expect(ticket.get_by_role("status")).to_contain_text("new, filled 0 of 10")
    open_orders = seller.get_by_role("table", name="Open orders")
    await expect(open_orders.get_by_role("row").filter(has_text="101.50")).to_contain_text("sell")

    # The server drops every WebSocket, public and private, of both pages.
    hub = web_server.app[keys.HUB]
    streams = set(hub.by_stream)
    assert "aapl@trade" in streams and sum(s.startswith("@user:") for s in streams) == 2
    for sub in set().union(*hub.by_stream.values()):
        hub.end(sub, "test: server going away", 1001)
    assert not hub.by_stream
    # The pages open new sockets by themselves (nothing on the page is touched), for the
    # same streams: the market's and each account's.
    deadline = time.monotonic() + WAIT_MS / 1000
    while not streams <= set(hub.by_stream):
        assert time.monotonic() < deadline, f"not resubscribed: {streams - set(hub.by_stream)}"
        await asyncio.sleep(0.1)
    for page in (seller, buyer):
        await expect(page.get_by_role("status").filter(has_text="Market data")).to_contain_text(
            "Market data: live")
        await expect(page.get_by_role("status").filter(has_text="Market data")).to_contain_text(
            "Account: live")

    # A trade after the reconnection reaches the seller's page over both new sockets: the
    # tape (public) and the seller's own orders (private; no polling while the socket is live).
    ticket = await order(buyer, "Buy", type_="Market", quantity="4")
    await expect(ticket.get_by_role("status")).to_contain_text("filled, filled 4 of 4")
    tape = seller.get_by_role("table", name="Trade tape")
    await expect(tape.get_by_role("row").nth(1)).to_contain_text("101.50")
    await expect(tape.get_by_role("row").nth(1)).to_contain_text("4")
    await expect(seller.get_by_test_id("last-price")).to_have_text("101.50")
    orders = seller.get_by_role("region", name="Orders")
    await orders.get_by_role("tab", name="Trade history").click()
    trade = orders.get_by_role("table", name="Trade history").get_by_role("row").nth(1)
    await expect(trade).to_contain_text("101.50")
    await expect(trade).to_contain_text("maker")
    await orders.get_by_role("tab", name="Order history").click()
    await expect(orders.get_by_role("table", name="Order history").get_by_role("row").nth(1)
                 ).to_contain_text("partially filled")
    await orders.get_by_role("tab", name=re.compile("^Open orders")).click()
    await expect(buyer.get_by_test_id("last-price")).to_have_text("101.50")

    # The price band (PERCENT_PRICE_BY_SIDE, 20% around the last price 101.50): outside it
    # the page refuses and sends nothing; its edges, exact decimals, pass.
    ticket = await order(seller, "Sell", type_="Limit", quantity="1", price="121.81")
    await expect(ticket.get_by_role("alert")).to_have_text(
        "Price must be between 81.20 and 121.80 for a sell order "
        "(the price band around the last price 101.50).")
    ticket = await order(buyer, "Buy", type_="Limit", quantity="1", price="81.19")
    await expect(ticket.get_by_role("alert")).to_contain_text("between 81.20 and 121.80 for a buy")
    assert [o["price"] for o in await server_open_orders(seller)] == ["101.50"]
    assert await server_open_orders(buyer) == []
    await expect(open_orders.get_by_role("row")).to_have_count(2)   # header and the 101.50 order

    ticket = await order(seller, "Sell", type_="Limit", quantity="1", price="121.80")
    await expect(ticket.get_by_role("status")).to_contain_text("new, filled 0 of 1")
    ticket = await order(buyer, "Buy", type_="Limit", quantity="1", price="81.20")
    await expect(ticket.get_by_role("status")).to_contain_text("new, filled 0 of 1")
    assert sorted(o["price"] for o in await server_open_orders(seller)) == ["101.50", "121.80"]
    assert [o["price"] for o in await server_open_orders(buyer)] == ["81.20"]
