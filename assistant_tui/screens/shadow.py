"""Shadowing one assistant: their workspace's panes, read-only, as they change.

Opening the screen starts a shadow session on the server (audited, and shown to
the assistant when their practice tells) and draws the snapshot it answers; each
`session` nudge with a newer `seq` re-reads the snapshot (the nudge carries no
content). Task, patient and script come from the supervisor's own cache (which
holds the practice's records); the mirror says which task, which step and
branch, whether identity was verified, the outcome key and the form as typed.
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
from assistant_tui.widgets.script import ScriptPane

if TYPE_CHECKING:
    from backend_client.supervision import SupervisionApi
    from followup_core.supervision import SessionSnapshot
    from local_cache.views import TaskContext


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
    if snapshot is None:
        return [f"[b]{escape(name)}[/b]", "connecting…"]
    status = snapshot.status.value
    state = snapshot.state.agent_state
    watchers = ", ".join(o.display_name for o in snapshot.observers) or "-"
    told = "told" if snapshot.told else "not told"
    return [
        f"[b]{escape(name)}[/b]",
        f"Session: [b]{status.upper()}[/b]",
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

    def compose(self) -> ComposeResult:
        with Horizontal(id="shadow"):
            yield Static("", id="shadow-session", classes="shadow-pane")
            yield MirrorScriptPane(id="shadow-script")
            with Vertical(id="shadow-right"):
                patient = PatientPane(id="shadow-patient")
                patient.can_focus = False
                yield patient
                yield Static("", id="shadow-outcome", classes="shadow-pane")
        yield Static("", id="shadow-message")
        yield LeanFooter()

    def on_mount(self) -> None:
        self.query_one("#shadow-session", Static).border_title = "Session"
        self.query_one("#shadow-outcome", Static).border_title = "Outcome (as typed)"
        self._draw_session()
        self.start()

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

        self.snapshot = snapshot
        task_id = snapshot.state.task_id
        if task_id is None:
            self.context = None
        elif self.context is None or self.context.task.id != task_id:
            self.context = await asyncio.to_thread(self.services.cache.task_context, task_id)
        self.shown_seq = snapshot.seq
        self._draw()

    # --- drawing -------------------------------------------------------------------------

    def _say(self, text: str) -> None:
        self.error = text
        self.query_one("#shadow-message", Static).update(escape(text))

    def _draw_session(self) -> None:
        self.query_one("#shadow-session", Static).update(
            "\n".join(session_lines(self.subject_name, self.snapshot))
        )

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
