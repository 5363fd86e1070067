"""The trainer's marks for one run: yes / no / N/A per trainer-marked item.

The form's automatic items are scored by the server from the recorded session
events and the saved outcome; the rest are listed here (text, points, fatal).
Y answers yes, X not applicable, N no — a miss needs a comment, so N asks for
one at once (C edits it). S sends the items answered here (`PUT /marks`; the
server refuses a miss without a comment with 422 `mark-refused`, and stores none
of the batch then). The dialog closes with the run as the server answers it
(scored once its outcome is saved and every item is marked), Escape with None.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from rich.markup import escape
from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import DataTable, Input, Static

from assistant_tui import actions
from assistant_tui.screens.supervision import SupervisorDialog
from assistant_tui.screens.training_cells import marked_items
from assistant_tui.widgets.footer import LeanFooter

if TYPE_CHECKING:
    from backend_client.training import TrainingApi
    from followup_core.training.evaluation import EvaluationForm, FormItem
    from followup_core.training.wire import RunOut

MARK_COLUMNS = ("Item", "Pts", "Fatal", "Answer", "Comment")
ANSWER_STYLES = {"yes": "green", "no": "bold red", "n/a": "dim"}


class CommentScreen(SupervisorDialog):
    """The comment on a miss (required: the server refuses a "no" without one)."""

    def __init__(self, item_text: str, comment: str) -> None:
        super().__init__()
        self.item_text = item_text
        self.comment = comment

    def compose(self) -> ComposeResult:
        with Vertical(classes="sup-dialog"):
            yield Static(f"Missed: [b]{escape(self.item_text)}[/b]\nWhat went wrong?")
            yield Input(value=self.comment, max_length=2000, id="mark-comment")

    @on(Input.Submitted)
    def _done(self, event: Input.Submitted) -> None:
        self.dismiss(" ".join(event.value.split()) or None)


class MarksScreen(ModalScreen["RunOut | None"]):
    """Mark the trainer's items of `run` on `form`."""

    BINDINGS = actions.bindings("marks")

    def __init__(self, api: TrainingApi, run: RunOut, form: EvaluationForm, name: str) -> None:
        super().__init__()
        self.api = api
        self.run = run
        self.form = form
        self.trainee_name = name
        self.items: list[FormItem] = marked_items(form)
        known = run.evaluation.answers
        self.answers: dict[str, str] = {i.id: known[i.id] for i in self.items if i.id in known}
        self.comments: dict[str, str] = {}
        self.changed: set[str] = set()
        self.error: str | None = None

    def compose(self) -> ComposeResult:
        with Vertical(id="marks-dialog"):
            yield Static(
                f"[b]Marks[/b] · {escape(self.run.title)} · {escape(self.trainee_name)}\n"
                "[dim]Automatic items are scored from the session; these are yours. "
                "Y yes, N no (comment required), X N/A, C comment, S save.[/dim]",
                id="marks-title",
            )
            table: DataTable[Any] = DataTable(id="marks", cursor_type="row")
            table.add_columns(*MARK_COLUMNS)
            yield table
            yield Static("", id="marks-message")
        yield LeanFooter()

    def on_mount(self) -> None:
        self._draw()
        self.query_one("#marks", DataTable).focus()

    def _draw(self) -> None:
        table = self.query_one("#marks", DataTable)
        row = table.cursor_row
        table.clear()
        for item in self.items:
            answer = self.answers.get(item.id, "")
            table.add_row(
                item.text,
                str(item.points),
                Text("FATAL", style="bold red") if item.fatal else "",
                Text(answer or "-", style=ANSWER_STYLES.get(answer, "yellow")),
                self.comments.get(item.id, ""),
                key=item.id,
            )
        if self.items and row is not None:
            table.move_cursor(row=min(row, len(self.items) - 1))

    @property
    def selected(self) -> FormItem | None:
        table = self.query_one("#marks", DataTable)
        if self.items and table.cursor_row is not None and 0 <= table.cursor_row < len(self.items):
            return self.items[table.cursor_row]
        return None

    def _answer(self, answer: str) -> None:
        item = self.selected
        if item is None:
            return
        self.answers[item.id] = answer
        self.changed.add(item.id)
        if answer != "no":
            self.comments.pop(item.id, None)
        self._draw()
        table = self.query_one("#marks", DataTable)
        if answer != "no" and table.cursor_row is not None:
            table.move_cursor(row=min(table.cursor_row + 1, len(self.items) - 1))

    def action_mark_yes(self) -> None:
        self._answer("yes")

    def action_mark_na(self) -> None:
        self._answer("n/a")

    def action_mark_no(self) -> None:
        self._answer("no")
        self.action_comment()

    def action_comment(self) -> None:
        item = self.selected
        if item is None:
            return

        def done(text: str | None) -> None:
            if text:
                self.comments[item.id] = text
                self.changed.add(item.id)
                self._draw()

        self.app.push_screen(CommentScreen(item.text, self.comments.get(item.id, "")), done)

    def action_save(self) -> None:
        missing = [
            i.text
            for i in self.items
            if self.answers.get(i.id) == "no" and not self.comments.get(i.id)
        ]
        if missing:
            self._say(f"a miss needs a comment: {missing[0]}")
            return
        if not self.changed:
            self._say("nothing marked yet")
            return
        self.send()

    @work(exclusive=True, exit_on_error=False)
    async def send(self) -> None:
        from backend_client.errors import ApiError, Offline
        from followup_core.training.wire import MarkIn

        marks = [
            MarkIn.model_validate(
                {"item_id": i, "answer": self.answers[i], "comment": self.comments.get(i, "")},
                strict=False,
            )
            for i in sorted(self.changed)
            if i in self.answers
        ]
        try:
            run = await self.api.mark(self.run.id, marks)
        except (ApiError, Offline) as exc:
            self._say(f"marks not saved: {getattr(exc, 'message', type(exc).__name__)}")
            return
        self.dismiss(run)

    def _say(self, text: str) -> None:
        self.error = text
        self.query_one("#marks-message", Static).update(escape(text))

    def action_cancel(self) -> None:
        self.dismiss(None)
