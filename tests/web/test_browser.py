"""`assistant-tui web` in headless Chromium (Debian's package): the same sign-in as the
terminal, then the manager's metrics dashboard; a second browser session of the same
user unlocks the cache the first one created.

The screen is read from xterm.js's buffer (see `tests/web/browser.py`), not from pixels.
"""

from __future__ import annotations

import asyncio
import secrets
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import aiohttp
import pytest

from tests.e2e.conftest import SeededApi
from tests.web.browser import BrowserUnavailable, Chromium, Page
from tests.web.webserver import WebServer

pytestmark = [pytest.mark.web, pytest.mark.timeout(300)]


@pytest.fixture
def chromium(tmp_path: Path) -> Iterator[Chromium]:
    try:
        with Chromium(tmp_path) as browser:
            yield browser
    except BrowserUnavailable as exc:
        pytest.skip(f"headless Chromium cannot run here: {exc}")


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


async def sign_in(page: Page, username: str, password: str) -> None:
    await page.wait_text("Sign in to", within=45)
    await page.type_text(username)
    await page.wait_text(username)
    focused = await page.border_color(username)
    assert focused is not None and await page.border_color("Password") != focused
    await page.press_enter()
    # Enter moves the focus to the password field when the App handles it; keys typed
    # before then would still land in the username. Wait until the password field is
    # drawn focused (its border in the colour the username's had) before typing.
    deadline = time.monotonic() + 30
    while await page.border_color("Password") != focused:
        assert time.monotonic() < deadline, "the password field never took the focus"
        await asyncio.sleep(0.1)  # a poll interval under a deadline
    await page.type_text(password)
    # The password field shows one dot per character: proof the keys went there.
    await page.wait_text("•" * len(password))
    await page.press_enter()


async def test_manager_signs_in_in_the_browser_and_sees_the_metrics_dashboard(
    tmp_path: Path, seeded_api: SeededApi, chromium: Chromium, http: aiohttp.ClientSession
) -> None:
    manager = seeded_api.user_with_role("manager")
    passphrase = "web-" + secrets.token_hex(6)
    with WebServer(seeded_api.url, tmp_path) as web:
        page = await chromium.page(http)
        try:
            await page.open(web.url)
            await sign_in(page, manager, seeded_api.password)
            await page.wait_text("Step 1 of 2", within=30)
            await page.type_text(passphrase)
            await page.press_enter()
            await page.wait_text("Step 2 of 2")
            await page.type_text(passphrase)
            await page.press_enter()
            screen = await page.wait_text("Follow-up metrics", within=60)
            assert seeded_api.password not in screen and passphrase not in screen
            assert "Traceback" not in screen
            assert await page.evaluate("location.href") == web.url + "/"
        finally:
            await page.close()

        # A second browser session is its own App process: the same user unlocks the
        # encrypted cache the first session created in the data directory.
        second = await chromium.page(http)
        try:
            await second.open(web.url)
            await sign_in(second, manager, seeded_api.password)
            await second.wait_text(f"Unlock the local cache of {manager}", within=30)
            await second.type_text(passphrase)
            await second.press_enter()
            await second.wait_text("Follow-up metrics", within=60)
            assert len(web.session_pids()) == 2  # one App process per browser session
        finally:
            await second.close()
        # Closing a tab ends its App process (the App quits, logs out and exits).
        for tab in (page, second):
            await chromium.close_tab(http, tab)
        deadline = time.monotonic() + 60
        while web.session_pids():
            assert time.monotonic() < deadline, f"sessions left running: {web.session_pids()}"
            await asyncio.sleep(0.1)  # a poll interval under a deadline
    assert "Traceback" not in web.log()
