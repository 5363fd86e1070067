"""First sign-in with a one-time set-up code: choose a password.

A practice's manager applies its file (`assistant-api practice apply`) and hands
each new staff member a set-up code. Here they type their username, the code and
a new password twice; the screen runs the `setup` coroutine (the API client's
`setup_password`) in a worker and dismisses with the username and password, so
the sign-in screen can sign in with them at once. No I/O in the screen itself.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.reactive import reactive
from textual.screen import Screen
from textual.widgets import Footer, Input, Label, Static

from backend_client.errors import ApiError, ClientError, Offline, RateLimited, Unauthorized

SetupPassword = Callable[[str, str, str], Awaitable[None]]
MIN_PASSWORD = 8  # the server's rule (SetupRequest.password)


# One line under the form saying what the focused field wants.
STEP_HINTS = {
    "username": "Your username, as your manager gave it.",
    "code": "The set-up code your manager gave you (dashes and case do not matter).",
    "new-password": f"Choose a password: at least {MIN_PASSWORD} characters.",
    "again": "Type the same password again, then Enter.",
}


@dataclass(frozen=True)
class PasswordChosen:
    username: str
    password: str


def check_new_password(password: str, again: str) -> str | None:
    """Why the new password cannot be used, or None."""
    if len(password) < MIN_PASSWORD:
        return f"Choose a password of at least {MIN_PASSWORD} characters."
    if password != again:
        return "The two entries differ; type the password again."
    return None


def describe_setup_failure(exc: BaseException, server: str) -> str:
    """One line; never the code or the password."""
    if isinstance(exc, Unauthorized):
        return "That set-up code is not valid (used, expired or mistyped). Ask your manager."
    if isinstance(exc, RateLimited):
        return "Too many tries; wait a while and try again."
    if isinstance(exc, Offline):
        return f"Server unreachable at {server}."
    if isinstance(exc, ApiError):
        return f"Set-up failed: {exc.message}"
    if isinstance(exc, ClientError):
        return f"Set-up failed: {exc}"
    return f"Set-up failed ({type(exc).__name__})."


class SetupCodeScreen(Screen[PasswordChosen | None]):
    """Username, set-up code, new password twice. Ctrl+B goes back to sign-in."""

    DEFAULT_CSS = """
    SetupCodeScreen { align: center middle; }
    SetupCodeScreen #setup-form {
        width: 64; height: auto; padding: 1 2;
        border: round $primary; background: $surface;
    }
    SetupCodeScreen #setup-title { text-style: bold; margin-bottom: 1; }
    SetupCodeScreen Input { margin-bottom: 1; }
    SetupCodeScreen #setup-error { color: $error; height: auto; }
    SetupCodeScreen #setup-busy { color: $text-muted; height: auto; }
    SetupCodeScreen #setup-step { color: $text-muted; height: auto; }
    """

    BINDINGS = [
        Binding("ctrl+b", "back", "Back to sign-in", id="setup_code.back"),
    ]

    busy: reactive[bool] = reactive(False)

    def __init__(self, *, server: str, setup: SetupPassword, username: str = "") -> None:
        super().__init__()
        self.server = server
        self._setup = setup
        self._initial_username = username

    def compose(self) -> ComposeResult:
        with Vertical(id="setup-form"):
            yield Label("I have a set-up code: choose your password", id="setup-title")
            yield Input(
                value=self._initial_username, placeholder="Username", id="username", max_length=64
            )
            yield Input(
                placeholder="Set-up code (e.g. ABCD-EFGH-JKLM-NPQR)", id="code", max_length=64
            )
            yield Input(
                placeholder="New password", password=True, id="new-password", max_length=256
            )
            yield Input(placeholder="New password again", password=True, id="again", max_length=256)
            yield Static(STEP_HINTS["code"], id="setup-step")
            yield Static("", id="setup-busy")
            yield Static("", id="setup-error")
        yield Footer()

    def on_mount(self) -> None:
        self._move_to("#code" if self._initial_username else "#username")

    def _move_to(self, selector: str) -> None:
        """Focus a field now (not on the next idle) and say what it wants."""
        self.set_focus(self.query_one(selector, Input))
        self.query_one("#setup-step", Static).update(STEP_HINTS[selector.lstrip("#")])

    @property
    def error_text(self) -> str:
        return str(self.query_one("#setup-error", Static).content)

    def show_error(self, text: str) -> None:
        self.query_one("#setup-error", Static).update(text)

    def watch_busy(self, busy: bool) -> None:
        self.query_one("#setup-busy", Static).update("Setting your password…" if busy else "")

    @on(Input.Submitted, "#username")
    def _to_code(self) -> None:
        self._move_to("#code")

    @on(Input.Submitted, "#code")
    def _to_password(self) -> None:
        self._move_to("#new-password")

    @on(Input.Submitted, "#new-password")
    def _to_again(self) -> None:
        self._move_to("#again")

    @on(Input.Submitted, "#again")
    def _submit(self) -> None:
        username = self.query_one("#username", Input).value.strip()
        code = self.query_one("#code", Input).value.strip()
        password = self.query_one("#new-password", Input).value
        again = self.query_one("#again", Input).value
        if not username or not code:
            self.show_error("Enter your username and the set-up code.")
            self.query_one("#username" if not username else "#code", Input).focus()
            return
        problem = check_new_password(password, again)
        if problem:
            self.show_error(problem)
            self._clear_passwords()
            return
        self.show_error("")
        self.busy = True
        self._set_password(username, code, password)

    def _clear_passwords(self) -> None:
        self.query_one("#new-password", Input).value = ""
        self.query_one("#again", Input).value = ""
        self._move_to("#new-password")

    @work(exclusive=True, group="setup-code", exit_on_error=False)
    async def _set_password(self, username: str, code: str, password: str) -> None:
        try:
            await self._setup(username, code, password)
        except Exception as exc:
            self.show_error(describe_setup_failure(exc, self.server))
            self._clear_passwords()
            return
        finally:
            self.busy = False
        self.dismiss(PasswordChosen(username=username, password=password))

    def action_back(self) -> None:
        self.dismiss(None)
