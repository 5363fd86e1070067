"""The workspace: queue, script, patient context and outcome form on one screen.

The screen turns keys into intentions (open this task, this outcome, escalate)
and asks the App to do the I/O; it never calls the cache itself.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING

from rich.markup import escape
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.events import Key
from textual.screen import Screen
from textual.widgets import Input, Static

from assistant_tui import keymap
from assistant_tui.screens.red_flag import RedFlagDecision, RedFlagScreen
from assistant_tui.widgets.footer import LeanFooter
from assistant_tui.widgets.outcome import OutcomeDraft, OutcomeForm
from assistant_tui.widgets.patient import PatientPane
from assistant_tui.widgets.queue import QueueList, QueuePane
from assistant_tui.widgets.queue.rows import urgency
from assistant_tui.widgets.script import ScriptPane
from assistant_tui.widgets.script.shown import shown_script
from assistant_tui.widgets.status import StatusBar
from followup_core.enums import Channel, EscalationRoute
from followup_core.schemas import AttemptIn, EscalationRequest, NextStep

# Annotations only: importing local_cache pulls in SQLAlchemy.
if TYPE_CHECKING:
    from local_cache.views import QueueRow, TaskContext


PANE_AREAS = {
    "queue": QueuePane,
    "script": ScriptPane,
    "patient": PatientPane,
    "outcome": OutcomeForm,
}


class WorkspaceScreen(Screen[None]):
    BINDINGS = [
        *keymap.WORKSPACE,
        Binding("e", "app.escalate", "Escalate", id="workspace.escalate", show=False),
        Binding("question_mark", "app.help", "Help", id="workspace.help", show=False),
    ]

    def __init__(self, clock: Callable[[], datetime], tz_for: Callable[[str], str]) -> None:
        super().__init__(id="workspace")
        self._clock = clock
        self._tz_for = tz_for
        self.context: TaskContext | None = None
        self.verified = False
        self.opened_at: datetime | None = None
        self._pending_open: str | None = None
        self.assistant_name: str | None = None

    def compose(self) -> ComposeResult:
        with Horizontal(id="panes"):
            yield QueuePane(self._clock, self._tz_for, id="queue")
            yield ScriptPane(id="script")
            with Vertical(id="side"):
                yield PatientPane(id="patient")
                yield OutcomeForm(self._clock, id="outcome")
        yield Static("", id="banner")
        yield StatusBar(self._clock, id="status")
        yield LeanFooter()

    def on_mount(self) -> None:
        self.query_one(QueueList).focus()

    # --- parts ------------------------------------------------------------

    @property
    def queue(self) -> QueueList:
        return self.query_one(QueueList)

    @property
    def form(self) -> OutcomeForm:
        return self.query_one(OutcomeForm)

    @property
    def script(self) -> ScriptPane:
        return self.query_one(ScriptPane)

    @property
    def status(self) -> StatusBar:
        return self.query_one(StatusBar)

    def focused_area(self) -> str:
        node = self.focused
        while node is not None:
            for area, kind in PANE_AREAS.items():
                if isinstance(node, kind):
                    return area
            node = node.parent  # type: ignore[assignment]
        return "queue"

    # --- data from the App --------------------------------------------------

    def apply_queue(self, rows: list[QueueRow]) -> None:
        self.query_one(QueuePane).set_rows(rows)
        now = self._clock()
        self.status.breaches = sum(1 for row in rows if urgency(row, now) == "overdue")
        wanted = self._pending_open
        self._pending_open = None
        current = self.context.task.id if self.context else None
        ids = {row.task_id for row in rows}
        if wanted and wanted in ids:
            self.open_task(wanted)
        elif current is None or (wanted is not None and current not in ids):
            first = self.queue.highlighted_task_id
            if first is not None:
                self.open_task(first)
            elif current is None:
                self._show_nothing()

    def attempt_saved(self, task_id: str, row: QueueRow | None) -> None:
        """A save landed: patch its row and open the next task now, from memory.

        The full queue (0.6 s to read at 100,000 tasks) is refreshed later, in
        the background; the assistant should not wait for it.
        """
        old = self.query_one(QueuePane).patch_row(task_id, row)
        now = self._clock()
        was = old is not None and urgency(old, now) == "overdue"
        still = row is not None and urgency(row, now) == "overdue"
        self.status.breaches = max(0, self.status.breaches - was + still)
        wanted = self._pending_open
        self._pending_open = None
        if wanted is not None:
            self.open_task(wanted)

    def open_task(self, task_id: str) -> None:
        self.queue.open_task_id = task_id
        self.queue.select(task_id)
        self.queue.refresh()
        self.app.load_context(task_id)  # type: ignore[attr-defined]

    def open_after(self, task_id: str) -> None:
        """After documenting `task_id`, open the next task once the save lands."""
        self._pending_open = self.queue.next_after(task_id)
        if self._pending_open is None:
            self.context = None
            self._show_nothing()

    def apply_context(self, context: TaskContext) -> None:
        same_task = self.context is not None and self.context.task.id == context.task.id
        self.context = context
        if not same_task:
            self.verified = False
            self.opened_at = self._clock()
            self.hide_banner()
        self.status.practice_tz = context.practice.timezone
        self.query_one(PatientPane).show(context, self.verified)
        self._show_script(keep_step=same_task)
        if not same_task:
            self._start_form(context)

    def _show_nothing(self) -> None:
        self.query_one(PatientPane).show(None, False)
        self.script.show_message("The queue is empty. Well done.")
        self.form.clear()

    def _show_script(self, *, keep_step: bool) -> None:
        context = self.context
        if context is None:
            return
        if context.script is None:
            self.script.show_message("No approved script for this task: escalate if unsure.")
            return
        step, voicemail = self.script.step, self.script.voicemail
        self.script.show(shown_script(context, self.verified, self.assistant_name))
        if keep_step:
            self.script.step = step
            self.script.voicemail = voicemail

    def _start_form(self, context: TaskContext) -> None:
        from followup_core.workflows import WORKFLOWS

        workflow = WORKFLOWS[context.task.workflow]
        consent = context.patient.consent if context.patient else None
        allowed = workflow.allowed_channels(consent)
        channels = [c for c in Channel if c in allowed]
        self.form.start(workflow, channels, context.practice.timezone, consent)
        self.form.identity_verified = self.verified

    # --- keys -------------------------------------------------------------

    def on_key(self, event: Key) -> None:
        """A letter outside a text field is an outcome key of the open task."""
        if isinstance(self.focused, Input) or self.context is None:
            return
        char = event.character
        if not char or len(char) != 1 or not char.isalpha():
            return
        outcome = self.form.outcome_for_key(char)
        if outcome is None:
            return
        event.stop()
        event.prevent_default()
        self.form.choose(outcome)
        self.script.voicemail = outcome.code == "left-voicemail"

    def toggle_identity(self) -> None:
        if self.context is None or self.context.patient is None:
            self.notify("No matched patient to verify.", severity="warning")
            return
        self.verified = not self.verified
        self.form.identity_verified = self.verified
        self.query_one(PatientPane).show(self.context, self.verified)
        self._show_script(keep_step=True)

    def action_cycle_channel(self) -> None:
        self.form.cycle_channel()
        self.script.voicemail = self.form.channel == Channel.VOICEMAIL

    def action_submit_outcome(self) -> None:
        self.form.submit()

    def action_next_task(self) -> None:
        if self.context is not None:
            following = self.queue.next_after(self.context.task.id)
            if following:
                self.open_task(following)

    @on(QueueList.Opened)
    def _opened(self, event: QueueList.Opened) -> None:
        self.open_task(event.task_id)
        self.script.focus()

    @on(ScriptPane.StepChanged)
    def _step(self, event: ScriptPane.StepChanged) -> None:
        pass

    # --- documenting ------------------------------------------------------

    @on(OutcomeForm.Submitted)
    def _submitted(self, event: OutcomeForm.Submitted) -> None:
        context = self.context
        if context is None:
            return
        from followup_core.escalation import DEFAULT_RED_FLAG_PHRASES, red_flags

        phrases = list(context.practice.red_flag_phrases) or list(DEFAULT_RED_FLAG_PHRASES)
        found = red_flags(event.draft.notes, phrases)
        if not found:
            self._record(event.draft, None)
            return

        def decided(decision: RedFlagDecision | None) -> None:
            if decision is None:
                self.query_one("#outcome-notes", Input).focus()
            elif decision.escalate:
                reason = "Red flag in notes: " + ", ".join(found)
                self._record(
                    event.draft, EscalationRequest(route=EscalationRoute.CLINICAL, reason=reason)
                )
            else:
                notes = f"{event.draft.notes} [red flag dismissed: {decision.dismissal_reason}]"
                self._record(
                    OutcomeDraft(
                        event.draft.outcome,
                        event.draft.channel,
                        event.draft.next_action,
                        event.draft.next_due,
                        notes,
                    ),
                    None,
                )

        self.app.push_screen(RedFlagScreen(found), decided)

    def _record(self, draft: OutcomeDraft, escalation: EscalationRequest | None) -> None:
        context = self.context
        assert context is not None
        now = self._clock()
        started = self.opened_at or now
        task = context.task
        script = context.script
        next_step = (
            NextStep(action=draft.next_action, due_at=draft.next_due)
            if draft.next_action and draft.next_due
            else None
        )
        attempt = AttemptIn(
            id=uuid.uuid4(),
            task_id=task.id,
            task_version=task.version,
            channel=draft.channel,
            outcome=draft.outcome.code,
            started_at=started,
            ended_at=max(now, started),
            identity_verified=self.verified,
            next_step=next_step,
            notes=draft.notes[:4000],
            script_id=script.id if script else None,
            script_version=script.version if script else None,
            escalation=escalation,
        )
        self.open_after(task.id)
        self.app.record_attempt(attempt)  # type: ignore[attr-defined]
        self.queue.focus()

    # --- banner -----------------------------------------------------------

    def show_banner(self, text: str) -> None:
        banner = self.query_one("#banner", Static)
        banner.update(text)
        banner.add_class("shown")

    def hide_banner(self) -> None:
        self.query_one("#banner", Static).remove_class("shown")

    def banner_escalation(self, route: str, contact: str, instruction: str | None) -> None:
        text = f"[b]Escalated: {escape(route)}[/b] → {escape(contact)} · queued"
        if instruction:
            text = f"[b]EMERGENCY:[/b] {escape(instruction)}\n" + text
        self.show_banner(text)
