"""A real PostgreSQL cluster started from the machine's own binaries.

The cluster lives in a temporary directory, listens on 127.0.0.1 on a random
free port (no Unix socket outside the temp dir) and trusts loopback connections.
initdb and postgres refuse to run as root, so when we are root the binaries run
as the unprivileged `postgres` system user through `runuser`.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import time
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, suppress
from pathlib import Path

import psycopg
from psycopg import sql

from tests.support.ports import free_port

PG_BINDIRS = ("/usr/lib/postgresql/15/bin",)
SUPERUSER = "postgres"
RUN_AS = "postgres"


class PostgresError(RuntimeError):
    """The test cluster could not be created or started."""


def _bindir() -> Path:
    for candidate in PG_BINDIRS:
        if (Path(candidate) / "postgres").exists():
            return Path(candidate)
    found = shutil.which("pg_ctl")
    if found is None:
        raise PostgresError("PostgreSQL binaries not found (no pg_ctl on PATH)")
    return Path(found).resolve().parent


def postgres_available() -> bool:
    try:
        _bindir()
    except PostgresError:
        return False
    return True


def _as_cluster_user(argv: Sequence[str]) -> list[str]:
    if os.geteuid() == 0:
        return ["runuser", "-u", RUN_AS, "--", *argv]
    return list(argv)


class PostgresServer:
    """One throwaway cluster. Use `start()`/`stop()` or the `running()` context manager.

    `fast=True` turns off fsync and friends: the tests kill the API server, never
    PostgreSQL, so durability across an OS crash buys them nothing.
    """

    def __init__(self, *, fast: bool = True, settings: dict[str, str] | None = None) -> None:
        self.bindir = _bindir()
        self.fast = fast
        self.settings = dict(settings or {})
        self.base = Path(tempfile.mkdtemp(prefix="pgtest-"))
        self.datadir = self.base / "data"
        self.host = "127.0.0.1"
        self.port = 0
        self._started = False
        if os.geteuid() == 0:
            shutil.chown(self.base, user=RUN_AS, group=RUN_AS)

    def _run(self, argv: Sequence[str], *, timeout: float = 120) -> None:
        proc = subprocess.run(
            _as_cluster_user(argv),
            capture_output=True,
            text=True,
            timeout=timeout,
            cwd=self.base,
            check=False,
        )
        if proc.returncode != 0:
            tail = (proc.stderr or proc.stdout).strip().splitlines()[-5:]
            raise PostgresError(f"{Path(argv[0]).name} failed: {' | '.join(tail)}")

    def start(self) -> None:
        self._run(
            [
                str(self.bindir / "initdb"),
                "-D",
                str(self.datadir),
                "-U",
                SUPERUSER,
                "--auth=trust",
                "--encoding=UTF8",
                "--locale=C",
                "--no-sync",
            ]
        )
        options = [
            "-c listen_addresses=127.0.0.1",
            f"-c unix_socket_directories={self.base}",
            "-c max_connections=200",
        ]
        if self.fast:
            options += ["-c fsync=off", "-c synchronous_commit=off", "-c full_page_writes=off"]
        options += [f"-c {name}={value}" for name, value in self.settings.items()]
        # A port picked free may be taken before postgres binds it: try a few.
        last: PostgresError | None = None
        for _ in range(5):
            self.port = free_port()
            try:
                self._run(
                    [
                        str(self.bindir / "pg_ctl"),
                        "-D",
                        str(self.datadir),
                        "-l",
                        str(self.base / "postgres.log"),
                        "-o",
                        " ".join([*options, f"-p {self.port}"]),
                        "-w",
                        "-t",
                        "60",
                        "start",
                    ]
                )
            except PostgresError as exc:
                last = exc
                continue
            self._started = True
            self.wait_ready()
            return
        raise PostgresError(f"PostgreSQL did not start: {last}")

    def wait_ready(self, timeout: float = 30.0) -> None:
        """Poll until a connection succeeds (pg_ctl -w already waited; this double-checks TCP)."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                with psycopg.connect(self.dsn("postgres"), connect_timeout=2):
                    return
            except psycopg.OperationalError:
                if time.monotonic() > deadline:
                    raise PostgresError("PostgreSQL did not accept connections in time") from None
                time.sleep(0.05)

    def stop(self) -> None:
        if self._started:
            with suppress(PostgresError, subprocess.TimeoutExpired):
                self._run(
                    [
                        str(self.bindir / "pg_ctl"),
                        "-D",
                        str(self.datadir),
                        "-m",
                        "immediate",
                        "-w",
                        "stop",
                    ],
                    timeout=60,
                )
            self._started = False
        shutil.rmtree(self.base, ignore_errors=True)

    def dsn(self, dbname: str) -> str:
        """A libpq connection string for psycopg."""
        return f"host={self.host} port={self.port} user={SUPERUSER} dbname={dbname}"

    def url(self, dbname: str) -> str:
        """A SQLAlchemy URL for the API (`--db`)."""
        return f"postgresql+psycopg://{SUPERUSER}@{self.host}:{self.port}/{dbname}"

    def create_database(self, name: str | None = None, *, template: str | None = None) -> str:
        """Create a fresh database (optionally a copy of `template`) and return its URL."""
        name = name or f"t_{uuid.uuid4().hex[:12]}"
        query = sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name))
        if template is not None:
            query = sql.SQL("CREATE DATABASE {} TEMPLATE {}").format(
                sql.Identifier(name), sql.Identifier(template)
            )
        with psycopg.connect(self.dsn("postgres"), autocommit=True) as conn:
            conn.execute(query)
        return self.url(name)

    def drop_database(self, name: str) -> None:
        with psycopg.connect(self.dsn("postgres"), autocommit=True) as conn:
            conn.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )

    def __enter__(self) -> PostgresServer:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def database_name(url: str) -> str:
    return url.rsplit("/", 1)[1]


@contextmanager
def running_postgres(
    *, fast: bool = True, settings: dict[str, str] | None = None
) -> Iterator[PostgresServer]:
    server = PostgresServer(fast=fast, settings=settings)
    try:
        server.start()
        yield server
    finally:
        server.stop()
