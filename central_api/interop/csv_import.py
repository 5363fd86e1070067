"""CSV worklists: appointments (and their patients) from a practice-management export.

A TOML mapping names the export's columns and status words::

    [csv]
    delimiter = ","                      # optional
    system = "urn:example:pms"           # the export's id namespace (optional)
    date_format = "%m/%d/%Y"             # birth dates (optional; ISO 8601 if absent)
    datetime_format = "%m/%d/%Y %H:%M"   # appointment start (optional; ISO 8601 if absent)
    region = "US"                        # numbers written the national way (optional)

    [columns]                            # our field = the export's header
    patient_id = "MRN"
    given_name = "First Name"
    family_name = "Last Name"
    date_of_birth = "DOB"
    phone = "Phone"
    appointment_id = "Appt ID"
    start = "Appt Date/Time"             # or start_date + start_time
    provider = "Provider"
    location = "Location"
    visit_type = "Visit Type"
    status = "Status"

    [status]                             # the export's words → ours
    "Scheduled" = "booked"
    "Confirmed" = "confirmed"
    "No Show" = "noshow"

Times without a zone are the practice's local time (its time zone, DST-aware).
Each row is checked on its own: a bad row is reported by line (the file's line
number, header = 1) with the reason and skipped, the good rows are loaded in one
transaction. Rows are matched by `patient_id` and `appointment_id` in `system`,
so the same file twice changes nothing.
"""

from __future__ import annotations

import csv
import io
import tomllib
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pendulum
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from sqlalchemy.orm import Session

from central_api import models
from central_api.interop import records
from central_api.triggers.missed_call import practice_region
from followup_core.enums import AppointmentStatus
from followup_core.phones import InvalidPhone, normalise_stored
from followup_core.schemas import SCHEDULABLE_MESSAGE, is_schedulable

MAX_ROWS = 100_000
_REQUIRED = ("patient_id", "given_name", "family_name", "appointment_id")


class CsvOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")

    delimiter: str = Field(default=",", min_length=1, max_length=1)
    encoding: str = "utf-8-sig"
    system: str | None = Field(default=None, max_length=255)
    date_format: str | None = None
    datetime_format: str | None = None
    region: str | None = Field(default=None, min_length=2, max_length=2)


class Columns(BaseModel):
    model_config = ConfigDict(extra="forbid")

    patient_id: str
    given_name: str
    family_name: str
    date_of_birth: str | None = None
    phone: str | None = None
    appointment_id: str
    start: str | None = None
    start_date: str | None = None
    start_time: str | None = None
    provider: str | None = None
    location: str | None = None
    visit_type: str | None = None
    status: str | None = None


class Mapping(BaseModel):
    """The mapping file, validated (unknown keys refused, so a typo is not ignored)."""

    model_config = ConfigDict(extra="forbid")

    csv: CsvOptions = Field(default_factory=CsvOptions)
    columns: Columns
    status: dict[str, AppointmentStatus] = Field(default_factory=dict)


class MappingError(ValueError):
    """The mapping file cannot be used (the message names the key)."""


def load_mapping(path: Path) -> Mapping:
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise MappingError(f"mapping {path.name}: {exc}") from None
    try:
        mapping = Mapping.model_validate(data)
    except ValidationError as exc:
        err = exc.errors()[0]
        where = ".".join(str(p) for p in err["loc"])
        raise MappingError(f"mapping {path.name}: {where}: {err['msg']}") from None
    cols = mapping.columns
    if not cols.start and not cols.start_date:
        raise MappingError(f"mapping {path.name}: columns: map start, or start_date and start_time")
    return mapping


@dataclass
class BadRow:
    line: int
    reason: str


@dataclass
class CsvResult:
    counts: Counter[str] = field(default_factory=Counter)
    bad: list[BadRow] = field(default_factory=list)
    rows: int = 0

    @property
    def loaded(self) -> int:
        return self.rows - len(self.bad)


class _RowError(Exception):
    pass


def _cell(row: dict[str, str], header: str | None) -> str:
    if header is None:
        return ""
    return (row.get(header) or "").strip()


def _parse_date(text: str, fmt: str | None) -> date:
    try:
        parsed = datetime.strptime(text, fmt).date() if fmt else date.fromisoformat(text)
    except ValueError:
        raise _RowError("not a date in the mapping's date_format") from None
    if not is_schedulable(parsed):
        raise _RowError(f"date: {SCHEDULABLE_MESSAGE}")
    return parsed


def _parse_start(text: str, fmt: str | None, tz: str) -> datetime:
    try:
        naive = datetime.strptime(text, fmt) if fmt else datetime.fromisoformat(text)
    except ValueError:
        raise _RowError("start: not a date and time in the mapping's datetime_format") from None
    if not is_schedulable(naive):
        raise _RowError(f"start: {SCHEDULABLE_MESSAGE}")
    if naive.tzinfo is not None:
        return naive.astimezone(UTC)
    local = pendulum.instance(naive, tz=tz)
    return datetime.fromtimestamp(local.timestamp(), tz=UTC)


class _Loader:
    def __init__(self, session: Session, practice: models.Practice, mapping: Mapping) -> None:
        self.session = session
        self.practice = practice
        self.mapping = mapping
        self.system = mapping.csv.system or f"urn:assistant-tui:csv:{practice.id}"
        self.region = mapping.csv.region or practice_region(practice)
        self.statuses = {k.strip().lower(): v for k, v in mapping.status.items()}

    def row(self, row: dict[str, str]) -> list[records.Outcome]:
        cols = self.mapping.columns
        for name in _REQUIRED:
            if not _cell(row, getattr(cols, name)):
                raise _RowError(f"{name} ({getattr(cols, name)}): empty")
        dob = _cell(row, cols.date_of_birth)
        birth = _parse_date(dob, self.mapping.csv.date_format).isoformat() if dob else ""
        phone = ""
        raw_phone = _cell(row, cols.phone)
        if raw_phone:
            try:
                phone = normalise_stored(raw_phone, self.region)
            except InvalidPhone:
                raise _RowError("phone: not a phone number that can exist") from None
        if cols.start:
            start_text = _cell(row, cols.start)
        else:
            start_text = f"{_cell(row, cols.start_date)} {_cell(row, cols.start_time)}".strip()
        if not start_text:
            raise _RowError("start: empty")
        start = _parse_start(start_text, self.mapping.csv.datetime_format, self.practice.timezone)
        word = _cell(row, cols.status)
        if not word:
            status = AppointmentStatus.BOOKED
        elif word.lower() in self.statuses:
            status = self.statuses[word.lower()]
        elif word.lower() in {s.value for s in AppointmentStatus}:
            status = AppointmentStatus(word.lower())
        else:
            raise _RowError("status: not in the mapping's [status] table")
        patient = records.upsert_patient(
            self.session,
            self.practice,
            [(self.system, _cell(row, cols.patient_id)[:255])],
            records.PatientFields(
                given_name=_cell(row, cols.given_name)[:100],
                family_name=_cell(row, cols.family_name)[:100],
                date_of_birth=birth,
                phone=phone,
            ),
        )
        appointment = records.upsert_appointment(
            self.session,
            self.practice,
            [(self.system, _cell(row, cols.appointment_id)[:255])],
            records.AppointmentFields(
                patient_id=patient.record_id,
                start_at=start,
                status=status,
                provider=_cell(row, cols.provider)[:100],
                location=_cell(row, cols.location)[:100],
                visit_type=_cell(row, cols.visit_type)[:100],
            ),
            source="csv",
        )
        return [patient, appointment]


def import_csv(
    session: Session, practice: models.Practice, mapping: Mapping, text: str
) -> CsvResult:
    """Load the rows of `text` (the CSV) in the caller's transaction; the caller commits.

    Each row runs in a savepoint, so a row that fails is undone alone and reported.
    """
    result = CsvResult()
    reader = csv.DictReader(io.StringIO(text), delimiter=mapping.csv.delimiter)
    headers = set(reader.fieldnames or [])
    missing = [
        f"{name} ({header})"
        for name, header in mapping.columns.model_dump().items()
        if header is not None and header not in headers
    ]
    if missing:
        raise MappingError("the CSV has no column for " + ", ".join(missing))
    loader = _Loader(session, practice, mapping)
    for row in reader:
        result.rows += 1
        if result.rows > MAX_ROWS:
            raise MappingError(f"more than {MAX_ROWS} rows: split the file")
        line = reader.line_num
        try:
            with session.begin_nested():
                outcomes = loader.row(row)
        except (_RowError, records.RecordConflict) as exc:
            result.bad.append(BadRow(line, str(exc)))
            continue
        for kind, outcome in zip(("Patient", "Appointment"), outcomes, strict=True):
            result.counts[f"{kind}.{outcome.change}"] += 1
    return result


def read_csv(path: Path, mapping: Mapping) -> str:
    try:
        return path.read_text(encoding=mapping.csv.encoding)
    except (OSError, UnicodeDecodeError, LookupError) as exc:
        raise MappingError(f"{path.name}: {exc}") from None


def summary(result: CsvResult) -> dict[str, Any]:
    return {
        "rows": result.rows,
        "loaded": result.loaded,
        "counts": dict(sorted(result.counts.items())),
        "bad_rows": [{"line": b.line, "reason": b.reason} for b in result.bad],
    }
