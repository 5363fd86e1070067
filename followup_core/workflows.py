"""The eight follow-up workflows: triggers, channels, outcomes, attempt policy.

This table is the single definition the server (validation, triggers), the
client cache (moving the queue offline) and the workspace (one key per
outcome) all read. Outcome keys are lower-case letters, unique within a
workflow; digits are left for script branches and `e`/`q`/`?` for the
workspace's own commands.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import replace
from datetime import time, timedelta
from types import MappingProxyType

from followup_core.enums import Channel, EscalationRoute, WorkflowId
from followup_core.workflow_types import (
    REQUIREMENT_FIELDS,
    RESERVED_KEYS,
    AttemptPolicy,
    OutcomeCode,
    OutcomeEffect,
    Workflow,
)

__all__ = [
    "REQUIREMENT_FIELDS",
    "RESERVED_KEYS",
    "WORKFLOWS",
    "AttemptPolicy",
    "OutcomeCode",
    "OutcomeEffect",
    "Workflow",
    "workflow",
]


def _o(
    code: str,
    key: str,
    label: str,
    effect: OutcomeEffect,
    business_status: str | None,
    *requires: str,
    channels: frozenset[Channel] | None = None,
) -> OutcomeCode:
    return OutcomeCode(code, key, label, frozenset(requires), effect, business_status, channels)


E = OutcomeEffect
ID, STEP, NOTES = "identity_verified", "next_step", "notes"

# Outcomes every workflow worked by phone (or message) shares, on the same keys.
VOICE = frozenset({Channel.PHONE, Channel.VOICEMAIL})
WRITTEN = frozenset({Channel.SMS, Channel.PORTAL, Channel.EMAIL})
NO_ANSWER = _o("no-answer", "n", "No answer", E.RETRY, "no-answer", channels=VOICE)
LEFT_VOICEMAIL = _o(
    "left-voicemail", "v", "Left voicemail", E.AWAIT_CALLBACK, "left-voicemail", channels=VOICE
)
MESSAGE_SENT = _o(
    "message-sent",
    "m",
    "Message sent (SMS/portal/email)",
    E.AWAIT_CALLBACK,
    "awaiting-reply",
    channels=WRITTEN,
)
CALLBACK_REQUESTED = _o(
    "callback-requested",
    "b",
    "Patient asked for a callback",
    E.RESCHEDULE,
    "callback-scheduled",
    STEP,
)
WRONG_NUMBER = _o(
    "wrong-number", "w", "Wrong number", E.FAIL, "wrong-number", NOTES, channels=VOICE
)
COMMON = (NO_ANSWER, LEFT_VOICEMAIL, MESSAGE_SENT, CALLBACK_REQUESTED, WRONG_NUMBER)

ALL_CHANNELS = frozenset(Channel)
R = EscalationRoute
# Safety and rights routes are offered on every workflow.
ALWAYS = (R.URGENT_SYMPTOM, R.CLINICAL, R.COMPLAINT, R.PRIVACY, R.LANGUAGE, R.ACCESS_BARRIER)
DAYTIME = (time(9, 0), time(19, 0))


def _policy(
    max_attempts: int, spacing: timedelta, window: tuple[time, time] = DAYTIME
) -> AttemptPolicy:
    return AttemptPolicy(max_attempts, spacing, window[0], window[1])


def _wf(
    wid: WorkflowId,
    title: str,
    trigger: str,
    channels: frozenset[Channel],
    specific: tuple[OutcomeCode, ...],
    policy: AttemptPolicy,
    target: timedelta,
    extra_routes: tuple[EscalationRoute, ...],
) -> Workflow:
    routes = (*ALWAYS, *extra_routes, R.REPEATED_FAILED_CONTACT)
    return Workflow(wid, title, trigger, channels, specific + COMMON, policy, target, routes)


H = timedelta(hours=1)
_WORKFLOWS = (
    _wf(
        WorkflowId.MISSED_CALL_RECOVERY,
        "Missed-call recovery",
        "An inbound call to the practice went unanswered (missed-call webhook); "
        "the caller is matched to a patient or kept as an unmatched caller.",
        frozenset({Channel.PHONE, Channel.VOICEMAIL, Channel.SMS}),
        (
            _o("resolved", "r", "Caller's need handled", E.COMPLETE, "resolved", ID, NOTES),
            _o(
                "scheduled",
                "s",
                "Appointment booked",
                E.COMPLETE,
                "appointment-scheduled",
                ID,
                STEP,
            ),
            _o("routed", "t", "Message routed to staff", E.COMPLETE, "routed-to-staff", NOTES),
        ),
        _policy(3, 2 * H, (time(8, 0), time(20, 0))),
        2 * H,
        (R.SCHEDULING_EXCEPTION, R.BILLING),
    ),
    _wf(
        WorkflowId.APPOINTMENT_CONFIRMATION,
        "Appointment confirmation",
        "A booked appointment starts within the next 72 hours and is not yet confirmed.",
        ALL_CHANNELS,
        (
            _o("confirmed", "c", "Appointment confirmed", E.COMPLETE, "confirmed", ID),
            _o("rescheduled", "r", "Appointment rescheduled", E.COMPLETE, "rescheduled", ID, STEP),
            _o(
                "cancelled", "x", "Patient cancelled", E.COMPLETE, "cancelled-by-patient", ID, NOTES
            ),
        ),
        _policy(3, 4 * H),
        8 * H,
        (R.SCHEDULING_EXCEPTION, R.BILLING),
    ),
    _wf(
        WorkflowId.INTAKE_COMPLETION,
        "Intake completion",
        "An upcoming appointment's intake forms are missing or only partly complete.",
        ALL_CHANNELS,
        (
            _o(
                "completed-by-phone",
                "p",
                "Intake completed by phone",
                E.COMPLETE,
                "completed-by-phone",
                ID,
            ),
            _o(
                "link-sent",
                "l",
                "Portal link sent, patient agreed",
                E.RESCHEDULE,
                "portal-link-sent",
                ID,
                STEP,
            ),
            _o(
                "at-visit",
                "a",
                "Will complete at check-in",
                E.COMPLETE,
                "will-complete-at-visit",
                ID,
            ),
            _o("declined", "d", "Patient declined", E.FAIL, "declined", ID, NOTES),
        ),
        _policy(3, 24 * H),
        16 * H,
        (R.SCHEDULING_EXCEPTION,),
    ),
    _wf(
        WorkflowId.REFERRAL_FOLLOW_UP,
        "Referral follow-up",
        "An outgoing referral was sent 7 or more days ago and the specialist visit is not scheduled.",
        frozenset({Channel.PHONE, Channel.VOICEMAIL, Channel.SMS, Channel.PORTAL}),
        (
            _o(
                "specialist-scheduled",
                "s",
                "Specialist visit scheduled",
                E.COMPLETE,
                "specialist-scheduled",
                ID,
                NOTES,
            ),
            _o(
                "patient-will-schedule",
                "p",
                "Patient will call the specialist",
                E.RESCHEDULE,
                "patient-will-schedule",
                ID,
                STEP,
            ),
            _o(
                "referral-problem",
                "f",
                "Referral problem (sent to staff)",
                E.COMPLETE,
                "referral-problem-routed",
                ID,
                NOTES,
            ),
            _o("declined", "d", "Patient declined the referral", E.FAIL, "declined", ID, NOTES),
        ),
        _policy(3, 24 * H),
        24 * H,
        (R.SCHEDULING_EXCEPTION, R.BILLING),
    ),
    _wf(
        WorkflowId.POST_VISIT_SCHEDULING,
        "Post-visit scheduling",
        "A completed visit ordered a follow-up visit and none is booked.",
        ALL_CHANNELS,
        (
            _o(
                "scheduled",
                "s",
                "Follow-up visit booked",
                E.COMPLETE,
                "follow-up-scheduled",
                ID,
                STEP,
            ),
            _o("declined", "d", "Patient declined", E.FAIL, "declined", ID, NOTES),
        ),
        _policy(3, 24 * H),
        16 * H,
        (R.SCHEDULING_EXCEPTION,),
    ),
    _wf(
        WorkflowId.PRESCRIPTION_MESSAGE_ROUTING,
        "Prescription message routing",
        "A patient left a message about a prescription (refill, pharmacy, question); "
        "details are collected and routed to the clinical team, never answered.",
        frozenset({Channel.PHONE, Channel.VOICEMAIL, Channel.SMS, Channel.PORTAL}),
        (
            _o(
                "routed-to-clinical",
                "t",
                "Details routed to clinical team",
                E.COMPLETE,
                "routed-to-clinical-team",
                ID,
                NOTES,
            ),
            _o(
                "pharmacy-updated",
                "p",
                "Preferred pharmacy updated",
                E.COMPLETE,
                "pharmacy-updated",
                ID,
                NOTES,
            ),
            _o("already-handled", "a", "Already handled", E.COMPLETE, "already-handled", NOTES),
        ),
        _policy(3, 2 * H),
        2 * H,
        (),
    ),
    _wf(
        WorkflowId.PRIOR_AUTHORIZATION_STATUS,
        "Prior-authorization status",
        "A prior authorization is pending with the payer past its expected decision date.",
        frozenset({Channel.PHONE, Channel.VOICEMAIL, Channel.PORTAL}),
        (
            _o(
                "patient-informed",
                "i",
                "Patient told the status",
                E.COMPLETE,
                "patient-informed",
                ID,
                NOTES,
            ),
            _o(
                "awaiting-payer",
                "p",
                "Still pending; check again",
                E.RESCHEDULE,
                "awaiting-payer",
                STEP,
                NOTES,
            ),
            _o("denial-routed", "d", "Denial routed to staff", E.COMPLETE, "denial-routed", NOTES),
        ),
        _policy(3, 24 * H),
        8 * H,
        (R.BILLING, R.SCHEDULING_EXCEPTION),
    ),
    _wf(
        WorkflowId.REACTIVATION,
        "Reactivation",
        "An established patient has had no visit in 18 months and has no future appointment.",
        ALL_CHANNELS,
        (
            _o("scheduled", "s", "Visit booked", E.COMPLETE, "appointment-scheduled", ID, STEP),
            _o("moved-care", "o", "Receives care elsewhere", E.COMPLETE, "moved-care", NOTES),
            _o("declined", "d", "Not interested", E.FAIL, "declined", NOTES),
            _o("do-not-contact", "x", "Asked not to be contacted", E.FAIL, "do-not-contact", NOTES),
        ),
        _policy(2, 72 * H),
        40 * H,
        (R.BILLING, R.SCHEDULING_EXCEPTION),
    ),
)

WORKFLOWS: Mapping[WorkflowId, Workflow] = MappingProxyType({w.id: w for w in _WORKFLOWS})


def workflow(wid: WorkflowId | str) -> Workflow:
    """The workflow for an id (raises ValueError for an unknown id)."""
    return WORKFLOWS[WorkflowId(wid)]


def for_practice(wf: Workflow, channels: Iterable[Channel] | None) -> Workflow:
    """`wf` limited to the channels a practice uses (its file's `channels`; None: all).

    The server checks attempts against it and the workspace offers only its channels,
    so both apply the one rule. A workflow left with no channel cannot happen for a
    workflow the practice runs (`practice_file.cross_check`, rule workflow-has-a-channel).
    """
    if channels is None:
        return wf
    return replace(wf, channels=wf.channels & frozenset(channels))
