"""Rendering scripts and the voicemail PHI lint."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from followup_core.enums import WorkflowId
from followup_core.errors import ScriptLintError
from followup_core.schemas import ScriptOut
from followup_core.script_templates import approved_script
from followup_core.scripts import (
    CONTEXT_PLACEHOLDERS,
    PLACEHOLDER,
    VOICEMAIL_SAFE_PLACEHOLDERS,
    WITHHELD,
    context_for,
    lint_voicemail,
    render,
)
from tests.core.practice import APPOINTMENT, PATIENT, REFERRAL, practice


def script(wid: WorkflowId) -> ScriptOut:
    return ScriptOut.model_validate(
        {"id": f"s-{wid.value}", "workflow": wid.value, "version": 1, **approved_script(wid)}
    )


def _all_text(s: ScriptOut) -> str:
    return " ".join(
        [
            s.voicemail,
            *(st.text for st in s.steps),
            *(b.text for st in s.steps for b in st.branches),
        ]
    )


@pytest.mark.parametrize("wid", list(WorkflowId), ids=[w.value for w in WorkflowId])
def test_approved_scripts_pass_the_lint_and_use_known_placeholders(wid: WorkflowId) -> None:
    s = script(wid)
    lint_voicemail(s.voicemail)
    assert set(PLACEHOLDER.findall(_all_text(s))) <= CONTEXT_PLACEHOLDERS


@pytest.mark.parametrize("wid", list(WorkflowId), ids=[w.value for w in WorkflowId])
def test_rendering_with_full_context_leaves_nothing_missing(wid: WorkflowId) -> None:
    ctx = context_for(practice(), PATIENT, APPOINTMENT, REFERRAL, True, assistant_name="Sam")
    rendered = render(script(wid), ctx)
    assert rendered.missing == frozenset()
    text = " ".join(step.text for step in rendered.steps)
    assert "{" not in text and "[missing" not in text
    assert rendered.steps[0].key == "greet" and "Sam" in rendered.steps[0].text
    assert "Maple Grove Family Practice" in rendered.voicemail
    assert "(555) 010-0100" in rendered.voicemail


def test_identity_gates_phi_in_context() -> None:
    before = context_for(practice(), PATIENT, APPOINTMENT, REFERRAL, False)
    assert before["patient_first_name"] == "Jordan"
    assert before["preferred_language"] == "Spanish"
    for key in (
        "patient_name",
        "patient_dob",
        "appointment_date",
        "appointment_provider",
        "referral_specialty",
    ):
        assert before[key] == WITHHELD
    assert "1980-04-02" not in before.values()
    after = context_for(practice(), PATIENT, APPOINTMENT, REFERRAL, True)
    assert after["patient_dob"] == "1980-04-02"
    # 21:30 UTC is 14:30 in the practice's zone (Denver), where the visit happens.
    assert after["appointment_time"] == "2:30 PM"
    assert after["appointment_date"] == "Tuesday, December 1"
    assert after["referral_provider"] == "Synthetic Heart Associates"
    unmatched = context_for(practice(), None, None, None, False)
    assert "patient_name" not in unmatched
    assert unmatched["callback_number"] == "(555) 010-0100"


def test_unknown_placeholders_stay_visible() -> None:
    base = script(WorkflowId.APPOINTMENT_CONFIRMATION)
    ctx = context_for(practice(), PATIENT, None, None, True)
    rendered = render(base, ctx)
    assert "appointment_date" in rendered.missing
    assert "[missing: appointment_date]" in rendered.steps[3].text


def test_voicemail_never_receives_phi_even_from_a_bad_template() -> None:
    bad = script(WorkflowId.REACTIVATION).model_copy(
        update={"voicemail": "Hi {patient_name}, {practice_name} calling."}
    )
    ctx = context_for(practice(), PATIENT, None, None, True)
    rendered = render(bad, ctx)
    assert "Jordan" not in rendered.voicemail
    assert "[missing: patient_name]" in rendered.voicemail


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("Hi {patient_first_name}, call {practice_name}.", "{patient_first_name}"),
        ("Calling about your visit with {appointment_provider}.", "{appointment_provider}"),
        ("Your date of birth {patient_dob} is on file.", "{patient_dob}"),
        ("This is {practice_name} about your prescription refill.", "'prescription'"),
        ("{practice_name}: your test results are in.", "'test result"),
        ("Call {practice_name} about your referral.", "'referral'"),
        ("Dr. Smith asked us to call. {callback_number}", "'Dr. Smith' names a clinician"),
        ("Hello {patient name}", "stray brace"),
    ],
)
def test_lint_rejects_phi_and_revealing_reasons(text: str, problem: str) -> None:
    with pytest.raises(ScriptLintError) as info:
        lint_voicemail(text)
    assert problem in str(info.value)
    assert "\n" not in str(info.value)


def test_lint_accepts_the_safe_placeholders() -> None:
    for name in VOICEMAIL_SAFE_PLACEHOLDERS:
        lint_voicemail(f"This is {{{name}}} with a message; please call us back.")


@given(name=st.from_regex(r"[a-z_][a-z0-9_]{0,20}", fullmatch=True))
def test_lint_rejects_every_placeholder_but_the_safe_ones(name: str) -> None:
    text = f"Hello, this is {{practice_name}}; re: {{{name}}}."
    if name in VOICEMAIL_SAFE_PLACEHOLDERS:
        lint_voicemail(text)
    else:
        with pytest.raises(ScriptLintError):
            lint_voicemail(text)


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        # Issue 12: these passed while "lab results" and "Dr. Patel" were caught.
        ("Your labs are back, please call {callback_number}", "'labs'"),
        ("Dr Patel asked us to call", "'Dr Patel' names a clinician"),
        # Clinician names however written.
        ("dr. patel asked us to call", "'dr. patel' names a clinician"),
        ("DR PATEL asked us to call", "'DR PATEL' names a clinician"),
        ("Doctor Okafor would like you to call", "'Doctor Okafor' names a clinician"),
        ("NP Lee would like you to call", "'NP Lee' names a clinician"),
        ("Sam Patel, MD would like a word", "'Patel, MD' names a clinician"),
        ("Ana Lee NP asked us to call", "'Lee NP' names a clinician"),
        ("Jo Kim, M.D. asked us to call", "'Kim, M.D.' names a clinician"),
        ("Our MD asked us to call", "MD' names a clinician"),
        ("Your doctor asked us to call", "'doctor'"),
        ("The nurse asked us to call", "'nurse'"),
        # Tests, procedures, results.
        ("Your bloodwork came back", "'bloodwork'"),
        ("About your MRI on Tuesday", "'mri'"),
        ("Your x-ray is ready", "'x-ray'"),
        ("Calling about your colonoscopy prep", "'colonoscopy'"),
        ("Your results are ready", "'results'"),
        ("Nothing abnormal, please call", "'abnormal'"),
        ("About your surgery date", "'surgery'"),
        ("About your flu shot", "'shot'"),
        # Medication words and abbreviations.
        ("Your Rx is ready", "'rx'"),
        ("About your meds", "'meds'"),
        ("Your insulin order", "'insulin'"),
        # Diagnoses and specialties, named or by their endings.
        ("About your pregnancy", "'pregnancy'"),
        ("Cardiology asked us to call", "'cardiology'"),
        ("Your oncologist's office", "'oncologist'"),
        ("From psychiatry", "'psychiatry'"),
        ("About the OB/GYN visit", "'ob/gyn'"),
        ("About your mental health visit", "'mental health'"),
        # Billing words.
        ("About your balance", "'balance'"),
        ("Your copay is past due", "'copay'"),
        ("Your insurance claim", "'insurance'"),
        ("About your bill", "'bill'"),
    ],
)
def test_lint_catches_every_kind_of_revealing_detail(text: str, problem: str) -> None:
    with pytest.raises(ScriptLintError) as info:
        lint_voicemail(text)
    assert problem in str(info.value)


@pytest.mark.parametrize(
    "text",
    [
        "Hello, this is {practice_name} calling with a message. Please call us back at "
        "{callback_number} during office hours. Thank you.",
        "Hello, this is {practice_name} returning a call from this number. "
        "Please call us back at {callback_number}. Thank you.",
        "Hi, this is {practice_name}. We have a message for you; call {callback_number}.",
        "This is {practice_name} following up. Please call {practice_phone}, Monday to Friday.",
        "Please call us back at your convenience: {callback_number}. Drive safely!",
    ],
)
def test_lint_passes_the_practice_a_number_and_a_generic_reason(text: str) -> None:
    lint_voicemail(text)
