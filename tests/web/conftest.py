"""Fixtures of the page's browser tests: the built page and Debian's Chromium (Playwright)."""

import os

import pytest
from playwright.async_api import async_playwright

from exchange.web.build import ensure_built
from tests.helpers.web_page import CHROMIUM


@pytest.fixture(scope="session")
def built_page():
    """The page as ``exchange serve`` builds it (built here if missing or stale)."""
    ensure_built()


@pytest.fixture
async def browser():
    if not os.access(CHROMIUM, os.X_OK):
        pytest.fail(f"no Chromium at {CHROMIUM}: apt-get install -y chromium "
                    f"(or set EXCHANGE_TEST_CHROMIUM)")
    async with async_playwright() as pw:
        b = await pw.chromium.launch(executable_path=CHROMIUM, headless=True,
                                     args=["--no-sandbox", "--disable-dev-shm-usage"])
        yield b
        await b.close()
