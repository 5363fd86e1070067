"""The App shell: start, lock, route modes, hold the shared services. Nothing else.

Each role's view is a Textual mode (`modes/`), chosen from the signed-in user's
role; each mode's screen owns its workers and messages. The shell runs the sync
engine and turns its callbacks (status, feed changes, live events), which may
arrive on the engine's loop or another thread, into messages for the modes with
`post_message` (thread-safe). Locking covers whichever mode is showing.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING, ClassVar

from textual import events, on, work
from textual.app import App
from textual.binding import BindingType
from textual.message import Message
from textual.screen import ModalScreen, Screen

from assistant_tui import actions
from assistant_tui.commands import ActionCommands
from assistant_tui.config import TuiSettings, load_settings_or_defaults
from assistant_tui.messages import (
    CacheFailed,
    FeedChanged,
    LiveNudge,
    PassphraseChecked,
    RefreshRequested,
    SyncStatusChanged,
)
from assistant_tui.modes import MODE_TITLES, build_mode, modes_for
from assistant_tui.modes.base import ModeScreen
from assistant_tui.screens.help import HelpScreen
from assistant_tui.screens.lock import LockScreen
from assistant_tui.services import Services
from assistant_tui.timefmt import utcnow
from followup_core.enums import AgentState

if TYPE_CHECKING:
    from assistant_tui.modes.workspace import WorkspaceScreen
    from followup_core.schemas import UserOut
    from local_cache import LocalCache, SyncEngine
    from local_cache.changes import FeedApplied, LiveEvent
    from local_cache.views import SyncStatus

log = logging.getLogger(__name__)

# How long quitting waits for the offline presence (and the rest of the outbox) to go.
OFFLINE_PUSH_SECONDS = 3.0


class AssistantApp(App[None]):
    """One App for every role: the modes of `modes_for(user.role)`, the first one shown.

    `cache` is the open local cache; `sync` the engine (None when opened
    offline); `user` the signed-in user (None offline: the workspace only).
    """

    CSS_PATH = "app.tcss"
    TITLE = "assistant-tui"
    BINDINGS: ClassVar[list[BindingType]] = actions.bindings("app")
    COMMANDS = App.COMMANDS | {ActionCommands}

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
        self._settings_problem: str | None = None
        if settings is None:
            settings, self._settings_problem = load_settings_or_defaults()
        self.services = Services(cache, sync, user, settings, clock or utcnow)
        self.views: tuple[str, ...] = modes_for(self.services.role)
        # Built now (cheap: nothing is composed before the mode is shown) so
        # callers can hold a mode's screen before the App runs.
        self.mode_screens: dict[str, ModeScreen] = {
            name: build_mode(name, self.services) for name in self.views
        }
        self.locked = False
        self._last_input = time.monotonic()
        self._unsubscribe: list[Callable[[], None]] = []

    # --- shared services, for tests and the palette ------------------------------

    @property
    def cache(self) -> LocalCache:
        return self.services.cache

    @property
    def sync(self) -> SyncEngine | None:
        return self.services.sync

    @property
    def user(self) -> UserOut | None:
        return self.services.user

    @property
    def settings(self) -> TuiSettings:
        return self.services.settings

    @property
    def clock(self) -> Callable[[], datetime]:
        return self.services.clock

    @property
    def sync_status(self) -> SyncStatus | None:
        return self.services.status

    @property
    def workspace(self) -> WorkspaceScreen | None:
        """The workspace mode's screen, if this user has one."""
        return self.mode_screens.get("workspace")  # type: ignore[return-value]

    def binding_key(self, action_id: str) -> str:
        """The key an action is on now, for on-screen hints."""
        return actions.key_for(action_id, self.settings.keymap)

    # --- start-up -----------------------------------------------------------

    async def on_mount(self) -> None:
        if self.settings.theme in self.available_themes:
            self.theme = self.settings.theme
        self.set_keymap(self.settings.keymap)
        unknown = actions.unknown_ids(self.settings.keymap)
        if unknown:
            self.notify(
                "Unknown key binding ids in the config (ignored): " + ", ".join(unknown),
                severity="warning",
                timeout=10,
            )
        if self._settings_problem:
            self.notify(self._settings_problem, severity="error", timeout=15)
        for name, screen in self.mode_screens.items():
            self.add_mode(name, lambda screen=screen: screen)  # type: ignore[misc]
        self.switch_view(self.views[0])
        self.set_interval(15, self._check_idle, name="idle-lock")
        sync = self.sync
        if sync is not None:
            self._unsubscribe.append(sync.subscribe(self._on_sync_status))
            self._unsubscribe.append(sync.subscribe_changes(self._on_feed_applied))
            self._unsubscribe.append(sync.subscribe_events(self._on_live_event))
            self.run_sync_engine()

    async def on_unmount(self) -> None:
        for unsubscribe in self._unsubscribe:
            unsubscribe()

    @work(exclusive=True, group="sync", exit_on_error=False)
    async def run_sync_engine(self) -> None:
        assert self.sync is not None
        await self.sync.run()

    # Engine callbacks: possibly off the UI thread, so only post messages.

    def _on_sync_status(self, status: SyncStatus) -> None:
        self.post_message(SyncStatusChanged(status))

    def _on_feed_applied(self, change: FeedApplied) -> None:
        self._broadcast(FeedChanged(frozenset(change.task_ids), change.full))

    def _on_live_event(self, event: LiveEvent) -> None:
        self._broadcast(LiveNudge(event.kind, dict(event.data)))

    def _broadcast(self, message: Message) -> None:
        """Post a copy of `message` to every mode screen that is mounted.

        A mode not shown yet reads `services.status` and its data when it mounts.
        """
        for screen in self.mode_screens.values():
            if screen.is_mounted:
                screen.post_message(_copy(message))

    @on(SyncStatusChanged)
    def _sync_changed(self, message: SyncStatusChanged) -> None:
        self.services.status = message.status
        self._broadcast(message)

    @on(CacheFailed)
    def _cache_failed(self, message: CacheFailed) -> None:
        self.notify(f"Problem {message.what}: {message.error}", severity="error", timeout=10)

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
        """Cover whichever mode is showing with the lock screen; close its modals first."""
        if self.locked:
            return
        self.locked = True
        # Modals (escalation, help, palette) would sit under the lock; close them.
        while len(self.screen_stack) > 1:
            self.pop_screen()
        self.push_screen(LockScreen(reason))

    @on(LockScreen.Unlock)
    def _unlock(self, message: LockScreen.Unlock) -> None:
        self.check_passphrase(message.passphrase)

    @work(thread=True, exclusive=True, group="passphrase", exit_on_error=False)
    def check_passphrase(self, passphrase: str) -> None:
        self.post_message(PassphraseChecked(self.cache.verify_passphrase(passphrase)))

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

    # --- quitting ---------------------------------------------------------------

    async def action_quit(self) -> None:
        """Quit, first telling the team this assistant is offline."""
        await self.say_offline()
        self.exit()

    async def say_offline(self) -> None:
        """Presence "offline" for an assistant: queued in the cache, then one push of
        the outbox (so a save made just before quitting goes too), at most
        OFFLINE_PUSH_SECONDS. Unreachable, it stays queued; the next session's own
        presence replaces it. Never raises: quitting must always work."""
        if self.workspace is None:
            return
        try:
            await asyncio.to_thread(self.services.cache.set_presence, AgentState.OFFLINE)
            if self.sync is not None:
                await asyncio.wait_for(self.sync.push(), OFFLINE_PUSH_SECONDS)
        except Exception as error:  # the type only: quitting goes on
            log.warning("could not send offline presence: %s", type(error).__name__)

    # --- actions ----------------------------------------------------------------

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        # While locked nothing but the passphrase field works.
        if self.locked:
            return action == "quit"
        if action == "help" and _pushed_areas(self.screen):
            return True  # a drill-down pushed over a mode has help of its own
        if action in {"help", "next_view"} and not isinstance(self.screen, ModeScreen):
            # A modal is open: its own use of the key (help's F1 closes it) wins.
            return False
        if action == "next_view":
            # Hidden, not just dimmed, for a user with one view.
            return len(self.views) > 1
        return True

    def action_command_palette(self) -> None:
        if not self.locked:
            super().action_command_palette()

    def action_lock(self) -> None:
        self.lock("You locked the screen.")

    def action_help(self) -> None:
        """F1: the focused area's purpose and live keys.

        A mode screen says which of its areas has the focus; a screen pushed over a
        mode (the metrics drill-downs) names its areas in a class-level `AREAS`. A
        modal without `AREAS` shows its own keys already: F1 does nothing there.
        """
        screen = self.screen
        if isinstance(screen, ModeScreen):
            area = screen.help_area()
            own: tuple[str, ...] = screen.AREAS
        else:
            own = _pushed_areas(screen)
            if not own:
                return
            area = own[0]
        live = [(key, active.binding) for key, active in screen.active_bindings.items()]
        areas = [area, *(a for a in own if a != area), "app"]
        self.push_screen(HelpScreen(area, actions.help_rows(live, areas)))

    def action_sync_now(self) -> None:
        if self.sync is not None:
            self.sync.kick()
        else:
            self._broadcast(RefreshRequested())

    def action_next_view(self) -> None:
        if len(self.views) < 2:
            return
        index = self.views.index(self.current_mode) if self.current_mode in self.views else -1
        self.switch_view(self.views[(index + 1) % len(self.views)])

    def action_view(self, name: str) -> None:
        self.switch_view(name)

    def switch_view(self, name: str) -> None:
        """Show mode `name` (one of `views`); its screen keeps its state."""
        if name in self.views and not self.locked:
            self.switch_mode(name)
            self.sub_title = MODE_TITLES.get(name, name)


def _pushed_areas(screen: Screen[object]) -> tuple[str, ...]:
    """The help areas of a full screen pushed over a mode (its class's `AREAS`), else ().

    Mode screens answer through `ModeScreen`; modals (help itself included) have none.
    """
    if isinstance(screen, ModeScreen | ModalScreen):
        return ()
    areas = getattr(type(screen), "AREAS", ())
    return tuple(a for a in areas if isinstance(a, str))


def _copy(message: Message) -> Message:
    """A fresh message with the same fields: one instance cannot be posted twice."""
    fields = getattr(message, "__dataclass_fields__", {})
    return type(message)(**{name: getattr(message, name) for name in fields})
