"""`assistant-tui web` as a child process on a free loopback port, for tests."""

from __future__ import annotations

import contextlib
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

SERVING = re.compile(r"serving on (https?://[^\s;]+)(?: \(listening on (http://[^\s)]+)\))?")


class WebServerError(RuntimeError):
    """`assistant-tui web` did not start; the message carries its output."""


class WebServer:
    """`assistant-tui web --server API --port 0` with its own data directory. Context manager.

    `url` is read from the line the command prints once it listens. The process
    leads its own process group, so stopping it also ends every App session it started.
    """

    def __init__(self, api_url: str, workdir: Path, *extra: str) -> None:
        self.api_url = api_url
        self.data_dir = workdir / "web-data"
        self.log_path = workdir / "web.log"
        self.argv = [
            sys.executable,
            "-m",
            "assistant_tui.cli",
            "--data-dir",
            str(self.data_dir),
            "web",
            "--server",
            api_url,
            "--port",
            "0",
            *extra,
        ]
        self.env = {
            "PATH": os.environ.get("PATH", ""),
            "HOME": str(workdir),
            "ASSISTANT_TUI_CONFIG": str(workdir / "no-config.toml"),
            "PYTHONUNBUFFERED": "1",
        }
        self._proc: subprocess.Popen[bytes] | None = None
        self.url = ""  # the address browsers use (--public-url, if given)
        self.listening = ""  # where the server itself listens

    def log(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")
        except OSError:
            return ""

    def __enter__(self) -> WebServer:
        with self.log_path.open("wb") as log:
            self._proc = subprocess.Popen(
                self.argv,
                env=self.env,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if match := SERVING.search(self.log()):
                self.url = match.group(1)
                self.listening = match.group(2) or self.url
                return self
            if self._proc.poll() is not None:
                raise WebServerError(f"exited with {self._proc.returncode}: {self.log()[-2000:]}")
            time.sleep(0.05)  # polling the log it writes, under a deadline
        self.stop()
        raise WebServerError(f"not serving within 30 s: {self.log()[-2000:]}")

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def stop(self) -> None:
        """SIGTERM (sessions are told to quit), then SIGKILL to the whole group."""
        if self._proc is None:
            return
        if self._proc.poll() is None:
            self._proc.terminate()
            with contextlib.suppress(subprocess.TimeoutExpired):
                self._proc.wait(timeout=10)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self._proc.pid, signal.SIGKILL)
        self._proc.wait(timeout=30)
        self._proc = None
