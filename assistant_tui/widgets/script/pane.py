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

from assistant_tui import actions


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
    BINDINGS = actions.bindings("script")
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
        # What each step widget shows now: an update is skipped when unchanged,
        # since every `Static.update` costs a layout of the screen.
        self._texts: list[str] = []
        self._voicemail = Static("", classes="script-voicemail")

    def compose(self) -> ComposeResult:
        yield Static("", id="script-heading")
        yield VerticalScroll(Static("No task open.", classes="script-step"), id="script-body")
        with VerticalScroll(id="script-dont"):
            yield Static("", id="script-do-not-say")

    @property
    def script(self) -> ShownScript | None:
        return self._script

    def summary(self) -> str:
        """The current step in one line of plain text, for layouts that hide this pane:
        'Step 2/6 · Verify identity: Before we go on…' ('' when no script is shown)."""
        if self._script is None or not self._script.steps:
            return ""
        if self.voicemail:
            return f"VOICEMAIL: {self._script.voicemail}"
        step = self._script.steps[min(self.step, len(self._script.steps) - 1)]
        text = " ".join(step.text.split())
        return f"Step {self.step + 1}/{len(self._script.steps)} · {step.title}: {text}"

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
        self._texts = ["" for _ in self._steps]
        self._voicemail = Static("", classes="script-voicemail")
        if script is not None:
            body.mount_all([*self._steps, self._voicemail])
        # Set without watchers: the full draw below covers all three.
        self.set_reactive(ScriptPane.branch, None)
        self.set_reactive(ScriptPane.step, 0)
        self.set_reactive(ScriptPane.voicemail, False)
        self._draw()

    def show_message(self, text: str) -> None:
        self._script = None
        body = self.query_one("#script-body", VerticalScroll)
        body.remove_children()
        self._steps = []
        self._texts = []
        body.mount(Static(escape(text), classes="script-step"))
        self.query_one("#script-heading", Static).update("")
        self.query_one("#script-do-not-say", Static).update("")
        self.border_title = "Script"

    # A step change touches only the two steps whose highlight moves; the
    # heading, voicemail and do-not-say texts are drawn once per script.

    def watch_step(self, old: int, new: int) -> None:
        if not self._ready():
            return
        self._title()
        if self.voicemail:
            return
        changed = False
        for number in {old, new}:
            changed |= self._draw_step(number)
        for number in range(min(old, new), max(old, new) + 1):
            if 0 <= number < len(self._steps):
                self._steps[number].set_class(number < new, "done")
        self._scroll_to_current(laid_out=not changed)

    def watch_branch(self) -> None:
        if self._ready() and not self.voicemail and self._draw_step(self.step):
            self._scroll_to_current(laid_out=False)

    def watch_voicemail(self) -> None:
        if not self._ready():
            return
        for widget in self._steps:
            widget.display = not self.voicemail
        self._voicemail.display = self.voicemail
        self._title()
        if not self.voicemail:
            for number in range(len(self._steps)):
                self._draw_step(number)
            self._scroll_to_current(laid_out=False)

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

    def _ready(self) -> bool:
        return self.is_mounted and self._script is not None

    def _title(self) -> None:
        assert self._script is not None
        if self.voicemail:
            self.border_title = "Script · VOICEMAIL"
        else:
            self.border_title = f"Script · step {self.step + 1}/{len(self._script.steps)}"

    def _draw_step(self, number: int) -> bool:
        """Bring one step's text and classes up to date; True if its text changed."""
        assert self._script is not None
        if not 0 <= number < len(self._steps):
            return False
        widget = self._steps[number]
        widget.set_class(number == self.step, "current")
        widget.set_class(number < self.step, "done")
        text = self._step_text(number, self._script.steps[number])
        if text == self._texts[number]:
            return False
        self._texts[number] = text
        widget.update(text)
        return True

    def _scroll_to_current(self, *, laid_out: bool) -> None:
        if not 0 <= self.step < len(self._steps):
            return
        body = self.query_one("#script-body", VerticalScroll)
        target = self._steps[self.step]
        if laid_out and target.region:
            # Nothing moved: scroll now, in the same frame as the highlight.
            body.scroll_to_widget(target, animate=False, top=False, immediate=True)
        else:
            # After layout: a step just mounted or resized has no final region yet.
            self.call_after_refresh(body.scroll_to_widget, target, animate=False, top=False)

    def _draw(self) -> None:
        """Everything, once per script shown."""
        if not self._ready():
            return
        script = self._script
        assert script is not None
        self.query_one("#script-heading", Static).update(escape(script.heading))
        self._voicemail.update(
            "[b]Voicemail-safe message — say only this:[/b]\n\n" + escape(script.voicemail)
        )
        dont = "\n".join(f"• {escape(item)}" for item in script.do_not_say) or "—"
        self.query_one("#script-do-not-say", Static).update(
            "[b]Do not say[/b] (never diagnose, advise, interpret results or promise "
            f"clinical outcomes)\n{dont}"
        )
        for widget in self._steps:
            widget.display = not self.voicemail
        self._voicemail.display = self.voicemail
        self._title()
        for number in range(len(self._steps)):
            self._draw_step(number)
        self._scroll_to_current(laid_out=False)

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
