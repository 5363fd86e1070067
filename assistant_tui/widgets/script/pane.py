"""The approved script: the current step highlighted, branches on number keys.

When the assistant is leaving a voicemail only the voicemail-safe variant is
shown, so nothing but the practice, a callback number and a generic reason can
be read onto someone's answering machine.
"""

from __future__ import annotations

from dataclasses import dataclass

from rich.markup import escape
from textual.app import ComposeResult
from textual.containers import Vertical, VerticalScroll
from textual.message import Message
from textual.reactive import reactive
from textual.widgets import Static

from assistant_tui.keymap import SCRIPT


@dataclass(frozen=True)
class Step:
    title: str
    text: str
    branches: tuple[tuple[str, str], ...]  # (label, text)


@dataclass(frozen=True)
class ShownScript:
    """A rendered script reduced to what the pane draws."""

    heading: str
    steps: tuple[Step, ...]
    voicemail: str
    do_not_say: tuple[str, ...]


class ScriptPane(Vertical, can_focus=True):
    BINDINGS = SCRIPT
    BORDER_TITLE = "Script"

    step: reactive[int] = reactive(0)
    branch: reactive[int | None] = reactive(None)
    voicemail: reactive[bool] = reactive(False)

    class StepChanged(Message):
        def __init__(self, pane: ScriptPane, step: int, last: bool) -> None:
            super().__init__()
            self.pane = pane
            self.step = step
            self.last = last

        @property
        def control(self) -> ScriptPane:
            return self.pane

    def __init__(self, **kwargs: str) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self._script: ShownScript | None = None

    def compose(self) -> ComposeResult:
        yield Static("", id="script-heading")
        with VerticalScroll(id="script-body"):
            yield Static("No task open.", id="script-steps")
            yield Static("", id="script-branches")
        yield Static("", id="script-do-not-say")

    @property
    def script(self) -> ShownScript | None:
        return self._script

    @property
    def at_last_step(self) -> bool:
        return self._script is not None and self.step >= len(self._script.steps) - 1

    def show(self, script: ShownScript | None) -> None:
        self._script = script
        self.branch = None
        self.step = 0
        self.voicemail = False
        self._draw()

    def show_message(self, text: str) -> None:
        self._script = None
        self.query_one("#script-heading", Static).update("")
        self.query_one("#script-steps", Static).update(escape(text))
        self.query_one("#script-branches", Static).update("")
        self.query_one("#script-do-not-say", Static).update("")

    def watch_step(self) -> None:
        self._draw()

    def watch_branch(self) -> None:
        self._draw()

    def watch_voicemail(self) -> None:
        self._draw()

    def action_next_step(self) -> None:
        if self._script and self.step < len(self._script.steps) - 1:
            self.branch = None
            self.step += 1
            self.post_message(self.StepChanged(self, self.step, self.at_last_step))

    def action_previous_step(self) -> None:
        if self._script and self.step > 0:
            self.branch = None
            self.step -= 1
            self.post_message(self.StepChanged(self, self.step, self.at_last_step))

    def action_branch(self, number: int) -> None:
        if self._script is None or self.voicemail:
            return
        branches = self._script.steps[self.step].branches
        if 1 <= number <= len(branches):
            self.branch = number

    def _draw(self) -> None:
        if not self.is_mounted or self._script is None:
            return
        script = self._script
        heading = self.query_one("#script-heading", Static)
        steps = self.query_one("#script-steps", Static)
        branches = self.query_one("#script-branches", Static)
        heading.update(escape(script.heading))
        if self.voicemail:
            self.border_title = "Script · VOICEMAIL"
            steps.update(
                "[b]Voicemail-safe message — say only this:[/b]\n\n" + escape(script.voicemail)
            )
            branches.update("")
        else:
            self.border_title = f"Script · step {self.step + 1}/{len(script.steps)}"
            lines: list[str] = []
            for number, step in enumerate(script.steps):
                body = f"{number + 1}. {escape(step.title)}\n   {escape(step.text)}"
                if number == self.step:
                    lines.append(f"[reverse][b]{body}[/b][/reverse]")
                elif number < self.step:
                    lines.append(f"[dim]{body}[/dim]")
                else:
                    lines.append(body)
            steps.update("\n\n".join(lines))
            current = script.steps[self.step].branches if script.steps else ()
            if current:
                parts = ["[b]If the patient says…[/b]"]
                for n, (label, text) in enumerate(current, start=1):
                    chosen = n == self.branch
                    line = f"[{n}] {escape(label)}"
                    if chosen:
                        line = f"[reverse]{line}[/reverse]\n    {escape(text)}"
                    parts.append(line)
                branches.update("\n".join(parts))
            else:
                branches.update("")
        dont = "; ".join(script.do_not_say) if script.do_not_say else "—"
        self.query_one("#script-do-not-say", Static).update(
            f"[b]Do not say:[/b] {escape(dont)}\nNever diagnose, advise, interpret results "
            "or promise clinical outcomes."
        )
