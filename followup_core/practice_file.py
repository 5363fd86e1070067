"""A practice written down: the models of the practice TOML file and the product's limits.

One file per practice (see README "Setting up your practice"). The models are
closed (an unknown key is a mistake, not something silently ignored) and
validate each value on its own; `cross_check` then finds the problems that
need more than one value (a route without a contact, a script step using a
field its workflow does not have). `followup_core.practice_toml` reads the file
and maps every problem back to its line.

Limits a practice cannot go beyond, and where they come from:

- calling windows lie within 08:00-21:00 in the patient's local time (TCPA,
  47 CFR 64.1200(c)(1): no telephone solicitation before 8 a.m. or after 9 p.m.);
- a response target between 15 minutes and 7 days of business time;
- 1 to 6 attempts, at least 15 minutes apart (more is harassment, fewer is
  not follow-up);
- acknowledgement targets between 1 minute and 24 hours.
"""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass
from datetime import date, time
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, field_validator

from followup_core.business_time import span_minutes, zone
from followup_core.enums import AgentState, Channel, EscalationRoute, FocusKind, Role, WorkflowId
from followup_core.holiday_calendars import UnknownCalendar, check_calendar
from followup_core.scripts import CONTEXT_PLACEHOLDERS, PLACEHOLDER, voicemail_problems
from followup_core.supervision import DEFAULT_THRESHOLDS, SupervisionSettings, Thresholds
from followup_core.workflows import WORKFLOWS

RESPONSE_TARGET_MINUTES = (15, 7 * 24 * 60)
MAX_ATTEMPTS = (1, 6)
MIN_SPACING_MINUTES = (15, 7 * 24 * 60)
ACK_TARGET_MINUTES = (1, 24 * 60)
CALLING_HOURS = (time(8, 0), time(21, 0))  # TCPA, patient's local time

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")  # ISO 1..7

# What each workflow's task is about (its FHIR Task.focus): the script placeholders
# that exist for it. Missed calls, prescription messages and reactivation have none.
WORKFLOW_FOCUS: dict[WorkflowId, FocusKind | None] = {
    WorkflowId.MISSED_CALL_RECOVERY: None,
    WorkflowId.APPOINTMENT_CONFIRMATION: FocusKind.APPOINTMENT,
    WorkflowId.INTAKE_COMPLETION: FocusKind.APPOINTMENT,
    WorkflowId.REFERRAL_FOLLOW_UP: FocusKind.REFERRAL,
    WorkflowId.POST_VISIT_SCHEDULING: FocusKind.APPOINTMENT,
    WorkflowId.PRESCRIPTION_MESSAGE_ROUTING: None,
    WorkflowId.PRIOR_AUTHORIZATION_STATUS: FocusKind.REFERRAL,
    WorkflowId.REACTIVATION: None,
}
APPOINTMENT_FIELDS = frozenset(
    {
        "appointment_date",
        "appointment_time",
        "appointment_provider",
        "appointment_location",
        "visit_type",
    }
)
REFERRAL_FIELDS = frozenset({"referral_specialty", "referral_provider"})


def placeholders_for(workflow: WorkflowId) -> frozenset[str]:
    """The placeholders a script of `workflow` may use (the fields its task has)."""
    focus = WORKFLOW_FOCUS[workflow]
    base = CONTEXT_PLACEHOLDERS - APPOINTMENT_FIELDS - REFERRAL_FIELDS
    if focus is FocusKind.APPOINTMENT:
        return base | APPOINTMENT_FIELDS
    if focus is FocusKind.REFERRAL:
        return base | REFERRAL_FIELDS
    return base


Text = Annotated[str, Field(min_length=1, max_length=200)]
LongText = Annotated[str, Field(min_length=1, max_length=4000)]
Slug = Annotated[str, Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")]
Username = Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9._-]{0,63}$")]
SPAN = re.compile(r"^(\d{2}:\d{2})-(\d{2}:\d{2})$")


def parse_span(value: str) -> tuple[str, str]:
    """ "21:00-02:00" → ("21:00", "02:00"); ValueError for anything else."""
    match = SPAN.match(value.strip())
    if not match:
        raise ValueError(f"{value!r} is not an opening like 08:00-17:00")
    span_minutes(match.group(1), match.group(2))
    return match.group(1), match.group(2)


class FileModel(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)


class Identity(FileModel):
    """[practice]: who the practice is and where its clock is."""

    id: Slug
    name: Text
    timezone: str
    phone: Annotated[str, Field(min_length=3, max_length=32)]
    training: bool = False

    @field_validator("timezone")
    @classmethod
    def _zone(cls, value: str) -> str:
        zone(value)
        return value


class OwnDay(FileModel):
    date: Annotated[date, Field(strict=False)]
    name: Text


class Holidays(FileModel):
    """[holidays]: a calendar by name (observed dates included) and the practice's own days."""

    calendar: str | None = None
    only: list[Text] | None = None
    own: list[OwnDay] = []

    @field_validator("calendar")
    @classmethod
    def _calendar(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                check_calendar(value)
            except UnknownCalendar as exc:
                raise ValueError(str(exc)) from None
        return value


class WorkflowSetting(FileModel):
    """[[workflows]]: one workflow the practice runs, within the product's limits."""

    id: str
    response_target_minutes: Annotated[
        int, Field(ge=RESPONSE_TARGET_MINUTES[0], le=RESPONSE_TARGET_MINUTES[1])
    ]
    max_attempts: Annotated[int, Field(ge=MAX_ATTEMPTS[0], le=MAX_ATTEMPTS[1])]
    min_spacing_minutes: Annotated[int, Field(ge=MIN_SPACING_MINUTES[0], le=MIN_SPACING_MINUTES[1])]
    calling_window: str

    @field_validator("id")
    @classmethod
    def _known(cls, value: str) -> str:
        if value not in {w.value for w in WorkflowId}:
            known = ", ".join(w.value for w in WorkflowId)
            raise ValueError(f"unknown workflow {value!r} (known: {known})")
        return value

    @field_validator("calling_window")
    @classmethod
    def _window(cls, value: str) -> str:
        opens, closes = parse_span(value)
        start, end = time.fromisoformat(opens), time.fromisoformat(closes)
        if not CALLING_HOURS[0] <= start < end <= CALLING_HOURS[1]:
            raise ValueError(
                f"calling window {value} must lie within 08:00-21:00, the patient's local "
                "time (TCPA)"
            )
        return value

    @property
    def workflow(self) -> WorkflowId:
        return WorkflowId(self.id)


class Contact(FileModel):
    """[[escalation]]: the named person who takes a route, and how fast they acknowledge."""

    route: Annotated[EscalationRoute, Field(strict=False)]
    name: Text
    role: Text
    reach: Text
    ack_target_minutes: Annotated[int, Field(ge=ACK_TARGET_MINUTES[0], le=ACK_TARGET_MINUTES[1])]


class Branch(FileModel):
    label: Text
    text: LongText


class Step(FileModel):
    key: Text
    title: Text
    text: LongText
    branches: list[Branch] = []


class ScriptFile(FileModel):
    """[[scripts]]: the practice's script for one workflow (a change becomes a draft).

    `voicemail` is optional: without it the workflow's voicemail step uses the
    practice's top-level `voicemail` wording."""

    workflow: str
    title: Text
    voicemail: LongText | None = None
    do_not_say: list[LongText] = []
    steps: Annotated[list[Step], Field(min_length=1)]

    @field_validator("voicemail")
    @classmethod
    def _voicemail(cls, value: str | None) -> str | None:
        problems = voicemail_problems(value) if value is not None else []
        if problems:
            raise ValueError("voicemail is not voicemail-safe: " + "; ".join(problems))
        return value

    def body(self) -> dict[str, Any]:
        """The script's content as stored (`Script.body` without approval; no `voicemail`
        key when the script uses the practice's wording)."""
        out: dict[str, Any] = {
            "title": self.title,
            "steps": [s.model_dump() for s in self.steps],
        }
        if self.voicemail is not None:
            out["voicemail"] = self.voicemail
        out["do_not_say"] = list(self.do_not_say)
        return out


class StaffMember(FileModel):
    """[[staff]]: a person who works here; passwords are never in the file."""

    username: Username
    role: Annotated[Role, Field(strict=False)]
    display_name: Text


def _default_thresholds() -> dict[str, list[int]]:
    return {str(state): list(steps) for state, steps in DEFAULT_THRESHOLDS.items()}


def _agent_state(value: str) -> str:
    if value not in {s.value for s in AgentState}:
        known = ", ".join(s.value for s in AgentState)
        raise ValueError(f"unknown agent state {value!r} (known: {known})")
    return value


def _increasing(steps: list[int]) -> list[int]:
    if any(b <= a for a, b in itertools.pairwise(steps)):
        raise ValueError("thresholds must increase")
    return steps


class SupervisionFile(FileModel):
    """[supervision]: whether an assistant is told they are observed (default: told),
    and per agent state the seconds in state at which the team board's colour steps up
    (increasing, 1 to 86,400 s, at most 6 steps; a state left out keeps the product's
    defaults, VICIdial's real-time report: see `followup_core.supervision`). The same
    limits as `SupervisionSettings`, checked per state so a mistake has its own line."""

    tell_observed: bool = True
    thresholds: dict[
        Annotated[str, AfterValidator(_agent_state)],
        Annotated[Thresholds, AfterValidator(_increasing)],
    ] = Field(default_factory=_default_thresholds)

    def settings(self) -> SupervisionSettings:
        """The settings the server stores: the file's thresholds over the defaults."""
        merged = _default_thresholds() | {k: list(v) for k, v in self.thresholds.items()}
        return SupervisionSettings.model_validate(
            {"tell_observed": self.tell_observed, "thresholds": merged}, strict=False
        )


class PracticeFile(FileModel):
    """The whole file. Top-level keys first, then the tables (TOML's own rule)."""

    emergency_instruction: LongText
    red_flag_phrases: Annotated[list[Text], Field(min_length=1)]
    channels: Annotated[list[Annotated[Channel, Field(strict=False)]], Field(min_length=1)]
    voicemail: LongText
    practice: Identity
    hours: dict[str, list[str]]
    holidays: Holidays = Holidays()
    supervision: SupervisionFile = SupervisionFile()
    workflows: Annotated[list[WorkflowSetting], Field(min_length=1)]
    escalation: list[Contact]
    scripts: list[ScriptFile] = []
    staff: list[StaffMember] = []

    @field_validator("voicemail")
    @classmethod
    def _voicemail(cls, value: str) -> str:
        problems = voicemail_problems(value)
        if problems:
            raise ValueError("voicemail is not voicemail-safe: " + "; ".join(problems))
        return value

    @field_validator("hours")
    @classmethod
    def _hours(cls, value: dict[str, list[str]]) -> dict[str, list[str]]:
        for day, spans in value.items():
            if day not in WEEKDAYS:
                raise ValueError(f"{day!r} is not a weekday ({', '.join(WEEKDAYS)})")
            for span in spans:
                parse_span(span)
        if not any(value.values()):
            raise ValueError("the practice must open at least once a week")
        return value

    def business_hours(self) -> list[dict[str, Any]]:
        """The hours as `BusinessHours` rows (ISO weekday, opens, closes)."""
        out: list[dict[str, Any]] = []
        for day in WEEKDAYS:
            for span in self.hours.get(day, []):
                opens, closes = parse_span(span)
                out.append({"weekday": WEEKDAYS.index(day) + 1, "opens": opens, "closes": closes})
        return out

    def workflow_ids(self) -> list[WorkflowId]:
        return [w.workflow for w in self.workflows]


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a file: where (a key path), which rule, and what to do."""

    path: tuple[str | int, ...]
    rule: str
    message: str


def _items(raw: dict[str, Any], key: str) -> list[tuple[int, dict[str, Any]]]:
    value = raw.get(key)
    if not isinstance(value, list):
        return []
    return [(i, v) for i, v in enumerate(value) if isinstance(v, dict)]


def cross_check(raw: dict[str, Any]) -> list[Problem]:
    """Problems that span several values, found on the raw data so that they are
    reported even when other values are wrong too."""
    problems: list[Problem] = []
    known = {w.value for w in WorkflowId}
    enabled: dict[str, int] = {}
    for i, wf in _items(raw, "workflows"):
        wid = wf.get("id")
        if isinstance(wid, str):
            if wid in enabled:
                problems.append(
                    Problem(
                        ("workflows", i, "id"), "one-entry-per-workflow", f"{wid} is listed twice"
                    )
                )
            enabled.setdefault(wid, i)

    contacts: dict[str, int] = {}
    for i, c in _items(raw, "escalation"):
        route = c.get("route")
        if isinstance(route, str):
            if route in contacts:
                problems.append(
                    Problem(
                        ("escalation", i, "route"),
                        "one-contact-per-route",
                        f"route {route} has two contacts",
                    )
                )
            contacts.setdefault(route, i)
    for wid, i in enabled.items():
        if wid not in known:
            continue
        for route in WORKFLOWS[WorkflowId(wid)].escalation_routes:
            if route.value not in contacts:
                problems.append(
                    Problem(
                        ("workflows", i, "id"),
                        "every-route-has-a-contact",
                        f"{wid} escalates to route {route.value}, which has no contact "
                        "in [[escalation]]",
                    )
                )

    channels = raw.get("channels")
    if isinstance(channels, list):
        for wid, i in enabled.items():
            if wid in known and not {c.value for c in WORKFLOWS[WorkflowId(wid)].channels} & set(
                str(c) for c in channels
            ):
                problems.append(
                    Problem(
                        ("workflows", i, "id"),
                        "workflow-has-a-channel",
                        f"{wid} can use none of the practice's channels",
                    )
                )

    scripted: set[str] = set()
    for i, script in _items(raw, "scripts"):
        wid = script.get("workflow")
        if not isinstance(wid, str):
            continue
        if wid not in known:
            problems.append(
                Problem(("scripts", i, "workflow"), "known-workflow", f"unknown workflow {wid!r}")
            )
            continue
        if wid in scripted:
            problems.append(
                Problem(
                    ("scripts", i, "workflow"), "one-script-per-workflow", f"{wid} has two scripts"
                )
            )
        scripted.add(wid)
        if wid not in enabled:
            problems.append(
                Problem(
                    ("scripts", i, "workflow"),
                    "script-for-a-workflow-run",
                    f"a script for {wid}, which the practice does not run ([[workflows]])",
                )
            )
        allowed = placeholders_for(WorkflowId(wid))
        for j, step in _items(script, "steps"):
            texts: list[tuple[tuple[str | int, ...], Any]] = [(("text",), step.get("text"))]
            texts += [(("branches", k, "text"), b.get("text")) for k, b in _items(step, "branches")]
            for where, text in texts:
                if not isinstance(text, str):
                    continue
                rest = PLACEHOLDER.sub("", text)
                if "{" in rest or "}" in rest:
                    # `_fill` leaves a brace it cannot pair as typed, so the assistant
                    # would read "{patient_first_name" aloud (the voicemail check's rule).
                    problems.append(
                        Problem(
                            ("scripts", i, "steps", j, *where),
                            "placeholder-the-workflow-has",
                            "a stray brace hides a placeholder",
                        )
                    )
                for name in dict.fromkeys(PLACEHOLDER.findall(text)):
                    if name not in allowed:
                        problems.append(
                            Problem(
                                ("scripts", i, "steps", j, *where),
                                "placeholder-the-workflow-has",
                                f"{{{name}}} is not a field a {wid} task has",
                            )
                        )
    for wid, i in enabled.items():
        if wid in known and wid not in scripted:
            problems.append(
                Problem(
                    ("workflows", i, "id"),
                    "workflow-has-a-script",
                    f"{wid} has no script in [[scripts]]",
                )
            )

    seen: set[str] = set()
    for i, person in _items(raw, "staff"):
        name = person.get("username")
        if isinstance(name, str):
            if name in seen:
                problems.append(
                    Problem(("staff", i, "username"), "unique-username", f"{name} is listed twice")
                )
            seen.add(name)

    holidays = raw.get("holidays")
    if isinstance(holidays, dict) and isinstance(holidays.get("calendar"), str):
        problems += _check_only(holidays)

    hours = raw.get("hours")
    if isinstance(hours, dict):
        problems += _check_week(hours)
    return problems


def _check_only(holidays: dict[str, Any]) -> list[Problem]:
    from followup_core.holiday_calendars import holiday_names

    only = holidays.get("only")
    if not isinstance(only, list):
        return []
    try:
        names = {n.lower() for n in holiday_names(holidays["calendar"], date.today().year)}
    except UnknownCalendar:
        return []
    return [
        Problem(
            ("holidays", "only", k),
            "known-holiday",
            f"{name!r} is not a holiday of calendar {holidays['calendar']}",
        )
        for k, name in enumerate(only)
        if isinstance(name, str) and name.strip().lower() not in names
    ]


def _check_week(hours: dict[str, Any]) -> list[Problem]:
    """Hours past midnight must close before the next weekday opens."""
    spans: dict[int, list[tuple[int, int]]] = {}
    for name, values in hours.items():
        if name not in WEEKDAYS or not isinstance(values, list):
            continue
        for value in values:
            try:
                opens, closes = parse_span(str(value))
            except ValueError:
                continue
            spans.setdefault(WEEKDAYS.index(name), []).append(span_minutes(opens, closes))
    problems = []
    for day, day_spans in spans.items():
        late = max(c for _, c in day_spans) - 24 * 60
        following = spans.get((day + 1) % 7, [])
        if late > 0 and following and min(o for o, _ in following) < late:
            problems.append(
                Problem(
                    ("hours", WEEKDAYS[day]),
                    "hours-do-not-overlap",
                    f"{WEEKDAYS[day]}'s hours run past midnight into "
                    f"{WEEKDAYS[(day + 1) % 7]}'s opening",
                )
            )
    return problems
