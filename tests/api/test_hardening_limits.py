"""Throttles, the locked-account code path, the docs setting and a full disk.

These need settings of their own (small limits, docs on), so each test builds the
real app in-process over a private copy of the seeded database, on SQLite and on
PostgreSQL. The full-disk test runs the API on an SQLite file in a small tmpfs.
"""

from __future__ import annotations

import logging
import re
import subprocess
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.exc import OperationalError

from central_api import models
from central_api.app import create_app
from central_api.core import security
from central_api.core.config import Settings
from central_api.core.middleware import is_disk_full
from central_api.db import make_engine, make_session_factory
from tests.support.seeded import PostgresTemplate, SqliteTemplate

AppFactory = Callable[..., tuple[TestClient, dict[str, Any], str]]


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def make_client(
    request: pytest.FixtureRequest, tmp_path: Path, demo_password: str
) -> Iterator[AppFactory]:
    """Build the app with these settings over a fresh copy of the seeded database."""
    clients: list[TestClient] = []

    def build(**settings: Any) -> tuple[TestClient, dict[str, Any], str]:
        if request.param == "postgres":
            pg: PostgresTemplate = request.getfixturevalue("postgres_template")
            url, summary = pg.copy(), pg.summary
        else:
            lite: SqliteTemplate = request.getfixturevalue("sqlite_template")
            directory = tmp_path / uuid.uuid4().hex
            directory.mkdir()
            url = lite.copy(directory)
            summary = lite.summary
        client = TestClient(create_app(Settings(db=url, **settings)), raise_server_exceptions=False)
        client.__enter__()
        clients.append(client)
        return client, summary, url

    yield build
    for client in clients:
        client.__exit__(None, None, None)


def _login(client: TestClient, username: str, password: str) -> int:
    return client.post(
        "/v1/auth/login", json={"username": username, "password": password}
    ).status_code


def test_failed_logins_are_throttled_by_source(make_client: AppFactory, demo_password: str) -> None:
    client, summary, _ = make_client(max_failed_logins_per_source=3)
    real = summary["users"][0]["username"]
    assert [_login(client, f"nobody-{i}", "guess") for i in range(2)] == [401, 401]
    assert _login(client, real, "wrong password") == 401  # wrong passwords count too
    response = client.post("/v1/auth/login", json={"username": "nobody-9", "password": "guess"})
    assert response.status_code == 429 and int(response.headers["Retry-After"]) > 0
    # The source is held, whatever it sends: even the right password waits.
    assert _login(client, real, demo_password) == 429


def test_wrong_webhook_keys_are_throttled_by_source_and_audited(make_client: AppFactory) -> None:
    client, summary, url = make_client(max_webhook_failures_per_source=3)
    payload = {"caller_phone": "+19995550401", "called_at": "2026-11-30T15:00:00Z"}

    def send(key: str) -> int:
        return client.post(
            "/v1/triggers/missed-call", json=payload, headers={"X-Practice-Key": key}
        ).status_code

    assert [send(f"whk_wrong{i}") for i in range(3)] == [401] * 3
    assert send(summary["practices"][0]["webhook_key"]) == 429  # held, even with the right key
    engine = make_engine(url)
    try:
        with make_session_factory(engine)() as s:
            refused = s.scalar(
                select(func.count())
                .select_from(models.AuditEntry)
                .where(models.AuditEntry.action == "webhook.key-refused")
            )
    finally:
        engine.dispose()
    assert refused == 3


def test_every_refusal_does_the_same_argon2_work(
    make_client: AppFactory, demo_password: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A locked account, an unknown name and a wrong password each cost exactly one
    argon2 verification, so their timing tells nothing (the figure: scripts/bench_login)."""
    client, summary, _ = make_client()
    user = next(u["username"] for u in summary["users"] if u["role"] == "assistant")
    for _ in range(5):
        assert _login(client, user, "wrong password") == 401
    calls: list[str] = []
    real_verify = security.verify_password

    def counting(password_hash: str, password: str) -> bool:
        calls.append(password_hash)
        return real_verify(password_hash, password)

    monkeypatch.setattr(security, "verify_password", counting)
    for username, password, status in (
        (user, demo_password, 429),  # locked: the right password does not get in
        (user, "wrong password", 429),
        ("nobody-at-all", "guess", 401),
    ):
        calls.clear()
        assert _login(client, username, password) == status
        assert len(calls) == 1, (username, status, len(calls))


def test_interactive_docs_are_self_hosted_when_turned_on(make_client: AppFactory) -> None:
    client, _, _ = make_client(docs=True)
    page = client.get("/v1/docs")
    assert page.status_code == 200 and "swagger" in page.text.lower()
    links = re.findall(r"""(?:src|href)\s*=\s*["']([^"']+)["']""", page.text)
    urls = re.findall(r"""url:\s*['"]([^'"]+)['"]""", page.text)
    assert links and urls
    for link in links + urls:
        assert link.startswith("/v1/"), link  # nothing from a CDN or any other host
        assert client.get(link).status_code == 200, link
    assert "cdn" not in page.text.lower() and "http://" not in page.text
    assert "https://" not in page.text


# --- a full disk ---------------------------------------------------------------------------


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A 24 MiB tmpfs (needs root, which the test machine has; skipped otherwise)."""
    mount = tmp_path / "small"
    mount.mkdir()
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=24m,mode=0700", "tmpfs", str(mount)],
        capture_output=True,
        check=False,
    )
    if done.returncode != 0:
        pytest.skip("cannot mount a small tmpfs here (not root?)")
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)


def test_a_full_disk_is_503_with_retry_after_logged_as_disk_full(
    small_disk: Path,
    sqlite_template: SqliteTemplate,
    demo_password: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    url = sqlite_template.copy(small_disk)
    client = TestClient(create_app(Settings(db=url)), raise_server_exceptions=False)
    with client:
        user = next(
            u["username"] for u in sqlite_template.summary["users"] if u["role"] == "assistant"
        )
        response = client.post("/v1/auth/login", json={"username": user, "password": demo_password})
        token = response.json()["token"]
        headers = {"Authorization": f"Bearer {token}"}
        ballast = small_disk / "ballast"
        with ballast.open("wb") as f:  # fill the disk to the last byte
            try:
                while True:
                    f.write(b"\0" * 65536)
                    f.flush()
            except OSError:
                pass
        with caplog.at_level(logging.ERROR, logger="central_api"):
            full = None
            for state in ["available", "break"] * 200:
                answer = client.put("/v1/presence", json={"state": state}, headers=headers)
                if answer.status_code != 200:
                    full = answer
                    break
        assert full is not None, "the disk never filled"
        assert full.status_code == 503, full.text
        assert full.json()["error"]["code"] == "disk-full"
        assert int(full.headers["Retry-After"]) > 0
        assert full.headers["Cache-Control"] == "no-store"
        assert any("disk full" in r.getMessage() for r in caplog.records)
        assert not any(r.getMessage().startswith("unhandled") for r in caplog.records)
        ballast.unlink()
        again = client.put("/v1/presence", json={"state": "wrap-up"}, headers=headers)
        assert again.status_code == 200, again.text


def test_postgres_disk_full_is_recognised() -> None:
    """PostgreSQL reports a full disk as SQLSTATE 53100 (psycopg's DiskFull), wrapped by
    SQLAlchemy; the SQLite case runs for real above."""
    wrapped = OperationalError("INSERT …", {}, psycopg.errors.DiskFull())
    assert is_disk_full(wrapped)
    assert is_disk_full(OSError(28, "No space left on device"))
    assert not is_disk_full(OperationalError("SELECT 1", {}, psycopg.errors.QueryCanceled()))
