"""Filling scripts from context, and the voicemail PHI lint.

Placeholders are `{name}`. A value the assistant may not see yet (identity not
verified) is shown as a prompt, and a value nobody supplied stays visible as
`[missing: name]`, so a gap is never read out as if it were text.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

import pendulum

from followup_core.errors import ScriptLintError
from followup_core.schemas import (
    AppointmentOut,
    PatientOut,
    PracticeOut,
    ReferralOut,
    ScriptOut,
)

PLACEHOLDER = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)\}")
VOICEMAIL_SAFE_PLACEHOLDERS = frozenset({"practice_name", "practice_phone", "callback_number"})
# Keys context_for fills (a script using anything else shows `[missing: …]`).
CONTEXT_PLACEHOLDERS = VOICEMAIL_SAFE_PLACEHOLDERS | {
    "assistant_name",
    "patient_first_name",
    "patient_name",
    "patient_dob",
    "preferred_language",
    "appointment_date",
    "appointment_time",
    "appointment_provider",
    "appointment_location",
    "visit_type",
    "referral_specialty",
    "referral_provider",
}
WITHHELD = "[verify identity first]"

# Words that give away why we called (a specific reason is PHI on a shared line).
VOICEMAIL_REVEALING_TERMS = (
    "prescription",
    "medication",
    "medicine",
    "refill",
    "pharmacy",
    "test result",
    "lab result",
    "result",
    "diagnosis",
    "biopsy",
    "referral",
    "specialist",
    "authorization",
    "insurance",
    "balance",
    "dr.",
    "doctor",
)


@dataclass(frozen=True)
class RenderedBranch:
    label: str
    text: str


@dataclass(frozen=True)
class RenderedStep:
    key: str
    title: str
    text: str
    branches: tuple[RenderedBranch, ...]


@dataclass(frozen=True)
class RenderedScript:
    script_id: str
    version: int
    title: str
    steps: tuple[RenderedStep, ...]
    voicemail: str
    do_not_say: tuple[str, ...]
    missing: frozenset[str]  # placeholders no context value filled


def _fill(text: str, context: Mapping[str, str], missing: set[str]) -> str:
    def sub(match: re.Match[str]) -> str:
        name = match.group(1)
        if name in context:
            return context[name]
        missing.add(name)
        return f"[missing: {name}]"

    return PLACEHOLDER.sub(sub, text)


def render(script: ScriptOut, context: Mapping[str, str]) -> RenderedScript:
    """The script with placeholders filled from `context`.

    The voicemail only ever receives the voicemail-safe keys, whatever the
    context holds, so a bad template cannot leak PHI onto an answering machine.
    """
    missing: set[str] = set()
    steps = tuple(
        RenderedStep(
            key=step.key,
            title=step.title,
            text=_fill(step.text, context, missing),
            branches=tuple(
                RenderedBranch(b.label, _fill(b.text, context, missing)) for b in step.branches
            ),
        )
        for step in script.steps
    )
    safe = {k: v for k, v in context.items() if k in VOICEMAIL_SAFE_PLACEHOLDERS}
    voicemail = _fill(script.voicemail, safe, missing)
    return RenderedScript(
        script_id=script.id,
        version=script.version,
        title=script.title,
        steps=steps,
        voicemail=voicemail,
        do_not_say=tuple(script.do_not_say),
        missing=frozenset(missing),
    )


def voicemail_problems(text: str) -> list[str]:
    """Everything that makes `text` unsafe to leave on a voicemail (empty when safe)."""
    problems = [
        f"{{{name}}} is not allowed (only practice name and callback number)"
        for name in dict.fromkeys(PLACEHOLDER.findall(text))
        if name not in VOICEMAIL_SAFE_PLACEHOLDERS
    ]
    if "{" in PLACEHOLDER.sub("", text) or "}" in PLACEHOLDER.sub("", text):
        problems.append("a stray brace hides a placeholder")
    lowered = text.lower()
    for term in VOICEMAIL_REVEALING_TERMS:
        if re.search(rf"(?<!\w){re.escape(term)}s?(?!\w)", lowered):
            problems.append(f"{term!r} reveals the reason for the call")
    return problems


def lint_voicemail(text: str) -> None:
    """Raise ScriptLintError if the voicemail names anything beyond the practice,
    a callback number and a generic reason."""
    problems = voicemail_problems(text)
    if problems:
        raise ScriptLintError(problems)


def context_for(
    practice: PracticeOut,
    patient: PatientOut | None,
    appointment: AppointmentOut | None,
    referral: ReferralOut | None,
    identity_verified: bool,
    *,
    assistant_name: str | None = None,
) -> dict[str, str]:
    """Placeholder values for a task, holding back PHI until identity is verified.

    Before verification only what the greeting needs (the first name to ask for,
    and the preferred language to arrange an interpreter) is filled.
    """

    def verified(value: str) -> str:
        return value if identity_verified else WITHHELD

    context = {
        "practice_name": practice.name,
        "practice_phone": practice.phone,
        "callback_number": practice.phone,
        "assistant_name": assistant_name or "a member of the care team",
    }
    if patient is None:
        context["patient_first_name"] = "the person who called us"
    else:
        context["patient_first_name"] = patient.given_name
        context["preferred_language"] = patient.preferred_language
        context["patient_name"] = verified(f"{patient.given_name} {patient.family_name}")
        context["patient_dob"] = verified(patient.date_of_birth)
    if appointment is not None:
        # Appointment times are read in the practice's zone: that is where the visit is.
        local = pendulum.instance(appointment.start_at).in_timezone(practice.timezone)
        context["appointment_date"] = verified(local.format("dddd, MMMM D"))
        context["appointment_time"] = verified(local.format("h:mm A"))
        context["appointment_provider"] = verified(appointment.provider)
        context["appointment_location"] = verified(appointment.location)
        context["visit_type"] = verified(appointment.visit_type)
    if referral is not None:
        context["referral_specialty"] = verified(referral.specialty)
        context["referral_provider"] = verified(referral.receiving_provider)
    return context
