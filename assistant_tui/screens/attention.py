"""Needs attention: the work the server refused, with what it said; send again or drop.

An outbox entry the server answered with a 4xx that sending again cannot fix
(409, 412, 422…) is set aside by the sync engine (`LocalCache.mark_attention`)
with the server's reply. Here the assistant reads each one — what was sent and
what the server said — and either sends it again once the cause is fixed
(`LocalCache.retry_attention`) or drops it (`LocalCache.drop_attention`: deleted,
never sent).
Dropping takes a second press of the key: it cannot be undone.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING, Any

from rich.markup import escape
from textual import on, work
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import OptionList, Static
from textual.widgets.option_list import Option

from assistant_tui import actions
from assistant_tui.timefmt import clock

if TYPE_CHECKING:
    from local_cache import LocalCache
    from local_cache.views import NeedsAttention


def server_said(item: NeedsAttention) -> str:
    """The server's own words: 'HTTP 409 lease-held: Sam Lee is working this task…'."""
    error = item.reply.get("error") if isinstance(item.reply, dict) else None
    if isinstance(error, dict):
        code = error.get("code") or "error"
        message = error.get("message") or ""
        return f"HTTP {item.status_code} {code}: {message}".rstrip(": ")
    return f"HTTP {item.status_code}"


def what_was_sent(kind: str, body: str | None) -> str:
    """One line per field that matters of an outbox body, by kind (no ids)."""
    try:
        data: dict[str, Any] = json.loads(body) if body else {}
    except ValueError:
        return "(unreadable)"
    fields = {
        "attempt": ("outcome", "channel", "next_step", "notes"),
        "escalation": ("route", "reason"),
        "presence": ("state",),
        "claim": ("task_id",),
    }.get(kind, tuple(data))
    lines = []
    for name in fields:
        value = data.get(name)
        if value in (None, "", {}):
            continue
        if isinstance(value, dict):
            value = ", ".join(f"{k} {v}" for k, v in value.items())
        lines.append(f"{name.replace('_', ' ')}: {value}")
    return "\n".join(lines) or "(nothing)"


class AttentionScreen(ModalScreen[bool]):
    """The needs-attention list; dismisses with True if anything was sent again or dropped."""

    BINDINGS = actions.bindings("attention")
    AUTO_FOCUS = "#attention-list"

    def __init__(self, cache: LocalCache, tz: str, on_resend: Callable[[], None]) -> None:
        super().__init__()
        self.cache = cache
        self.tz = tz
        self._on_resend = on_resend  # e.g. kick the sync engine
        self.items: list[NeedsAttention] = []
        self.bodies: dict[str, str | None] = {}
        self.changed = False
        self._drop_armed: str | None = None

    def compose(self) -> ComposeResult:
        with Vertical(id="attention-dialog"):
            yield Static("[b]Needs attention[/b]", id="attention-title")
            yield OptionList(id="attention-list")
            yield Static("", id="attention-detail")
            yield Static(
                f"{escape(self._key('attention.resend'))} send again · "
                f"{escape(self._key('attention.drop'))} drop (twice) · "
                f"{escape(self._key('attention.close'))} close",
                id="attention-hint",
            )

    def _key(self, action_id: str) -> str:
        keymap = getattr(self.app, "settings", None)
        return actions.key_for(action_id, getattr(keymap, "keymap", {}) or {})

    def on_mount(self) -> None:
        self.load()

    # --- data -------------------------------------------------------------

    @work(exclusive=True, group="attention", exit_on_error=False)
    async def load(self) -> None:
        items, bodies = await asyncio.gather(
            asyncio.to_thread(self.cache.needs_attention),
            asyncio.to_thread(self.cache.attention_bodies),
        )
        self.items, self.bodies = items, bodies
        listing = self.query_one(OptionList)
        highlighted = listing.highlighted
        listing.clear_options()
        listing.add_options([Option(escape(self._label(item)), id=item.entry_id) for item in items])
        if items:
            listing.highlighted = min(highlighted or 0, len(items) - 1)
        self.query_one("#attention-title", Static).update(
            f"[b]Needs attention[/b] ({len(items)})"
            if items
            else "[b]Needs attention[/b]: nothing — every change was accepted"
        )
        self._show_detail()

    def _label(self, item: NeedsAttention) -> str:
        when = clock(item.created_at, self.tz) if isinstance(item.created_at, datetime) else ""
        task = f" · task {item.task_id}" if item.task_id else ""
        return f"{when} · {item.kind}{task} · {server_said(item)}"

    @property
    def current(self) -> NeedsAttention | None:
        index = self.query_one(OptionList).highlighted
        if index is None or not 0 <= index < len(self.items):
            return None
        return self.items[index]

    @on(OptionList.OptionHighlighted)
    def _highlighted(self) -> None:
        self._drop_armed = None
        self._show_detail()

    def _show_detail(self, note: str = "") -> None:
        item = self.current
        detail = self.query_one("#attention-detail", Static)
        if item is None:
            detail.update(escape(note))
            return
        sent = what_was_sent(item.kind, self.bodies.get(item.entry_id))
        text = (
            f"[b]The server said[/b]\n{escape(server_said(item))}\n\n"
            f"[b]What was sent[/b] ({escape(item.kind)})\n{escape(sent)}"
        )
        if note:
            text += f"\n\n[b]{escape(note)}[/b]"
        detail.update(text)

    # --- actions ----------------------------------------------------------

    def action_resend(self) -> None:
        item = self.current
        if item is not None:
            self._resend(item.entry_id)

    @work(exclusive=True, group="attention-change", exit_on_error=False)
    async def _resend(self, entry_id: str) -> None:
        await asyncio.to_thread(self.cache.retry_attention, entry_id)
        self.changed = True
        self._on_resend()
        self.notify("Queued to send again.", timeout=3)
        self.load()

    def action_drop(self) -> None:
        item = self.current
        if item is None:
            return
        if self._drop_armed != item.entry_id:
            self._drop_armed = item.entry_id
            self._show_detail(f"Press {self._key('attention.drop')} again to drop it for good.")
            return
        self._drop_armed = None
        self._drop(item.entry_id)

    @work(exclusive=True, group="attention-change", exit_on_error=False)
    async def _drop(self, entry_id: str) -> None:
        await asyncio.to_thread(self.cache.drop_attention, entry_id)
        self.changed = True
        self.notify("Dropped: it will not be sent.", timeout=3)
        self.load()

    def action_close(self) -> None:
        self.dismiss(self.changed)
