"""Escalation contacts, acknowledgement targets, keys and red flags."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from followup_core.enums import EscalationRoute
from followup_core.errors import NoEscalationContact
from followup_core.escalation import (
    DEFAULT_RED_FLAG_PHRASES,
    ROUTE_KEYS,
    ROUTES_NEEDING_REASON,
    ack_due,
    contact_for,
    red_flags,
)
from tests.core.practice import practice

R = EscalationRoute


def test_every_route_has_one_distinct_key() -> None:
    assert set(ROUTE_KEYS) == set(R)
    keys = list(ROUTE_KEYS.values())
    assert len(set(keys)) == len(keys)
    assert all(len(k) == 1 and k.isalpha() and k.islower() for k in keys)


def test_reason_is_needed_for_human_raised_routes() -> None:
    assert R.CLINICAL in ROUTES_NEEDING_REASON
    assert R.URGENT_SYMPTOM in ROUTES_NEEDING_REASON
    assert R.REPEATED_FAILED_CONTACT not in ROUTES_NEEDING_REASON


def test_contact_for_maps_routes_and_falls_back() -> None:
    full = practice()
    for route in R:
        assert contact_for(full, route).route is route
    assert contact_for(full, "billing").name == "Contact for billing"
    partial = practice((R.CLINICAL, R.SCHEDULING_EXCEPTION))
    urgent = contact_for(partial, R.URGENT_SYMPTOM)
    assert urgent.name == "Contact for clinical"
    assert urgent.route is R.URGENT_SYMPTOM  # the inbox still says what it is about
    assert (
        contact_for(partial, R.REPEATED_FAILED_CONTACT).name == "Contact for scheduling-exception"
    )
    with pytest.raises(NoEscalationContact, match="billing"):
        contact_for(partial, R.BILLING)
    with pytest.raises(ValueError):
        contact_for(full, "astrology")


def test_ack_due_is_wall_clock_minutes_in_utc() -> None:
    raised = datetime(2026, 11, 28, 3, 0, tzinfo=UTC)  # a Saturday night: urgent cannot wait
    contact = contact_for(practice(), R.URGENT_SYMPTOM)
    assert ack_due(raised, contact) == raised + timedelta(minutes=15)
    assert ack_due(raised, contact).timezone_name == "UTC"


@pytest.mark.parametrize(
    ("notes", "found"),
    [
        ("Pt reports CHEST   PAIN since this morning", ["chest pain"]),
        ("said she fainted twice; also can\u2019t breathe well", ["can't breathe", "fainted"]),
        ("Confirmed appointment, no concerns", []),
        ("a masterstroke of scheduling", []),  # whole words only
        ("", []),
    ],
)
def test_red_flags(notes: str, found: list[str]) -> None:
    assert red_flags(notes) == [p for p in DEFAULT_RED_FLAG_PHRASES if p in found]


def test_red_flags_with_practice_phrases_are_deduplicated() -> None:
    phrases = ["Fainted", "fainted", "dizzy spell", ""]
    assert red_flags("Had a dizzy spell and FAINTED", phrases) == ["Fainted", "dizzy spell"]


@pytest.mark.parametrize(
    ("notes", "found"),
    [
        # Word forms (issue 12: "thinking about suicide" saved with no prompt).
        ("pt says thinking about suicide", ["suicidal"]),
        ("feels suicidal", ["suicidal"]),
        ("Suicidal ideation mentioned last week", ["suicidal"]),
        ("said he keeps thinking he should kill himself", ["suicidal", "kill myself"]),
        ("she said she wants to die", ["suicidal", "want to die"]),
        ("pt killing herself is what she talks about", ["suicidal", "kill myself"]),
        # Warning signs in the 988 Lifeline / NIMH wording.
        ("says everyone would be better off without me", ["suicidal"]),
        ("feels hopeless, no reason to live", ["suicidal"]),
        ("feels like a burden to others lately", ["suicidal"]),
        ("has been giving away possessions", ["suicidal"]),
        ("talked about self-harm", ["hurt myself"]),
        # Abbreviations.
        ("c/o SOB since last night", ["shortness of breath"]),
        ("c/o CP and SOB", ["chest pain", "shortness of breath"]),
        ("pt c/o cp", ["chest pain"]),
        ("short of breath walking upstairs", ["shortness of breath"]),
        ("hx of SI", ["suicidal"]),
        ("possible OD on her meds", ["overdose"]),
        ("had a sz this morning", ["seizure"]),
        ("brief LOC at home", ["passed out"]),
        # Misspellings.
        ("chest pian since yesterday", ["chest pain"]),
        ("has had a seizrue", ["seizure"]),
        ("suicdal thoughts", ["suicidal"]),
        ("shortnes of breth", ["shortness of breath"]),
        ("difficulty breathing at night", ["trouble breathing"]),
        # Other forms of the listed phrases.
        ("fainting spells", ["fainted"]),
        ("passing out at work", ["passed out"]),
        ("had two strokes", ["stroke"]),
        ("pain in chest when walking", ["chest pain"]),
        # Negated phrases still prompt: the assistant and the clinician decide.
        ("denies chest pain", ["chest pain"]),
        ("no SOB", ["shortness of breath"]),
        ("not suicidal per patient", ["suicidal"]),
        # Near words that must not prompt.
        ("on strike at work", []),
        ("painted the fence, chest of drawers moved", []),
        ("sobbing? no: she sounded fine; confirmed for 3pm", []),
        ("rescheduled to tuesday, parking info given", []),
    ],
)
def test_red_flags_as_notes_are_written(notes: str, found: list[str]) -> None:
    assert red_flags(notes) == [p for p in DEFAULT_RED_FLAG_PHRASES if p in found]


def test_practice_phrases_get_word_forms_and_misspellings_too() -> None:
    # A practice's own phrase has no VARIANTS entry: forms and spelling still apply.
    phrases = ["dizzy spell", "vision loss"]
    assert red_flags("Dizzy spells again and some vison loss", phrases) == phrases
    # A default phrase the practice dropped is not found through its variants.
    assert red_flags("c/o SOB", ["chest pain"]) == []
