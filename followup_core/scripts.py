"""Filling scripts from context, and the voicemail PHI lint.

Placeholders are `{name}`. A value the assistant may not see yet (identity not
verified) is shown as a prompt, and a value nobody supplied stays visible as
`[missing: name]`, so a gap is never read out as if it were text.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

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

# What gives away why we called, by kind (a specific reason is PHI on a shared line).
# Each term also matches its plural. The rule is the product's own: a voicemail names
# the practice, a callback number and a generic reason, nothing else.
VOICEMAIL_REVEALING: Mapping[str, tuple[str, ...]] = MappingProxyType(
    {
        "a test or result": (
            "test result", "lab result", "lab", "result", "test", "blood work", "bloodwork",
            "blood test", "blood draw", "x-ray", "xray", "x ray", "mri", "ct", "cat scan",
            "pet scan", "scan", "ultrasound", "sonogram", "mammogram", "colonoscopy",
            "endoscopy", "biopsy", "pathology", "screening", "ekg", "ecg", "a1c", "cbc",
            "pap smear", "pap", "culture", "imaging", "finding", "positive", "negative",
            "abnormal", "level",
        ),
        "a procedure": (
            "surgery", "surgical", "procedure", "operation", "injection", "vaccine",
            "vaccination", "immunization", "shot", "infusion", "therapy", "dialysis",
            "chemo", "chemotherapy", "radiation", "stitch", "sutures",
        ),
        "a medication": (
            "prescription", "rx", "medication", "medicine", "meds", "med", "refill",
            "pharmacy", "pharmacist", "pill", "dose", "dosage", "insulin", "antibiotic",
            "inhaler", "opioid", "controlled substance", "drug",
        ),
        "a diagnosis": (
            "diagnosis", "diagnosed", "condition", "pregnancy", "pregnant", "prenatal",
            "hiv", "std", "sti", "cancer", "tumor", "diabetes", "diabetic", "covid",
            "infection", "mental health", "behavioral health", "behavioural health",
            "counseling", "counselling", "depression", "anxiety", "rehab", "fertility", "ivf",
        ),
        "a specialty": (
            "specialist", "specialty", "referral", "referred", "surgeon", "ob/gyn", "obgyn",
            "ob-gyn", "gyn", "orthopedic", "orthopaedic", "pediatrician", "hospice",
        ),
        "billing": (
            "balance", "bill", "billing", "invoice", "payment", "past due", "overdue",
            "collections", "insurance", "insurer", "copay", "co-pay", "coinsurance",
            "deductible", "claim", "authorization", "authorisation", "prior auth", "owe",
            "owed", "statement", "charge", "medicaid", "medicare",
        ),
        "a clinician": (
            "dr", "dr.", "doctor", "physician", "nurse", "clinician", "practitioner",
            "provider", "therapist", "counselor", "counsellor",
        ),
    }
)  # fmt: skip


def _term_pattern(terms: tuple[str, ...]) -> re.Pattern[str]:
    alternation = "|".join(
        re.escape(t).replace(r"\ ", r"\s+") for t in sorted(terms, key=len, reverse=True)
    )
    # Whole words; a plural or possessive form of each; "dr." keeps its dot.
    return re.compile(rf"(?<![\w/-])(?:{alternation})(?:e?s|'s)?(?![\w/]|-\w)", re.IGNORECASE)


_REVEALING_RES = {kind: _term_pattern(terms) for kind, terms in VOICEMAIL_REVEALING.items()}
# Specialties by their endings: cardiology, oncologist, psychiatry, pediatric...
_SPECIALTY_RE = re.compile(
    r"\b[a-z]+(?:ology|ologist|iatry|iatrist|iatric|opedic|opaedic)s?\b", re.IGNORECASE
)
_POST_NOMINALS = r"(?:M\.?D|D\.?O|N\.?P|P\.?A(?:-C)?|R\.?N|FNP(?:-C)?|APRN|DNP|CNM|LPN|PhD)\.?"
# A clinician's name however written: "Dr Patel", "dr. patel", "Doctor Patel", "NP Lee",
# "Patel, MD", "Ana Lee NP", and a bare post-nominal ("our MD").
_CLINICIAN_NAME_RES = (
    re.compile(r"\b[Dd][Rr]\.?\s+[A-Za-z][\w'-]*"),
    re.compile(r"\b(?:[Dd]octor|DOCTOR)\s+[A-Z][\w'-]*"),
    re.compile(r"\b(?:NP|PA|PA-C|RN|MD|FNP|APRN|DNP|CNM|LPN)\.?\s+[A-Z][a-z][\w'-]*"),
    re.compile(rf"\b[A-Z][\w'-]+,?\s+{_POST_NOMINALS}(?!\w)"),
    re.compile(r"\b(?:M\.D\.?|MD|RN|NP|APRN|FNP|DNP|LPN)(?!\w)"),
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


# The product's own voicemail wording, for a practice that has none (voicemail-safe).
DEFAULT_VOICEMAIL = (
    "Hello, this is {practice_name}. Please call us back at {callback_number}. Thank you."
)


def voicemail_for(script: ScriptOut, practice_voicemail: str | None) -> str:
    """The voicemail template a task's voicemail step uses: the script's own when it has
    one, else the practice's wording (its file's `voicemail`), else `DEFAULT_VOICEMAIL`."""
    return script.voicemail or practice_voicemail or DEFAULT_VOICEMAIL


def render(
    script: ScriptOut, context: Mapping[str, str], practice_voicemail: str | None = None
) -> RenderedScript:
    """The script with placeholders filled from `context`; the voicemail is
    `voicemail_for(script, practice_voicemail)`.

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
    voicemail = _fill(voicemail_for(script, practice_voicemail), safe, missing)
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
    words = PLACEHOLDER.sub(" ", text)  # the safe placeholders are not words to judge
    named: set[str] = set()
    for pattern in _CLINICIAN_NAME_RES:
        for m in pattern.finditer(words):
            shown = " ".join(m.group(0).split())
            if not any(shown in n or n in shown for n in named):
                named.add(shown)
                problems.append(f"{shown!r} names a clinician")
    seen: set[str] = set()
    for kind, pattern in _REVEALING_RES.items():
        for m in pattern.finditer(words):
            shown = " ".join(m.group(0).lower().split())
            if shown in seen or any(m.group(0) in n for n in named):
                continue
            seen.add(shown)
            problems.append(f"{shown!r} reveals the reason for the call ({kind})")
    for m in _SPECIALTY_RE.finditer(words):
        shown = m.group(0).lower()
        if shown not in seen:
            seen.add(shown)
            problems.append(f"{shown!r} reveals the reason for the call (a specialty)")
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
