"""Telephony providers' status callbacks: the request signature and the form fields.

Twilio and the providers compatible with it send call status callbacks as
`application/x-www-form-urlencoded` POSTs with `CallSid`, `CallStatus`, `From`,
`To`, `Timestamp` (RFC 2822, e.g. `Mon, 30 Nov 2026 16:39:56 +0000`) among other
fields, signed in `X-Twilio-Signature`: base64(HMAC-SHA1(auth token, URL +
each parameter name followed by its value, names sorted)) — Twilio's "Webhooks
security" page and its `RequestValidator`. The validator is a dozen lines, so it
is written here rather than pulling in the provider's whole SDK.

Only `no-answer`, `busy`, `failed` and `canceled` are missed calls; `queued`,
`ringing`, `in-progress` and `completed` open nothing.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Sequence
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from urllib.parse import urlsplit, urlunsplit

from followup_core.schemas import SCHEDULABLE_MESSAGE, is_schedulable

SIGNATURE_HEADER = "X-Twilio-Signature"
MISSED_STATUSES = frozenset({"no-answer", "busy", "failed", "canceled"})
OTHER_STATUSES = frozenset({"queued", "ringing", "in-progress", "completed"})
MAX_FIELD = 256  # a provider's field longer than this is refused (422)


def signature(auth_token: str, url: str, params: Sequence[tuple[str, str]]) -> str:
    """The provider's signature of a form POST to `url` with `params`."""
    payload = url + "".join(
        name + value for name, value in sorted(params, key=lambda kv: (kv[0], kv[1]))
    )
    digest = hmac.new(auth_token.encode(), payload.encode(), hashlib.sha1).digest()
    return base64.b64encode(digest).decode("ascii")


def _url_variants(url: str) -> list[str]:
    """The URL as sent and with its default port added or removed: providers sign
    what they called, and a proxy may show us the other spelling."""
    parts = urlsplit(url)
    default = {"http": 80, "https": 443}.get(parts.scheme)
    out = [url]
    if default is None or parts.hostname is None:
        return out
    host = parts.hostname if ":" not in parts.hostname else f"[{parts.hostname}]"
    if parts.port is None:
        out.append(urlunsplit(parts._replace(netloc=f"{host}:{default}")))
    elif parts.port == default:
        out.append(urlunsplit(parts._replace(netloc=host)))
    return out


def signature_ok(
    auth_token: str, url: str, params: Sequence[tuple[str, str]], given: str | None
) -> bool:
    """Whether `given` is the provider's signature of this request (constant-time compare)."""
    if not given or len(given) > 128:
        return False
    ok = False
    for candidate in _url_variants(url):
        ok |= hmac.compare_digest(signature(auth_token, candidate, params), given)
    return ok


def parse_timestamp(raw: str | None) -> datetime | None:
    """A provider's `Timestamp` (RFC 2822; ISO 8601 accepted too) as aware UTC, or None
    if absent. Raises ValueError when present but unreadable or without a zone."""
    if raw is None or not raw.strip():
        return None
    text = raw.strip()
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        when = datetime.fromisoformat(text.replace("Z", "+00:00"))
    if when.tzinfo is None:
        raise ValueError("timestamp without a zone")
    if not is_schedulable(when):
        raise ValueError(SCHEDULABLE_MESSAGE)
    return when.astimezone(UTC)
