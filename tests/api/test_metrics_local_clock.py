"""The practice's local date and hour in SQL (`central_api.metrics._local_clock`).

SQLite knows no time zones: the offset in force is added, one CASE branch per DST
change of the period. Checked against Python's zoneinfo for instants on both sides of
the 2026-11-01 change in New York and of 23:30 in Los Angeles (already the next UTC day).
"""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from sqlalchemy import create_engine, literal, select
from sqlalchemy.orm import Session

from central_api import models
from central_api.metrics import _as_date, _local_clock, _offsets
from followup_core import metrics as m
from followup_core.business_time import zone

INSTANTS = [
    ("America/New_York", datetime(2026, 11, 1, 5, 59, tzinfo=UTC)),  # 01:59 EDT
    ("America/New_York", datetime(2026, 11, 1, 6, 30, tzinfo=UTC)),  # 01:30 EST (again)
    ("America/New_York", datetime(2026, 11, 1, 4, 30, tzinfo=UTC)),  # 00:30 EDT
    ("America/New_York", datetime(2026, 10, 31, 3, 59, tzinfo=UTC)),  # 23:59 Oct 30 EDT
    ("America/Los_Angeles", datetime(2026, 12, 1, 7, 30, tzinfo=UTC)),  # 23:30 Nov 30
    ("America/Los_Angeles", datetime(2026, 12, 1, 8, 0, tzinfo=UTC)),  # 00:00 Dec 1
    ("Asia/Tokyo", datetime(2026, 11, 30, 15, 0, tzinfo=UTC)),  # 00:00 Dec 1
]


@pytest.mark.parametrize(("tz", "at"), INSTANTS, ids=[f"{z}-{a:%m%dT%H%M}" for z, a in INSTANTS])
def test_sqlite_local_date_and_hour_match_zoneinfo(tz: str, at: datetime) -> None:
    period = m.Period(date(2026, 10, 1), date(2026, 12, 31), tz)
    engine = create_engine("sqlite://")
    try:
        with Session(engine) as session:
            col = literal(at, models.UTCDateTime())
            day, hour = _local_clock(session, col, period)
            got_day, got_hour = session.execute(select(day, hour)).one()
    finally:
        engine.dispose()
    local = at.astimezone(zone(tz))
    assert (_as_date(got_day), int(got_hour)) == (local.date(), local.hour)


def test_offsets_change_at_the_dst_instant() -> None:
    period = m.Period(date(2026, 10, 1), date(2026, 12, 31), "America/New_York")
    changes = _offsets(period)
    assert [o for _at, o in changes] == [-4 * 3600, -5 * 3600]
    assert changes[1][0] == datetime(2026, 11, 1, 6, tzinfo=UTC)  # 02:00 EDT = 06:00 UTC
    year = m.Period(date(2026, 1, 1), date(2026, 12, 31), "America/New_York")
    assert len(_offsets(year)) == 3  # EST, EDT from March, EST from November
    utc = m.Period(date(2026, 1, 1), date(2026, 1, 31), "UTC")
    assert _offsets(utc) == [(datetime(2025, 12, 31, tzinfo=UTC), 0)]  # a day before: margin
