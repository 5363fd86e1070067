"""Caller ids: spellings of one number, extensions, international prefixes, withheld ids."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from followup_core.phones import (
    InvalidPhone,
    ParsedPhone,
    WithheldCaller,
    WithheldReason,
    classify_caller,
    normalise_stored,
    parse_phone,
    withheld_reason,
)

# Area codes in service; 555-0100..0198 is the block set aside for fiction.
AREAS = (201, 212, 303, 312, 415, 503, 617, 646, 702, 720, 917, 971)


def spellings(area: int, exchange: int, line: int) -> st.SearchStrategy[str]:
    """The ways a phone system or a person writes +1 AAA EEE LLLL."""
    a, e, n = f"{area}", f"{exchange}", f"{line:04d}"
    return st.sampled_from(
        [
            f"+1{a}{e}{n}",
            f"+1 {a} {e} {n}",
            f"+1-{a}-{e}-{n}",
            f"1 ({a}) {e}-{n}",
            f"({a}) {e}-{n}",
            f"{a}.{e}.{n}",
            f"{a}-{e}-{n}",
            f"{a}{e}{n}",
            f"011 1 {a} {e} {n}",  # the US international prefix, dialled to itself
            f"tel:+1-{a}-{e}-{n}",
            f"tel:{a}{e}{n};phone-context=+1",
        ]
    )


EXTENSIONS = st.sampled_from(["", " x{}", " ext. {}", " ext {}", ";ext={}", " #{}"])


@st.composite
def one_number_two_spellings(draw: st.DrawFn) -> tuple[str, str, str, str]:
    area = draw(st.sampled_from(AREAS))
    line = draw(st.integers(100, 198))
    ext = draw(st.integers(1, 99999).map(str))
    first = draw(spellings(area, 555, line))
    second = draw(spellings(area, 555, line))
    suffix = draw(EXTENSIONS)
    if first.startswith("tel:") and suffix and not suffix.startswith(";"):
        suffix = ";ext={}"  # a tel: URI carries its extension as a parameter
    return first + suffix.format(ext), second, f"+1{area}555{line:04d}", ext if suffix else ""


@given(one_number_two_spellings())
def test_every_spelling_of_one_number_is_the_same_number(case: tuple[str, str, str, str]) -> None:
    with_ext, plain, e164, ext = case
    a, b = parse_phone(with_ext, "US"), parse_phone(plain, "US")
    assert a.e164 == b.e164 == e164
    assert a.extension == (ext or None) and b.extension is None
    assert a.valid and b.valid


def test_international_prefixes_are_read_in_the_practices_region() -> None:
    from_us = parse_phone("011 44 20 7946 0958", "US")
    from_uk = parse_phone("00 44 20 7946 0958", "GB")
    national_uk = parse_phone("020 7946 0958", "GB")
    assert from_us.e164 == from_uk.e164 == national_uk.e164 == "+442079460958"
    assert from_us.region == "GB"


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        ("anonymous", WithheldReason.ANONYMOUS),
        ("Anonymous", WithheldReason.ANONYMOUS),
        ("RESTRICTED", WithheldReason.RESTRICTED),
        ("private", WithheldReason.PRIVATE),
        ("unknown", WithheldReason.UNKNOWN),
        ("unavailable", WithheldReason.UNAVAILABLE),
        ("sip:anonymous@anonymous.invalid", WithheldReason.ANONYMOUS),
        # Twilio's placeholders, as Twilio writes them in From
        ("+266696687", WithheldReason.PLACEHOLDER),
        ("+7378742833", WithheldReason.PLACEHOLDER),
        (" +2562533 ", WithheldReason.PLACEHOLDER),
        ("+8656696", WithheldReason.PLACEHOLDER),
        ("+86282452253", WithheldReason.PLACEHOLDER),
        ("sip:+266696687@example.invalid", WithheldReason.PLACEHOLDER),
        ("", WithheldReason.EMPTY),
        (None, WithheldReason.EMPTY),
    ],
)
def test_withheld_caller_ids_are_recognised(raw: str | None, reason: WithheldReason) -> None:
    assert withheld_reason(raw) is reason
    assert classify_caller(raw, "US") == WithheldCaller(reason)


@pytest.mark.parametrize(
    "raw", ["7378742833", "737-874-2833", "(737) 874-2833", "+1 737 874 2833", "+17378742833"]
)
def test_a_placeholders_digits_written_as_a_real_number_are_a_real_caller(raw: str) -> None:
    """737-874-2833 is a valid Austin, Texas number: only `+7378742833` (no country code
    1, as Twilio sends it) stands for a withheld caller."""
    assert withheld_reason(raw) is None
    parsed = classify_caller(raw, "US")
    assert isinstance(parsed, ParsedPhone)
    assert parsed.e164 == "+17378742833" and parsed.valid


@pytest.mark.parametrize("raw", ["266696687", "2562533", "8656696", "+1 256 2533"])
def test_placeholder_digits_without_the_plus_are_not_withheld_and_cannot_be_called(
    raw: str,
) -> None:
    """Not the documented spelling, so not counted as withheld; not a number in service
    either, so never a callback number (the webhook records it as invalid)."""
    assert withheld_reason(raw) is None
    try:
        parsed = classify_caller(raw, "US")
    except InvalidPhone:
        return
    assert isinstance(parsed, ParsedPhone) and not parsed.valid


@pytest.mark.parametrize("raw", ["12", "call me maybe", "+1 555", "x" * 80, "+999 1234 5678"])
def test_text_that_cannot_be_a_number_is_refused(raw: str) -> None:
    with pytest.raises(InvalidPhone):
        parse_phone(raw, "US")


def test_possible_but_unassigned_numbers_are_marked_not_valid() -> None:
    parsed = classify_caller("+1 200 555 0100", "US")
    assert isinstance(parsed, ParsedPhone) and not parsed.valid


def test_a_stored_callback_number_must_be_in_service_not_just_the_right_length() -> None:
    """HL7's Patient example has Australian numbers: read in the US, `(03) 3410 5613` is
    ten digits (possible) under an area code starting with 0 (not valid)."""
    assert not parse_phone("(03) 3410 5613", "US").valid
    with pytest.raises(InvalidPhone):
        normalise_stored("(03) 3410 5613", "US")
    assert normalise_stored("(03) 3410 5613", "AU") == "+61334105613"
    assert normalise_stored("(646) 555-0123", "US") == "+16465550123"
