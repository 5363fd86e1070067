"""The workflow table: complete, consistent and usable by keyboard."""

from __future__ import annotations

from datetime import time, timedelta

import pytest

from followup_core.enums import Channel, EscalationRoute, WorkflowId
from followup_core.errors import ChannelNotAllowed, MissingField, UnknownOutcome
from followup_core.schemas import Consent
from followup_core.workflows import (
    REQUIREMENT_FIELDS,
    RESERVED_KEYS,
    WORKFLOWS,
    AttemptPolicy,
    OutcomeCode,
    OutcomeEffect,
    workflow,
)

ALL = list(WORKFLOWS.values())
IDS = [w.id.value for w in ALL]


def test_all_eight_workflows_are_defined() -> None:
    assert set(WORKFLOWS) == set(WorkflowId)
    assert all(WORKFLOWS[w].id is w for w in WorkflowId)
    # The server looks workflows up by the plain string stored in a row.
    assert WORKFLOWS["appointment-confirmation"].id is WorkflowId.APPOINTMENT_CONFIRMATION


@pytest.mark.parametrize("wf", ALL, ids=IDS)
def test_keys_and_codes_are_unique_usable_and_kebab(wf) -> None:
    keys = [o.key for o in wf.outcomes]
    codes = [o.code for o in wf.outcomes]
    assert len(set(keys)) == len(keys)
    assert len(set(codes)) == len(codes)
    for o in wf.outcomes:
        assert len(o.key) == 1 and o.key.islower() and o.key not in RESERVED_KEYS
        assert o.code == o.code.lower() and " " not in o.code and "_" not in o.code
        assert o.requires <= REQUIREMENT_FIELDS
        assert o.label


@pytest.mark.parametrize("wf", ALL, ids=IDS)
def test_phone_workflows_have_no_answer_and_voicemail(wf) -> None:
    assert wf.by_phone
    assert wf.outcome("no-answer").effect is OutcomeEffect.RETRY
    assert wf.outcome("left-voicemail").effect is OutcomeEffect.AWAIT_CALLBACK
    assert wf.outcome("no-answer").key == "n"
    assert wf.outcome("left-voicemail").key == "v"


@pytest.mark.parametrize("wf", ALL, ids=IDS)
def test_each_workflow_can_complete_and_has_a_sane_policy(wf) -> None:
    assert any(o.effect is OutcomeEffect.COMPLETE for o in wf.outcomes)
    assert 1 <= wf.policy.max_attempts <= 5
    assert wf.policy.min_spacing >= timedelta(hours=1)
    # Calling windows stay inside 8am-9pm local (TCPA quiet hours).
    assert wf.policy.window_start.hour >= 8 and wf.policy.window_end.hour <= 21
    assert timedelta(0) < wf.response_target <= timedelta(hours=80)
    assert wf.trigger and wf.title
    assert EscalationRoute.URGENT_SYMPTOM in wf.escalation_routes
    assert EscalationRoute.REPEATED_FAILED_CONTACT in wf.escalation_routes
    assert len(set(wf.escalation_routes)) == len(wf.escalation_routes)


@pytest.mark.parametrize("wf", ALL, ids=IDS)
def test_outcomes_that_reveal_details_require_identity(wf) -> None:
    for o in wf.outcomes:
        if o.effect is OutcomeEffect.RESCHEDULE:
            assert "next_step" in o.requires
        if o.code in {"confirmed", "rescheduled", "scheduled", "patient-informed"}:
            assert "identity_verified" in o.requires


def test_confirmation_has_confirmed_on_c() -> None:
    confirmed = WORKFLOWS[WorkflowId.APPOINTMENT_CONFIRMATION].outcome("confirmed")
    assert confirmed.key == "c"
    assert confirmed.effect is OutcomeEffect.COMPLETE
    assert confirmed.business_status == "confirmed"


def test_unknown_outcome_raises_a_clear_error() -> None:
    wf = workflow("reactivation")
    with pytest.raises(UnknownOutcome) as info:
        wf.outcome("confirmed")
    assert "confirmed" in str(info.value) and "reactivation" in str(info.value)
    assert "\n" not in str(info.value)
    assert wf.outcome_for_key("s") == wf.outcome("scheduled")
    assert wf.outcome_for_key("z") is None
    with pytest.raises(ValueError):
        workflow("not-a-workflow")


def test_check_attempt_enforces_channel_consent_and_required_fields() -> None:
    wf = WORKFLOWS[WorkflowId.APPOINTMENT_CONFIRMATION]
    ok = dict(identity_verified=True, has_next_step=False, notes="")
    assert wf.check_attempt(outcome="confirmed", channel=Channel.PHONE, **ok).code == "confirmed"
    with pytest.raises(MissingField, match="verified identity"):
        wf.check_attempt(
            outcome="confirmed",
            channel=Channel.PHONE,
            identity_verified=False,
            has_next_step=False,
            notes="",
        )
    with pytest.raises(MissingField, match="next step"):
        wf.check_attempt(outcome="rescheduled", channel=Channel.PHONE, **ok)
    with pytest.raises(MissingField, match="notes"):
        wf.check_attempt(
            outcome="wrong-number",
            channel=Channel.PHONE,
            identity_verified=False,
            has_next_step=False,
            notes="   ",
        )
    phone_only = Consent(phone=True)
    with pytest.raises(ChannelNotAllowed, match="consented"):
        wf.check_attempt(outcome="message-sent", channel=Channel.SMS, consent=phone_only, **ok)
    with pytest.raises(ChannelNotAllowed, match="voicemail"):
        wf.check_attempt(outcome="left-voicemail", channel=Channel.PHONE, consent=phone_only, **ok)
    with pytest.raises(ChannelNotAllowed, match="does not happen"):
        wf.check_attempt(outcome="no-answer", channel=Channel.EMAIL, **ok)
    prior_auth = WORKFLOWS[WorkflowId.PRIOR_AUTHORIZATION_STATUS]
    with pytest.raises(ChannelNotAllowed, match="does not use"):
        prior_auth.check_attempt(outcome="patient-informed", channel=Channel.EMAIL, **ok)
    assert wf.allowed_channels(phone_only) == {Channel.PHONE}
    assert wf.allowed_channels(None) == wf.channels


def test_definitions_reject_inconsistent_tables() -> None:
    with pytest.raises(ValueError):
        OutcomeCode("x", "1", "digit key", frozenset(), OutcomeEffect.COMPLETE, None)
    with pytest.raises(ValueError):
        OutcomeCode("x", "y", "bad field", frozenset({"phone"}), OutcomeEffect.COMPLETE, None)
    with pytest.raises(ValueError):
        OutcomeCode("x", "y", "no step", frozenset(), OutcomeEffect.RESCHEDULE, None)
    with pytest.raises(ValueError):
        AttemptPolicy(0, timedelta(hours=1), time(9), time(17))
    with pytest.raises(ValueError):
        AttemptPolicy(3, timedelta(hours=1), time(17), time(9))
