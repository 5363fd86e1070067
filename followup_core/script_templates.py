"""Approved call scripts, one per workflow, as the seeder stores them.

Each script walks the six steps (greet, verify identity, reason, details, next
step, close), offers branches for the usual turns of a call, lists what an
assistant must not say, and carries a voicemail-safe variant that names only
the practice, a callback number and a generic reason (HHS minimum-necessary
guidance). Placeholders are the keys `scripts.context_for` fills.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from followup_core.enums import WorkflowId

APPROVED_BY = "Practice Compliance & Clinical Operations Committee"
_FIRST_APPROVAL = datetime(2026, 1, 12, 15, 0, tzinfo=UTC)

Branch = tuple[str, str]  # (label, text)

GREET = (
    "Hello, this is {assistant_name} calling from {practice_name}. "
    "May I please speak with {patient_first_name}?"
)
GREET_BRANCHES: tuple[Branch, ...] = (
    (
        "Someone else answers",
        "Thank you. Is {patient_first_name} available? If not, please ask them to call "
        "{practice_name} at {callback_number}. (Share nothing else.)",
    ),
    ("Bad time for the patient", "I understand. When would be a better time to reach you?"),
)
VERIFY = (
    "Before we go on, to protect your privacy, could you please tell me your full name "
    "and your date of birth?"
)
VERIFY_BRANCHES: tuple[Branch, ...] = (
    (
        "Details do not match",
        "I'm sorry, I'm not able to discuss this without verifying your identity. Please call "
        "us at {callback_number} and our team will help you.",
    ),
    (
        "Caller is a family member or caregiver",
        "Thank you. I can only share details with people the patient has listed with us. "
        "May I ask the patient to come to the phone?",
    ),
    (
        "Needs an interpreter",
        "One moment, please; I will arrange an interpreter for {preferred_language}. "
        "(Escalate: language.)",
    ),
)
CLOSE = (
    "Thank you for your time, {patient_first_name}. If anything comes up, you can reach "
    "{practice_name} at {callback_number}. Have a good day."
)
CLOSE_BRANCHES: tuple[Branch, ...] = (
    (
        "Patient mentions a new or worsening symptom",
        "Thank you for telling me. I'm not able to advise on symptoms, so I'm passing this to "
        "our clinical team right now. If this is an emergency, please hang up and call 911. "
        "(Escalate: urgent-symptom or clinical.)",
    ),
    (
        "Patient is unhappy with their care or our service",
        "I'm sorry to hear that. I'll pass your concerns to the person who handles them, and "
        "they will follow up with you. (Escalate: complaint.)",
    ),
)

DO_NOT_SAY_COMMON = (
    "Do not give medical advice, diagnose, or say whether a symptom is serious or can wait: "
    "pass every clinical question to the clinical team.",
    "Do not interpret test results, or say whether a medication or dose is right.",
    "Do not promise a clinical outcome, a refill, an authorization decision or when a "
    "provider will call.",
    "Do not share any details before identity is verified, nor with anyone the patient "
    "has not authorised.",
    "Do not leave details in a voicemail: only the practice name, the callback number and a "
    "generic reason.",
)

VOICEMAIL = (
    "Hello, this is {practice_name} calling with a message. Please call us back at "
    "{callback_number} during office hours. Thank you."
)

# Per workflow: title, reason, details (+branches), next step (+branches),
# extra do-not-say lines, voicemail text.
_Spec = dict[str, Any]
_SPECS: dict[WorkflowId, _Spec] = {
    WorkflowId.MISSED_CALL_RECOVERY: {
        "title": "Returning a missed call",
        "reason": "We're returning a call we missed from this number earlier. "
        "I'm sorry we couldn't answer. How can I help you today?",
        "details": "Let me repeat that back to make sure I have it right. (Summarise the need.) "
        "Is there anything else you were calling about?",
        "details_branches": (
            ("Wants to book or change a visit", "I can help with that. Let me check our schedule."),
            (
                "Question for the clinical team",
                "I'll take down your question and pass it to the clinical team; they will "
                "call you back. (Route: clinical.)",
            ),
            ("Billing question", "I'll connect you with our billing team. (Route: billing.)"),
        ),
        "next": "Here's what happens next: (state the next step and when it will happen).",
        "next_branches": (),
        "do_not_say": ("Do not guess what the caller wanted; ask.",),
        "voicemail": "Hello, this is {practice_name} returning a call from this number. "
        "Please call us back at {callback_number}. Thank you.",
    },
    WorkflowId.APPOINTMENT_CONFIRMATION: {
        "title": "Confirming an upcoming appointment",
        "reason": "I'm calling to confirm your upcoming appointment with us.",
        "details": "We have you scheduled on {appointment_date} at {appointment_time} with "
        "{appointment_provider} at {appointment_location}, for a {visit_type}. "
        "Will you be able to make it?",
        "details_branches": (
            ("Confirms", "Wonderful, you're confirmed."),
            (
                "Needs a different time",
                "No problem. Let me look for another time that works for you.",
            ),
            (
                "Wants to cancel",
                "I understand. May I ask the reason, so we can let the care team know?",
            ),
        ),
        "next": "Please arrive 15 minutes early and bring your insurance card and a list of "
        "the medicines you take.",
        "next_branches": (
            (
                "Asks whether to keep taking a medicine before the visit",
                "That's a question for the care team; I'll pass it on and they will call you. "
                "(Route: clinical.)",
            ),
        ),
        "do_not_say": (
            "Do not tell the patient how to prepare clinically (fasting, medicines) "
            "unless it is in the approved visit instructions.",
        ),
        "voicemail": VOICEMAIL,
    },
    WorkflowId.INTAKE_COMPLETION: {
        "title": "Completing intake before a visit",
        "reason": "I'm calling because a few of your registration forms for your upcoming "
        "visit on {appointment_date} are not complete yet.",
        "details": "I can go through them with you now, which takes about ten minutes, or send "
        "you a secure link to our patient portal. Which would you prefer?",
        "details_branches": (
            ("Completes now", "Thank you. Let's start with your contact details and insurance."),
            (
                "Prefers the portal link",
                "I'll send the link now; please complete it before your visit.",
            ),
            (
                "Will do it at check-in",
                "That's fine; please arrive 20 minutes early to complete it.",
            ),
        ),
        "next": "Is there anything that makes completing the forms difficult for you?",
        "next_branches": (
            (
                "Access barrier (no internet, vision, literacy)",
                "Thank you for telling me; I'll make sure someone helps. (Escalate: access-barrier.)",
            ),
        ),
        "do_not_say": ("Do not comment on answers to health-history questions.",),
        "voicemail": VOICEMAIL,
    },
    WorkflowId.REFERRAL_FOLLOW_UP: {
        "title": "Following up on a referral",
        "reason": "I'm following up on the referral to {referral_specialty} that "
        "{practice_name} sent for you.",
        "details": "Have you been able to schedule a visit with {referral_provider}?",
        "details_branches": (
            ("Already scheduled", "Great. May I note the date of that visit?"),
            (
                "Not yet",
                "Would you like the specialist office's phone number, or shall we help arrange it?",
            ),
            (
                "Insurance or cost concern",
                "I'll pass that to our referral coordinator, who can help. (Route: billing.)",
            ),
        ),
        "next": "Here's what happens next: (state the next step and when it will happen).",
        "next_branches": (
            (
                "Asks whether the referral is still needed",
                "That's a decision for your provider; I'll let the care team know you asked. "
                "(Route: clinical.)",
            ),
        ),
        "do_not_say": ("Do not say why the referral was made or what the specialist will find.",),
        "voicemail": VOICEMAIL,
    },
    WorkflowId.POST_VISIT_SCHEDULING: {
        "title": "Scheduling a follow-up visit",
        "reason": "I'm calling because your provider asked us to schedule a follow-up visit "
        "after your recent appointment.",
        "details": "I have openings with {appointment_provider}. Which days and times work best "
        "for you?",
        "details_branches": (
            ("Picks a time", "You're booked. I'll repeat the date and time for you."),
            (
                "Declines",
                "I understand. May I note the reason for your provider? You can call us any "
                "time at {callback_number}.",
            ),
        ),
        "next": "You'll get a reminder before the visit. (Repeat the date, time and provider.)",
        "next_branches": (),
        "do_not_say": (
            "Do not say what the follow-up visit will show or whether it can be skipped.",
        ),
        "voicemail": VOICEMAIL,
    },
    WorkflowId.PRESCRIPTION_MESSAGE_ROUTING: {
        "title": "Routing a prescription message",
        "reason": "I'm calling about the message you left us regarding a prescription.",
        "details": "So I can pass this to the clinical team correctly: which medicine is this "
        "about, which pharmacy do you use, and what do you need (a refill, a pharmacy change, "
        "or a question for the provider)?",
        "details_branches": (
            ("Refill request", "Thank you. I'll send the refill request to the clinical team."),
            ("Pharmacy change", "I'll update your preferred pharmacy on file."),
            (
                "Side effect or reaction",
                "Thank you for telling me. I'm not able to advise on this, so I'm passing it to "
                "the clinical team right now. If you have trouble breathing or swelling of the "
                "face or throat, hang up and call 911. (Escalate: urgent-symptom.)",
            ),
        ),
        "next": "The clinical team reviews requests within two business days. If you run out "
        "before then, please call us at {callback_number}.",
        "next_branches": (),
        "do_not_say": (
            "Do not say whether a refill will be approved or when.",
            "Do not suggest changing, stopping, splitting or doubling any dose.",
        ),
        "voicemail": VOICEMAIL,
    },
    WorkflowId.PRIOR_AUTHORIZATION_STATUS: {
        "title": "Prior-authorization status update",
        "reason": "I'm calling with an update on the insurance approval we requested for you.",
        "details": "(Read the status shown on the task: approved, still pending or denied.)",
        "details_branches": (
            ("Approved", "Your insurance has approved it; we'll contact you to schedule."),
            (
                "Still pending",
                "It is still with your insurance; we'll check again and call you with any news.",
            ),
            (
                "Denied",
                "I'll have our authorization specialist call you to explain the options. "
                "(Route: billing.)",
            ),
        ),
        "next": "Here's what happens next: (state the next step and when it will happen).",
        "next_branches": (),
        "do_not_say": (
            "Do not guess why a payer decided as it did, or predict an appeal.",
            "Do not suggest alternative treatments.",
        ),
        "voicemail": VOICEMAIL,
    },
    WorkflowId.REACTIVATION: {
        "title": "Welcoming a patient back",
        "reason": "It's been a while since your last visit with us, and we'd like to help you "
        "stay up to date with your care.",
        "details": "Would you like to schedule a check-up? I have openings in the coming weeks.",
        "details_branches": (
            ("Wants a visit", "Great. Which days and times work best for you?"),
            (
                "Sees another provider now",
                "Thank you for letting us know; I'll update our records.",
            ),
            (
                "Asks not to be contacted",
                "I understand, and I'm sorry for the bother. I'll record that.",
            ),
        ),
        "next": "Here's what happens next: (state the next step and when it will happen).",
        "next_branches": (),
        "do_not_say": ("Do not say a patient is overdue for a specific test or screening.",),
        "voicemail": VOICEMAIL,
    },
}


def _step(key: str, title: str, text: str, branches: tuple[Branch, ...] = ()) -> dict[str, Any]:
    return {
        "key": key,
        "title": title,
        "text": text,
        "branches": [{"label": label, "text": btext} for label, btext in branches],
    }


def approved_script(workflow: WorkflowId | str, *, version: int = 1) -> dict[str, Any]:
    """The body of the approved script for a workflow (ScriptOut minus id, workflow, version).

    Later versions reuse the same text with a later approval date, so seeded data
    can show a script's history.
    """
    if version < 1:
        raise ValueError("script versions start at 1")
    spec = _SPECS[WorkflowId(workflow)]
    approved_at = _FIRST_APPROVAL + timedelta(days=30 * (version - 1))
    return {
        "title": spec["title"],
        "approved_by": APPROVED_BY,
        "approved_at": approved_at.isoformat().replace("+00:00", "Z"),
        "steps": [
            _step("greet", "Greet", GREET, GREET_BRANCHES),
            _step("verify-identity", "Verify identity", VERIFY, VERIFY_BRANCHES),
            _step("reason", "Reason for the call", spec["reason"]),
            _step("details", "Details", spec["details"], spec["details_branches"]),
            _step("next-step", "Next step", spec["next"], spec["next_branches"]),
            _step("close", "Close", CLOSE, CLOSE_BRANCHES),
        ],
        "voicemail": spec["voicemail"],
        "do_not_say": [*DO_NOT_SAY_COMMON, *spec["do_not_say"]],
    }
