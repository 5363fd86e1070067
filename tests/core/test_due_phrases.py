"""Natural-language due times, read on the practice's wall clock."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pendulum
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from followup_core.due_phrases import parse_due
from followup_core.errors import DuePhraseError

NY = "America/New_York"
NOW = pendulum.datetime(2026, 11, 24, 10, 0, tz=NY)  # a Tuesday


def due(text: str, now: datetime = NOW, tz: str = NY) -> pendulum.DateTime:
    got = parse_due(text, now=now, tz=tz)
    assert got.timezone_name == "UTC"
    return got.in_timezone(tz)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("tomorrow 10am", (2026, 11, 25, 10, 0)),
        ("Tomorrow at 10:15 AM", (2026, 11, 25, 10, 15)),
        ("10am tomorrow", (2026, 11, 25, 10, 0)),
        ("in 2 hours", (2026, 11, 24, 12, 0)),
        ("in an hour", (2026, 11, 24, 11, 0)),
        ("in half an hour", (2026, 11, 24, 10, 30)),
        ("in 1h30m", (2026, 11, 24, 11, 30)),
        ("in 2 hours and 30 minutes", (2026, 11, 24, 12, 30)),
        ("in 3 days", (2026, 11, 27, 10, 0)),
        ("in 1 week", (2026, 12, 1, 10, 0)),
        ("mon 9:30", (2026, 11, 30, 9, 30)),
        ("friday", (2026, 11, 27, 9, 0)),
        ("tuesday", (2026, 12, 1, 9, 0)),  # a bare weekday is after today
        ("this tuesday 4pm", (2026, 11, 24, 16, 0)),
        ("next fri 2:30pm", (2026, 11, 27, 14, 30)),
        ("next week", (2026, 11, 30, 9, 0)),
        ("2026-12-01 14:00", (2026, 12, 1, 14, 0)),
        ("2026-12-01T14:00", (2026, 12, 1, 14, 0)),
        ("12/01", (2026, 12, 1, 9, 0)),
        ("dec 1 2pm", (2026, 12, 1, 14, 0)),
        ("Dec 25th, 2026 at 9:15am", (2026, 12, 25, 9, 15)),
        ("1 jan", (2027, 1, 1, 9, 0)),  # a date without a year is the next one
        ("3pm", (2026, 11, 24, 15, 0)),
        ("9am", (2026, 11, 25, 9, 0)),  # a time alone is its next occurrence
        ("noon on friday", (2026, 11, 27, 12, 0)),
        ("eod", (2026, 11, 24, 17, 0)),
        ("tonight", (2026, 11, 24, 18, 0)),
        ("at 14", (2026, 11, 24, 14, 0)),
        ("now", (2026, 11, 24, 10, 0)),
    ],
)
def test_phrases(text: str, expected: tuple[int, ...]) -> None:
    assert due(text) == pendulum.datetime(*expected, tz=NY)


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("", "empty"),
        ("   ", "empty"),
        ("yesterday", "try"),
        ("whenever", "try"),
        ("tomorrow 5", "5am or 5pm"),
        ("today 8am", "passed"),
        ("2020-01-01", "passed"),
        ("2026-02-30", "no such date"),
        ("13pm", "1 to 12"),
        ("tomorrow 25:00", "23"),
        ("tomorrow 10:75", "59"),
        ("in 2 parsecs", "unit"),
        ("in 1.5 days", "whole days"),
        ("in soon", "in 2 hours"),
        ("in 500 weeks", "two years"),
        ("in 99999999999 weeks", "two years"),
        ("in 9999999999999999999 minutes", "two years"),
        ("9999-12-31 23:59", "two years"),
        ("dec 1 9999", "two years"),
        ("tomorrow at teatime", "cannot read"),
        ("3pm on someday", "day"),
        ("x" * 100, "too long"),
    ],
)
def test_bad_phrases_give_one_line_reasons(text: str, reason: str) -> None:
    with pytest.raises(DuePhraseError) as info:
        parse_due(text, now=NOW, tz=NY)
    assert reason in str(info.value)
    assert "\n" not in str(info.value)


AT_7 = pendulum.datetime(2026, 11, 24, 7, 0, tz=NY)  # Tuesday 07:00
AT_1405 = pendulum.datetime(2026, 11, 24, 14, 5, tz=NY)
AT_1530 = pendulum.datetime(2026, 11, 24, 15, 30, tz=NY)
AT_1900 = pendulum.datetime(2026, 11, 24, 19, 0, tz=NY)
AT_2330 = pendulum.datetime(2026, 11, 24, 23, 30, tz=NY)


# Phrase x now -> value. The phrases are the ones people file against natural-language
# date parsers (dateparser, parsedatetime, chrono, natty): see followup_core/due_phrases.py.
@pytest.mark.parametrize(
    ("text", "now", "expected"),
    [
        ("tonight at 8", AT_7, (2026, 11, 24, 20, 0)),  # not 08:00 (issue 12)
        ("tonight at 8", AT_1405, (2026, 11, 24, 20, 0)),  # not refused as past
        ("tonight at 9:30", AT_7, (2026, 11, 24, 21, 30)),  # matthewmueller/date#72
        ("8 tonight", AT_7, (2026, 11, 24, 20, 0)),
        ("at 8 tonight", AT_7, (2026, 11, 24, 20, 0)),
        ("8pm tonight", AT_7, (2026, 11, 24, 20, 0)),
        ("tonight", AT_1405, (2026, 11, 24, 18, 0)),
        ("tonight", AT_1900, (2026, 11, 24, 19, 0)),  # already evening: due now
        ("tonight at midnight", AT_1405, (2026, 11, 25, 0, 0)),  # the midnight ending today
        ("midnight", AT_1405, (2026, 11, 25, 0, 0)),
        ("this evening", AT_1405, (2026, 11, 24, 18, 0)),
        ("this evening at 7", AT_1405, (2026, 11, 24, 19, 0)),
        ("tomorrow night", AT_1405, (2026, 11, 25, 18, 0)),
        ("tomorrow night at 9", AT_1405, (2026, 11, 25, 21, 0)),
        ("tomorrow evening", AT_1405, (2026, 11, 25, 18, 0)),
        ("this afternoon", AT_7, (2026, 11, 24, 13, 0)),
        ("this afternoon", AT_1530, (2026, 11, 24, 15, 30)),  # in the afternoon: due now
        ("this afternoon at 2", AT_7, (2026, 11, 24, 14, 0)),
        ("this afternoon at 12:30", AT_7, (2026, 11, 24, 12, 30)),
        ("tomorrow afternoon", AT_1405, (2026, 11, 25, 13, 0)),  # wanasit/chrono#126
        ("afternoon", AT_1900, (2026, 11, 25, 13, 0)),  # a part alone: the next one
        ("in the afternoon", AT_7, (2026, 11, 24, 13, 0)),
        ("this morning", AT_7, (2026, 11, 24, 9, 0)),
        ("tomorrow morning", AT_1405, (2026, 11, 25, 9, 0)),
        ("tomorrow morning at 10:30", AT_1405, (2026, 11, 25, 10, 30)),
        ("in the morning", AT_1405, (2026, 11, 25, 9, 0)),
        ("monday morning", AT_1405, (2026, 11, 30, 9, 0)),
        ("Monday afternoon at 3", AT_1405, (2026, 11, 30, 15, 0)),
        ("friday evening", AT_1405, (2026, 11, 27, 18, 0)),
        ("end of day", AT_1405, (2026, 11, 24, 17, 0)),
        ("by end of day", AT_1405, (2026, 11, 24, 17, 0)),
        ("tomorrow end of day", AT_1405, (2026, 11, 25, 17, 0)),  # bear/parsedatetime#189
        ("end of day tomorrow", AT_1405, (2026, 11, 25, 17, 0)),
        ("cob friday", AT_1405, (2026, 11, 27, 17, 0)),
        ("end of week", AT_1405, (2026, 11, 27, 17, 0)),
        ("end of the week", AT_1405, (2026, 11, 27, 17, 0)),
        ("noon", AT_7, (2026, 11, 24, 12, 0)),
        ("noon", AT_1405, (2026, 11, 25, 12, 0)),
        ("today at midday", AT_7, (2026, 11, 24, 12, 0)),  # mojombo/chronic#369
        ("tomorrow at noon", AT_1405, (2026, 11, 25, 12, 0)),
        ("noon tomorrow", AT_1405, (2026, 11, 25, 12, 0)),
        ("first thing tomorrow", AT_1405, (2026, 11, 25, 9, 0)),
        ("tomorrow first thing", AT_1405, (2026, 11, 25, 9, 0)),
        ("first thing", AT_7, (2026, 11, 24, 9, 0)),
        ("first thing", AT_1405, (2026, 11, 25, 9, 0)),
        ("first thing monday", AT_1405, (2026, 11, 30, 9, 0)),
        ("after lunch", AT_7, (2026, 11, 24, 13, 0)),
        ("after lunch", AT_1405, (2026, 11, 25, 13, 0)),
        ("tomorrow after lunch", AT_7, (2026, 11, 25, 13, 0)),
        ("tomorrow at lunch", AT_7, (2026, 11, 25, 12, 0)),
        ("lunchtime", AT_7, (2026, 11, 24, 12, 0)),
        ("next week", AT_1405, (2026, 11, 30, 9, 0)),
        ("next week", pendulum.datetime(2026, 11, 29, 10, 0, tz=NY), (2026, 11, 30, 9, 0)),
        ("in a couple of hours", AT_1405, (2026, 11, 24, 16, 5)),
        ("in a couple hours", AT_1405, (2026, 11, 24, 16, 5)),
        ("a couple of hours from now", AT_1405, (2026, 11, 24, 16, 5)),
        ("in a couple of days", AT_1405, (2026, 11, 26, 14, 5)),
        ("2 hours from now", AT_1405, (2026, 11, 24, 16, 5)),
        ("in an hour and a half", AT_1405, (2026, 11, 24, 15, 35)),
        ("in 2 hours and a half", AT_1405, (2026, 11, 24, 16, 35)),
        ("in 90 minutes", AT_1405, (2026, 11, 24, 15, 35)),
        ("this time tomorrow", AT_1405, (2026, 11, 25, 14, 5)),
        ("same time tomorrow", AT_1405, (2026, 11, 25, 14, 5)),
        ("the day after tomorrow", AT_1405, (2026, 11, 26, 9, 0)),
        ("day after tomorrow 2pm", AT_1405, (2026, 11, 26, 14, 0)),
        ("monday", AT_1405, (2026, 11, 30, 9, 0)),  # weekday names: the next one
        ("on monday", AT_1405, (2026, 11, 30, 9, 0)),
        ("tuesday", AT_1405, (2026, 12, 1, 9, 0)),  # today is Tuesday: next week's
        ("wednesday", AT_1405, (2026, 11, 25, 9, 0)),
        ("next wednesday", AT_1405, (2026, 11, 25, 9, 0)),
        ("by friday", AT_1405, (2026, 11, 27, 9, 0)),
        ("the 3rd", AT_1405, (2026, 12, 3, 9, 0)),  # past this month: next month's
        ("the 30th", AT_1405, (2026, 11, 30, 9, 0)),  # still ahead this month
        ("on the 24th at 4pm", AT_1405, (2026, 11, 24, 16, 0)),  # today, later
        ("the 31st", AT_1405, (2026, 12, 31, 9, 0)),  # November has none
        ("3rd", AT_1405, (2026, 12, 3, 9, 0)),
        ("the 3rd at 10am", AT_1405, (2026, 12, 3, 10, 0)),
        ("the 3rd of december", AT_1405, (2026, 12, 3, 9, 0)),
        ("3rd of dec at 2pm", AT_1405, (2026, 12, 3, 14, 0)),
        ("december 3rd", AT_1405, (2026, 12, 3, 9, 0)),
        ("dec the 3rd", AT_1405, (2026, 12, 3, 9, 0)),
        ("12/3", AT_1405, (2026, 12, 3, 9, 0)),  # US month/day
        ("12/3 at 2pm", AT_1405, (2026, 12, 3, 14, 0)),
        ("1/5", AT_1405, (2027, 1, 5, 9, 0)),  # the next January 5th
        ("12/3/26", AT_1405, (2026, 12, 3, 9, 0)),
        ("3pm", AT_1405, (2026, 11, 24, 15, 0)),
        ("around 3pm", AT_1405, (2026, 11, 24, 15, 0)),
        ("@ 3:30pm", AT_1405, (2026, 11, 24, 15, 30)),
        ("asap", AT_1405, (2026, 11, 24, 14, 5)),
    ],
)
def test_phrase_now_value(text: str, now: pendulum.DateTime, expected: tuple[int, ...]) -> None:
    assert due(text, now) == pendulum.datetime(*expected, tz=NY)


@pytest.mark.parametrize(
    ("text", "now", "reason"),
    [
        ("tonight at 8am", AT_7, "not in the night"),
        ("this morning at 3pm", AT_7, "not in the morning"),
        ("tonight at 12", AT_7, "noon or midnight"),
        ("this morning", AT_1405, "passed"),
        ("this afternoon", AT_1900, "passed"),
        ("tonight", AT_2330, "passed"),
        ("tomorrow at 5", AT_1405, "5am or 5pm"),  # no part of the day: still ambiguous
        ("at 3", AT_1405, "3am or 3pm"),
        ("in a few hours", AT_1405, "how many"),
        ("later", AT_1405, "say when"),
        ("soon", AT_1405, "say when"),
        ("tomorrow tuesday", AT_1405, "two days"),
        ("3pm 4pm", AT_1405, "two times"),
        ("the 32nd", AT_1405, "no such date"),
        ("13/45", AT_1405, "no such date"),
        ("8", AT_1405, "try"),  # a bare number alone is not a time
        ("yesterday evening", AT_1405, "try"),
    ],
)
def test_phrases_refused_with_reason(text: str, now: pendulum.DateTime, reason: str) -> None:
    with pytest.raises(DuePhraseError) as info:
        parse_due(text, now=now, tz=NY)
    assert reason in str(info.value)
    assert "\n" not in str(info.value)


def test_read_in_the_practice_zone_not_the_assistants() -> None:
    # The assistant sits in Berlin; the practice is in Denver.
    now = pendulum.datetime(2026, 11, 24, 22, 0, tz="Europe/Berlin")  # 14:00 in Denver
    got = parse_due("tomorrow 10am", now=now, tz="America/Denver")
    assert got == pendulum.datetime(2026, 11, 25, 10, 0, tz="America/Denver")
    assert got == datetime(2026, 11, 25, 17, 0, tzinfo=UTC)


def test_dst_days() -> None:
    before_spring = pendulum.datetime(2026, 3, 7, 12, 0, tz=NY)
    # "in 1 day" keeps the wall clock; "in 24 hours" is elapsed time.
    assert due("in 1 day", before_spring) == pendulum.datetime(2026, 3, 8, 12, 0, tz=NY)
    assert due("in 24 hours", before_spring) == pendulum.datetime(2026, 3, 8, 13, 0, tz=NY)
    assert due("tomorrow 9am", before_spring).utcoffset() == timedelta(hours=-4)
    # 02:30 does not exist on spring-forward day: it moves forward, never errors.
    assert due("tomorrow 02:30", before_spring) == pendulum.datetime(2026, 3, 8, 3, 30, tz=NY)
    with pytest.raises(ValueError):
        parse_due("now", now=datetime(2026, 1, 1), tz=NY)


@settings(max_examples=150, deadline=None)
@given(
    now=st.datetimes(
        min_value=datetime(2026, 1, 1), max_value=datetime(2027, 12, 31), timezones=st.just(UTC)
    ),
    tz=st.sampled_from(["America/New_York", "America/Denver", "America/Phoenix"]),
    phrase=st.sampled_from(
        ["tomorrow 10am", "mon 9:30", "friday", "next week", "3pm", "eod", "in 2 hours"]
    ),
)
def test_results_are_never_in_the_past_and_land_on_the_wall_clock(now, tz, phrase) -> None:
    try:
        got = parse_due(phrase, now=now, tz=tz)
    except DuePhraseError as err:
        assert phrase == "eod" and "passed" in str(err)  # only eod can be past (after 17:00)
        return
    assert got >= now
    assert got - now <= timedelta(days=8)
    local = got.in_timezone(tz)
    if phrase == "tomorrow 10am":
        assert (local.hour, local.minute) == (10, 0)
        assert local.date() == pendulum.instance(now).in_timezone(tz).date() + timedelta(days=1)
    if phrase == "mon 9:30":
        assert (local.isoweekday(), local.hour, local.minute) == (1, 9, 30)


@given(text=st.text(max_size=40))
@settings(max_examples=300, deadline=None)
def test_any_text_parses_or_raises_due_phrase_error(text: str) -> None:
    try:
        got = parse_due(text, now=NOW, tz=NY)
    except DuePhraseError:
        return
    assert got >= NOW


_units = st.sampled_from(["m", "min", "minutes", "h", "hours", "d", "days", "w", "weeks"])
_days = st.sampled_from(["", "today ", "tomorrow ", "mon ", "next fri ", "this wed ", "dec 1 "])
_times = st.one_of(
    st.builds(lambda h, m: f"{h}:{m:02d}", st.integers(0, 30), st.integers(0, 70)),
    st.builds(lambda h, ap: f"{h}{ap}", st.integers(0, 14), st.sampled_from(["am", "pm", " p.m."])),
    st.builds(str, st.integers(0, 30)),
)
phrases = st.one_of(
    st.builds(lambda n, u: f"in {n} {u}", st.integers(0, 10**20), _units),
    st.builds(lambda d, t: f"{d}{t}".strip(), _days, _times),
    st.builds(
        lambda y, mo, d: f"{y}-{mo:02d}-{d:02d}",
        st.integers(1, 9999),
        st.integers(0, 13),
        st.integers(0, 32),
    ),
)


@given(text=phrases)
@settings(max_examples=300, deadline=None)
def test_grammar_shaped_input_parses_or_raises_due_phrase_error(text: str) -> None:
    try:
        got = parse_due(text, now=NOW, tz=NY)
    except DuePhraseError:
        return
    assert NOW <= got <= NOW + timedelta(days=2 * 366)
