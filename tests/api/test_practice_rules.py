"""The practice file's rules, enforced after apply (issue 13, the parts finished in session 3):
workflows turned off later, channels, staff left out, the set-up code throttle and the
[supervision] table. `assistant-api practice …` on a real SQLite file, then the real API
(uvicorn on loopback) over what it wrote."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
import tomlkit
from sqlalchemy import select

from central_api import models
from central_api.db import make_engine, make_session_factory
from followup_core.practice_toml import check_text, render
from tests.api.test_practice_setup import ADMIN_PASSWORD, EXAMPLE, PID, _apply, cli
from tests.support.server import ApiServer

SAM_PASSWORD = "pw-sam-12345"


@pytest.fixture
def db(tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> str:
    url = f"sqlite:///{tmp_path / 'rules.db'}"
    monkeypatch.setenv("ASSISTANT_API_PASSWORD", ADMIN_PASSWORD)
    for name in ("root.admin", "other.admin"):
        code, _, err = cli(
            capsys,
            "create-user",
            "--db",
            url,
            "--username",
            name,
            "--role",
            "admin",
            "--display-name",
            name.replace(".", " ").title(),
        )
        assert code == 0, err
    return url


def _data(text: str | None = None) -> dict[str, Any]:
    data: dict[str, Any] = tomlkit.parse(text or EXAMPLE.read_text()).unwrap()
    return data


def _write(tmp_path: Path, name: str, data: dict[str, Any]) -> Path:
    path = tmp_path / name
    path.write_text(render(data))
    model, problems = check_text(path.read_text())
    assert model is not None, [str(p) for p in problems]
    return path


def _with_reactivation(data: dict[str, Any]) -> dict[str, Any]:
    """The example plus a second workflow (reactivation, same policy, its own script)."""
    missed = dict(data["workflows"][0])
    script = dict(data["scripts"][0])
    data["workflows"] = [missed, {**missed, "id": "reactivation"}]
    data["scripts"] = [script, {**script, "workflow": "reactivation", "title": "Reactivation"}]
    return data


def _diff(capsys: pytest.CaptureFixture[str], db: str, path: Path) -> str:
    code, out, err = cli(capsys, "practice", "diff", str(path), "--db", db)
    assert code == 0, err
    return out


def _auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def _set_up(c: httpx.Client, username: str, code: str, password: str) -> str:
    done = c.post("/v1/auth/setup", json={"username": username, "code": code, "password": password})
    assert done.status_code == 204, done.text
    login = c.post("/v1/auth/login", json={"username": username, "password": password})
    assert login.status_code == 200, login.text
    token: str = login.json()["token"]
    return token


def _missed_call(c: httpx.Client, key: str, phone: str) -> str | None:
    missed = c.post(
        "/v1/triggers/missed-call",
        headers={"X-Practice-Key": key},
        json={"caller_phone": phone, "called_at": datetime.now(UTC).isoformat()},
    )
    assert missed.status_code == 201, missed.text
    task_id: str | None = missed.json()["task_id"]
    return task_id


def _attempt(
    c: httpx.Client, token: str, task_id: str, channel: str, version: int = 1
) -> httpx.Response:
    attempt_id = str(uuid.uuid4())
    now = datetime.now(UTC).isoformat()
    return c.post(
        "/v1/attempts",
        headers={**_auth(token), "Idempotency-Key": attempt_id},
        json={
            "id": attempt_id,
            "task_id": task_id,
            "task_version": version,
            "channel": channel,
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


def _task_row(db: str, task_id: str) -> models.Task:
    engine = make_engine(db)
    try:
        with make_session_factory(engine)() as s:
            row = s.get(models.Task, task_id)
            assert row is not None
            s.expunge(row)
            return row
    finally:
        engine.dispose()


@pytest.fixture
def two_workflows(
    tmp_path: Path, db: str, capsys: pytest.CaptureFixture[str]
) -> Iterator[tuple[ApiServer, dict[str, Any], str]]:
    path = _write(tmp_path, "two.toml", _with_reactivation(_data()))
    result = _apply(capsys, db, path)
    with ApiServer(db, env={"ASSISTANT_API_TRIGGER_INTERVAL": "0"}) as server:
        with httpx.Client(base_url=server.url, timeout=30) as c:
            sam = _set_up(c, "sam.ortiz", result["setup_codes"]["sam.ortiz"], SAM_PASSWORD)
        yield server, result, sam


def test_a_workflow_turned_off_cancels_its_open_tasks_for_every_client(
    two_workflows: tuple[ApiServer, dict[str, Any], str],
    tmp_path: Path,
    db: str,
    capsys: pytest.CaptureFixture[str],
) -> None:
    server, result, sam = two_workflows
    with httpx.Client(base_url=server.url, timeout=30) as c:
        task_id = _missed_call(c, result["webhook_key"], "+13125550141")
        assert task_id is not None
        feed = c.get("/v1/sync", params={"limit": 500}, headers=_auth(sam)).json()
        cursor = feed["cursor"]

        data = _with_reactivation(_data())
        data["workflows"] = data["workflows"][1:]
        data["scripts"] = data["scripts"][1:]
        off = _write(tmp_path, "off.toml", data)
        diff = _diff(capsys, db, off)
        assert "! missed-call-recovery is turned off: its 1 open task(s) will be cancelled" in diff
        assert _task_row(db, task_id).status not in ("cancelled", "completed", "failed")
        _apply(capsys, db, off)

        row = _task_row(db, task_id)
        assert (row.status, row.business_status) == ("cancelled", "workflow-turned-off")
        # The owner's client learns it from the feed, like any other change: a cancelled
        # task is not in the queue.
        page = c.get("/v1/sync", params={"limit": 500, "after": cursor}, headers=_auth(sam)).json()
        tasks = [ch for ch in page["changes"] if ch["kind"] == "task" and ch["id"] == task_id]
        assert tasks and tasks[-1]["data"]["status"] == "cancelled"
        assert tasks[-1]["data"]["business_status"] == "workflow-turned-off"
        # An attempt recorded offline before the client heard is still a fact: stored,
        # flagged, and the task stays cancelled.
        late = _attempt(c, sam, task_id, "phone")
        assert late.status_code == 201, late.text
        assert late.json()["conflict"] is True
        assert late.json()["task"]["status"] == "cancelled"
        # No new work of that workflow is opened.
        assert _missed_call(c, result["webhook_key"], "+13125550142") is None
    # Applying the same file again cancels nothing more and changes nothing.
    assert _diff(capsys, db, off).strip() == "no changes"


def test_an_attempt_on_a_channel_the_practice_does_not_use_is_refused(
    tmp_path: Path, db: str, capsys: pytest.CaptureFixture[str]
) -> None:
    data = _data()
    data["channels"] = ["phone", "voicemail"]  # missed-call recovery could also use sms
    result = _apply(capsys, db, _write(tmp_path, "no-sms.toml", data))
    with (
        ApiServer(db, env={"ASSISTANT_API_TRIGGER_INTERVAL": "0"}) as server,
        httpx.Client(base_url=server.url, timeout=30) as c,
    ):
        sam = _set_up(c, "sam.ortiz", result["setup_codes"]["sam.ortiz"], SAM_PASSWORD)
        task_id = _missed_call(c, result["webhook_key"], "+13125550143")
        assert task_id is not None
        refused = _attempt(c, sam, task_id, "sms")
        assert refused.status_code == 422, refused.text
        error = refused.json()["error"]
        assert error["code"] == "channel-not-used"
        assert "sms" in error["message"] and "phone, voicemail" in error["message"]
        assert _task_row(db, task_id).attempts == 0  # nothing written
        # The practice record the client syncs carries its channels and voicemail.
        feed = c.get("/v1/sync", params={"limit": 500}, headers=_auth(sam)).json()
        practice = next(ch["data"] for ch in feed["changes"] if ch["kind"] == "practice")
        assert practice["channels"] == ["phone", "voicemail"]
        assert practice["voicemail"] == data["voicemail"]
        ok = _attempt(c, sam, task_id, "phone")
        assert ok.status_code == 201, ok.text


def _user(db: str, username: str) -> models.User:
    engine = make_engine(db)
    try:
        with make_session_factory(engine)() as s:
            user = s.scalars(select(models.User).where(models.User.username == username)).one()
            s.expunge(user)
            return user
    finally:
        engine.dispose()


def test_staff_left_out_are_deactivated_and_come_back_when_listed_again(
    tmp_path: Path, db: str, capsys: pytest.CaptureFixture[str]
) -> None:
    result = _apply(capsys, db, EXAMPLE)
    without_sam = _data()
    without_sam["staff"] = [p for p in without_sam["staff"] if p["username"] != "sam.ortiz"]
    path = _write(tmp_path, "without-sam.toml", without_sam)
    with (
        ApiServer(db, env={"ASSISTANT_API_TRIGGER_INTERVAL": "0"}) as server,
        httpx.Client(base_url=server.url, timeout=30) as c,
    ):
        sam = _set_up(c, "sam.ortiz", result["setup_codes"]["sam.ortiz"], SAM_PASSWORD)
        task_id = _missed_call(c, result["webhook_key"], "+13125550144")
        assert task_id is not None
        assert _task_row(db, task_id).owner_id == _user(db, "sam.ortiz").id
        assert c.get("/v1/me", headers=_auth(sam)).status_code == 200

        diff = _diff(capsys, db, path)
        assert (
            "- staff sam.ortiz leaves the practice and is deactivated (sessions ended); "
            "1 open task(s) left unassigned for reassignment"
        ) in diff
        _apply(capsys, db, path)

        assert _user(db, "sam.ortiz").active is False
        assert c.get("/v1/me", headers=_auth(sam)).status_code == 401  # token revoked
        login = {"username": "sam.ortiz", "password": SAM_PASSWORD}
        assert c.post("/v1/auth/login", json=login).status_code == 401
        row = _task_row(db, task_id)
        assert row.owner_id is None and row.status not in ("cancelled", "completed")
        admin = c.post(
            "/v1/auth/login", json={"username": "root.admin", "password": ADMIN_PASSWORD}
        ).json()["token"]
        board = c.get("/v1/team/queues", headers=_auth(admin))
        assert board.status_code == 200, board.text  # where a supervisor finds it to reassign
        rows = [r for r in board.json()["rows"] if r["workflow"] == "missed-call-recovery"]
        assert [(r["open"], r["unassigned"]) for r in rows] == [(1, 1)]

        # Listed again: reactivated, with the password they chose.
        assert "+ staff sam.ortiz is reactivated" in _diff(capsys, db, EXAMPLE)
        again = _apply(capsys, db, EXAMPLE)
        assert again["setup_codes"] == {}
        assert _user(db, "sam.ortiz").active is True
        assert c.post("/v1/auth/login", json=login).status_code == 200


def test_a_file_never_deactivates_the_last_admin_or_the_person_applying_it(
    tmp_path: Path, db: str, capsys: pytest.CaptureFixture[str]
) -> None:
    data = _data()
    data["staff"] = [
        *data["staff"],
        {"username": "root.admin", "role": "admin", "display_name": "Root Admin"},
        {"username": "other.admin", "role": "admin", "display_name": "Other Admin"},
    ]
    _apply(capsys, db, _write(tmp_path, "admins.toml", data))

    data["staff"] = data["staff"][:-2]
    neither = _write(tmp_path, "no-admins.toml", data)
    code, _, err = cli(
        capsys, "practice", "apply", str(neither), "--db", db, "--by", "helen.brooks"
    )
    assert code == 1 and "no active admin" in err
    assert "! cannot apply: it would leave no active admin" in _diff(capsys, db, neither)

    data["staff"] = [
        *data["staff"],
        {"username": "other.admin", "role": "admin", "display_name": "Other Admin"},
    ]
    without_root = _write(tmp_path, "no-root.toml", data)
    code, _, err = cli(
        capsys, "practice", "apply", str(without_root), "--db", db, "--by", "root.admin"
    )
    assert code == 1 and "root.admin is applying this file" in err
    assert _user(db, "root.admin").active is True
    code, _, err = cli(
        capsys, "practice", "apply", str(without_root), "--db", db, "--by", "other.admin"
    )
    assert code == 0, err
    assert _user(db, "root.admin").active is False
    assert _user(db, "other.admin").active is True


def test_set_up_code_guessing_is_held_with_429_and_audited(
    db: str, capsys: pytest.CaptureFixture[str]
) -> None:
    result = _apply(capsys, db, EXAMPLE)
    code = result["setup_codes"]["sam.ortiz"]
    env = {"ASSISTANT_API_TRIGGER_INTERVAL": "0", "ASSISTANT_API_MAX_FAILED_SETUPS": "3"}
    with (
        ApiServer(db, env=env) as server,
        httpx.Client(base_url=server.url, timeout=30) as c,
    ):
        body = {"username": "sam.ortiz", "code": "AAAA-BBBB-CCCC-DDDD", "password": SAM_PASSWORD}
        answers = [c.post("/v1/auth/setup", json=body).status_code for _ in range(3)]
        assert answers == [401, 401, 401]
        held = c.post("/v1/auth/setup", json=body)
        assert held.status_code == 429, held.text
        assert held.json()["error"]["code"] == "too-many-attempts"
        assert int(held.headers["Retry-After"]) > 0
        # While held, even the right code is refused (and not used up).
        right = c.post("/v1/auth/setup", json={**body, "code": code})
        assert right.status_code == 429
        # Another username from the same address is held too (per-source limit).
        other = c.post(
            "/v1/auth/setup", json={**body, "username": "helen.brooks", "code": "X" * 16}
        )
        assert other.status_code == 429

        schema = c.get("/v1/openapi.json").json()
        documented = schema["paths"]["/v1/auth/setup"]["post"]["responses"]
        assert "Retry-After" in documented["429"]["headers"]

    engine = make_engine(db)
    try:
        with make_session_factory(engine)() as s:
            actions = list(
                s.scalars(
                    select(models.AuditEntry.action).where(
                        models.AuditEntry.action.like("auth.setup%")
                    )
                )
            )
            setup_code = s.scalars(select(models.SetupCode)).all()
    finally:
        engine.dispose()
    assert actions.count("auth.setup-failed") == 3
    assert actions.count("auth.setup-held") == 3
    assert "auth.setup" not in actions
    assert all(row.used_at is None for row in setup_code)


def test_supervision_settings_are_in_the_file_and_one_write_with_the_put(
    tmp_path: Path, db: str, capsys: pytest.CaptureFixture[str]
) -> None:
    data = _data()
    data["supervision"] = {"tell_observed": False, "thresholds": {"break": [20, 40]}}
    path = _write(tmp_path, "supervision.toml", data)
    _apply(capsys, db, EXAMPLE)
    diff = _diff(capsys, db, path)
    assert "~ supervision tell_observed: true -> false" in diff
    assert "~ supervision thresholds.break: [10, 60, 300, 600, 900] -> [20, 40]" in diff
    _apply(capsys, db, path)
    assert _diff(capsys, db, path).strip() == "no changes"

    exported = tmp_path / "exported.toml"
    code, _, err = cli(capsys, "practice", "export", PID, "--db", db, "-o", str(exported))
    assert code == 0, err
    back = _data(exported.read_text())
    assert back["supervision"]["tell_observed"] is False
    assert back["supervision"]["thresholds"]["break"] == [20, 40]
    assert back["supervision"]["thresholds"]["available"] == [30, 60, 300]  # the default

    with (
        ApiServer(db, env={"ASSISTANT_API_TRIGGER_INTERVAL": "0"}) as server,
        httpx.Client(base_url=server.url, timeout=30) as c,
    ):
        admin = c.post(
            "/v1/auth/login", json={"username": "root.admin", "password": ADMIN_PASSWORD}
        ).json()["token"]
        got = c.get(f"/v1/practices/{PID}/supervision", headers=_auth(admin))
        assert got.status_code == 200, got.text
        assert got.json()["tell_observed"] is False
        assert got.json()["thresholds"]["break"] == [20, 40]
        put = c.put(
            f"/v1/practices/{PID}/supervision",
            headers=_auth(admin),
            json={**got.json(), "tell_observed": True},
        )
        assert put.status_code == 200, put.text
    # The PUT wrote the same settings the file does: the file now differs, and says so
    # (stored -> file), and applying the file puts its value back.
    assert "~ supervision tell_observed: true -> false" in _diff(capsys, db, path)
    _apply(capsys, db, path)
    assert _diff(capsys, db, path).strip() == "no changes"


def test_supervision_thresholds_must_increase_and_the_check_names_the_line() -> None:
    text = EXAMPLE.read_text().replace("break = [10, 60, 300, 600, 900]", "break = [60, 10]")
    model, problems = check_text(text)
    assert model is None
    line = next(i for i, t in enumerate(text.splitlines(), 1) if t.startswith("break = "))
    assert [(p.line, p.rule) for p in problems] == [(line, "valid-value")]
    assert "thresholds must increase" in problems[0].message
