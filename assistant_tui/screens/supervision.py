"""The supervisor's dialogs and the escalation inbox screen.

- `WhisperScreen`: one line of plain text to an assistant (280 characters; the
  server refuses control characters and blank lines too).
- `StateScreen`: pick the agent state to set (the server refuses while the
  assistant is documenting a call, and says so).
- `ReassignScreen`: pick some of an assistant's open tasks and who gets them.
- `InboxScreen`: the escalation inbox, oldest acknowledgement due first, paged;
  A acknowledges, R resolves with a note, O shows only the overdue (open past the
  route's acknowledgement target), G cycles the route shown, N next page, P the
  first page again.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from rich.markup import escape
from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.screen import ModalScreen, Screen
from textual.widgets import DataTable, Input, OptionList, SelectionList, Static
from textual.widgets.option_list import Option

from assistant_tui import actions
from assistant_tui.widgets.footer import LeanFooter
from followup_core.schemas import RESOLUTION_MAX_CHARS
from followup_core.supervision import WHISPER_MAX_CHARS

if TYPE_CHECKING:
    from backend_client.supervision import SupervisionApi
    from followup_core.supervision import InboxItem, TeamMember


class SupervisorDialog(ModalScreen[Any]):
    """The base of the supervisor's dialogs: Escape (or Ctrl+G) cancels with None."""

    BINDINGS = actions.bindings("dialog")

    def action_cancel(self) -> None:
        self.dismiss(None)


class WhisperScreen(SupervisorDialog):
    """A one-line whisper; Enter sends, Escape cancels.

    Dismisses with the text (runs of whitespace made one space), at most
    WHISPER_MAX_CHARS characters like the server's `WhisperIn.text`; Enter on an
    empty line says so and keeps the dialog open.
    """

    EMPTY = "type a whisper or Esc"

    def __init__(self, to_name: str) -> None:
        super().__init__()
        self.to_name = to_name

    def compose(self) -> ComposeResult:
        with Vertical(classes="sup-dialog"):
            yield Static(f"Whisper to [b]{escape(self.to_name)}[/b] (only they see it)")
            yield Input(
                placeholder=f"one line, plain text, up to {WHISPER_MAX_CHARS} characters",
                max_length=WHISPER_MAX_CHARS,
                id="whisper-text",
            )
            yield Static("", id="whisper-message")

    @on(Input.Submitted)
    def _send(self, event: Input.Submitted) -> None:
        text = " ".join(event.value.split())
        if not text:
            self.query_one("#whisper-message", Static).update(self.EMPTY)
            return
        self.dismiss(text)


class StateScreen(SupervisorDialog):
    """Choose the agent state to set for one assistant."""

    STATES = ("available", "break", "wrap-up", "offline")

    def __init__(self, name: str) -> None:
        super().__init__()
        self.subject_name = name

    def compose(self) -> ComposeResult:
        with Vertical(classes="sup-dialog"):
            yield Static(f"Set the state of [b]{escape(self.subject_name)}[/b]")
            yield OptionList(*[Option(s, id=s) for s in self.STATES], id="state-options")

    @on(OptionList.OptionSelected)
    def _chosen(self, event: OptionList.OptionSelected) -> None:
        self.dismiss(event.option.id)


class ReassignScreen(SupervisorDialog):
    """Pick tasks of `member` (Space) and who gets them (Enter on a name).

    The tasks come from the supervisor's own cache (which holds the practice's
    records): the open tasks `member` owns, most urgent first, shown by workflow,
    priority and due time only.
    """

    MAX_ROWS = 200

    def __init__(
        self, services: Any, api: SupervisionApi, member: TeamMember, others: list[TeamMember]
    ) -> None:
        super().__init__()
        self.services = services
        self.api = api
        self.member = member
        self.others = others
        self.error: str | None = None

    def compose(self) -> ComposeResult:
        with Vertical(classes="sup-dialog sup-wide"):
            yield Static(
                f"Reassign work of [b]{escape(self.member.display_name)}[/b]: Space picks "
                "tasks, Enter on a name hands them over"
            )
            yield SelectionList[str](id="reassign-tasks")
            yield OptionList(
                *[Option(m.display_name, id=m.user_id) for m in self.others], id="reassign-to"
            )
            yield Static("", id="reassign-message")

    def on_mount(self) -> None:
        self.load_tasks()

    @work(thread=True, exit_on_error=False)
    def load_tasks(self) -> None:
        rows = self.services.cache.owner_queue(self.member.user_id, self.MAX_ROWS)
        self.app.call_from_thread(self._show_tasks, rows)

    def _show_tasks(self, rows: list[Any]) -> None:
        tasks = self.query_one("#reassign-tasks", SelectionList)
        for row in rows:
            label = f"{row.workflow} · {row.priority} · due {row.due_at:%m-%d %H:%MZ}"
            tasks.add_option((label, row.task_id))

    @on(OptionList.OptionSelected, "#reassign-to")
    def _to(self, event: OptionList.OptionSelected) -> None:
        picked = list(self.query_one("#reassign-tasks", SelectionList).selected)
        if not picked:
            self._say("pick at least one task (Space)")
            return
        assert event.option.id is not None
        self.hand_over(picked, event.option.id)

    @work(exclusive=True, exit_on_error=False)
    async def hand_over(self, task_ids: list[str], to_user_id: str) -> None:
        from backend_client.errors import ApiError, Offline

        try:
            moved = await self.api.reassign(task_ids, to_user_id)
        except (ApiError, Offline) as exc:
            self._say(f"not reassigned: {getattr(exc, 'message', type(exc).__name__)}")
            return
        self.dismiss(len(moved))

    def _say(self, text: str) -> None:
        self.error = text
        self.query_one("#reassign-message", Static).update(escape(text))


class ResolveScreen(SupervisorDialog):
    """The note an escalation is resolved with (what was done).

    Dismisses with the note, at most RESOLUTION_MAX_CHARS characters like the
    server's `EscalationResolve.resolution`; Enter on an empty note says so and
    keeps the dialog open.
    """

    EMPTY = "type what was done, or Esc"

    def compose(self) -> ComposeResult:
        with Vertical(classes="sup-dialog"):
            yield Static("Resolve: what was done?")
            yield Input(
                placeholder="resolution note",
                max_length=RESOLUTION_MAX_CHARS,
                id="resolve-note",
            )
            yield Static("", id="resolve-message")

    @on(Input.Submitted)
    def _done(self, event: Input.Submitted) -> None:
        note = event.value.strip()
        if not note:
            self.query_one("#resolve-message", Static).update(self.EMPTY)
            return
        self.dismiss(note)


INBOX_COLUMNS = ("Route", "Status", "Age", "Ack due", "Overdue", "Task", "Practice")


def inbox_cells(item: InboxItem, practice_names: dict[str, str]) -> list[Text | str]:
    hours, minutes = divmod(item.age_minutes, 60)
    return [
        str(item.route),
        item.status,
        f"{hours}h{minutes:02d}" if hours else f"{minutes} min",
        item.ack_due_at.strftime("%m-%d %H:%MZ"),
        Text("OVERDUE", style="bold red") if item.overdue else "",
        item.task_id[:8],
        practice_names.get(item.practice_id, item.practice_id[:8]),
    ]


class InboxScreen(Screen[None]):
    """The escalation inbox (ids, routes and times only: the reason is on the task)."""

    BINDINGS = actions.bindings("inbox")

    PAGE_SIZE = 50

    def __init__(
        self,
        api: SupervisionApi,
        practice_names: dict[str, str] | None = None,
        *,
        page_size: int | None = None,
    ) -> None:
        super().__init__()
        self.api = api
        self.practice_names = dict(practice_names or {})
        self.page_size = page_size or self.PAGE_SIZE
        self.items: list[InboxItem] = []
        self.next_cursor: str | None = None
        self.cursor: str | None = None
        self.page = 1  # 1-based number of the page shown
        self.overdue_only = False
        self.route: str | None = None  # None: every route
        self.loads = 0
        self.error: str | None = None

    def compose(self) -> ComposeResult:
        yield Static("[b]Escalation inbox[/b]", id="inbox-title")
        table: DataTable[Any] = DataTable(id="inbox", cursor_type="row", zebra_stripes=True)
        table.add_columns(*INBOX_COLUMNS)
        yield table
        yield Static("", id="inbox-message")
        yield LeanFooter()

    def on_mount(self) -> None:
        self.query_one("#inbox", DataTable).focus()
        self.load()

    @work(exclusive=True, group="inbox", exit_on_error=False)
    async def load(self) -> None:
        from backend_client.errors import ApiError, Offline

        try:
            page = await self.api.inbox(
                overdue=self.overdue_only,
                route=self.route,
                cursor=self.cursor,
                limit=self.page_size,
            )
        except (ApiError, Offline) as exc:
            self._say(f"inbox not loaded: {getattr(exc, 'message', type(exc).__name__)}")
            return
        self.items = list(page.items)
        self.next_cursor = page.next_cursor
        table = self.query_one("#inbox", DataTable)
        table.clear()
        for item in self.items:
            table.add_row(*inbox_cells(item, self.practice_names), key=item.id)
        title = "overdue only" if self.overdue_only else "open and acknowledged"
        route = self.route or "every route"
        more = " · N next" if self.next_cursor else ""
        first = " · P first" if self.page > 1 else ""
        self.query_one("#inbox-title", Static).update(
            f"[b]Escalation inbox[/b] ({title}, {escape(route)}; oldest acknowledgement due "
            f"first) · page {self.page}{more}{first}"
        )
        self.loads += 1

    @property
    def selected(self) -> InboxItem | None:
        table = self.query_one("#inbox", DataTable)
        if self.items and table.cursor_row is not None and 0 <= table.cursor_row < len(self.items):
            return self.items[table.cursor_row]
        return None

    def _say(self, text: str) -> None:
        self.error = text
        self.query_one("#inbox-message", Static).update(escape(text))

    def action_acknowledge(self) -> None:
        item = self.selected
        if item is not None:
            self.work_item(item.id, None)

    def action_resolve(self) -> None:
        item = self.selected
        if item is None:
            return

        def with_note(note: str | None) -> None:
            if note:
                self.work_item(item.id, note)

        self.app.push_screen(ResolveScreen(), with_note)

    @work(group="inbox-write", exit_on_error=False)
    async def work_item(self, escalation_id: str, resolution: str | None) -> None:
        from backend_client.errors import ApiError, Offline

        try:
            if resolution is None:
                await self.api.acknowledge_escalation(escalation_id)
            else:
                await self.api.resolve_escalation(escalation_id, resolution)
        except (ApiError, Offline) as exc:
            self._say(f"not saved: {getattr(exc, 'message', type(exc).__name__)}")
            return
        self._say("acknowledged" if resolution is None else "resolved")
        self.load()

    def action_toggle_overdue(self) -> None:
        self.overdue_only = not self.overdue_only
        self.action_first_page()

    def action_cycle_route(self) -> None:
        """Every route, then each route in turn (`EscalationRoute` order), then every one."""
        from followup_core.enums import EscalationRoute

        routes: list[str | None] = [None, *(r.value for r in EscalationRoute)]
        self.route = routes[(routes.index(self.route) + 1) % len(routes)]
        self.action_first_page()

    def action_next_page(self) -> None:
        if self.next_cursor:
            self.cursor = self.next_cursor
            self.page += 1
            self.load()

    def action_first_page(self) -> None:
        self.cursor = None
        self.page = 1
        self.load()

    def action_close(self) -> None:
        self.dismiss(None)
