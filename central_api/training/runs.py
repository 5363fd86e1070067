"""Training runs on the server: assign, record events, mark, score, clear (sign-off).

A run is a task on the training practice owned by the trainee, about a synthetic
patient made from the scenario (never a real practice's data). Its score is
recomputed from what is stored: the recorded session events, the task's saved
attempt and the trainer's marks (`followup_core.training.evaluation.evaluate`).
Assigning, scoring and clearing are audited.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from pydantic import TypeAdapter
from sqlalchemy import select
from sqlalchemy.orm import Session

from central_api import models
from central_api.assignment import announce_task
from central_api.errors import ApiError
from central_api.events import note_training
from central_api.training import default_form, shipped_forms, shipped_scenarios
from central_api.triggers.rules import Practices
from central_api.uow import UnitOfWork
from followup_core.enums import Channel, EscalationRoute, Role, TaskStatus, WorkflowId
from followup_core.training.evaluation import (
    Answer,
    Evaluation,
    EvaluationForm,
    Mark,
    MarkRefused,
    check_mark,
    evaluate,
)
from followup_core.training.progress import Progress, ScoredRun, progress
from followup_core.training.run import RunEvent, RunOutcome, RunRecord
from followup_core.training.scenarios import Scenario, Situation
from followup_core.training.wire import (
    LiveLineIn,
    LiveLineOut,
    PatientLinesOut,
    RunEventsIn,
    RunOut,
    TraineeOut,
    evaluation_out,
)
from followup_core.workflows import WORKFLOWS

_EVENT = TypeAdapter(RunEvent)


def training_practice(session: Session) -> models.Practice:
    """The training practice (the seeded one flagged is_training); 409 if there is none."""
    practice = session.scalars(
        select(models.Practice).where(models.Practice.is_training).order_by(models.Practice.id)
    ).first()
    if practice is None:
        raise ApiError(409, "no-training-practice", "no practice is set up for training")
    return practice


def scenario(scenario_id: str) -> Scenario:
    """A shipped scenario (404 `not-found` if unknown)."""
    found = shipped_scenarios().get(scenario_id)
    if found is None:
        raise ApiError(404, "not-found", "no such scenario")
    return found


def form_of(run: models.TrainingRun) -> EvaluationForm:
    return shipped_forms()[(run.form_id, run.form_version)]


def scenario_of(run: models.TrainingRun) -> Scenario:
    return scenario(run.scenario_id)


def trainee(session: Session, practice: models.Practice, user_id: str) -> models.User:
    """An active assistant linked to the training practice (404 otherwise)."""
    user = session.get(models.User, user_id)
    linked = session.get(models.UserPractice, (user_id, practice.id))
    if user is None or not user.active or user.role != str(Role.ASSISTANT) or linked is None:
        raise ApiError(404, "not-found", "no such trainee on the training practice")
    return user


def assign(
    session: Session, uow: UnitOfWork, trainer: models.User, scenario_id: str, trainee_id: str
) -> models.TrainingRun:
    """Create the synthetic patient, the task in the trainee's queue and the run."""
    practice = training_practice(session)
    chosen = scenario(scenario_id)
    learner = trainee(session, practice, trainee_id)
    form = default_form()
    now = models.utcnow()
    p = chosen.patient
    patient = models.Patient(
        id=models.new_id(),
        practice_id=practice.id,
        given_name=p.first_name,
        family_name=p.last_name,
        date_of_birth=p.dob,
        phone=p.phone,
        timezone=practice.timezone,
        preferred_language=p.preferred_language,
        interpreter_needed=Situation.INTERPRETER in chosen.situations,
        consent={"phone": True, "voicemail": True, "sms": True, "portal": True, "email": False},
        intake_status="complete",
        version=1,
    )
    session.add(patient)
    practices = Practices(session)
    workflow = WORKFLOWS[chosen.workflow]
    task = models.Task(
        id=models.new_id(),
        practice_id=practice.id,
        workflow=str(chosen.workflow),
        status=str(TaskStatus.READY),
        business_status=None,
        priority="routine",
        owner_id=learner.id,
        patient_id=patient.id,
        caller_phone=None,
        focus_kind=None,
        focus_id=None,
        due_at=practices.calendar(practice.id).due_for(now, workflow.response_target),
        attempts=chosen.prior_failed_attempts,
        next_attempt_at=None,
        next_action=f"Training: {chosen.brief}"[:200],
        version=1,
        script_id=practices.script(practice.id, chosen.workflow),
        needs_review=False,
        created_at=now,
        updated_at=now,
    )
    session.add(task)
    session.flush()
    announce_task(session, task)
    run = models.TrainingRun(
        id=models.new_id(),
        practice_id=practice.id,
        scenario_id=chosen.id,
        scenario_version=chosen.version,
        form_id=form.id,
        form_version=form.version,
        trainee_id=learner.id,
        trainer_id=trainer.id,
        task_id=task.id,
        workflow=str(chosen.workflow),
        status="assigned",
        created_at=now,
    )
    session.add(run)
    session.flush()
    uow.audit("training.assign", f"training-run:{run.id}")
    return run


def visible_run(session: Session, user: models.User, run_id: str) -> models.TrainingRun:
    """The run if the caller may see it: its trainee, or a trainer/admin (404 otherwise)."""
    run = session.get(models.TrainingRun, run_id)
    if run is None or not may_see(user, run):
        raise ApiError(404, "not-found", "no such training run")
    return run


def may_see(user: models.User, run: models.TrainingRun) -> bool:
    if user.role in (str(Role.TRAINER), str(Role.ADMIN)):
        return True
    return user.id == run.trainee_id


def record_events(session: Session, run: models.TrainingRun, body: RunEventsIn) -> int:
    """Append a batch of the run's events; 409 once the run is scored."""
    if run.status == "scored":
        raise ApiError(409, "run-scored", "the run is scored; its events are closed")
    for event in body.events:
        session.add(models.TrainingRunEvent(run_id=run.id, body=event.model_dump(mode="json")))
    session.flush()
    return len(body.events)


def event_count(session: Session, run: models.TrainingRun) -> int:
    return len(events_of(session, run))


def events_of(session: Session, run: models.TrainingRun) -> list[RunEvent]:
    rows = session.scalars(
        select(models.TrainingRunEvent.body)
        .where(models.TrainingRunEvent.run_id == run.id)
        .order_by(models.TrainingRunEvent.seq)
    )
    return [_EVENT.validate_python(body) for body in rows]


def outcome_of(session: Session, run: models.TrainingRun, chosen: Scenario) -> RunOutcome | None:
    """The run's task's latest saved attempt, with the escalation raised on the task."""
    attempt = session.scalars(
        select(models.Attempt)
        .where(models.Attempt.task_id == run.task_id)
        .order_by(models.Attempt.recorded_at.desc(), models.Attempt.id)
        .limit(1)
    ).first()
    if attempt is None:
        return None
    routes = [
        EscalationRoute(r)
        for r in session.scalars(
            select(models.Escalation.route).where(models.Escalation.task_id == run.task_id)
        )
    ]
    expected = chosen.expected.route
    route = expected if expected in routes else (routes[0] if routes else None)
    return RunOutcome(
        outcome=attempt.outcome,
        channel=Channel(attempt.channel),
        identity_verified=attempt.identity_verified,
        escalation_route=route,
        next_step=attempt.next_step_action is not None and attempt.next_step_due_at is not None,
    )


def marks_of(session: Session, run: models.TrainingRun) -> list[Mark]:
    rows = session.scalars(
        select(models.TrainingMark).where(models.TrainingMark.run_id == run.id)
    ).all()
    return [Mark(m.item_id, Answer(m.answer), m.comment) for m in rows]


def evaluation(session: Session, run: models.TrainingRun) -> tuple[Evaluation, RunOutcome | None]:
    chosen = scenario_of(run)
    outcome = outcome_of(session, run, chosen)
    record = RunRecord(events=tuple(events_of(session, run)), outcome=outcome)
    return evaluate(
        form_of(run), chosen.expected.expected(), record, marks_of(session, run)
    ), outcome


def mark(
    session: Session,
    uow: UnitOfWork,
    trainer: models.User,
    run: models.TrainingRun,
    marks: Sequence[Mark],
) -> None:
    """Store the trainer's marks (422 `mark-refused` for a bad one: none is stored);
    score the run when its outcome is saved and every item is marked (audited)."""
    if trainer.id == run.trainee_id:
        raise ApiError(403, "forbidden", "a trainee cannot mark their own run")
    if run.status == "scored":
        raise ApiError(409, "run-scored", "the run is already scored")
    form = form_of(run)
    try:
        for m in marks:
            check_mark(form, m)
    except MarkRefused as exc:
        raise ApiError(422, exc.code, exc.message) from None
    now = models.utcnow()
    for m in marks:
        row = session.get(models.TrainingMark, (run.id, m.item_id))
        if row is None:
            row = models.TrainingMark(run_id=run.id, item_id=m.item_id)
            session.add(row)
        row.answer = m.answer.value
        row.comment = m.comment
        row.marked_by = trainer.id
        row.marked_at = now
    session.flush()
    result, outcome = evaluation(session, run)
    if outcome is not None and result.complete:
        run.status = "scored"
        run.score = result.score
        run.passed = result.passed
        run.scored_at = now
        uow.audit("training.score", f"training-run:{run.id}")
        note_training(session, run.id, {run.trainee_id, run.trainer_id})  # both see the result


def run_out(session: Session, run: models.TrainingRun) -> RunOut:
    result, outcome = evaluation(session, run)
    chosen = scenario_of(run)
    return RunOut(
        id=run.id,
        scenario_id=run.scenario_id,
        scenario_version=run.scenario_version,
        title=chosen.title,
        workflow=WorkflowId(run.workflow),
        trainee_id=run.trainee_id,
        trainer_id=run.trainer_id,
        task_id=run.task_id,
        status="scored" if run.status == "scored" else "assigned",
        created_at=run.created_at,
        scored_at=run.scored_at,
        outcome=outcome.outcome if outcome else None,
        evaluation=evaluation_out(result),
    )


def clear(
    session: Session,
    uow: UnitOfWork,
    trainer: models.User,
    assistant_id: str,
    workflow: WorkflowId,
) -> models.TrainingClearance:
    """Clear an assistant of the training practice for real work in a workflow (audited)."""
    learner = trainee(session, training_practice(session), assistant_id)
    row = session.get(models.TrainingClearance, (learner.id, str(workflow)))
    if row is None:
        row = models.TrainingClearance(
            user_id=learner.id, workflow=str(workflow), cleared_by=trainer.id
        )
        session.add(row)
    row.cleared_by = trainer.id
    row.cleared_at = models.utcnow()
    session.flush()
    uow.audit(f"training.clear.{workflow.value}", f"user:{learner.id}")
    return row


def trainee_progress(session: Session, trainee_id: str) -> Progress:
    runs = session.scalars(
        select(models.TrainingRun).where(
            models.TrainingRun.trainee_id == trainee_id, models.TrainingRun.status == "scored"
        )
    ).all()
    scored: list[ScoredRun] = []
    for run in runs:
        result, _ = evaluation(session, run)
        when: datetime = run.scored_at or run.created_at
        scored.append(ScoredRun(run.id, when, WorkflowId(run.workflow), run.scenario_id, result))
    cleared = {
        WorkflowId(w)
        for w in session.scalars(
            select(models.TrainingClearance.workflow).where(
                models.TrainingClearance.user_id == trainee_id
            )
        )
    }
    return progress(scored, cleared)


LIVE_LINES_SHOWN = 200


def say(
    session: Session,
    uow: UnitOfWork,
    trainer: models.User,
    run: models.TrainingRun,
    line: LiveLineIn,
) -> None:
    """Store a line the trainer typed as the run's simulated patient and nudge the run's
    trainee and trainer with a `training` event (ids only). 409 once the run is scored.
    The text is synthetic (the trainer plays a made-up patient); audited without it."""
    if run.status == "scored":
        raise ApiError(409, "run-scored", "the run is scored; the call is over")
    session.add(
        models.TrainingLine(
            run_id=run.id,
            from_user_id=trainer.id,
            step=line.step,
            text=line.text,
            created_at=models.utcnow(),
        )
    )
    session.flush()
    note_training(session, run.id, {run.trainee_id, run.trainer_id, trainer.id})
    uow.audit("training.line", f"training-run:{run.id}")


def lines_out(session: Session, run: models.TrainingRun) -> PatientLinesOut:
    """The run's live lines, oldest first (the latest LIVE_LINES_SHOWN)."""
    rows = list(
        session.scalars(
            select(models.TrainingLine)
            .where(models.TrainingLine.run_id == run.id)
            .order_by(models.TrainingLine.seq.desc())
            .limit(LIVE_LINES_SHOWN)
        )
    )
    rows.reverse()
    return PatientLinesOut(
        run_id=run.id,
        lines=[
            LiveLineOut(seq=r.seq, step=r.step, text=r.text, created_at=r.created_at) for r in rows
        ],
    )


def trainees_out(session: Session, practice: models.Practice) -> list[TraineeOut]:
    """The training practice's active assistants with clearances and run counts."""
    users = session.scalars(
        select(models.User)
        .join(models.UserPractice, models.UserPractice.user_id == models.User.id)
        .where(
            models.UserPractice.practice_id == practice.id,
            models.User.role == str(Role.ASSISTANT),
            models.User.active,
        )
        .order_by(models.User.display_name, models.User.id)
    ).all()
    ids = [u.id for u in users]
    cleared: dict[str, list[WorkflowId]] = {}
    for user_id, workflow in session.execute(
        select(models.TrainingClearance.user_id, models.TrainingClearance.workflow).where(
            models.TrainingClearance.user_id.in_(ids)
        )
    ):
        cleared.setdefault(user_id, []).append(WorkflowId(workflow))
    counts: dict[str, list[models.TrainingRun]] = {}
    for run in session.scalars(
        select(models.TrainingRun)
        .where(models.TrainingRun.trainee_id.in_(ids))
        .order_by(models.TrainingRun.created_at)
    ):
        counts.setdefault(run.trainee_id, []).append(run)
    out: list[TraineeOut] = []
    for user in users:
        mine = counts.get(user.id, [])
        scored = [r for r in mine if r.status == "scored"]
        scored.sort(key=lambda r: r.scored_at or r.created_at)
        out.append(
            TraineeOut(
                id=user.id,
                display_name=user.display_name,
                cleared=sorted(cleared.get(user.id, []), key=str),
                runs=len(mine),
                scored=len(scored),
                open=len(mine) - len(scored),
                last_score=scored[-1].score if scored else None,
            )
        )
    return out
