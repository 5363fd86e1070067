"""Training: scenarios, runs (assign, events, marks, score), progress, sign-off.

Role matrix: trainers (and admins) assign, see every run, mark and clear; they
see only the training practice (runs live there). A trainee (an assistant) sees
and feeds only their own runs, and never marks one (403). Others get 404.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query
from sqlalchemy import select

from central_api import models
from central_api.api.deps import ClientDep, CurrentUser, SessionDep, require_roles
from central_api.errors import AUTH_ERRORS, ApiError, responses
from central_api.training import runs, shipped_forms, shipped_scenarios
from central_api.uow import UnitOfWork
from followup_core.enums import Role
from followup_core.training.evaluation import EvaluationForm, Mark
from followup_core.training.wire import (
    ClearanceIn,
    ClearanceOut,
    ExpectedOut,
    LiveLineIn,
    MarksIn,
    PatientLineOut,
    PatientLinesOut,
    ProgressOut,
    RunCreate,
    RunEventsAccepted,
    RunEventsIn,
    RunOut,
    RunScriptOut,
    ScenarioSummary,
    TraineeOut,
    progress_out,
)

router = APIRouter(prefix="/v1/training", tags=["training"], responses=AUTH_ERRORS)

Trainer = Annotated[models.User, Depends(require_roles(Role.TRAINER, Role.ADMIN))]
Trainee = Annotated[models.User, Depends(require_roles(Role.ASSISTANT))]


@router.get("/scenarios", response_model=list[ScenarioSummary], operation_id="list_scenarios")
def list_scenarios(user: Trainer) -> list[ScenarioSummary]:
    """The shipped scenario library, by id."""
    return [
        ScenarioSummary(
            id=s.id,
            version=s.version,
            title=s.title,
            workflow=s.workflow,
            situations=[str(x) for x in s.situations],
            brief=s.brief,
        )
        for _, s in sorted(shipped_scenarios().items())
    ]


@router.get("/forms", response_model=list[EvaluationForm], operation_id="list_training_forms")
def list_forms(user: Trainer) -> list[EvaluationForm]:
    """The shipped evaluation forms (every version), by id then version: sections, items,
    points, fatal and automatic items; the desk shows a run's items from here."""
    return [f for _, f in sorted(shipped_forms().items())]


@router.get(
    "/trainees",
    response_model=list[TraineeOut],
    operation_id="list_trainees",
    responses=responses(409),
)
def list_trainees(user: Trainer, session: SessionDep) -> list[TraineeOut]:
    """The active assistants of the training practice, by display name, with their
    clearances and run counts (409 `no-training-practice` when none is set up)."""
    out = runs.trainees_out(session, runs.training_practice(session))
    session.rollback()
    return out


@router.post(
    "/runs",
    status_code=201,
    response_model=RunOut,
    operation_id="assign_training_run",
    responses=responses(404, 409),
)
def assign_run(body: RunCreate, user: Trainer, session: SessionDep, client: ClientDep) -> RunOut:
    """Assign a scenario to a trainee: a task in their queue on the training practice."""
    with UnitOfWork(session, actor_id=user.id, client=client, feed=True) as uow:
        run = runs.assign(session, uow, user, body.scenario_id, body.trainee_id)
        out = runs.run_out(session, run)
    return out


@router.get(
    "/runs",
    response_model=list[RunOut],
    operation_id="list_training_runs",
    responses=responses(404, 409),
)
def list_runs(
    user: CurrentUser,
    session: SessionDep,
    trainee_id: Annotated[str | None, Query(max_length=64)] = None,
) -> list[RunOut]:
    """Runs, newest first (at most 200): a trainer's all, or one trainee's; a trainee's own.

    A `trainee_id` that is not a trainee the caller may see is 404.
    """
    trainer = user.role in (str(Role.TRAINER), str(Role.ADMIN))
    if trainee_id is not None and (not trainer and trainee_id != user.id):
        raise ApiError(404, "not-found", "no such trainee")
    if trainee_id is not None:
        runs.trainee(session, runs.training_practice(session), trainee_id)
    stmt = select(models.TrainingRun).order_by(models.TrainingRun.created_at.desc()).limit(200)
    if trainee_id is not None:
        stmt = stmt.where(models.TrainingRun.trainee_id == trainee_id)
    elif user.role == str(Role.ASSISTANT):
        stmt = stmt.where(models.TrainingRun.trainee_id == user.id)
    elif not trainer:
        session.rollback()
        return []
    out = [runs.run_out(session, r) for r in session.scalars(stmt).all()]
    session.rollback()
    return out


@router.get(
    "/runs/{run_id}",
    response_model=RunOut,
    operation_id="get_training_run",
    responses=responses(404),
)
def get_run(run_id: str, user: CurrentUser, session: SessionDep) -> RunOut:
    out = runs.run_out(session, runs.visible_run(session, user, run_id))
    session.rollback()
    return out


@router.get(
    "/runs/{run_id}/script",
    response_model=RunScriptOut,
    operation_id="get_training_run_script",
    responses=responses(404),
)
def get_run_script(run_id: str, user: CurrentUser, session: SessionDep) -> RunScriptOut:
    """The simulated patient's lines; the expected handling for the trainer, or once scored."""
    run = runs.visible_run(session, user, run_id)
    chosen = runs.scenario_of(run)
    show = user.id != run.trainee_id or run.status == "scored"
    exp = chosen.expected
    session.rollback()
    return RunScriptOut(
        run_id=run.id,
        lines=[PatientLineOut(step=ln.step, branch=ln.branch, text=ln.text) for ln in chosen.lines],
        expected=ExpectedOut(
            outcomes=list(exp.outcomes),
            route=exp.route,
            voicemail=exp.voicemail,
            identity_verified=exp.identity_verified,
            next_step=exp.next_step,
            next_due=exp.next_due,
            handling=exp.handling,
        )
        if show
        else None,
    )


@router.post(
    "/runs/{run_id}/events",
    status_code=202,
    response_model=RunEventsAccepted,
    operation_id="post_training_run_events",
    responses=responses(404, 409),
)
def post_events(
    run_id: str, body: RunEventsIn, user: Trainee, session: SessionDep, client: ClientDep
) -> RunEventsAccepted:
    """The trainee's workspace records the run's session events (the mirror can feed this)."""
    with UnitOfWork(session, actor_id=user.id, client=client):
        run = runs.visible_run(session, user, run_id)
        recorded = runs.record_events(session, run, body)
        total = runs.event_count(session, run)
    return RunEventsAccepted(recorded=recorded, total=total)


@router.put(
    "/runs/{run_id}/marks",
    response_model=RunOut,
    operation_id="mark_training_run",
    responses=responses(404, 409, 422),
)
def put_marks(
    run_id: str, body: MarksIn, user: Trainer, session: SessionDep, client: ClientDep
) -> RunOut:
    """The trainer's answers to trainer-marked items (a comment on every "no").

    A trainee (an assistant) gets 403: nobody marks their own run."""
    marks = [Mark(m.item_id, m.answer, m.comment) for m in body.marks]
    with UnitOfWork(session, actor_id=user.id, client=client) as uow:
        run = runs.visible_run(session, user, run_id)
        runs.mark(session, uow, user, run, marks)
        out = runs.run_out(session, run)
    return out


@router.post(
    "/clearances",
    status_code=201,
    response_model=ClearanceOut,
    operation_id="clear_trainee",
    responses=responses(404, 409),
)
def post_clearance(
    body: ClearanceIn, user: Trainer, session: SessionDep, client: ClientDep
) -> ClearanceOut:
    """Sign a trainee off for real work in one workflow (audited)."""
    with UnitOfWork(session, actor_id=user.id, client=client) as uow:
        row = runs.clear(session, uow, user, body.assistant_id, body.workflow)
        out = ClearanceOut(
            assistant_id=row.user_id,
            workflow=body.workflow,
            cleared_by=row.cleared_by,
            cleared_at=row.cleared_at,
        )
    return out


@router.get(
    "/trainees/{trainee_id}/progress",
    response_model=ProgressOut,
    operation_id="get_trainee_progress",
    responses=responses(404),
)
def get_progress(trainee_id: str, user: CurrentUser, session: SessionDep) -> ProgressOut:
    """A trainee's runs by workflow and form section, repeated misses, clearances."""
    if user.role not in (str(Role.TRAINER), str(Role.ADMIN)) and user.id != trainee_id:
        raise ApiError(404, "not-found", "no such trainee")
    runs.trainee(session, runs.training_practice(session), trainee_id)
    out = progress_out(trainee_id, runs.trainee_progress(session, trainee_id))
    session.rollback()
    return out


@router.post(
    "/runs/{run_id}/lines",
    status_code=201,
    response_model=PatientLinesOut,
    operation_id="say_training_line",
    responses=responses(404, 409, 422),
)
def post_line(
    run_id: str, body: LiveLineIn, user: Trainer, session: SessionDep, client: ClientDep
) -> PatientLinesOut:
    """The trainer types a line as the run's simulated patient, live (instead of the
    scenario's lines); the trainee's workspace hears a `training` event with the run's
    id and reads the lines here. 409 `run-scored` once the run is scored; audited."""
    with UnitOfWork(session, actor_id=user.id, client=client) as uow:
        run = runs.visible_run(session, user, run_id)
        runs.say(session, uow, user, run, body)
        out = runs.lines_out(session, run)
    return out


@router.get(
    "/runs/{run_id}/lines",
    response_model=PatientLinesOut,
    operation_id="list_training_lines",
    responses=responses(404),
)
def get_lines(run_id: str, user: CurrentUser, session: SessionDep) -> PatientLinesOut:
    """The lines the trainer typed live as the run's patient, oldest first (the latest 200).

    The run's trainee and the trainers see them; anyone else gets 404."""
    out = runs.lines_out(session, runs.visible_run(session, user, run_id))
    session.rollback()
    return out
