"""Two real `assistant-tui` clients in two tmux sessions against one real API server:
an assistant works a call while a supervisor shadows them, both read off the screen
(issue 8: "the tmux end-to-end test runs two real clients against one server").

The assistant signs in, opens a confirmation task, moves to the script's second step,
marks identity verified, picks an outcome (`c`, then `x`: cancelled, which needs notes),
types the notes and saves. The
supervisor signs in, filters the team board to who is signed in, shadows the
assistant (Enter) and sees each of those changes on their own screen as it happens:
the task (the patient's phone, read off the assistant's screen), the step, identity,
the outcome key and the notes as typed, then the next task after the save. A whisper
typed by the supervisor (W) appears in the assistant's whisper strip; Ctrl+R there
shows as "read" on the supervisor's. The assistant's status bar names who watches.

Nothing sleeps to synchronise: every step polls `capture-pane` against a deadline.
"""

from __future__ import annotations

import os
import re
import secrets
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.test_demo import type_after_focus_moves
from tests.e2e.tmux import Tmux, TmuxError
from tests.support.seeded import SqliteTemplate
from tests.support.server import ApiServer

pytestmark = [pytest.mark.e2e, pytest.mark.usefixtures("tmux_available")]

ASSISTANT, ASSISTANT_NAME = "ava.lindqvist", "Ava Lindqvist"  # seeded, practice "hudson"
SUPERVISOR, SUPERVISOR_NAME = "supervisor", "Sam Supervisor"  # hudson and frontrange
NOTES = "Moving to Ohio"
WHISPER = "Offer the Thursday slot"
PHONE = re.compile(r"phone (\+\d{8,15})")
# The shadow view's session line names the observers ("Observed by: Sam Supervisor").
WATCHED_BY = re.compile(rf"observed by:? {SUPERVISOR_NAME}", re.IGNORECASE)


@pytest.fixture
def server(tmp_path: Path) -> Iterator[tuple[str, str]]:
    """A freshly seeded API of its own (no other test sees this assistant's work):
    (url, every seeded user's password)."""
    password = secrets.token_urlsafe(16)
    template = SqliteTemplate.build(tmp_path, size=100, password=password)
    url = template.copy(tmp_path)
    with ApiServer(url, env={"ASSISTANT_API_TRIGGER_INTERVAL": "0"}) as api:
        yield api.url, password


def start_client(tmp_path: Path, url: str, username: str) -> Tmux:
    """`assistant-tui --server URL --user NAME` in its own tmux server and data dir."""
    home = tmp_path / username
    home.mkdir()
    tmux = Tmux(home)
    env = {
        "ASSISTANT_TUI_DATA_DIR": str(home / "data"),
        "ASSISTANT_TUI_CONFIG": str(home / "no-config.toml"),
        "PATH": os.environ.get("PATH", ""),
        "HOME": str(home),
        "TERM": "xterm-256color",
    }
    tmux.start(
        [sys.executable, "-m", "assistant_tui.cli", "--server", url, "--user", username], env
    )
    return tmux


def type_password(tmux: Tmux, password: str) -> None:
    """Type into the sign-in screen's password field (one dot per character) and submit."""
    tmux.wait_text("Sign in to", within=60)
    for _ in range(4):
        tmux.type_text(password[:1])
        try:
            tmux.wait_text("•", within=3)
            break
        except TmuxError:
            continue
    tmux.type_text(password[1:])
    tmux.wait_text("•" * len(password), within=10)
    tmux.send("Enter")


def choose_passphrase(tmux: Tmux, passphrase: str) -> None:
    """First sign-in on this machine: choose the local cache's passphrase, twice."""
    tmux.wait_text("Step 1 of 2", within=60)
    tmux.type_text(passphrase)
    tmux.send("Enter")
    tmux.wait_text("Step 2 of 2", within=20)
    tmux.type_text(passphrase)
    tmux.send("Enter")


def live(screen: str) -> bool:
    return "● live" in screen


def quit_client(tmux: Tmux) -> str:
    tmux.send("C-q")
    tmux.wait_for(lambda _s: tmux.pane_dead(), "the app to exit", within=30)
    return tmux.capture()


def test_a_supervisor_shadows_an_assistant_working_a_call(
    tmp_path: Path, server: tuple[str, str]
) -> None:
    url, password = server
    assistant = start_client(tmp_path, url, ASSISTANT)
    supervisor = start_client(tmp_path, url, SUPERVISOR)
    try:
        # Both sign in and choose their cache passphrase; each waits while the other works.
        type_password(assistant, password)
        type_password(supervisor, password)
        choose_passphrase(assistant, "e2e-" + secrets.token_hex(6))
        choose_passphrase(supervisor, "e2e-" + secrets.token_hex(6))

        # The assistant's workspace is live with a queue; the first task's context shows.
        assistant.wait_for(live, "the assistant's live stream", within=60)
        assistant.wait_text("Attempts", within=30)

        # The board: filter to who is signed in (only the assistant), then shadow them.
        supervisor.wait_text("Team board", within=60)
        supervisor.wait_for(live, "the supervisor's live stream", within=60)
        supervisor.wait_text(ASSISTANT_NAME, within=20)
        supervisor.send("f")
        screen = supervisor.wait_for(
            lambda s: "showing signed in" in s and ASSISTANT_NAME in s and "Ben Okafor" not in s,
            "the board filtered to the signed-in assistant",
            within=20,
        )
        assert "online" in screen
        supervisor.send("Enter")
        supervisor.wait_for(
            lambda s: "ACTIVE" in s and WATCHED_BY.search(s) is not None,
            "the shadow session active, with us among its observers",
            within=20,
        )
        # The practice tells by default: the assistant's status bar names the observer.
        assistant.wait_text(f"observed by {SUPERVISOR_NAME}", within=20)

        # The assistant opens a confirmation task; the supervisor sees the same patient.
        assistant.send("/")
        type_after_focus_moves(assistant, "c", "onfirm", lambda typed: f"filter: {typed}")
        assistant.send("Enter")  # leaves the filter for the list
        assistant.send("Enter")  # opens the highlighted task: the script has the focus
        screen = assistant.wait_text("[c] confirmed", within=20)
        found = PHONE.search(assistant.wait_for(PHONE.search, "the patient's phone", within=20))
        assert found is not None
        phone = found.group(1)
        supervisor.wait_for(
            lambda s: phone in s and "Script · step 1/" in s, "the task on the shadow view"
        )

        # The next script step (Space), identity, the outcome key: each on the shadow view.
        assistant.send("Space")
        assistant.wait_text("Script · step 2/", within=20)
        supervisor.wait_text("Script · step 2/", within=20)
        assistant.send("F4")
        assistant.wait_text("identity verified ", within=20)
        supervisor.wait_for(
            lambda s: "identity verified" in s.replace("NOT verified", "X"),
            "identity verified on the shadow view",
            within=20,
        )
        assistant.send("c")
        supervisor.wait_text("Outcome: confirmed", within=20)
        # The patient changes their mind: cancelled, which needs notes (the focus moves
        # there); the notes show on the shadow view as they are typed.
        assistant.send("x")
        supervisor.wait_text("Outcome: cancelled", within=20)
        head, rest = NOTES.split(" ", 1)
        type_after_focus_moves(assistant, head, " " + rest, lambda typed: typed)
        supervisor.wait_text(NOTES, within=20)

        # A whisper from the shadow view reaches the assistant's strip; Ctrl+R reads it.
        supervisor.send("w")
        supervisor.wait_text(f"Whisper to {ASSISTANT_NAME}", within=20)
        type_after_focus_moves(supervisor, "Offer", WHISPER[len("Offer") :], lambda typed: typed)
        supervisor.send("Enter")
        supervisor.wait_text("whisper sent, not read yet", within=20)
        screen = assistant.wait_text(WHISPER, within=20)
        assert SUPERVISOR_NAME.split()[0] in screen  # the strip says who it is from
        assistant.send("C-r")
        assistant.wait_for(lambda s: WHISPER not in s, "the strip to clear", within=20)
        supervisor.wait_text(f"whisper read by {ASSISTANT_NAME}", within=20)
        # The whisper never entered the notes.
        assert WHISPER not in assistant.capture()

        # Save (Enter in the notes field): the next task opens on both screens.
        assistant.send("Enter")
        assistant.wait_text("Saved: cancelled", within=20)
        supervisor.wait_for(
            lambda s: "Outcome: -" in s and NOTES not in s and phone not in s,
            "the next task on the shadow view",
            within=20,
        )

        # Esc stops shadowing: back on the board, and the assistant is no longer told.
        supervisor.send("Escape")
        supervisor.wait_text("Team board", within=20)
        assistant.wait_for(
            lambda s: "observed by" not in s, "the observer gone from the status bar", within=20
        )

        for tmux in (assistant, supervisor):
            final = quit_client(tmux)
            assert "Traceback" not in final and password not in final
    finally:
        assistant.kill()
        supervisor.kill()
