"""The real API server as a child process on 127.0.0.1, for tests and benchmarks.

`ApiServer(db_url)` runs `assistant-api serve --db URL --host 127.0.0.1 --port P`
(uvicorn under the hood), waits until `GET /v1/health` answers, and can be
SIGKILLed and started again on the same database and port, which is what the
fault tests need.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Mapping
from pathlib import Path

import httpx

from tests.support.ports import free_port

VENV_BIN = Path(sys.executable).parent
HEALTH_TIMEOUT = 60.0


class ServerError(RuntimeError):
    """The API server did not come up."""


def serve_command(db_url: str, port: int) -> list[str]:
    """The real CLI, from the same virtualenv as the tests."""
    return [
        str(VENV_BIN / "assistant-api"),
        "serve",
        "--db",
        db_url,
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
    ]


class ApiServer:
    """A running API server process. Context manager: starts on enter, stops on exit."""

    def __init__(
        self,
        db_url: str,
        *,
        port: int | None = None,
        env: Mapping[str, str] | None = None,
        command: list[str] | None = None,
    ) -> None:
        self.db_url = db_url
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self._extra_env = dict(env or {})
        self._command = command
        self._proc: subprocess.Popen[bytes] | None = None
        self._logdir = Path(tempfile.mkdtemp(prefix="apiserver-"))
        self.log_path = self._logdir / "server.log"
        self.starts = 0

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc is not None else None

    def running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    def start(self, *, timeout: float = HEALTH_TIMEOUT) -> None:
        """Start (or restart) on the same database and port; return once healthy."""
        if self.running():
            return
        env = {**os.environ, "ASSISTANT_API_DB": self.db_url, **self._extra_env}
        argv = self._command or serve_command(self.db_url, self.port)
        with self.log_path.open("ab") as log:
            self._proc = subprocess.Popen(
                argv, env=env, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL
            )
        self.starts += 1
        self._wait_healthy(timeout)

    def _wait_healthy(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        with httpx.Client(base_url=self.url, timeout=2.0) as client:
            while True:
                if self._proc is not None and self._proc.poll() is not None:
                    raise ServerError(
                        f"API server exited with {self._proc.returncode}: {self.log_tail()}"
                    )
                try:
                    if client.get("/v1/health").status_code == 200:
                        return
                except httpx.TransportError:
                    pass
                if time.monotonic() > deadline:
                    self.kill()
                    raise ServerError(f"API server not healthy in {timeout}s: {self.log_tail()}")
                time.sleep(0.05)

    def kill(self) -> None:
        """SIGKILL: no shutdown hooks, no flushing; what a power cut looks like to the app."""
        if self._proc is not None and self._proc.poll() is None:
            self._proc.send_signal(signal.SIGKILL)
            self._proc.wait(timeout=30)

    def stop(self, timeout: float = 10.0) -> None:
        """Graceful stop (SIGTERM), falling back to SIGKILL."""
        if self._proc is not None and self._proc.poll() is None:
            self._proc.terminate()
            try:
                self._proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.kill()

    def log_tail(self, lines: int = 20) -> str:
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError:
            return "(no log)"
        return "\n".join(text.strip().splitlines()[-lines:])

    def __enter__(self) -> ApiServer:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
        shutil.rmtree(self._logdir, ignore_errors=True)
