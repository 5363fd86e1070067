"""The workspace's side of supervision: the session mirror, the whisper strip, "observed by".

- **Mirror.** Every `MIRROR_EVERY` seconds the workspace's visible state (task,
  identity verified, script step/branch/voicemail, outcome key, form fields,
  escalation picker, agent state, locked) is read from the widgets and compared
  with what was last published; the differences go to the server as one batch
  (`POST /v1/sessions/me/events`). A typing assistant therefore costs at most one
  small request per interval, notes included (debounced by the interval). Locked:
  one `locked` event and nothing else until unlocked. Script step, branch and
  voicemail changes and the identity toggle are *noted* as they happen
  (`mirror_note`: their diff is queued at once), so the order of "verified" and
  "a PHI step shown" survives even within one interval: a training run is scored
  from that order (`central_api.training.relay`). Best effort: a failed batch
  stays queued for the next tick; past `MIRROR_PENDING_MAX` queued events the
  queue is replaced by the diff from what the server last accepted; facts never
  go this way.
- **Whispers.** Unread whispers are read when the workspace opens and on each
  `whisper` event; the oldest shows in its own strip above the status bar (never in
  the notes or anywhere that is saved), and Ctrl+R (`workspace.whisper_ack`) acknowledges it.
- **Observed by.** Read on open and on each `observed` event; shown in the status
  bar when the practice tells (the server answers an empty list when it does not).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from rich.markup import escape
from textual import work
from textual.widgets import Static

if TYPE_CHECKING:
    from backend_client.supervision import SupervisionApi
    from followup_core.supervision import WhisperOut

MIRROR_EVERY = 0.25  # seconds between mirror diffs (and at most one batch each)
MIRROR_PENDING_MAX = 200  # queued events kept while the server is unreachable


def mirror_view(screen: Any) -> dict[str, Any]:
    """What the workspace shows now, as the mirror's fields (read from the widgets)."""
    from assistant_tui.screens.escalation import EscalationScreen
    from assistant_tui.screens.lock import LockScreen

    app = screen.app
    stack = list(app.screen_stack)
    locked = any(isinstance(s, LockScreen) for s in stack)
    view: dict[str, Any] = {"locked": locked, "agent_state": str(screen.agent_state)}
    if locked:
        return view
    context = screen.context
    view["task_id"] = context.task.id if context is not None else None
    if context is None:
        return view
    script = screen.script
    form = screen.form
    outcome = form.outcome.code if form.outcome is not None else None
    view.update(
        channel=str(form.channel) if form.channel is not None else None,
        identity_verified=bool(screen.verified),
        step=int(script.step),
        branch=str(script.branch) if script.branch is not None else None,
        voicemail=bool(script.voicemail),
        outcome=str(outcome) if outcome else None,
        notes=form.notes,
        escalation=any(isinstance(s, EscalationScreen) for s in stack),
    )
    return view


def diff_events(old: dict[str, Any], new: dict[str, Any]) -> list[dict[str, Any]]:
    """The mirror events that take the server from `old` to `new` (see followup_core.supervision)."""
    events: list[dict[str, Any]] = []
    if new.get("agent_state") != old.get("agent_state"):
        events.append({"type": "agent-state", "state": new["agent_state"]})
    if new.get("locked"):
        if not old.get("locked"):
            events.append({"type": "locked"})
        return events
    if old.get("locked"):
        events.append({"type": "unlocked"})
        old = {}
    task = new.get("task_id")
    if task != old.get("task_id"):
        events.append({"type": "task-opened", "task_id": task} if task else {"type": "task-closed"})
        old = {"task_id": task}
    if task is None:
        return events
    if new.get("identity_verified") != old.get("identity_verified", False):
        events.append({"type": "identity-verified", "verified": new["identity_verified"]})
    step = (new.get("step", 0), new.get("branch"), new.get("voicemail", False))
    if step != (old.get("step", 0), old.get("branch"), old.get("voicemail", False)):
        events.append(
            {"type": "script-step", "step": step[0], "branch": step[1], "voicemail": step[2]}
        )
    if new.get("outcome") != old.get("outcome"):
        events.append({"type": "outcome", "code": new.get("outcome")})
    form: dict[str, Any] = {}
    if new.get("notes", "") != old.get("notes", ""):
        form["notes"] = new.get("notes", "")[:4000]
    if new.get("channel") and new.get("channel") != old.get("channel"):
        form["channel"] = new["channel"]
    if form:
        events.append({"type": "form", **form})
    if new.get("escalation") != old.get("escalation", False):
        events.append({"type": "escalation-picker", "open": bool(new.get("escalation"))})
    return events


class WhisperStrip(Static):
    """The oldest unread whisper, on its own line; hidden when there is none."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__("", **kwargs)
        self.whispers: list[WhisperOut] = []
        self.display = False

    def show_whispers(self, whispers: list[WhisperOut], key: str = "Ctrl+R") -> None:
        self.whispers = list(whispers)
        if not self.whispers:
            self.display = False
            self.update("")
            return
        first = self.whispers[0]
        more = f" (+{len(self.whispers) - 1} more)" if len(self.whispers) > 1 else ""
        # A trainer's coaching names the script step it is about (training runs).
        step = f" at step {escape(first.step)}" if first.step else ""
        self.update(
            f"[b]Whisper from {escape(first.from_display_name)}{step}:[/b] {escape(first.text)}"
            f"{more}   [dim]{escape(key)} acknowledges[/dim]"
        )
        self.display = True


class WorkspaceLive:
    """Mixin of the workspace screen: mirror publishing, whispers and observers.

    The host screen provides `services`, `context`, `verified`, `agent_state`,
    `script`, `form` and `status`, and calls `start_live()` from `on_mount`.
    """

    _mirror_sent: dict[str, Any]  # the view the server has (after the last accepted batch)
    _mirror_noted: dict[str, Any]  # the view the queued events lead to
    _mirror_pending: list[dict[str, Any]]
    _mirror_busy: bool
    _mirror_on: bool = False
    _mirror_gen: int = 0  # bumped when the queue is replaced (a batch in flight is stale)

    def supervision_api(self) -> SupervisionApi | None:
        sync = self.services.sync  # type: ignore[attr-defined]
        if sync is None:
            return None
        from backend_client.supervision import SupervisionApi

        return SupervisionApi(sync.client)

    def start_live(self) -> None:
        self._mirror_sent = {}
        self._mirror_noted = {}
        self._mirror_pending = []
        self._mirror_busy = False
        if self.supervision_api() is None:
            return
        self._mirror_on = True
        script = self.script  # type: ignore[attr-defined]
        for name in ("step", "branch", "voicemail"):
            self.watch(script, name, self._mirror_changed, init=False)  # type: ignore[attr-defined]
        self.set_interval(MIRROR_EVERY, self._mirror_tick, name="mirror")  # type: ignore[attr-defined]
        self.load_whispers()
        self.load_observers()

    def supervision_event(self, kind: str) -> None:
        if kind == "whisper":
            self.load_whispers()
        elif kind == "observed":
            self.load_observers()

    def _mirror_changed(self, *_: Any) -> None:
        self.mirror_note()

    def mirror_note(self) -> None:
        """Queue the events from the last noted view to the view now (cheap; no I/O)."""
        if not self._mirror_on:
            return
        view = mirror_view(self)
        events = diff_events(self._mirror_noted, view)
        if not events:
            return
        self._mirror_pending.extend(events)
        self._mirror_noted = view
        if len(self._mirror_pending) > MIRROR_PENDING_MAX:
            self._mirror_pending = diff_events(self._mirror_sent, view)
            self._mirror_gen += 1

    def _mirror_tick(self) -> None:
        self.mirror_note()
        if self._mirror_busy or not self._mirror_pending:
            return
        from followup_core.supervision import MAX_EVENTS_PER_BATCH

        batch = self._mirror_pending[:MAX_EVENTS_PER_BATCH]
        view = self._mirror_noted if len(batch) == len(self._mirror_pending) else None
        self._mirror_busy = True
        self.publish_mirror(batch, view)

    @work(group="mirror", exit_on_error=False)
    async def publish_mirror(
        self, events: list[dict[str, Any]], view: dict[str, Any] | None
    ) -> None:
        """Send one batch (the oldest queued events); accepted, they leave the queue."""
        from backend_client.errors import ApiError, Offline
        from followup_core.supervision import MirrorBatch

        api = self.supervision_api()
        gen = self._mirror_gen
        try:
            if api is not None:
                await api.publish(MirrorBatch.model_validate({"events": events}))
                if gen == self._mirror_gen:
                    del self._mirror_pending[: len(events)]
                    if view is not None:
                        self._mirror_sent = view
        except ValueError:  # an event the wire refuses: never sendable, drop it
            if gen == self._mirror_gen:
                del self._mirror_pending[: len(events)]
        except (ApiError, Offline):
            pass  # best effort: the queue stays and the next tick tries again
        finally:
            self._mirror_busy = False

    @work(exclusive=True, group="whispers", exit_on_error=False)
    async def load_whispers(self) -> None:
        from backend_client.errors import ApiError, Offline

        api = self.supervision_api()
        if api is None:
            return
        try:
            whispers = await api.whispers("unread")
        except (ApiError, Offline):
            return
        self.query_one(WhisperStrip).show_whispers(whispers, self._ack_key())  # type: ignore[attr-defined]

    def _ack_key(self) -> str:
        from assistant_tui import actions

        keymap = self.services.settings.keymap  # type: ignore[attr-defined]
        return actions.display_key(actions.key_for("workspace.whisper_ack", keymap))

    def action_acknowledge_whisper(self) -> None:
        strip = self.query_one(WhisperStrip)  # type: ignore[attr-defined]
        if strip.whispers:
            self.acknowledge_whisper(strip.whispers[0].id)

    @work(group="whisper-ack", exit_on_error=False)
    async def acknowledge_whisper(self, whisper_id: str) -> None:
        from backend_client.errors import ApiError, Offline

        api = self.supervision_api()
        if api is None:
            return
        try:
            await api.acknowledge_whisper(whisper_id)
        except (ApiError, Offline):
            return
        strip = self.query_one(WhisperStrip)  # type: ignore[attr-defined]
        strip.show_whispers([w for w in strip.whispers if w.id != whisper_id], self._ack_key())

    @work(exclusive=True, group="observers", exit_on_error=False)
    async def load_observers(self) -> None:
        from backend_client.errors import ApiError, Offline

        api = self.supervision_api()
        if api is None:
            return
        try:
            observed = await api.my_observers()
        except (ApiError, Offline):
            return
        names = [o.display_name for o in observed.observers] if observed.told else []
        self.status.observed_by = ", ".join(names)  # type: ignore[attr-defined]
