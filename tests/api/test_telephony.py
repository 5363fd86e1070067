"""Provider status callbacks (form-encoded, signed) on the missed-call webhook.

Runs on the `api` fixture: in-process, a real uvicorn on loopback, and PostgreSQL.
"""

from __future__ import annotations

import secrets
import uuid
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode

import pytest
from sqlalchemy import func, select

from central_api import models
from central_api.interop.telephony import signature
from tests.api.conftest import ApiHarness

PATH = "/v1/triggers/missed-call"


@pytest.fixture(scope="module")
def secret(api: ApiHarness) -> str:
    """The practice's telephony secret, as `assistant-api telephony-secret` stores it."""
    token = secrets.token_hex(16)
    with api.session() as s:
        s.add(
            models.TelephonyAccount(
                practice_id=api.practice(0)["id"], provider="twilio", auth_token=token
            )
        )
        s.commit()
    return token


def _callback(
    api: ApiHarness,
    token: str | None,
    fields: dict[str, str],
    *,
    tamper: bool = False,
    practice: int = 0,
) -> tuple[int, dict[str, Any], dict[str, str]]:
    query = urlencode({"practice": api.practice(practice)["id"]})
    url = f"{api.url}{PATH}?{query}"
    headers = {"Content-Type": "application/x-www-form-urlencoded"}
    if token is not None:
        sig = signature(token, url, sorted(fields.items()))
        headers["X-Twilio-Signature"] = (
            sig[:-2] + ("AA" if sig[-2:] != "AA" else "BB") if tamper else sig
        )
    with api.client() as client:
        response = client.post(f"{PATH}?{query}", content=urlencode(fields), headers=headers)
    return response.status_code, response.json(), dict(response.headers)


def _fields(caller: str, status: str = "no-answer", **extra: str) -> dict[str, str]:
    return {
        "CallSid": "CA" + uuid.uuid4().hex,
        "AccountSid": "AC" + "0" * 32,
        "CallStatus": status,
        "From": caller,
        "To": "+12015550199",
        "Direction": "inbound",
        "Timestamp": "Mon, 30 Nov 2026 16:39:56 +0000",
        **extra,
    }


def _calls(api: ApiHarness, **where: Any) -> list[models.MissedCall]:
    with api.session() as s:
        stmt = select(models.MissedCall)
        for name, value in where.items():
            stmt = stmt.where(getattr(models.MissedCall, name) == value)
        return list(s.scalars(stmt).all())


def _a_patient(api: ApiHarness) -> models.Patient:
    with api.session() as s:
        return s.scalars(
            select(models.Patient)
            .where(
                models.Patient.practice_id == api.practice(0)["id"],
                models.Patient.id.not_in(
                    select(models.Task.patient_id).where(
                        models.Task.workflow == "missed-call-recovery",
                        models.Task.patient_id.is_not(None),
                    )
                ),
            )
            .order_by(models.Patient.id)
            .limit(1)
        ).one()


def test_a_signed_no_answer_callback_opens_the_patients_task_once(
    api: ApiHarness, secret: str
) -> None:
    patient = _a_patient(api)
    national = f"({patient.phone[2:5]}) {patient.phone[5:8]}-{patient.phone[8:]} ext. 136"
    fields = _fields(national)
    status, body, _ = _callback(api, secret, fields)
    assert status == 201, body
    assert body["caller"] == "matched" and body["task_id"]
    with api.session() as s:
        task = s.get(models.Task, body["task_id"])
        call = s.get(models.MissedCall, body["call_id"])
    assert task is not None and task.patient_id == patient.id
    assert task.next_action is not None and "ext. 136" in task.next_action
    assert call is not None and call.caller_extension == "136"
    assert call.caller_e164 == patient.phone and call.source == "twilio"
    assert call.called_at == datetime(2026, 11, 30, 16, 39, 56, tzinfo=UTC)

    # The provider retries the same callback: same answer, nothing new.
    again_status, again, headers = _callback(api, secret, fields)
    assert (again_status, again) == (201, body)
    assert headers.get("idempotent-replayed") == "true"
    assert len(_calls(api, call_sid=fields["CallSid"])) == 1


def test_bad_or_missing_signatures_are_refused_and_audited(api: ApiHarness, secret: str) -> None:
    with api.session() as s:
        before = s.scalar(
            select(func.count())
            .select_from(models.AuditEntry)
            .where(models.AuditEntry.action == "webhook.bad-signature")
        )
    forged = _fields("+16465550111")
    assert _callback(api, secret, forged, tamper=True)[0] == 401
    assert _callback(api, None, _fields("+16465550112"))[0] == 401
    assert _callback(api, "not-the-secret", _fields("+16465550113"))[0] == 401
    # The signature covers every parameter: change one after signing and it fails.
    query = urlencode({"practice": api.practice(0)["id"]})
    fields = _fields("+16465550114")
    sig = signature(secret, f"{api.url}{PATH}?{query}", sorted(fields.items()))
    fields["From"] = "+16465550115"
    with api.client() as client:
        moved = client.post(
            f"{PATH}?{query}",
            content=urlencode(fields),
            headers={
                "Content-Type": "application/x-www-form-urlencoded",
                "X-Twilio-Signature": sig,
            },
        )
    assert moved.status_code == 401
    assert moved.json()["error"]["code"] == "unauthenticated"
    # A practice without a telephony secret accepts no signed callback at all.
    assert _callback(api, secret, _fields("+16465550116"), practice=1)[0] == 401
    with api.session() as s:
        after = s.scalar(
            select(func.count())
            .select_from(models.AuditEntry)
            .where(models.AuditEntry.action == "webhook.bad-signature")
        )
    assert (after or 0) - (before or 0) == 5
    for caller in ("+16465550111", "+16465550112", "+16465550113", "+16465550115"):
        assert not _calls(api, caller_e164=caller)


def test_answered_calls_open_nothing(api: ApiHarness, secret: str) -> None:
    for status_name in ("completed", "in-progress", "ringing"):
        fields = _fields("+16465550120", status_name)
        status, body, _ = _callback(api, secret, fields)
        assert status == 200 and body == {"task_id": None, "call_id": None, "caller": None}
        assert not _calls(api, call_sid=fields["CallSid"])
    assert _callback(api, secret, _fields("+16465550120", "exploded"))[0] == 422
    bad_time = _fields("+16465550120", Timestamp="yesterday-ish")
    assert _callback(api, secret, bad_time)[0] == 422


def test_a_callback_timestamped_in_the_future_is_refused(api: ApiHarness, secret: str) -> None:
    """A provider's `Timestamp` beyond the 5-minute clock-skew allowance: 422, nothing kept."""
    fields = _fields("+16465550121", Timestamp="Tue, 01 Jan 2199 09:00:00 +0000")
    status, body, _ = _callback(api, secret, fields)
    assert status == 422, body
    assert body["error"]["code"] == "invalid-request" and "future" in body["error"]["message"]
    assert _calls(api, call_sid=fields["CallSid"]) == []


@pytest.mark.parametrize("caller", ["anonymous", "Restricted", "+266696687", "+7378742833"])
def test_withheld_callers_are_recorded_without_a_task(
    api: ApiHarness, secret: str, caller: str
) -> None:
    with api.session() as s:
        tasks_before = s.scalar(select(func.count()).select_from(models.Task))
    answers = []
    for _ in range(2):  # two different withheld callers are two calls, not one task
        fields = _fields(caller, "busy")
        status, body, _ = _callback(api, secret, fields)
        assert status == 201
        assert body["task_id"] is None and body["caller"] == "withheld"
        answers.append(body["call_id"])
    with api.session() as s:
        tasks_after = s.scalar(select(func.count()).select_from(models.Task))
        rows = [s.get(models.MissedCall, cid) for cid in answers]
    assert tasks_after == tasks_before
    assert all(
        r is not None and r.caller_kind == "withheld" and r.caller_e164 is None for r in rows
    )
    assert all(r is not None and r.withheld_reason for r in rows)


def test_a_placeholders_digits_as_a_real_us_number_reach_that_patient(
    api: ApiHarness, secret: str
) -> None:
    """+7378742833 is Twilio's "RESTRICTED"; 737-874-2833 is a valid Austin number. A
    patient with that number who calls is matched (however the number is written), and the
    placeholder itself is still a withheld caller with no task."""
    patient = _a_patient(api)
    with api.session() as s:
        row = s.get(models.Patient, patient.id)
        assert row is not None
        row.phone = "+17378742833"
        s.commit()
    status, first, _ = _callback(api, secret, _fields("+17378742833", "no-answer"))
    assert status == 201, first
    assert first["caller"] == "matched" and first["task_id"]
    status, second, _ = _callback(api, secret, _fields("(737) 874-2833", "busy"))
    assert status == 201 and second["caller"] == "matched"
    assert second["task_id"] == first["task_id"]  # the same caller: one piece of work
    with api.session() as s:
        task = s.get(models.Task, first["task_id"])
    assert task is not None and task.patient_id == patient.id

    status, withheld, _ = _callback(api, secret, _fields("+7378742833", "no-answer"))
    assert status == 201 and withheld["caller"] == "withheld" and withheld["task_id"] is None
    (call,) = _calls(api, id=withheld["call_id"])
    assert call.withheld_reason == "placeholder" and call.caller_e164 is None


def test_numbers_that_cannot_exist_are_never_callback_numbers(api: ApiHarness, secret: str) -> None:
    for caller in ("+1 200 555 0100", "12", "call me maybe"):
        status, body, _ = _callback(api, secret, _fields(caller, "failed"))
        assert status == 201 and body["task_id"] is None and body["caller"] == "invalid"
    # The JSON contract says the same.
    with api.client() as client:
        reply = client.post(
            PATH,
            json={"caller_phone": "+1 200 555 0100", "called_at": datetime.now(UTC).isoformat()},
            headers={"X-Practice-Key": api.practice(0)["webhook_key"]},
        )
    assert reply.status_code == 201 and reply.json()["task_id"] is None
    with api.session() as s:
        stored = s.scalars(
            select(models.Task.id).where(models.Task.caller_phone == "+12005550100")
        ).all()
    assert not stored
