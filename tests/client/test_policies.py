"""Pure policy pieces of the client: which URLs, which Retry-After, what import costs."""

from __future__ import annotations

import ipaddress
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import httpx
from hypothesis import given
from hypothesis import strategies as st

from backend_client.errors import InsecureURL
from backend_client.retries import RetryableStatus, RetryPolicy, backoff_hook, retry_after_seconds
from backend_client.urls import check_base_url


@given(st.ip_addresses(v=4))
def test_plain_http_only_to_127_slash_8(address: ipaddress.IPv4Address) -> None:
    url = f"http://{address}:8000"
    if address in ipaddress.ip_network("127.0.0.0/8"):
        assert check_base_url(url) == url
    else:
        try:
            check_base_url(url)
        except InsecureURL:
            pass
        else:
            raise AssertionError(f"{url} was accepted")


@given(st.ip_addresses(v=6))
def test_plain_http_to_ipv6_only_to_loopback(address: ipaddress.IPv6Address) -> None:
    url = f"http://[{address}]:8000"
    accepted = True
    try:
        check_base_url(url)
    except InsecureURL:
        accepted = False
    assert accepted == (address == ipaddress.ip_address("::1"))
    assert check_base_url(f"https://[{address}]:8000")  # TLS: any host


def _response(headers: dict[str, str], status: int = 503) -> httpx.Response:
    return httpx.Response(status, headers=headers, request=httpx.Request("GET", "http://x"))


def test_retry_after_forms() -> None:
    assert retry_after_seconds(_response({"Retry-After": "7"})) == 7.0
    assert retry_after_seconds(_response({})) is None
    assert retry_after_seconds(_response({"Retry-After": "soon"})) is None
    later = datetime.now(UTC) + timedelta(seconds=30)
    seconds = retry_after_seconds(_response({"Retry-After": format_datetime(later, usegmt=True)}))
    assert seconds is not None and 25 <= seconds <= 30
    past = datetime.now(UTC) - timedelta(hours=1)
    assert retry_after_seconds(_response({"Retry-After": format_datetime(past, usegmt=True)})) == 0


def test_backoff_hook_waits_at_least_retry_after_and_keeps_the_budget() -> None:
    now = [0.0]
    policy = RetryPolicy(budget=5.0, wait_jitter=0.25)
    hook = backoff_hook(policy, idempotent=True, clock=lambda: now[0])
    wait = hook(RetryableStatus(_response({"Retry-After": "2"})))
    assert isinstance(wait, float) and 2.0 <= wait <= 2.25
    now[0] = 2.5
    assert hook(RetryableStatus(_response({"Retry-After": "3"}))) is False  # 2.5 + 3 > 5
    assert hook(ValueError("not ours")) is False


def test_backoff_hook_never_repeats_a_sent_non_idempotent_request() -> None:
    hook = backoff_hook(RetryPolicy(), idempotent=False)
    request = httpx.Request("POST", "http://x")
    assert hook(httpx.ReadError("lost", request=request)) is False
    assert isinstance(hook(httpx.ConnectError("refused", request=request)), float)
    keyed = backoff_hook(RetryPolicy(), idempotent=True)
    assert isinstance(keyed(httpx.ReadError("lost", request=request)), float)


def test_importing_the_package_stays_light() -> None:
    code = (
        "import sys, backend_client; "
        "print(','.join(m for m in ('httpx', 'stamina', 'pydantic', 'textual') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""
