"""Sign-in: username and password, with every failure told inline.

The screen does no I/O itself: it is given an `authenticate` coroutine (the API
client's `login`) and an `offline_cache_exists` check, runs the call in a
worker, and dismisses with a `SignedIn` result. Failures stay on the screen as
one line: wrong password, locked out (with the wait the server asked for), or
server unreachable, where Ctrl+O opens an existing cache offline. Given a
`setup` coroutine, F2 ("I have a set-up code") lets a new staff member choose
their first password and then signs them in with it.
"""

from __future__ import annotations

import math
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.reactive import reactive
from textual.screen import Screen
from textual.widgets import Footer, Input, Label, Static

from assistant_tui.screens.setup_code import PasswordChosen, SetupCodeScreen, SetupPassword
from backend_client.errors import (
    ApiError,
    ClientError,
    InsecureURL,
    Offline,
    RateLimited,
    Unauthorized,
)
from followup_core.schemas import LoginResponse, UserOut

Authenticate = Callable[[str, str], Awaitable[LoginResponse]]


@dataclass(frozen=True)
class SignedIn:
    """How sign-in ended: a user from the server, or the offline choice (user is None)."""

    username: str
    user: UserOut | None

    @property
    def offline(self) -> bool:
        return self.user is None


def wait_text(seconds: float | None) -> str:
    """'4 min 10 s', '35 s', or 'a while' when the server gave no Retry-After."""
    if seconds is None or seconds <= 0:
        return "a while"
    whole = math.ceil(seconds)
    minutes, secs = divmod(whole, 60)
    if minutes and secs:
        return f"{minutes} min {secs} s"
    return f"{minutes} min" if minutes else f"{secs} s"


def describe_failure(exc: BaseException, server: str) -> str:
    """One line for the user; never the password, never a token."""
    if isinstance(exc, Unauthorized):
        return "Wrong username or password."
    if isinstance(exc, RateLimited):
        return f"Too many failed sign-ins: locked out, try again in {wait_text(exc.retry_after)}."
    if isinstance(exc, Offline):
        return f"Server unreachable at {server}."
    if isinstance(exc, InsecureURL):
        return "Refused: plain http is allowed only to a loopback address; use https."
    if isinstance(exc, ApiError):
        return f"Sign-in failed: {exc.message}"
    if isinstance(exc, ClientError):
        return f"Sign-in failed: {exc}"
    return f"Sign-in failed ({type(exc).__name__})."


class SignInScreen(Screen[SignedIn]):
    """Username, password, Enter. Errors appear under the form."""

    DEFAULT_CSS = """
    SignInScreen { align: center middle; }
    SignInScreen #sign-in-form {
        width: 64; height: auto; padding: 1 2;
        border: round $primary; background: $surface;
    }
    SignInScreen #sign-in-title { text-style: bold; margin-bottom: 1; }
    SignInScreen Input { margin-bottom: 1; }
    SignInScreen #sign-in-error { color: $error; height: auto; }
    SignInScreen #sign-in-offline { color: $warning; height: auto; }
    SignInScreen #sign-in-busy { color: $text-muted; height: auto; }
    """

    BINDINGS = [
        Binding("ctrl+o", "open_offline", "Open cache offline", id="sign_in.offline"),
        Binding("f2", "setup_code", "I have a set-up code", id="sign_in.setup_code"),
        Binding("ctrl+q", "app.quit", "Quit", id="sign_in.quit"),
        # Enter on the username moves focus as the key is dispatched (a priority
        # binding runs in the App's own key loop), so keys typed straight after it
        # already go to the password field; see `action_next_field`.
        Binding("enter", "next_field", "Next field", show=False, priority=True),
    ]

    unreachable: reactive[bool] = reactive(False, bindings=True)
    busy: reactive[bool] = reactive(False)

    def __init__(
        self,
        *,
        server: str,
        authenticate: Authenticate,
        offline_cache_exists: Callable[[str], bool],
        username: str | None = None,
        setup: SetupPassword | None = None,
    ) -> None:
        super().__init__()
        self.server = server
        self._authenticate = authenticate
        self._setup = setup
        self._offline_cache_exists = offline_cache_exists
        self._initial_username = username or ""

    def compose(self) -> ComposeResult:
        with Vertical(id="sign-in-form"):
            yield Label(f"Sign in to {self.server}", id="sign-in-title")
            yield Input(
                value=self._initial_username, placeholder="Username", id="username", max_length=64
            )
            yield Input(placeholder="Password", password=True, id="password", max_length=256)
            yield Static("", id="sign-in-busy")
            yield Static("", id="sign-in-error")
            yield Static("", id="sign-in-offline")
            if self._setup is not None:
                yield Static("New here? F2: I have a set-up code.", id="sign-in-setup-hint")
        yield Footer()

    def on_mount(self) -> None:
        target = "#password" if self._initial_username else "#username"
        self.query_one(target, Input).focus()

    @property
    def error_text(self) -> str:
        return str(self.query_one("#sign-in-error", Static).content)

    def show_error(self, text: str) -> None:
        self.query_one("#sign-in-error", Static).update(text)

    def watch_busy(self, busy: bool) -> None:
        self.query_one("#sign-in-busy", Static).update("Signing in…" if busy else "")

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        # The footer offers offline only when it is possible.
        if action == "open_offline":
            return self.unreachable
        if action == "setup_code":
            return self._setup is not None
        if action == "next_field":
            # Only on the username: elsewhere Enter reaches the focused widget.
            return self.focused is self.query_one("#username", Input)
        return True

    def action_next_field(self) -> None:
        """Enter on the username: focus the password field now, not after a message.

        `Widget.focus()` defers the change (`call_later`), and an `Input.Submitted`
        handler runs only after the Input has processed its queue; meanwhile the App
        forwards further keys to whatever is focused, so a fast typist's or a paste's
        password landed in the username. `Screen.set_focus` takes effect before the
        App dispatches the next key.
        """
        self.set_focus(self.query_one("#password", Input))

    @on(Input.Submitted, "#password")
    def _submit(self) -> None:
        username = self.query_one("#username", Input).value.strip()
        password = self.query_one("#password", Input).value
        if not username:
            self.show_error("Enter your username.")
            self.query_one("#username", Input).focus()
            return
        if not password:
            self.show_error("Enter your password.")
            return
        self.show_error("")
        self.busy = True
        self._sign_in(username, password)

    @work(exclusive=True, group="sign-in", exit_on_error=False)
    async def _sign_in(self, username: str, password: str) -> None:
        try:
            reply = await self._authenticate(username, password)
        except Exception as exc:
            self._failed(username, exc)
            return
        finally:
            self.busy = False
        self.dismiss(SignedIn(username=username, user=reply.user))

    def _failed(self, username: str, exc: BaseException) -> None:
        password = self.query_one("#password", Input)
        password.value = ""
        password.focus()
        self.unreachable = isinstance(exc, Offline)
        self.show_error(describe_failure(exc, self.server))
        offline = self.query_one("#sign-in-offline", Static)
        if self.unreachable and self._offline_cache_exists(username):
            offline.update("Your cached queue is on this machine: Ctrl+O opens it offline.")
        elif self.unreachable:
            self.unreachable = False
            offline.update("No cached queue for this user on this machine.")
        else:
            offline.update("")

    def action_open_offline(self) -> None:
        username = self.query_one("#username", Input).value.strip()
        if self.unreachable and username and self._offline_cache_exists(username):
            self.dismiss(SignedIn(username=username, user=None))

    def action_setup_code(self) -> None:
        """Choose a first password with a set-up code, then sign in with it."""
        if self._setup is None:
            return
        username = self.query_one("#username", Input).value.strip()
        self.app.push_screen(
            SetupCodeScreen(server=self.server, setup=self._setup, username=username),
            callback=self._password_chosen,
        )

    def _password_chosen(self, chosen: PasswordChosen | None) -> None:
        if chosen is None:
            return
        self.query_one("#username", Input).value = chosen.username
        self.show_error("")
        self.busy = True
        self._sign_in(chosen.username, chosen.password)
