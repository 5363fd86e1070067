"""Reading the audit log, page by page, for supervisors and admins."""

from __future__ import annotations

import base64
import binascii
import re
from typing import Annotated

from fastapi import APIRouter, Depends, Query
from sqlalchemy import select

from central_api.api.deps import SessionDep, require_roles
from central_api.db import begin_read
from central_api.errors import AUTH_ERRORS, ApiError, responses
from central_api.models import AuditEntry, User
from followup_core.enums import Role
from followup_core.schemas import AuditPage, AuditRow

router = APIRouter(prefix="/v1", tags=["audit"], responses=AUTH_ERRORS)

Auditor = Annotated[User, Depends(require_roles(Role.SUPERVISOR, Role.ADMIN))]

_CURSOR = re.compile(r"audit:(0|[1-9][0-9]{0,18})")


def encode_cursor(seq: int) -> str:
    return base64.urlsafe_b64encode(f"audit:{seq}".encode()).decode().rstrip("=")


def decode_cursor(cursor: str | None) -> int:
    """The last `seq` the caller has seen; 400 `bad-cursor` for anything we did not issue."""
    if not cursor:
        return 0
    if len(cursor) > 64:
        raise ApiError(400, "bad-cursor", "the cursor was not issued by this server")
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        raw = base64.urlsafe_b64decode(padded.encode("ascii")).decode("ascii")
    except (ValueError, binascii.Error, UnicodeError):
        raw = ""
    match = _CURSOR.fullmatch(raw)
    if match is None or encode_cursor(int(match.group(1))) != cursor:
        raise ApiError(400, "bad-cursor", "the cursor was not issued by this server")
    return int(match.group(1))


@router.get(
    "/audit",
    response_model=AuditPage,
    operation_id="audit",
    responses=responses(400),
)
def read_audit(
    _user: Auditor,
    session: SessionDep,
    after: Annotated[str | None, Query(description="cursor from the previous page")] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> AuditPage:
    last_seen = decode_cursor(after)
    begin_read(session)  # a pure read: no write lock on SQLite (the teardown ends it)
    rows = list(
        session.scalars(
            select(AuditEntry)
            .where(AuditEntry.seq > last_seen)
            .order_by(AuditEntry.seq)
            .limit(limit + 1)
        )
    )
    has_more = len(rows) > limit
    rows = rows[:limit]
    cursor = encode_cursor(rows[-1].seq if rows else last_seen)
    return AuditPage(
        cursor=cursor,
        has_more=has_more,
        rows=[
            AuditRow(
                seq=r.seq,
                at=r.at,
                actor_id=r.actor_id,
                action=r.action,
                resource=r.resource,
                client=r.client,
                hash=r.hash,
            )
            for r in rows
        ],
    )
