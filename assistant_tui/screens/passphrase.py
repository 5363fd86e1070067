"""The local passphrase of the encrypted cache: chosen on first run, asked later.

The screen is given an `open_cache(passphrase)` callable (blocking: Argon2id and
SQLCipher key derivation take a noticeable moment) and runs it in a thread
worker, so the UI keeps drawing. It dismisses with whatever `open_cache`
returned (the open cache). A wrong passphrase or a damaged cache is one line
under the field; the passphrase itself is never shown, logged or kept.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Generic, Literal, TypeVar

from textual import events, on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import Screen
from textual.widgets import Footer, Input, Label, Static

MIN_LENGTH = 10

Mode = Literal["create", "unlock"]
CacheT = TypeVar("CacheT")


def check_new_passphrase(first: str, second: str) -> str | None:
    """Why a new passphrase is not acceptable, or None when it is."""
    if len(first) < MIN_LENGTH:
        return f"Use at least {MIN_LENGTH} characters."
    if first.strip() != first:
        return "No spaces at the start or end: they are easy to lose."
    if first != second:
        return "The two entries differ; type the passphrase again."
    return None


def describe_open_failure(exc: BaseException) -> str:
    """One line naming what went wrong, by type (the cache's messages are one line, no PHI)."""
    name = type(exc).__name__
    if name == "WrongPassphrase":
        return "Wrong passphrase."
    if name == "CacheCorrupt":
        return f"The local cache is damaged: {exc}"
    message = str(exc).splitlines()[0] if str(exc) else name
    return f"Could not open the local cache: {message}"


class PassphraseScreen(Screen[CacheT], Generic[CacheT]):
    """First run: choose and confirm. Later runs: unlock."""

    DEFAULT_CSS = """
    PassphraseScreen { align: center middle; }
    PassphraseScreen #passphrase-form {
        width: 72; height: auto; padding: 1 2;
        border: round $primary; background: $surface;
    }
    PassphraseScreen #passphrase-title { text-style: bold; margin-bottom: 1; }
    PassphraseScreen #passphrase-help { color: $text-muted; margin-bottom: 1; }
    PassphraseScreen #passphrase-step { text-style: bold; }
    PassphraseScreen Input { margin-bottom: 1; }
    PassphraseScreen #passphrase-error { color: $error; height: auto; }
    PassphraseScreen #passphrase-busy { color: $text-muted; height: auto; }
    """

    BINDINGS = [Binding("ctrl+q", "app.quit", "Quit", id="passphrase.quit")]

    def __init__(self, *, mode: Mode, open_cache: Callable[[str], CacheT], username: str) -> None:
        super().__init__()
        self.mode: Mode = mode
        self._open_cache = open_cache
        self.username = username

    def compose(self) -> ComposeResult:
        with Vertical(id="passphrase-form"):
            if self.mode == "create":
                yield Label("Choose a passphrase for this machine's cache", id="passphrase-title")
                yield Static(
                    "Your queue is kept encrypted on this machine. The passphrase unlocks it "
                    "here and after an idle lock; it is not your sign-in password and is "
                    f"never sent anywhere. At least {MIN_LENGTH} characters.",
                    id="passphrase-help",
                )
                yield Static("", id="passphrase-step")
                yield Input(placeholder="Passphrase", password=True, id="passphrase")
                yield Input(placeholder="Passphrase again", password=True, id="confirm")
            else:
                yield Label(f"Unlock the local cache of {self.username}", id="passphrase-title")
                yield Input(placeholder="Passphrase", password=True, id="passphrase")
            yield Static("", id="passphrase-busy")
            yield Static("", id="passphrase-error")
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#passphrase", Input).focus()

    @property
    def error_text(self) -> str:
        return str(self.query_one("#passphrase-error", Static).content)

    def show_error(self, text: str) -> None:
        self.query_one("#passphrase-error", Static).update(text)

    @on(events.DescendantFocus)
    def _where_am_i(self, event: events.DescendantFocus) -> None:
        # Says which of the two fields takes the typing: the two look alike once filled.
        if self.mode != "create":
            return
        step = self.query_one("#passphrase-step", Static)
        if event.widget.id == "passphrase":
            step.update("Step 1 of 2: choose the passphrase")
        elif event.widget.id == "confirm":
            step.update("Step 2 of 2: type it again")

    @on(Input.Submitted, "#passphrase")
    def _first_entered(self) -> None:
        if self.mode == "create":
            self.query_one("#confirm", Input).focus()
        else:
            self._try(self.query_one("#passphrase", Input).value)

    @on(Input.Submitted, "#confirm")
    def _confirmed(self) -> None:
        first = self.query_one("#passphrase", Input)
        second = self.query_one("#confirm", Input)
        problem = check_new_passphrase(first.value, second.value)
        if problem is not None:
            self.show_error(problem)
            second.value = ""
            (second if len(first.value) >= MIN_LENGTH else first).focus()
            return
        self._try(first.value)

    def _try(self, passphrase: str) -> None:
        if not passphrase:
            self.show_error("Enter the passphrase.")
            return
        self.show_error("")
        self.query_one("#passphrase-busy", Static).update(
            "Creating the encrypted cache…" if self.mode == "create" else "Unlocking…"
        )
        for field in self.query(Input):
            field.disabled = True
        self._open(passphrase)

    @work(exclusive=True, group="passphrase", exit_on_error=False, thread=True)
    def _open(self, passphrase: str) -> None:
        try:
            cache = self._open_cache(passphrase)
        except Exception as exc:
            self.app.call_from_thread(self._failed, describe_open_failure(exc))
            return
        self.app.call_from_thread(self.dismiss, cache)

    def _failed(self, text: str) -> None:
        self.query_one("#passphrase-busy", Static).update("")
        for field in self.query(Input):
            field.disabled = False
            field.value = ""
        self.show_error(text)
        self.query_one("#passphrase", Input).focus()
