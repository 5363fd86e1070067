"""What the training desk draws, as plain functions of the server's answers.

No widgets here: rows of the desk's tables, the lines of a run's expected
handling and simulated patient, the scored result and a trainee's progress, each
from the wire schemas of `followup_core.training.wire` (ids, codes, titles and
synthetic patients' lines only: a run lives on the training practice).
Times are shown in UTC (`%m-%d %H:%MZ`), scores as percent 0-100.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING

from rich.markup import escape
from rich.text import Text

if TYPE_CHECKING:
    from followup_core.training.evaluation import EvaluationForm, FormItem
    from followup_core.training.wire import (
        ExpectedOut,
        PatientLineOut,
        ProgressOut,
        RunOut,
        ScenarioSummary,
        TraineeOut,
    )

# Short workflow names for narrow columns (the ids are long).
WORKFLOW_SHORT = {
    "missed-call-recovery": "missed call",
    "appointment-confirmation": "confirm",
    "intake-completion": "intake",
    "referral-follow-up": "referral",
    "post-visit-scheduling": "post-visit",
    "prescription-message-routing": "rx message",
    "prior-authorization-status": "prior auth",
    "reactivation": "reactivate",
}

# The columns that matter most come first: narrow terminals scroll the rest.
SCENARIO_COLUMNS = ("Workflow", "Situation")
TRAINEE_COLUMNS = ("Trainee", "Last", "Runs", "Cleared for")
RUN_COLUMNS = ("Trainee", "Result", "Score", "Scenario", "Assigned")


def short_workflow(workflow: object) -> str:
    """A workflow id in a few characters ('appointment-confirmation' -> 'confirm')."""
    return WORKFLOW_SHORT.get(str(workflow), str(workflow))


def scenario_cells(s: ScenarioSummary) -> list[str]:
    """One library row: workflow (short), then the title without its workflow prefix
    ("Confirmation: patient confirms" -> "patient confirms"; the brief shows it whole)."""
    _, sep, rest = s.title.partition(": ")
    return [short_workflow(s.workflow), rest if sep else s.title]


def score_text(score: float | None) -> str:
    return "-" if score is None else f"{score:.0f}%"


def trainee_cells(t: TraineeOut) -> list[str]:
    """One trainee row: name, last score, runs (open ones), cleared workflows (short)."""
    cleared = ", ".join(short_workflow(w) for w in t.cleared) or "-"
    runs = f"{t.runs} ({t.open} open)" if t.open else str(t.runs)
    return [t.display_name, score_text(t.last_score), runs, cleared]


def result_text(run: RunOut) -> Text:
    """PASS / FAIL (with FATAL when a fatal item was hit) for a scored run; the
    progress of an assigned one (saved or not, items still to mark)."""
    e = run.evaluation
    if run.status == "scored":
        if e.fatal_hit:
            return Text("FAIL (fatal)", style="bold red")
        return Text("PASS", style="bold green") if e.passed else Text("FAIL", style="bold red")
    if run.outcome is None:
        return Text("in progress", style="yellow")
    return Text(f"to mark: {len(e.pending)}", style="bold yellow")


def run_cells(run: RunOut, names: dict[str, str]) -> list[Text | str]:
    """One run row: trainee, result (or progress), score (scored only), scenario, assigned."""
    return [
        names.get(run.trainee_id, run.trainee_id[:8]),
        result_text(run),
        score_text(run.evaluation.score) if run.status == "scored" else "-",
        run.title,
        run.created_at.strftime("%m-%d %H:%MZ"),
    ]


def expected_lines(expected: ExpectedOut | None) -> list[str]:
    """The scenario's expected handling, for the trainer (markup-escaped)."""
    if expected is None:
        return ["[dim]The expected handling is shown to trainers only.[/dim]"]
    route = f"escalate: {expected.route}" if expected.route else "no escalation"
    checks = [
        route,
        "verify ID first" if expected.identity_verified else "no ID check",
        "voicemail (safe text)" if expected.voicemail else "no voicemail",
    ]
    lines = [
        f"Expect [b]{escape(' or '.join(expected.outcomes))}[/b] · {escape(' · '.join(checks))}"
    ]
    if expected.next_step:
        lines.append(
            f"Next step: {escape(expected.next_step)}  due {escape(expected.next_due or '-')}"
        )
    lines.append(f"[i]{escape(expected.handling)}[/i]")
    return lines


def patient_lines(
    lines: Sequence[PatientLineOut], step_key: str | None, branch: str | None
) -> list[str]:
    """The simulated patient's lines, the ones at the trainee's step marked ▶.

    A line with a branch is marked only when that branch is taken (or none is yet).
    """
    out: list[str] = []
    for line in lines:
        here = line.step == step_key and (
            line.branch is None or branch is None or line.branch == branch
        )
        where = line.step + (f" / {line.branch}" if line.branch else "")
        text = f"{escape(where)}: “{escape(line.text)}”"
        out.append(f"[b reverse]▶ {text}[/b reverse]" if here else f"  [dim]{text}[/dim]")
    return out or ["[dim](no patient lines)[/dim]"]


def marked_items(form: EvaluationForm) -> list[FormItem]:
    """The form's items the trainer marks (the automatic ones are scored by the server)."""
    return [item for section in form.sections for item in section.items if item.auto is None]


def item_titles(form: EvaluationForm | None) -> dict[str, str]:
    """Item id -> its text, for naming fatal items and misses."""
    if form is None:
        return {}
    return {item.id: item.text for section in form.sections for item in section.items}


def result_lines(run: RunOut, titles: dict[str, str]) -> list[str]:
    """The scored result: score and pass/fail, fatal items hit, then each section."""
    e = run.evaluation
    if run.status == "scored":
        verdict = "[b green]PASS[/b green]" if e.passed else "[b red]FAIL[/b red]"
        head = f"Score [b]{e.score:.0f}%[/b]  {verdict}"
    else:
        head = f"Not scored yet: score so far [b]{e.score:.0f}%[/b]"
        if e.pending:
            head += f", {len(e.pending)} item(s) to mark"
        if run.outcome is None:
            head += ", the outcome is not saved"
    lines = [head, f"Outcome recorded: {escape(run.outcome or '-')}"]
    if e.fatal_hit:
        lines.append("[b red]Fatal items hit:[/b red]")
        lines += [f"  ✗ {escape(titles.get(i, i))}" for i in e.fatal_hit]
    else:
        lines.append("Fatal items hit: none")
    missed = [i for i, a in e.answers.items() if a == "no" and i not in e.fatal_hit]
    if missed:
        lines.append("Missed:")
        lines += [f"  · {escape(titles.get(i, i))}" for i in missed]
    return lines


def section_cells(run: RunOut) -> list[tuple[str, str, str, str]]:
    """Per-section rows: title, weight, points earned/possible, percent (N/A: '-')."""
    return [
        (
            s.title,
            str(s.weight),
            f"{s.earned}/{s.possible}",
            "-" if s.percent is None else f"{s.percent:.0f}%",
        )
        for s in run.evaluation.sections
    ]


def bar(percent: float | None, width: int = 20) -> str:
    """A text bar of `width` cells for 0-100 (empty for None)."""
    if percent is None:
        return "·" * width
    filled = round(max(0.0, min(100.0, percent)) * width / 100)
    return "█" * filled + "░" * (width - filled)


def progress_lines(progress: ProgressOut, titles: dict[str, str]) -> list[str]:
    """A trainee's form sections (percent of points over scored runs), the items they
    keep missing (twice or more), and how many runs hit a fatal item."""
    lines = ["[b]By form section[/b] (points earned over every scored run)"]
    for s in progress.sections:
        pct = "-" if s.percent is None else f"{s.percent:3.0f}%"
        lines.append(f"  {escape(s.title[:28]):<28} {bar(s.percent, 16)} {pct}")
    if not progress.sections:
        lines.append("  [dim](no scored runs yet)[/dim]")
    lines.append("[b]Keeps missing[/b]")
    if progress.repeated_misses:
        lines += [
            f"  {times} times: {escape(titles.get(item, item))}"
            for item, times in progress.repeated_misses
        ]
    else:
        lines.append("  [dim](nothing missed twice)[/dim]")
    lines.append(f"Runs with a fatal item: [b]{progress.fatal_runs}[/b]")
    return lines


def workflow_label(workflow: object, runs: int, passed: int, cleared: bool) -> str:
    """The label before a workflow's score sparkline in the progress view."""
    tick = "[b green]✓ cleared[/b green]" if cleared else "[dim]· not cleared[/dim]"
    return f"{escape(short_workflow(workflow)):<11} {runs:>2} run(s) {passed:>2} passed  {tick}"


def names_of(trainees: Iterable[TraineeOut]) -> dict[str, str]:
    return {t.id: t.display_name for t in trainees}
