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
        self._steps: list[Static] = []
        self._voicemail = Static("", classes="script-voicemail")

    def compose(self) -> ComposeResult:
        yield Static("", id="script-heading")
        yield VerticalScroll(Static("No task open.", classes="script-step"), id="script-body")
        with VerticalScroll(id="script-dont"):
            yield Static("", id="script-do-not-say")

    @property
    def script(self) -> ShownScript | None:
        return self._script

    @property
    def at_last_step(self) -> bool:
        return self._script is not None and self.step >= len(self._script.steps) - 1

    def show(self, script: ShownScript | None) -> None:
        self._script = script
        body = self.query_one("#script-body", VerticalScroll)
        body.remove_children()
        # Kept by reference: the removed children linger in the DOM until the
        # removal completes, so a query here would still find them.
        self._steps = [Static("", classes="script-step") for _ in (script.steps if script else ())]
        self._voicemail = Static("", classes="script-voicemail")
        if script is not None:
            body.mount_all([*self._steps, self._voicemail])
        self.branch = None
        self.step = 0
        self.voicemail = False
        self._draw()

    def show_message(self, text: str) -> None:
        self._script = None
        body = self.query_one("#script-body", VerticalScroll)
        body.remove_children()
        body.mount(Static(escape(text), classes="script-step"))
        self.query_one("#script-heading", Static).update("")
        self.query_one("#script-do-not-say", Static).update("")
        self.border_title = "Script"

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
        self.query_one("#script-heading", Static).update(escape(script.heading))
        steps = self._steps
        for widget in steps:
            widget.display = not self.voicemail
        self._voicemail.display = self.voicemail
        self._voicemail.update(
            "[b]Voicemail-safe message — say only this:[/b]\n\n" + escape(script.voicemail)
        )
        if self.voicemail:
            self.border_title = "Script · VOICEMAIL"
        else:
            self.border_title = f"Script · step {self.step + 1}/{len(script.steps)}"
            for number, (widget, step) in enumerate(zip(steps, script.steps, strict=False)):
                widget.update(self._step_text(number, step))
                widget.set_class(number == self.step, "current")
                widget.set_class(number < self.step, "done")
            if 0 <= self.step < len(steps):
                # After layout: a step just mounted has no region to scroll to yet.
                self.call_after_refresh(
                    self.query_one("#script-body", VerticalScroll).scroll_to_widget,
                    steps[self.step],
                    animate=False,
                    top=False,
                )
        dont = "\n".join(f"• {escape(item)}" for item in script.do_not_say) or "—"
        self.query_one("#script-do-not-say", Static).update(
            "[b]Do not say[/b] (never diagnose, advise, interpret results or promise "
            f"clinical outcomes)\n{dont}"
        )

    def _step_text(self, number: int, step: Step) -> str:
        text = f"[b]{number + 1}. {escape(step.title)}[/b]\n{escape(step.text)}"
        if number != self.step or not step.branches:
            return text
        parts = [text, "", "[b]If the patient says…[/b]"]
        for n, (label, branch_text) in enumerate(step.branches, start=1):
            if n == self.branch:
                parts.append(
                    f"[reverse] {n}) {escape(label)} [/reverse]\n    {escape(branch_text)}"
                )
            else:
                parts.append(f"{n}) {escape(label)}")
        return "\n".join(parts)
