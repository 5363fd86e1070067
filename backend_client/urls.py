"""Which base URLs the client may talk to.

TLS everywhere except loopback: a token or a patient record must never cross a
network in clear text, while the embedded demo server on 127.0.0.1 needs no
certificate. The check is pure (no DNS, no socket), so a refused URL is refused
before any connection is attempted.
"""

from __future__ import annotations

import ipaddress
from urllib.parse import urlsplit

from backend_client.errors import InsecureURL


def is_loopback_host(host: str) -> bool:
    """127.0.0.0/8, ::1 or the name `localhost`; nothing that needs a resolver."""
    host = host.strip("[]").lower().rstrip(".")
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_base_url(url: str) -> str:
    """Return the base URL without a trailing slash, or raise `InsecureURL`."""
    try:
        parts = urlsplit(url.strip())
        scheme = parts.scheme.lower()
        host = parts.hostname or ""
        parts.port  # noqa: B018 - raises ValueError for a port that is not a number
    except ValueError as exc:
        raise InsecureURL(f"not a valid server address: {url!r} ({exc})") from None
    if scheme not in ("http", "https") or not host:
        raise InsecureURL(f"not an http(s) server address: {url!r}")
    if scheme == "http" and not is_loopback_host(host):
        raise InsecureURL(
            f"refusing plain http to {host}: use https (plain http is allowed only to loopback)"
        )
    if parts.query or parts.fragment or parts.username or parts.password:
        raise InsecureURL("the server address must not carry a query, fragment or credentials")
    return url.strip().rstrip("/")
