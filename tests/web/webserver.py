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

    def session_pids(self) -> list[int]:
        """Live App session processes this server started (its process group, from /proc)."""
        if self._proc is None:
            return []
        pids = []
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            try:
                stat = (entry / "stat").read_text()
                cmdline = (entry / "cmdline").read_bytes()
            except OSError:
                continue
            # Fields after the ")" that ends the command name: state, ppid, pgrp, ...
            fields = stat.rsplit(")", 1)[1].split()
            alive = fields[0] not in ("Z", "X")
            # The Python process itself (argv holds the module name as one argument),
            # not the `sh -c "…"` that textual-serve may leave in front of it.
            is_session = b"assistant_tui.web_session" in cmdline.split(b"\0")
            if alive and int(fields[2]) == self._proc.pid and is_session:
                pids.append(int(entry.name))
        return pids

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
