"""The assistant's workspace mode: queue, script, patient context and outcome form.

The screen owns its workers (`workspace_io.py`) and handles their answers as
messages; the App only hands it the shared services and forwards sync status
and feed changes. A feed change patches just the changed rows (one worker reads
them with `LocalCache.queue_rows`); the whole queue is re-read only when the
feed says so (first sync, `resync`) or, offline, once saving pauses.
"""

from __future__ import annotations

import gc
import uuid
from typing import TYPE_CHECKING, ClassVar

from rich.markup import escape
from textual import on
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.events import Key
from textual.widgets import Input, Static

from assistant_tui import actions
from assistant_tui.frames import after_next_frame
from assistant_tui.messages import (
    AttemptRecorded,
    ContextLoaded,
    EscalationRecorded,
    FeedChanged,
    LeaseChecked,
    QueueLoaded,
    RefreshRequested,
    RowsLoaded,
    UndeliveredEscalations,
)
from assistant_tui.modes.workspace_io import WorkspaceWorkers
from assistant_tui.modes.workspace_live import WhisperStrip, WorkspaceLive
from assistant_tui.modes.workspace_training import WorkspaceTraining
from assistant_tui.screens.escalation import EscalationChoice, EscalationScreen, describe
from assistant_tui.screens.red_flag import RedFlagDecision, RedFlagScreen
from assistant_tui.services import Services
from assistant_tui.widgets.footer import LeanFooter
from assistant_tui.widgets.outcome import OutcomeDraft, OutcomeForm
from assistant_tui.widgets.patient import PatientPane
from assistant_tui.widgets.patient_lines import PatientLines
from assistant_tui.widgets.queue import QueueList, QueuePane
from assistant_tui.widgets.queue.rows import urgency
from assistant_tui.widgets.script import ScriptPane
from assistant_tui.widgets.script.shown import shown_script
from assistant_tui.widgets.status import StatusBar
from followup_core.enums import AgentState, Channel, EscalationRoute
from followup_core.schemas import AttemptIn, EscalationIn, EscalationRequest, NextStep

# Annotations only: importing local_cache pulls in SQLAlchemy.
if TYPE_CHECKING:
    from datetime import datetime

    from textual.timer import Timer

    from local_cache.views import QueueRow, TaskContext

# Offline, the whole queue is re-read this long after the last save (see
# `_attempt_recorded`): long enough that a run of saves never waits on a reload.
RELOAD_AFTER_SAVE_SECONDS = 10.0
CLOCK_TICK_SECONDS = 30.0
AGENT_STATES = [AgentState.AVAILABLE, AgentState.ON_CALL, AgentState.WRAP_UP, AgentState.BREAK]

# Layouts by terminal size (cells). Wide: queue, script and patient+outcome side by
# side. Medium: the queue or the script in the main column (F7 switches), patient
# and outcome beside it. Narrow: one pane at a time (queue, script or patient) over a
# compact outcome form. Short (< 40 rows) or narrow: the compact form (one-line
# fields, no button: Enter or Ctrl+S saves). Below MIN_SIZE: a message, no panes.
MIN_SIZE = (80, 24)
MEDIUM_WIDTH = 100
WIDE_WIDTH = 150
TALL_HEIGHT = 40
VIEWS_BY_LAYOUT = {
    "wide": (),
    "medium": ("queue", "script"),
    "narrow": ("queue", "script", "patient"),
    "too-small": (),
}


def layout_for(width: int, height: int) -> str:
    """'wide', 'medium', 'narrow' or 'too-small' for a terminal of width x height cells."""
    if width < MIN_SIZE[0] or height < MIN_SIZE[1]:
        return "too-small"
    if width >= WIDE_WIDTH:
        return "wide"
    return "medium" if width >= MEDIUM_WIDTH else "narrow"


def shelve_from_gc() -> None:
    """Put what is alive now (chiefly the queue's rows) out of the cyclic GC's sight.

    At 100,000 tasks the queue is 100,000 GC-tracked `QueueRow`s that live until
    the next load; every full collection walked them all (100-400 ms, the p99
    of a key press). `gc.freeze()` moves every tracked object to the permanent
    generation, which collections skip. Safe for the rows: they hold only
    strings, numbers, datetimes and enum members, no reference cycles, so when
    the next load replaces them reference counting frees them, frozen or not.
    Other objects frozen here (widgets, say) may later become cyclic garbage
    that no collection sees: unfreezing and collecting first, at each load,
    returns those to the collector, so nothing stays uncollected for longer
    than one queue load.
    """
    gc.unfreeze()
    gc.collect()
    gc.freeze()


PANE_AREAS = {
    "queue": QueuePane,
    "script": ScriptPane,
    "patient": PatientPane,
    "outcome": OutcomeForm,
}


class WorkspaceScreen(WorkspaceWorkers, WorkspaceLive, WorkspaceTraining):
    """The assistant's four panes, their workers and the live patching of the queue."""

    MODE = "workspace"
    AREAS = ("workspace", "queue", "script", "patient", "outcome")
    SHOWS_PHI = True
    BINDINGS: ClassVar = actions.bindings("workspace")
    # Textual sets one class per axis on the screen as it is resized (app.tcss uses them).
    HORIZONTAL_BREAKPOINTS = [
        (0, "-too-narrow"),
        (MIN_SIZE[0], "-narrow"),
        (MEDIUM_WIDTH, "-medium"),
        (WIDE_WIDTH, "-wide"),
    ]
    VERTICAL_BREAKPOINTS = [
        (0, "-too-short"),
        (MIN_SIZE[1], "-short"),
        (TALL_HEIGHT, "-tall"),
    ]

    def __init__(self, services: Services) -> None:
        super().__init__(services)
        self._clock = services.clock
        self._tz: dict[str, str] = {}
        self.context: TaskContext | None = None
        self.verified = False
        self.opened_at: datetime | None = None
        self._pending_open: str | None = None
        user = services.user
        self.assistant_name: str | None = user.display_name.split()[0] if user else None
        self.agent_state = AgentState.AVAILABLE
        self._undelivered: set[str] = set()
        self._reload_timer: Timer | None = None
        # Live patching: task ids waiting to be read, whether a read is in flight.
        self._dirty: set[str] = set()
        self._rows_in_flight = False
        self._queue_in_flight = False
        self.full_reads = 0  # whole-queue reads started (tests and benchmarks count them)
        # SLA breaches that patches changed, shown after the patch's frame.
        self._breach_change = 0
        self._breach_pending = False
        # The pane shown in the main column when not every pane fits (see layout_for).
        self.view = "queue"
        # The server's words when another person holds the open task's lease.
        self.held_by: str | None = None

    def _tz_for(self, practice_id: str) -> str:
        return self._tz.get(practice_id, "UTC")

    def compose(self) -> ComposeResult:
        yield Static("", id="too-small")
        yield Static("", id="pane-tabs")
        with Horizontal(id="panes"):
            yield QueuePane(self._clock, self._tz_for, id="queue")
            yield ScriptPane(id="script")
            with Vertical(id="side"):
                yield Static("", id="step-line")
                identity = actions.key_for("workspace.identity", self.services.settings.keymap)
                yield PatientPane(identity_key=identity, id="patient")
                yield OutcomeForm(self._clock, id="outcome")
        yield Static("", id="banner")
        yield PatientLines(id="patient-lines")
        yield WhisperStrip(id="whisper-strip")
        yield StatusBar(self._clock, id="status")
        yield LeanFooter()

    def on_mount(self) -> None:
        self.add_class("view-queue", "-idle")
        self.query_one(QueueList).focus()
        # The panes exist now, so the queue worker's answer has somewhere to go.
        self.reload_queue()
        self.set_interval(CLOCK_TICK_SECONDS, self._tick, name="clock")
        if self.sync is not None:
            # Supervisors see the team live: say we are here as the workspace opens.
            self.record_presence(self.agent_state)
        if self.services.status is not None:
            self.status.apply_sync(self.services.status)
        self.start_live()  # supervision: the session mirror, whispers, observers
        self.start_training()  # a training run's simulated patient and result

    def live_event(self, kind: str, data: dict[str, object]) -> None:
        self.supervision_event(kind)  # whisper, observed (see workspace_live)
        if kind == "training":
            self.training_event(data)  # a run's live line or score (workspace_training)

    def _tick(self) -> None:
        self.status.tick()
        self.queue.refresh()

    def reload_queue(self) -> None:
        """Re-read the whole queue (first sync, resync, offline refresh) in a worker."""
        self.full_reads += 1
        self._queue_in_flight = True
        self.load_queue()

    # --- layout by terminal size -----------------------------------------

    @property
    def layout_kind(self) -> str:
        """'wide', 'medium', 'narrow' or 'too-small' (layout_for the screen's size now)."""
        return layout_for(self.size.width, self.size.height)

    def on_resize(self) -> None:
        self.update_layout()

    def show_view(self, view: str, *, focus: bool = True) -> None:
        """Show `view` ('queue', 'script' or 'patient') in the main column and focus it.

        Only matters where not every pane fits; in the wide layout all are shown.
        """
        self.remove_class(f"view-{self.view}")
        self.view = view
        self.add_class(f"view-{view}")
        self.update_layout()
        if focus and self.layout_kind in ("medium", "narrow"):
            target = {"queue": self.queue, "script": self.script}.get(view)
            (target or self.query_one(PatientPane)).focus()

    def action_next_pane(self) -> None:
        views = VIEWS_BY_LAYOUT[self.layout_kind]
        if not views:
            return
        current = self.view if self.view in views else views[-1]
        self.show_view(views[(views.index(current) + 1) % len(views)])

    def update_layout(self) -> None:
        """Bring the size-dependent parts up to date: the too-small message, the pane
        tabs and the one-line current step shown while the script pane is hidden."""
        kind = self.layout_kind
        width, height = self.size
        self.set_class(self.context is None, "-idle")
        self.refresh_bindings()  # check_action: the keys are off while too small
        if kind == "too-small":
            self.query_one("#too-small", Static).update(
                f"This terminal is {width}x{height}; the workspace needs at least "
                f"{MIN_SIZE[0]}x{MIN_SIZE[1]}.\nMake the window larger or the font smaller."
            )
        views = VIEWS_BY_LAYOUT[kind]
        tabs = self.query_one("#pane-tabs", Static)
        tabs.display = bool(views)
        if views:
            key = actions.key_for("workspace.pane", self.services.settings.keymap)
            shown = self.view if self.view in views else "script"
            names = "  ".join(
                f"[reverse] {v.title()} [/reverse]" if v == shown else f" {v.title()} "
                for v in views
            )
            tabs.update(f"{names}   [dim]{escape(key)}: next pane[/dim]")
        self._update_step_line()

    def _update_step_line(self) -> None:
        line = self.query_one("#step-line", Static)
        kind = self.layout_kind
        script_hidden = (kind == "medium" and self.view == "queue") or (
            kind == "narrow" and self.view != "script"
        )
        summary = self.script.summary() if self.context is not None else ""
        line.display = script_hidden and bool(summary)
        if line.display:
            line.update(escape(summary))

    @on(ScriptPane.StepChanged)
    def _step_changed(self) -> None:
        self._update_step_line()

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

    def help_area(self) -> str:
        return self.focused_area()

    def focused_area(self) -> str:
        node = self.focused
        while node is not None:
            for area, kind in PANE_AREAS.items():
                if isinstance(node, kind):
                    return area
            node = node.parent  # type: ignore[assignment]
        return "queue"

    # --- answers from the workers and the sync engine --------------------------

    @on(QueueLoaded)
    def _queue_loaded(self, message: QueueLoaded) -> None:
        self._queue_in_flight = False
        self.apply_queue(message.rows)
        # After the frame that shows the rows: the collection is not free.
        self.call_after_refresh(shelve_from_gc)
        self._read_dirty()

    @on(FeedChanged)
    def _feed_changed(self, message: FeedChanged) -> None:
        """The engine applied a pull: patch those rows, or re-read all if it says so."""
        self.training_feed_changed(message.task_ids, message.full)
        if message.full:
            self._dirty.clear()
            self.reload_queue()
            return
        self._dirty.update(message.task_ids)
        self._read_dirty()

    def _read_dirty(self) -> None:
        # One read at a time, in order, so an older answer never lands on a newer
        # one; while the whole queue is being read, the patch waits for it.
        if self._dirty and not self._rows_in_flight and not self._queue_in_flight:
            ids = frozenset(self._dirty)
            self._dirty.clear()
            self._rows_in_flight = True
            self.load_rows(ids)

    @on(RowsLoaded)
    def _rows_loaded(self, message: RowsLoaded) -> None:
        self._rows_in_flight = False
        if message.rows:
            self.apply_rows(message.rows)
        self._read_dirty()

    def apply_rows(self, rows: dict[str, QueueRow | None]) -> None:
        """Patch changed rows into the queue and keep the SLA count true."""
        replaced = self.query_one(QueuePane).patch_rows(rows)
        now = self._clock()
        change = 0
        for task_id, row in rows.items():
            old = replaced.get(task_id)
            change -= old is not None and urgency(old, now) == "overdue"
            change += row is not None and urgency(row, now) == "overdue"
        if change:
            # After the frame that shows the rows: the status bar is the bottom line,
            # and Textual repaints the box around everything dirty in one frame, so
            # in the same frame as the queue's rows it dragged every pane in between
            # (35 widgets, not the list's 13) into the patch's frame.
            self._breach_change += change
            if not self._breach_pending:
                self._breach_pending = True
                after_next_frame(self, self._show_breach_change)
        if self.context is None and self.queue.highlighted_task_id is not None:
            self.open_task(self.queue.highlighted_task_id)

    def _show_breach_change(self) -> None:
        self._breach_pending = False
        change, self._breach_change = self._breach_change, 0
        self.status.breaches = max(0, self.status.breaches + change)

    @on(RefreshRequested)
    def _refresh(self) -> None:
        self.reload_queue()

    @on(ContextLoaded)
    def _context_loaded(self, message: ContextLoaded) -> None:
        self.apply_context(message.context)

    @on(AttemptRecorded)
    def _attempt_recorded(self, message: AttemptRecorded) -> None:
        self.notify(f"Saved: {message.outcome}", timeout=3)
        self.training_attempt_saved(message.task_id)
        self.attempt_saved(message.task_id, message.row)
        if self.sync is not None:
            self.sync.kick()  # send it now; the feed's answer patches the row
        else:
            # Offline nothing else writes the cache: refresh the outbox count now
            # and the whole queue once saving pauses (restarted by each save).
            self.load_status(self.queue.total)
            if self._reload_timer is not None:
                self._reload_timer.stop()
            self._reload_timer = self.set_timer(
                RELOAD_AFTER_SAVE_SECONDS, self.reload_queue, name="reload-after-save"
            )

    @on(EscalationRecorded)
    def _escalation_recorded(self, message: EscalationRecorded) -> None:
        self._undelivered.add(message.escalation_id)
        self.status.undelivered_escalations = len(self._undelivered)
        self._dirty.add(message.task_id)  # its row shows the hold
        self._read_dirty()
        if self.sync is not None:
            self.sync.kick()

    def sync_status_changed(self) -> None:
        if self.services.status is None or not self.is_mounted:
            return
        self.status.apply_sync(self.services.status)
        if self._undelivered:
            # Asked of the cache, not inferred from the status: a status published
            # by a round that began before the escalation would say "0" too early.
            self.count_undelivered(frozenset(self._undelivered))

    @on(UndeliveredEscalations)
    def _undelivered_counted(self, message: UndeliveredEscalations) -> None:
        # Only what was known when the check began can have been delivered since.
        self._undelivered -= message.known - message.waiting
        self.status.undelivered_escalations = len(self._undelivered)

    def apply_queue(self, rows: list[QueueRow]) -> None:
        self.query_one(QueuePane).set_rows(rows)
        now = self._clock()
        self._breach_change = 0  # a patch's change not shown yet is in this count
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
        self.held_by = None
        self.load_context(task_id)
        self.claim_lease(task_id)

    @on(LeaseChecked)
    def _lease_checked(self, message: LeaseChecked) -> None:
        """Someone else holds the task just opened: say who, on the banner, at once."""
        if message.task_id != self.queue.open_task_id or message.held_by is None:
            return
        self.held_by = message.held_by
        self._show_lease()

    def _show_lease(self) -> None:
        # The claim's answer may come before or after the task's context: either order.
        if self.held_by is None:
            self.hide_banner()
        else:
            self.show_banner(
                f"[b]Held:[/b] {escape(self.held_by)}. Check with them before calling."
            )

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
            self._show_lease()
        self.status.practice_tz = context.practice.timezone
        self.query_one(PatientPane).show(context, self.verified)
        self._show_script(keep_step=same_task)
        if not same_task:
            self._start_form(context)
            self.training_task_opened()
        self.update_layout()

    def _show_nothing(self) -> None:
        self.query_one(PatientPane).show(None, False)
        self.query_one(PatientLines).hide()
        self.script.show_message("The queue is empty. Well done.")
        self.form.clear()
        self.show_view("queue", focus=False)

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
        from followup_core.workflows import WORKFLOWS, for_practice

        # Only the practice's channels (its file), as the server checks them.
        workflow = for_practice(WORKFLOWS[context.task.workflow], context.practice.channels)
        consent = context.patient.consent if context.patient else None
        allowed = workflow.allowed_channels(consent)
        channels = [c for c in Channel if c in allowed]
        self.form.start(workflow, channels, context.practice.timezone, consent)
        self.form.identity_verified = self.verified

    # --- keys -------------------------------------------------------------

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """Below the minimum size only the too-small message is drawn, so the
        workspace's own keys are off (and out of the footer): nothing is saved,
        escalated or switched unseen. The app's keys (quit, lock, help) still work."""
        if self.layout_kind == "too-small":
            return False
        return super().check_action(action, parameters)

    def on_key(self, event: Key) -> None:
        """A letter outside a text field is an outcome key of the open task."""
        if isinstance(self.focused, Input) or self.context is None:
            return
        if self.layout_kind == "too-small":
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
        self._update_step_line()

    def action_toggle_identity(self) -> None:
        if self.context is None or self.context.patient is None:
            self.notify("No matched patient to verify.", severity="warning")
            return
        self.verified = not self.verified
        self.form.identity_verified = self.verified
        self.query_one(PatientPane).show(self.context, self.verified)
        self._show_script(keep_step=True)
        self.mirror_note()  # its order against the script's steps matters (training)

    def action_cycle_channel(self) -> None:
        self.form.cycle_channel()
        self.script.voicemail = self.form.channel == Channel.VOICEMAIL
        self._update_step_line()

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
        if self.layout_kind in ("medium", "narrow"):
            self.show_view("script")
        self.script.focus()

    def action_cycle_agent_state(self) -> None:
        index = AGENT_STATES.index(self.agent_state) if self.agent_state in AGENT_STATES else -1
        self.set_agent_state(AGENT_STATES[(index + 1) % len(AGENT_STATES)])

    def action_set_state(self, state: str) -> None:
        self.set_agent_state(AgentState(state))

    def set_agent_state(self, state: AgentState) -> None:
        """The assistant's state (contact-centre time in state), shown and sent as presence."""
        self.agent_state = state
        self.status.agent_state = state
        self.record_presence(state)

    def action_show_attention(self) -> None:
        """F9: the work the server refused, to read and send again or drop."""
        from assistant_tui.screens.attention import AttentionScreen

        tz = self.context.practice.timezone if self.context is not None else "UTC"
        sync = self.sync

        def resend() -> None:
            if sync is not None:
                sync.kick()

        def closed(changed: bool | None) -> None:
            if changed:
                self._refresh_counts()

        self.app.push_screen(AttentionScreen(self.cache, tz, resend), callback=closed)

    def _refresh_counts(self) -> None:
        """The status bar's outbox and attention figures, after the outbox changed here."""
        if self.sync is not None:
            self.sync.kick()  # the engine publishes a fresh status after its round
        else:
            self.load_status(self.queue.total)

    def action_escalate(self) -> None:
        context = self.context
        if context is None:
            self.notify("Open a task to escalate it.", severity="warning")
            return
        from followup_core.workflows import WORKFLOWS

        routes = list(WORKFLOWS[context.task.workflow].escalation_routes)
        routes += [r for r in EscalationRoute if r not in routes]

        def chosen(choice: EscalationChoice | None) -> None:
            if choice is not None:
                self.escalate(choice)

        self.app.push_screen(EscalationScreen(context.practice, routes), chosen)

    def escalate(self, choice: EscalationChoice) -> None:
        """Queue an escalation of the open task and say where it went."""
        context = self.context
        assert context is not None
        escalation = EscalationIn(
            id=uuid.uuid4(), task_id=context.task.id, route=choice.route, reason=choice.reason
        )
        self.queue.held.add(context.task.id)
        instruction = (
            context.practice.emergency_instruction
            if choice.route is EscalationRoute.URGENT_SYMPTOM
            else None
        )
        self.banner_escalation(choice.route.value, describe(choice.contact), instruction)
        self.record_escalation(escalation)

    # --- documenting ------------------------------------------------------

    @on(OutcomeForm.Submitted)
    def _submitted(self, event: OutcomeForm.Submitted) -> None:
        context = self.context
        if context is None or self.layout_kind == "too-small":
            return  # (too small: Enter in a field no one can see)
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

        key = actions.key_for("red_flag.escalate", self.services.settings.keymap)
        self.app.push_screen(RedFlagScreen(found, key), decided)

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
        self.record_attempt(attempt)
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
