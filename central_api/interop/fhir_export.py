"""FHIR R4 export: our tasks as Task, our attempts as Communication, in searchset Bundles.

Search parameters (FHIR R4 "Search"): `_lastUpdated` with the prefixes ge, gt, le,
lt (repeatable; a bare date or dateTime means ge), `_count` (page size, 1..500,
default 100). Pages follow keyset order (last updated, id); the `next` link carries
an opaque `_page` token. `meta.lastUpdated` is a task's `updated_at` and an
attempt's `recorded_at` (UTC).

The attempt's free-text notes are not exported (minimum necessary: the outcome
code says what happened); neither is an unmatched caller's number.
"""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session

from central_api import models
from central_api.errors import ApiError
from followup_core.schemas import SCHEDULABLE_MESSAGE, is_schedulable

DEFAULT_COUNT = 100
MAX_COUNT = 500
TASK_SYSTEM = "urn:assistant-tui:task"
ATTEMPT_SYSTEM = "urn:assistant-tui:attempt"
WORKFLOW_SYSTEM = "urn:assistant-tui:workflow"
OUTCOME_SYSTEM = "urn:assistant-tui:outcome"
BUSINESS_STATUS_SYSTEM = "urn:assistant-tui:business-status"
# HL7 v3 ParticipationMode: how a Communication was made.
MODE_SYSTEM = "http://terminology.hl7.org/CodeSystem/v3-ParticipationMode"
_MODES = {
    "phone": ("PHONE", "telephone"),
    "voicemail": ("VOICEMAIL", "voice message"),
    "sms": ("SMSWRIT", "SMS message"),
    "email": ("EMAILWRIT", "email"),
    "portal": ("ELECTRONIC", "electronic data"),
}
_PREFIXES = ("ge", "gt", "le", "lt")


@dataclass(frozen=True)
class Bound:
    op: str  # ge | gt | le | lt
    at: datetime


def _bad(message: str) -> ApiError:
    return ApiError(400, "bad-search", message)


def parse_last_updated(values: list[str]) -> list[Bound]:
    """`_lastUpdated` values as bounds; 400 for a prefix or date we do not read."""
    bounds: list[Bound] = []
    for raw in values[:4]:
        text = raw.strip()
        op = text[:2] if text[:2] in _PREFIXES else "ge"
        if text[:2].isalpha() and op != text[:2]:
            raise _bad("_lastUpdated: use the prefixes ge, gt, le or lt")
        stamp = text[2:] if text[:2] in _PREFIXES else text
        try:
            when = datetime.fromisoformat(stamp.replace("Z", "+00:00"))
        except ValueError:
            raise _bad("_lastUpdated: not a FHIR date or dateTime") from None
        if not is_schedulable(when):
            raise ApiError(422, "invalid-request", f"_lastUpdated: {SCHEDULABLE_MESSAGE}")
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        bounds.append(Bound(op, when.astimezone(UTC)))
    if len(values) > 4:
        raise _bad("_lastUpdated: at most four bounds")
    return bounds


def encode_page(at: datetime, record_id: str) -> str:
    raw = json.dumps([at.astimezone(UTC).isoformat(), record_id]).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_page(token: str | None) -> tuple[datetime, str] | None:
    if not token:
        return None
    if len(token) > 300:
        raise _bad("_page: not a page this server issued")
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        at, record_id = json.loads(raw)
        when = datetime.fromisoformat(at)
        if when.tzinfo is None or not isinstance(record_id, str) or not is_schedulable(when):
            raise ValueError
    except (binascii.Error, ValueError, TypeError, UnicodeDecodeError):
        raise _bad("_page: not a page this server issued") from None
    return when, record_id


def _window(
    column: Any, id_column: Any, bounds: list[Bound], after: tuple[datetime, str] | None
) -> list[Any]:
    clauses: list[Any] = []
    for bound in bounds:
        clauses.append(
            {
                "ge": column >= bound.at,
                "gt": column > bound.at,
                "le": column <= bound.at,
                "lt": column < bound.at,
            }[bound.op]
        )
    if after is not None:
        clauses.append(or_(column > after[0], and_(column == after[0], id_column > after[1])))
    return clauses


def _z(value: datetime | None) -> str | None:
    if value is None:
        return None
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


def task_resource(task: models.Task) -> dict[str, Any]:
    """Our task as a FHIR R4 Task."""
    res: dict[str, Any] = {
        "resourceType": "Task",
        "id": task.id,
        "meta": {"lastUpdated": _z(task.updated_at), "versionId": str(task.version)},
        "identifier": [{"system": TASK_SYSTEM, "value": task.id}],
        "status": task.status,
        "intent": "order",
        "priority": task.priority,
        "code": {"coding": [{"system": WORKFLOW_SYSTEM, "code": task.workflow}]},
        "authoredOn": _z(task.created_at),
        "lastModified": _z(task.updated_at),
        "restriction": {"period": {"end": _z(task.due_at)}},
    }
    if task.business_status:
        res["businessStatus"] = {
            "coding": [{"system": BUSINESS_STATUS_SYSTEM, "code": task.business_status}],
            "text": task.business_status,
        }
    if task.next_action:
        res["description"] = task.next_action
    if task.patient_id:
        res["for"] = {"reference": f"Patient/{task.patient_id}"}
    if task.focus_kind and task.focus_id:
        rtype = "Appointment" if task.focus_kind == "appointment" else "ServiceRequest"
        res["focus"] = {"reference": f"{rtype}/{task.focus_id}"}
    if task.owner_id:
        res["owner"] = {"reference": f"Practitioner/{task.owner_id}"}
    return res


def communication_resource(attempt: models.Attempt, task: models.Task) -> dict[str, Any]:
    """Our attempt as a FHIR R4 Communication (the contact happened: status completed)."""
    mode = _MODES.get(attempt.channel, ("ELECTRONIC", "electronic data"))
    res: dict[str, Any] = {
        "resourceType": "Communication",
        "id": attempt.id,
        "meta": {"lastUpdated": _z(attempt.recorded_at)},
        "identifier": [{"system": ATTEMPT_SYSTEM, "value": attempt.id}],
        "basedOn": [{"reference": f"Task/{task.id}"}],
        "status": "completed",
        "medium": [{"coding": [{"system": MODE_SYSTEM, "code": mode[0], "display": mode[1]}]}],
        "sent": _z(attempt.started_at),
        "sender": {"reference": f"Practitioner/{attempt.assistant_id}"},
        "statusReason": {"coding": [{"system": OUTCOME_SYSTEM, "code": attempt.outcome}]},
    }
    if task.patient_id:
        res["subject"] = {"reference": f"Patient/{task.patient_id}"}
        res["recipient"] = [{"reference": f"Patient/{task.patient_id}"}]
    return res


@dataclass
class Page:
    resources: list[dict[str, Any]]
    next_token: str | None


def task_page(
    session: Session,
    practice_ids: list[str],
    bounds: list[Bound],
    count: int,
    after: tuple[datetime, str] | None,
) -> Page:
    t = models.Task
    rows = session.scalars(
        select(t)
        .where(t.practice_id.in_(practice_ids), *_window(t.updated_at, t.id, bounds, after))
        .order_by(t.updated_at, t.id)
        .limit(count + 1)
    ).all()
    more = len(rows) > count
    rows = rows[:count]
    token = encode_page(rows[-1].updated_at, rows[-1].id) if more and rows else None
    return Page([task_resource(r) for r in rows], token)


def communication_page(
    session: Session,
    practice_ids: list[str],
    bounds: list[Bound],
    count: int,
    after: tuple[datetime, str] | None,
) -> Page:
    a, t = models.Attempt, models.Task
    rows = session.execute(
        select(a, t)
        .join(t, t.id == a.task_id)
        .where(t.practice_id.in_(practice_ids), *_window(a.recorded_at, a.id, bounds, after))
        .order_by(a.recorded_at, a.id)
        .limit(count + 1)
    ).all()
    more = len(rows) > count
    rows = rows[:count]
    token = encode_page(rows[-1][0].recorded_at, rows[-1][0].id) if more and rows else None
    return Page([communication_resource(att, task) for att, task in rows], token)


def searchset(
    base_url: str, rtype: str, page: Page, self_url: str, next_url: str | None
) -> dict[str, Any]:
    """A searchset Bundle of one page, with self and next links."""
    links = [{"relation": "self", "url": self_url}]
    if next_url is not None:
        links.append({"relation": "next", "url": next_url})
    return {
        "resourceType": "Bundle",
        "type": "searchset",
        "timestamp": _z(models.utcnow()),
        "link": links,
        "entry": [
            {
                "fullUrl": f"{base_url}/v1/fhir/{rtype}/{res['id']}",
                "resource": res,
                "search": {"mode": "match"},
            }
            for res in page.resources
        ],
    }
