"""`assistant-api fhir import`, `import-csv` and `telephony-secret`, run as the real command."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import func, select

from central_api import models
from central_api.db import make_engine, make_session_factory
from tests.api.test_cli import run
from tests.support.seeded import SqliteTemplate

FIXTURES = Path(__file__).parent.parent / "fixtures" / "fhir"
EXAMPLES_DIR = Path(__file__).parent.parent.parent / "examples"
# HL7's R4 examples that refer to each other (ServiceRequest "myringotomy" names a patient
# on another server, so it is refused on its own: see tests/fixtures/fhir/README.md).
EXAMPLES = (
    "Patient-example.json",
    "Appointment-example.json",
    "ServiceRequest-lipid.json",
    "Task-example1.json",
)

MAPPING = """
[csv]
system = "urn:example:pms"
date_format = "%m/%d/%Y"
datetime_format = "%m/%d/%Y %H:%M"

[columns]
patient_id = "MRN"
given_name = "First Name"
family_name = "Last Name"
date_of_birth = "DOB"
phone = "Phone"
appointment_id = "Appt ID"
start = "Appt Date/Time"
provider = "Provider"
visit_type = "Visit Type"
status = "Status"

[status]
"Scheduled" = "booked"
"Confirmed" = "confirmed"
"No Show" = "noshow"
"""

CSV = """MRN,First Name,Last Name,DOB,Phone,Appt ID,Appt Date/Time,Provider,Visit Type,Status
M-1,Ada,Example,01/02/1980,(646) 555-0131,A-1,12/15/2026 09:30,Dr. One,Follow-up,Scheduled
M-2,Bea,Example,03/04/1975,646.555.0132 x12,A-2,12/15/2026 10:00,Dr. One,New patient,Confirmed
M-3,Cy,Example,13/45/1990,(646) 555-0133,A-3,12/15/2026 10:30,Dr. Two,Follow-up,Scheduled
M-4,Di,Example,05/06/1970,12,A-4,12/15/2026 11:00,Dr. Two,Follow-up,Scheduled
M-5,Ed,Example,07/08/1965,(646) 555-0135,A-5,12/15/2026 11:30,Dr. Two,Follow-up,Rescheduled
M-1,Ada,Example,01/02/1980,(646) 555-0131,A-6,12/16/2026 08:00,Dr. One,Labs,No Show
"""


@pytest.fixture
def db(sqlite_template: SqliteTemplate, tmp_path: Path) -> str:
    return sqlite_template.copy(tmp_path)


def _practice(sqlite_template: SqliteTemplate) -> str:
    return str(sqlite_template.summary["practices"][0]["id"])


def _count(db: str, model: type[models.Base]) -> int:
    engine = make_engine(db)
    try:
        with make_session_factory(engine)() as s:
            return int(s.scalar(select(func.count()).select_from(model)) or 0)
    finally:
        engine.dispose()


def test_csv_loads_good_rows_reports_bad_ones_by_line_and_is_idempotent(
    db: str, sqlite_template: SqliteTemplate, tmp_path: Path
) -> None:
    practice = _practice(sqlite_template)
    (tmp_path / "map.toml").write_text(MAPPING)
    (tmp_path / "export.csv").write_text(CSV)
    args = [
        "import-csv",
        "--db",
        db,
        "--practice",
        practice,
        "--mapping",
        str(tmp_path / "map.toml"),
    ]
    first = run(*args, "--json", str(tmp_path / "export.csv"))
    assert first.returncode == 2, first.stderr
    out = json.loads(first.stdout)
    assert out["rows"] == 6 and out["loaded"] == 3
    assert [(b["line"], b["reason"].split(":")[0]) for b in out["bad_rows"]] == [
        (4, "not a date in the mapping's date_format"),
        (5, "phone"),
        (6, "status"),
    ]
    assert out["counts"] == {"Appointment.created": 3, "Patient.created": 2, "Patient.unchanged": 1}
    appointments, history = (
        _count(db, models.Appointment),
        _count(db, models.AppointmentStatusChange),
    )

    engine = make_engine(db)
    try:
        with make_session_factory(engine)() as s:
            ext = s.get(models.ExternalId, (practice, "appointment", "urn:example:pms", "A-1"))
            assert ext is not None
            appt = s.get(models.Appointment, ext.record_id)
            assert appt is not None
            # 09:30 in New York in December is 14:30 UTC.
            assert appt.start_at == datetime(2026, 12, 15, 14, 30, tzinfo=UTC)
            assert appt.status == "booked" and appt.provider == "Dr. One"
            patient = s.get(models.Patient, appt.patient_id)
            assert patient is not None and patient.phone == "+16465550131"
            assert patient.date_of_birth == "1980-01-02"
    finally:
        engine.dispose()

    again = run(*args, "--json", str(tmp_path / "export.csv"))
    assert again.returncode == 2
    repeat = json.loads(again.stdout)
    assert set(repeat["counts"]) == {"Appointment.unchanged", "Patient.unchanged"}
    assert repeat["bad_rows"] == out["bad_rows"]
    assert _count(db, models.Appointment) == appointments
    assert _count(db, models.AppointmentStatusChange) == history

    text = run(*args, str(tmp_path / "export.csv"))
    assert "line 4:" in text.stderr and "Traceback" not in text.stderr

    (tmp_path / "bad.toml").write_text("[columns]\npatient_id = 'MRN'\n")
    bad_map = run(
        "import-csv",
        "--db",
        db,
        "--practice",
        practice,
        "--mapping",
        str(tmp_path / "bad.toml"),
        str(tmp_path / "export.csv"),
    )
    assert bad_map.returncode == 1 and "mapping bad.toml" in bad_map.stderr


def test_fhir_import_from_a_directory_twice(
    db: str, sqlite_template: SqliteTemplate, tmp_path: Path
) -> None:
    practice = _practice(sqlite_template)
    bundle = {
        "resourceType": "Bundle",
        "type": "collection",
        "entry": [{"resource": json.loads((FIXTURES / name).read_text())} for name in EXAMPLES],
    }
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "examples.json").write_text(json.dumps(bundle))
    first = run("fhir", "import", str(folder), "--db", db, "--practice", practice, "--json")
    assert first.returncode == 0, first.stderr
    diagnostics = json.loads(first.stdout)[0]["outcome"]["issue"][0]["diagnostics"]
    assert "Patient.created: 1" in diagnostics and "Task.created: 1" in diagnostics
    second = run(
        "fhir", "import", str(folder / "examples.json"), "--db", db, "--practice", practice
    )
    assert second.returncode == 0
    assert "created" not in second.stdout and "Patient.unchanged: 1" in second.stdout

    bad = dict(bundle)
    bad["entry"] = [{"resource": {"resourceType": "Patient", "birthDate": "soon"}}]
    (folder / "zz-bad.json").write_text(json.dumps(bad))
    third = run("fhir", "import", str(folder), "--db", db, "--practice", practice)
    assert third.returncode == 1
    assert "Bundle.entry[0].resource(Patient)" in third.stdout


def test_telephony_secret_comes_from_the_environment(
    db: str, sqlite_template: SqliteTemplate
) -> None:
    practice = _practice(sqlite_template)
    short = run(
        "telephony-secret",
        "--db",
        db,
        "--practice",
        practice,
        env={"ASSISTANT_API_TELEPHONY_SECRET": "short"},
    )
    assert short.returncode == 1
    stored = run(
        "telephony-secret",
        "--db",
        db,
        "--practice",
        practice,
        env={"ASSISTANT_API_TELEPHONY_SECRET": "s" * 32},
    )
    assert stored.returncode == 0, stored.stderr
    assert "s" * 32 not in stored.stdout + stored.stderr
    engine = make_engine(db)
    try:
        with make_session_factory(engine)() as s:
            account = s.get(models.TelephonyAccount, practice)
            assert account is not None and account.auth_token == "s" * 32
    finally:
        engine.dispose()


def test_a_directory_of_single_resources_imports_in_reference_order(
    db: str, sqlite_template: SqliteTemplate, tmp_path: Path
) -> None:
    """`Appointment-example.json` sorts before the `Patient-example.json` it refers to:
    Patient files go first, whatever the names."""
    practice = _practice(sqlite_template)
    folder = tmp_path / "resources"
    folder.mkdir()
    for name in EXAMPLES:
        (folder / name).write_bytes((FIXTURES / name).read_bytes())
    first = run("fhir", "import", str(folder), "--db", db, "--practice", practice, "--json")
    assert first.returncode == 0, first.stdout + first.stderr
    report = json.loads(first.stdout)
    assert [item["file"] for item in report] == [
        "Patient-example.json",
        "ServiceRequest-lipid.json",
        "Appointment-example.json",
        "Task-example1.json",
    ]
    assert all(item["status"] == 200 for item in report)
    again = run("fhir", "import", str(folder), "--db", db, "--practice", practice)
    assert again.returncode == 0 and "created" not in again.stdout
    assert again.stdout.count(".unchanged: 1") == 4


def test_the_example_worklist_loads_with_the_example_mapping(
    db: str, sqlite_template: SqliteTemplate, tmp_path: Path
) -> None:
    """examples/csv-mapping.toml and examples/worklist.csv, as the README shows them."""
    practice = _practice(sqlite_template)
    mapping = str(EXAMPLES_DIR / "csv-mapping.toml")
    worklist = EXAMPLES_DIR / "worklist.csv"
    args = ("import-csv", "--db", db, "--practice", practice, "--mapping", mapping)
    first = run(*args, str(worklist))
    assert first.returncode == 0, first.stderr
    assert first.stdout.startswith("4 of 4 rows loaded")
    again = run(*args, str(worklist), "--json")
    assert again.returncode == 0
    assert json.loads(again.stdout)["counts"] == {
        "Appointment.unchanged": 4,
        "Patient.unchanged": 4,
    }
    # A number that is the right length but in no US area code (HL7's Australian example
    # number read in the US) is a bad row, never a stored callback number.
    bad = tmp_path / "bad.csv"
    bad.write_text(
        worklist.read_text()
        + "EX-1004,Casey,Example,01/01/1970,(03) 3410 5613,A-5004,01/13/2027 09:00 AM,"
        "Dr. Example,Main Street,Follow-up,Scheduled\n"
    )
    third = run(*args, str(bad), "--json")
    assert third.returncode == 2
    assert json.loads(third.stdout)["bad_rows"] == [
        {"line": 6, "reason": "phone: not a phone number that can exist"}
    ]
