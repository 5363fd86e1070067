"""Caller numbers as phone systems send them, parsed with `phonenumbers` (libphonenumber).

What a provider puts in a caller-id field is one of three things:

- a number, in any spelling: national (`(201) 555-0123`), international
  (`+1 201 555 0123`, or with the region's international dialling prefix,
  `011 44 20 7946 0958` from the US), dotted, a `tel:` URI (RFC 3966), with an
  extension kept apart (`x136`, `ext. 136`, `;ext=136`) → `ParsedPhone`, whose
  `e164` is what patients are matched on and callbacks dialled;
- a withheld caller id: a word (`anonymous`, `restricted`, `private`, `unknown`,
  `unavailable`, `blocked`, `withheld`, a SIP `anonymous@…` URI) or one of the
  placeholder numbers Twilio (and providers compatible with it) put in `From`
  instead (Twilio's help article "Why am I getting calls from these strange
  numbers?": +266696687 "ANONYMOUS", +7378742833 "RESTRICTED", +2562533
  "BLOCKED", +8656696 "UNKNOWN", +86282452253 "UNAVAILABLE", the words on a
  keypad) → `WithheldCaller`; nobody can call it back, and two of them are not
  the same caller. A placeholder is recognised only as the provider writes it:
  `+` and exactly those digits, and only while libphonenumber finds that no
  valid number. The same digits written any other way are a real caller's:
  `737-874-2833`, `(737) 874-2833` or `+1 737 874 2833` is a valid Austin, Texas
  number, and such a caller gets a callback like anyone else;
- anything else → `InvalidPhone` (raised by `parse_phone`).

Pure functions, no I/O. The region is an ISO 3166-1 alpha-2 code (`US`, `GB`):
the practice's, for numbers written the national way.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum

import phonenumbers
from phonenumbers import NumberParseException, PhoneNumberFormat

from followup_core.errors import FollowupError

DEFAULT_REGION = "US"
MAX_INPUT = 64  # longer than any caller id field; refused before parsing


class WithheldReason(StrEnum):
    """How the provider reported a withheld caller id (the metrics count by this)."""

    ANONYMOUS = "anonymous"
    RESTRICTED = "restricted"
    PRIVATE = "private"
    UNKNOWN = "unknown"
    UNAVAILABLE = "unavailable"
    BLOCKED = "blocked"
    PLACEHOLDER = "placeholder"  # a provider's stand-in number
    EMPTY = "empty"  # no caller id at all


class InvalidPhone(FollowupError):
    """The text is not a phone number that could exist (never stored as a callback)."""

    code = "invalid-phone"


@dataclass(frozen=True)
class ParsedPhone:
    """A real number: `e164` (`+12015550123`), `extension` (digits) or None, and `region`
    (the number's own region code, e.g. `GB` for a UK caller of a US practice)."""

    e164: str
    extension: str | None
    region: str | None
    valid: bool  # libphonenumber's full validity (a number that can be dialled)


@dataclass(frozen=True)
class WithheldCaller:
    """A caller id the provider withheld or replaced by a placeholder."""

    reason: WithheldReason


_WORDS: dict[str, WithheldReason] = {
    "anonymous": WithheldReason.ANONYMOUS,
    "restricted": WithheldReason.RESTRICTED,
    "private": WithheldReason.PRIVATE,
    "private number": WithheldReason.PRIVATE,
    "unknown": WithheldReason.UNKNOWN,
    "unavailable": WithheldReason.UNAVAILABLE,
    "blocked": WithheldReason.BLOCKED,
    "withheld": WithheldReason.PRIVATE,
    "no caller id": WithheldReason.UNKNOWN,
    "out of area": WithheldReason.UNAVAILABLE,
}

# The placeholder numbers Twilio documents in `From` for a withheld caller id, exactly as
# it sends them (E.164 spelling with its `+`); compatible providers reuse them.
PLACEHOLDERS = frozenset({"+266696687", "+7378742833", "+2562533", "+8656696", "+86282452253"})

_SIP = re.compile(r"^sips?:([^@;]*)@", re.IGNORECASE)


def withheld_reason(raw: str | None) -> WithheldReason | None:
    """Why this caller id is not a number to call back, or None if it may be one.

    Words are matched case-insensitively (also as a SIP URI's user part); a placeholder
    number only in its documented spelling (`+7378742833`, see the module docstring)."""
    if raw is None:
        return WithheldReason.EMPTY
    text = raw.strip().strip('"').strip()
    if not text:
        return WithheldReason.EMPTY
    sip = _SIP.match(text)
    if sip:
        text = sip.group(1)
    lowered = " ".join(text.lower().replace("_", " ").split())
    if lowered in _WORDS:
        return _WORDS[lowered]
    if text in PLACEHOLDERS and not _is_valid_e164(text):
        return WithheldReason.PLACEHOLDER
    return None


def _is_valid_e164(text: str) -> bool:
    """Whether libphonenumber's metadata makes this E.164 text a number in service (a
    placeholder that became one would be a real caller: the real caller wins)."""
    try:
        return bool(phonenumbers.is_valid_number(phonenumbers.parse(text, None)))
    except NumberParseException:
        return False


_TEL_EXT = re.compile(r";ext=([0-9]{1,20})", re.IGNORECASE)


def _ext_first(text: str) -> str:
    """RFC 3966 lets `;ext=` follow `;phone-context=`; libphonenumber reads it only
    before, so move it there."""
    if not text.lower().startswith("tel:"):
        return text
    match = _TEL_EXT.search(text)
    if match is None:
        return text
    rest = text[: match.start()] + text[match.end() :]
    head, sep, params = rest.partition(";")
    return f"{head};ext={match.group(1)}{sep}{params}"


def parse_phone(raw: str, region: str | None = DEFAULT_REGION) -> ParsedPhone:
    """Parse `raw` as written in `region`; raises `InvalidPhone` unless it is a possible
    number (right length for its country). `valid` says whether it can really be dialled."""
    if len(raw) > MAX_INPUT:
        raise InvalidPhone("the phone number is too long")
    text = _ext_first(raw.strip())
    try:
        number = phonenumbers.parse(text, (region or DEFAULT_REGION).upper())
    except NumberParseException as exc:
        raise InvalidPhone("not a phone number") from exc
    if not phonenumbers.is_possible_number(number):
        raise InvalidPhone("not a possible phone number for its country")
    return ParsedPhone(
        e164=phonenumbers.format_number(number, PhoneNumberFormat.E164),
        extension=number.extension or None,
        region=phonenumbers.region_code_for_number(number),
        valid=phonenumbers.is_valid_number(number),
    )


def classify_caller(
    raw: str | None, region: str | None = DEFAULT_REGION
) -> ParsedPhone | WithheldCaller:
    """A caller id as a number or a withheld caller; raises `InvalidPhone` otherwise."""
    reason = withheld_reason(raw)
    if reason is not None:
        return WithheldCaller(reason)
    assert raw is not None
    return parse_phone(raw, region)


def normalise_stored(raw: str, region: str | None = DEFAULT_REGION) -> str:
    """The E.164 spelling to store as a patient's (callback) number.

    Raises `InvalidPhone` unless libphonenumber finds the number valid, not merely
    possible: an Australian `(03) 3410 5613` read in the US is ten digits
    (`+10334105613`, possible) but no US area code starts with 0, so nobody could
    dial it back (issue 11: "numbers that cannot be valid are never stored as callback
    numbers")."""
    parsed = parse_phone(raw, region)
    if not parsed.valid:
        raise InvalidPhone("not a number in service in its country")
    return parsed.e164


def region_of(phone: str | None, default: str = DEFAULT_REGION) -> str:
    """The region of an E.164 number (a practice's own line), else `default`."""
    if not phone:
        return default
    try:
        number = phonenumbers.parse(phone, None)
    except NumberParseException:
        return default
    return phonenumbers.region_code_for_number(number) or default
