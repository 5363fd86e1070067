"""Typed calls of the training endpoints a trainee's workspace uses (issue 9).

Kept beside `ApiClient` like `SupervisionApi`: `TraineeApi(client)` finds the
training run behind an open task, reads the simulated patient's lines and the
run's result. Every method raises the client's typed errors (`backend_client.errors`).
"""

from __future__ import annotations

from pydantic import TypeAdapter

from backend_client.client import ApiClient, _segment
from backend_client.responses import parse_adapter, parse_model
from followup_core.training.wire import PatientLinesOut, RunOut, RunScriptOut

_RUNS = TypeAdapter(list[RunOut])


class TraineeApi:
    """The trainee's training calls; `client` is the signed-in `ApiClient`."""

    def __init__(self, client: ApiClient) -> None:
        self.client = client

    async def runs(self) -> list[RunOut]:
        """`GET /v1/training/runs`: the caller's own runs, newest first (at most 200)."""
        response = await self.client.request("GET", "/v1/training/runs")
        return parse_adapter(response, _RUNS, "list[RunOut]")

    async def run(self, run_id: str) -> RunOut:
        """`GET /v1/training/runs/{id}`: one run with its evaluation so far."""
        response = await self.client.request("GET", f"/v1/training/runs/{_segment(run_id)}")
        return parse_model(response, RunOut)

    async def script(self, run_id: str) -> RunScriptOut:
        """`GET /v1/training/runs/{id}/script`: the simulated patient's lines by step/branch."""
        response = await self.client.request("GET", f"/v1/training/runs/{_segment(run_id)}/script")
        return parse_model(response, RunScriptOut)

    async def live_lines(self, run_id: str) -> PatientLinesOut:
        """`GET /v1/training/runs/{id}/lines`: the lines the trainer typed live, oldest first."""
        response = await self.client.request("GET", f"/v1/training/runs/{_segment(run_id)}/lines")
        return parse_model(response, PatientLinesOut)

    async def say(self, run_id: str, text: str, step: str | None = None) -> PatientLinesOut:
        """`POST /v1/training/runs/{id}/lines` (a trainer): say `text` as the patient, live."""
        from followup_core.training.wire import LiveLineIn

        response = await self.client.request(
            "POST",
            f"/v1/training/runs/{_segment(run_id)}/lines",
            body=LiveLineIn(text=text, step=step),
            idempotent=False,
        )
        return parse_model(response, PatientLinesOut)
