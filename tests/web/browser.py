"""Headless Chromium (Debian's `chromium` package) driven over the DevTools protocol.

No Playwright, no downloaded browser: `Chromium` starts `/usr/bin/chromium` with
`--remote-debugging-port=0`, reads the port Chromium chose from
`DevToolsActivePort` in its throw-away profile, and `Page` speaks CDP to one tab
over a websocket (aiohttp's client; aiohttp comes with textual-serve).

Reading the App's screen: textual-serve's page renders with xterm.js to a canvas,
so there is no text in the DOM. `TERMINAL_HOOK` runs before the page's scripts
(`Page.addScriptToEvaluateOnNewDocument`) and keeps each xterm `Terminal` the
page assigns to a `.terminal` property (textual.js's `this.terminal = new
Terminal(...)`); `Page.screen_text()` then reads the terminal's buffer through
xterm's public API (`buffer.active.getLine(y).translateToString()`): the exact
characters on the screen, no OCR.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import os
import shutil
import signal
import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import aiohttp

FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-extensions",
    "--disable-dev-shm-usage",
    "--window-size=1280,900",
    "--remote-debugging-port=0",
    "--remote-debugging-address=127.0.0.1",
]

TERMINAL_HOOK = """
(() => {
  const seen = [];
  Object.defineProperty(window, "__xtermTerminals", { value: seen });
  Object.defineProperty(Object.prototype, "terminal", {
    configurable: true,
    get() { return undefined; },
    set(value) {
      Object.defineProperty(this, "terminal", {
        value, writable: true, configurable: true, enumerable: true,
      });
      if (value && typeof value === "object" && "buffer" in value) seen.push(value);
    },
  });
})();
"""

SCREEN_JS = """
(() => {
  const t = window.__xtermTerminals && window.__xtermTerminals[0];
  if (!t) return null;
  const b = t.buffer.active;
  const lines = [];
  for (let y = 0; y < t.rows; y++) {
    const line = b.getLine(b.viewportY + y);
    lines.push(line ? line.translateToString(true) : "");
  }
  return lines.join("\\n");
})()
"""


BORDER_COLOR_JS = """
((needle, border) => {
  const t = window.__xtermTerminals && window.__xtermTerminals[0];
  if (!t) return null;
  const b = t.buffer.active;
  for (let y = 0; y < t.rows; y++) {
    const line = b.getLine(b.viewportY + y);
    if (!line) continue;
    const text = line.translateToString(true);
    if (!text.includes(needle)) continue;
    const x = text.indexOf(border);
    if (x < 0) return null;
    const cell = line.getCell(x);
    return cell.getFgColorMode() + ":" + cell.getFgColor();
  }
  return null;
})
"""


class BrowserUnavailable(RuntimeError):
    """Chromium is not installed or cannot start here (the test skips, saying why)."""


class BrowserError(RuntimeError):
    """A CDP call failed, or a condition was not met in time (the message says which)."""


def chromium_binary() -> str | None:
    """Debian's chromium, or None."""
    return shutil.which("chromium")


class Chromium:
    """A headless Chromium with its own profile under `workdir`. Context manager."""

    def __init__(self, workdir: Path) -> None:
        self.profile = workdir / "chromium-profile"
        self.log_path = workdir / "chromium.log"
        self._proc: subprocess.Popen[bytes] | None = None
        self.devtools_port = 0

    def __enter__(self) -> Chromium:
        binary = chromium_binary()
        if binary is None:
            raise BrowserUnavailable(
                "Debian's chromium is not installed (apt-get install chromium)"
            )
        self.profile.mkdir(parents=True)
        with self.log_path.open("wb") as log:
            self._proc = subprocess.Popen(
                [binary, *FLAGS, f"--user-data-dir={self.profile}", "about:blank"],
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        port_file = self.profile / "DevToolsActivePort"
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self._proc.poll() is not None:
                tail = self.log_path.read_text(errors="replace")[-800:]
                raise BrowserUnavailable(f"chromium exited with {self._proc.returncode}: {tail}")
            with contextlib.suppress(OSError, ValueError, IndexError):
                self.devtools_port = int(port_file.read_text().splitlines()[0])
                return self
            time.sleep(0.05)  # polling a file Chromium writes, under a deadline
        self.close()
        raise BrowserUnavailable("chromium did not open its DevTools port within 30 s")

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Kill Chromium's whole process group (renderers, GPU and zygote included)."""
        if self._proc is None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self._proc.pid, signal.SIGKILL)
        self._proc.wait(timeout=30)
        self._proc = None

    async def page(self, session: aiohttp.ClientSession) -> Page:
        """A new tab (about:blank), connected."""
        endpoint = f"http://127.0.0.1:{self.devtools_port}/json/new?about:blank"
        async with session.put(endpoint) as reply:
            target = await reply.json()
        url = str(target["webSocketDebuggerUrl"])
        page = Page(await session.ws_connect(url, max_msg_size=0), str(target["id"]))
        page.start()
        return page

    async def close_tab(self, session: aiohttp.ClientSession, page: Page) -> None:
        """Close the tab, as a user closing it would (its websockets go with it)."""
        await page.close()
        endpoint = f"http://127.0.0.1:{self.devtools_port}/json/close/{page.target_id}"
        async with session.get(endpoint) as reply:
            if reply.status != 200:
                raise BrowserError(f"closing tab {page.target_id}: HTTP {reply.status}")


class Page:
    """One tab over CDP: calls, events and the xterm screen."""

    def __init__(self, ws: aiohttp.ClientWebSocketResponse, target_id: str) -> None:
        self._ws = ws
        self.target_id = target_id
        self._ids = itertools.count(1)
        self._pending: dict[int, asyncio.Future[dict[str, Any]]] = {}
        self.events: list[dict[str, Any]] = []
        self._reader: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._reader = asyncio.get_running_loop().create_task(self._read())

    async def _read(self) -> None:
        async for message in self._ws:
            if message.type != aiohttp.WSMsgType.TEXT:
                continue
            data = json.loads(message.data)
            future = self._pending.pop(data.get("id", -1), None)
            if future is not None and not future.done():
                future.set_result(data)
            elif "method" in data:
                self.events.append(data)
        for future in self._pending.values():
            if not future.done():
                future.set_exception(BrowserError("the DevTools connection closed"))

    async def call(self, method: str, **params: Any) -> dict[str, Any]:
        """One CDP command; its `result`, or BrowserError with CDP's error."""
        call_id = next(self._ids)
        future: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self._pending[call_id] = future
        await self._ws.send_str(json.dumps({"id": call_id, "method": method, "params": params}))
        reply = await asyncio.wait_for(future, 30)
        if "error" in reply:
            raise BrowserError(f"{method}: {reply['error']}")
        return dict(reply.get("result", {}))

    async def evaluate(self, expression: str) -> Any:
        result = await self.call("Runtime.evaluate", expression=expression, returnByValue=True)
        if "exceptionDetails" in result:
            raise BrowserError(f"page script failed: {result['exceptionDetails']}")
        return result["result"].get("value")

    async def open(self, url: str) -> None:
        """Navigate to `url` with the terminal hook installed before the page's scripts."""
        await self.call("Page.enable")
        await self.call("Runtime.enable")
        await self.call("Network.enable")  # websocket frames, for failure messages
        await self.call("Page.addScriptToEvaluateOnNewDocument", source=TERMINAL_HOOK)
        reply = await self.call("Page.navigate", url=url)
        if reply.get("errorText"):
            raise BrowserError(f"navigating to {url}: {reply['errorText']}")

    async def screen_text(self) -> str | None:
        """The terminal's visible rows as text (None before the page made its terminal)."""
        text = await self.evaluate(SCREEN_JS)
        return None if text is None else str(text)

    async def wait_for(
        self, predicate: Callable[[str], bool], what: str, *, within: float = 30.0
    ) -> str:
        """Poll the screen until `predicate(screen)`; the screen, or BrowserError naming `what`."""
        deadline = time.monotonic() + within
        screen: str | None = None
        while True:
            screen = await self.screen_text()
            if screen is not None and predicate(screen):
                return screen
            if time.monotonic() > deadline:
                raise BrowserError(
                    f"no {what} within {within:.0f} s; the browser sent {self.sent_frames()[-12:]}"
                    f"; the screen:\n{screen}"
                )
            await asyncio.sleep(0.1)  # a poll interval under a deadline, not a wait for an event

    async def border_color(self, needle: str, border: str = "\u258a") -> str | None:
        """The colour of the first `border` character on the row showing `needle`.

        Textual draws the focused Input's border in the accent colour, so this tells
        which field has the focus (xterm's cell API: colour mode and value).
        """
        value = await self.evaluate(
            f"{BORDER_COLOR_JS}({json.dumps(needle)}, {json.dumps(border)})"
        )
        return None if value is None else str(value)

    async def wait_text(self, text: str, *, within: float = 30.0) -> str:
        return await self.wait_for(lambda s: text in s, repr(text), within=within)

    async def type_text(self, text: str) -> None:
        """Type into the focused terminal, as a keyboard's text input would."""
        await self.evaluate("window.__xtermTerminals[0].focus()")
        await self.call("Input.insertText", text=text)

    async def press_enter(self) -> None:
        """Enter, as a keyboard sends it (xterm turns it into a carriage return)."""
        await self.evaluate("window.__xtermTerminals[0].focus()")
        key = {"key": "Enter", "code": "Enter", "windowsVirtualKeyCode": 13}
        await self.call("Input.dispatchKeyEvent", type="keyDown", text="\r", **key)
        await self.call("Input.dispatchKeyEvent", type="keyUp", **key)

    def sent_frames(self) -> list[str]:
        """What the page sent on its websockets (textual-serve's JSON envelopes)."""
        return [
            str(event["params"]["response"]["payloadData"])
            for event in self.events
            if event["method"] == "Network.webSocketFrameSent"
        ]

    async def close(self) -> None:
        """Close the DevTools connection (the tab stays open)."""
        if self._ws.closed:
            return
        await self._ws.close()
        if self._reader is not None:
            await self._reader
