"""Drive a real terminal program through tmux on a private socket.

Each `Tmux` has its own server (`-S` socket in a temp dir, no user config), so
tests never touch the user's tmux and never collide with each other. Waiting
is always polling `capture-pane` against a deadline.
"""

from __future__ import annotations

import os
import subprocess
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

SESSION = "e2e"


class TmuxError(AssertionError):
    pass


def _clean_env() -> dict[str, str]:
    """The server's environment, which every pane inherits: without COLUMNS/LINES (pytest
    and some shells set them, and Textual would take them over the real pane size) and
    without TMUX (we may run inside someone's tmux)."""
    drop = {"COLUMNS", "LINES", "TMUX", "TMUX_PANE"}
    return {k: v for k, v in os.environ.items() if k not in drop}


class Tmux:
    def __init__(self, socket_dir: Path, *, width: int = 200, height: int = 50) -> None:
        self.socket = socket_dir / "tmux.sock"
        self.width = width
        self.height = height
        self.last_screen = ""

    def _tmux(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        done = subprocess.run(
            ["tmux", "-S", str(self.socket), "-f", "/dev/null", *args],
            env=_clean_env(),
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        )
        if check and done.returncode != 0:
            raise TmuxError(f"tmux {args[0]} failed: {done.stderr.strip()}")
        return done

    def start(self, argv: Sequence[str], env: Mapping[str, str]) -> None:
        """Run `argv` in a detached session; the pane stays after it exits, for reading."""
        env_args = [a for k, v in env.items() for a in ("-e", f"{k}={v}")]
        self._tmux(
            "new-session",
            "-d",
            "-s",
            SESSION,
            "-x",
            str(self.width),
            "-y",
            str(self.height),
            *env_args,
            "--",
            *argv,
            ";",
            "set-option",
            "-t",
            SESSION,
            "remain-on-exit",
            "on",
        )

    def capture(self) -> str:
        self.last_screen = self._tmux("capture-pane", "-p", "-t", SESSION).stdout
        return self.last_screen

    def send(self, *keys: str) -> None:
        """tmux key names: `Enter`, `F2`, `C-s`, `/`; text goes through `type_text`."""
        self._tmux("send-keys", "-t", SESSION, *keys)

    def type_text(self, text: str) -> None:
        self._tmux("send-keys", "-t", SESSION, "-l", text)

    def resize(self, width: int, height: int) -> None:
        """Resize the session's window, as a user dragging the terminal would."""
        self._tmux("resize-window", "-t", SESSION, "-x", str(width), "-y", str(height))
        self.width, self.height = width, height

    def pane_dead(self) -> bool:
        done = self._tmux("display-message", "-p", "-t", SESSION, "#{pane_dead}", check=False)
        return done.stdout.strip() == "1"

    def wait_for(self, condition: Callable[[str], bool], what: str, *, within: float = 60.0) -> str:
        deadline = time.monotonic() + within
        while True:
            screen = self.capture()
            if condition(screen):
                return screen
            if time.monotonic() > deadline:
                raise TmuxError(f"timed out waiting for {what}; the screen was:\n{screen}")
            time.sleep(0.1)  # poll interval between captures, not synchronisation

    def wait_text(self, text: str, *, within: float = 60.0) -> str:
        return self.wait_for(lambda s: text in s, repr(text), within=within)

    def kill(self) -> None:
        self._tmux("kill-server", check=False)
