"""A new practice from its file, end to end: one workflow turned on, a missed call opens
only that workflow's task, and its new assistant signs in with a one-time set-up code
through the real `assistant-tui --server` in tmux and works the task."""

from __future__ import annotations

import json
import os
import re
import secrets
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from central_api import models
from central_api.cli import main as api_cli
from central_api.db import make_engine, make_session_factory
from tests.e2e.tmux import Tmux, TmuxError
from tests.support.server import ApiServer

pytestmark = [pytest.mark.e2e, pytest.mark.usefixtures("tmux_available")]

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "practice.toml"


def _cli(capsys: pytest.CaptureFixture[str], *args: str) -> str:
    code = api_cli(list(args))
    out, err = capsys.readouterr()
    assert code == 0, err
    return out


def _type_field(
    tmux: Tmux, text: str, *, landed: Callable[[str], bool], strayed: Callable[[str], bool]
) -> None:
    """Type into a field that Enter has just focused.

    Textual moves focus a moment after the key, so the first character may still
    reach the previous field: send it, and if the screen shows it landed there
    (`strayed`), rub it out and send it again, until the new field shows it
    (`landed`). Then the rest.
    """
    head, rest = text[:1], text[1:]
    for _ in range(6):
        tmux.type_text(head)
        try:
            screen = tmux.wait_for(
                lambda s: landed(s) or strayed(s), "the first character", within=5
            )
        except TmuxError:
            continue
        if landed(screen):
            break
        tmux.send("BSpace")
        tmux.wait_for(lambda s: not strayed(s), "the stray character to go", within=5)
    else:
        raise TmuxError(f"{head!r} never reached the field:\n{tmux.last_screen}")
    tmux.type_text(rest)


def _dots(screen: str) -> list[int]:
    """The lengths of the masked password fields on screen, top to bottom."""
    return [len(m.group(1)) for m in re.finditer(r"▊  (•+)\s*▎", screen)]


def _poll(condition: Callable[[], Any], what: str, within: float = 60.0) -> Any:
    deadline = time.monotonic() + within
    while True:
        found = condition()
        if found:
            return found
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.2)  # poll interval, not synchronisation


def test_new_practice_one_workflow_set_up_code_sign_in_and_work(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    db = f"sqlite:///{tmp_path / 'clinic.db'}"
    monkeypatch.setenv("ASSISTANT_API_PASSWORD", secrets.token_urlsafe(12))
    _cli(
        capsys,
        "create-user",
        "--db",
        db,
        "--username",
        "root.admin",
        "--role",
        "admin",
        "--display-name",
        "Root Admin",
    )
    result = json.loads(
        _cli(capsys, "practice", "apply", str(EXAMPLE), "--db", db, "--by", "root.admin", "--json")
    )
    # The supervisor from the file approves the admin's draft: a second person.
    _cli(
        capsys,
        "practice",
        "approve-script",
        "maple-street",
        "missed-call-recovery",
        "--db",
        db,
        "--by",
        "helen.brooks",
    )
    code = result["setup_codes"]["sam.ortiz"]
    password = "sam-" + secrets.token_hex(6)
    passphrase = "cache-" + secrets.token_hex(6)

    with ApiServer(db, env={"ASSISTANT_API_TRIGGER_INTERVAL": "0"}) as server:
        missed = httpx.post(
            f"{server.url}/v1/triggers/missed-call",
            headers={"X-Practice-Key": result["webhook_key"]},
            json={"caller_phone": "+13125550177", "called_at": datetime.now(UTC).isoformat()},
            timeout=30,
        )
        assert missed.status_code == 201, missed.text
        task_id = missed.json()["task_id"]

        tmux = Tmux(tmp_path / "tmux")
        tmux.socket.parent.mkdir()
        env = {
            "ASSISTANT_TUI_DATA_DIR": str(tmp_path / "data"),
            "ASSISTANT_TUI_CONFIG": str(tmp_path / "no-config.toml"),
            "PATH": os.environ.get("PATH", ""),
            "HOME": str(tmp_path),
            "TERM": "xterm-256color",
        }
        argv = [sys.executable, "-m", "assistant_tui.cli", "--server", server.url]
        tmux.start([*argv, "--user", "sam.ortiz"], env)
        try:
            tmux.wait_text("F2: I have a set-up code", within=30)
            tmux.send("F2")
            tmux.wait_text("choose your password", within=20)
            # The username comes from --user; the code field has the focus.
            _type_field(tmux, code, landed=lambda s: code[:1] + " " in s, strayed=lambda s: False)
            tmux.wait_text(code, within=10)
            # Each Enter moves on to the next field, which the hint line names: wait
            # for it before typing, so no key reaches the field just left.
            tmux.send("Enter")
            tmux.wait_text("Choose a password", within=10)
            tmux.type_text(password)
            n = len(password)
            tmux.wait_for(lambda s: _dots(s) == [n], "the new password")
            tmux.send("Enter")
            tmux.wait_text("Type the same password again", within=10)
            tmux.type_text(password)
            tmux.wait_for(lambda s: _dots(s) == [n, n], "the password again")
            tmux.send("Enter")
            # Set up, then signed in with the new password: the cache passphrase comes next.
            tmux.wait_text("Step 1 of 2", within=60)
            tmux.type_text(passphrase)
            tmux.send("Enter")
            tmux.wait_text("Step 2 of 2", within=10)
            tmux.type_text(passphrase)
            tmux.send("Enter")
            tmux.wait_for(lambda s: "● online" in s or "● live" in s, "online", within=60)
            screen = tmux.wait_for(lambda s: "missed" in s.lower(), "the missed-call task")
            assert "confirm" not in screen.lower()  # no other workflow's work

            # Work it: open the task, no answer, save.
            tmux.send("Enter")
            tmux.wait_text("[n]", within=20)
            tmux.send("n")
            tmux.send("C-s")
            tmux.wait_text("Saved", within=20)
            screen = tmux.wait_for(lambda s: "outbox 0" in s, "the outbox to drain", within=60)
            assert "Traceback" not in screen
            assert password not in screen and code not in screen
        finally:
            tmux.send("C-q")
            try:
                tmux.wait_for(lambda _s: tmux.pane_dead(), "the app to exit", within=30)
            finally:
                tmux.kill()

    # The attempt reached the server on the one task, by the new assistant.
    engine = make_engine(db)
    try:
        with make_session_factory(engine)() as s:
            attempts = _poll(
                lambda: s.scalars(
                    select(models.Attempt).where(models.Attempt.task_id == task_id)
                ).all(),
                "the attempt in the database",
            )
            assert [a.outcome for a in attempts] == ["no-answer"]
            sam = s.scalars(select(models.User).where(models.User.username == "sam.ortiz")).one()
            assert attempts[0].assistant_id == sam.id
            assert {t.workflow for t in s.scalars(select(models.Task))} == {"missed-call-recovery"}
            # The code was used once and cannot be used again.
            row = s.get(models.SetupCode, sam.id)
            assert row is not None and row.used_at is not None
    finally:
        engine.dispose()
