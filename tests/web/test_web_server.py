"""`assistant-tui web` without a browser: its options, the command it runs per
session, and the real server's refusals (foreign Origin, DNS-rebinding Host, too
many sessions) and page. A websocket from Python drives one real session through
the sign-in screen, proving the session's own driver (keys in, screens out)."""

from __future__ import annotations

import asyncio
import json
import re
import shlex
import shutil
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import aiohttp
import pytest

from assistant_tui.cli import main
from assistant_tui.web import (
    WebOptionError,
    check_listen_host,
    check_public_url,
    session_argv,
    session_command,
)
from tests.support.ports import free_port
from tests.web.webserver import WebServer

pytestmark = pytest.mark.timeout(180)

HOSTILE = "http://127.0.0.1:1/$(touch {marker});`touch {marker}` ' \" \\ & | > x"


def test_session_command_quotes_every_option_so_none_reaches_the_shell(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    marker = tmp_path / "injected"
    server = HOSTILE.format(marker=marker)
    data_dir = tmp_path / "data dir; rm -rf ~"
    command = session_command(server, data_dir)
    assert shlex.split(command) == session_argv(server, data_dir)
    # Run it through the shell as textual-serve does, with `echo` in place of Python:
    # every value comes back literally and nothing was executed.
    echo = shutil.which("echo")
    assert echo is not None
    monkeypatch.setattr(sys, "executable", echo)
    out = subprocess.run(
        ["/bin/sh", "-c", session_command(server, data_dir)],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert server in out and str(data_dir.resolve()) in out
    assert not marker.exists()


def test_session_command_refuses_a_nul_byte(tmp_path: Path) -> None:
    with pytest.raises(WebOptionError, match="NUL"):
        session_command("http://127.0.0.1:1", tmp_path / "a\x00b")
    with pytest.raises(WebOptionError, match="NUL"):
        session_command("http://127.0.0.1:1/\x00", tmp_path)


@pytest.mark.parametrize("host", ["127.0.0.1", "::1", "[::1]", "localhost", "127.0.0.2"])
def test_loopback_hosts_are_served(host: str) -> None:
    assert check_listen_host(host, allow_remote=False) == host.strip("[]")


@pytest.mark.parametrize("host", ["0.0.0.0", "192.0.2.10", "::"])
def test_other_hosts_need_allow_remote(host: str) -> None:
    with pytest.raises(WebOptionError, match="--allow-remote"):
        check_listen_host(host, allow_remote=False)
    assert check_listen_host(host, allow_remote=True) == host


def test_a_host_name_is_refused_even_with_allow_remote() -> None:
    with pytest.raises(WebOptionError, match="IP address"):
        check_listen_host("vma.example.org", allow_remote=True)


def test_public_url_is_an_origin_only() -> None:
    assert check_public_url("https://vma.example.org/") == "https://vma.example.org"
    for bad in ("ftp://x", "https://vma.example.org/app", "https://u:p@x", "https://x/?a=1"):
        with pytest.raises(WebOptionError):
            check_public_url(bad)


def test_cli_refuses_a_non_loopback_host_without_the_flag(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    base = ["--data-dir", str(tmp_path), "web"]
    assert main([*base, "--server", "http://127.0.0.1:1", "--host", "0.0.0.0"]) == 2
    assert "not a loopback address" in capsys.readouterr().err
    assert main([*base, "--server", "http://api.example.org"]) == 2
    assert "refusing plain http" in capsys.readouterr().err
    assert main(base) == 2
    assert "--server" in capsys.readouterr().err


@pytest.fixture(scope="module")
def web(tmp_path_factory: pytest.TempPathFactory) -> Iterator[WebServer]:
    # The API is never reached here (no one signs in): a closed port stands in for it.
    workdir = tmp_path_factory.mktemp("web")
    api = f"http://127.0.0.1:{free_port()}"
    with WebServer(api, workdir, "--max-sessions", "1") as server:
        yield server


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


async def test_the_page_loads_nothing_from_another_site_and_may_not_be_framed(
    web: WebServer, http: aiohttp.ClientSession
) -> None:
    async with http.get(web.url + "/") as reply:
        assert reply.status == 200
        page = await reply.text()
        assert reply.headers["X-Frame-Options"] == "DENY"
        assert "frame-ancestors 'none'" in reply.headers["Content-Security-Policy"]
        assert reply.headers["Cache-Control"] == "no-store"
    assert "ws://127.0.0.1:" in page and 'data-session-websocket-url="ws://' in page
    # Every address in the page is this server's own (textual-serve's stock page
    # fetches a web font from fonts.googleapis.com; ours does not).
    addresses = re.findall(r"(?:https?|wss?)://[^\s\"'<>)]+", page)
    assert addresses
    own = (web.url, web.url.replace("http", "ws", 1))
    svg_namespace = "http://www.w3.org/2000/svg"  # an XML name, never fetched
    assert [a for a in addresses if not a.startswith(own) and a != svg_namespace] == []
    assert "web_session" not in page  # the session command is not shown to the browser


async def test_a_foreign_host_name_is_refused(web: WebServer, http: aiohttp.ClientSession) -> None:
    # DNS rebinding: a page at attacker.example whose name now points at 127.0.0.1.
    port = web.url.rsplit(":", 1)[1]
    async with http.get(web.url + "/", headers={"Host": f"attacker.example:{port}"}) as reply:
        assert reply.status == 421


async def test_a_websocket_from_another_site_is_refused(
    web: WebServer, http: aiohttp.ClientSession
) -> None:
    for origin in ("http://attacker.example", "null", None):
        headers = {"Origin": origin} if origin else {}
        with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
            await http.ws_connect(web.url.replace("http", "ws") + "/ws", headers=headers)
        assert refused.value.status == 403


async def _screen_until(ws: aiohttp.ClientWebSocketResponse, text: str, within: float) -> bytes:
    """The session's output bytes until they contain `text` (BrowserError-free: asserts)."""
    seen = bytearray()
    deadline = time.monotonic() + within
    while text.encode() not in seen:
        remaining = deadline - time.monotonic()
        assert remaining > 0, f"no {text!r} within {within} s; last output: {bytes(seen[-400:])!r}"
        try:
            message = await ws.receive(timeout=remaining)
        except TimeoutError:
            raise AssertionError(f"no {text!r} within {within} s: {bytes(seen[-400:])!r}") from None
        if message.type == aiohttp.WSMsgType.BINARY:
            seen.extend(message.data)
        elif message.type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED):
            raise AssertionError(f"session closed before {text!r}: {bytes(seen[-400:])!r}")
    return bytes(seen)


async def test_one_session_runs_the_sign_in_and_a_second_one_waits_for_a_slot(
    web: WebServer, http: aiohttp.ClientSession
) -> None:
    ws_url = web.url.replace("http", "ws") + "/ws?width=100&height=30"
    ws = await http.ws_connect(ws_url, headers={"Origin": web.url})
    try:
        await _screen_until(ws, "Sign in to", within=60)
        # --max-sessions 1: a second browser session is turned away while this one runs.
        with pytest.raises(aiohttp.WSServerHandshakeError) as full:
            await http.ws_connect(ws_url, headers={"Origin": web.url})
        assert full.value.status == 503
        # Keys reach the App: F2 (as xterm sends it) opens the set-up code screen.
        await ws.send_str(json.dumps(["stdin", "\x1bOQ"]))
        await _screen_until(ws, "choose your password", within=30)
    finally:
        await ws.close()
    # The session's process ended with its websocket: a new session gets the slot.
    deadline = time.monotonic() + 30
    while True:
        try:
            again = await http.ws_connect(ws_url, headers={"Origin": web.url})
            break
        except aiohttp.WSServerHandshakeError as exc:
            assert exc.status == 503
            assert time.monotonic() < deadline, "the ended session kept its slot"
            await asyncio.sleep(0.1)  # poll interval under a deadline
    await again.close()


async def test_behind_a_proxy_the_public_name_is_served_and_the_page_uses_wss(
    tmp_path: Path, http: aiohttp.ClientSession
) -> None:
    api = f"http://127.0.0.1:{free_port()}"
    public = "https://vma.example.org"
    with WebServer(api, tmp_path, "--public-url", public) as proxied:
        assert proxied.url == public  # what it prints is the address browsers use
        local = proxied.listening  # the listener itself is still on loopback
        assert local.startswith("http://127.0.0.1:")
        async with http.get(local + "/", headers={"Host": "vma.example.org"}) as reply:
            assert reply.status == 200
            page = await reply.text()
        assert 'data-session-websocket-url="wss://vma.example.org/ws"' in page
        async with http.get(local + "/", headers={"Host": "attacker.example"}) as reply:
            assert reply.status == 421
