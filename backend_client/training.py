"""Typed calls of the training endpoints (issue 9, `/v1/training/...`), over one `ApiClient`.

The trainer's desk uses all of them; a trainee's workspace uses `runs`, `run`,
`script` and `live_lines` (the server answers a trainee with their own runs only). Every
method raises the client's typed errors (`backend_client.errors`).
"""

from __future__ import annotations

from collections.abc import Sequence

from pydantic import TypeAdapter

from backend_client.client import ApiClient, _segment
from backend_client.responses import parse_adapter, parse_model
from followup_core.training.evaluation import EvaluationForm
from followup_core.training.wire import (
    ClearanceIn,
    ClearanceOut,
    LiveLineIn,
    MarkIn,
    MarksIn,
    PatientLinesOut,
    ProgressOut,
    RunCreate,
    RunOut,
    RunScriptOut,
    ScenarioSummary,
    TraineeOut,
)

_SCENARIOS = TypeAdapter(list[ScenarioSummary])
_TRAINEES = TypeAdapter(list[TraineeOut])
_RUNS = TypeAdapter(list[RunOut])
_FORMS = TypeAdapter(list[EvaluationForm])


class TrainingApi:
    """The training endpoints; `client` is the signed-in `ApiClient`."""

    def __init__(self, client: ApiClient) -> None:
        self.client = client

    async def scenarios(self) -> list[ScenarioSummary]:
        """`GET /v1/training/scenarios`: the shipped library, by id (trainers)."""
        response = await self.client.request("GET", "/v1/training/scenarios")
        return parse_adapter(response, _SCENARIOS, "list[ScenarioSummary]")

    async def forms(self) -> list[EvaluationForm]:
        """`GET /v1/training/forms`: the shipped evaluation forms, every version (trainers)."""
        response = await self.client.request("GET", "/v1/training/forms")
        return parse_adapter(response, _FORMS, "list[EvaluationForm]")

    async def trainees(self) -> list[TraineeOut]:
        """`GET /v1/training/trainees`: the training practice's assistants (trainers)."""
        response = await self.client.request("GET", "/v1/training/trainees")
        return parse_adapter(response, _TRAINEES, "list[TraineeOut]")

    async def assign(self, scenario_id: str, trainee_id: str) -> RunOut:
        """`POST /v1/training/runs` (not repeated after it may have landed: no idempotency key)."""
        body = RunCreate(scenario_id=scenario_id, trainee_id=trainee_id)
        response = await self.client.request(
            "POST", "/v1/training/runs", body=body, idempotent=False
        )
        return parse_model(response, RunOut)

    async def runs(self, trainee_id: str | None = None) -> list[RunOut]:
        """`GET /v1/training/runs`: newest first, at most 200 (a trainee: their own)."""
        response = await self.client.request(
            "GET", "/v1/training/runs", params={"trainee_id": trainee_id}
        )
        return parse_adapter(response, _RUNS, "list[RunOut]")

    async def run(self, run_id: str) -> RunOut:
        response = await self.client.request("GET", f"/v1/training/runs/{_segment(run_id)}")
        return parse_model(response, RunOut)

    async def script(self, run_id: str) -> RunScriptOut:
        """The simulated patient's lines; `expected` for a trainer (or once scored)."""
        response = await self.client.request("GET", f"/v1/training/runs/{_segment(run_id)}/script")
        return parse_model(response, RunScriptOut)

    async def mark(self, run_id: str, marks: Sequence[MarkIn]) -> RunOut:
        """`PUT /v1/training/runs/{id}/marks` (422 `mark-refused`: a miss without a comment)."""
        response = await self.client.request(
            "PUT", f"/v1/training/runs/{_segment(run_id)}/marks", body=MarksIn(marks=list(marks))
        )
        return parse_model(response, RunOut)

    async def progress(self, trainee_id: str) -> ProgressOut:
        response = await self.client.request(
            "GET", f"/v1/training/trainees/{_segment(trainee_id)}/progress"
        )
        return parse_model(response, ProgressOut)

    async def clear(self, assistant_id: str, workflow: str) -> ClearanceOut:
        """`POST /v1/training/clearances`: sign off for real work in `workflow` (audited)."""
        body = ClearanceIn.model_validate(
            {"assistant_id": assistant_id, "workflow": workflow}, strict=False
        )
        response = await self.client.request(
            "POST", "/v1/training/clearances", body=body, idempotent=True
        )
        return parse_model(response, ClearanceOut)

    async def live_lines(self, run_id: str) -> PatientLinesOut:
        """`GET /v1/training/runs/{id}/lines`: the lines the trainer typed live, oldest first."""
        response = await self.client.request("GET", f"/v1/training/runs/{_segment(run_id)}/lines")
        return parse_model(response, PatientLinesOut)

    async def say(self, run_id: str, text: str, step: str | None = None) -> PatientLinesOut:
        """`POST /v1/training/runs/{id}/lines` (a trainer): say `text` as the run's patient,
        live, at script step `step` (a step key, or None); 409 `run-scored` once scored."""
        response = await self.client.request(
            "POST",
            f"/v1/training/runs/{_segment(run_id)}/lines",
            body=LiveLineIn(text=text, step=step),
            idempotent=False,
        )
        return parse_model(response, PatientLinesOut)
