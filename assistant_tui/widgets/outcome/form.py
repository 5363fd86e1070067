"""The outcome form: one key per outcome code, consented channels only.

The form validates what the workflow asks of each outcome (a next step, notes,
a verified identity) and hands a complete `OutcomeDraft` to the screen; it never
writes anything itself.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from rich.markup import escape
from textual import on
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.message import Message
from textual.widgets import Button, Input, Static

from assistant_tui.timefmt import when
from followup_core.enums import Channel
from followup_core.errors import FollowupError
from followup_core.schemas import Consent
from followup_core.workflows import OutcomeCode, Workflow


@dataclass(frozen=True)
class OutcomeDraft:
    outcome: OutcomeCode
    channel: Channel
    next_action: str | None
    next_due: datetime | None
    notes: str


def parse_due_text(text: str, now: datetime, tz: str) -> datetime:
    from followup_core.due_phrases import parse_due  # pendulum: import when first used

    return parse_due(text, now=now, tz=tz)


class OutcomeForm(Vertical):
    BORDER_TITLE = "Outcome"

    class Submitted(Message):
        def __init__(self, form: OutcomeForm, draft: OutcomeDraft) -> None:
            super().__init__()
            self.form = form
            self.draft = draft

        @property
        def control(self) -> OutcomeForm:
            return self.form

    def __init__(self, clock: Callable[[], datetime], **kwargs: str) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self._clock = clock
        self.workflow: Workflow | None = None
        self.outcome: OutcomeCode | None = None
        self.channels: list[Channel] = []
        self.channel: Channel | None = None
        self.tz = "UTC"
        self.identity_verified = False
        self.consent: Consent | None = None

    def compose(self) -> ComposeResult:
        yield Static("No task open.", id="outcome-keys")
        yield Static("", id="outcome-channel")
        yield Input(placeholder="promised next step (e.g. call back)", id="outcome-action")
        yield Input(placeholder="due: tomorrow 10am, in 2 hours, mon 9:30…", id="outcome-due")
        yield Static("", id="outcome-due-shown")
        yield Input(placeholder="notes", id="outcome-notes", max_length=4000)
        yield Static("", id="outcome-error")
        yield Button("Save & next task", id="outcome-submit", variant="primary", disabled=True)

    # --- setting up -------------------------------------------------------

    def start(
        self, workflow: Workflow, channels: list[Channel], tz: str, consent: Consent | None
    ) -> None:
        """A new task: clear every field."""
        self.workflow = workflow
        self.consent = consent
        self.outcome = None
        self.channels = channels
        self.channel = channels[0] if channels else None
        self.tz = tz
        for field in self.query(Input):
            field.value = ""
        self._set_error("")
        self._show_due("")
        self._draw()

    def clear(self) -> None:
        self.workflow = None
        self.outcome = None
        self.query_one("#outcome-keys", Static).update("No task open.")
        self.query_one("#outcome-channel", Static).update("")
        self.query_one("#outcome-submit", Button).disabled = True

    def outcome_for_key(self, key: str) -> OutcomeCode | None:
        if self.workflow is None:
            return None
        for outcome in self.workflow.outcomes:
            if outcome.key == key:
                return outcome
        return None

    def choose(self, outcome: OutcomeCode) -> None:
        """Select an outcome and move the focus to the one thing still needed."""
        self.outcome = outcome
        # Outcomes happen on their own channels (a voicemail is left on voicemail,
        # a message is sent in writing): move to one the patient consented to.
        fitting = [c for c in self.channels if outcome.channels is None or c in outcome.channels]
        if outcome.code == "left-voicemail" and Channel.VOICEMAIL in fitting:
            self.channel = Channel.VOICEMAIL
        elif self.channel not in fitting or self.channel == Channel.VOICEMAIL:
            self.channel = fitting[0] if fitting else self.channel
        action = self.query_one("#outcome-action", Input)
        if "next_step" in outcome.requires and not action.value:
            action.value = outcome.label
        self._set_error("")
        self._draw()
        if "next_step" in outcome.requires:
            self.query_one("#outcome-due", Input).focus()
        elif "notes" in outcome.requires:
            self.query_one("#outcome-notes", Input).focus()
        else:
            self.query_one("#outcome-submit", Button).focus()

    def cycle_channel(self) -> None:
        """Next consented channel on which the chosen outcome can happen."""
        outcome = self.outcome
        candidates = [
            c
            for c in self.channels
            if outcome is None or outcome.channels is None or c in outcome.channels
        ]
        if not candidates:
            return
        index = candidates.index(self.channel) if self.channel in candidates else -1
        self.channel = candidates[(index + 1) % len(candidates)]
        self._draw()

    # --- validation -------------------------------------------------------

    def draft(self) -> OutcomeDraft:
        """The complete outcome, or a FollowupError/ValueError saying what is missing."""
        if self.workflow is None:
            raise ValueError("no task is open")
        if self.outcome is None:
            raise ValueError("choose an outcome first (its letter key)")
        if self.channel is None:
            raise ValueError("the patient has consented to no channel this workflow uses")
        outcome = self.outcome
        action = self.query_one("#outcome-action", Input).value.strip()
        due_text = self.query_one("#outcome-due", Input).value.strip()
        notes = self.query_one("#outcome-notes", Input).value.strip()
        due: datetime | None = None
        if due_text:
            due = parse_due_text(due_text, self._clock(), self.tz)
        if "next_step" in outcome.requires:
            if not action:
                raise ValueError(f"{outcome.code} needs a promised next step")
            if due is None:
                raise ValueError(f"{outcome.code} needs a due for the next step")
        if due is not None and due <= self._clock():
            raise ValueError("the due is in the past")
        # The same rules the server applies (channel, consent, required fields).
        self.workflow.check_attempt(
            outcome=outcome.code,
            channel=self.channel,
            identity_verified=self.identity_verified,
            has_next_step=bool(action and due),
            notes=notes,
            consent=self.consent,
        )
        return OutcomeDraft(
            outcome=outcome,
            channel=self.channel,
            next_action=action if (action and due) else None,
            next_due=due if (action and due) else None,
            notes=notes,
        )

    def submit(self) -> None:
        try:
            draft = self.draft()
        except (FollowupError, ValueError) as error:
            self._set_error(str(error))
            return
        self._set_error("")
        self.post_message(self.Submitted(self, draft))

    @property
    def notes(self) -> str:
        return self.query_one("#outcome-notes", Input).value

    def append_note(self, text: str) -> None:
        field = self.query_one("#outcome-notes", Input)
        field.value = f"{field.value.rstrip()} {text}".strip()

    # --- events -----------------------------------------------------------

    @on(Input.Changed, "#outcome-due")
    def _due_changed(self, event: Input.Changed) -> None:
        text = event.value.strip()
        if not text:
            self._show_due("")
            return
        try:
            due = parse_due_text(text, self._clock(), self.tz)
        except FollowupError as error:
            self._show_due(f"[i]{escape(str(error))}[/i]")
        else:
            self._show_due(f"→ {when(due, self.tz)}")

    def _show_due(self, markup: str) -> None:
        """Echo what the due phrase was read as; no line at all while there is none."""
        shown = self.query_one("#outcome-due-shown", Static)
        shown.update(markup)
        shown.display = bool(markup)

    @on(Input.Submitted, "#outcome-action, #outcome-due, #outcome-notes")
    @on(Button.Pressed, "#outcome-submit")
    def _submit(self, event: Message) -> None:
        event.stop()
        self.submit()

    # --- drawing ----------------------------------------------------------

    def _set_error(self, text: str) -> None:
        error = self.query_one("#outcome-error", Static)
        error.update(escape(text))
        error.set_class(bool(text), "shown")

    def _draw(self) -> None:
        if self.workflow is None:
            return
        parts = []
        for outcome in self.workflow.outcomes:
            label = f"[{outcome.key}] {outcome.code}"
            chosen = self.outcome is not None and outcome.code == self.outcome.code
            parts.append(f"[b reverse]{escape(label)}[/]" if chosen else escape(label))
        self.query_one("#outcome-keys", Static).update("  ".join(parts))
        allowed = ", ".join(c.value for c in self.channels) or "none consented"
        current = self.channel.value if self.channel else "—"
        self.query_one("#outcome-channel", Static).update(
            f"contact method [b]{current}[/b] · consented: {allowed}"
        )
        self.query_one("#outcome-submit", Button).disabled = self.outcome is None
