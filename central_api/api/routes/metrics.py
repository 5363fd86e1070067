"""The follow-up figures of a practice and its exceptions review (managers, supervisors, admins).

The period is given as local days of the practice (`from` and `to` inclusive,
`YYYY-MM-DD`); at most `MAX_PERIOD_DAYS` days. Every read is audited (the
practice's id, never values). Figures and their definitions: `followup_core.metrics`.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Query
from sqlalchemy.orm import Session

from central_api import metrics as server_metrics
from central_api import models
from central_api.access import Scope, audit_access, deny, scope_for
from central_api.api.deps import ClientDep, MetricsReader, SessionDep
from central_api.db import begin_read
from central_api.errors import AUTH_ERRORS, ApiError, ErrorBody, responses
from central_api.models import utcnow
from followup_core import metrics as m
from followup_core.business_time import zone
from followup_core.enums import WorkflowId

router = APIRouter(prefix="/v1", tags=["metrics"], responses=AUTH_ERRORS)

MAX_PERIOD_DAYS = 400

_PERIOD_ERRORS: dict[int | str, dict[str, Any]] = {
    400: {
        "model": ErrorBody,
        "description": "`bad-period`: `to` is before `from`; `period-too-long`: more than "
        f"{MAX_PERIOD_DAYS} days",
    },
    **responses(404),
}

_FIGURE_DOC = "\n".join(
    f"- **{title}** (`{fid}`, {unit}): {definition}"
    for fid, (title, unit, definition) in m.DEFINITIONS.items()
)

PracticeParam = Annotated[str, Query(min_length=1, max_length=64, description="the practice")]
FromParam = Annotated[
    date, Query(alias="from", description="first local day of the period (YYYY-MM-DD)")
]
ToParam = Annotated[date, Query(description="last local day of the period, inclusive")]
WorkflowParam = Annotated[WorkflowId | None, Query(description="only this workflow")]
AssistantParam = Annotated[
    str | None, Query(min_length=1, max_length=64, description="only this assistant's work")
]


def _practice(session: Session, scope: Scope, practice_id: str, client: str) -> models.Practice:
    practice = session.get(models.Practice, practice_id)
    if practice is None or practice.id not in scope.practice_ids:
        raise deny(
            session, scope, resource=f"practice:{practice_id[:64]}", client=client, kind="practice"
        )
    return practice


def _period(start: date, end: date, tz: str, granularity: m.Granularity) -> m.Period:
    if end < start:
        raise ApiError(400, "bad-period", "the period ends before it starts")
    if (end - start).days + 1 > MAX_PERIOD_DAYS:
        raise ApiError(400, "period-too-long", f"a period may cover at most {MAX_PERIOD_DAYS} days")
    return m.Period(start, end, tz, granularity)


@router.get(
    "/metrics",
    response_model=m.MetricsReport,
    operation_id="metrics",
    responses=_PERIOD_ERRORS,
    summary="The follow-up figures of a practice over a period, with time series",
    description="Figures, each with its definition:\n\n" + _FIGURE_DOC,
)
def read_metrics(
    user: MetricsReader,
    session: SessionDep,
    client: ClientDep,
    practice_id: PracticeParam,
    from_: FromParam,
    to: ToParam,
    workflow: WorkflowParam = None,
    assistant_id: AssistantParam = None,
    granularity: Annotated[
        m.Granularity, Query(description="series buckets: local days or ISO weeks")
    ] = m.Granularity.DAY,
) -> m.MetricsReport:
    begin_read(session)
    scope = scope_for(session, user)
    practice = _practice(session, scope, practice_id, client)
    period = _period(from_, to, practice.timezone, granularity)
    as_of = utcnow()
    filters = server_metrics.Filters(
        workflow=workflow.value if workflow else None, assistant_id=assistant_id
    )
    figures = server_metrics.compute(session, practice, period, filters, as_of)
    staff = server_metrics.assistants(session, practice.id)
    session.rollback()  # end the read; the audit row is its own short write
    audit_access(
        session, scope, action="metrics.read", resource=f"practice:{practice.id}", client=client
    )
    session.commit()
    return m.MetricsReport(
        practice_id=practice.id,
        timezone=practice.timezone,
        period_start=period.start,
        period_end=period.end,
        granularity=granularity,
        workflow=filters.workflow,
        assistant_id=assistant_id,
        as_of=as_of,
        figures=figures,
        today=as_of.astimezone(zone(practice.timezone)).date(),
        assistants=staff,
    )


@router.get(
    "/metrics/exceptions",
    response_model=m.ExceptionsReport,
    operation_id="metrics_exceptions",
    responses=_PERIOD_ERRORS,
    summary="The exceptions review: recurring escalation reasons, repeated failed contact, "
    "conflicts, tasks past target (task and patient ids, never names)",
)
def read_exceptions(
    user: MetricsReader,
    session: SessionDep,
    client: ClientDep,
    practice_id: PracticeParam,
    from_: FromParam,
    to: ToParam,
    workflow: WorkflowParam = None,
    assistant_id: AssistantParam = None,
) -> m.ExceptionsReport:
    begin_read(session)
    scope = scope_for(session, user)
    practice = _practice(session, scope, practice_id, client)
    period = _period(from_, to, practice.timezone, m.Granularity.DAY)
    as_of = utcnow()
    filters = server_metrics.Filters(
        workflow=workflow.value if workflow else None, assistant_id=assistant_id
    )
    lists = server_metrics.exceptions(
        session,
        practice.id,
        period.starts_at,
        period.ends_at,
        filters,
        as_of,
        timezone=practice.timezone,
    )
    session.rollback()
    audit_access(
        session,
        scope,
        action="metrics.exceptions",
        resource=f"practice:{practice.id}",
        client=client,
    )
    session.commit()
    return m.ExceptionsReport(
        practice_id=practice.id,
        period_start=period.start,
        period_end=period.end,
        as_of=as_of,
        **lists,
    )
