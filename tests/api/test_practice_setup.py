"""Practice set-up end to end on the server side: `assistant-api practice …` on a real
SQLite file, then the real API (uvicorn on loopback) over what it wrote."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
import tomlkit
from sqlalchemy import func, select

from central_api import models
from central_api.cli import main
from central_api.db import make_engine, make_session_factory
from followup_core.practice_toml import render
from tests.support.server import ApiServer

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "practice.toml"
PID = "maple-street"
ADMIN_PASSWORD = "correct horse battery"


def cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def _counts(db: str) -> dict[str, int]:
    engine = make_engine(db)
    try:
        with make_session_factory(engine)() as s:
            return {
                m.__tablename__: int(s.scalar(select(func.count()).select_from(m)) or 0)
                for m in (
                    models.Practice,
                    models.User,
                    models.Script,
                    models.AuditEntry,
                    models.ChangeLog,
                    models.SetupCode,
                )
            }
    finally:
        engine.dispose()


@pytest.fixture
def db(tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> str:
    url = f"sqlite:///{tmp_path / 'practice.db'}"
    monkeypatch.setenv("ASSISTANT_API_PASSWORD", ADMIN_PASSWORD)
    code, _, err = cli(
        capsys,
        "create-user",
        "--db",
        url,
        "--username",
        "root.admin",
        "--role",
        "admin",
        "--display-name",
        "Root Admin",
    )
    assert code == 0, err
    return url


def _apply(
    capsys: pytest.CaptureFixture[str], db: str, path: Path, by: str = "root.admin"
) -> dict[str, Any]:
    code, out, err = cli(capsys, "practice", "apply", str(path), "--db", db, "--by", by, "--json")
    assert code == 0, err
    result: dict[str, Any] = json.loads(out)
    return result


def test_check_reports_problems_with_lines_and_apply_changes_nothing(
    tmp_path: Path, db: str, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text(
        EXAMPLE.read_text()
        .replace('route = "billing"', 'route = "billling"')
        .replace('id = "missed-call-recovery"', 'id = "missed-call-recovery"\nfoo = 1')
    )
    before = _counts(db)
    code, _, err = cli(capsys, "practice", "check", str(bad))
    assert code == 1
    assert f"{bad}:" in err and "[known-value]" in err and "[known-key]" in err
    assert "every-route-has-a-contact" in err
    code, _, err = cli(capsys, "practice", "apply", str(bad), "--db", db, "--by", "root.admin")
    assert code == 1 and "nothing was changed" in err
    assert _counts(db) == before


def test_apply_export_apply_is_a_no_op(
    tmp_path: Path, db: str, capsys: pytest.CaptureFixture[str]
) -> None:
    first = _apply(capsys, db, EXAMPLE)
    assert set(first["setup_codes"]) == {"helen.brooks", "sam.ortiz"}
    assert list(first["drafts"]) == ["missed-call-recovery"]
    exported = tmp_path / "exported.toml"
    code, _, err = cli(capsys, "practice", "export", PID, "--db", db, "-o", str(exported))
    assert code == 0, err
    code, out, _ = cli(capsys, "practice", "check", str(exported))
    assert code == 0, out
    before = _counts(db)
    code, out, _ = cli(capsys, "practice", "diff", str(exported), "--db", db)
    assert out.strip() == "no changes"
    again = _apply(capsys, db, exported)
    assert again["changes"] == [] and again["setup_codes"] == {} and again["drafts"] == {}
    assert _counts(db) == before  # not even an audit row

    # A change to one script is one new draft, nothing else.
    edited = tmp_path / "edited.toml"
    edited.write_text(
        exported.read_text().replace("How can we help you today?", "How can we help?")
    )
    code, out, _ = cli(capsys, "practice", "diff", str(edited), "--db", db)
    assert out.strip() == "+ script missed-call-recovery: new draft version (needs approval)"


def test_apply_by_an_unknown_or_assistant_user_is_refused_whole(
    db: str, capsys: pytest.CaptureFixture[str]
) -> None:
    before = _counts(db)
    code, _, err = cli(capsys, "practice", "apply", str(EXAMPLE), "--db", db, "--by", "nobody")
    assert code == 1 and "no user 'nobody'" in err
    code, _, err = cli(capsys, "practice", "apply", str(EXAMPLE), "--db", db, "--by", "sam.ortiz")
    assert code == 1 and "only admins and supervisors" in err
    assert _counts(db) == before


@pytest.fixture
def served(
    db: str, capsys: pytest.CaptureFixture[str]
) -> Iterator[tuple[ApiServer, dict[str, Any]]]:
    result = _apply(capsys, db, EXAMPLE)
    with ApiServer(db, env={"ASSISTANT_API_TRIGGER_INTERVAL": "0"}) as server:
        yield server, result


def _login(c: httpx.Client, username: str, password: str) -> httpx.Response:
    return c.post("/v1/auth/login", json={"username": username, "password": password})


def _scripts_in_feed(c: httpx.Client, token: str) -> list[dict[str, Any]]:
    changes: list[dict[str, Any]] = []
    cursor = None
    while True:
        params = {"limit": 500} | ({"after": cursor} if cursor else {})
        page = c.get("/v1/sync", params=params, headers={"Authorization": f"Bearer {token}"})
        assert page.status_code == 200, page.text
        body = page.json()
        changes += [ch for ch in body["changes"] if ch["kind"] == "script"]
        cursor = body["cursor"]
        if not body["has_more"]:
            return changes


def test_set_up_code_works_once_and_draft_needs_a_second_person(
    served: tuple[ApiServer, dict[str, Any]], capsys: pytest.CaptureFixture[str], db: str
) -> None:
    server, result = served
    codes = result["setup_codes"]
    with httpx.Client(base_url=server.url, timeout=30) as c:
        # No password works before set-up.
        assert _login(c, "sam.ortiz", "anything at all").status_code == 401
        wrong = c.post(
            "/v1/auth/setup",
            json={
                "username": "sam.ortiz",
                "code": codes["helen.brooks"],
                "password": "pw-sam-12345",
            },
        )
        assert wrong.status_code == 401 and wrong.json()["error"]["code"] == "invalid-setup-code"
        # Typed with spaces and lower case, the code still reads.
        typed = codes["sam.ortiz"].lower().replace("-", " ")
        ok = c.post(
            "/v1/auth/setup",
            json={"username": "sam.ortiz", "code": typed, "password": "pw-sam-12345"},
        )
        assert ok.status_code == 204, ok.text
        again = c.post(
            "/v1/auth/setup",
            json={
                "username": "sam.ortiz",
                "code": codes["sam.ortiz"],
                "password": "other-password",
            },
        )
        assert again.status_code == 401
        login = _login(c, "sam.ortiz", "pw-sam-12345")
        assert login.status_code == 200
        assert _login(c, "sam.ortiz", "other-password").status_code == 401
        sam = login.json()["token"]

        # The draft is not in the assistant's feed.
        assert _scripts_in_feed(c, sam) == []
        draft_id = result["drafts"]["missed-call-recovery"]
        admin = _login(c, "root.admin", ADMIN_PASSWORD).json()["token"]
        own = c.post(
            f"/v1/scripts/{draft_id}/approve", headers={"Authorization": f"Bearer {admin}"}
        )
        assert own.status_code == 403 and own.json()["error"]["code"] == "own-draft"
        by_assistant = c.post(
            f"/v1/scripts/{draft_id}/approve", headers={"Authorization": f"Bearer {sam}"}
        )
        assert by_assistant.status_code == 403
        assert _scripts_in_feed(c, sam) == []

        assert (
            c.post(
                "/v1/auth/setup",
                json={
                    "username": "helen.brooks",
                    "code": codes["helen.brooks"],
                    "password": "pw-helen-123",
                },
            ).status_code
            == 204
        )
        helen = _login(c, "helen.brooks", "pw-helen-123").json()["token"]
        approved = c.post(
            f"/v1/scripts/{draft_id}/approve", headers={"Authorization": f"Bearer {helen}"}
        )
        assert approved.status_code == 200, approved.text
        assert approved.json()["approved_by"] == "Helen Brooks"
        twice = c.post(
            f"/v1/scripts/{draft_id}/approve", headers={"Authorization": f"Bearer {helen}"}
        )
        assert twice.status_code == 409
        feed = _scripts_in_feed(c, sam)
        assert [ch["id"] for ch in feed] == [draft_id]
        assert feed[0]["data"]["version"] == 1

        # Only the workflow the file turned on is triggered.
        key = result["webhook_key"]
        missed = c.post(
            "/v1/triggers/missed-call",
            headers={"X-Practice-Key": key},
            json={"caller_phone": "+13125550123", "called_at": datetime.now(UTC).isoformat()},
        )
        assert missed.status_code == 201, missed.text
        task = c.get(
            f"/v1/tasks/{missed.json()['task_id']}", headers={"Authorization": f"Bearer {sam}"}
        )
        assert task.status_code == 200, task.text
        assert task.json()["task"]["workflow"] == "missed-call-recovery"
        assert task.json()["task"]["script_id"] == draft_id
        assert task.json()["task"]["owner_id"] == login.json()["user"]["id"]

    # An approved version is never edited: a changed file makes version 2 as a draft.
    engine = make_engine(db)
    with make_session_factory(engine)() as s:
        row = s.get(models.Script, draft_id)
        assert row is not None and row.status == "approved" and row.approved_by_id
    engine.dispose()


def test_a_practice_that_does_not_run_missed_calls_opens_no_task_for_one(
    tmp_path: Path, db: str, capsys: pytest.CaptureFixture[str]
) -> None:
    text = EXAMPLE.read_text()
    text = text.replace('id = "missed-call-recovery"', 'id = "reactivation"').replace(
        'workflow = "missed-call-recovery"', 'workflow = "reactivation"'
    )
    path = tmp_path / "reactivation.toml"
    path.write_text(text)
    result = _apply(capsys, db, path)
    with (
        ApiServer(db, env={"ASSISTANT_API_TRIGGER_INTERVAL": "0"}) as server,
        httpx.Client(base_url=server.url, timeout=30) as c,
    ):
        response = c.post(
            "/v1/triggers/missed-call",
            headers={"X-Practice-Key": result["webhook_key"]},
            json={"caller_phone": "+13125550123", "called_at": datetime.now(UTC).isoformat()},
        )
    # The call is recorded (a fact the metrics count) but opens no work.
    assert response.status_code == 201, response.text
    assert response.json()["task_id"] is None
    assert response.json()["call_id"]


def test_the_practice_attempt_policy_is_the_one_used(
    tmp_path: Path, db: str, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "one-try.toml"
    path.write_text(EXAMPLE.read_text().replace("max_attempts = 3", "max_attempts = 1"))
    result = _apply(capsys, db, path)
    assert (
        cli(
            capsys,
            "practice",
            "approve-script",
            PID,
            "missed-call-recovery",
            "--db",
            db,
            "--by",
            "helen.brooks",
        )[0]
        == 0
    )
    with (
        ApiServer(db, env={"ASSISTANT_API_TRIGGER_INTERVAL": "0"}) as server,
        httpx.Client(base_url=server.url, timeout=30) as c,
    ):
        code = result["setup_codes"]["sam.ortiz"]
        assert (
            c.post(
                "/v1/auth/setup",
                json={"username": "sam.ortiz", "code": code, "password": "pw-sam-12345"},
            ).status_code
            == 204
        )
        token = _login(c, "sam.ortiz", "pw-sam-12345").json()["token"]
        missed = c.post(
            "/v1/triggers/missed-call",
            headers={"X-Practice-Key": result["webhook_key"]},
            json={"caller_phone": "+13125550124", "called_at": datetime.now(UTC).isoformat()},
        )
        task_id = missed.json()["task_id"]
        now = datetime.now(UTC).isoformat()
        attempt_id = "0b5c7d2e-6a51-4f4e-9a0e-1c2d3e4f5a6b"
        posted = c.post(
            "/v1/attempts",
            headers={"Authorization": f"Bearer {token}", "Idempotency-Key": attempt_id},
            json={
                "id": attempt_id,
                "task_id": task_id,
                "task_version": 1,
                "channel": "phone",
                "outcome": "no-answer",
                "started_at": now,
                "ended_at": now,
                "identity_verified": False,
                "next_step": None,
                "notes": "",
                "script_id": None,
                "script_version": None,
                "escalation": None,
            },
        )
        assert posted.status_code == 201, posted.text
        # One attempt is this practice's limit (the catalogue's is three).
        assert posted.json()["task"]["status"] == "failed"
        assert posted.json()["task"]["business_status"] == "max-attempts-reached"


def test_a_seeded_practice_exports_to_a_file_that_applies_as_a_no_op(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = f"sqlite:///{tmp_path / 'seeded.db'}"
    code, out, err = cli(
        capsys, "seed", "--db", db, "--size", "100", "--demo-password", "seeded-pw-123", "--json"
    )
    assert code == 0, err
    for practice in json.loads(out)["practices"]:
        exported = tmp_path / f"{practice['id']}.toml"
        assert (
            cli(capsys, "practice", "export", practice["id"], "--db", db, "-o", str(exported))[0]
            == 0
        )
        code, out, _ = cli(capsys, "practice", "diff", str(exported), "--db", db)
        assert (code, out.strip()) == (0, "no changes")

    # Turning workflows off says what happens to their open work (it stays open).
    data = tomlkit.parse(exported.read_text()).unwrap()
    data["workflows"] = [w for w in data["workflows"] if w["id"] == "missed-call-recovery"]
    data["scripts"] = [s for s in data["scripts"] if s["workflow"] == "missed-call-recovery"]
    one = tmp_path / "one.toml"
    one.write_text(render(data))
    code, out, _ = cli(capsys, "practice", "diff", str(one), "--db", db)
    assert code == 0
    assert "~ practice workflows" in out
    assert "! appointment-confirmation is turned off: its" in out
