"""Escalation routes: who gets each one, how fast, and red-flag phrases in notes.

Assistants stay out of clinical judgement; when notes mention something that
sounds urgent, the workspace prompts a clinical escalation instead.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta
from types import MappingProxyType

from pendulum import DateTime

from followup_core.business_time import to_utc
from followup_core.enums import EscalationRoute
from followup_core.errors import NoEscalationContact
from followup_core.schemas import EscalationContact, PracticeOut

R = EscalationRoute

# One key per route in the escalation picker (lower-case, no digits).
ROUTE_KEYS: Mapping[EscalationRoute, str] = MappingProxyType(
    {
        R.URGENT_SYMPTOM: "u",
        R.CLINICAL: "c",
        R.COMPLAINT: "o",
        R.BILLING: "b",
        R.PRIVACY: "p",
        R.ACCESS_BARRIER: "a",
        R.LANGUAGE: "l",
        R.REPEATED_FAILED_CONTACT: "r",
        R.SCHEDULING_EXCEPTION: "s",
    }
)

# The person acknowledging needs to know what happened. Repeated failed contact
# is raised automatically; a language need is read from the patient's record.
ROUTES_NEEDING_REASON = frozenset(R) - {R.REPEATED_FAILED_CONTACT, R.LANGUAGE}

# Routes where the workspace shows the practice's emergency instruction at once.
ROUTES_SHOWING_EMERGENCY = frozenset({R.URGENT_SYMPTOM})

# When a practice maps no one to a route, the nearest owner takes it.
FALLBACK: Mapping[EscalationRoute, EscalationRoute] = MappingProxyType(
    {
        R.URGENT_SYMPTOM: R.CLINICAL,
        R.LANGUAGE: R.ACCESS_BARRIER,
        R.REPEATED_FAILED_CONTACT: R.SCHEDULING_EXCEPTION,
    }
)


def contact_for(practice: PracticeOut, route: EscalationRoute | str) -> EscalationContact:
    """The named contact for a route (via FALLBACK if unmapped); NoEscalationContact if none."""
    wanted = EscalationRoute(route)
    by_route = {c.route: c for c in practice.escalation_contacts}
    if wanted in by_route:
        return by_route[wanted]
    fallback = FALLBACK.get(wanted)
    if fallback is not None and fallback in by_route:
        # Keep the route asked for, so the inbox shows what this escalation is about.
        return by_route[fallback].model_copy(update={"route": wanted})
    raise NoEscalationContact(wanted.value)


def ack_due(raised_at: datetime, contact: EscalationContact) -> DateTime:
    """When the contact must acknowledge: wall-clock minutes, not business time,
    because urgent routes cannot wait for the morning."""
    return to_utc(raised_at) + timedelta(minutes=contact.ack_target_minutes)


DEFAULT_RED_FLAG_PHRASES: tuple[str, ...] = (
    "chest pain",
    "chest pressure",
    "shortness of breath",
    "trouble breathing",
    "can't breathe",
    "cannot breathe",
    "suicidal",
    "kill myself",
    "want to die",
    "hurt myself",
    "overdose",
    "severe bleeding",
    "bleeding heavily",
    "passed out",
    "fainted",
    "unconscious",
    "seizure",
    "stroke",
    "slurred speech",
    "face drooping",
    "numbness on one side",
    "worst headache",
    "severe allergic reaction",
    "throat swelling",
    "swollen throat",
    "anaphylaxis",
    "high fever",
    "confused",
    "severe pain",
)


def _normalise(text: str) -> str:
    text = text.replace("\u2019", "'").replace("\u2018", "'").lower()
    return " ".join(text.split())


def red_flags(notes: str, phrases: Iterable[str] = DEFAULT_RED_FLAG_PHRASES) -> list[str]:
    """The phrases found in `notes` (whole words, any case or spacing), in list order,
    each once. Deliberately simple: it prompts; the assistant and clinician decide."""
    text = _normalise(notes)
    found: list[str] = []
    seen: set[str] = set()
    for phrase in phrases:
        wanted = _normalise(phrase)
        if not wanted or wanted in seen:
            continue
        seen.add(wanted)
        if re.search(rf"(?<!\w){re.escape(wanted)}(?!\w)", text):
            found.append(phrase)
    return found
