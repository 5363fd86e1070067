"""Fault injection at the client's edge: the network loses answers, not requests.

`DropAfterSendTransport` wraps the real transport. Every `drop_every`-th request
goes to the server and is answered in full (the server commits its work), and
then the answer is thrown away and the caller gets a network error, which is
exactly the case that makes naive retries duplicate writes. D2's sync-engine
tests reuse it.
"""

from __future__ import annotations

import threading

import httpx


class DropAfterSendTransport(httpx.AsyncBaseTransport):
    """Forward to `inner`; on every `drop_every`-th request, discard the response."""

    def __init__(
        self, inner: httpx.AsyncBaseTransport, *, drop_every: int = 3, offset: int = 0
    ) -> None:
        if drop_every < 1:
            raise ValueError("drop_every must be at least 1")
        self.inner = inner
        self.drop_every = drop_every
        self.sent = offset
        self.dropped = 0
        self.enabled = True
        self._lock = threading.Lock()

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        with self._lock:
            self.sent += 1
            drop = self.enabled and self.sent % self.drop_every == 0
        response = await self.inner.handle_async_request(request)
        if not drop:
            return response
        # Let the server finish: read the whole answer, then lose it.
        await response.aread()
        await response.aclose()
        with self._lock:
            self.dropped += 1
        raise httpx.ReadError(
            "response dropped on purpose by DropAfterSendTransport", request=request
        )

    async def aclose(self) -> None:
        await self.inner.aclose()


class OfflineSwitchTransport(httpx.AsyncBaseTransport):
    """Forward to `inner` until `offline` is set; then refuse like an unplugged cable.

    The request never leaves the machine (ConnectError), so even a plain POST is
    safe to retry: what the sync engine sees when the network is down.
    """

    def __init__(self, inner: httpx.AsyncBaseTransport) -> None:
        self.inner = inner
        self.offline = False
        self.refused = 0

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if self.offline:
            self.refused += 1
            raise httpx.ConnectError("offline on purpose (OfflineSwitchTransport)", request=request)
        return await self.inner.handle_async_request(request)

    async def aclose(self) -> None:
        await self.inner.aclose()


class PoisonTransport(httpx.AsyncBaseTransport):
    """Forward to `inner`, but answer `status` itself to requests carrying a poisoned key.

    A request whose `Idempotency-Key` is in `poisoned` never reaches the server
    and gets a JSON error answer every time: a server that fails on one entry
    (issue 14, item 1) while everything else works. `answered` counts them.
    """

    def __init__(
        self, inner: httpx.AsyncBaseTransport, *, status: int = 500, retry_after: int | None = None
    ) -> None:
        self.inner = inner
        self.status = status
        self.retry_after = retry_after
        self.poisoned: set[str] = set()
        self.answered = 0

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if request.headers.get("idempotency-key") in self.poisoned:
            self.answered += 1
            headers = {"Retry-After": str(self.retry_after)} if self.retry_after else {}
            return httpx.Response(
                self.status,
                json={"error": {"code": "internal-error", "message": "synthetic failure"}},
                headers=headers,
                request=request,
            )
        return await self.inner.handle_async_request(request)

    async def aclose(self) -> None:
        await self.inner.aclose()
