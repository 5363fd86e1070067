"""The queue pane: a header, the virtual list and a `/` filter line."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from typing import TYPE_CHECKING

from textual import on
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import Input, Static

from assistant_tui.widgets.queue.queue_list import HEADER, QueueList, header

# Annotations only: importing local_cache pulls in SQLAlchemy.
if TYPE_CHECKING:
    from local_cache.views import QueueRow


class QueuePane(Vertical):
    """Owns the filter; the list reports opened tasks to the screen."""

    BORDER_TITLE = "Queue"

    def __init__(
        self, clock: Callable[[], datetime], tz_for: Callable[[str], str], **kwargs: str
    ) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self._clock = clock
        self._tz_for = tz_for

    def compose(self) -> ComposeResult:
        yield Static(HEADER, id="queue-header")
        yield QueueList(self._clock, self._tz_for, id="queue-list")
        yield Input(placeholder="filter: words, 'overdue', 'stat'…", id="queue-filter")
        yield Static("", id="queue-count")

    @property
    def queue_list(self) -> QueueList:
        return self.query_one(QueueList)

    def set_rows(self, rows: list[QueueRow]) -> None:
        self.queue_list.set_rows(rows)
        self._update_count()

    def patch_row(self, task_id: str, row: QueueRow | None) -> QueueRow | None:
        old = self.queue_list.patch_row(task_id, row)
        self._update_count()
        return old

    def patch_rows(self, rows: Mapping[str, QueueRow | None]) -> dict[str, QueueRow | None]:
        """Insert, update or remove these tasks' rows in sort order (see QueueList)."""
        replaced = self.queue_list.patch_rows(rows)
        self._update_count()
        return replaced

    def _update_count(self) -> None:
        queue = self.queue_list
        text = f"{queue.shown} of {queue.total} open"
        if queue.filter_text:
            text += f" · filter: {queue.filter_text}"
        # One line of fixed height: no layout pass of the whole screen for it.
        self.query_one("#queue-count", Static).update(text, layout=False)
        self.border_subtitle = f"{queue.total} open"

    @on(QueueList.ColumnsChanged)
    def _columns_changed(self, event: QueueList.ColumnsChanged) -> None:
        self.query_one("#queue-header", Static).update(header(event.patient_w))

    @on(QueueList.FilterRequested)
    def _show_filter(self) -> None:
        field = self.query_one("#queue-filter", Input)
        field.add_class("shown")
        field.focus()

    @on(Input.Changed, "#queue-filter")
    def _filter_changed(self, event: Input.Changed) -> None:
        self.queue_list.set_filter(event.value)
        self._update_count()

    @on(Input.Submitted, "#queue-filter")
    def _filter_done(self, event: Input.Submitted) -> None:
        event.stop()
        if not event.value.strip():
            event.input.remove_class("shown")
        self.queue_list.focus()
