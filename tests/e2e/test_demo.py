"""The real `assistant-tui demo` in tmux: work one confirmation call and one escalation,
then find both on the central API the demo started.

Keys are the registry's (assistant_tui/actions.py): `/` filters the
queue, Enter opens the highlighted task, F4 marks identity verified, a letter
is an outcome key (`c` = confirmed), Ctrl+S saves, F2 escalates and the route
has a key of its own (`o` = complaint, followup_core.escalation.ROUTE_KEYS).
"""

from __future__ import annotations

import json
import os
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.e2e.tmux import Tmux, TmuxError

pytestmark = [pytest.mark.e2e, pytest.mark.usefixtures("tmux_available")]

COMPLAINT_REASON = "Complaint: caller unhappy about the wait on hold"


@contextmanager
def running_demo(
    tmp_path: Path, *extra: str, size: tuple[int, int] = (200, 50)
) -> Iterator[tuple[Tmux, Path]]:
    """`assistant-tui demo EXTRA…` in tmux (`size`: columns, rows); yields the session
    and the demo directory."""
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    tmux = Tmux(tmp_path, width=size[0], height=size[1])
    env = {
        "ASSISTANT_TUI_DATA_DIR": str(data_dir),
        "ASSISTANT_TUI_CONFIG": str(tmp_path / "no-config.toml"),
        "PATH": os.environ.get("PATH", ""),
        "HOME": str(tmp_path),
        "TERM": "xterm-256color",
        "COLORTERM": "truecolor",
    }
    argv = [sys.executable, "-m", "assistant_tui.cli", "demo", "--missed-call-every", "2"]
    tmux.start([*argv, *extra], env)
    try:
        yield tmux, data_dir / "demo"
    finally:
        tmux.kill()


@pytest.fixture
def demo(tmp_path: Path) -> Iterator[tuple[Tmux, Path]]:
    with running_demo(tmp_path) as started:
        yield started


@pytest.fixture
def small_demo(tmp_path: Path) -> Iterator[tuple[Tmux, Path]]:
    """The demo in the default size of most terminals, 80x24."""
    with running_demo(tmp_path, size=(80, 24)) as started:
        yield started


def wait_for_file(path: Path, within: float = 90.0) -> dict[str, Any]:
    deadline = time.monotonic() + within
    while not path.exists():
        if time.monotonic() > deadline:
            raise AssertionError(f"{path} never appeared")
        time.sleep(0.1)
    return dict(json.loads(path.read_text()))


@contextmanager
def api_login(url: str, username: str, password: str) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=url, timeout=10.0) as client:
        reply = client.post("/v1/auth/login", json={"username": username, "password": password})
        reply.raise_for_status()
        client.headers["Authorization"] = f"Bearer {reply.json()['token']}"
        yield client


def feed(client: httpx.Client) -> list[dict[str, Any]]:
    """Every change the caller may see, from the start of the feed."""
    changes: list[dict[str, Any]] = []
    after: str | None = None
    while True:
        params: dict[str, Any] = {"limit": 500}
        if after is not None:
            params["after"] = after
        page = client.get("/v1/sync", params=params).raise_for_status().json()
        changes += page["changes"]
        after = page["cursor"]
        if not page["has_more"]:
            return changes


def poll(condition: Any, what: str, within: float = 60.0) -> Any:
    deadline = time.monotonic() + within
    while True:
        found = condition()
        if found:
            return found
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.2)


def type_after_focus_moves(tmux: Tmux, head: str, rest: str, shown: Callable[[str], str]) -> None:
    """Type into a field that a key has just asked to focus.

    Textual moves focus a moment after the key that asks for it, so letters sent at once
    may still reach the old widget. Send the first chunk until the screen shows it in the
    field (`shown(typed)` is the text to look for), then the rest.
    """
    for _ in range(4):
        tmux.type_text(head)
        try:
            tmux.wait_text(shown(head), within=3)
            break
        except TmuxError:
            continue
    else:
        raise TmuxError(f"{head!r} never reached the field; the screen was:\n{tmux.last_screen}")
    tmux.type_text(rest)
    tmux.wait_text(shown(head + rest), within=10)


def test_demo_confirmation_and_escalation_reach_the_api(demo: tuple[Tmux, Path]) -> None:
    tmux, demo_dir = demo
    info = wait_for_file(demo_dir / "demo.json")
    assert info["api_url"].startswith("http://127.0.0.1:")
    assert (demo_dir / "demo.json").stat().st_mode & 0o077 == 0

    # The workspace is up, online (live once the server streams events), with a queue.
    tmux.wait_for(lambda s: "● online" in s or "● live" in s, "online", within=60)
    tmux.wait_for(lambda s: "confirm" in s, "a confirmation task in the queue")

    # One confirmation call: filter to confirmations, open, verify identity, confirm, save.
    tmux.wait_text("Attempts", within=30)  # the first task's context is on screen
    tmux.send("/")
    # A stray "c" before the filter has focus only picks "confirmed" on the open form.
    type_after_focus_moves(tmux, "c", "onfirm", lambda typed: f"filter: {typed}")
    tmux.send("Enter")  # leaves the filter for the list
    tmux.send("Enter")  # opens the highlighted task
    tmux.wait_text("[c] confirmed", within=20)  # the outcome form shows the workflow's keys
    tmux.send("F4")
    tmux.wait_for(lambda s: "identity verified" in s.replace("NOT ", "X"), "identity verified")
    tmux.send("c")
    tmux.send("C-s")
    tmux.wait_text("Saved: confirmed", within=20)

    # One escalation on the task that opens next: complaint, with a reason.
    tmux.send("F2")
    tmux.wait_text("press the route's key", within=20)
    tmux.send("o")
    tmux.wait_text("complaint →", within=20)
    head, rest = COMPLAINT_REASON.split(" ", 1)
    type_after_focus_moves(tmux, head, " " + rest, lambda typed: typed)
    tmux.send("Enter")
    tmux.wait_text("Escalated: complaint", within=20)
    screen = tmux.wait_for(lambda s: "outbox 0" in s, "the outbox to drain", within=60)
    assert "Traceback" not in screen

    # Both reached the central API.
    with api_login(info["api_url"], info["username"], info["password"]) as api:
        attempts = poll(
            lambda: [
                c
                for c in feed(api)
                if c["kind"] == "attempt" and c["data"] and c["data"]["outcome"] == "confirmed"
            ],
            "the confirmed attempt on the API",
        )
        assert attempts[0]["data"]["identity_verified"] is True
        escalations = poll(
            lambda: [
                c
                for c in feed(api)
                if c["kind"] == "escalation"
                and c["data"]
                and c["data"]["route"] == "complaint"
                and c["data"]["reason"] == COMPLAINT_REASON
            ],
            "the complaint escalation on the API",
        )
        assert escalations[0]["data"]["status"] == "open"
    # The simulated phone system keeps posting missed calls through the webhook:
    # the practice's missed-call tasks grow while we watch (a supervisor sees them all).
    boss = next(
        u["username"]
        for u in info["seed"]["users"]
        if u["role"] == "supervisor" and info["practice_id"] in u["practice_ids"]
    )
    with api_login(info["api_url"], boss, info["password"]) as supervisor:

        def missed_calls() -> int:
            return len(
                {
                    c["id"]
                    for c in feed(supervisor)
                    if c["kind"] == "task"
                    and c["data"]
                    and c["data"]["workflow"] == "missed-call-recovery"
                }
            )

        before = missed_calls()
        poll(lambda: missed_calls() > before, "a new missed-call task", within=30)

    # Quit: the server stops and nothing but the stop line is printed.
    tmux.send("C-q")
    tmux.wait_for(lambda _s: tmux.pane_dead(), "the demo to exit", within=30)
    final = tmux.capture()
    assert "Demo stopped" in final
    assert "Traceback" not in final
    assert info["password"] not in final and info["passphrase"] not in final
    with pytest.raises(httpx.TransportError):
        httpx.get(info["api_url"] + "/v1/health", timeout=2.0)


def test_demo_at_80x24_works_a_call(small_demo: tuple[Tmux, Path]) -> None:
    """The same confirmation call at 80x24: one pane at a time, the outcome keys and the
    current step always on screen; below 80x24 a message, then back (issue 12.1)."""
    tmux, demo_dir = small_demo
    info = wait_for_file(demo_dir / "demo.json")
    tmux.wait_for(lambda s: "● online" in s or "● live" in s, "online", within=60)
    tmux.wait_for(lambda s: "confirm" in s and "F7: next pane" in s, "the queue at 80x24")

    tmux.send("/")
    type_after_focus_moves(tmux, "c", "onfirm", lambda typed: f"filter: {typed}")
    tmux.send("Enter")  # leaves the filter for the list
    tmux.wait_text("Open task", within=20)  # the list has the focus (its footer keys)
    tmux.send("Enter")  # opens the highlighted task: the script takes the main pane
    # (The first task was open already, so the outcome keys alone do not show the open.)
    screen = tmux.wait_text("Script · step 1/", within=20)
    assert "[c] confirmed" in screen and "1. " in screen  # keys and current step in sight
    tmux.send("F7")  # the patient pane; the step stays on one line above the outcome
    screen = tmux.wait_text("Attempts", within=20)
    assert "Step 1/" in screen and "[c] confirmed" in screen
    tmux.send("F4")
    tmux.wait_for(lambda s: "identity verified" in s.replace("NOT ", "X"), "identity verified")
    tmux.send("c")
    tmux.send("C-s")
    tmux.wait_text("Saved: confirmed", within=20)

    tmux.resize(70, 20)
    tmux.wait_text("needs at least 80x24", within=20)
    tmux.resize(80, 24)
    screen = tmux.wait_for(lambda s: "needs at least" not in s, "the workspace back", within=20)
    assert "Traceback" not in screen

    with api_login(info["api_url"], info["username"], info["password"]) as api:
        attempts = poll(
            lambda: [
                c
                for c in feed(api)
                if c["kind"] == "attempt" and c["data"] and c["data"]["outcome"] == "confirmed"
            ],
            "the confirmed attempt on the API",
        )
        assert attempts[0]["data"]["identity_verified"] is True
    tmux.send("C-q")
    tmux.wait_for(lambda _s: tmux.pane_dead(), "the demo to exit", within=30)


def test_demo_as_supervisor_opens_the_team_view_not_a_queue(tmp_path: Path) -> None:
    with running_demo(tmp_path, "--as", "supervisor") as (tmux, demo_dir):
        info = wait_for_file(demo_dir / "demo.json")
        assert info["role"] == "supervisor" and info["username"] == "supervisor"
        screen = tmux.wait_text("Team board", within=60)
        tmux.wait_text("Signed in as Sam Supervisor", within=10)
        # No task list as a queue: no queue pane, no queue columns, no seeded patient.
        assert "─ Queue" not in screen and "PRIO" not in screen
        assert "Ellison, Chen" not in screen
        tmux.send("F8")  # the supervisor's other view
        tmux.wait_text("metrics", within=20)  # "Follow-up metrics" (or the offline note)
        tmux.send("C-q")
        tmux.wait_for(lambda _s: tmux.pane_dead(), "the demo to exit", within=30)
        assert "Traceback" not in tmux.capture()
