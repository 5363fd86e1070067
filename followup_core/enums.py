"""Closed vocabularies shared by the server and the client.

Values are the wire spelling (kebab-case), so a value read from JSON, the
database or a config file is the enum member itself.
"""

from __future__ import annotations

from enum import StrEnum


class WorkflowId(StrEnum):
    MISSED_CALL_RECOVERY = "missed-call-recovery"
    APPOINTMENT_CONFIRMATION = "appointment-confirmation"
    INTAKE_COMPLETION = "intake-completion"
    REFERRAL_FOLLOW_UP = "referral-follow-up"
    POST_VISIT_SCHEDULING = "post-visit-scheduling"
    PRESCRIPTION_MESSAGE_ROUTING = "prescription-message-routing"
    PRIOR_AUTHORIZATION_STATUS = "prior-authorization-status"
    REACTIVATION = "reactivation"


class TaskStatus(StrEnum):
    """FHIR R4 Task.status values this product uses."""

    REQUESTED = "requested"
    READY = "ready"
    IN_PROGRESS = "in-progress"
    ON_HOLD = "on-hold"
    COMPLETED = "completed"
    FAILED = "failed"
    CANCELLED = "cancelled"
    ENTERED_IN_ERROR = "entered-in-error"


TERMINAL_STATUSES = frozenset(
    {TaskStatus.COMPLETED, TaskStatus.FAILED, TaskStatus.CANCELLED, TaskStatus.ENTERED_IN_ERROR}
)


class Priority(StrEnum):
    """FHIR request priority; the order of declaration is the urgency order."""

    STAT = "stat"
    ASAP = "asap"
    URGENT = "urgent"
    ROUTINE = "routine"

    @property
    def rank(self) -> int:
        """0 is the most urgent: sort ascending to work the queue."""
        return list(Priority).index(self)


class Channel(StrEnum):
    PHONE = "phone"
    VOICEMAIL = "voicemail"
    SMS = "sms"
    PORTAL = "portal"
    EMAIL = "email"


class Role(StrEnum):
    ASSISTANT = "assistant"
    SUPERVISOR = "supervisor"
    TRAINER = "trainer"
    ADMIN = "admin"
    # Sees the team and the metrics of their practices, never patient data.
    MANAGER = "manager"


class AgentState(StrEnum):
    AVAILABLE = "available"
    ON_CALL = "on-call"
    WRAP_UP = "wrap-up"
    BREAK = "break"
    OFFLINE = "offline"


class EscalationRoute(StrEnum):
    CLINICAL = "clinical"
    URGENT_SYMPTOM = "urgent-symptom"
    COMPLAINT = "complaint"
    BILLING = "billing"
    PRIVACY = "privacy"
    ACCESS_BARRIER = "access-barrier"
    LANGUAGE = "language"
    REPEATED_FAILED_CONTACT = "repeated-failed-contact"
    SCHEDULING_EXCEPTION = "scheduling-exception"


class EscalationStatus(StrEnum):
    OPEN = "open"
    ACKNOWLEDGED = "acknowledged"
    RESOLVED = "resolved"


class ChangeKind(StrEnum):
    """Record kinds carried by the sync feed."""

    PRACTICE = "practice"
    SCRIPT = "script"
    PATIENT = "patient"
    APPOINTMENT = "appointment"
    REFERRAL = "referral"
    TASK = "task"
    ATTEMPT = "attempt"
    ESCALATION = "escalation"


class ChangeOp(StrEnum):
    UPSERT = "upsert"
    REMOVE = "remove"


class FocusKind(StrEnum):
    APPOINTMENT = "appointment"
    REFERRAL = "referral"


class IntakeStatus(StrEnum):
    COMPLETE = "complete"
    PARTIAL = "partial"
    MISSING = "missing"


class AppointmentStatus(StrEnum):
    BOOKED = "booked"
    CONFIRMED = "confirmed"
    CANCELLED = "cancelled"
    NOSHOW = "noshow"
    FULFILLED = "fulfilled"


class ReferralStatus(StrEnum):
    SENT = "sent"
    RECEIVED = "received"
    SCHEDULED = "scheduled"
    COMPLETED = "completed"
    CLOSED = "closed"
