"""Every router of the API; `create_app` includes each one in this order.

Append new routers to `ALL_ROUTERS` (keep existing entries).
"""

from __future__ import annotations

from fastapi import APIRouter

from central_api.api.routes import (
    attempts,
    audit,
    auth,
    escalations,
    events,
    fhir,
    health,
    me,
    metrics,
    practice_setup,
    presence,
    sessions,
    sync,
    tasks,
    team,
    training,
    webhooks,
)

ALL_ROUTERS: list[APIRouter] = [
    health.router,
    auth.router,
    me.router,
    presence.router,
    audit.router,
    sync.router,
    tasks.router,
    attempts.router,
    escalations.router,
    webhooks.router,
    events.router,
    sessions.router,
    team.router,
    fhir.router,
    practice_setup.router,
    training.router,
    metrics.router,
]
