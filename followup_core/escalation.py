"""Escalation routes: who gets each one, how fast, and red-flag phrases in notes.

Assistants stay out of clinical judgement; when notes mention something that
sounds urgent, the workspace prompts a clinical escalation instead.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta
from functools import lru_cache
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


# Common note-taking abbreviations, read as the words they stand for before matching.
ABBREVIATIONS: Mapping[str, str] = MappingProxyType(
    {
        "sob": "shortness of breath",
        "s.o.b": "shortness of breath",
        "s.o.b.": "shortness of breath",
        "doe": "shortness of breath",  # dyspnoea on exertion
        "dib": "difficulty breathing",
        "diff": "difficulty",
        "cp": "chest pain",
        "c/p": "chest pain",
        "si": "suicidal",
        "s/i": "suicidal",
        "od": "overdose",
        "od'd": "overdose",
        "sz": "seizure",
        "szs": "seizure",
        "loc": "loss of consciousness",
        "cva": "stroke",
        "tia": "stroke",
        "ams": "altered mental status",
        "h/a": "headache",
        "c/o": "complains of",
        "w/": "with",
        "pt": "patient",
        "can't": "cannot",
        "cant": "cannot",
        "won't": "will not",
        "wont": "will not",
    }
)

# How notes say the same thing as a default phrase. Used only while the phrase is in
# the practice's list: the list stays the source, this widens what each entry catches.
# Suicide wording follows the warning signs published by the 988 Suicide & Crisis
# Lifeline and NIMH ("talking about wanting to die or to kill oneself", "feeling
# hopeless or having no reason to live", "feeling trapped or in unbearable pain",
# "being a burden to others", "giving away possessions", "saying goodbye").
_SELF = ("myself", "himself", "herself", "themselves", "themself", "yourself")
VARIANTS: Mapping[str, tuple[str, ...]] = MappingProxyType(
    {
        "chest pain": (
            "pain in chest", "chest hurts", "chest hurting", "chest tightness",
            "tight chest", "tightness in chest", "chest discomfort",
        ),
        "chest pressure": ("pressure in chest", "pressure on chest"),
        "shortness of breath": (
            "short of breath", "dyspnea", "dyspnoea", "breathless", "out of breath",
        ),
        "trouble breathing": (
            "difficulty breathing", "hard to breathe", "struggling to breathe",
            "breathing problems", "labored breathing", "laboured breathing", "gasping",
        ),
        "can't breathe": ("unable to breathe", "not breathing", "stopped breathing"),
        "cannot breathe": ("unable to breathe", "not breathing", "stopped breathing"),
        "suicidal": (
            "suicide", "suicidal thoughts", "suicidal ideation",
            "want to die", "wish i was dead", "wish i were dead", "better off dead",
            "better off without me", "end my life", "end her life", "end his life",
            "end their life", "end it all", "take my own life", "take my life",
            "no reason to live", "nothing to live for", "hopeless", "feel trapped",
            "unbearable pain", "burden to others", "burden to everyone", "burden on everyone",
            "giving away possessions", "giving away belongings", "saying goodbye to everyone",
            *(f"kill {who}" for who in _SELF),
        ),
        "kill myself": tuple(f"kill {who}" for who in _SELF[1:]),
        "want to die": ("wish i was dead", "wish i were dead", "better off dead", "ready to die"),
        "hurt myself": (
            *(f"hurt {who}" for who in _SELF[1:]),
            *(f"harm {who}" for who in _SELF),
            "self harm", "self-harm", "self injury",
        ),
        "overdose": ("took too many pills", "too many pills"),
        "severe bleeding": (
            "heavy bleeding", "bleeding a lot", "bleeding will not stop",
            "will not stop bleeding", "hemorrhage", "haemorrhage",
        ),
        "bleeding heavily": ("heavy bleeding", "bleeding a lot"),
        "passed out": (
            "blacked out", "loss of consciousness", "lost consciousness", "syncope", "collapsed",
        ),
        "fainted": ("faint", "syncope"),
        "unconscious": ("unresponsive", "not responding", "will not wake up"),
        "seizure": ("seizing", "convulsion", "convulsing"),
        "stroke": ("mini stroke",),
        "slurred speech": ("slurring", "speech slurred", "speech is slurred"),
        "face drooping": ("facial droop", "face droop", "drooping face", "droopy face"),
        "numbness on one side": (
            "numb on one side", "weakness on one side", "one sided weakness", "one-sided weakness",
        ),
        "worst headache": ("thunderclap headache",),
        "severe allergic reaction": ("allergic reaction", "epipen", "epi pen", "anaphylactic"),
        "throat swelling": (
            "throat closing", "throat is closing", "tongue swelling", "swollen tongue",
            "lips swelling",
        ),
        "swollen throat": ("throat swollen",),
        "anaphylaxis": ("anaphylactic",),
        "confused": ("confusion", "altered mental status", "disoriented"),
        "severe pain": ("excruciating", "unbearable pain", "pain 10/10", "10/10 pain"),
    }
)  # fmt: skip

# Words a phrase may be written with or without ("short of breath" = "short breath").
_STOPWORDS = frozenset(
    [
        "a",
        "an",
        "the",
        "of",
        "to",
        "in",
        "on",
        "with",
        "and",
        "is",
        "was",
        "are",
        "be",
        "been",
        "at",
        "for",
        "some",
        "any",
        "his",
        "her",
        "my",
        "their",
    ]
)
_SUFFIXES = ("ness", "ally", "ing", "ion", "ies", "ed", "al", "es", "s", "e", "y")
_TOKEN = re.compile(r"[a-z0-9]+(?:['./][a-z0-9]+)*[/.']?")


def _normalise(text: str) -> str:
    text = text.replace("\u2019", "'").replace("\u2018", "'").lower()
    return " ".join(text.split())


def _stem(word: str) -> str:
    """A crude stem, enough to make word forms meet: suicidal/suicide, breathing/breathe,
    fainted/faint, seizures/seizure, shortness/short."""
    for suffix in _SUFFIXES:
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            return word[: -len(suffix)]
    return word


def _words(text: str) -> list[str]:
    """Tokens of `text` with abbreviations spelt out and stop-words dropped."""
    out: list[str] = []
    for token in _TOKEN.findall(_normalise(text)):
        expanded = ABBREVIATIONS.get(token) or ABBREVIATIONS.get(token.rstrip("."))
        for word in (expanded or token.rstrip(".'")).split():
            if word and word not in _STOPWORDS:
                out.append(word)
    return out


@lru_cache(maxsize=4096)
def _same_word(wanted: str, written: str) -> bool:
    """`written` is `wanted` in another form or misspelt: same stem, or (first letter
    kept) one edit for words of 5+ letters, two for 9+, a swap of two letters for 4."""
    if wanted == written or _stem(wanted) == _stem(written):
        return True
    if len(wanted) < 4 or wanted[0] != written[0] or abs(len(wanted) - len(written)) > 2:
        return False
    from rapidfuzz.distance import OSA  # imported when a note is first checked

    if len(wanted) == 4:
        return (
            len(written) == 4
            and sorted(wanted) == sorted(written)
            and OSA.distance(wanted, written) == 1
        )
    return OSA.distance(wanted, written) <= (2 if len(wanted) >= 9 else 1)


@lru_cache(maxsize=4096)
def _phrase_words(text: str) -> tuple[str, ...]:
    """A phrase's words (abbreviations spelt out, stop-words dropped), computed once."""
    return tuple(_words(text))


class _Note:
    """One note's words, with where each wanted word occurs (memoised per note)."""

    def __init__(self, notes: str) -> None:
        self.words = _words(notes)
        self._at: dict[tuple[str, bool], frozenset[int]] = {}

    def at(self, wanted: str, *, forms_only: bool) -> frozenset[int]:
        key = (wanted, forms_only)
        found = self._at.get(key)
        if found is None:
            if forms_only:
                stem = _stem(wanted)
                found = frozenset(
                    i for i, w in enumerate(self.words) if w == wanted or _stem(w) == stem
                )
            else:
                found = frozenset(i for i, w in enumerate(self.words) if _same_word(wanted, w))
            self._at[key] = found
        return found

    def has(self, wanted: tuple[str, ...]) -> bool:
        if not wanted:
            return False
        # A single short word: forms only, no spelling slack ("stroke" is not "strike").
        forms_only = len(wanted) == 1 and len(wanted[0]) < 7
        starts = self.at(wanted[0], forms_only=forms_only)
        for offset, word in enumerate(wanted[1:], start=1):
            if not starts:
                return False
            here = self.at(word, forms_only=False)
            starts = frozenset(s for s in starts if s + offset in here)
        return bool(starts)


def red_flags(notes: str, phrases: Iterable[str] = DEFAULT_RED_FLAG_PHRASES) -> list[str]:
    """The phrases of `phrases` (the practice's list) that `notes` mentions, in list
    order, each once.

    Matched the way notes are written: any case or spacing, word forms ("suicide"
    for "suicidal", "fainting" for "fainted"), abbreviations ("c/o SOB", "CP"),
    misspellings ("chest pian"), and the other wordings in VARIANTS (the public
    suicide warning signs among them). Negation is ignored on purpose: "denies
    chest pain" still prompts; a prompt costs a key, a miss can cost a life.
    """
    note = _Note(notes)
    if not note.words:
        return []
    found: list[str] = []
    seen: set[tuple[str, ...]] = set()
    for phrase in phrases:
        same = _phrase_words(_normalise(phrase))  # "can't breathe" = "cannot breathe"
        if not same or same in seen:
            continue
        seen.add(same)
        key = " ".join(_normalise(phrase).split())
        wordings = (same, *(_phrase_words(v) for v in VARIANTS.get(key, ())))
        if any(note.has(wording) for wording in wordings):
            found.append(phrase)
    return found
