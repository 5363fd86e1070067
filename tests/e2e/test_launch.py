"""`assistant-tui --server URL` in tmux: sign in, choose the cache passphrase, work, quit;
then start again and unlock the same cache with the passphrase."""

from __future__ import annotations

import os
import secrets
import sys
from pathlib import Path

import pytest

from tests.e2e.conftest import SeededApi
from tests.e2e.tmux import Tmux, TmuxError

pytestmark = [pytest.mark.e2e, pytest.mark.usefixtures("tmux_available")]


def connected(screen: str) -> bool:
    """The status bar says online: polling, or live once the server streams events."""
    return "● online" in screen or "● live" in screen


def start(tmp_path: Path, seeded_api: SeededApi, name: str) -> Tmux:
    tmux = Tmux(tmp_path / name)
    tmux.socket.parent.mkdir()
    env = {
        "ASSISTANT_TUI_DATA_DIR": str(tmp_path / "data"),
        "ASSISTANT_TUI_CONFIG": str(tmp_path / "no-config.toml"),
        "PATH": os.environ.get("PATH", ""),
        "HOME": str(tmp_path),
        "TERM": "xterm-256color",
    }
    argv = [
        sys.executable,
        "-m",
        "assistant_tui.cli",
        "--server",
        seeded_api.url,
        "--user",
        seeded_api.demo_user,
    ]
    tmux.start(argv, env)
    return tmux


def sign_in(tmux: Tmux, password: str) -> None:
    tmux.wait_text("Sign in to", within=30)
    # The password field shows one dot per character: proof the keys went there.
    head, rest = password[:1], password[1:]
    for _ in range(4):
        tmux.type_text(head)
        try:
            tmux.wait_text("•", within=3)
            break
        except TmuxError:
            continue
    tmux.type_text(rest)
    tmux.wait_text("•" * len(password), within=10)
    tmux.send("Enter")


def quit_and_wait(tmux: Tmux) -> str:
    tmux.send("C-q")
    tmux.wait_for(lambda _s: tmux.pane_dead(), "the app to exit", within=30)
    return tmux.capture()


def test_sign_in_choose_passphrase_then_unlock_next_time(
    tmp_path: Path, seeded_api: SeededApi
) -> None:
    passphrase = "launch-" + secrets.token_hex(6)
    first = start(tmp_path, seeded_api, "first")
    try:
        sign_in(first, seeded_api.password)
        first.wait_text("Step 1 of 2", within=30)
        first.type_text(passphrase)
        first.send("Enter")
        first.wait_text("Step 2 of 2", within=10)
        first.type_text(passphrase)
        first.send("Enter")
        screen = first.wait_for(connected, "online", within=60)
        assert "open" in screen  # the queue header counts open tasks
        final = quit_and_wait(first)
        assert "Traceback" not in final
        assert passphrase not in final and seeded_api.password not in final
    finally:
        first.kill()

    second = start(tmp_path, seeded_api, "second")
    try:
        sign_in(second, seeded_api.password)
        second.wait_text("Unlock the local cache", within=30)
        second.type_text(passphrase + "-wrong")
        second.send("Enter")
        second.wait_text("Wrong passphrase.", within=30)
        second.type_text(passphrase)
        second.send("Enter")
        second.wait_for(connected, "online", within=60)
        assert "Traceback" not in quit_and_wait(second)
    finally:
        second.kill()
