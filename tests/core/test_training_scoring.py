"""Scoring of training runs: weights, N/A, fatal items, automatic items, marks."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from followup_core.enums import Channel, EscalationRoute
from followup_core.training.evaluation import (
    Answer,
    AutoCheck,
    EvaluationForm,
    Expected,
    FormItem,
    FormSection,
    Mark,
    MarkRefused,
    auto_answer,
    evaluate,
    score_answers,
)
from followup_core.training.run import (
    IdentityVerified,
    RunOutcome,
    RunRecord,
    ScriptStep,
)

GREET, VERIFY, REASON, DETAILS, NEXT, CLOSE = range(6)


def _form(pass_mark: int = 80) -> EvaluationForm:
    return EvaluationForm(
        id="t",
        version=1,
        title="Test form",
        pass_mark=pass_mark,
        sections=(
            FormSection(
                id="privacy",
                title="Privacy",
                weight=60,
                items=(
                    FormItem(
                        id="phi",
                        text="No PHI early",
                        points=10,
                        fatal=True,
                        auto=AutoCheck.NO_PHI_BEFORE_IDENTITY,
                    ),
                    FormItem(
                        id="vm",
                        text="Safe voicemail",
                        points=10,
                        fatal=True,
                        auto=AutoCheck.NO_PHI_IN_VOICEMAIL,
                    ),
                ),
            ),
            FormSection(
                id="resolution",
                title="Resolution",
                weight=40,
                items=(
                    FormItem(id="code", text="Outcome", points=5, auto=AutoCheck.OUTCOME_CODE),
                    FormItem(id="manner", text="Courteous", points=5),
                ),
            ),
        ),
    )


CONFIRM = Expected(frozenset({"confirmed"}), None, False, True, False)
VOICEMAIL = Expected(frozenset({"left-voicemail"}), None, True, False, False)


def _steps(*steps: int, voicemail: bool = False) -> tuple[ScriptStep, ...]:
    return tuple(ScriptStep(type="script-step", step=s, voicemail=voicemail) for s in steps)


VERIFIED = IdentityVerified(type="identity-verified", verified=True)
CONFIRMED = RunOutcome(outcome="confirmed", channel=Channel.PHONE, identity_verified=True)
LEFT_VM = RunOutcome(outcome="left-voicemail", channel=Channel.PHONE, identity_verified=False)


def test_a_run_done_right_passes() -> None:
    record = RunRecord(
        events=(*_steps(GREET, VERIFY), VERIFIED, *_steps(REASON, DETAILS, CLOSE)),
        outcome=CONFIRMED,
    )
    result = evaluate(_form(), CONFIRM, record, [Mark("manner", Answer.YES)])
    assert result.answers["vm"] is Answer.NA
    assert result.score == 100.0
    assert result.passed and result.fatal_hit == ()


def test_phi_before_identity_is_fatal_whatever_the_score() -> None:
    record = RunRecord(
        events=(*_steps(GREET, REASON, VERIFY), VERIFIED, *_steps(DETAILS)), outcome=CONFIRMED
    )
    result = evaluate(_form(pass_mark=0), CONFIRM, record, [Mark("manner", Answer.YES)])
    assert result.fatal_hit == ("phi",)
    assert result.score == 40.0  # privacy 0/10 (vm N/A) x 60 + resolution 10/10 x 40
    assert not result.passed


def test_unticking_identity_withholds_again() -> None:
    untick = IdentityVerified(type="identity-verified", verified=False)
    record = RunRecord(events=(VERIFIED, untick, *_steps(DETAILS)), outcome=CONFIRMED)
    assert record.phi_before_identity()


def test_voicemail_safe_text_passes_and_a_phi_step_on_voicemail_is_fatal() -> None:
    safe = RunRecord(events=_steps(GREET, REASON, voicemail=True), outcome=LEFT_VM)
    exp = Expected(frozenset({"left-voicemail"}), None, True, False, False)
    form = _form()
    good = evaluate(form, exp, safe, [Mark("manner", Answer.YES)])
    assert good.answers["vm"] is Answer.YES and good.passed
    leaked = RunRecord(events=(*_steps(GREET), *_steps(REASON)), outcome=LEFT_VM)
    bad = evaluate(form, exp, leaked, [Mark("manner", Answer.YES)])
    assert set(bad.fatal_hit) == {"phi", "vm"}
    assert not bad.passed


def test_red_flag_not_escalated_is_no_and_na_when_there_is_none() -> None:
    urgent = Expected(frozenset({"routed"}), EscalationRoute.URGENT_SYMPTOM, False, True, False)
    missed = RunOutcome(outcome="routed", channel=Channel.PHONE, identity_verified=True)
    raised = missed.model_copy(update={"escalation_route": EscalationRoute.URGENT_SYMPTOM})
    check = AutoCheck.RED_FLAG_ESCALATED
    assert auto_answer(check, urgent, RunRecord(outcome=missed)) is Answer.NO
    assert auto_answer(check, urgent, RunRecord(outcome=raised)) is Answer.YES
    assert auto_answer(check, CONFIRM, RunRecord(outcome=raised)) is Answer.NA


def test_automatic_items_before_the_outcome_is_saved() -> None:
    record = RunRecord(events=(VERIFIED, *_steps(REASON)))
    assert auto_answer(AutoCheck.OUTCOME_CODE, CONFIRM, record) is Answer.NO
    assert auto_answer(AutoCheck.NO_PHI_BEFORE_IDENTITY, CONFIRM, record) is Answer.YES
    assert auto_answer(AutoCheck.NEXT_STEP_RECORDED, CONFIRM, record) is Answer.NA


def test_unmarked_trainer_items_are_pending_and_block_the_pass() -> None:
    record = RunRecord(events=(VERIFIED,), outcome=CONFIRMED)
    result = evaluate(_form(), CONFIRM, record)
    assert result.pending == ("manner",)
    assert result.score == 100.0 and not result.passed and not result.complete


@pytest.mark.parametrize(
    ("mark", "reason"),
    [
        (Mark("manner", Answer.NO), "needs a comment"),
        (Mark("manner", Answer.NO, "   "), "needs a comment"),
        (Mark("code", Answer.YES), "automatically"),
        (Mark("nope", Answer.YES), "has no item"),
    ],
)
def test_marks_refused(mark: Mark, reason: str) -> None:
    with pytest.raises(MarkRefused, match=reason):
        evaluate(_form(), CONFIRM, RunRecord(), [mark])


def test_a_miss_with_a_comment_is_taken() -> None:
    result = evaluate(
        _form(),
        CONFIRM,
        RunRecord(events=(VERIFIED,), outcome=CONFIRMED),
        [Mark("manner", Answer.NO, "Talked over the patient at the close.")],
    )
    assert result.answers["manner"] is Answer.NO
    assert result.score == 80.0 and result.passed  # 60 + 40 x 5/10


def test_weights_must_total_100() -> None:
    item = FormItem(id="a", text="A", points=1)
    with pytest.raises(ValueError, match="total 90"):
        EvaluationForm(
            id="t",
            version=1,
            title="T",
            pass_mark=50,
            sections=(FormSection(id="s", title="S", weight=90, items=(item,)),),
        )


# --- properties -----------------------------------------------------------------

answers = st.sampled_from(list(Answer))


@st.composite
def forms_and_answers(draw: st.DrawFn) -> tuple[EvaluationForm, dict[str, Answer]]:
    count = draw(st.integers(1, 5))
    cuts = sorted(
        draw(st.lists(st.integers(1, 99), min_size=count - 1, max_size=count - 1, unique=True))
    )
    bounds = [0, *cuts, 100]
    sections = []
    given_answers: dict[str, Answer] = {}
    for s in range(count):
        items = []
        for i in range(draw(st.integers(1, 4))):
            item_id = f"s{s}-i{i}"
            items.append(
                FormItem(
                    id=item_id, text="Q", points=draw(st.integers(1, 20)), fatal=draw(st.booleans())
                )
            )
            given_answers[item_id] = draw(answers)
        sections.append(
            FormSection(id=f"s{s}", title="S", weight=bounds[s + 1] - bounds[s], items=tuple(items))
        )
    form = EvaluationForm(
        id="p", version=1, title="P", pass_mark=draw(st.integers(0, 100)), sections=tuple(sections)
    )
    return form, given_answers


@given(forms_and_answers())
def test_score_is_within_0_and_100_and_fatal_fails(
    case: tuple[EvaluationForm, dict[str, Answer]],
) -> None:
    form, given_answers = case
    result = score_answers(form, given_answers)
    assert sum(s.weight for s in form.sections) == 100
    assert 0.0 <= result.score <= 100.0
    fatal_no = {i.id for i in form.items() if i.fatal and given_answers[i.id] is Answer.NO}
    assert set(result.fatal_hit) == fatal_no
    if fatal_no:
        assert not result.passed
    else:
        assert result.passed == (result.score >= form.pass_mark)


@given(forms_and_answers(), st.data())
def test_na_leaves_the_denominator(
    case: tuple[EvaluationForm, dict[str, Answer]], data: st.DataObject
) -> None:
    """Adding an N/A item to a section changes neither its points nor the score."""
    form, given_answers = case
    target = data.draw(st.sampled_from(form.sections))
    extra = FormItem(id="extra-na", text="N/A here", points=data.draw(st.integers(1, 50)))
    grown = form.model_copy(
        update={
            "sections": tuple(
                s.model_copy(update={"items": (*s.items, extra)}) if s.id == target.id else s
                for s in form.sections
            )
        }
    )
    before = score_answers(form, given_answers)
    after = score_answers(grown, {**given_answers, "extra-na": Answer.NA})
    assert after.score == before.score
    assert after.sections == before.sections


@given(forms_and_answers())
def test_all_yes_scores_100_and_all_no_scores_0(
    case: tuple[EvaluationForm, dict[str, Answer]],
) -> None:
    form, given_answers = case
    assert score_answers(form, dict.fromkeys(given_answers, Answer.YES)).score == 100.0
    assert score_answers(form, dict.fromkeys(given_answers, Answer.NO)).score == 0.0


@given(st.lists(st.sampled_from(["verify", "unverify", *map(str, range(6))]), max_size=12))
def test_phi_before_identity_only_from_recorded_events(script: list[str]) -> None:
    """The automatic check reads the event log alone: replaying it by hand agrees."""
    events: list[IdentityVerified | ScriptStep] = []
    verified = leaked = False
    for move in script:
        if move in ("verify", "unverify"):
            verified = move == "verify"
            events.append(IdentityVerified(type="identity-verified", verified=verified))
        else:
            step = int(move)
            events.append(ScriptStep(type="script-step", step=step))
            leaked = leaked or (step in (REASON, DETAILS, NEXT) and not verified)
    record = RunRecord(events=tuple(events), outcome=CONFIRMED)
    expected = Answer.NO if leaked else Answer.YES
    assert auto_answer(AutoCheck.NO_PHI_BEFORE_IDENTITY, CONFIRM, record) is expected
