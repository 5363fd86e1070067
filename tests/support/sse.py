"""A real SSE client for tests and benchmarks: a thread reading `GET /v1/events`.

`StreamReader(url, token)` opens the stream (raising `StreamRefused` with the
status on anything but 200), parses events as the SSE spec says (id, event, data,
`:` comments) and keeps them, and every raw line, for the test to wait on and
inspect. Waiting polls a condition with a deadline; nothing sleeps to synchronise.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx

DEADLINE = 10.0


class StreamRefused(RuntimeError):
    """The server answered the stream request with an error status."""

    def __init__(self, status: int, body: str, headers: httpx.Headers) -> None:
        super().__init__(f"stream refused: {status} {body}")
        self.status = status
        self.body = body
        self.headers = headers


@dataclass(frozen=True)
class Received:
    id: str
    event: str
    data: dict[str, Any]
    at: float  # time.monotonic() when the event's blank line arrived


class StreamReader:
    """One open event stream, read by a background thread until `close()`."""

    def __init__(self, base_url: str, token: str, *, last_event_id: str | None = None) -> None:
        headers = {"Authorization": f"Bearer {token}", "Accept": "text/event-stream"}
        if last_event_id is not None:
            headers["Last-Event-ID"] = last_event_id
        self._client = httpx.Client(base_url=base_url, timeout=httpx.Timeout(30.0, read=None))
        self._cond = threading.Condition()
        self.events: list[Received] = []
        self.lines: list[str] = []
        self.comments = 0
        self.ended = False  # the server closed the stream
        self.error: BaseException | None = None
        request = self._client.build_request("GET", "/v1/events", headers=headers)
        self._response = self._client.send(request, stream=True)
        if self._response.status_code != 200:
            body = self._response.read().decode(errors="replace")
            headers_seen = self._response.headers
            self._response.close()
            self._client.close()
            raise StreamRefused(self._response.status_code, body, headers_seen)
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        event_id, name, data = "", "message", []
        try:
            for line in self._response.iter_lines():
                with self._cond:
                    self.lines.append(line)
                if line == "":
                    if data:
                        received = Received(
                            event_id, name, json.loads("\n".join(data)), time.monotonic()
                        )
                        with self._cond:
                            self.events.append(received)
                            self._cond.notify_all()
                    name, data = "message", []
                    continue
                field, _, value = line.partition(":")
                value = value.removeprefix(" ")
                if field == "":
                    with self._cond:
                        self.comments += 1
                        self._cond.notify_all()
                elif field == "id":
                    event_id = value
                elif field == "event":
                    name = value
                elif field == "data":
                    data.append(value)
        except (httpx.HTTPError, RuntimeError) as exc:  # closed by us, or by the server
            self.error = exc
        finally:
            with self._cond:
                self.ended = True
                self._cond.notify_all()

    def wait_for(
        self, predicate: Callable[[StreamReader], bool], timeout: float = DEADLINE
    ) -> bool:
        """True as soon as `predicate(self)` holds; False after `timeout` seconds."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while not predicate(self):
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._cond.wait(left)
            return True

    def named(self, name: str) -> list[Received]:
        with self._cond:
            return [e for e in self.events if e.event == name]

    def snapshot(self) -> list[Received]:
        with self._cond:
            return list(self.events)

    def close(self) -> None:
        try:
            self._response.close()
        finally:
            self._client.close()
        self._thread.join(timeout=10)

    def __enter__(self) -> StreamReader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
