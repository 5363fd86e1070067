"""The typed async client of the central API, contract v1.

One long-lived `httpx.AsyncClient` per `ApiClient` (connection reuse matters on
a slow link). Every endpoint has a method that returns the wire schema from
`followup_core.schemas`, validated straight from the response bytes. Failures
come back as the typed errors in `backend_client.errors`; transient ones (the
network, 5xx, 429) are retried first, within a small budget per call.
"""

from __future__ import annotations

import logging
import ssl
from collections.abc import AsyncGenerator, Callable, Mapping
from datetime import date
from types import TracebackType
from typing import Any, TypeVar
from urllib.parse import quote

import httpx
import stamina
from pydantic import BaseModel, TypeAdapter

from backend_client.errors import Offline, TLSError, Unauthorized
from backend_client.responses import error_from_response, parse_adapter, parse_model
from backend_client.retries import (
    RetryableStatus,
    RetryPolicy,
    backoff_hook,
    is_certificate_error,
    should_retry_status,
)
from backend_client.sse import ReconnectPolicy, SseEvent, event_stream
from backend_client.urls import check_base_url
from followup_core.enums import AgentState, EscalationStatus
from followup_core.metrics import ExceptionsReport, MetricsReport
from followup_core.schemas import (
    AttemptCreated,
    AttemptIn,
    AuditPage,
    EscalationIn,
    EscalationOut,
    EscalationResolve,
    Health,
    Lease,
    LoginRequest,
    LoginResponse,
    MissedCallIn,
    MissedCallOut,
    PresenceIn,
    PresenceOut,
    SetupRequest,
    SyncPage,
    TaskDetail,
    UserOut,
)

M = TypeVar("M", bound=BaseModel)

USER_AGENT = "assistant-tui/0.1"
DEFAULT_TIMEOUT = httpx.Timeout(10.0, connect=3.0)
# Streams sit idle between events; the server pings well inside this.
STREAM_TIMEOUT = httpx.Timeout(10.0, connect=3.0, read=60.0)

_ESCALATIONS = TypeAdapter(list[EscalationOut])

# stamina logs each scheduled retry at WARNING. An application that configures
# logging still receives these records; one that does not (the headless
# `assistant-tui sync`) should not get them on stderr through logging's
# last-resort handler.
logging.getLogger("stamina").addHandler(logging.NullHandler())


def make_transport(*, ca_file: str | None = None, retries: int = 0) -> httpx.AsyncHTTPTransport:
    """The real transport with TLS verified (against `ca_file` if given).

    Tests that inject faults wrap this one, so TLS settings survive the wrapping.
    """
    return httpx.AsyncHTTPTransport(verify=_tls_context(ca_file), retries=retries)


def _tls_context(ca_file: str | None) -> ssl.SSLContext:
    if ca_file is None:
        return ssl.create_default_context()
    try:
        return ssl.create_default_context(cafile=ca_file)
    except (OSError, ssl.SSLError) as exc:  # OSError: missing or unreadable file
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        raise TLSError(f"cannot use the CA file {ca_file}: {reason}") from None


def _segment(value: str) -> str:
    """An id as one path segment: '/' or '..' in an id must not change the route."""
    return quote(str(value), safe="")


class ApiClient:
    """Async client of the central API; use as `async with ApiClient(url) as api:`."""

    def __init__(
        self,
        base_url: str,
        *,
        token: str | None = None,
        ca_file: str | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        client_label: str = "assistant-tui",
        retry: RetryPolicy | None = None,
        reconnect: ReconnectPolicy | None = None,
        timeout: httpx.Timeout = DEFAULT_TIMEOUT,
    ) -> None:
        self.base_url = check_base_url(base_url)  # raises before any socket is opened
        if transport is not None and ca_file is not None:
            # A supplied transport owns TLS; silently dropping the CA would be a trap.
            raise ValueError("give ca_file to make_transport() when you supply a transport")
        self.token = token
        self.client_label = client_label
        self.retry = retry or RetryPolicy()
        self.reconnect = reconnect or ReconnectPolicy()
        self._http = httpx.AsyncClient(
            base_url=self.base_url,
            transport=transport or make_transport(ca_file=ca_file),
            timeout=timeout,
            headers={"User-Agent": USER_AGENT, "X-Client": client_label},
            follow_redirects=False,
        )

    # --- lifecycle ------------------------------------------------------------

    async def __aenter__(self) -> ApiClient:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._http.aclose()

    @property
    def closed(self) -> bool:
        return self._http.is_closed

    # --- the request path -----------------------------------------------------

    def _auth_headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"} if self.token else {}

    async def request(
        self,
        method: str,
        path: str,
        *,
        body: BaseModel | None = None,
        params: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
        idempotent: bool | None = None,
        auth: bool = True,
    ) -> httpx.Response:
        """Send with retries; return a 2xx response or raise a typed error.

        `idempotent` says whether repeating the request after it may have
        reached the server is harmless; by default GET/PUT/DELETE are, and a
        POST is when it carries an `Idempotency-Key`.
        """
        all_headers = {**(self._auth_headers() if auth else {}), **(headers or {})}
        if idempotent is None:
            idempotent = method in ("GET", "HEAD", "PUT", "DELETE") or any(
                k.lower() == "idempotency-key" for k in all_headers
            )
        content: bytes | None = None
        if body is not None:
            content = body.model_dump_json().encode()
            all_headers["Content-Type"] = "application/json"
        clean_params = {k: v for k, v in (params or {}).items() if v is not None}
        try:
            async for attempt in stamina.retry_context(
                on=backoff_hook(self.retry, idempotent=idempotent),
                attempts=self.retry.attempts,
                timeout=None,  # the hook keeps the budget, sleeps included
            ):
                with attempt:
                    response = await self._http.request(
                        method, path, content=content, params=clean_params, headers=all_headers
                    )
                    if should_retry_status(response.status_code, idempotent=idempotent):
                        raise RetryableStatus(response)
        except RetryableStatus as exc:
            raise error_from_response(exc.response) from None
        except httpx.TransportError as exc:
            if is_certificate_error(exc):
                raise TLSError(
                    f"{self.base_url}: the server's TLS certificate did not verify"
                ) from None
            raise Offline(f"{method} {path}: server unreachable ({type(exc).__name__})") from None
        if response.is_success:
            return response
        raise error_from_response(response)

    async def _model(
        self,
        method: str,
        path: str,
        model: type[M],
        **kwargs: Any,
    ) -> M:
        return parse_model(await self.request(method, path, **kwargs), model)

    # --- endpoints ------------------------------------------------------------

    async def health(self) -> Health:
        return await self._model("GET", "/v1/health", Health)

    async def login(self, username: str, password: str) -> LoginResponse:
        """Sign in and keep the token for the calls that follow."""
        result = await self._model(
            "POST",
            "/v1/auth/login",
            LoginResponse,
            body=LoginRequest(username=username, password=password),
            # A repeat after a lost answer only mints a second token that idles out.
            idempotent=True,
        )
        self.token = result.token
        return result

    async def setup_password(self, username: str, code: str, password: str) -> None:
        """Choose a first password with a one-time set-up code (`POST /v1/auth/setup`).

        Not retried once it may have reached the server: the code works once, so
        a repeat after a lost answer would be refused. Raises Unauthorized for an
        unknown, used or expired code.
        """
        await self.request(
            "POST",
            "/v1/auth/setup",
            body=SetupRequest(username=username, code=code, password=password),
            idempotent=False,
            auth=False,
        )

    async def logout(self) -> None:
        """Revoke the token on the server (if it still can be) and forget it here."""
        try:
            if self.token:
                await self.request("POST", "/v1/auth/logout", idempotent=True)
        except Unauthorized:
            pass  # already expired or revoked (maybe by a first try whose answer was lost)
        finally:
            self.token = None

    async def me(self) -> UserOut:
        return await self._model("GET", "/v1/me", UserOut)

    async def sync(self, after: str | None = None, limit: int = 500) -> SyncPage:
        return await self._model(
            "GET", "/v1/sync", SyncPage, params={"after": after, "limit": limit}
        )

    async def get_task(self, task_id: str) -> TaskDetail:
        return await self._model("GET", f"/v1/tasks/{_segment(task_id)}", TaskDetail)

    async def claim(self, task_id: str) -> Lease:
        # Claiming again renews the caller's own lease, so a repeat is harmless.
        return await self._model(
            "POST", f"/v1/tasks/{_segment(task_id)}/claim", Lease, idempotent=True
        )

    async def release(self, task_id: str) -> None:
        await self.request("POST", f"/v1/tasks/{_segment(task_id)}/release", idempotent=True)

    async def post_attempt(self, attempt: AttemptIn, *, idempotency_key: str) -> AttemptCreated:
        return await self._model(
            "POST",
            "/v1/attempts",
            AttemptCreated,
            body=attempt,
            headers={"Idempotency-Key": idempotency_key},
        )

    async def post_escalation(self, esc: EscalationIn, *, idempotency_key: str) -> EscalationOut:
        return await self._model(
            "POST",
            "/v1/escalations",
            EscalationOut,
            body=esc,
            headers={"Idempotency-Key": idempotency_key},
        )

    async def escalations(
        self, status: EscalationStatus | str | None = EscalationStatus.OPEN
    ) -> list[EscalationOut]:
        response = await self.request(
            "GET", "/v1/escalations", params={"status": str(status) if status else None}
        )
        return parse_adapter(response, _ESCALATIONS, "list[EscalationOut]")

    async def acknowledge(self, escalation_id: str) -> EscalationOut:
        return await self._model(
            "POST", f"/v1/escalations/{_segment(escalation_id)}/acknowledge", EscalationOut
        )

    async def resolve(self, escalation_id: str, resolution: str) -> EscalationOut:
        return await self._model(
            "POST",
            f"/v1/escalations/{_segment(escalation_id)}/resolve",
            EscalationOut,
            body=EscalationResolve(resolution=resolution),
        )

    async def put_presence(self, state: AgentState | str) -> PresenceOut:
        return await self._model(
            "PUT", "/v1/presence", PresenceOut, body=PresenceIn.model_validate({"state": state})
        )

    async def audit(self, after: str | None = None, limit: int = 100) -> AuditPage:
        return await self._model(
            "GET", "/v1/audit", AuditPage, params={"after": after, "limit": limit}
        )

    async def metrics(
        self,
        practice_id: str,
        start: date,
        end: date,
        *,
        workflow: str | None = None,
        assistant_id: str | None = None,
        granularity: str = "day",
    ) -> MetricsReport:
        """The follow-up figures of a practice for local days `start`..`end` (inclusive)."""
        return await self._model(
            "GET",
            "/v1/metrics",
            MetricsReport,
            params={
                "practice_id": practice_id,
                "from": start.isoformat(),
                "to": end.isoformat(),
                "workflow": workflow,
                "assistant_id": assistant_id,
                "granularity": granularity,
            },
        )

    async def metrics_exceptions(
        self,
        practice_id: str,
        start: date,
        end: date,
        *,
        workflow: str | None = None,
        assistant_id: str | None = None,
    ) -> ExceptionsReport:
        """The exceptions review of a practice for local days `start`..`end`."""
        return await self._model(
            "GET",
            "/v1/metrics/exceptions",
            ExceptionsReport,
            params={
                "practice_id": practice_id,
                "from": start.isoformat(),
                "to": end.isoformat(),
                "workflow": workflow,
                "assistant_id": assistant_id,
            },
        )

    async def missed_call(self, practice_key: str, body: MissedCallIn) -> MissedCallOut:
        """The telephony webhook; authenticated by the practice key, not a user token."""
        response = await self.request(
            "POST",
            "/v1/triggers/missed-call",
            body=body,
            headers={"X-Practice-Key": practice_key},
            auth=False,
        )
        return parse_model(response, MissedCallOut)

    def stream(
        self,
        path: str,
        last_event_id: str | None = None,
        *,
        params: Mapping[str, str] | None = None,
        on_state: Callable[[bool], Any] | None = None,
    ) -> AsyncGenerator[SseEvent, None]:
        """Events from an SSE endpoint, reconnecting (with `Last-Event-ID`) until closed.

        `on_state(connected)` is told each time a stream opens or ends (see
        `backend_client.sse.event_stream`).
        """
        return event_stream(
            self._http,
            path,
            headers=self._auth_headers,
            last_event_id=last_event_id,
            params=params,
            policy=self.reconnect,
            http_timeout=STREAM_TIMEOUT,
            on_state=on_state,
        )

    def events(
        self, last_event_id: str | None = None, *, on_state: Callable[[bool], Any] | None = None
    ) -> AsyncGenerator[SseEvent, None]:
        """The signed-in user's live event stream, `GET /v1/events` (LIVE_CONTRACT.md)."""
        return self.stream("/v1/events", last_event_id, on_state=on_state)
