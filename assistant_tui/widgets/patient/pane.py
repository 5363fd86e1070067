"""Patient context: minimum necessary until identity is verified.

Before verification: name, phone, language/interpreter need and consent per
channel — what is needed to place the call and greet the right person. After
the assistant marks identity verified: date of birth, the appointment or
referral in focus, and intake status. The attempt history is always shown: it
says what was tried, never anything clinical.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from rich.markup import escape
from textual.app import ComposeResult
from textual.containers import VerticalScroll
from textual.widgets import Static

from assistant_tui.cells import clean
from assistant_tui.timefmt import clock
from followup_core.enums import Channel

# Annotations only: importing local_cache pulls in SQLAlchemy.
if TYPE_CHECKING:
    from local_cache.views import TaskContext


def _consent_line(context: TaskContext) -> str:
    if context.patient is None:
        return "consent: none recorded"
    consent = context.patient.consent
    marks = [f"{c.value}{'✓' if consent.allows(c) else '✗'}" for c in Channel]
    return "consent " + " ".join(marks)


def minimum_lines(context: TaskContext) -> list[str]:
    patient = context.patient
    if patient is None:
        caller = context.task.caller_phone or "unknown number"
        return [f"[b]Unmatched caller[/b] {escape(caller)}", "No patient record matched."]
    interpreter = " · [b]interpreter needed[/b]" if patient.interpreter_needed else ""
    return [
        f"[b]{escape(clean(patient.given_name))} {escape(clean(patient.family_name))}[/b]",
        f"phone {escape(patient.phone)} · patient time {escape(patient.timezone)}",
        f"language {escape(patient.preferred_language)}{interpreter}",
        _consent_line(context),
    ]


def verified_lines(context: TaskContext) -> list[str]:
    tz = context.practice.timezone
    lines: list[str] = []
    if context.patient is not None:
        lines.append(f"date of birth {escape(context.patient.date_of_birth)}")
        lines.append(f"intake {context.patient.intake_status.value}")
    if context.appointment is not None:
        appt = context.appointment
        lines.append(
            f"appointment {clock(appt.start_at, tz)} · {escape(appt.visit_type)} with "
            f"{escape(appt.provider)} at {escape(appt.location)} ({appt.status.value})"
        )
    if context.referral is not None:
        ref = context.referral
        lines.append(
            f"referral {escape(ref.specialty)} to {escape(ref.receiving_provider)} · sent "
            f"{clock(ref.referred_at, tz)} ({ref.status.value})"
        )
    return lines


def history_lines(context: TaskContext) -> list[str]:
    tz = context.practice.timezone
    rows: list[tuple[datetime, str]] = []
    for attempt in context.attempts:
        rows.append(
            (
                attempt.ended_at,
                f"{clock(attempt.ended_at, tz)} {attempt.channel.value} {attempt.outcome}",
            )
        )
    for pending in context.pending_attempts:
        rows.append(
            (
                pending.ended_at,
                f"{clock(pending.ended_at, tz)} {pending.channel.value} {pending.outcome} "
                "[i](not yet delivered)[/i]",
            )
        )
    rows.sort(key=lambda r: r[0])
    return [text for _, text in rows] or ["no attempts yet"]


class PatientPane(VerticalScroll, can_focus=True):
    BORDER_TITLE = "Patient"

    def __init__(self, *, identity_key: str = "F4", **kwargs: str) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self.identity_key = identity_key  # the key `workspace.identity` is on now
        self._shown_context: TaskContext | None = None
        self._verified = False

    def compose(self) -> ComposeResult:
        yield Static("No task open.", id="patient-minimum")
        yield Static("", id="patient-verified")
        yield Static("", id="patient-history")

    def show(self, context: TaskContext | None, verified: bool) -> None:
        self._shown_context = context
        self._verified = verified
        self._draw()

    def _draw(self) -> None:
        context = self._shown_context
        minimum = self.query_one("#patient-minimum", Static)
        verified = self.query_one("#patient-verified", Static)
        history = self.query_one("#patient-history", Static)
        if context is None:
            minimum.update("No task open.")
            verified.update("")
            history.update("")
            self.border_subtitle = ""
            return
        minimum.update("\n".join(minimum_lines(context)))
        if self._verified:
            self.border_subtitle = "identity verified"
            verified.update("\n".join(verified_lines(context)))
        else:
            self.border_subtitle = "identity NOT verified"
            verified.update(
                f"[dim]More after identity is verified ({escape(self.identity_key)}).[/dim]"
            )
        history.update("[b]Attempts[/b]\n" + "\n".join(history_lines(context)))
