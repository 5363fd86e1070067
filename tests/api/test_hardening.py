"""The API under hostile input and races (issue 14 items 2-9, issue 12 item 7).

Each test is one kind of fault, run on the `api` fixture's three backends
(in-process and uvicorn on SQLite, uvicorn on PostgreSQL); tests that need real
concurrency run over real sockets only. The examples are synthetic.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import logging
import secrets
import subprocess
import time
import uuid
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from sqlalchemy import delete, select

from central_api import models
from central_api.api.routes.audit import encode_cursor as audit_cursor
from central_api.feed import encode_cursor as feed_cursor
from central_api.installation import CURSOR_KEY
from tests.api.conftest import HTTP_TIMEOUT, ApiHarness
from tests.api.work_support import (
    TaskPicker,
    attempt_body,
    audit_count,
    client_as,
    close_work_clients,  # noqa: F401 (autouse fixture)
    count,
    escalation_body,
    post_attempt,
    post_escalation,
)
from tests.support.server import VENV_BIN

CONCURRENT = 8


@pytest.fixture(scope="module")
def fresh(api: ApiHarness) -> TaskPicker:
    return TaskPicker(api, api.username("assistant"))


def _error(response: httpx.Response, status: int) -> dict[str, str]:
    assert response.status_code == status, (response.status_code, response.text)
    body: dict[str, dict[str, str]] = response.json()
    assert set(body) == {"error"} and set(body["error"]) == {"code", "message"}
    return body["error"]


def _missed(api: ApiHarness, payload: Any, key: str | None = None) -> httpx.Response:
    with api.client() as c:
        return c.post(
            "/v1/triggers/missed-call",
            json=payload,
            headers={"X-Practice-Key": key or api.practice(0)["webhook_key"]},
        )


def _staff(api: ApiHarness, role: str, practice: int, skip: int = 0) -> str:
    """A seeded user of `role` in practice `practice` (the `skip`-th such), for tests
    that lock, throttle or otherwise use up an account of their own."""
    pid = api.practice(practice)["id"]
    found = [
        u["username"] for u in api.seed["users"] if u["role"] == role and pid in u["practice_ids"]
    ]
    return str(found[skip])


# --- item 2: dates the product cannot schedule around ---------------------------------


@pytest.mark.parametrize(
    "called_at", ["0001-01-01T00:00:00Z", "9999-12-31T23:59:59Z", "1899-12-31T23:59:59Z"]
)
def test_a_date_outside_1900_2200_is_422_naming_the_field(api: ApiHarness, called_at: str) -> None:
    error = _error(_missed(api, {"caller_phone": "+19995550101", "called_at": called_at}), 422)
    assert error["code"] == "invalid-request"
    assert "called_at" in error["message"] and "1900" in error["message"]
    assert called_at not in error["message"]  # never echo what was sent


@pytest.mark.parametrize("called_at", [0, 1764460800, 1.5, "1764460800", "2026-11-30", True])
def test_a_timestamp_must_be_a_date_time_string(api: ApiHarness, called_at: Any) -> None:
    error = _error(_missed(api, {"caller_phone": "+19995550102", "called_at": called_at}), 422)
    assert "called_at" in error["message"]


def test_the_edges_of_the_range_are_scheduled(api: ApiHarness) -> None:
    response = _missed(api, {"caller_phone": "+19995550200", "called_at": "1900-01-01T00:00:00Z"})
    assert response.status_code == 201, response.text
    # The range's upper edge is a date the product can hold, but a missed call cannot
    # have happened then: refused as in the future (CLOCK_SKEW_ALLOWANCE), not as
    # out of range.
    late = {"caller_phone": "+19995550201", "called_at": "2200-12-31T23:59:59-05:00"}
    error = _error(_missed(api, late), 422)
    assert "in the future" in error["message"], error


def test_attempt_dates_are_checked_in_bodies_and_nested_fields(
    api: ApiHarness, fresh: TaskPicker
) -> None:
    client = client_as(api, api.username("assistant"))
    task = fresh()
    cases = {
        "started_at": {"started_at": "0001-01-01T00:00:00Z"},
        "ended_at": {"ended_at": "9999-12-31T23:59:59Z"},
        "next_step.due_at": {
            "outcome": "callback-requested",
            "next_step": {"action": "call back", "due_at": "9999-12-31T23:59:59Z"},
        },
    }
    for field, change in cases.items():
        body = attempt_body(task, **change)
        error = _error(post_attempt(client, body), 422)
        assert field in error["message"], (field, error)
    assert count(api, models.Attempt, models.Attempt.task_id == task.id) == 0


# --- item 3: integers beyond the column, signed cursors ---------------------------------


@pytest.mark.parametrize("field", ["script_version", "task_version"])
def test_an_integer_beyond_int4_is_422(api: ApiHarness, fresh: TaskPicker, field: str) -> None:
    client = client_as(api, api.username("assistant"))
    task = fresh()
    for value in (2**31, 2**63, 10**30):
        error = _error(post_attempt(client, attempt_body(task, **{field: value})), 422)
        assert field in error["message"]
    ok = post_attempt(client, attempt_body(task, **{field: 2**31 - 1}))
    assert ok.status_code == 201, ok.text  # the largest int4 is stored (a stale version: flagged)


def _b64(raw: str) -> str:
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def test_cursors_are_signed_with_this_installations_secret(api: ApiHarness) -> None:
    supervisor = client_as(api, api.username("supervisor"))
    # The old scheme: a key that was a constant in the source; anyone could mint these.
    old_key = b"assistant-tui/sync-cursor/v1"
    old_mac = hmac.new(old_key, b"c1.5", hashlib.sha256).hexdigest()[:16]
    other_key = secrets.token_bytes(32)  # another installation's
    other_mac = hmac.new(other_key, b"c2.feed.5", hashlib.sha256).hexdigest()[:32]
    with api.session() as s:
        secret = s.scalar(
            select(models.InstallationSecret.value).where(
                models.InstallationSecret.name == CURSOR_KEY
            )
        )
        ours_feed, ours_audit = feed_cursor(s, 5), audit_cursor(s, 5)
    assert secret is not None and len(bytes.fromhex(secret)) == 32
    forged = {
        "old constant-key sync cursor": _b64(f"c1.5.{old_mac}"),
        "old unsigned audit cursor": _b64("audit:5"),
        "another installation's": _b64(f"c2.feed.5.{other_mac}"),
        "past the end of bigint": _b64(f"c2.feed.{2**63}.{'0' * 32}"),
    }
    for name, cursor in forged.items():
        for path in ("/v1/sync", "/v1/audit"):
            error = _error(supervisor.get(path, params={"after": cursor}), 400)
            assert error["code"] == "bad-cursor", (name, path)
    # Ours work on their own feed, and not on the other one.
    assert supervisor.get("/v1/sync", params={"after": ours_feed}).status_code == 200
    assert supervisor.get("/v1/audit", params={"after": ours_audit}).status_code == 200
    assert _error(supervisor.get("/v1/audit", params={"after": ours_feed}), 400)
    assert _error(supervisor.get("/v1/sync", params={"after": ours_audit}), 400)


# --- item 4: text the database cannot store, ids that cannot be ids -----------------------


def test_nul_in_text_is_422_naming_the_field(api: ApiHarness, fresh: TaskPicker) -> None:
    client = client_as(api, api.username("assistant"))
    task = fresh()
    error = _error(post_attempt(client, attempt_body(task, notes="called\u0000back")), 422)
    assert "notes" in error["message"]
    error = _error(post_escalation(client, escalation_body(task.id, reason="bill\u0000ing")), 422)
    assert "reason" in error["message"]
    # A lone surrogate (valid JSON, not storable as UTF-8) is refused the same way.
    raw = attempt_body(task)
    payload = httpx.Request("POST", "/", json=raw).content.decode()
    payload = payload.replace('"notes": ""', '"notes": "\\ud800"').replace(
        '"notes":""', '"notes":"\\ud800"'
    )
    response = client.post(
        "/v1/attempts",
        content=payload,
        headers={"Idempotency-Key": raw["id"], "Content-Type": "application/json"},
    )
    assert "notes" in _error(response, 422)["message"]
    assert count(api, models.Attempt, models.Attempt.task_id == task.id) == 0


def test_nul_in_a_login_username_is_4xx(api: ApiHarness) -> None:
    with api.client() as c:
        response = c.post(
            "/v1/auth/login", json={"username": "nobody\u0000", "password": "irrelevant"}
        )
    assert "username" in _error(response, 422)["message"]


@pytest.mark.parametrize(
    "task_id", ["a%00b", "x" * 65, "%E2%80%AE", "..%2F..", "task%0Aid", "%20", "%C3%A9t%C3%A9"]
)
def test_a_path_id_that_cannot_be_an_id_is_404(api: ApiHarness, task_id: str) -> None:
    assistant = client_as(api, api.username("assistant"))
    supervisor = client_as(api, api.username("supervisor"))
    for client, method, path in (
        (assistant, "GET", f"/v1/tasks/{task_id}"),
        (assistant, "POST", f"/v1/tasks/{task_id}/claim"),
        (assistant, "POST", f"/v1/tasks/{task_id}/release"),
        (supervisor, "POST", f"/v1/escalations/{task_id}/acknowledge"),
    ):
        response = client.request(method, path)
        assert _error(response, 404)["code"] == "not-found", (method, path)


# --- item 5: races ------------------------------------------------------------------------


def _concurrently(n: int, send: Any) -> list[httpx.Response]:
    with ThreadPoolExecutor(max_workers=n) as pool:
        return list(pool.map(send, range(n)))


def _sockets_only(api: ApiHarness) -> None:
    if api.kind == "inprocess":
        pytest.skip("concurrency is exercised over real sockets (uvicorn backends)")


def test_concurrent_first_presence_puts_leave_one_row(api: ApiHarness) -> None:
    _sockets_only(api)
    username = _staff(api, "assistant", 1, skip=1)
    uid = api.user(username)["id"]
    with api.session() as s:
        s.execute(delete(models.Presence).where(models.Presence.user_id == uid))
        s.commit()
    token = api.login(username)
    limits = httpx.Limits(max_connections=CONCURRENT)
    with httpx.Client(
        base_url=api.url,
        headers={"Authorization": f"Bearer {token}"},
        timeout=HTTP_TIMEOUT,
        limits=limits,
    ) as client:
        states = ["available", "break"] * (CONCURRENT // 2)
        responses = _concurrently(
            CONCURRENT, lambda i: client.put("/v1/presence", json={"state": states[i]})
        )
    assert [r.status_code for r in responses] == [200] * CONCURRENT, [r.text for r in responses]
    with api.session() as s:
        rows = s.scalars(select(models.Presence).where(models.Presence.user_id == uid)).all()
        assert len(rows) == 1 and rows[0].state in {"available", "break"}


def test_concurrent_missed_calls_from_one_number_open_one_task(api: ApiHarness) -> None:
    _sockets_only(api)
    phone = "+1646555" + str(uuid.uuid4().int)[:4]  # a possible number nobody on file has
    key = api.practice(0)["webhook_key"]
    with httpx.Client(base_url=api.url, timeout=HTTP_TIMEOUT) as client:
        responses = _concurrently(
            CONCURRENT,
            lambda _: client.post(
                "/v1/triggers/missed-call",
                json={"caller_phone": phone, "called_at": "2026-11-30T15:00:00Z"},
                headers={"X-Practice-Key": key},
            ),
        )
    assert [r.status_code for r in responses] == [201] * CONCURRENT
    assert len({r.json()["task_id"] for r in responses}) == 1
    assert count(api, models.Task, models.Task.caller_phone == phone) == 1


def test_concurrent_claims_leave_one_holder(api: ApiHarness) -> None:
    _sockets_only(api)
    # The supervisor may claim any task of the practice; the assistant owns this one.
    task = TaskPicker(api, api.username("assistant"))()
    tokens = [api.login(api.username("assistant")), api.login("supervisor")]
    with httpx.Client(base_url=api.url, timeout=HTTP_TIMEOUT) as client:
        responses = _concurrently(
            CONCURRENT,
            lambda i: client.post(
                f"/v1/tasks/{task.id}/claim",
                headers={"Authorization": f"Bearer {tokens[i % 2]}"},
            ),
        )
    statuses = Counter(r.status_code for r in responses)
    assert set(statuses) <= {200, 409}, statuses
    holders = {r.json()["holder_id"] for r in responses if r.status_code == 200}
    assert len(holders) == 1
    with api.session() as s:
        row = s.get(models.Task, task.id)
        assert row is not None and row.lease_holder_id in holders


def test_concurrent_acknowledgements_change_the_escalation_once(api: ApiHarness) -> None:
    _sockets_only(api)
    task = TaskPicker(api, api.username("assistant"))()
    created = post_escalation(client_as(api, api.username("assistant")), escalation_body(task.id))
    assert created.status_code == 201, created.text
    esc_id = created.json()["id"]
    token = api.login("supervisor")
    with httpx.Client(
        base_url=api.url, timeout=HTTP_TIMEOUT, headers={"Authorization": f"Bearer {token}"}
    ) as client:
        responses = _concurrently(
            CONCURRENT, lambda _: client.post(f"/v1/escalations/{esc_id}/acknowledge")
        )
    assert [r.status_code for r in responses] == [200] * CONCURRENT
    assert len({r.json()["acknowledged_at"] for r in responses}) == 1
    with api.session() as s:
        row = s.get(models.Escalation, esc_id)
        assert row is not None and row.version == 2  # raised, then acknowledged once


def test_concurrent_wrong_passwords_never_pass_the_lockout(api: ApiHarness) -> None:
    _sockets_only(api)
    username = _staff(api, "assistant", 1, skip=2)
    guesses = 20
    with httpx.Client(
        base_url=api.url, timeout=HTTP_TIMEOUT, limits=httpx.Limits(max_connections=guesses)
    ) as client:
        responses = _concurrently(
            guesses,
            lambda i: client.post(
                "/v1/auth/login", json={"username": username, "password": f"wrong-{i}"}
            ),
        )
        statuses = Counter(r.status_code for r in responses)
        assert set(statuses) <= {401, 429}, statuses
        assert statuses[401] <= 5, statuses  # max_failed_logins: at most 5 guesses checked
        locked = client.post(
            "/v1/auth/login", json={"username": username, "password": api.password}
        )
    assert _error(locked, 429)["code"] == "too-many-attempts"
    assert int(locked.headers["Retry-After"]) > 0
    uid = api.user(username)["id"]
    assert audit_count(api, "auth.locked", f"user:{uid}") == 1


def test_unknown_usernames_are_throttled_by_name(api: ApiHarness) -> None:
    name = f"nobody-{uuid.uuid4().hex[:8]}"
    with api.client() as c:
        answers = [
            c.post("/v1/auth/login", json={"username": name, "password": f"guess-{i}"})
            for i in range(7)
        ]
        other = c.post("/v1/auth/login", json={"username": name + "x", "password": "guess"})
    assert [r.status_code for r in answers] == [401] * 5 + [429] * 2
    assert int(answers[-1].headers["Retry-After"]) > 0
    assert other.status_code == 401  # another name is not held


# --- item 6: per-installation webhook keys, rotated, wrong ones audited --------------------


def test_rotate_key_prints_a_new_key_once_and_the_old_one_stops(api: ApiHarness) -> None:
    practice = api.practice(1)
    old = practice["webhook_key"]
    done = subprocess.run(
        [
            str(VENV_BIN / "assistant-api"),
            "practice",
            "rotate-key",
            practice["id"],
            "--db",
            api.db_url,
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    new = done.stdout.strip()
    assert new.startswith("whk_") and len(new) == 52 and new != old
    assert new not in done.stderr and "shown once" in done.stderr
    payload = {"caller_phone": "+19995550301", "called_at": "2026-11-30T15:00:00Z"}
    assert _error(_missed(api, payload, key=old), 401)["code"] == "unauthenticated"
    assert _missed(api, payload, key=new).status_code == 201
    with api.session() as s:
        row = s.get(models.Practice, practice["id"])
        assert row is not None and new not in row.webhook_key_hash  # stored hashed only
    assert audit_count(api, "practice.rotate-key", f"practice:{practice['id']}") == 1
    # An unknown practice: one clear line, non-zero exit.
    missing = subprocess.run(
        [str(VENV_BIN / "assistant-api"), "practice", "rotate-key", "no-such", "--db", api.db_url],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert missing.returncode == 1 and "no practice" in missing.stderr
    assert "Traceback" not in missing.stderr


def test_a_wrong_webhook_key_is_audited(api: ApiHarness) -> None:
    before = audit_count(api, "webhook.key-refused")
    payload = {"caller_phone": "+19995550302", "called_at": "2026-11-30T15:00:00Z"}
    assert _missed(api, payload, key="whk_" + "0" * 48).status_code == 401
    assert audit_count(api, "webhook.key-refused") == before + 1


# --- item 7: no-store, nosniff, no docs by default -----------------------------------------


def test_api_responses_are_never_cached_or_sniffed(api: ApiHarness) -> None:
    supervisor = client_as(api, api.username("supervisor"))
    with api.client() as anonymous:
        answers = [
            anonymous.get("/v1/health"),
            anonymous.post("/v1/auth/login", json={"username": "x", "password": "y"}),
            anonymous.get("/v1/sync"),
            anonymous.get("/v1/no-such-path"),
            anonymous.post(
                "/v1/auth/login", content=b"{", headers={"Content-Type": "application/json"}
            ),
            supervisor.get("/v1/sync", params={"limit": 1}),
            supervisor.get("/v1/audit", params={"limit": 1}),
        ]
    for response in answers:
        assert response.headers["Cache-Control"] == "no-store", response.request.url
        assert response.headers["X-Content-Type-Options"] == "nosniff", response.request.url


def test_interactive_docs_are_off_by_default(api: ApiHarness) -> None:
    with api.client() as c:
        assert c.get("/v1/docs").status_code == 404
        assert c.get("/docs").status_code == 404
        assert c.get("/v1/openapi.json").status_code == 200


# --- item 8: audit reads are scoped --------------------------------------------------------


def _one_task(api: ApiHarness, practice: int) -> str:
    with api.session() as s:
        return str(
            s.scalars(
                select(models.Task.id)
                .where(models.Task.practice_id == api.practice(practice)["id"])
                .order_by(models.Task.id)
                .limit(1)
            ).one()
        )


def test_a_supervisor_never_reads_audit_rows_of_another_practice(api: ApiHarness) -> None:
    # "supervisor" works in both real practices; "supervisor.fr" only in the second.
    both = client_as(api, "supervisor")
    other_task, own_task = _one_task(api, 0), _one_task(api, 1)
    assert both.get(f"/v1/tasks/{other_task}").status_code == 200
    assert both.get(f"/v1/tasks/{own_task}").status_code == 200
    mine = client_as(api, "supervisor.fr")
    assert api.user("supervisor.fr")["practice_ids"] == [api.practice(1)["id"]]
    seen: list[dict[str, Any]] = []
    cursor = None
    for _ in range(1000):
        params: dict[str, Any] = {"limit": 1000}
        if cursor:
            params["after"] = cursor
        page = mine.get("/v1/audit", params=params).json()
        seen.extend(page["rows"])
        cursor = page["cursor"]
        if not page["has_more"]:
            break
    resources = {row["resource"] for row in seen}
    assert f"task:{own_task}" in resources
    assert f"task:{other_task}" not in resources
    with api.session() as s:
        theirs = set(
            s.scalars(
                select(models.Task.id).where(models.Task.practice_id != api.practice(1)["id"])
            )
        )
    assert not {r.removeprefix("task:") for r in resources if r.startswith("task:")} & theirs
    # The supervisor of both practices sees both rows.
    everything = both.get("/v1/audit", params={"limit": 1000}).json()
    assert everything["rows"]


# --- item 9: logs are escaped --------------------------------------------------------------


def test_a_request_cannot_forge_a_log_line(
    api: ApiHarness, caplog: pytest.LogCaptureFixture
) -> None:
    forged = "/v1/nothing%0A2026-11-30 12:00:00,000 ERROR central_api: forged%0D%1B[31m"
    with caplog.at_level(logging.INFO, logger="central_api.access"), api.client() as c:
        assert c.get(forged).status_code == 404
    # The access log line is written once the response has gone: poll for it.
    deadline = time.monotonic() + 10
    while True:
        if api.server is not None:
            log_lines = api.server.log_path.read_text(errors="replace").splitlines()
        else:
            log_lines = [line for r in caplog.records for line in r.getMessage().splitlines()]
        mine = [line for line in log_lines if "/v1/nothing" in line]
        if mine or time.monotonic() > deadline:
            break
        time.sleep(0.05)
    assert mine, log_lines[-5:]
    assert all("\\x0a" in line and "\\x1b" in line for line in mine)
    assert not any(line.startswith("2026-11-30 12:00:00,000 ERROR") for line in log_lines)
    assert not any("\x1b" in line or "\r" in line for line in log_lines)


# --- issue 12 item 7: Idempotency-Key ------------------------------------------------------


def test_a_missing_empty_or_overlong_idempotency_key_is_400(
    api: ApiHarness, fresh: TaskPicker
) -> None:
    client = client_as(api, api.username("assistant"))
    task = fresh()
    body = attempt_body(task)
    missing = client.post("/v1/attempts", json=body)
    assert _error(missing, 400)["code"] == "idempotency-key-missing"
    keys = ["", "k" * 256] + (["   "] if api.kind == "inprocess" else [])  # h11 refuses "   "
    for key in keys:
        for path, payload in (
            ("/v1/attempts", body),
            ("/v1/escalations", escalation_body(task.id)),
        ):
            response = client.post(path, json=payload, headers={"Idempotency-Key": key})
            assert _error(response, 400)["code"] == "idempotency-key-invalid", (path, len(key))
    assert _error(client.post("/v1/escalations", json=escalation_body(task.id)), 400)
    assert count(api, models.Attempt, models.Attempt.task_id == task.id) == 0
    assert post_attempt(client, body, key="k" * 255).status_code == 201


# --- item 2 where other parts take dates: FHIR, the FHIR export's search, CSV, telephony ------


def test_a_fhir_date_outside_the_range_is_422_naming_the_field(api: ApiHarness) -> None:
    from tests.api.test_fhir import _appointment, _bundle, _patient, _post

    practice = api.practice(0)["id"]
    key = uuid.uuid4().hex[:8]
    far = _appointment(key, key, status="booked", start=datetime.now(UTC))
    far["start"] = "9999-12-31T23:59:59Z"
    with api.as_user(api.username("admin", 0)) as client:
        response = _post(client, _bundle(_patient(key), far, kind="batch"), practice)
        assert response.status_code == 422, response.text
        issue = response.json()["issue"][0]
        assert issue["expression"] == ["Bundle.entry[1].resource(Appointment)"]
        assert "Appointment.start" in issue["diagnostics"] and "1900" in issue["diagnostics"]
        for stamp in ("ge9999-12-31T23:59:59Z", "lt0001-01-01"):
            search = client.get("/v1/fhir/Task", params={"_lastUpdated": stamp})
            assert "_lastUpdated" in _error(search, 422)["message"]


def test_csv_and_telephony_dates_follow_the_same_range() -> None:
    from central_api.interop import csv_import, telephony

    with pytest.raises(ValueError, match="1900"):
        telephony.parse_timestamp("Fri, 31 Dec 9999 23:59:59 +0000")
    assert telephony.parse_timestamp("Mon, 30 Nov 2026 15:00:00 +0000") is not None
    for bad in ("0001-01-01", "9999-12-31"):
        with pytest.raises(csv_import._RowError, match="1900"):
            csv_import._parse_date(bad, None)
        with pytest.raises(csv_import._RowError, match="1900"):
            csv_import._parse_start(bad + "T09:00:00", None, "America/New_York")


def test_fhir_text_and_practice_ids_with_nul_are_refused_not_500(api: ApiHarness) -> None:
    from tests.api.test_fhir import _bundle, _patient, _post

    practice = api.practice(0)["id"]
    key = uuid.uuid4().hex[:8]
    patient = _patient(key)
    patient["name"][0]["family"] = "Test\u0000person"
    with api.as_user(api.username("admin", 0)) as client:
        response = _post(client, _bundle(patient, kind="batch"), practice)
        assert response.status_code == 422, response.text
        issue = response.json()["issue"][0]
        assert "name[0].family" in issue["diagnostics"]
        nul_practice = _post(client, _bundle(_patient(key + "b")), "prac\u0000tice")
        assert nul_practice.status_code == 404, nul_practice.text
