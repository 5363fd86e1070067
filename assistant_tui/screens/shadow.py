"""Shadowing one assistant: their workspace's four panes, read-only, as they change.

Opening the screen starts a shadow session on the server (audited, and shown to
the assistant when their practice tells) and draws the snapshot it answers; each
`session` nudge with a newer `seq` re-reads the snapshot (the nudge carries no
content). Task, patient, script and the assistant's queue come from the
supervisor's own cache (which holds the practice's records); the mirror says
which task, which step and branch, whether identity was verified, the outcome key
and the form as typed. The queue pane is the assistant's: the open tasks they
own, in their queue's order, with the task they have open marked and under the
cursor; it is re-read when the feed changes any task (a reassignment moves rows
in or out) and when the mirror opens another task.

Layout by width (like the workspace): from 140 columns queue, script and
patient + outcome side by side; 100-139 script (or queue) beside patient +
outcome; below 100 one pane at a time. F7 switches the pane where not all fit.
Leaving the screen stops the shadow session. W whispers to the assistant.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from rich.markup import escape
from textual import work
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.screen import Screen
from textual.widgets import Static

from assistant_tui import actions
from assistant_tui.widgets.footer import LeanFooter
from assistant_tui.widgets.patient import PatientPane
from assistant_tui.widgets.queue import QueuePane
from assistant_tui.widgets.script import ScriptPane

if TYPE_CHECKING:
    from backend_client.supervision import SupervisionApi
    from followup_core.supervision import SessionSnapshot
    from local_cache.views import QueueRow, TaskContext

# Panes shown in the main column, by layout, in F7 order (wide: all at once).
SHADOW_VIEWS: dict[str, tuple[str, ...]] = {
    "wide": (),
    "medium": ("script", "queue"),
    "narrow": ("script", "queue", "side"),
}
VIEW_TITLES = {"script": "Script", "queue": "Queue", "side": "Patient + outcome"}


def shadow_layout(width: int) -> str:
    """'wide' (>= 140 columns), 'medium' (100-139) or 'narrow' (< 100)."""
    if width >= 140:
        return "wide"
    if width >= 100:
        return "medium"
    return "narrow"


def outcome_lines(snapshot: SessionSnapshot) -> list[str]:
    """The outcome pane of the mirror: key chosen, channel, next step, notes, escalation."""
    state = snapshot.state
    form = state.form
    lines = [
        f"Outcome: [b]{escape(state.outcome or '-')}[/b]",
        f"Channel: {escape(str(form.channel) if form.channel else '-')}",
        f"Next step: {escape(form.next_action or '-')}  due {escape(form.next_due or '-')}",
        "Notes:",
        escape(form.notes) if form.notes else "[dim](none)[/dim]",
    ]
    if state.escalation is not None:
        route = str(state.escalation.route) if state.escalation.route else "choosing…"
        lines.append(f"[b]Escalation picker open[/b]: {escape(route)}")
    if state.last_saved_task_id and not state.task_id:
        lines.append(f"Last saved: {escape(state.last_saved_outcome or '')}")
    return lines


def session_lines(name: str, snapshot: SessionSnapshot | None) -> list[str]:
    """The strip above the panes: who, session status, agent state, who watches."""
    if snapshot is None:
        return [f"Shadowing [b]{escape(name)}[/b] · connecting…"]
    status = snapshot.status.value
    state = snapshot.state.agent_state
    watchers = ", ".join(o.display_name for o in snapshot.observers) or "-"
    told = "told" if snapshot.told else "not told"
    return [
        f"Shadowing [b]{escape(name)}[/b] · [b]{status.upper()}[/b] · "
        f"state {escape(str(state) if state else '-')} · "
        f"observed by {escape(watchers)} ({told}) · mirror #{snapshot.seq} · "
        "[dim]read-only[/dim]"
    ]


def session_pane_lines(name: str, snapshot: SessionSnapshot | None) -> list[str]:
    """The same facts as `session_lines`, one per line, for a narrow session pane."""
    if snapshot is None:
        return [f"[b]{escape(name)}[/b]", "connecting…"]
    state = snapshot.state.agent_state
    watchers = ", ".join(o.display_name for o in snapshot.observers) or "-"
    told = "told" if snapshot.told else "not told"
    return [
        f"[b]{escape(name)}[/b]",
        f"Session: [b]{snapshot.status.value.upper()}[/b]",
        f"Agent state: {escape(str(state) if state else '-')}",
        f"Observed by: {escape(watchers)} ({told})",
        f"Mirror #{snapshot.seq}",
        "",
        "[dim]Read-only. W whispers, Esc stops shadowing.[/dim]",
    ]


class MirrorScriptPane(ScriptPane, can_focus=False, inherit_bindings=False):
    """The script pane, read-only: the step shown is the assistant's, not ours to move."""


class ShadowScreen(Screen[None]):
    """One assistant's panes, read-only and live."""

    BINDINGS = actions.bindings("shadow")
    SHOWS_PHI = True
    AUTO_FOCUS = None  # nothing here takes input: the screen's own keys only

    def __init__(self, services: Any, api: SupervisionApi, subject_id: str, name: str) -> None:
        super().__init__()
        self.services = services
        self.api = api
        self.subject_id = subject_id
        self.subject_name = name
        self.snapshot: SessionSnapshot | None = None
        self.context: TaskContext | None = None
        self.shown_seq = -1
        self.wanted_seq = 0
        self.error: str | None = None
        self.view = "script"  # the pane in the main column where not all fit
        self.queue_rows: list[QueueRow] = []
        self.queue_loads = 0  # queue reads shown (tests wait on it)
        self._tz: dict[str, str] = {}

    def _tz_for(self, practice_id: str) -> str:
        return self._tz.get(practice_id, "UTC")

    def compose(self) -> ComposeResult:
        yield Static("", id="shadow-strip")
        yield Static("", id="shadow-tabs")
        with Horizontal(id="shadow"):
            yield QueuePane(self.services.clock, self._tz_for, id="shadow-queue")
            yield MirrorScriptPane(id="shadow-script")
            with Vertical(id="shadow-right"):
                patient = PatientPane(id="shadow-patient")
                patient.can_focus = False
                yield patient
                yield Static("", id="shadow-outcome", classes="shadow-pane")
        yield Static("", id="shadow-message")
        yield LeanFooter()

    def on_mount(self) -> None:
        pane = self._queue_pane
        if pane is not None:
            pane.border_title = f"Queue of {self.subject_name}"
            # Read-only: the cursor follows the assistant, and no key types into the
            # pane's (hidden) filter field, so W, F7 and Esc always reach this screen.
            for widget in pane.query("*"):
                widget.can_focus = False
            self.set_focus(None)
        self.query_one("#shadow-outcome", Static).border_title = "Outcome (as typed)"
        self.add_class(f"view-{self.view}")
        self._draw_session()
        self.update_layout()
        self.start()
        if pane is not None:
            self.load_queue()

    @property
    def _queue_pane(self) -> QueuePane | None:
        """The assistant's queue pane (a subclass laying out its own panes may have none)."""
        found = self.query("#shadow-queue")
        pane = found.first() if found else None
        return pane if isinstance(pane, QueuePane) else None

    # --- layout by width --------------------------------------------------------------

    @property
    def layout_kind(self) -> str:
        """See `shadow_layout`."""
        return shadow_layout(self.size.width)

    def on_resize(self) -> None:
        self.update_layout()

    def update_layout(self) -> None:
        """Set the layout class and the pane tabs (shown where not every pane fits)."""
        if self._queue_pane is None:
            return  # a subclass with its own layout
        kind = self.layout_kind
        for other in SHADOW_VIEWS:
            self.set_class(other == kind, f"-shadow-{other}")
        views = SHADOW_VIEWS[kind]
        tabs = self.query_one("#shadow-tabs", Static)
        tabs.display = bool(views)
        if views:
            shown = self.view if self.view in views else views[0]
            if shown != self.view:
                self._set_view(shown)
            key = actions.key_for("shadow.pane", self.services.settings.keymap)
            names = "  ".join(
                f"[reverse] {VIEW_TITLES[v]} [/reverse]" if v == shown else f" {VIEW_TITLES[v]} "
                for v in views
            )
            tabs.update(f"{names}   [dim]{escape(key.upper())} switches[/dim]")

    def _set_view(self, view: str) -> None:
        self.remove_class(f"view-{self.view}")
        self.view = view
        self.add_class(f"view-{view}")

    def action_next_pane(self) -> None:
        views = SHADOW_VIEWS[self.layout_kind]
        if not views:
            return
        current = self.view if self.view in views else views[0]
        self._set_view(views[(views.index(current) + 1) % len(views)])
        self.update_layout()

    # --- the assistant's queue -----------------------------------------------------------

    @work(exclusive=True, group="shadow-queue", exit_on_error=False)
    async def load_queue(self) -> None:
        """Read the assistant's open tasks from the cache (a thread) and show them."""
        import asyncio

        cache = self.services.cache

        def read() -> tuple[dict[str, str], list[QueueRow]]:
            zones = {p.id: p.timezone for p in cache.practices()}
            return zones, cache.owner_queue(self.subject_id)

        try:
            zones, rows = await asyncio.to_thread(read)
        except Exception as exc:  # the cache is closing or locked: keep what is shown
            self._say(f"queue not read: {type(exc).__name__}")
            return
        self._tz.update(zones)
        self.queue_rows = rows
        pane = self._queue_pane
        if pane is None:
            return
        pane.set_rows(rows)
        self._mark_current()
        self.queue_loads += 1

    def _mark_current(self) -> None:
        """Mark the task the assistant has open and put the queue's cursor on it."""
        pane = self._queue_pane
        if pane is None:
            return
        queue = pane.queue_list
        task_id = self.snapshot.state.task_id if self.snapshot is not None else None
        if self.snapshot is not None and self.snapshot.status.value != "active":
            task_id = None
        queue.open_task_id = task_id
        if task_id is not None and queue.has(task_id):
            queue.select(task_id)
        queue.refresh()

    CHANGED_CHECK_MAX = 200  # more changed tasks than this in one pull: just re-read

    def feed_changed(self, task_ids: frozenset[str], full: bool) -> None:
        """The supervisor's cache took a feed pull: re-read the queue if it moved.

        It moved if a changed task is in the pane now (finished, or given away) or
        is the assistant's now (given to them, new). Those few tasks are read by
        id first, since a whole re-read scans every open task of the cache.
        """
        if self._queue_pane is None or not (full or task_ids):
            return
        if full or len(task_ids) > self.CHANGED_CHECK_MAX:
            self.load_queue()
        else:
            self.check_changed(task_ids)

    @work(group="shadow-changed", exit_on_error=False)
    async def check_changed(self, task_ids: frozenset[str]) -> None:
        import asyncio

        shown = {r.task_id for r in self.queue_rows}
        if task_ids & shown:
            self.load_queue()
            return
        cache = self.services.cache

        def theirs() -> bool:
            for task_id in task_ids:
                task = cache.task(task_id)
                if task is not None and task.owner_id == self.subject_id:
                    return True
            return False

        try:
            moved = await asyncio.to_thread(theirs)
        except Exception:  # the cache is closing: the next change tries again
            return
        if moved:
            self.load_queue()

    # --- server -------------------------------------------------------------------------

    @work(exclusive=True, group="shadow", exit_on_error=False)
    async def start(self) -> None:
        from backend_client.errors import ApiError, Offline

        try:
            started = await self.api.start_shadow(self.subject_id)
        except (ApiError, Offline) as exc:
            self._say(f"cannot shadow: {getattr(exc, 'message', type(exc).__name__)}")
            return
        if started.snapshot is not None:
            await self._apply(started.snapshot)

    def nudged(self, seq: int) -> None:
        """A `session` event: the mirror moved to `seq`; fetch it if newer than shown."""
        self.wanted_seq = max(self.wanted_seq, seq)
        if seq > self.shown_seq:
            self.fetch()

    @work(exclusive=True, group="shadow-fetch", exit_on_error=False)
    async def fetch(self) -> None:
        from backend_client.errors import ApiError, Offline

        try:
            snapshot = await self.api.snapshot(self.subject_id)
        except (ApiError, Offline) as exc:
            self._say(f"mirror not refreshed: {getattr(exc, 'message', type(exc).__name__)}")
            return
        await self._apply(snapshot)

    async def _apply(self, snapshot: SessionSnapshot) -> None:
        import asyncio

        previous = self.snapshot.state.task_id if self.snapshot is not None else None
        self.snapshot = snapshot
        task_id = snapshot.state.task_id
        if task_id is None:
            self.context = None
        elif self.context is None or self.context.task.id != task_id:
            self.context = await asyncio.to_thread(self.services.cache.task_context, task_id)
        self.shown_seq = snapshot.seq
        self._draw()
        if task_id != previous:
            self._mark_current()

    # --- drawing -------------------------------------------------------------------------

    def _say(self, text: str) -> None:
        self.error = text
        self.query_one("#shadow-message", Static).update(escape(text))

    def _draw_session(self) -> None:
        strip = self.query("#shadow-strip")
        if strip:
            text = "\n".join(session_lines(self.subject_name, self.snapshot))
            strip.first(Static).update(text)
        else:  # a subclass's session pane (see `session_pane_lines`)
            text = "\n".join(session_pane_lines(self.subject_name, self.snapshot))
            self.query_one("#shadow-session", Static).update(text)

    def _draw(self) -> None:
        from assistant_tui.widgets.script.shown import shown_script

        snapshot = self.snapshot
        self._draw_session()
        script = self.query_one("#shadow-script", ScriptPane)
        patient = self.query_one("#shadow-patient", PatientPane)
        outcome = self.query_one("#shadow-outcome", Static)
        if snapshot is None:
            return
        state = snapshot.state
        if snapshot.status.value != "active":
            script.show_message(f"{self.subject_name} is {snapshot.status.value}.")
            patient.show(None, False)
            outcome.update("")
            return
        context = self.context
        if context is None or context.script is None:
            text = (
                "No task open." if state.task_id is None else "The task is not in your cache yet."
            )
            script.show_message(text)
            patient.show(context, state.identity_verified)
        else:
            first_name = self.subject_name.split()[0] if self.subject_name else None
            shown = shown_script(context, state.identity_verified, first_name)
            if script.script != shown:
                script.show(shown)
            script.voicemail = state.voicemail
            script.step = min(state.step, max(0, len(shown.steps) - 1))
            branch = state.branch
            script.branch = int(branch) if branch and branch.isdigit() else None
            patient.show(context, state.identity_verified)
        outcome.update("\n".join(outcome_lines(snapshot)))

    # --- actions ---------------------------------------------------------------------------

    # The last whisper sent from this screen: the message line says "not read yet" until
    # the assistant acknowledges it (the server tells the sender with a `whisper` event
    # carrying only its id; the screen then reads the whisper's status), then "read".
    whisper_id: str | None = None
    whisper_read = False

    def action_whisper(self) -> None:
        from assistant_tui.screens.supervision import WhisperScreen

        def send(text: str | None) -> None:
            if text:
                self.send_whisper(text)

        self.app.push_screen(WhisperScreen(self.subject_name), send)

    @work(group="whisper", exit_on_error=False)
    async def send_whisper(self, text: str) -> None:
        from backend_client.errors import ApiError, Offline

        try:
            sent = await self.api.whisper(self.subject_id, text)
        except (ApiError, Offline) as exc:
            self._say(f"whisper not sent: {getattr(exc, 'message', type(exc).__name__)}")
            return
        self.whisper_id, self.whisper_read = sent.id, False
        self._say("whisper sent, not read yet")

    def whisper_changed(self, whisper_id: str) -> None:
        """A `whisper` event (ids only): if it is ours, see whether it was read."""
        if whisper_id == self.whisper_id and not self.whisper_read:
            self.check_whisper()

    @work(exclusive=True, group="whisper-read", exit_on_error=False)
    async def check_whisper(self) -> None:
        from backend_client.errors import ApiError, Offline

        try:
            read = await self.api.whispers("read", sent=True)
        except (ApiError, Offline):
            return  # the next event or a re-open shows it
        mine = next((w for w in read if w.id == self.whisper_id), None)
        if mine is None or mine.acknowledged_at is None:
            return
        self.whisper_read = True
        at = mine.acknowledged_at.astimezone().strftime("%H:%M")  # this terminal's local time
        self._say(f"whisper read by {self.subject_name} at {at}")

    def action_close(self) -> None:
        self.stop_and_close()

    @work(exclusive=True, group="shadow", exit_on_error=False)
    async def stop_and_close(self) -> None:
        import contextlib

        from backend_client.errors import ApiError, Offline

        # Leave the screen either way; the audit row of the start stays.
        with contextlib.suppress(ApiError, Offline):
            await self.api.stop_shadow(self.subject_id)
        self.dismiss(None)
