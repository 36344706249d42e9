"""The trading page in Chromium (Playwright): where Chromium is, opening the page, signing up."""

import os

from playwright.async_api import Page, expect

CHROMIUM = os.environ.get("EXCHANGE_TEST_CHROMIUM", "/usr/bin/chromium")
PASSWORD = "correct horse battery"
WAIT_MS = 20_000

expect.set_options(timeout=WAIT_MS)


async def open_page(browser, base_url: str, viewport: dict) -> Page:
    context = await browser.new_context(viewport=viewport, base_url=base_url)
    page = await context.new_page()
    page.on("pageerror", lambda e: print(f"page error: {e}"))
    await page.goto("/")
    await expect(page.get_by_role("combobox", name="Market", exact=True)).to_be_visible()
    return page


async def sign_up(page: Page, email: str) -> None:
    await page.get_by_role("button", name="Sign up").click()
    await page.get_by_label("Email").fill(email)
    await page.get_by_label("Password").fill(PASSWORD)
    await page.get_by_role("button", name="Create account").click()
    await expect(page.locator("details.account summary")).to_have_text(email)
    await expect(page.get_by_role("region", name="Order ticket")).to_be_visible()
