"""The practice file: the example and the seeded files check clean; each kind of
mistake gets its line and rule; holiday calendars give observed dates."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from followup_core.holiday_calendars import (
    UnknownCalendar,
    holiday_dates,
    practice_holidays,
)
from followup_core.practice_toml import check_text, key_lines, render

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "practice.toml"
SEEDED = sorted((ROOT / "central_api" / "seeding" / "practices").glob("*.toml"))


def _line(text: str, needle: str) -> int:
    """1-based line of the first line containing `needle`."""
    return next(i for i, line in enumerate(text.splitlines(), 1) if needle in line)


@pytest.mark.parametrize("path", [EXAMPLE, *SEEDED], ids=lambda p: p.name)
def test_shipped_files_check_clean(path: Path) -> None:
    model, problems = check_text(path.read_text(encoding="utf-8"))
    assert problems == []
    assert model is not None and model.workflows


def test_seeded_files_are_the_three_practices() -> None:
    assert [p.stem for p in SEEDED] == ["frontrange", "hudson", "training"]


def _broken() -> str:
    text = EXAMPLE.read_text(encoding="utf-8")
    swaps = {
        'timezone = "America/Chicago"': 'timezone = "America/Chicgo"',
        'calling_window = "08:00-20:00"': 'calling_window = "07:00-22:00"',
        "response_target_minutes = 120": "response_target_minutes = 5",
        # a route without a contact: drop the billing contact
        'route = "billing"': 'route = "billing-typo"',
        # PHI placeholder and a revealing word in a script's own voicemail text
        '# voicemail = "Hello, this is {practice_name} returning a call from this number. '
        "Please call us at {callback_number}.": (
            'voicemail = "Hello, this is {practice_name} about your lab results, '
            "{patient_name}. Please call us at {callback_number}."
        ),
        # a script step using a field the workflow does not have
        'text = "How can we help you today?"': 'text = "About your visit on {appointment_date}?"',
        # an evening line running into the next morning's opening
        'fri = ["08:00-17:00", "21:00-02:00"]': 'fri = ["08:00-17:00", "21:00-02:00"]\nsat = ["01:00-05:00"]',
        'role = "assistant"': 'role = "receptionist"',
        "[[workflows]]\n": '[[workflows]]\nid = "dental-recall"\nresponse_target_minutes = 60\n'
        'max_attempts = 3\nmin_spacing_minutes = 60\ncalling_window = "09:00-17:00"\n\n[[workflows]]\n',
    }
    for old, new in swaps.items():
        assert old in text, old
        text = text.replace(old, new, 1)
    return text


def test_each_kind_of_mistake_gets_its_line_and_rule() -> None:
    text = _broken()
    model, problems = check_text(text)
    assert model is None
    got = {(p.line, p.rule) for p in problems}
    messages = "\n".join(str(p) for p in problems)
    expected = {
        (_line(text, "America/Chicgo"), "valid-value"),
        (_line(text, '"dental-recall"'), "valid-value"),
        (_line(text, "response_target_minutes = 5"), "product-limit"),
        (_line(text, '"07:00-22:00"'), "valid-value"),
        (_line(text, '"billing-typo"'), "known-value"),
        (_line(text, "about your lab results"), "valid-value"),
        (_line(text, "{appointment_date}"), "placeholder-the-workflow-has"),
        (_line(text, "fri = "), "hours-do-not-overlap"),
        (_line(text, '"receptionist"'), "known-value"),
    }
    assert expected <= got, messages
    # The route without a contact is reported on the workflow that escalates to it.
    route = next(p for p in problems if p.rule == "every-route-has-a-contact")
    assert "billing" in route.message
    assert route.line == _line(text, 'id = "missed-call-recovery"')
    assert "unknown workflow 'dental-recall'" in messages
    assert "'lab results' reveals" in messages and "{patient_name} is not allowed" in messages
    assert "TCPA" in messages


def test_a_syntax_error_gets_its_line() -> None:
    text = EXAMPLE.read_text(encoding="utf-8").replace('name = "Maple Street Clinic"', "name = ")
    model, problems = check_text(text)
    assert model is None and len(problems) == 1
    assert problems[0].rule == "toml-syntax"
    assert problems[0].line == _line(text, "name = ")


def test_unknown_keys_and_missing_keys_are_named() -> None:
    text = EXAMPLE.read_text(encoding="utf-8")
    text = text.replace('phone = "+1-312-555-0142"', 'fone = "+1-312-555-0142"')
    _, problems = check_text(text)
    rules = {(p.rule, p.line) for p in problems}
    assert ("known-key", _line(text, "fone =")) in rules
    assert ("required-key", _line(text, "[practice]")) in rules


def test_render_round_trips_the_example() -> None:
    model, _ = check_text(EXAMPLE.read_text(encoding="utf-8"))
    assert model is not None
    again, problems = check_text(render(model.model_dump(mode="python")))
    assert problems == [] and again == model


def test_key_lines_find_array_of_tables_and_multiline_arrays() -> None:
    text = EXAMPLE.read_text(encoding="utf-8")
    lines = key_lines(text)
    assert lines[("scripts", 0, "steps", 1, "key")] == _line(text, 'key = "verify-identity"')
    assert lines[("red_flag_phrases", 1)] == _line(text, '"shortness of breath"')
    assert lines[("escalation", 2, "route")] == _line(text, 'route = "complaint"')


# --- holiday calendars ----------------------------------------------------------------


def test_us_saturday_holiday_is_observed_on_friday() -> None:
    days = holiday_dates("US", [2026])
    assert date(2026, 7, 4) in days  # a Saturday
    assert days[date(2026, 7, 3)] == "Independence Day (observed)"  # the Friday before


def test_us_sunday_holiday_is_observed_on_monday() -> None:
    days = holiday_dates("US", [2027], only=["Christmas Day"])
    assert date(2027, 12, 25) in days  # a Saturday: Friday Dec 24 observed
    assert date(2027, 12, 24) in days
    days = holiday_dates("US", [2028], only=["New Year's Day"])
    assert date(2028, 1, 1) in days  # a Saturday
    sunday = holiday_dates("US", [2023], only=["New Year's Day"])
    assert date(2023, 1, 1) in sunday and date(2023, 1, 2) in sunday  # Sunday → Monday


def test_only_keeps_the_named_holidays_and_subdivisions_add_their_own() -> None:
    only = holiday_dates("US", [2026], only=["Thanksgiving Day"])
    assert list(only) == [date(2026, 11, 26)]
    assert len(holiday_dates("US-NY", [2026])) > len(holiday_dates("US", [2026])) - 1
    with pytest.raises(UnknownCalendar):
        holiday_dates("Atlantis", [2026])
    with pytest.raises(UnknownCalendar):
        holiday_dates("US-XX", [2026])


def test_practice_holidays_merge_the_calendar_and_own_days() -> None:
    config = {
        "holiday_calendar": {"name": "US", "only": ["Independence Day"]},
        "holidays": ["2026-12-24"],
    }
    days = practice_holidays(config, date(2026, 11, 30))
    assert "2026-07-03" in days and "2026-07-04" in days and "2026-12-24" in days
    assert "2026-11-26" not in days  # Thanksgiving was not kept
    assert "2028-07-04" in days  # two years ahead


def test_a_stray_brace_in_a_script_step_is_refused() -> None:
    text = EXAMPLE.read_text(encoding="utf-8")
    old = 'text = "How can we help you today?"'
    assert old in text
    text = text.replace(old, 'text = "How can we help {patient_first_name today?"', 1)
    model, problems = check_text(text)
    assert model is None
    assert [(p.line, p.rule) for p in problems] == [
        (_line(text, "{patient_first_name today"), "placeholder-the-workflow-has")
    ]
    assert "stray brace" in str(problems[0])
