"""`assistant-tui demo`: the embedded default, from nothing to a working queue.

It seeds the synthetic practice into a fresh SQLite file, runs `assistant-api
serve` on loopback as a child process, signs the demo assistant in, builds the
encrypted cache with a generated passphrase (fail keyring, so the data key is
wrapped by the passphrase and the user's real keyring is never touched), syncs,
opens the mode of the signed-in role (`--as`: the workspace for the default
assistant), and lets a simulated phone system report missed calls to the demo
assistant's practice.

The client never imports `central_api`: the server is a separate process
(`python -m central_api.cli`). Everything the end-to-end test and a curious user
need (API URL, demo login, cache passphrase, seed summary) goes to `demo.json`
in the demo directory, mode 0600; nothing secret is printed or logged.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from assistant_tui import locations
from assistant_tui.phone_sim import PhoneSimulator

MARKER = ".assistant-tui-demo"
INFO_FILE = "demo.json"
HEALTH_TIMEOUT = 60.0
SEED_TIMEOUT = 600.0
HANGUP_GRACE = 5.0


class DemoError(Exception):
    """A start-up failure, told to the user as one line."""


@dataclass(frozen=True)
class DemoPaths:
    root: Path

    @property
    def db_file(self) -> Path:
        return self.root / "api.sqlite3"

    @property
    def db_url(self) -> str:
        return f"sqlite:///{self.db_file}"

    @property
    def server_log(self) -> Path:
        return self.root / "api.log"

    @property
    def client_dir(self) -> Path:
        return self.root / "client"

    @property
    def info(self) -> Path:
        return self.root / INFO_FILE


def prepare_dir(base: Path) -> DemoPaths:
    """A fresh demo directory under the data dir; an old demo run there is replaced.

    Only a directory we made (it has our marker) is ever removed.
    """
    root = base / "demo"
    if root.exists():
        if not (root / MARKER).exists() and any(root.iterdir()):
            raise DemoError(f"{root} exists and was not made by the demo; move it away")
        shutil.rmtree(root)
    root.mkdir(parents=True, mode=0o700)
    (root / MARKER).touch()
    paths = DemoPaths(root)
    paths.client_dir.mkdir(mode=0o700)
    return paths


def _api_command(*args: str) -> list[str]:
    return [sys.executable, "-m", "central_api.cli", *args]


def _api_env(paths: DemoPaths) -> dict[str, str]:
    env = dict(os.environ)
    env["ASSISTANT_API_DB"] = paths.db_url
    env["ASSISTANT_API_DOCS"] = "1"  # the demo shows the interactive API docs (self-hosted)
    env.setdefault("PYTHONUNBUFFERED", "1")
    return env


def _last_line(text: str) -> str:
    lines = [line for line in text.strip().splitlines() if line.strip()]
    return lines[-1].strip() if lines else "no output"


def seed(paths: DemoPaths, *, password: str, size: int | None) -> dict[str, Any]:
    """Migrate and seed the demo database; return the `seed --json` summary."""
    env = _api_env(paths)
    # `--opt=value`: a generated password may start with "-", which argparse would
    # otherwise take for an option.
    argv = _api_command("seed", f"--db={paths.db_url}", "--json", f"--demo-password={password}")
    if size is not None:
        argv += ["--size", str(size)]
    for step, cmd in (("migrate", _api_command("migrate", "--db", paths.db_url)), ("seed", argv)):
        try:
            done = subprocess.run(
                cmd, env=env, capture_output=True, text=True, timeout=SEED_TIMEOUT, check=False
            )
        except (OSError, subprocess.TimeoutExpired) as exc:
            raise DemoError(f"could not {step} the demo database: {type(exc).__name__}") from exc
        if done.returncode != 0:
            # The server's own one-line error, never our arguments (they hold the password).
            raise DemoError(f"could not {step} the demo database: {_last_line(done.stderr)}")
    start = done.stdout.find("{")
    try:
        summary = json.loads(done.stdout[start:]) if start >= 0 else None
    except json.JSONDecodeError:
        summary = None
    if not isinstance(summary, dict) or not summary.get("users"):
        raise DemoError("the seeder printed no usable summary")
    return summary


@dataclass(frozen=True)
class DemoLogin:
    username: str
    practice_id: str
    webhook_key: str


def pick_demo_assistant(summary: Mapping[str, Any]) -> DemoLogin:
    """The seeder's demo assistant: named in the summary, else the first assistant in a
    real (non-training) practice."""
    practices = {p["id"]: p for p in summary.get("practices", [])}
    users = list(summary.get("users", []))
    named = summary.get("demo_user") or summary.get("demo_username")
    candidates = [u for u in users if u.get("username") == named] if named else []
    candidates += [
        u
        for u in users
        if u.get("role") == "assistant"
        and any(
            not practices.get(p, {}).get("is_training", False) for p in u.get("practice_ids", [])
        )
    ]
    for user in candidates:
        for practice_id in user.get("practice_ids", []):
            practice = practices.get(practice_id)
            if practice and not practice.get("is_training") and practice.get("webhook_key"):
                return DemoLogin(user["username"], practice_id, practice["webhook_key"])
    raise DemoError("the seed has no assistant in a practice with a webhook key")


def pick_demo_user(summary: Mapping[str, Any], role: str, assistant: DemoLogin) -> str:
    """The username the demo signs in as for `role` (`--as`).

    The assistant is the seeder's demo assistant; any other role is the first
    seeded user with that role (central_api/seeding/reference.py STAFF:
    `supervisor`, `trainer`, `manager`). Raises DemoError if the seed has none.
    """
    if role == "assistant":
        return assistant.username
    for user in summary.get("users", []):
        if user.get("role") == role:
            return str(user["username"])
    raise DemoError(f"the seed has no {role} to sign in as")


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _die_with_parent() -> None:
    """Linux: the server gets SIGTERM if the demo dies without cleaning up."""
    with contextlib.suppress(Exception):
        import ctypes

        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        libc.prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


class EmbeddedServer:
    """`assistant-api serve` on 127.0.0.1, a child of the demo.

    Started from the main thread on purpose: PR_SET_PDEATHSIG fires when the
    *thread* that forked exits, so a worker thread would kill the server early.
    """

    def __init__(self, paths: DemoPaths, *, port: int | None = None) -> None:
        self.paths = paths
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        argv = _api_command(
            "serve", "--db", self.paths.db_url, "--host", "127.0.0.1", "--port", str(self.port)
        )
        with self.paths.server_log.open("ab") as log:
            self.proc = subprocess.Popen(
                argv,
                env=_api_env(self.paths),
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                preexec_fn=_die_with_parent if sys.platform == "linux" else None,
            )

    async def wait_healthy(self, within: float = HEALTH_TIMEOUT) -> None:
        deadline = time.monotonic() + within
        async with httpx.AsyncClient(base_url=self.url, timeout=2.0) as client:
            while True:
                if self.proc is not None and self.proc.poll() is not None:
                    raise DemoError(
                        f"the demo API server exited with {self.proc.returncode}; "
                        f"see {self.paths.server_log}"
                    )
                with contextlib.suppress(httpx.TransportError):
                    reply = await client.get("/v1/health")
                    if reply.status_code == 200:
                        return
                if time.monotonic() > deadline:
                    raise DemoError(f"the demo API server did not answer within {within:.0f}s")
                await asyncio.sleep(0.1)

    def stop(self, timeout: float = 10.0) -> None:
        """SIGTERM (uvicorn shuts down cleanly), then SIGKILL if it lingers."""
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.terminate()
        try:
            self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=timeout)


def write_info(paths: DemoPaths, info: Mapping[str, Any]) -> None:
    """demo.json, readable only by the user: the login is a throwaway, still not for others."""
    tmp = paths.info.with_suffix(".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as out:
        json.dump(info, out, indent=2)
    tmp.replace(paths.info)


@dataclass
class DemoSession:
    """The async part of the demo: sign in, cache, sync, workspace, phone system."""

    paths: DemoPaths
    server: EmbeddedServer
    summary: Mapping[str, Any]
    login: DemoLogin
    password: str
    missed_call_every: float
    username: str = ""  # who signs in (--as); the assistant's login when empty

    async def run(self) -> None:
        await self.server.wait_healthy()
        # Imported here so `demo --help` and start-up errors stay quick.
        from keyring.backends.fail import Keyring as FailKeyring

        from assistant_tui.app import AssistantApp
        from assistant_tui.config import load_settings_or_defaults
        from backend_client import ApiClient
        from backend_client.errors import ApiError, Offline
        from local_cache import CacheError, LocalCache, SyncEngine

        passphrase = secrets.token_urlsafe(16)
        username = self.username or self.login.username
        settings, _problem = load_settings_or_defaults()  # the workspace reports a problem
        async with ApiClient(self.server.url, client_label="assistant-tui-demo") as client:
            try:
                signed_in = await client.login(username, self.password)
            except (ApiError, Offline) as exc:
                raise DemoError(f"the demo user {username} could not sign in: {exc}") from exc
            try:
                cache = await asyncio.to_thread(
                    LocalCache.open,
                    self.paths.client_dir,
                    username,
                    passphrase,
                    keyring_backend=FailKeyring(),
                    retention_days=settings.retention_days,
                )
            except CacheError as exc:
                raise DemoError(f"the demo cache could not be created: {exc}") from exc
            background: list[asyncio.Task[None]] = []
            try:
                engine = SyncEngine(cache, client)
                status = await engine.sync_once()
                if status.last_error:
                    raise DemoError(f"the first sync failed: {status.last_error}")
                write_info(
                    self.paths,
                    {
                        "api_url": self.server.url,
                        "server_pid": self.server.proc.pid if self.server.proc else None,
                        "username": username,
                        "role": str(signed_in.user.role),
                        "password": self.password,
                        "passphrase": passphrase,
                        "practice_id": self.login.practice_id,
                        "data_dir": str(self.paths.client_dir),
                        "tasks_after_first_sync": status.tasks,
                        "seed": dict(self.summary),
                    },
                )
                app = AssistantApp(cache, sync=engine, user=signed_in.user)
                if self.missed_call_every > 0:
                    phone = PhoneSimulator(
                        base_url=self.server.url,
                        practice_key=self.login.webhook_key,
                        every=self.missed_call_every,
                        known_numbers=await asyncio.to_thread(_known_numbers, cache),
                        on_call=lambda _task_id: engine.kick(),
                    )
                    background.append(asyncio.create_task(phone.run()))
                _exit_on_hangup(app, self.server)
                await app.run_async()
            finally:
                for task in background:
                    task.cancel()
                await asyncio.gather(*background, return_exceptions=True)
                await asyncio.to_thread(cache.close)


def _known_numbers(cache: Any, limit: int = 12) -> list[str]:
    """A few patients' numbers from the queue, so some missed calls match a patient."""
    numbers: list[str] = []
    for row in cache.queue()[:limit]:
        context = cache.task_context(row.task_id)
        if context is not None and context.patient is not None:
            numbers.append(context.patient.phone)
    return numbers


def _exit_on_hangup(app: Any, server: EmbeddedServer) -> None:
    """SIGTERM or a closed terminal ends the workspace, so the server is stopped cleanly.

    If the process has not wound down HANGUP_GRACE seconds later, the server is stopped
    anyway and the process ends: a demo must never leave an API server running behind a
    closed terminal. The fallback runs on a daemon thread, not the event loop, because a
    shutdown stuck in a thread join (a dead terminal, a busy worker) blocks the loop too.
    """
    loop = asyncio.get_running_loop()

    def hard_stop() -> None:
        server.stop(timeout=3.0)
        os._exit(129)

    def on_signal() -> None:
        app.exit()
        timer = threading.Timer(HANGUP_GRACE, hard_stop)
        timer.daemon = True
        timer.start()

    for sig in (signal.SIGTERM, signal.SIGHUP):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(sig, on_signal)


def run_demo(args: argparse.Namespace) -> int:
    """Entry point of `assistant-tui demo`; returns the process exit code."""
    try:
        base = locations.data_dir(getattr(args, "data_dir", None))
        paths = prepare_dir(base)
    except (OSError, DemoError) as exc:
        print(f"assistant-tui demo: {exc}", file=sys.stderr)
        return 1
    server: EmbeddedServer | None = None
    try:
        password = secrets.token_urlsafe(18)
        print("Seeding the synthetic practice…", file=sys.stderr, flush=True)
        summary = seed(paths, password=password, size=getattr(args, "size", None))
        login = pick_demo_assistant(summary)  # the phone system calls their practice
        role = getattr(args, "as_role", None) or "assistant"
        username = pick_demo_user(summary, role, login)
        server = EmbeddedServer(paths, port=getattr(args, "port", None))
        server.start()
        session = DemoSession(
            paths=paths,
            server=server,
            summary=summary,
            login=login,
            password=password,
            missed_call_every=float(getattr(args, "missed_call_every", 60.0) or 0.0),
            username=username,
        )
        asyncio.run(session.run())
    except DemoError as exc:
        print(f"assistant-tui demo: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    finally:
        if server is not None:
            server.stop()
    print(f"Demo stopped; the demo server is down. Files: {paths.root}", file=sys.stderr)
    return 0
