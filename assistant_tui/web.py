"""`assistant-tui web`: every mode in a browser, through textual-serve.

What it is: a small aiohttp server (textual-serve 1.1.3) that serves one page
(xterm.js) and a websocket. Each websocket starts its own process running
`python -m assistant_tui.web_session`: the same sign-in screen, cache passphrase
and role-based modes as the terminal, with Textual's output sent to the browser.
Nothing bypasses the sign-in; no credential is on a command line or in a URL;
each user's encrypted cache lives in the data directory as it does for the
terminal (one file and key per username, opened with that user's passphrase).

What it is not: a TLS server or an authentication layer. It listens on loopback
(127.0.0.1) by default and refuses any other address unless `--allow-remote` is
given (then it warns: put it behind a TLS-terminating reverse proxy). Against
other sites in the same browser: the websocket is refused (403) unless its
`Origin` is this server's own, requests on a loopback listener must name a
loopback host or the `--public-url` host (`Host`, against DNS rebinding), and pages may not be framed.

The command each websocket runs is built here from a fixed argv (the Python
running this process, the module, and the validated options), each argument
quoted with `shlex.join`, so no option value can reach the shell as syntax.
"""

from __future__ import annotations

import argparse
import gc
import ipaddress
import shlex
import socket
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from backend_client.errors import InsecureURL
from backend_client.urls import check_base_url, is_loopback_host

TITLE = "assistant-tui"
DEFAULT_PORT = 8765
DEFAULT_MAX_SESSIONS = 20
TEMPLATES = Path(__file__).with_name("web_templates")


class WebOptionError(ValueError):
    """An option of `assistant-tui web` that cannot be served safely; one-line message."""


def session_argv(server: str, data_dir: Path, ca_file: str | None = None) -> list[str]:
    """The argv of one browser session's process (before quoting).

    `server` must already have passed `check_base_url`; `data_dir` is made
    absolute so the session does not depend on the server's working directory.
    """
    argv = [
        sys.executable,
        "-m",
        "assistant_tui.web_session",
        "--server",
        server,
        "--data-dir",
        str(Path(data_dir).resolve()),
    ]
    if ca_file:
        argv += ["--ca-file", str(Path(ca_file).resolve())]
    return argv


def session_command(server: str, data_dir: Path, ca_file: str | None = None) -> str:
    """`session_argv` as the one shell command textual-serve runs per websocket.

    textual-serve starts it with `asyncio.create_subprocess_shell`; `shlex.join`
    quotes every argument, so `shlex.split(result) == session_argv(...)` and a
    value such as `$(…)` or `;` stays a literal. Raises `WebOptionError` for a
    NUL byte (no argv can hold one).
    """
    if any("\x00" in str(value) for value in (server, data_dir, ca_file or "")):
        raise WebOptionError("an option contains a NUL byte")
    return shlex.join(session_argv(server, data_dir, ca_file))


def check_listen_host(host: str, *, allow_remote: bool) -> str:
    """The address to listen on: loopback, or anything with `allow_remote`.

    A literal IP or `localhost` only (no resolver); raises `WebOptionError`
    otherwise, or for a non-loopback address without `allow_remote`.
    """
    host = host.strip()
    if host != "localhost":
        try:
            ipaddress.ip_address(host.strip("[]"))
        except ValueError:
            raise WebOptionError(
                f"--host {host!r}: give an IP address (e.g. 127.0.0.1) or localhost"
            ) from None
        host = host.strip("[]")
    if not is_loopback_host(host) and not allow_remote:
        raise WebOptionError(
            f"--host {host}: not a loopback address. assistant-tui web has no TLS and "
            "no login of its own in front of the App; serve it on 127.0.0.1, or behind a "
            "TLS reverse proxy with --allow-remote"
        )
    return host


def check_public_url(url: str) -> str:
    """`--public-url`: an http(s) origin (no path, query or credentials); no trailing slash."""
    parts = urlsplit(url.strip())
    try:
        parts.port  # noqa: B018 - raises ValueError for a port that is not a number
    except ValueError:
        raise WebOptionError(f"--public-url {url!r}: not a valid port") from None
    if (
        parts.scheme not in ("http", "https")
        or not parts.hostname
        or parts.path not in ("", "/")
        or parts.query
        or parts.fragment
        or parts.username
        or parts.password
    ):
        raise WebOptionError(
            f"--public-url {url!r}: give an origin such as https://vma.example.org "
            "(no path, query or credentials)"
        )
    return f"{parts.scheme}://{parts.netloc}"


def _url_host(host: str) -> str:
    return f"[{host}]" if ":" in host else host


def _origin_of(url: str) -> tuple[str, str, int]:
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    port = parts.port or (443 if scheme in ("https", "wss") else 80)
    return scheme, (parts.hostname or "").lower(), port


def _make_server_class() -> type[Any]:
    """The textual-serve `Server` subclass; built on first use (aiohttp is heavy)."""
    from aiohttp import web
    from textual_serve.server import Server

    class WebServer(Server):
        """textual-serve's Server with the checks this project needs.

        `port` 0 picks a free port; the address is printed on start
        ("assistant-tui web: serving on http://127.0.0.1:PORT; Ctrl+C stops", or
        "serving on PUBLIC-URL (listening on http://127.0.0.1:PORT)" behind a proxy).
        """

        def __init__(
            self,
            command: str,
            *,
            host: str,
            port: int,
            public_url: str | None,
            max_sessions: int,
        ) -> None:
            self._socket = socket.create_server(
                (host, port), family=socket.AF_INET6 if ":" in host else socket.AF_INET
            )
            bound_port = int(self._socket.getsockname()[1])
            super().__init__(
                command,
                host=host,
                port=bound_port,
                title=TITLE,
                public_url=public_url or f"http://{_url_host(host)}:{bound_port}",
                templates_path=TEMPLATES,
            )
            self.loopback = is_loopback_host(host)
            self.max_sessions = max_sessions
            self.sessions = 0

        async def _make_app(self) -> web.Application:
            app = await super()._make_app()
            loopback = self.loopback
            # Behind a reverse proxy (--public-url) the proxy may pass its own name on.
            public_host = _origin_of(self.public_url)[1]

            @web.middleware
            async def check_host(
                request: web.Request,
                handler: Callable[[web.Request], Awaitable[web.StreamResponse]],
            ) -> web.StreamResponse:
                # A loopback listener answers only to loopback names: a page on another
                # site whose name was re-pointed at 127.0.0.1 (DNS rebinding) gets 421.
                host = (request.url.host or "").lower()
                if loopback and not (is_loopback_host(host) or host == public_host):
                    raise web.HTTPMisdirectedRequest(text="not a loopback host name\n")
                return await handler(request)

            app.middlewares.append(check_host)
            app.on_response_prepare.append(self._headers)
            app.on_cleanup.append(self._collect_ended_sessions)
            return app

        async def _collect_ended_sessions(self, app: web.Application) -> None:
            # textual-serve never closes an ended session's subprocess transport; asyncio
            # closes it when it is garbage-collected, which after the loop has closed
            # prints "Event loop is closed" tracebacks. Collect while the loop still runs.
            gc.collect()

        async def _headers(self, request: web.Request, response: web.StreamResponse) -> None:
            response.headers["X-Frame-Options"] = "DENY"
            response.headers["X-Content-Type-Options"] = "nosniff"
            response.headers["Referrer-Policy"] = "no-referrer"
            response.headers["Content-Security-Policy"] = "frame-ancestors 'none'"
            if request.path == "/":
                response.headers["Cache-Control"] = "no-store"

        def origin_allowed(self, origin: str | None) -> bool:
            """Whether a websocket from a page at `origin` may start a session.

            This server's public origin; on a loopback listener also the same port
            under another loopback name (localhost vs 127.0.0.1). No Origin: refused
            (every browser sends one; a missing one is not a browser page of ours).
            """
            if not origin:
                return False
            try:
                theirs = _origin_of(origin)
            except ValueError:
                return False
            if theirs == _origin_of(self.public_url):
                return True
            return (
                self.loopback
                and theirs[0] == "http"
                and is_loopback_host(theirs[1])
                and theirs[2] == self.port
            )

        async def handle_websocket(self, request: web.Request) -> web.WebSocketResponse:
            if not self.origin_allowed(request.headers.get("Origin")):
                raise web.HTTPForbidden(text="websocket from another site refused\n")
            if self.sessions >= self.max_sessions:
                raise web.HTTPServiceUnavailable(text="too many browser sessions; try later\n")
            self.sessions += 1
            try:
                return await super().handle_websocket(request)
            finally:
                self.sessions -= 1

        async def on_startup(self, app: web.Application) -> None:
            local = f"http://{_url_host(self.host)}:{self.port}"
            where = "" if local == self.public_url else f" (listening on {local})"
            print(
                f"assistant-tui web: serving on {self.public_url}{where}; Ctrl+C stops",
                flush=True,
            )

        def serve(self, debug: bool = False) -> None:
            """Serve until SIGINT/SIGTERM, on the socket bound in `__init__`."""
            import asyncio
            import signal

            self.debug = debug
            self.initialize_logging()
            loop = asyncio.new_event_loop()
            asyncio.set_event_loop(loop)
            for signum in (signal.SIGINT, signal.SIGTERM):
                loop.add_signal_handler(signum, self.request_exit)
            web.run_app(
                self._make_app(),
                sock=self._socket,
                handle_signals=False,
                loop=loop,
                print=lambda *_args: None,
                access_log=None,
            )

    return WebServer


def run_web(args: argparse.Namespace) -> int:
    """Entry point of `assistant-tui web`; returns the exit code (2: a refused option)."""
    from assistant_tui import locations

    server = getattr(args, "web_server", None) or getattr(args, "server", None)
    if not server:
        print("assistant-tui web: give --server URL (the central API)", file=sys.stderr)
        return 2
    try:
        server = check_base_url(server)
        host = check_listen_host(args.host, allow_remote=args.allow_remote)
        public_url = check_public_url(args.public_url) if args.public_url else None
        data_dir = locations.data_dir(getattr(args, "data_dir", None))
        command = session_command(server, data_dir, getattr(args, "ca_file", None))
    except (InsecureURL, WebOptionError) as exc:
        print(f"assistant-tui web: {exc}", file=sys.stderr)
        return 2
    if not is_loopback_host(host):
        print(
            f"WARNING: assistant-tui web is listening on {host}, not loopback. It has no "
            "TLS: keystrokes (passwords, the cache passphrase) and screens cross the "
            "network in clear text unless a TLS reverse proxy is in front of it.",
            file=sys.stderr,
            flush=True,
        )
    try:
        web_server = _make_server_class()(
            command,
            host=host,
            port=args.port,
            public_url=public_url,
            max_sessions=args.max_sessions,
        )
    except OSError as exc:
        print(f"assistant-tui web: cannot listen on {host}:{args.port}: {exc}", file=sys.stderr)
        return 1
    web_server.serve()
    return 0
