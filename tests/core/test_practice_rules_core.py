"""The core rules behind the practice's channels and voicemail wording (issue 13)."""

from __future__ import annotations

from datetime import UTC, datetime

from followup_core.enums import Channel, WorkflowId
from followup_core.errors import FollowupError
from followup_core.schemas import ScriptOut
from followup_core.scripts import DEFAULT_VOICEMAIL, render, voicemail_for
from followup_core.workflows import WORKFLOWS, for_practice


def test_for_practice_keeps_only_the_practices_channels() -> None:
    missed = WORKFLOWS[WorkflowId.MISSED_CALL_RECOVERY]
    assert Channel.SMS in missed.channels
    narrowed = for_practice(missed, [Channel.PHONE, Channel.VOICEMAIL, Channel.EMAIL])
    assert narrowed.channels == frozenset({Channel.PHONE, Channel.VOICEMAIL})
    assert for_practice(missed, None) is missed
    try:
        narrowed.check_attempt(
            outcome="no-answer",
            channel=Channel.SMS,
            identity_verified=False,
            has_next_step=False,
            notes="",
            consent=None,
        )
    except FollowupError:
        pass
    else:
        raise AssertionError("an sms attempt passed a practice without sms")


def _script(voicemail: str) -> ScriptOut:
    return ScriptOut.model_validate(
        {
            "id": "s-1",
            "workflow": "missed-call-recovery",
            "version": 1,
            "title": "Returning a missed call",
            "approved_by": "Helen Brooks",
            "approved_at": datetime(2026, 1, 5, tzinfo=UTC),
            "steps": [{"key": "greet", "title": "Greet", "text": "Hi {patient_first_name}"}],
            "voicemail": voicemail,
        },
        strict=False,
    )


def test_the_voicemail_is_the_scripts_then_the_practices_then_the_products() -> None:
    practice = "This is {practice_name}; call {callback_number}. Ask for {patient_name}."
    own = "This is {practice_name} with a message; call {callback_number}."
    assert voicemail_for(_script(own), practice) == own
    assert voicemail_for(_script(""), practice) == practice
    assert voicemail_for(_script(""), None) == DEFAULT_VOICEMAIL
    context = {
        "practice_name": "Maple Street Clinic",
        "callback_number": "312-555-0142",
        "patient_name": "Avery Sample",
        "patient_first_name": "Avery",
    }
    rendered = render(_script(""), context, practice)
    # Only the voicemail-safe keys reach the voicemail, whatever the wording asks for.
    assert rendered.voicemail.startswith("This is Maple Street Clinic; call 312-555-0142.")
    assert "Avery" not in rendered.voicemail
