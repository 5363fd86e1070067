"""`assistant-api`: the real command, run as a process, and its one-line errors."""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
from sqlalchemy import update

from central_api.cli import main
from central_api.db import make_engine, make_session_factory
from central_api.models import AuditEntry, User
from tests.support.server import ApiServer

CLI = str(Path(sys.executable).parent / "assistant-api")


def run(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    full_env = {k: v for k, v in os.environ.items() if not k.startswith("ASSISTANT_API_")}
    full_env.update(env or {})
    return subprocess.run(
        [CLI, *args],
        capture_output=True,
        text=True,
        env=full_env,
        stdin=subprocess.DEVNULL,
        timeout=120,
        check=False,
    )


def _no_traceback(proc: subprocess.CompletedProcess[str]) -> None:
    assert "Traceback" not in proc.stderr
    assert len(proc.stderr.strip().splitlines()) <= 1, proc.stderr


@pytest.fixture
def db(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'cli.db'}"


def test_create_user_then_verify_audit_then_tamper(
    db: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    password = secrets.token_urlsafe(12)
    created = run(
        "create-user",
        "--username",
        "sup.one",
        "--role",
        "supervisor",
        "--display-name",
        "Sup One",
        env={"ASSISTANT_API_PASSWORD": password, "ASSISTANT_API_DB": db},  # env stands for --db
    )
    assert created.returncode == 0, created.stderr
    assert password not in created.stdout + created.stderr

    monkeypatch.setenv("ASSISTANT_API_PASSWORD", password)
    argv = ["--username", "sup.one", "--role", "supervisor", "--display-name", "Again"]
    assert main(["create-user", "--db", db, *argv]) == 1
    assert "already exists" in capsys.readouterr().err

    intact = run("audit", "verify", "--db", db)
    assert intact.returncode == 0, intact.stderr
    assert intact.stdout.strip() == "audit chain intact: 1 rows"

    engine = make_engine(db)
    with make_session_factory(engine)() as session:
        session.execute(update(AuditEntry).where(AuditEntry.seq == 1).values(client="forged"))
        session.commit()
    engine.dispose()
    broken = run("audit", "verify", "--db", db)
    assert broken.returncode == 1
    assert "row 1" in broken.stderr
    _no_traceback(broken)


def test_seed_json_and_generated_password_shown_once(
    db: str, capsys: pytest.CaptureFixture[str]
) -> None:
    proc = run("seed", "--db", db, "--size", "100", "--json")
    assert proc.returncode == 0, proc.stderr
    summary = json.loads(proc.stdout)
    assert {"users", "practices"} <= set(summary)
    assert summary["users"] and summary["practices"]
    shown = [line for line in proc.stderr.splitlines() if "password" in line]
    assert len(shown) == 1
    password = shown[0].rsplit(" ", 1)[1]
    assert password not in proc.stdout
    # The printed password is the one every seeded user signs in with.
    engine = make_engine(db)
    with make_session_factory(engine)() as session:
        user = session.get(User, summary["users"][0]["id"])
        assert user is not None
        from central_api.core.security import verify_password

        assert verify_password(user.password_hash, password)
    engine.dispose()
    # Refuses to seed twice, in one line.
    assert main(["seed", "--db", db, "--size", "100", "--demo-password", password]) == 1
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1
    assert "Traceback" not in err


def test_serve_migrates_and_logs_no_query_strings(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'served.db'}"
    secretish = "Qx7-query-value"
    with ApiServer(db) as server, httpx.Client(base_url=server.url, timeout=10) as client:
        assert client.get("/v1/health").json() == {"status": "ok"}
        # The schema exists because serve migrated a brand-new file.
        response = client.post(
            "/v1/auth/login", json={"username": "nobody", "password": "wrong-password"}
        )
        assert response.status_code == 401
        denied = client.get(f"/v1/audit?after={secretish}")
        assert denied.status_code == 401
        server.stop()
        log = server.log_path.read_text()
    assert "/v1/audit" in log
    assert secretish not in log
    assert "wrong-password" not in log


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["migrate", "--db", "nosuchdriver://x"], "database error"),
        (["seed", "--size", "0"], "--size"),
        (
            ["create-user", "--username", " ", "--role", "assistant", "--display-name", "x"],
            "username",
        ),
        (["audit", "verify", "--db", "postgresql+psycopg://u@127.0.0.1:1/x"], "database error"),
    ],
)
def test_errors_are_one_line(
    argv: list[str], message: str, capsys: pytest.CaptureFixture[str], db: str
) -> None:
    if "--db" not in argv:
        argv = [*argv, "--db", db]
    assert main(argv) == 1
    err = capsys.readouterr().err
    assert message in err
    assert len(err.strip().splitlines()) == 1
    assert "Traceback" not in err


def test_create_user_checks_practice_and_password(
    db: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ASSISTANT_API_PASSWORD", secrets.token_urlsafe(12))
    assert main(["migrate", "--db", db]) == 0
    argv = ["create-user", "--db", db, "--username", "a1", "--role", "assistant"]
    assert main([*argv, "--display-name", "A", "--practice", "missing"]) == 1
    assert "no practice" in capsys.readouterr().err
    monkeypatch.setenv("ASSISTANT_API_PASSWORD", "short")
    assert main([*argv, "--display-name", "A"]) == 1
    assert "8 to 256" in capsys.readouterr().err
    monkeypatch.delenv("ASSISTANT_API_PASSWORD")
    assert main([*argv, "--display-name", "A"]) == 1  # no terminal to prompt on
    assert "ASSISTANT_API_PASSWORD" in capsys.readouterr().err


def test_bad_role_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["create-user", "--username", "x", "--role", "wizard", "--display-name", "X"])
    assert exit_info.value.code == 2
    assert "wizard" in capsys.readouterr().err


def test_bare_path_means_sqlite(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    target = tmp_path / "nested" / "plain.db"
    assert main(["migrate", "--db", str(target)]) == 0
    assert target.exists()
    assert main(["audit", "verify", "--db", str(target)]) == 0
    assert "audit chain intact: 0 rows" in capsys.readouterr().out
