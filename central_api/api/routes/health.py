"""Liveness: answers without touching the database, so it is safe to poll."""

from __future__ import annotations

from fastapi import APIRouter

from followup_core.schemas import Health

router = APIRouter(prefix="/v1", tags=["health"])


@router.get("/health", response_model=Health, operation_id="health")
def health() -> Health:
    return Health(status="ok")
