"""Pure helpers for the queue: short labels, filter matching, urgency flags."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from assistant_tui.timefmt import DUE_SOON
from followup_core.enums import WorkflowId

# Annotations only: importing local_cache pulls in SQLAlchemy.
if TYPE_CHECKING:
    from local_cache.views import QueueRow


WORKFLOW_SHORT: dict[str, str] = {
    WorkflowId.MISSED_CALL_RECOVERY: "missed-call",
    WorkflowId.APPOINTMENT_CONFIRMATION: "confirm",
    WorkflowId.INTAKE_COMPLETION: "intake",
    WorkflowId.REFERRAL_FOLLOW_UP: "referral",
    WorkflowId.POST_VISIT_SCHEDULING: "post-visit",
    WorkflowId.PRESCRIPTION_MESSAGE_ROUTING: "rx-message",
    WorkflowId.PRIOR_AUTHORIZATION_STATUS: "prior-auth",
    WorkflowId.REACTIVATION: "reactivate",
}


def urgency(row: QueueRow, now: datetime) -> str:
    """'overdue', 'due-soon' or '' for a row at `now`."""
    if row.due_at <= now:
        return "overdue"
    if row.due_at - now <= DUE_SOON:
        return "due-soon"
    return ""


def search_text(row: QueueRow) -> str:
    """What a filter is matched against (lower case), built once per row."""
    return " ".join(
        (
            row.workflow.value,
            WORKFLOW_SHORT.get(row.workflow, ""),
            row.priority.value,
            row.status.value,
            row.business_status or "",
            row.patient_label,
            "pending" if row.pending else "",
        )
    ).lower()


def matches(tokens: list[str], text: str, flag: str) -> bool:
    """Every token must match: 'overdue'/'due-soon' test the flag, others are substrings."""
    for token in tokens:
        if token in ("overdue", "due-soon"):
            if flag != token:
                return False
        elif token not in text:
            return False
    return True
