"""The simulated patient's strip: what the patient of a training run says now.

Shown only while the open task is a training run's (issue 9, DESIGN "Training").
It follows the trainee's script step and branch: the scenario's lines for that
step (`GET /v1/training/runs/{id}/script`), and below them the latest line the
trainer typed live as the patient, if any (`GET .../lines`, read on each
`training` event). Synthetic text only: a training patient is made up.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from rich.markup import escape
from textual.widgets import Static

if TYPE_CHECKING:
    from followup_core.training.wire import LiveLineOut, PatientLineOut

STEP_TITLES = {
    "greet": "Greet",
    "verify-identity": "Verify identity",
    "reason": "Reason for the call",
    "details": "Details",
    "next-step": "Next step",
    "close": "Close",
}


def lines_for(
    lines: Sequence[PatientLineOut], step: str | None, branch: str | None, voicemail: bool
) -> list[str]:
    """What the simulated patient says at `step` (a `STEP_KEYS` key) and `branch` (a label).

    With a branch taken: that branch's lines, else the step's lines without a branch.
    With none taken yet: the step's own lines, else every branch's line of the step
    (the patient's answer is what tells the trainee which branch to take). On a
    voicemail nobody answers: nothing. `step` None (past the six steps): nothing.
    """
    if voicemail or step is None:
        return []
    at_step = [ln for ln in lines if ln.step == step]
    if branch is not None:
        chosen = [ln.text for ln in at_step if ln.branch == branch]
        if chosen:
            return chosen
    plain = [ln.text for ln in at_step if ln.branch is None]
    if plain or branch is not None:
        return plain
    return [ln.text for ln in at_step]


class PatientLines(Static):
    """The simulated patient's strip; hidden unless the open task is a training run's."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__("", **kwargs)
        self.display = False
        self.shown: list[str] = []  # the scenario's lines shown now (tests read it)
        self.live: LiveLineOut | None = None

    def show_lines(
        self,
        title: str,
        step: str | None,
        said: list[str],
        live: LiveLineOut | None,
        voicemail: bool,
    ) -> None:
        """Draw the strip: the run's title, the step, the patient's lines and the live one."""
        self.shown = list(said)
        self.live = live
        where = STEP_TITLES.get(step or "", "after the script") if not voicemail else "voicemail"
        head = f"[b]Simulated patient[/b] · {escape(title)} · {escape(where)}"
        parts = [head]
        if voicemail:
            parts.append("[dim](no answer: the voicemail greeting plays)[/dim]")
        elif said:
            parts.extend(f"“{escape(text)}”" for text in said)
        else:
            parts.append("[dim](says nothing at this step)[/dim]")
        if live is not None:
            at = f" at {STEP_TITLES.get(live.step, live.step)}" if live.step else ""
            parts.append(f"[b]Trainer, as the patient{escape(at)}:[/b] “{escape(live.text)}”")
        self.update("\n".join(parts))
        self.display = True

    def hide(self) -> None:
        self.shown = []
        self.live = None
        self.display = False
        self.update("")
