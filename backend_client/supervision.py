"""Typed calls of the supervision endpoints (issue 8), over one `ApiClient`.

Kept beside `ApiClient` rather than in it: `SupervisionApi(client)` is what the
supervisor mode and the workspace's mirror publisher use. Every method raises the
client's typed errors (`backend_client.errors`) like the client's own methods.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from pydantic import TypeAdapter

from backend_client.client import ApiClient, _segment
from backend_client.responses import parse_adapter, parse_model
from followup_core.schemas import EscalationOut, EscalationResolve, PresenceOut, TaskOut
from followup_core.supervision import (
    ForcedState,
    InboxPage,
    MirrorAccepted,
    MirrorBatch,
    ObservedBy,
    QueueBoard,
    ReassignIn,
    SessionSnapshot,
    ShadowSession,
    TeamBoard,
    WhisperIn,
    WhisperOut,
)

_WHISPERS = TypeAdapter(list[WhisperOut])
_TASKS = TypeAdapter(list[TaskOut])


class SupervisionApi:
    """The supervision endpoints; `client` is the signed-in `ApiClient`."""

    def __init__(self, client: ApiClient) -> None:
        self.client = client

    # --- the workspace side -------------------------------------------------------

    async def publish(self, batch: MirrorBatch) -> MirrorAccepted:
        """`POST /v1/sessions/me/events` (best effort: not retried after it may have landed)."""
        response = await self.client.request(
            "POST", "/v1/sessions/me/events", body=batch, idempotent=False
        )
        return parse_model(response, MirrorAccepted)

    async def my_observers(self) -> ObservedBy:
        return parse_model(
            await self.client.request("GET", "/v1/sessions/me/observers"), ObservedBy
        )

    async def whispers(self, status: str = "unread", *, sent: bool = False) -> list[WhisperOut]:
        params: dict[str, Any] = {"status": status}
        if sent:
            params["sent"] = "true"
        response = await self.client.request("GET", "/v1/whispers", params=params)
        return parse_adapter(response, _WHISPERS, "list[WhisperOut]")

    async def acknowledge_whisper(self, whisper_id: str) -> WhisperOut:
        response = await self.client.request(
            "POST", f"/v1/whispers/{_segment(whisper_id)}/acknowledge", idempotent=True
        )
        return parse_model(response, WhisperOut)

    # --- the supervisor side ---------------------------------------------------------

    async def team(self, practice_id: str | None = None) -> TeamBoard:
        response = await self.client.request("GET", "/v1/team", params={"practice_id": practice_id})
        return parse_model(response, TeamBoard)

    async def queues(self, practice_id: str | None = None) -> QueueBoard:
        response = await self.client.request(
            "GET", "/v1/team/queues", params={"practice_id": practice_id}
        )
        return parse_model(response, QueueBoard)

    async def snapshot(self, user_id: str) -> SessionSnapshot:
        response = await self.client.request("GET", f"/v1/sessions/{_segment(user_id)}")
        return parse_model(response, SessionSnapshot)

    async def start_shadow(self, user_id: str) -> ShadowSession:
        response = await self.client.request(
            "POST", f"/v1/sessions/{_segment(user_id)}/shadow", idempotent=True
        )
        return parse_model(response, ShadowSession)

    async def stop_shadow(self, user_id: str) -> None:
        await self.client.request("DELETE", f"/v1/sessions/{_segment(user_id)}/shadow")

    async def whisper(self, to_user_id: str, text: str, step: str | None = None) -> WhisperOut:
        """`POST /v1/whispers`; `step` ties it to a script step key (a trainer's coaching)."""
        body = WhisperIn(to_user_id=to_user_id, text=text, step=step)
        response = await self.client.request("POST", "/v1/whispers", body=body, idempotent=False)
        return parse_model(response, WhisperOut)

    async def reassign(self, task_ids: Sequence[str], to_user_id: str) -> list[TaskOut]:
        body = ReassignIn(task_ids=list(task_ids), to_user_id=to_user_id)
        response = await self.client.request(
            "POST", "/v1/team/reassign", body=body, idempotent=True
        )
        return parse_adapter(response, _TASKS, "list[TaskOut]")

    async def force_state(self, user_id: str, state: str) -> PresenceOut:
        body = ForcedState.model_validate({"state": state}, strict=False)
        response = await self.client.request(
            "PUT", f"/v1/team/{_segment(user_id)}/state", body=body
        )
        return parse_model(response, PresenceOut)

    async def inbox(
        self,
        *,
        status: str = "active",
        route: str | None = None,
        overdue: bool = False,
        cursor: str | None = None,
        limit: int = 50,
    ) -> InboxPage:
        params: dict[str, Any] = {
            "status": status,
            "route": route,
            "limit": limit,
            "cursor": cursor,
        }
        if overdue:
            params["overdue"] = "true"
        response = await self.client.request("GET", "/v1/team/escalations", params=params)
        return parse_model(response, InboxPage)

    async def acknowledge_escalation(self, escalation_id: str) -> EscalationOut:
        response = await self.client.request(
            "POST", f"/v1/escalations/{_segment(escalation_id)}/acknowledge", idempotent=True
        )
        return parse_model(response, EscalationOut)

    async def resolve_escalation(self, escalation_id: str, resolution: str) -> EscalationOut:
        response = await self.client.request(
            "POST",
            f"/v1/escalations/{_segment(escalation_id)}/resolve",
            body=EscalationResolve(resolution=resolution),
            idempotent=True,
        )
        return parse_model(response, EscalationOut)
