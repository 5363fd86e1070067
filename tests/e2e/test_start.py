"""Sign-in and passphrase screens under Pilot, against a real API and a real SQLCipher cache."""

from __future__ import annotations

import secrets
import time
from pathlib import Path
from typing import Any

import pytest
from keyring.backends.fail import Keyring as FailKeyring
from textual import events
from textual.app import App
from textual.screen import Screen
from textual.widgets import Input

from assistant_tui.launch import StartApp, Started, cache_exists
from assistant_tui.screens.passphrase import MIN_LENGTH, PassphraseScreen, check_new_passphrase
from assistant_tui.screens.sign_in import SignedIn, SignInScreen, wait_text
from backend_client import ApiClient
from backend_client.retries import RetryPolicy
from local_cache import LocalCache
from local_cache.errors import WrongPassphrase
from tests.e2e.conftest import SeededApi
from tests.support.ports import free_port

SIZE = (100, 30)


class Host(App[None]):
    """Pushes one screen and keeps what it dismissed with."""

    def __init__(self, screen: Screen[Any]) -> None:
        super().__init__()
        self._first = screen
        self.results: list[Any] = []

    def on_mount(self) -> None:
        self.push_screen(self._first, callback=self.results.append)


async def type_into(pilot: Any, selector: str, text: str) -> None:
    field = pilot.app.screen.query_one(selector, Input)
    field.focus()
    field.value = text
    await pilot.press("enter")


async def wait_until(pilot: Any, condition: Any, what: str, within: float = 30.0) -> None:
    """Poll the UI for a condition with a deadline (workers run in the background)."""
    deadline = time.monotonic() + within
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await pilot.pause(0.05)


def fail_keyring() -> Any:
    return FailKeyring()


def open_with_fail_keyring(data_dir: Path, username: str, passphrase: str) -> LocalCache:
    return LocalCache.open(data_dir, username, passphrase, keyring_backend=fail_keyring())


# --- sign-in ----------------------------------------------------------------------


async def test_wrong_password_is_shown_inline_and_clears_the_field(seeded_api: SeededApi) -> None:
    async with ApiClient(seeded_api.url) as client:
        screen = SignInScreen(
            server=seeded_api.url,
            authenticate=client.login,
            offline_cache_exists=lambda _u: False,
            username=seeded_api.user_with_role("assistant", skip=(seeded_api.demo_user,)),
        )
        app = Host(screen)
        async with app.run_test(size=SIZE) as pilot:
            await type_into(pilot, "#password", "not-the-password-" + secrets.token_hex(4))
            await wait_until(pilot, lambda: bool(screen.error_text), "an error line")
            assert screen.error_text == "Wrong username or password."
            assert screen.query_one("#password", Input).value == ""
            assert app.results == []  # still on the sign-in screen
            assert app.screen is screen


async def test_lockout_says_how_long_to_wait(seeded_api: SeededApi) -> None:
    victim = seeded_api.user_with_role("assistant", skip=(seeded_api.demo_user, "ava.lindqvist"))
    async with ApiClient(seeded_api.url) as client:
        screen = SignInScreen(
            server=seeded_api.url,
            authenticate=client.login,
            offline_cache_exists=lambda _u: False,
            username=victim,
        )
        app = Host(screen)
        async with app.run_test(size=SIZE) as pilot:
            for _ in range(12):
                await type_into(pilot, "#password", "wrong-" + secrets.token_hex(4))
                await wait_until(pilot, lambda: not screen.busy, "the attempt to finish")
                if "locked out" in screen.error_text:
                    break
            assert screen.error_text.startswith("Too many failed sign-ins: locked out")
            assert " min" in screen.error_text  # the server's Retry-After, in minutes


async def test_right_password_dismisses_with_the_user(seeded_api: SeededApi) -> None:
    async with ApiClient(seeded_api.url) as client:
        screen = SignInScreen(
            server=seeded_api.url,
            authenticate=client.login,
            offline_cache_exists=lambda _u: False,
        )
        app = Host(screen)
        async with app.run_test(size=SIZE) as pilot:
            await type_into(pilot, "#username", seeded_api.demo_user)
            await type_into(pilot, "#password", seeded_api.password)
            await wait_until(pilot, lambda: bool(app.results), "the screen to dismiss")
        result = app.results[0]
        assert isinstance(result, SignedIn)
        assert result.user is not None and result.user.username == seeded_api.demo_user
        assert not result.offline
        assert client.token  # the client keeps the token for the workspace


async def test_keys_typed_straight_after_enter_go_to_the_password(seeded_api: SeededApi) -> None:
    """Type-ahead: Pilot types username, Enter and password with no wait for focus."""
    async with ApiClient(seeded_api.url) as client:
        screen = SignInScreen(
            server=seeded_api.url, authenticate=client.login, offline_cache_exists=lambda _u: False
        )
        app = Host(screen)
        async with app.run_test(size=SIZE) as pilot:
            await pilot.press(*seeded_api.demo_user, "enter", *seeded_api.password, "enter")
            await wait_until(pilot, lambda: bool(app.results), "the screen to dismiss")
        result = app.results[0]
        assert isinstance(result, SignedIn) and result.user is not None
        assert result.user.username == seeded_api.demo_user


async def test_a_burst_of_keys_after_enter_lands_in_the_password(seeded_api: SeededApi) -> None:
    """A paste or a fast typist: every key is queued before the App handles the Enter."""
    async with ApiClient(seeded_api.url) as client:
        screen = SignInScreen(
            server=seeded_api.url, authenticate=client.login, offline_cache_exists=lambda _u: False
        )
        app = Host(screen)
        async with app.run_test(size=SIZE) as pilot:
            await pilot.press(*seeded_api.demo_user)
            driver = app._driver
            assert driver is not None
            for key in ["enter", *seeded_api.password]:
                event = events.Key(key, None if key == "enter" else key)
                event.set_sender(app)
                driver.send_message(event)
            password = screen.query_one("#password", Input)
            await wait_until(
                pilot, lambda: password.value == seeded_api.password, "the password field"
            )
            assert screen.query_one("#username", Input).value == seeded_api.demo_user
            await pilot.press("enter")
            await wait_until(pilot, lambda: bool(app.results), "the screen to dismiss")
        result = app.results[0]
        assert isinstance(result, SignedIn) and result.user is not None


async def test_unreachable_server_offers_the_offline_cache(tmp_path: Path) -> None:
    username = "offline.user"
    cache = open_with_fail_keyring(tmp_path, username, "a-long-enough-passphrase")
    cache.close()
    assert cache_exists(tmp_path, username, fail_keyring())
    dead = f"http://127.0.0.1:{free_port()}"
    async with ApiClient(dead, retry=RetryPolicy(budget=0.3, attempts=2)) as client:
        screen = SignInScreen(
            server=dead,
            authenticate=client.login,
            offline_cache_exists=lambda u: cache_exists(tmp_path, u, fail_keyring()),
            username=username,
        )
        app = Host(screen)
        async with app.run_test(size=SIZE) as pilot:
            await type_into(pilot, "#password", "whatever-" + secrets.token_hex(4))
            await wait_until(pilot, lambda: bool(screen.error_text), "an error line")
            assert screen.error_text == f"Server unreachable at {dead}."
            assert screen.unreachable
            await pilot.press("ctrl+o")
            await wait_until(pilot, lambda: bool(app.results), "the offline choice")
        assert app.results == [SignedIn(username=username, user=None)]


async def test_unreachable_without_a_cache_offers_nothing(tmp_path: Path) -> None:
    dead = f"http://127.0.0.1:{free_port()}"
    async with ApiClient(dead, retry=RetryPolicy(budget=0.3, attempts=2)) as client:
        screen = SignInScreen(
            server=dead,
            authenticate=client.login,
            offline_cache_exists=lambda u: cache_exists(tmp_path, u, fail_keyring()),
            username="nobody.here",
        )
        app = Host(screen)
        async with app.run_test(size=SIZE) as pilot:
            await type_into(pilot, "#password", "whatever-" + secrets.token_hex(4))
            await wait_until(pilot, lambda: bool(screen.error_text), "an error line")
            assert not screen.unreachable  # so Ctrl+O is not offered
            await pilot.press("ctrl+o")
            await pilot.pause()
            assert app.results == []


def test_wait_text() -> None:
    assert wait_text(900) == "15 min"
    assert wait_text(61.2) == "1 min 2 s"
    assert wait_text(35) == "35 s"
    assert wait_text(None) == "a while"


# --- passphrase -------------------------------------------------------------------


def test_new_passphrase_rules() -> None:
    good = "x" * MIN_LENGTH
    assert check_new_passphrase(good, good) is None
    assert check_new_passphrase("short", "short") is not None
    assert check_new_passphrase(good, good + "y") is not None
    assert check_new_passphrase(" " + good, " " + good) is not None


async def test_first_run_chooses_and_confirms(tmp_path: Path) -> None:
    username = "first.run"
    screen: PassphraseScreen[LocalCache] = PassphraseScreen(
        mode="create",
        open_cache=lambda p: open_with_fail_keyring(tmp_path, username, p),
        username=username,
    )
    app = Host(screen)
    chosen = "correct-horse-" + secrets.token_hex(4)
    async with app.run_test(size=SIZE) as pilot:
        await type_into(pilot, "#passphrase", chosen)
        await type_into(pilot, "#confirm", chosen + "-typo")
        assert screen.error_text == "The two entries differ; type the passphrase again."
        await type_into(pilot, "#passphrase", "short")
        await type_into(pilot, "#confirm", "short")
        assert screen.error_text.startswith("Use at least")
        assert not cache_exists(tmp_path, username, fail_keyring())
        await type_into(pilot, "#passphrase", chosen)
        await type_into(pilot, "#confirm", chosen)
        await wait_until(pilot, lambda: bool(app.results), "the cache to open")
    cache = app.results[0]
    try:
        assert isinstance(cache, LocalCache)
        assert cache.verify_passphrase(chosen)
    finally:
        cache.close()
    assert cache_exists(tmp_path, username, fail_keyring())


async def test_later_run_unlocks_and_rejects_a_wrong_passphrase(tmp_path: Path) -> None:
    username = "later.run"
    chosen = "battery-staple-" + secrets.token_hex(4)
    open_with_fail_keyring(tmp_path, username, chosen).close()
    screen: PassphraseScreen[LocalCache] = PassphraseScreen(
        mode="unlock",
        open_cache=lambda p: open_with_fail_keyring(tmp_path, username, p),
        username=username,
    )
    app = Host(screen)
    async with app.run_test(size=SIZE) as pilot:
        await type_into(pilot, "#passphrase", chosen + "-wrong")
        await wait_until(pilot, lambda: bool(screen.error_text), "the wrong-passphrase line")
        assert screen.error_text == "Wrong passphrase."
        assert app.results == []
        with pytest.raises(WrongPassphrase):
            open_with_fail_keyring(tmp_path, username, chosen + "-wrong")
        await type_into(pilot, "#passphrase", chosen)
        await wait_until(pilot, lambda: bool(app.results), "the cache to open")
    app.results[0].close()


async def test_start_app_signs_in_then_creates_the_cache(
    seeded_api: SeededApi, tmp_path: Path
) -> None:
    chosen = "start-flow-" + secrets.token_hex(6)
    async with ApiClient(seeded_api.url) as client:
        app = StartApp(
            server=seeded_api.url,
            authenticate=client.login,
            data_dir=tmp_path,
            username=seeded_api.demo_user,
            keyring_backend=fail_keyring(),
        )
        async with app.run_test(size=SIZE) as pilot:
            await type_into(pilot, "#password", seeded_api.password)
            await wait_until(
                pilot, lambda: isinstance(app.screen, PassphraseScreen), "the passphrase screen"
            )
            assert app.screen.mode == "create"
            await type_into(pilot, "#passphrase", chosen)
            await type_into(pilot, "#confirm", chosen)
            await wait_until(pilot, lambda: app.return_value is not None, "the app to exit")
        started = app.return_value
    assert isinstance(started, Started)
    try:
        assert started.signed_in.user is not None
        assert started.signed_in.user.username == seeded_api.demo_user
    finally:
        started.cache.close()
    assert cache_exists(tmp_path, seeded_api.demo_user, fail_keyring())


def test_the_cache_is_opened_with_the_configured_retention(tmp_path: Path) -> None:
    """`retention_days` from the settings reaches `LocalCache.open` (it purges by it)."""

    async def never(username: str, password: str) -> Any:
        raise AssertionError("not signing in here")

    app = StartApp(
        server="https://127.0.0.1:1",
        authenticate=never,
        data_dir=tmp_path,
        keyring_backend=FailKeyring(),
        retention_days=30,
    )
    opener = app._opener("avery.assistant")
    assert opener.keywords["retention_days"] == 30  # type: ignore[attr-defined]
    assert opener.func == LocalCache.open  # type: ignore[attr-defined]
