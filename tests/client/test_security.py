"""TLS by default, a custom CA file, and plain HTTP only to loopback."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from backend_client import ApiClient, RetryPolicy, make_transport
from backend_client.errors import InsecureURL, TLSError
from tests.client.certs import CertFiles, make_certs
from tests.client.faults import DropAfterSendTransport
from tests.client.stub_server import Recorder, StubServer, running_stub


@pytest.fixture
def no_sockets(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Record (and refuse) every name lookup or connect attempted during the test."""
    attempts: list[str] = []

    def refuse(*args: Any, **kwargs: Any) -> Any:
        attempts.append(repr(args[:2]))
        raise OSError("network use is not allowed in this test")

    monkeypatch.setattr(socket, "getaddrinfo", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket.socket, "connect_ex", refuse)
    return attempts


@pytest.mark.parametrize(
    "url",
    [
        "http://example.org",
        "http://10.0.0.5:8000",
        "http://192.168.1.10",
        "http://localhost.example.org",
        "http://[2001:db8::1]:8000",
        "http://128.0.0.1",
        "ftp://127.0.0.1",
        "127.0.0.1:8000",
        "https://user:pw@example.org",
    ],
)
async def test_insecure_or_malformed_urls_are_refused_before_any_connection(
    url: str, no_sockets: list[str]
) -> None:
    with pytest.raises(InsecureURL) as info:
        ApiClient(url)
    assert "pw" not in str(info.value)
    assert no_sockets == []


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:8000",
        "http://127.9.8.7",
        "http://localhost:8000/",
        "http://LOCALHOST",
        "http://[::1]:8000",
        "https://api.example.org",
    ],
)
async def test_tls_and_loopback_urls_are_accepted(url: str, no_sockets: list[str]) -> None:
    api = ApiClient(url)
    assert not api.base_url.endswith("/")
    await api.aclose()
    assert no_sockets == []


@pytest.fixture(scope="module")
def certs(tmp_path_factory: pytest.TempPathFactory) -> CertFiles:
    return make_certs(tmp_path_factory.mktemp("certs"))


@pytest.fixture(scope="module")
def tls_stub(tmp_path_factory: pytest.TempPathFactory, certs: CertFiles) -> Iterator[StubServer]:
    db: Path = tmp_path_factory.mktemp("tls") / "stub.db"
    yield from running_stub(db, certfile=certs.cert_file, keyfile=certs.key_file)


async def test_custom_ca_file_is_trusted(tls_stub: StubServer, certs: CertFiles) -> None:
    assert tls_stub.url.startswith("https://")
    async with ApiClient(tls_stub.url, ca_file=str(certs.ca_file)) as api:
        assert (await api.health()).status == "ok"


async def test_unknown_certificate_is_a_tls_error_not_offline(tls_stub: StubServer) -> None:
    tls_stub.recorder.clear()
    async with ApiClient(tls_stub.url, retry=RetryPolicy(budget=2.0)) as api:
        with pytest.raises(TLSError):
            await api.health()
    recorder: Recorder = tls_stub.recorder
    assert recorder.seen("/v1/health") == []  # the request never got past the handshake


async def test_wrapped_transport_keeps_the_custom_ca(
    tls_stub: StubServer, certs: CertFiles
) -> None:
    with pytest.raises(ValueError):
        ApiClient(tls_stub.url, ca_file=str(certs.ca_file), transport=make_transport())
    wrapped = DropAfterSendTransport(make_transport(ca_file=str(certs.ca_file)), drop_every=1000)
    async with ApiClient(tls_stub.url, transport=wrapped) as api:
        assert (await api.health()).status == "ok"
