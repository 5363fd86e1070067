"""A synthetic practice, patient, appointment and referral for core tests."""

from __future__ import annotations

from followup_core.enums import EscalationRoute
from followup_core.schemas import (
    AppointmentOut,
    Consent,
    EscalationContact,
    PatientOut,
    PracticeOut,
    ReferralOut,
)
from tests.core.calendars import WEEKDAYS_9_TO_5

R = EscalationRoute


def practice(routes: tuple[EscalationRoute, ...] = tuple(R)) -> PracticeOut:
    return PracticeOut(
        id="prac-1",
        name="Maple Grove Family Practice",
        timezone="America/Denver",
        phone="(555) 010-0100",
        business_hours=WEEKDAYS_9_TO_5,
        holidays=["2026-12-25"],
        escalation_contacts=[
            EscalationContact(
                route=r,
                name=f"Contact for {r.value}",
                role="Nurse line" if r in (R.CLINICAL, R.URGENT_SYMPTOM) else "Office lead",
                reach="ext. 201",
                ack_target_minutes=15 if r is R.URGENT_SYMPTOM else 240,
            )
            for r in routes
        ],
        emergency_instruction="If this is an emergency, hang up and call 911.",
        red_flag_phrases=["chest pain", "fainted"],
    )


PATIENT = PatientOut(
    id="pat-1",
    practice_id="prac-1",
    given_name="Jordan",
    family_name="Testperson",
    date_of_birth="1980-04-02",
    phone="555-0199",
    timezone="America/Los_Angeles",
    preferred_language="Spanish",
    interpreter_needed=True,
    consent=Consent(phone=True, voicemail=True),
    intake_status="partial",
)
APPOINTMENT = AppointmentOut(
    id="appt-1",
    practice_id="prac-1",
    patient_id="pat-1",
    start_at="2026-12-01T21:30:00Z",  # 14:30 in Denver
    provider="Dr. Example Provider",
    location="Main Street Clinic",
    visit_type="annual wellness visit",
    status="booked",
)
REFERRAL = ReferralOut(
    id="ref-1",
    practice_id="prac-1",
    patient_id="pat-1",
    specialty="Cardiology",
    referred_at="2026-11-10T16:00:00Z",
    status="sent",
    receiving_provider="Synthetic Heart Associates",
)
