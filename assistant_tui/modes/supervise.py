"""The supervisor's mode: the live team board, the queue board, and the way into
shadowing, whispers, reassignment, forced states and the escalation inbox.

The board shows ids, codes and counts only (no patient data); it is read from
`GET /v1/team` and `GET /v1/team/queues` and re-read ~0.2 s after any live event
that can move it (`team`, `escalation`, `whisper`, a feed change), with a timed
re-read as the fallback (5 s without the live stream, 30 s with it). Colours
follow the practice's time-in-state thresholds (VICIdial's defaults unless the
practice set its own): the row's `level` is how many were reached.

Keys (all in the action registry, area "supervise"): Enter shadows the selected
assistant, W whispers to them, R reassigns their work, T sets their state, Q
toggles the queue board, I opens the escalation inbox, S cycles the sort and F
the filter.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, ClassVar

from rich.markup import escape
from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.timer import Timer
from textual.widgets import DataTable, Static

from assistant_tui import actions
from assistant_tui.cells import clip, fit
from assistant_tui.messages import FeedChanged
from assistant_tui.modes.base import ModeScreen
from assistant_tui.modes.placeholder import connection_text
from assistant_tui.widgets.footer import LeanFooter

if TYPE_CHECKING:
    from backend_client.supervision import SupervisionApi
    from followup_core.supervision import QueueBoard, TeamBoard, TeamMember

REFRESH_DEBOUNCE = 0.2  # seconds after a live event before the board is re-read
POLL_LIVE = 30.0  # seconds between fallback re-reads while the stream is up
POLL_OFFLINE = 5.0  # … and while it is not

# Colour per threshold level (0: none reached). After VICIdial's real-time report,
# which darkens a row as time in state passes each threshold.
LEVEL_STYLES = ("", "yellow", "bold dark_orange", "bold red", "bold white on red", "reverse red")
STATE_LABELS = {
    "available": "waiting",
    "on-call": "on call",
    "wrap-up": "wrap-up",
    "break": "paused",
    "offline": "offline",
}
SORTS: tuple[tuple[str, str], ...] = (
    ("name", "name"),
    ("time", "time in state"),
    ("state", "state"),
    ("breaches", "SLA breaches"),
    ("queue", "queue size"),
)
FILTERS: tuple[tuple[str, str], ...] = (
    ("all", "everyone"),
    ("online", "signed in"),
    ("on-call", "on a call"),
    ("waiting", "waiting"),
    ("breaches", "with SLA breaches"),
)


def mmss(seconds: int) -> str:
    """Time in state as M:SS (H:MM:SS from an hour), as contact-centre boards show it."""
    hours, rest = divmod(max(0, seconds), 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


def sort_members(members: list[TeamMember], key: str) -> list[TeamMember]:
    """Members in board order for sort `key` (see `SORTS`); ties by display name."""
    if key == "time":
        return sorted(members, key=lambda m: (-m.seconds_in_state, m.display_name))
    if key == "state":
        order = ["on-call", "wrap-up", "available", "break", "offline"]
        return sorted(members, key=lambda m: (order.index(str(m.state)), m.display_name))
    if key == "breaches":
        return sorted(members, key=lambda m: (-m.sla_breaches, m.display_name))
    if key == "queue":
        return sorted(members, key=lambda m: (-m.queue_size, m.display_name))
    return sorted(members, key=lambda m: m.display_name)


def filter_members(members: list[TeamMember], key: str) -> list[TeamMember]:
    """Members shown under filter `key` (see `FILTERS`)."""
    if key == "online":
        return [m for m in members if m.online]
    if key == "on-call":
        return [m for m in members if m.online and str(m.state) in ("on-call", "wrap-up")]
    if key == "waiting":
        return [m for m in members if m.online and str(m.state) == "available"]
    if key == "breaches":
        return [m for m in members if m.sla_breaches]
    return list(members)


def ago(seconds: int) -> str:
    """How long ago, compact for the Seen column: 'now', '12m ago', '5h04 ago', '3d ago'."""
    seconds = max(0, seconds)
    if seconds < 60:
        return "now"
    if seconds < 3600:
        return f"{seconds // 60}m ago"
    if seconds < 86400:
        hours, rest = divmod(seconds, 3600)
        return f"{hours}h{rest // 60:02d} ago"
    return f"{seconds // 86400}d ago"


@dataclass(frozen=True)
class BoardColumn:
    """One team-board column: `width` in cells, shown from `min_width` terminal columns."""

    key: str
    title: str
    width: int
    min_width: int = 0


# In display order. Everything fits at 80 columns but handled/attempts, last seen
# and observers (shown from 100 and 120); from 120 the task column adds its SLA.
# Each column costs its width plus 2 cells of padding.
BOARD_COLUMNS: tuple[BoardColumn, ...] = (
    BoardColumn("name", "Assistant", 16),
    BoardColumn("state", "State", 9),
    BoardColumn("time", "In state", 8),
    BoardColumn("task", "Task", 11),
    BoardColumn("handled", "Done/try", 8, 100),
    BoardColumn("queue", "Queue", 5),
    BoardColumn("breaches", "Breach", 6),
    BoardColumn("escalations", "Esc", 3),
    BoardColumn("seen", "Seen", 9, 100),
    BoardColumn("observers", "Observed by", 14, 120),
)
WIDE_TASK = 120  # from this many columns the task column also shows the task's SLA
TASK_WIDE_WIDTH = 19  # "prior-auth  -12d02h": workflow (11), a space, SLA (7)


def board_columns(width: int) -> tuple[BoardColumn, ...]:
    """The columns shown on a terminal `width` cells wide (see BOARD_COLUMNS)."""
    shown = [c for c in BOARD_COLUMNS if width >= c.min_width]
    if width >= WIDE_TASK:
        shown = [
            BoardColumn(c.key, "Task · SLA", TASK_WIDE_WIDTH) if c.key == "task" else c
            for c in shown
        ]
    return tuple(shown)


def member_cells(
    member: TeamMember, now: datetime, columns: tuple[BoardColumn, ...] = BOARD_COLUMNS
) -> list[Text | str]:
    """One board row in `columns`: name, state, time in state (coloured by level), task,
    counts, last seen, who watches; each clipped to its column's width in cells.

    State says "locked" while the assistant's workspace is locked. The task is the
    workflow's short name; "!!" marks it overdue, and a wide task column adds the
    time left to its due (negative when overdue), as in the assistant's queue.
    """
    from assistant_tui.timefmt import countdown
    from assistant_tui.widgets.queue.rows import WORKFLOW_SHORT

    elapsed = member.seconds_in_state
    if member.state_since is not None:
        elapsed = max(elapsed, int((now - member.state_since).total_seconds()))
    style = LEVEL_STYLES[min(member.level, len(LEVEL_STYLES) - 1)]
    state = STATE_LABELS.get(str(member.state), str(member.state))
    if member.session.value == "locked":
        state = "locked"
    if member.online:
        seen = "online"
    elif member.last_seen is None:
        seen = "never"
    else:
        seen = ago(int((now - member.last_seen).total_seconds()))
    whisper = f" ✉{member.unread_whispers}" if member.unread_whispers else ""
    cells: list[Text | str] = []
    for column in columns:
        width = column.width
        if column.key == "name":
            cell: Text | str = clip(member.display_name, width - len(whisper)) + whisper
        elif column.key == "state":
            cell = Text(clip(state, width), style=style)
        elif column.key == "time":
            cell = Text(mmss(elapsed), style=style)
        elif column.key == "task":
            current = member.current_task
            if current is None:
                cell = "-"
            else:
                flow = WORKFLOW_SHORT.get(str(current.workflow), str(current.workflow))
                if width >= TASK_WIDE_WIDTH:
                    text = f"{fit(flow, 11)} {fit(countdown(current.due_at, now), 7, 'right')}"
                else:
                    text = fit(flow, width - 2) + ("!!" if current.overdue else "")
                cell = Text(text, style="bold red" if current.overdue else "")
        elif column.key == "handled":
            cell = f"{member.handled_today}/{member.attempts_today}"
        elif column.key == "queue":
            cell = str(member.queue_size)
        elif column.key == "breaches":
            cell = Text(str(member.sla_breaches), style="bold red" if member.sla_breaches else "")
        elif column.key == "escalations":
            cell = str(member.open_escalations)
        elif column.key == "seen":
            cell = seen
        else:  # observers
            cell = clip(", ".join(o.display_name for o in member.observers) or "-", width)
        cells.append(cell)
    return cells


TEAM_COLUMNS = tuple(c.title for c in BOARD_COLUMNS)
QUEUE_COLUMNS = ("Practice", "Workflow", "Open", "Overdue", "Due today", "Unassigned", "Oldest due")
# Below 100 columns the queue board's titles are shortened and the practice clipped.
QUEUE_COLUMNS_NARROW = ("Practice", "Workflow", "Open", "Late", "Today", "Unasg", "Oldest due")
QUEUE_NARROW = 100
PRACTICE_NARROW_WIDTH = 14


class SuperviseScreen(ModeScreen):
    """The team board (the supervisor's main screen), live."""

    MODE = "supervise"
    AREAS = ("supervise",)
    BINDINGS = actions.bindings("supervise")
    TITLE: ClassVar[str] = "Team board"

    def __init__(self, services: Any) -> None:
        super().__init__(services)
        self.board: TeamBoard | None = None
        self.queues: QueueBoard | None = None
        self.sort_key = SORTS[0][0]
        self.filter_key = FILTERS[0][0]
        self.shown: list[TeamMember] = []
        self.error: str | None = None
        self.loads = 0  # boards received (tests wait on it)
        self._debounce: Timer | None = None
        self._poll: Timer | None = None
        self._practice_names: dict[str, str] = {}
        self.columns: tuple[BoardColumn, ...] = ()  # the team board's, for this width
        self._queue_narrow: bool | None = None
        self.unreachable = False  # the board's last read found no server (Offline)

    # --- layout ----------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        with Vertical(id="supervise"):
            yield Static(self._header_text(), id="sup-header")
            yield Static("", id="sup-summary")
            yield DataTable(id="team-board", cursor_type="row", zebra_stripes=True)
            queues: DataTable[Any] = DataTable(id="queue-board", cursor_type="row")
            queues.display = False
            yield queues
            yield Static("", id="sup-message")
        yield LeanFooter()

    def on_mount(self) -> None:
        self.query_one("#team-board", DataTable).focus()
        self._fit_columns()
        self._schedule_poll()
        self.refresh_board()

    def on_resize(self) -> None:
        if self._fit_columns():
            self._draw()

    def _fit_columns(self) -> bool:
        """Set both boards' columns for the screen's width; True if they changed."""
        width = self.app.size.width if self.size.width == 0 else self.size.width
        columns = board_columns(width)
        narrow = width < QUEUE_NARROW
        if columns == self.columns and narrow == self._queue_narrow:
            return False
        if columns != self.columns:
            self.columns = columns
            table = self.query_one("#team-board", DataTable)
            table.clear(columns=True)
            for column in columns:
                table.add_column(column.title, width=column.width, key=column.key)
        if narrow != self._queue_narrow:
            self._queue_narrow = narrow
            queues = self.query_one("#queue-board", DataTable)
            queues.clear(columns=True)
            queues.add_columns(*(QUEUE_COLUMNS_NARROW if narrow else QUEUE_COLUMNS))
        return True

    @property
    def api(self) -> SupervisionApi | None:
        sync = self.services.sync
        if sync is None:
            return None
        from backend_client.supervision import SupervisionApi

        return SupervisionApi(sync.client)

    def _header_text(self) -> str:
        user = self.services.user
        who = (
            f"Signed in as [b]{escape(user.display_name)}[/b] ({escape(str(user.role))})"
            if user is not None
            else "Opened offline from the local cache"
        )
        status = self.services.status
        # The board's own reads count too: the sync engine may not have noticed a dead
        # server yet (its next poll can be a minute away) while the board already has.
        online = bool(status and status.online) and not self.unreachable
        link = connection_text(online, self.services.live and not self.unreachable)
        return f"[b]{self.TITLE}[/b] · {who} · {escape(link)}"

    def _reached(self, reached: bool) -> None:
        """Record whether the board's last read reached the server; redraw the header."""
        if self.unreachable == (not reached):
            return
        self.unreachable = not reached
        self.query_one("#sup-header", Static).update(self._header_text())

    # --- loading -----------------------------------------------------------------------

    def _schedule_poll(self) -> None:
        if self._poll is not None:
            self._poll.stop()
        every = POLL_LIVE if self.services.live else POLL_OFFLINE
        self._poll = self.set_interval(every, self.refresh_board)

    def sync_status_changed(self) -> None:
        self.query_one("#sup-header", Static).update(self._header_text())
        self._schedule_poll()

    def live_event(self, kind: str, data: dict[str, object]) -> None:
        if kind in ("team", "escalation", "whisper", "assignment"):
            self.soon()
        if kind in ("session", "whisper"):
            from assistant_tui.screens.shadow import ShadowScreen

            for screen in self.app.screen_stack:
                if not isinstance(screen, ShadowScreen):
                    continue
                if kind == "whisper":
                    screen.whisper_changed(str(data.get("whisper_id", "")))
                elif screen.subject_id == data.get("user_id"):
                    screen.nudged(int(str(data.get("seq", 0))))

    @on(FeedChanged)
    def _feed_changed(self, message: FeedChanged) -> None:
        message.stop()
        self.soon()
        from assistant_tui.screens.shadow import ShadowScreen

        for screen in self.app.screen_stack:
            if isinstance(screen, ShadowScreen):
                screen.feed_changed(message.task_ids, message.full)

    def soon(self) -> None:
        """Re-read the board shortly (a burst of events costs one read)."""
        if self._debounce is not None:
            self._debounce.stop()
        self._debounce = self.set_timer(REFRESH_DEBOUNCE, self.refresh_board)

    @work(exclusive=True, group="board", exit_on_error=False)
    async def refresh_board(self) -> None:
        api = self.api
        if api is None:
            self._show_message("offline: the team board needs the server")
            return
        from backend_client.errors import ApiError, Offline

        try:
            board = await api.team()
            queues = await api.queues()
        except Offline as exc:
            self._reached(False)
            self._show_message(f"board not refreshed: {type(exc).__name__}")
            return
        except ApiError as exc:
            self._reached(True)
            self._show_message(f"board not refreshed: {type(exc).__name__}")
            return
        self._reached(True)
        if self.sync is not None and not self._practice_names:
            self._practice_names = {p.id: p.name for p in self._practices()}
        self.board, self.queues = board, queues
        self.loads += 1
        self._draw()

    @property
    def sync(self) -> Any:
        return self.services.sync

    def _practices(self) -> list[Any]:
        try:
            return list(self.services.cache.practices())
        except Exception:  # the cache is closing: names fall back to ids
            return []

    # --- drawing ---------------------------------------------------------------------------

    def _show_message(self, text: str) -> None:
        self.error = text
        self.query_one("#sup-message", Static).update(escape(text))

    def _draw(self) -> None:
        board = self.board
        if board is None:
            return
        s = board.summary
        sort_name = dict(SORTS)[self.sort_key]
        filter_name = dict(FILTERS)[self.filter_key]
        self.query_one("#sup-summary", Static).update(
            f"Signed in [b]{s.signed_in}[/b] · on a call [b]{s.on_call}[/b] · waiting "
            f"[b]{s.waiting}[/b] · paused [b]{s.paused}[/b] · wrap-up [b]{s.wrap_up}[/b]"
            + ("\n" if self.size.width < QUEUE_NARROW else "   │  ")
            + f"sorted by {sort_name} · showing {filter_name} (S, F)"
        )
        table = self.query_one("#team-board", DataTable)
        selected = self.selected.user_id if self.selected is not None else None
        self.shown = sort_members(
            filter_members(list(board.members), self.filter_key), self.sort_key
        )
        now = self.services.clock()
        table.clear()
        for member in self.shown:
            table.add_row(*member_cells(member, now, self.columns), key=member.user_id)
        if selected is not None:
            for index, member in enumerate(self.shown):
                if member.user_id == selected:
                    table.move_cursor(row=index)
        queues = self.query_one("#queue-board", DataTable)
        queues.clear()
        from assistant_tui.widgets.queue.rows import WORKFLOW_SHORT

        for row in self.queues.rows if self.queues else []:
            practice = self._practice_names.get(row.practice_id, row.practice_id[:8])
            workflow = str(row.workflow)
            if self._queue_narrow:
                practice = clip(practice, PRACTICE_NARROW_WIDTH)
                workflow = WORKFLOW_SHORT.get(workflow, workflow)
            queues.add_row(
                practice,
                workflow,
                str(row.open),
                Text(str(row.overdue), style="bold red" if row.overdue else ""),
                str(row.due_today),
                str(row.unassigned),
                row.oldest_due_at.strftime("%m-%d %H:%MZ") if row.oldest_due_at else "-",
            )
        self.query_one("#sup-message", Static).update("")

    @property
    def selected(self) -> TeamMember | None:
        table = self.query_one("#team-board", DataTable)
        if not self.shown or table.cursor_row is None:
            return None
        if 0 <= table.cursor_row < len(self.shown):
            return self.shown[table.cursor_row]
        return None

    # --- actions ---------------------------------------------------------------------------

    def action_cycle_sort(self) -> None:
        keys = [k for k, _ in SORTS]
        self.sort_key = keys[(keys.index(self.sort_key) + 1) % len(keys)]
        self._draw()

    def action_cycle_filter(self) -> None:
        keys = [k for k, _ in FILTERS]
        self.filter_key = keys[(keys.index(self.filter_key) + 1) % len(keys)]
        self._draw()

    def action_toggle_queues(self) -> None:
        queues = self.query_one("#queue-board", DataTable)
        queues.display = not queues.display

    @on(DataTable.RowSelected, "#team-board")
    def _row_chosen(self, event: DataTable.RowSelected) -> None:
        """Enter on the board (the table takes the key first): shadow that assistant."""
        event.stop()
        self.action_shadow()

    def action_shadow(self) -> None:
        member = self.selected
        api = self.api
        if member is None or api is None:
            return
        from assistant_tui.screens.shadow import ShadowScreen

        self.app.push_screen(ShadowScreen(self.services, api, member.user_id, member.display_name))

    def action_whisper(self) -> None:
        member = self.selected
        if member is None or self.api is None:
            return
        from assistant_tui.screens.supervision import WhisperScreen

        def send(text: str | None) -> None:
            if text:
                self.send_whisper(member.user_id, text)

        self.app.push_screen(WhisperScreen(member.display_name), send)

    @work(group="whisper", exit_on_error=False)
    async def send_whisper(self, user_id: str, text: str) -> None:
        api = self.api
        if api is None:
            return
        from backend_client.errors import ApiError, Offline

        try:
            await api.whisper(user_id, text)
        except (ApiError, Offline) as exc:
            self._show_message(f"whisper not sent: {getattr(exc, 'message', type(exc).__name__)}")
            return
        self._show_message("whisper sent")
        self.soon()

    def action_inbox(self) -> None:
        api = self.api
        if api is None:
            return
        from assistant_tui.screens.supervision import InboxScreen

        self.app.push_screen(InboxScreen(api, self._practice_names))

    def action_force_state(self) -> None:
        member = self.selected
        if member is None or self.api is None:
            return
        from assistant_tui.screens.supervision import StateScreen

        def chosen(state: str | None) -> None:
            if state:
                self.force_state(member.user_id, state)

        self.app.push_screen(StateScreen(member.display_name), chosen)

    @work(group="force", exit_on_error=False)
    async def force_state(self, user_id: str, state: str) -> None:
        api = self.api
        if api is None:
            return
        from backend_client.errors import ApiError, Offline

        try:
            await api.force_state(user_id, state)
        except (ApiError, Offline) as exc:
            self._show_message(f"state not changed: {getattr(exc, 'message', type(exc).__name__)}")
            return
        self.soon()

    def action_reassign(self) -> None:
        member = self.selected
        api = self.api
        if member is None or api is None or self.board is None:
            return
        from assistant_tui.screens.supervision import ReassignScreen

        others = [
            m
            for m in self.board.members
            if m.user_id != member.user_id and set(m.practice_ids) & set(member.practice_ids)
        ]
        self.app.push_screen(ReassignScreen(self.services, api, member, others), self._reassigned)

    def _reassigned(self, moved: int | None) -> None:
        if moved:
            self._show_message(f"{moved} task(s) reassigned")
            self.soon()
