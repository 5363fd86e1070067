"""One line of truth: connection, outbox, attention, agent state, SLA, the clock."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING

from rich.markup import escape
from textual.reactive import reactive
from textual.widgets import Static

from assistant_tui import actions
from assistant_tui.timefmt import clock as show_clock
from assistant_tui.timefmt import local
from followup_core.enums import AgentState

# Annotations only: importing local_cache pulls in SQLAlchemy.
if TYPE_CHECKING:
    from local_cache.views import SyncStatus


class StatusBar(Static):
    online: reactive[bool] = reactive(False)
    live: reactive[bool] = reactive(False)  # the server's event stream is connected
    outbox: reactive[int] = reactive(0)
    attention: reactive[int] = reactive(0)
    agent_state: reactive[AgentState] = reactive(AgentState.AVAILABLE)
    breaches: reactive[int] = reactive(0)
    undelivered_escalations: reactive[int] = reactive(0)
    practice_tz: reactive[str] = reactive("UTC")
    observed_by: reactive[str] = reactive("")  # who shadows us, when the practice tells

    def __init__(self, clock: Callable[[], datetime], **kwargs: str) -> None:
        super().__init__("", **kwargs)  # type: ignore[arg-type]
        self._clock = clock

    def on_mount(self) -> None:
        self._draw()

    def apply_sync(self, status: SyncStatus) -> None:
        self.online = status.online
        self.live = status.live
        self.outbox = status.outbox_depth
        self.attention = status.needs_attention

    def tick(self) -> None:
        self._draw()

    def on_resize(self) -> None:
        self._draw()

    def _watch_any(self) -> None:
        self._draw()

    watch_online = watch_live = watch_outbox = watch_attention = _watch_any
    watch_agent_state = watch_breaches = watch_practice_tz = _watch_any
    watch_undelivered_escalations = watch_observed_by = _watch_any

    def _attention_key(self) -> str:
        settings = getattr(self.app, "settings", None)
        keymap = getattr(settings, "keymap", None) or {}
        return actions.key_for("workspace.attention", keymap)

    def _draw(self) -> None:
        if not self.is_mounted:
            return
        if not self.online:
            link = "[b reverse] ○ OFFLINE [/]"
        else:
            link = "[b]● live[/b]" if self.live else "[b]● online[/b]"
        # Under 110 columns (most terminals' 80): tighter separators, the time without
        # the date, the state without its label, so every figure still fits.
        narrow = 0 < self.size.width < 110
        parts = [
            link,
            f"outbox {self.outbox}",
            f"attention {self.attention}"
            if not self.attention
            else f"[b]attention {self.attention}[/b] ({escape(self._attention_key())})",
            f"[b]{self.agent_state.value}[/b]"
            if narrow
            else f"state [b]{self.agent_state.value}[/b]",
            f"SLA breaches {self.breaches}"
            if not self.breaches
            else f"[b]SLA breaches {self.breaches}[/b]",
        ]
        if self.undelivered_escalations:
            parts.append(
                f"[b reverse] {self.undelivered_escalations} escalation(s) undelivered [/]"
            )
        if self.observed_by:
            parts.append(f"[b]observed by {escape(self.observed_by)}[/b]")
        now = self._clock()
        parts.append(
            local(now, self.practice_tz).strftime("%H:%M %Z")
            if narrow
            else show_clock(now, self.practice_tz)
        )
        # One line, height fixed in app.tcss: no layout pass.
        self.update((" │ " if narrow else "  │  ").join(parts), layout=False)
        self.set_class(not self.online, "offline")
        self.set_class(self.breaches > 0, "breach")
