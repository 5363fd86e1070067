"""A Textual web driver for one browser session that runs several Apps in turn.

`assistant-tui web` serves each browser session as its own process (textual-serve
runs one command per websocket). That process runs the same start-up as the
terminal: `StartApp` (sign-in, then the cache passphrase) and then `AssistantApp`.
Textual's own `WebDriver` assumes one App per process: each start writes the
`__GANGLION__` prelude (a second one would corrupt textual-serve's packet stream),
each stop tells textual-serve the session is over (it closes the websocket), and
each driver runs its own stdin reader (two in turn could split a packet between them).

`SessionWebDriver` fixes exactly that and nothing else: the prelude is written once
per process, stopping one App does not end the session (`end_session()` does, when
the process is done), and one process-wide `_InputPump` thread reads stdin,
splits it into packets and hands each to whichever driver is attached, holding
packets that arrive between two Apps for the next one. When textual-serve asks
the session to quit (or stdin closes) before the next App starts, that App
receives the quit as soon as it attaches.

Protocol (textual's `web_driver`, textual-serve's `app_service`): packets of one
type byte (`D` data, `M` JSON meta, `P` packed), a 4-byte big-endian length and
the payload, in both directions.
"""

from __future__ import annotations

import asyncio
import json
import os
import selectors
import signal
import sys
import threading
from codecs import getincrementaldecoder
from collections import deque
from collections.abc import Callable
from typing import Any, ClassVar

from textual import events, messages
from textual._xterm_parser import XTermParser
from textual.app import App
from textual.drivers._byte_stream import ByteStream
from textual.drivers.web_driver import WebDriver
from textual.geometry import Size

# How long one wait for stdin lasts (seconds): also how often a lone Escape is flushed.
_TICK_SECONDS = 0.1
_PRELUDE = b"__GANGLION__\n"


def _packet(kind: bytes, payload: bytes) -> bytes:
    return kind + len(payload).to_bytes(4, "big") + payload


class _InputPump:
    """The one stdin reader of the process; routes packets to the attached driver.

    Runs as a daemon thread from the first attach until stdin closes. Thread-safe:
    `attach`/`detach` are called from the Apps' event loops, `_dispatch` from the
    pump's thread, all under one lock.
    """

    def __init__(self, fileno: int) -> None:
        self._fileno = fileno
        self._lock = threading.Lock()
        self._driver: SessionWebDriver | None = None
        self._held: deque[tuple[str, bytes]] = deque()
        self._stream = ByteStream()
        self._thread: threading.Thread | None = None
        self.quit_requested = False

    def attach(self, driver: SessionWebDriver) -> None:
        """Make `driver` the receiver; replay what arrived while no App listened."""
        with self._lock:
            self._driver = driver
            held = list(self._held)
            self._held.clear()
            for packet_type, payload in held:
                driver.handle_packet(packet_type, payload)
            if self.quit_requested:
                driver.request_quit()
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._run, name="assistant-tui-web-input", daemon=True
                )
                self._thread.start()

    def detach(self, driver: SessionWebDriver) -> None:
        with self._lock:
            if self._driver is driver:
                self._driver = None

    def _run(self) -> None:
        selector = selectors.DefaultSelector()
        selector.register(self._fileno, selectors.EVENT_READ)
        try:
            while True:
                ready = selector.select(_TICK_SECONDS)
                if ready:
                    data = os.read(self._fileno, 65536)
                    if not data:
                        break
                    for packet_type, payload in self._stream.feed(data):
                        self._dispatch(str(packet_type), bytes(payload))
                with self._lock:
                    if self._driver is not None:
                        self._driver.tick()
        except OSError:
            pass
        finally:
            selector.close()
            # stdin closed: textual-serve has gone; whatever runs, or runs next, quits.
            with self._lock:
                self.quit_requested = True
                if self._driver is not None:
                    self._driver.request_quit()

    def _dispatch(self, packet_type: str, payload: bytes) -> None:
        with self._lock:
            if packet_type == "M" and _meta_type(payload) == "quit":
                self.quit_requested = True
            if self._driver is None:
                self._held.append((packet_type, payload))
            else:
                self._driver.handle_packet(packet_type, payload)


def _meta_type(payload: bytes) -> object:
    try:
        meta = json.loads(payload)
    except ValueError:
        return None
    return meta.get("type") if isinstance(meta, dict) else None


class SessionWebDriver(WebDriver):
    """`WebDriver` for a process that runs several Apps in one browser session.

    Chosen with `TEXTUAL_DRIVER=assistant_tui.web_driver:SessionWebDriver` (the web
    session's entry point sets it). Call `end_session()` once the last App has
    exited: it tells textual-serve the session is over.
    """

    _pump: ClassVar[_InputPump | None] = None
    _prelude_written: ClassVar[bool] = False
    # The browser's last reported terminal size, for the next App of the session.
    _last_size: ClassVar[tuple[int, int] | None] = None

    def __init__(
        self,
        app: App[Any],
        *,
        debug: bool = False,
        mouse: bool = True,
        size: tuple[int, int] | None = None,
    ) -> None:
        super().__init__(app, debug=debug, mouse=mouse, size=size or SessionWebDriver._last_size)
        self._parser = XTermParser(debug=debug)
        self._decode: Callable[[bytes], str] = getincrementaldecoder("utf-8")().decode

    @classmethod
    def _the_pump(cls) -> _InputPump:
        if SessionWebDriver._pump is None:
            SessionWebDriver._pump = _InputPump(sys.__stdin__.fileno())  # type: ignore[union-attr]
        return SessionWebDriver._pump

    def start_application_mode(self) -> None:
        """As `WebDriver`'s, but the prelude once per process and the shared input pump."""
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signum, self.request_quit)
        if not SessionWebDriver._prelude_written:
            self._write(_PRELUDE)
            SessionWebDriver._prelude_written = True
        self.write("\x1b[?1049h")  # alternate screen
        self._enable_mouse_support()
        self.write("\x1b[?25l")  # hide the cursor
        size = Size(*(self._size or (80, 24)))
        self._app.post_message(events.Resize(size, size))
        self._request_terminal_sync_mode_support()
        self._enable_bracketed_paste()
        self._the_pump().attach(self)
        self._app.call_later(self._app.post_message, events.AppBlur())

    def stop_application_mode(self) -> None:
        """Stop listening; the session (and the websocket) stays open for the next App."""
        self.exit_event.set()
        self._the_pump().detach(self)
        self._disable_bracketed_paste()
        self._disable_mouse_support()

    def handle_packet(self, packet_type: str, payload: bytes) -> None:
        """One packet from textual-serve: keys and mouse (`D`) or meta (`M`). Pump thread."""
        if packet_type == "D":
            for event in self._parser.feed(self._decode(payload)):
                self.process_message(event)
        elif packet_type == "M":
            meta = json.loads(payload) if payload else {}
            kind = meta.get("type") if isinstance(meta, dict) else None
            if isinstance(kind, str) and kind != "exit":
                self.on_meta(kind, meta)
                if kind == "resize" and self._size is not None:
                    SessionWebDriver._last_size = (int(self._size[0]), int(self._size[1]))

    def tick(self) -> None:
        """Flush what the parser holds back (a lone Escape). Pump thread."""
        for event in self._parser.tick():
            self.process_message(event)

    def request_quit(self) -> None:
        """Ask the App to exit, as textual-serve's `quit` meta does."""
        self._app.post_message(messages.ExitApp())

    @staticmethod
    def end_session() -> None:
        """Tell textual-serve the session is over, so it closes the browser's websocket."""
        if not SessionWebDriver._prelude_written:
            return
        os.write(
            sys.__stdout__.fileno(),  # type: ignore[union-attr]
            _packet(b"M", json.dumps({"type": "exit"}).encode("utf-8")),
        )
