"""When and how long to wait before asking the server again.

The loop itself is stamina's (jittered exponential backoff, instrumentation,
a test mode); this module only decides, per failure, whether a retry is safe
and how long to wait so that one call never spends more than its budget. The
sync engine decides what "offline" means, so a call gives up after a few
seconds rather than hiding an outage behind long retries.
"""

from __future__ import annotations

import random
import ssl
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

import httpx

# Statuses worth asking again. 429 and 503 mean "not processed, come back";
# 500/502/504 may follow a processed write, so they are retried only when the
# request is idempotent.
RETRY_ALWAYS = frozenset({429, 503})
RETRY_IF_IDEMPOTENT = frozenset({500, 502, 504})

# Network errors raised before the request left the machine: safe to retry
# any request, idempotent or not.
NEVER_SENT: tuple[type[Exception], ...] = (
    httpx.ConnectError,
    httpx.ConnectTimeout,
    httpx.PoolTimeout,
)


@dataclass(frozen=True)
class RetryPolicy:
    """Bounds for one call's retries; `budget` caps retrying time in seconds."""

    budget: float = 5.0
    attempts: int = 8
    wait_initial: float = 0.1
    wait_max: float = 2.0
    wait_jitter: float = 0.25


class RetryableStatus(Exception):
    """Internal: a response whose status says "try again"; never escapes the client."""

    def __init__(self, response: httpx.Response) -> None:
        super().__init__(f"HTTP {response.status_code}")
        self.response = response
        self.retry_after = retry_after_seconds(response)


def retry_after_seconds(response: httpx.Response) -> float | None:
    """`Retry-After` as seconds (delta-seconds or an HTTP date), or None."""
    value = response.headers.get("retry-after")
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - datetime.now(UTC)).total_seconds())


def should_retry_status(status: int, *, idempotent: bool) -> bool:
    return status in RETRY_ALWAYS or (idempotent and status in RETRY_IF_IDEMPOTENT)


def backoff_hook(
    policy: RetryPolicy, *, idempotent: bool, clock: Callable[[], float] = time.monotonic
) -> Callable[[Exception], bool | float]:
    """A stamina backoff hook for one call: False to give up, else seconds to wait.

    Returning the wait (instead of True) lets the hook keep the whole call
    within `policy.budget` and wait at least as long as `Retry-After` asks.
    """
    started = clock()
    failures = 0

    def hook(exc: Exception) -> bool | float:
        nonlocal failures
        failures += 1
        if isinstance(exc, RetryableStatus):
            wait = _exponential(policy, failures)
            if exc.retry_after is not None:
                # At least what the server asked for; a little jitter on top so
                # clients told the same thing do not come back in lockstep.
                wait = exc.retry_after + random.uniform(0, policy.wait_jitter)
        elif isinstance(exc, httpx.TransportError):
            if is_certificate_error(exc):
                return False  # asking again will not fix a certificate
            if not idempotent and not isinstance(exc, NEVER_SENT):
                return False
            wait = _exponential(policy, failures)
        else:
            return False
        remaining = policy.budget - (clock() - started)
        return wait if wait <= remaining else False

    return hook


def is_certificate_error(exc: BaseException) -> bool:
    """True when a network error was caused by TLS verification failing."""
    seen: BaseException | None = exc
    for _ in range(8):  # walk the cause chain a few links, no further
        if seen is None:
            return False
        if isinstance(seen, ssl.SSLCertVerificationError):
            return True
        seen = seen.__cause__ or seen.__context__
    return False


def _exponential(policy: RetryPolicy, failures: int) -> float:
    base = policy.wait_initial * (2 ** (failures - 1))
    return min(policy.wait_max, base + random.uniform(0, policy.wait_jitter))
