"""Property: every spelling of a patient's number reaches that patient's missed-call task."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select
from sqlalchemy.orm import Session

from central_api import models
from central_api.db import make_engine, make_session_factory
from central_api.triggers.missed_call import take_missed_call
from tests.support.seeded import SqliteTemplate

FORMS = (
    "{cc}{a}{e}{n}",
    "+1 ({a}) {e}-{n}",
    "({a}) {e}-{n}",
    "{a}.{e}.{n}",
    "1-{a}-{e}-{n}",
    "011 1 {a} {e} {n}",
    "tel:+1-{a}-{e}-{n}",
    "tel:{a}{e}{n};phone-context=+1",
)
EXTENSIONS = ("", " x136", " ext. 136", ";ext=136")


@pytest.fixture(scope="module")
def session(
    sqlite_template: SqliteTemplate, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Session]:
    url = sqlite_template.copy(tmp_path_factory.mktemp("phones"))
    engine = make_engine(url)
    with make_session_factory(engine)() as s:
        yield s
    engine.dispose()


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(form=st.sampled_from(FORMS), ext=st.sampled_from(EXTENSIONS), pick=st.integers(0, 50))
def test_any_spelling_matches_the_same_patient(
    session: Session, form: str, ext: str, pick: int
) -> None:
    patients = session.scalars(
        select(models.Patient)
        .where(models.Patient.phone.like("+1201555%"))
        .order_by(models.Patient.id)
    ).all()
    patient = patients[pick % len(patients)]
    practice = session.get(models.Practice, patient.practice_id)
    assert practice is not None
    digits = patient.phone[2:]
    raw = form.format(cc="+1", a=digits[:3], e=digits[3:6], n=digits[6:])
    if raw.startswith("tel:") and ext and not ext.startswith(";"):
        ext = ";ext=136"
    try:
        intake = take_missed_call(session, practice, caller=raw + ext, called_at=datetime.now(UTC))
        assert intake.call.caller_kind == "matched"
        assert intake.task is not None and intake.task.patient_id == patient.id
        assert intake.call.caller_extension == ("136" if ext else None)
    finally:
        session.rollback()
