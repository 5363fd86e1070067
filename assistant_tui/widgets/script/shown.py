"""From a task's context to the script the pane shows (A's `scripts.render`)."""

from __future__ import annotations

from typing import Any

from assistant_tui.widgets.script.pane import ShownScript, Step
from local_cache.views import TaskContext


def _pair(branch: Any) -> tuple[str, str]:
    if isinstance(branch, tuple):
        return str(branch[0]), str(branch[1])
    return str(branch.label), str(branch.text)


def shown_script(context: TaskContext, verified: bool) -> ShownScript:
    """Placeholders filled from the context; PHI placeholders only once verified."""
    from followup_core.scripts import context_for, render

    script = context.script
    assert script is not None
    values = context_for(
        context.practice, context.patient, context.appointment, context.referral, verified
    )
    rendered = render(script, values)
    steps = tuple(
        Step(
            title=str(step.title),
            text=str(step.text),
            branches=tuple(_pair(b) for b in step.branches),
        )
        for step in rendered.steps
    )
    approved = script.approved_at.date().isoformat()
    heading = f"{script.title} · v{script.version} · approved by {script.approved_by} on {approved}"
    voicemail = str(getattr(rendered, "voicemail", script.voicemail))
    return ShownScript(
        heading=heading,
        steps=steps,
        voicemail=voicemail,
        do_not_say=tuple(script.do_not_say),
    )
