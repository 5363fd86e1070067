"""The work queue as a virtual list: only the visible rows are ever drawn.

At 100,000 tasks, building a widget (or even a Rich renderable) per row would
take seconds; `render_line` builds one `Strip` per visible line instead, so the
cost of a repaint is the height of the pane, not the length of the queue.
"""

from __future__ import annotations

import bisect
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from typing import TYPE_CHECKING

from rich.segment import Segment
from rich.style import Style
from textual.geometry import Size
from textual.message import Message
from textual.reactive import reactive
from textual.scroll_view import ScrollView
from textual.strip import Strip

from assistant_tui import actions
from assistant_tui.cells import fit
from assistant_tui.timefmt import countdown, short
from assistant_tui.widgets.queue.rows import WORKFLOW_SHORT, matches, search_text, urgency
from followup_core.enums import Priority

# Annotations only: importing local_cache pulls in SQLAlchemy.
if TYPE_CHECKING:
    from local_cache.views import QueueRow


RANK = {priority: rank for rank, priority in enumerate(Priority)}


def sort_key(row: QueueRow) -> tuple[int, datetime, str]:
    """The queue's order: most urgent priority, then earliest due, then task id."""
    return (RANK[row.priority], row.due_at, row.task_id)


# Column widths in terminal cells. SLA fits its widest value ("-12d02h"; from 100
# days on countdown drops the hours: "-123d"), NEXT fits "Sat 09:00".
PRIO_W, SLA_W, WORKFLOW_W, TRY_W, NEXT_W = 7, 7, 11, 3, 9
PATIENT_MIN, PATIENT_DEFAULT, PATIENT_MAX = 8, 16, 32
# Every cell of a row but the patient column: mark(2) + the columns + the spaces
# between them + the pending flag(1).
FIXED_W = 2 + PRIO_W + SLA_W + WORKFLOW_W + TRY_W + NEXT_W + 6 + 1


def patient_width(total: int) -> int:
    """Cells for the patient column in a row `total` cells wide (between
    PATIENT_MIN and PATIENT_MAX): the column that grows and shrinks with the pane."""
    return max(PATIENT_MIN, min(PATIENT_MAX, total - FIXED_W))


def header(patient_w: int = PATIENT_DEFAULT) -> str:
    """The column titles, aligned with `format_row(..., patient_w=patient_w)`."""
    return " ".join(
        (
            fit("", 2),
            fit("PRIO", PRIO_W),
            fit("SLA", SLA_W, "right"),
            fit("WORKFLOW", WORKFLOW_W),
            fit("PATIENT", patient_w),
            fit("TRY", TRY_W, "right"),
            fit("NEXT", NEXT_W, "right"),
        )
    )


HEADER = header()


def format_row(
    row: QueueRow,
    flag: str,
    now: datetime,
    tz: str,
    held: bool = False,
    patient_w: int = PATIENT_DEFAULT,
) -> str:
    """One queue line, every column measured in terminal cells (assistant_tui.cells):
    a CJK or emoji name takes its real width and a long one ends in "…", so the
    columns after it stay put. `patient_w` is the patient column's width in cells."""
    mark = {"overdue": "!!", "due-soon": "! "}.get(flag, "  ")
    pending = "⚑" if held else "↑" if row.pending else " "
    return (
        " ".join(
            (
                mark,
                fit(row.priority.value, PRIO_W),
                fit(countdown(row.due_at, now), SLA_W, "right"),
                fit(WORKFLOW_SHORT.get(row.workflow, row.workflow.value), WORKFLOW_W),
                fit(row.patient_label, patient_w),
                fit(str(row.attempts), TRY_W, "right"),
                fit(short(row.next_attempt_at, tz, now), NEXT_W, "right"),
            )
        )
        + pending
    )


class QueueList(ScrollView, can_focus=True):
    """Rows of the queue; Enter opens the highlighted task."""

    BINDINGS = actions.bindings("queue")
    COMPONENT_CLASSES = {
        "queue--cursor",
        "queue--overdue",
        "queue--due-soon",
        "queue--open",
    }

    cursor: reactive[int] = reactive(0, always_update=True)

    class Opened(Message):
        """The user chose a task to work."""

        def __init__(self, queue: QueueList, task_id: str) -> None:
            super().__init__()
            self.queue = queue
            self.task_id = task_id

        @property
        def control(self) -> QueueList:
            return self.queue

    class FilterRequested(Message):
        pass

    class ColumnsChanged(Message):
        """The patient column's width (cells) changed with the list's; the header follows."""

        def __init__(self, patient_w: int) -> None:
            super().__init__()
            self.patient_w = patient_w

    def __init__(
        self,
        clock: Callable[[], datetime],
        tz_for: Callable[[str], str],
        *,
        id: str | None = None,
    ) -> None:
        super().__init__(id=id)
        self._clock = clock
        self._tz_for = tz_for
        self._all: list[QueueRow] = []
        self._by_id: dict[str, QueueRow] = {}
        self._search: list[str] = []
        # Indexes into _all that pass the filter (a range when there is none).
        self._visible: Sequence[int] = range(0)
        self._filter: list[str] = []
        self.open_task_id: str | None = None
        # Escalated this session: on hold until the server's copy arrives.
        self.held: set[str] = set()
        self._patient_w = PATIENT_DEFAULT

    # --- data -------------------------------------------------------------

    def set_rows(self, rows: Sequence[QueueRow]) -> None:
        """Replace every row (a full read: first sync, resync, offline refresh)."""
        keep = self.highlighted_task_id
        self._all = list(rows)
        self._by_id = {row.task_id: row for row in self._all}
        self._search = []  # built on the first filter: most reloads are never filtered
        self._apply_filter(keep)

    def patch_row(self, task_id: str, row: QueueRow | None) -> QueueRow | None:
        """Put one task's new row in place (None: drop it); returns the row it replaced."""
        return self.patch_rows({task_id: row}).get(task_id)

    def patch_rows(self, changed: Mapping[str, QueueRow | None]) -> dict[str, QueueRow | None]:
        """Insert, update or remove rows in sort order; returns the rows they replaced.

        `changed` maps task ids to their new row, or None where the task left the
        queue. A row moves to where (priority rank, due, id) puts it, the order
        `LocalCache.queue()` reads; nothing else is re-read or re-sorted, so at
        100,000 tasks a patch costs two binary searches and a list shift per row.
        The cursor stays on the task it was on, or, if that task left, on the
        row that moved up into its place.
        """
        keep = self.highlighted_task_id
        position = self.cursor
        replaced: dict[str, QueueRow | None] = {}
        for task_id, row in changed.items():
            old = self._by_id.pop(task_id, None)
            replaced[task_id] = old
            if old is not None:
                index = self._index_of(old)
                del self._all[index]
                if self._search:
                    del self._search[index]
            if row is not None:
                index = bisect.bisect_left(self._all, sort_key(row), key=sort_key)
                self._all.insert(index, row)
                self._by_id[task_id] = row
                if self._search:
                    self._search.insert(index, search_text(row))
        if keep is not None and keep not in self._by_id:
            self._apply_filter(None)
            self.cursor = position
        else:
            self._apply_filter(keep)
        return replaced

    def _index_of(self, row: QueueRow) -> int:
        """Where `row` (an object in the list) is: a binary search on its sort key."""
        index = bisect.bisect_left(self._all, sort_key(row), key=sort_key)
        while self._all[index] is not row:
            index += 1
        return index

    def set_filter(self, text: str) -> None:
        self._filter = text.lower().split()
        self._apply_filter(self.highlighted_task_id)

    @property
    def filter_text(self) -> str:
        return " ".join(self._filter)

    def _apply_filter(self, keep: str | None) -> None:
        if self._filter:
            if len(self._search) != len(self._all):
                self._search = [search_text(row) for row in self._all]
            now = self._clock()
            self._visible = [
                i
                for i, text in enumerate(self._search)
                if matches(self._filter, text, urgency(self._all[i], now))
            ]
        else:
            self._visible = range(len(self._all))
        self._set_virtual_height(len(self._visible))
        position = self._position_of(keep) if keep else None
        self.cursor = position if position is not None else 0
        self.refresh()

    def _position_of(self, task_id: str) -> int | None:
        row = self._by_id.get(task_id)
        if row is None:
            return None
        if isinstance(self._visible, range):
            return self._index_of(row)
        for position, index in enumerate(self._visible):
            if self._all[index].task_id == task_id:
                return position
        return None

    @property
    def rows(self) -> list[QueueRow]:
        """The rows that pass the filter, in queue order."""
        return [self._all[i] for i in self._visible]

    @property
    def total(self) -> int:
        return len(self._all)

    @property
    def shown(self) -> int:
        return len(self._visible)

    @property
    def highlighted_task_id(self) -> str | None:
        if 0 <= self.cursor < len(self._visible):
            return self._all[self._visible[self.cursor]].task_id
        return None

    def has(self, task_id: str) -> bool:
        """Whether the task is in the queue (filtered or not); O(1)."""
        return task_id in self._by_id

    def task_at(self, position: int) -> str | None:
        """The task id at a position of the filtered list (None past its end)."""
        if 0 <= position < len(self._visible):
            return self._all[self._visible[position]].task_id
        return None

    def next_after(self, task_id: str) -> str | None:
        """The task to open after `task_id` is documented (the next one down, else the top)."""
        # A scan from the top that stops at the task, not a list of 100,000 ids:
        # this runs on every save.
        position = self._position_of(task_id)
        if position is not None and position + 1 < len(self._visible):
            return self._all[self._visible[position + 1]].task_id
        for index in self._visible:
            if self._all[index].task_id != task_id:
                return self._all[index].task_id
        return None

    def select(self, task_id: str) -> None:
        position = self._position_of(task_id)
        if position is not None:
            self.cursor = position

    # --- cursor -----------------------------------------------------------

    def validate_cursor(self, cursor: int) -> int:
        return max(0, min(cursor, len(self._visible) - 1)) if self._visible else 0

    def watch_cursor(self, cursor: int) -> None:
        height = max(1, self.scrollable_content_region.height)
        top = int(self.scroll_y)
        if cursor < top:
            self.scroll_to(y=cursor, animate=False, immediate=True)
        elif cursor >= top + height:
            self.scroll_to(y=cursor - height + 1, animate=False, immediate=True)
        self.refresh()

    def action_cursor_down(self) -> None:
        self.cursor += 1

    def action_cursor_up(self) -> None:
        self.cursor -= 1

    def action_page_down(self) -> None:
        self.cursor += max(1, self.scrollable_content_region.height - 1)

    def action_page_up(self) -> None:
        self.cursor -= max(1, self.scrollable_content_region.height - 1)

    def action_first(self) -> None:
        self.cursor = 0

    def action_last(self) -> None:
        self.cursor = len(self._visible) - 1

    def action_open(self) -> None:
        task_id = self.highlighted_task_id
        if task_id is not None:
            self.post_message(self.Opened(self, task_id))

    def action_filter(self) -> None:
        self.post_message(self.FilterRequested())

    # --- drawing ----------------------------------------------------------

    def render_line(self, y: int) -> Strip:
        scroll_x, scroll_y = self.scroll_offset
        position = y + scroll_y
        width = self.scrollable_content_region.width
        if position >= len(self._visible):
            return Strip.blank(width, self.rich_style)
        row = self._all[self._visible[position]]
        now = self._clock()
        flag = urgency(row, now)
        text = format_row(
            row,
            flag,
            now,
            self._tz_for(row.practice_id),
            row.task_id in self.held,
            patient_width(width),
        )
        style: Style = self.rich_style
        if flag:
            style += self.get_component_rich_style(f"queue--{flag}")
        if row.task_id == self.open_task_id:
            style += self.get_component_rich_style("queue--open")
        if position == self.cursor:
            style += self.get_component_rich_style("queue--cursor")
        strip = Strip([Segment(fit(text, width), style)])
        return strip.crop(scroll_x, scroll_x + width)

    def on_resize(self) -> None:
        self._set_virtual_height(len(self._visible))
        width = patient_width(self.scrollable_content_region.width)
        if width != self._patient_w:
            self._patient_w = width
            self.post_message(self.ColumnsChanged(width))

    def _set_virtual_height(self, rows: int) -> None:
        """Set the scrollable height without a layout pass of the whole screen.

        `virtual_size` is a layout reactive: each change re-lays-out and redraws
        every widget on the screen (~100 ms with the workspace's panes on a
        loaded machine), yet the list's own box does not depend on it. So the
        value is set quietly and only the scrollbar is updated; a full layout
        happens only when the scrollbar appears or goes, which changes the box.
        """
        size = Size(self.size.width, rows)
        if size == self.virtual_size:
            return
        had_scrollbar = self.show_vertical_scrollbar
        self.set_reactive(QueueList.virtual_size, size)
        self._scroll_update(size)
        if self.show_vertical_scrollbar != had_scrollbar:
            self.refresh(layout=True)
        else:
            self.refresh()
