"""FHIR R4 import and export on the real API (in-process, uvicorn, PostgreSQL)."""

from __future__ import annotations

import hashlib
import json
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from fhir.resources.R4B import get_fhir_model_class
from sqlalchemy import func, select

from central_api import models
from central_api.interop.fhir_import import FHIR_ID_SYSTEM
from tests.api.conftest import ApiHarness

FIXTURES = Path(__file__).parent.parent / "fixtures" / "fhir"
SYSTEM = "urn:example:pms:ids"  # a synthetic practice-management system
ORION_REFERRALS = "http://orionhealth.com/fhir/apps/referralids"  # in HL7's example


def _fixture(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((FIXTURES / name).read_text())
    return data


def _bundle(*resources: dict[str, Any], kind: str = "collection") -> dict[str, Any]:
    return {
        "resourceType": "Bundle",
        "type": kind,
        "entry": [{"fullUrl": f"urn:uuid:{uuid.uuid4()}", "resource": r} for r in resources],
    }


def _post(client: httpx.Client, bundle: Any, practice: str) -> httpx.Response:
    return client.post(
        "/v1/fhir",
        params={"practice": practice},
        content=json.dumps(bundle),
        headers={"Content-Type": "application/fhir+json"},
    )


def _patient(key: str, phone: str = "(646) 555-0123") -> dict[str, Any]:
    return {
        "resourceType": "Patient",
        "identifier": [{"system": SYSTEM, "value": f"pat-{key}"}],
        "name": [{"use": "official", "family": "Testperson", "given": ["Fhir"]}],
        "telecom": [{"system": "phone", "value": phone, "use": "mobile"}],
        "birthDate": "1980-01-02",
    }


def _appointment(
    key: str,
    patient_key: str,
    *,
    status: str,
    start: datetime,
    patient_status: str = "needs-action",
) -> dict[str, Any]:
    return {
        "resourceType": "Appointment",
        "identifier": [{"system": SYSTEM, "value": f"appt-{key}"}],
        "status": status,
        "start": start.isoformat().replace("+00:00", "Z"),
        "serviceType": [{"text": "Follow-up visit"}],
        "participant": [
            {
                "actor": {
                    "type": "Patient",
                    "identifier": {"system": SYSTEM, "value": f"pat-{patient_key}"},
                },
                "status": patient_status,
            },
            {
                "actor": {"reference": "Practitioner/p1", "display": "Dr. Example"},
                "status": "accepted",
            },
        ],
    }


def _record_id(
    api: ApiHarness, practice_id: str, kind: str, value: str, system: str = SYSTEM
) -> str | None:
    with api.session() as s:
        row = s.get(models.ExternalId, (practice_id, kind, system, value))
        return row.record_id if row is not None else None


def _change_rows(api: ApiHarness) -> int:
    with api.session() as s:
        return int(s.scalar(select(func.count()).select_from(models.ChangeLog)) or 0)


def test_the_fixtures_are_hl7s_published_bytes() -> None:
    """The fixtures are hl7.fhir.r4.examples 4.0.1 as published (README.md there)."""
    sums = (FIXTURES / "SHA256SUMS").read_text().split("\n")
    listed = {line.split()[1]: line.split()[0] for line in sums if line.strip()}
    on_disk = {p.name for p in FIXTURES.glob("*.json")}
    assert set(listed) == on_disk and len(on_disk) == 5
    for name, digest in listed.items():
        assert hashlib.sha256((FIXTURES / name).read_bytes()).hexdigest() == digest, name


def test_the_hl7_examples_import_and_a_reimport_changes_nothing(api: ApiHarness) -> None:
    practice = api.practice(1)["id"]
    bundle = _bundle(
        _fixture("Patient-example.json"),
        _fixture("Appointment-example.json"),
        _fixture("ServiceRequest-lipid.json"),
        _fixture("Task-example1.json"),
        {"resourceType": "Practitioner", "id": "example"},  # not ours: skipped, not refused
    )
    with api.as_user(api.username("supervisor", 1)) as client:
        first = _post(client, bundle, practice)
        assert first.status_code == 200, first.text
        assert first.headers["content-type"].startswith("application/fhir+json")
        summary = first.json()
        get_fhir_model_class("OperationOutcome").model_validate(summary)
        text = summary["issue"][0]["diagnostics"]
        for kind in ("Patient", "Appointment", "ServiceRequest", "Task"):
            assert f"{kind}.created: 1" in text
        assert any("Practitioner" in i["diagnostics"] for i in summary["issue"][1:])
        rows_before = _change_rows(api)

        again = _post(client, bundle, practice)
    assert again.status_code == 200, again.text
    text = again.json()["issue"][0]["diagnostics"]
    assert "created" not in text and "updated" not in text
    for kind in ("Patient", "Appointment", "ServiceRequest", "Task"):
        assert f"{kind}.unchanged: 1" in text
    assert _change_rows(api) == rows_before

    patient_id = _record_id(api, practice, "patient", "12345", "urn:oid:1.2.36.146.595.217.0.1")
    appt_id = _record_id(api, practice, "appointment", "Appointment/example", FHIR_ID_SYSTEM)
    ref_id = _record_id(api, practice, "referral", "2345234234234", "urn:oid:1.3.4.5.6.7")
    task_id = _record_id(api, practice, "task", "20170201-001", "http:/goodhealth.org/identifiers")
    assert patient_id and appt_id and ref_id and task_id
    with api.session() as s:
        patient = s.get(models.Patient, patient_id)
        appt = s.get(models.Appointment, appt_id)
        ref = s.get(models.Referral, ref_id)
        task = s.get(models.Task, task_id)
        history = s.scalars(
            select(models.AppointmentStatusChange.status).where(
                models.AppointmentStatusChange.appointment_id == appt_id
            )
        ).all()
    assert patient is not None and appt is not None and ref is not None and task is not None
    assert (patient.family_name, patient.given_name, patient.date_of_birth) == (
        "Chalmers",
        "Peter James",
        "1974-12-25",
    )
    # The example's numbers are Australian ("(03) 5555 6473"), not diallable from a US
    # practice: no callback number is stored rather than a wrong one.
    assert patient.phone == ""
    # The patient accepted: booked and confirmed (R4: participant status accepted).
    assert appt.status == "confirmed" and appt.patient_id == patient_id
    assert (appt.provider, appt.location, appt.visit_type) == (
        "Dr Adam Careful",
        "South Wing, second floor",
        "General Discussion",
    )
    assert appt.start_at.replace(tzinfo=UTC) == datetime(2013, 12, 10, 9, tzinfo=UTC)
    assert list(history) == ["confirmed"]
    # ServiceRequest "lipid": no authoredOn, so its occurrence (16:16 at -07:00) dates it.
    assert ref.status == "sent" and ref.patient_id == patient_id
    assert ref.specialty == "Lipid Panel" and ref.receiving_provider == ""
    assert ref.referred_at.replace(tzinfo=UTC) == datetime(2013, 5, 2, 23, 16, tzinfo=UTC)
    # Task.code ("Lipid Panel") names no workflow of ours; its focus is ServiceRequest/lipid,
    # imported in the same Bundle, so the task follows that referral.
    assert task.workflow == "referral-follow-up" and task.patient_id == patient_id
    assert task.focus_id == ref_id


def test_hl7s_referral_to_a_patient_on_another_server_is_refused_by_name(
    api: ApiHarness,
) -> None:
    """ServiceRequest "myringotomy" names its subject by an absolute URL on another server:
    nothing in the Bundle or in our records is that patient, so the Bundle is refused whole."""
    practice = api.practice(0)["id"]
    bundle = _bundle(_fixture("Patient-example.json"), _fixture("ServiceRequest-myringotomy.json"))
    rows_before = _change_rows(api)
    with api.as_user(api.username("supervisor", 0)) as client:
        response = _post(client, bundle, practice)
    assert response.status_code == 422, response.text
    outcome = response.json()
    get_fhir_model_class("OperationOutcome").model_validate(outcome)
    assert [i["expression"] for i in outcome["issue"]] == [
        ["Bundle.entry[1].resource(ServiceRequest)"]
    ]
    assert "ServiceRequest.subject" in outcome["issue"][0]["diagnostics"]
    assert "Beverly" not in response.text and "77662" not in response.text
    assert _record_id(api, practice, "referral", "ret4421", ORION_REFERRALS) is None
    assert _record_id(api, practice, "patient", "12345", "urn:oid:1.2.36.146.595.217.0.1") is None
    assert _change_rows(api) == rows_before


def test_bookings_open_work_and_status_updates_close_or_open_it(api: ApiHarness) -> None:
    practice = api.practice(0)["id"]
    key = uuid.uuid4().hex[:8]
    start = datetime.now(UTC).replace(microsecond=0) + timedelta(hours=30)
    booked = _bundle(
        _patient(key), _appointment(key, key, status="booked", start=start), kind="transaction"
    )
    with api.as_user(api.username("supervisor", 0)) as client:
        assert _post(client, booked, practice).status_code == 200
        appt_id = _record_id(api, practice, "appointment", f"appt-{key}")
        assert appt_id
        with api.session() as s:
            confirmation = s.scalars(
                select(models.Task).where(
                    models.Task.focus_id == appt_id,
                    models.Task.workflow == "appointment-confirmation",
                )
            ).one()
            patient = s.get(models.Patient, confirmation.patient_id)
        # The trigger rules ran after the import: the booking has its confirmation work.
        assert confirmation.status in ("ready", "requested")
        assert patient is not None and patient.phone == "+16465550123"

        # The patient confirmed in the EHR: the confirmation task closes.
        accepted = _bundle(
            _appointment(key, key, status="booked", start=start, patient_status="accepted")
        )
        assert _post(client, accepted, practice).status_code == 200
        # Then did not come: a no-show, stored with its time, and rebooking work opens.
        noshow = _bundle(
            _appointment(key, key, status="noshow", start=start, patient_status="accepted")
        )
        assert _post(client, noshow, practice).status_code == 200
        assert _post(client, noshow, practice).status_code == 200  # again: nothing new
    with api.session() as s:
        done = s.get(models.Task, confirmation.id)
        appt = s.get(models.Appointment, appt_id)
        history = s.scalars(
            select(models.AppointmentStatusChange)
            .where(models.AppointmentStatusChange.appointment_id == appt_id)
            .order_by(models.AppointmentStatusChange.seq)
        ).all()
        rebook = s.scalars(
            select(models.Task).where(
                models.Task.focus_id == appt_id, models.Task.workflow == "post-visit-scheduling"
            )
        ).all()
    assert done is not None and done.status == "completed"
    assert done.business_status == "confirmed-in-source"
    assert appt is not None and appt.status == "noshow"
    assert [h.status for h in history] == ["booked", "confirmed", "noshow"]
    assert all(h.source == "fhir" and h.recorded_at is not None for h in history)
    assert len(rebook) == 1 and rebook[0].status in ("ready", "requested")


def test_one_invalid_resource_rejects_the_whole_bundle_and_is_named(api: ApiHarness) -> None:
    practice = api.practice(0)["id"]
    key = uuid.uuid4().hex[:8]
    bad = _appointment(key, key, status="booked", start=datetime.now(UTC) + timedelta(days=1))
    bad["start"] = "next tuesday"
    orphan = _appointment(key + "b", "nobody-" + key, status="booked", start=datetime.now(UTC))
    bundle = _bundle(_patient(key), bad, orphan, kind="batch")
    rows_before = _change_rows(api)
    with api.as_user(api.username("admin", 0)) as client:
        response = _post(client, bundle, practice)
    assert response.status_code == 422
    outcome = response.json()
    get_fhir_model_class("OperationOutcome").model_validate(outcome)
    where = [issue["expression"][0] for issue in outcome["issue"]]
    assert where == [
        "Bundle.entry[1].resource(Appointment)",
        "Bundle.entry[2].resource(Appointment)",
    ]
    assert "start" in outcome["issue"][0]["diagnostics"]
    assert "next tuesday" not in response.text  # names the field, never the value
    # Nothing of it was written, not even the valid Patient.
    assert _record_id(api, practice, "patient", f"pat-{key}") is None
    assert _change_rows(api) == rows_before
    with api.session() as s:
        audited = s.scalar(
            select(func.count())
            .select_from(models.AuditEntry)
            .where(models.AuditEntry.action == "fhir.import-rejected")
        )
    assert audited


def test_not_a_bundle_and_unknown_bundle_types_are_refused(api: ApiHarness) -> None:
    practice = api.practice(0)["id"]
    with api.as_user(api.username("supervisor", 0)) as client:
        assert _post(client, {"resourceType": "Patient"}, practice).status_code == 422
        searchset = {"resourceType": "Bundle", "type": "searchset"}
        reply = _post(client, searchset, practice)
        assert reply.status_code == 422
        assert reply.json()["issue"][0]["expression"] == ["Bundle.type"]
        broken = client.post("/v1/fhir", params={"practice": practice}, content=b"{not json")
        assert broken.status_code == 400


def test_only_admins_and_supervisors_of_the_practice_import(api: ApiHarness) -> None:
    bundle = _bundle(_patient(uuid.uuid4().hex[:8]))
    with api.as_user(api.username("assistant", 0)) as client:
        assert _post(client, bundle, api.practice(0)["id"]).status_code == 403
    with api.as_user("supervisor.fr") as client:  # works in practice 1 only
        other = _post(client, bundle, api.practice(0)["id"])
    assert other.status_code == 404 and other.json()["error"]["code"] == "not-found"


def _validate_searchset(body: dict[str, Any], rtype: str) -> list[dict[str, Any]]:
    get_fhir_model_class("Bundle").model_validate(body)
    assert body["type"] == "searchset"
    resources = [entry["resource"] for entry in body.get("entry", [])]
    for res in resources:
        assert res["resourceType"] == rtype
        get_fhir_model_class(rtype).model_validate(res)
    return resources


def _next(body: dict[str, Any]) -> str | None:
    return next((link["url"] for link in body["link"] if link["relation"] == "next"), None)


def test_tasks_and_attempts_export_as_searchset_bundles_page_by_page(api: ApiHarness) -> None:
    practice = api.practice(0)["id"]
    with api.as_user(api.username("supervisor", 0)) as client:
        for rtype in ("Task", "Communication"):
            first = client.get(f"/v1/fhir/{rtype}", params={"_count": 3, "practice": practice})
            assert first.status_code == 200, first.text
            page1 = _validate_searchset(first.json(), rtype)
            assert len(page1) == 3
            url = _next(first.json())
            assert url is not None
            second = client.get(url.replace(str(client.base_url).rstrip("/"), ""))
            assert second.status_code == 200
            page2 = _validate_searchset(second.json(), rtype)
            assert page2 and not {r["id"] for r in page1} & {r["id"] for r in page2}
            stamps = [r["meta"]["lastUpdated"] for r in page1 + page2]
            assert stamps == sorted(stamps)
            # _lastUpdated bounds: after the newest one seen there is less (or nothing).
            newest = stamps[-1]
            later = client.get(
                f"/v1/fhir/{rtype}", params={"_lastUpdated": f"gt{newest}", "_count": 500}
            )
            assert later.status_code == 200
            assert all(
                r["meta"]["lastUpdated"] > newest for r in _validate_searchset(later.json(), rtype)
            )
            future = (datetime.now(UTC) + timedelta(days=3650)).date().isoformat()
            empty = client.get(f"/v1/fhir/{rtype}", params={"_lastUpdated": f"ge{future}"})
            assert empty.status_code == 200 and not empty.json().get("entry")
        assert (
            client.get("/v1/fhir/Task", params={"_lastUpdated": "eq2026-01-01"}).status_code == 400
        )
        assert client.get("/v1/fhir/Task", params={"_page": "garbage!"}).status_code == 400
    with api.as_user(api.username("assistant", 0)) as client:
        assert client.get("/v1/fhir/Task").status_code == 403
    with api.session() as s:
        looks = s.scalar(
            select(func.count())
            .select_from(models.AuditEntry)
            .where(models.AuditEntry.action.in_(["fhir.search.task", "fhir.search.communication"]))
        )
    assert (looks or 0) >= 6
