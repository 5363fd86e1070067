"""The assistant's workspace: one App, one screen of four panes, all on the keyboard.

Every cache call runs in a thread worker and comes back as a Message, so the
UI thread never waits on disk or network; the sync engine runs as an asyncio
worker and its status arrives through `subscribe`.
"""

from __future__ import annotations

import gc
import time
import uuid
from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING, Any, ClassVar

from textual import events, on, work
from textual.app import App
from textual.binding import Binding

from assistant_tui import keymap
from assistant_tui.cache_workers import CacheWorkers
from assistant_tui.commands import WorkspaceCommands
from assistant_tui.config import TuiSettings, load_settings_or_defaults
from assistant_tui.messages import (
    AttemptRecorded,
    CacheFailed,
    ContextLoaded,
    EscalationRecorded,
    PassphraseChecked,
    QueueLoaded,
    SyncStatusChanged,
    UndeliveredEscalations,
)
from assistant_tui.screens.escalation import EscalationChoice, EscalationScreen, describe
from assistant_tui.screens.help import HelpScreen
from assistant_tui.screens.lock import LockScreen
from assistant_tui.screens.workspace import WorkspaceScreen
from assistant_tui.timefmt import utcnow
from followup_core.enums import AgentState, EscalationRoute
from followup_core.schemas import EscalationIn, UserOut

if TYPE_CHECKING:
    from textual.timer import Timer

    from local_cache import LocalCache, SyncEngine
    from local_cache.views import SyncStatus

WORKSPACE_ONLY = frozenset({"escalate", "toggle_identity", "help"})
# Offline, the whole queue is re-read this long after the last save (see
# `_attempt_recorded`): long enough that a run of saves never waits on a reload.
RELOAD_AFTER_SAVE_SECONDS = 10.0
AGENT_STATES = [AgentState.AVAILABLE, AgentState.ON_CALL, AgentState.WRAP_UP, AgentState.BREAK]


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


class AssistantApp(CacheWorkers):
    CSS_PATH = "app.tcss"
    TITLE = "assistant-tui"
    BINDINGS: ClassVar[list[Binding]] = keymap.APP  # type: ignore[assignment]
    COMMANDS = App.COMMANDS | {WorkspaceCommands}

    def __init__(
        self,
        cache: LocalCache,
        *,
        sync: SyncEngine | None = None,
        user: UserOut | None = None,
        settings: TuiSettings | None = None,
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        super().__init__()
        self.cache = cache
        self.sync = sync
        self.user = user
        self._settings_problem: str | None = None
        if settings is None:
            settings, self._settings_problem = load_settings_or_defaults()
        self.settings = settings
        # Injectable so snapshots and tests see one fixed "now".
        self.clock: Callable[[], datetime] = clock or utcnow
        self.agent_state = AgentState.AVAILABLE
        self.locked = False
        self._last_input = time.monotonic()
        self._tz: dict[str, str] = {}
        self._undelivered: set[str] = set()
        self._sync_status: SyncStatus | None = None
        self._reload_timer: Timer | None = None
        self.workspace = WorkspaceScreen(self.clock, self.tz_for)
        if user is not None:
            self.workspace.assistant_name = user.display_name.split()[0]

    # --- start-up -----------------------------------------------------------

    async def on_mount(self) -> None:
        if self.settings.theme in self.available_themes:
            self.theme = self.settings.theme
        self.set_keymap(self.settings.keymap)
        unknown = keymap.unknown_ids(self.settings.keymap)
        if unknown:
            self.notify(
                "Unknown key binding ids in the config (ignored): " + ", ".join(unknown),
                severity="warning",
                timeout=10,
            )
        if self._settings_problem:
            self.notify(self._settings_problem, severity="error", timeout=15)
        # Wait for the workspace's panes to exist: the queue worker may answer first.
        await self.push_screen(self.workspace)
        self.load_queue()
        self.set_interval(15, self._check_idle, name="idle-lock")
        self.set_interval(30, self._tick, name="clock")
        if self.sync is not None:
            self.sync.subscribe(self._on_sync_status)
            # Supervisors see the team live: say we are here as the workspace opens.
            self.record_presence(self.agent_state)
            self.run_sync_engine()

    def tz_for(self, practice_id: str) -> str:
        return self._tz.get(practice_id, "UTC")

    @work(exclusive=True, group="sync", exit_on_error=False)
    async def run_sync_engine(self) -> None:
        assert self.sync is not None
        await self.sync.run()

    def _on_sync_status(self, status: SyncStatus) -> None:
        self.post_message(SyncStatusChanged(status))

    # --- results ------------------------------------------------------------

    @on(QueueLoaded)
    def _queue_loaded(self, message: QueueLoaded) -> None:
        self.workspace.apply_queue(message.rows)
        # After the frame that shows the rows: the collection is not free.
        self.call_after_refresh(shelve_from_gc)

    @on(ContextLoaded)
    def _context_loaded(self, message: ContextLoaded) -> None:
        self.workspace.apply_context(message.context)

    @on(AttemptRecorded)
    def _attempt_recorded(self, message: AttemptRecorded) -> None:
        self.notify(f"Saved: {message.outcome}", timeout=3)
        self.workspace.attempt_saved(message.task_id, message.row)
        if self.sync is not None:
            # The sync round reloads the queue if the feed changed anything.
            self.sync.kick()
        else:
            # Offline nothing else writes the cache: refresh the outbox count now
            # and the whole queue once saving pauses (restarted by each save).
            self.load_status(self.workspace.queue.total)
            if self._reload_timer is not None:
                self._reload_timer.stop()
            self._reload_timer = self.set_timer(
                RELOAD_AFTER_SAVE_SECONDS, self.load_queue, name="reload-after-save"
            )

    @on(EscalationRecorded)
    def _escalation_recorded(self, message: EscalationRecorded) -> None:
        self._undelivered.add(message.escalation_id)
        self.workspace.status.undelivered_escalations = len(self._undelivered)
        self.load_queue()
        if self.sync is not None:
            self.sync.kick()

    @on(CacheFailed)
    def _cache_failed(self, message: CacheFailed) -> None:
        self.notify(f"Problem {message.what}: {message.error}", severity="error", timeout=10)

    @on(SyncStatusChanged)
    def _sync_changed(self, message: SyncStatusChanged) -> None:
        previous = self._sync_status
        self._sync_status = message.status
        if self.sync is not None and (
            previous is None
            or previous.last_sync != message.status.last_sync
            or previous.tasks != message.status.tasks
        ):
            # The feed brought changes: show them (the read runs in a worker).
            self.load_queue()
        self.workspace.status.apply_sync(message.status)
        if self._undelivered:
            # Asked of the cache, not inferred from the status: a status published
            # by a round that began before the escalation would say "0" too early.
            self.count_undelivered(frozenset(self._undelivered))

    @on(UndeliveredEscalations)
    def _undelivered_counted(self, message: UndeliveredEscalations) -> None:
        # Only what was known when the check began can have been delivered since.
        self._undelivered -= message.known - message.waiting
        self.workspace.status.undelivered_escalations = len(self._undelivered)

    @on(PassphraseChecked)
    def _passphrase_checked(self, message: PassphraseChecked) -> None:
        if not isinstance(self.screen, LockScreen):
            return
        if message.ok:
            self.locked = False
            self._last_input = time.monotonic()
            self.pop_screen()
        else:
            self.screen.wrong()

    # --- idle lock ------------------------------------------------------------

    async def on_event(self, event: events.Event) -> None:
        if isinstance(event, events.Key | events.MouseDown):
            self._last_input = time.monotonic()
        await super().on_event(event)

    def _check_idle(self, now: float | None = None) -> None:
        idle = (now if now is not None else time.monotonic()) - self._last_input
        if not self.locked and idle >= self.settings.idle_lock_minutes * 60:
            self.lock("Locked after inactivity.")

    def lock(self, reason: str) -> None:
        if self.locked:
            return
        self.locked = True
        # Modals (escalation, help) would sit under the lock; close them first.
        while len(self.screen_stack) > 1 and self.screen is not self.workspace:
            self.pop_screen()
        self.push_screen(LockScreen(reason))

    def _tick(self) -> None:
        if self.workspace.is_mounted:
            self.workspace.status.tick()
            self.workspace.queue.refresh()

    # --- actions ----------------------------------------------------------------

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        # While locked nothing but the passphrase field works.
        if self.locked:
            return action == "quit"
        # Workspace actions give way to a modal's own use of the same key
        # (False lets Textual try the next binding for it).
        if action in WORKSPACE_ONLY:
            return self.screen is self.workspace
        return True

    def action_command_palette(self) -> None:
        if not self.locked:
            super().action_command_palette()

    def action_lock(self) -> None:
        self.lock("Locked.")

    def action_help(self) -> None:
        if self.screen is self.workspace:
            self.push_screen(HelpScreen(self.workspace.focused_area(), self.settings.keymap))

    def action_toggle_identity(self) -> None:
        if self.screen is self.workspace:
            self.workspace.toggle_identity()

    def action_cycle_agent_state(self) -> None:
        index = AGENT_STATES.index(self.agent_state) if self.agent_state in AGENT_STATES else -1
        self.set_agent_state(AGENT_STATES[(index + 1) % len(AGENT_STATES)])

    def set_agent_state(self, state: AgentState) -> None:
        self.agent_state = state
        self.workspace.status.agent_state = state
        self.record_presence(state)

    def action_set_state(self, state: str) -> None:
        self.set_agent_state(AgentState(state))

    def action_sync_now(self) -> None:
        if self.sync is not None:
            self.sync.kick()
        self.load_queue()

    def action_escalate(self) -> None:
        context = self.workspace.context
        if self.screen is not self.workspace:
            return
        if context is None:
            self.notify("Open a task to escalate it.", severity="warning")
            return
        from followup_core.workflows import WORKFLOWS

        routes = list(WORKFLOWS[context.task.workflow].escalation_routes)
        routes += [r for r in EscalationRoute if r not in routes]

        def chosen(choice: EscalationChoice | None) -> None:
            if choice is not None:
                self.escalate(choice)

        self.push_screen(EscalationScreen(context.practice, routes), chosen)

    def escalate(self, choice: EscalationChoice) -> None:
        context = self.workspace.context
        assert context is not None
        escalation = EscalationIn(
            id=uuid.uuid4(), task_id=context.task.id, route=choice.route, reason=choice.reason
        )
        self.workspace.queue.held.add(context.task.id)
        instruction = (
            context.practice.emergency_instruction
            if choice.route is EscalationRoute.URGENT_SYMPTOM
            else None
        )
        self.workspace.banner_escalation(choice.route.value, describe(choice.contact), instruction)
        self.record_escalation(escalation)

    # --- for tests and the palette ------------------------------------------------

    @property
    def settings_keymap(self) -> dict[str, str]:
        return self.settings.keymap

    @property
    def sync_status(self) -> SyncStatus | None:
        return self._sync_status

    def binding_key(self, binding_id: str) -> str:
        """The key a binding is on now, for on-screen hints."""
        return keymap.key_for(binding_id, self.settings.keymap)

    def describe_state(self) -> dict[str, Any]:
        return {"locked": self.locked, "agent_state": self.agent_state.value}
