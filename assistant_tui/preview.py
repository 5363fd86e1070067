"""`assistant-tui script-preview FILE WORKFLOW`: a script draft in the script pane, alone.

A manager (or the supervisor who will approve it) reads a practice file's
script as an assistant would see it: placeholders filled with synthetic sample
data (a sample patient, appointment or referral as the workflow has), steps
with space, branches on number keys, the voicemail-safe variant on `v`. The
workspace's own `ScriptPane` draws it, so the preview is what the workspace
shows. No server, no cache: the file is read locally.
"""

from __future__ import annotations

import argparse
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.widgets import Footer

from assistant_tui.widgets.script.pane import ScriptPane, ShownScript, Step

SAMPLE_NOTE = "DRAFT PREVIEW with sample data (not approved)"


def sample_script(text: str, workflow: str) -> ShownScript:
    """The file's script for `workflow`, filled with synthetic sample values.

    Raises ValueError with the file's problems (one per line) or when the file has
    no script for `workflow`.
    """
    from followup_core.enums import FocusKind, WorkflowId
    from followup_core.practice_file import WORKFLOW_FOCUS
    from followup_core.practice_toml import check_text
    from followup_core.schemas import (
        AppointmentOut,
        PatientOut,
        PracticeOut,
        ReferralOut,
        ScriptOut,
    )
    from followup_core.scripts import context_for, render

    model, problems = check_text(text)
    if model is None:
        raise ValueError("\n".join(str(p) for p in problems))
    found = next((s for s in model.scripts if s.workflow == workflow), None)
    if found is None:
        have = ", ".join(s.workflow for s in model.scripts) or "none"
        raise ValueError(f"the file has no script for {workflow!r} (it has: {have})")
    now = datetime.now(UTC)
    script = ScriptOut.model_validate(
        {
            "id": "preview",
            "workflow": workflow,
            "version": 1,
            "approved_by": "nobody yet",
            "approved_at": now,
            **found.body(),
        },
        strict=False,
    )
    p = model.practice
    practice = PracticeOut(
        id=p.id,
        name=p.name,
        timezone=p.timezone,
        phone=p.phone,
        business_hours=[],
        escalation_contacts=[],
        emergency_instruction=model.emergency_instruction,
        voicemail=model.voicemail,
    )
    patient = PatientOut.model_validate(
        {
            "id": "sample-patient",
            "practice_id": p.id,
            "given_name": "Alex",
            "family_name": "Sample",
            "date_of_birth": "1980-01-01",
            "phone": "+15555550100",
            "timezone": p.timezone,
            "preferred_language": "English",
            "interpreter_needed": False,
            "consent": {"phone": True, "voicemail": True},
            "intake_status": "missing",
        },
        strict=False,
    )
    focus = WORKFLOW_FOCUS[WorkflowId(workflow)]
    appointment = (
        AppointmentOut.model_validate(
            {
                "id": "sample-appointment",
                "practice_id": p.id,
                "patient_id": patient.id,
                "start_at": now + timedelta(days=2),
                "provider": "Dr. Sample Provider",
                "location": "Main office",
                "visit_type": "follow-up visit",
                "status": "booked",
            },
            strict=False,
        )
        if focus is FocusKind.APPOINTMENT
        else None
    )
    referral = (
        ReferralOut.model_validate(
            {
                "id": "sample-referral",
                "practice_id": p.id,
                "patient_id": patient.id,
                "specialty": "Sample specialty",
                "referred_at": now - timedelta(days=10),
                "status": "sent",
                "receiving_provider": "Sample Specialist Group",
            },
            strict=False,
        )
        if focus is FocusKind.REFERRAL
        else None
    )
    values = context_for(
        practice, patient, appointment, referral, True, assistant_name="Sam Sample"
    )
    rendered = render(script, values, practice.voicemail)
    return ShownScript(
        heading=f"{found.title} · {SAMPLE_NOTE}",
        steps=tuple(
            Step(s.title, s.text, tuple((b.label, b.text) for b in s.branches))
            for s in rendered.steps
        ),
        voicemail=rendered.voicemail,
        do_not_say=rendered.do_not_say,
    )


class PreviewApp(App[None]):
    """The script pane alone, on one script."""

    TITLE = "assistant-tui script preview"
    CSS = "ScriptPane { height: 1fr; border: round $primary; padding: 0 1; }"
    BINDINGS = [
        Binding("v", "voicemail", "Voicemail variant", id="preview.voicemail"),
        Binding("ctrl+q,q", "quit", "Quit", id="preview.quit"),
    ]

    def __init__(self, script: ShownScript) -> None:
        super().__init__()
        self._shown = script

    def compose(self) -> ComposeResult:
        yield ScriptPane(id="script")
        yield Footer()

    def on_mount(self) -> None:
        pane = self.query_one(ScriptPane)
        pane.show(self._shown)
        pane.focus()

    def action_voicemail(self) -> None:
        pane = self.query_one(ScriptPane)
        pane.voicemail = not pane.voicemail


def run_preview(args: argparse.Namespace) -> int:
    """Entry point of `assistant-tui script-preview FILE WORKFLOW`; 2 on a bad file."""
    path = Path(args.file)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        print(f"assistant-tui: cannot read {path}: {type(exc).__name__}", file=sys.stderr)
        return 2
    try:
        shown = sample_script(text, args.workflow)
    except ValueError as exc:
        print(f"assistant-tui: {path}: {exc}", file=sys.stderr)
        return 2
    PreviewApp(shown).run()
    return 0
