"""Server-sent events with reconnect, for the live streams (shadowing, whispers).

httpx-sse parses the stream; this module adds what a long-lived subscription
needs: reconnect with backoff after a dropped connection or a 5xx, resume with
`Last-Event-ID` so nothing is missed, honour the server's `retry:` hint, and
stop with a typed error on answers that will not get better (401, 403, 404).
"""

from __future__ import annotations

import asyncio
import inspect
import json
import random
from collections.abc import AsyncGenerator, Callable, Mapping
from dataclasses import dataclass
from typing import Any

import httpx
from httpx_sse import SSEError, aconnect_sse

from backend_client.errors import BadResponse, Offline, TLSError
from backend_client.responses import error_from_response
from backend_client.retries import (
    is_certificate_error,
    retry_after_seconds,
    should_retry_status,
)


@dataclass(frozen=True)
class SseEvent:
    """One dispatched event; `id` is the stream's last event id when it arrived."""

    event: str
    data: str
    id: str
    retry: int | None = None

    def json(self) -> Any:
        return json.loads(self.data)


@dataclass(frozen=True)
class ReconnectPolicy:
    """Backoff between reconnects; `max_failures` consecutive failures raise `Offline`."""

    wait_initial: float = 0.25
    wait_max: float = 10.0
    wait_jitter: float = 0.25
    max_failures: int | None = None  # None: keep trying until the consumer stops

    def delay(self, failures: int, hint: float | None) -> float:
        base = min(self.wait_max, self.wait_initial * (2 ** (failures - 1)))
        return max(hint or 0.0, base) + random.uniform(0, self.wait_jitter)


async def event_stream(
    http: httpx.AsyncClient,
    url: str,
    *,
    headers: Callable[[], Mapping[str, str]],
    last_event_id: str | None = None,
    params: Mapping[str, str] | None = None,
    policy: ReconnectPolicy | None = None,
    http_timeout: httpx.Timeout | None = None,
    on_state: Callable[[bool], Any] | None = None,
) -> AsyncGenerator[SseEvent, None]:
    """Yield events from `url` for as long as the consumer iterates.

    `on_state(True)` is called (and awaited if it returns an awaitable) each
    time a stream opens (200), `on_state(False)` each time an open stream
    ends (dropped, closed by the server, or the consumer stopped). Raises the
    typed error of an answer that will not get better (401, 403, 404, ...),
    `TLSError`, `BadResponse` (not an event stream), or `Offline` after
    `policy.max_failures` reconnects.
    """
    policy = policy or ReconnectPolicy()

    async def tell(connected: bool) -> None:
        if on_state is not None:
            result = on_state(connected)
            if inspect.isawaitable(result):
                await result

    last_id = last_event_id or ""
    hint: float | None = None
    failures = 0
    while True:
        asked_wait: float | None = None  # this answer's Retry-After, if any
        request_headers = dict(headers())
        if last_id:
            request_headers["Last-Event-ID"] = last_id
        try:
            async with aconnect_sse(
                http, "GET", url, headers=request_headers, params=params, timeout=http_timeout
            ) as source:
                response = source.response
                if response.status_code != 200:
                    await response.aread()
                    if not should_retry_status(response.status_code, idempotent=True):
                        raise error_from_response(response)
                    asked_wait = retry_after_seconds(response)
                else:
                    await tell(True)
                    try:
                        async for sse in source.aiter_sse():
                            failures = 0
                            if sse.retry is not None:
                                hint = sse.retry / 1000
                            if sse.id:
                                last_id = sse.id
                            if not sse.data:
                                continue  # the spec dispatches nothing for an empty data buffer
                            yield SseEvent(
                                event=sse.event, data=sse.data, id=last_id, retry=sse.retry
                            )
                    finally:
                        await tell(False)
        except SSEError as exc:
            raise BadResponse(f"{url}: not an event stream ({exc})") from None
        except httpx.TransportError as exc:
            if is_certificate_error(exc):
                raise TLSError(f"{url}: the server's TLS certificate did not verify") from None
            # dropped or refused: reconnect below
        failures += 1
        if policy.max_failures is not None and failures > policy.max_failures:
            raise Offline(f"event stream {url}: no connection after {failures - 1} reconnects")
        await asyncio.sleep(policy.delay(failures, max(hint or 0.0, asked_wait or 0.0)))
