"""From a task's context to the script the pane shows (A's `scripts.render`)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from assistant_tui.widgets.script.pane import ShownScript, Step

# Annotations only: importing local_cache pulls in SQLAlchemy.
if TYPE_CHECKING:
    from local_cache.views import TaskContext


def shown_script(
    context: TaskContext, verified: bool, assistant_name: str | None = None
) -> ShownScript:
    """Placeholders filled from the context; PHI placeholders only once verified."""
    from followup_core.scripts import context_for, render

    script = context.script
    assert script is not None
    values = context_for(
        context.practice,
        context.patient,
        context.appointment,
        context.referral,
        verified,
        assistant_name=assistant_name,
    )
    rendered = render(script, values, context.practice.voicemail)
    steps = tuple(
        Step(
            title=step.title,
            text=step.text,
            branches=tuple((b.label, b.text) for b in step.branches),
        )
        for step in rendered.steps
    )
    approved = script.approved_at.date().isoformat()
    heading = f"{script.title} · v{script.version} · approved by {script.approved_by} on {approved}"
    return ShownScript(
        heading=heading,
        steps=steps,
        voicemail=rendered.voicemail,
        do_not_say=rendered.do_not_say,
    )
