"""A trainee works three training scenarios through the real workspace (issue 9).

A real `assistant-api serve` (uvicorn, SQLite) on loopback, the real App, ApiClient,
SyncEngine (with the live stream) and SQLCipher cache for the trainee. The trainer
is a second signed-in client of the same server (the training desk's calls): it
assigns the runs, speaks one line live as the patient and marks its items.

Nothing is scored in the client: the workspace's session mirror reaches the server,
which records each run from it; the attempt goes through the outbox; the result the
trainee sees is the server's. Each expected score is worked out here from the
form's points and the answers the run should get.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.support.pilot import until
from tests.support.server import ApiServer
from tests.tui.conftest import LiveApi
from tests.tui.test_work_a_task import SIZE

TRAINER_ITEMS = (
    "nothing-to-others",
    "no-clinical-advice",
    "next-step-stated",
    "script-followed",
    "courtesy",
)


def signed_in(server: ApiServer, password: str, username: str) -> httpx.Client:
    with httpx.Client(base_url=server.url) as c:
        token = c.post("/v1/auth/login", json={"username": username, "password": password})
    assert token.status_code == 200
    return httpx.Client(
        base_url=server.url, headers={"Authorization": f"Bearer {token.json()['token']}"}
    )


def expected_score(answers: dict[str, str]) -> float:
    """The score of a run whose items get `answers`, from the shipped form's points."""
    from central_api.training import default_form
    from followup_core.training.evaluation import Answer, score_answers

    form = default_form()
    return score_answers(form, {k: Answer(v) for k, v in answers.items()}).score


# The answers each run should get (automatic items from what the trainee does, the
# trainer's items all "yes"); "n/a" where the scenario makes an item not apply.
ALL_YES = {item: "yes" for item in TRAINER_ITEMS}
CONFIRM_RIGHT = {
    **ALL_YES,
    "no-phi-before-identity": "yes",
    "no-phi-in-voicemail": "n/a",  # no voicemail expected or left
    "identity-recorded": "yes",
    "red-flag-escalated": "n/a",  # no urgent symptom in the scenario
    "escalation-route": "yes",  # none expected, none raised
    "outcome-code": "yes",
    "voicemail-decision": "yes",
    "next-step-recorded": "n/a",  # the scenario promises no next step
}
CONFIRM_PHI_FIRST = {**CONFIRM_RIGHT, "no-phi-before-identity": "no"}
VOICEMAIL_SAFE = {**CONFIRM_RIGHT, "no-phi-in-voicemail": "yes"}


async def open_run_task(pilot: Any, workspace: Any, name: str, task_id: str) -> None:
    """Filter the queue by the patient's surname and open the run's task (Enter)."""
    await until(
        pilot,
        lambda: (
            task_id in {row.task_id for row in workspace.queue.rows}
            or task_id in {row.task_id for row in workspace.queue._all}
        ),
        "the run's task in the queue",
    )
    workspace.queue.focus()
    await pilot.press("slash", *["backspace"] * 20, *name, "enter")
    await until(pilot, lambda: workspace.queue.highlighted_task_id == task_id, "the row")
    await pilot.press("enter")
    await until(
        pilot,
        lambda: workspace.context is not None and workspace.context.task.id == task_id,
        "the run's task open",
    )


async def result_of(pilot: Any, run_id: str, *, scored: bool) -> Any:
    from assistant_tui.screens.trainee_result import TraineeResultScreen

    def shown() -> bool:
        screen = pilot.app.screen
        return (
            isinstance(screen, TraineeResultScreen)
            and screen.run.id == run_id
            and (screen.run.status == "scored") == scored
        )

    await until(pilot, shown, "the run's result" + (" (scored)" if scored else ""))
    return pilot.app.screen


async def mirror_drained(pilot: Any, workspace: Any) -> None:
    """Everything the workspace noted has reached the server (before the trainer marks)."""
    await pilot.pause(0.3)  # one mirror interval: the last change is noted by then
    await until(
        pilot,
        lambda: not workspace._mirror_pending and not workspace._mirror_busy,
        "the mirror sent",
    )


def assign(trainer: httpx.Client, scenario_id: str, trainee_id: str) -> dict[str, Any]:
    response = trainer.post(
        "/v1/training/runs", json={"scenario_id": scenario_id, "trainee_id": trainee_id}
    )
    assert response.status_code == 201, response.text
    return dict(response.json())


def mark_all_yes(trainer: httpx.Client, run_id: str) -> dict[str, Any]:
    marks = [{"item_id": item, "answer": "yes"} for item in TRAINER_ITEMS]
    response = trainer.put(f"/v1/training/runs/{run_id}/marks", json={"marks": marks})
    assert response.status_code == 200, response.text
    return dict(response.json())


def branch_number(workspace: Any, label: str) -> str:
    shown = workspace.script.script
    labels = [b[0] for b in shown.steps[workspace.script.step].branches]
    return str(labels.index(label) + 1)


@pytest.mark.slow
async def test_a_trainee_works_three_scenarios(
    live_api: LiveApi, tmp_path: Path, passphrase: str
) -> None:
    from assistant_tui.app import AssistantApp
    from assistant_tui.screens.trainee_result import verdict
    from assistant_tui.widgets.patient_lines import PatientLines
    from backend_client import ApiClient
    from local_cache import LocalCache, SyncEngine
    from local_cache.keys import MemoryKeyring

    server, password = live_api.server, live_api.password
    cache = LocalCache.open(
        tmp_path / "trainee", "trainee", passphrase, keyring_backend=MemoryKeyring()
    )
    with signed_in(server, password, "trainer") as trainer:
        async with ApiClient(server.url) as client:
            login = await client.login("trainee", password)
            engine = SyncEngine(cache, client, poll_interval=60)
            app = AssistantApp(cache, sync=engine, user=login.user)
            async with app.run_test(size=SIZE) as pilot:
                workspace = app.workspace
                assert workspace is not None
                await until(pilot, lambda: engine.status.live, "the event stream")
                await until(pilot, lambda: workspace.context is not None, "the first task")
                strip = workspace.query_one(PatientLines)
                assert not strip.display  # seeded training work is no run: no patient

                # --- 1. done right -------------------------------------------------
                run = assign(trainer, "ac-confirm", login.user.id)
                await open_run_task(pilot, workspace, "Ramanathan", run["task_id"])
                await until(pilot, lambda: strip.shown == ["This is Priya."], "the greeting")
                assert strip.display
                said = trainer.post(
                    f"/v1/training/runs/{run['id']}/lines",
                    json={"text": "Sorry, who is calling?", "step": "greet"},
                )
                assert said.status_code == 201
                await until(
                    pilot,
                    lambda: strip.live is not None and strip.live.text == "Sorry, who is calling?",
                    "the trainer's live line",
                )
                assert "Sorry, who is calling?" in str(strip.render())
                await pilot.press("space")  # verify identity
                assert strip.shown == ["Sure. It's Priya Ramanathan, born November 8, 1992."]
                await pilot.press("f4", "space", "space")  # verified; the reason; details
                await pilot.press(branch_number(workspace, "Confirms"))
                assert strip.shown == ["Yes, Thursday at 10:15 works. I'll be there."]
                await pilot.press("space", "space", "c", "enter")  # close; confirmed; save
                first = await result_of(pilot, run["id"], scored=False)
                assert verdict(first.run) == "AWAITING MARKS"
                assert sorted(first.run.evaluation.pending) == sorted(TRAINER_ITEMS)
                assert first.run.evaluation.fatal_hit == []
                await mirror_drained(pilot, workspace)
                marked = mark_all_yes(trainer, run["id"])
                assert marked["status"] == "scored"
                first = await result_of(pilot, run["id"], scored=True)
                assert first.run.evaluation.score == expected_score(CONFIRM_RIGHT) == 100.0
                assert first.run.evaluation.passed and verdict(first.run) == "PASSED"
                head = str(first.query_one("#trainee-result-head").render())
                assert "100.0" in head and "PASSED" in head
                await pilot.press("escape")

                # --- 2. PHI before identity verification (fatal) -------------------
                run = assign(trainer, "ac-confirm", login.user.id)
                await open_run_task(pilot, workspace, "Ramanathan", run["task_id"])
                await until(pilot, lambda: strip.shown == ["This is Priya."], "the greeting")
                await pilot.press("space", "space")  # on to the reason: not verified yet
                assert strip.shown == ["Oh right, the check-up."]
                await pilot.press("f4", "space")  # verified too late; details
                await pilot.press(branch_number(workspace, "Confirms"), "space", "space")
                await pilot.press("c", "enter")
                second = await result_of(pilot, run["id"], scored=False)
                # Fatal at once (an automatic item), before the trainer marks anything.
                assert second.run.evaluation.fatal_hit == ["no-phi-before-identity"]
                assert verdict(second.run) == "FAILED"
                await mirror_drained(pilot, workspace)
                mark_all_yes(trainer, run["id"])
                second = await result_of(pilot, run["id"], scored=True)
                # Privacy 35 x 10/20 + safety 30 + resolution 25 + manner 10 = 82.5.
                assert second.run.evaluation.score == expected_score(CONFIRM_PHI_FIRST) == 82.5
                assert not second.run.evaluation.passed and verdict(second.run) == "FAILED"
                notes = str(second.query_one("#trainee-result-notes").render())
                assert "No PHI before identity" in notes
                await pilot.press("escape")

                # --- 3. a voicemail with the safe text ---------------------------------
                run = assign(trainer, "ac-voicemail", login.user.id)
                await open_run_task(pilot, workspace, "Brennan", run["task_id"])
                await until(pilot, lambda: bool(strip.shown), "the greeting")
                assert strip.shown[0].startswith("(No answer.")
                await pilot.press("v")  # left a voicemail: only the voicemail-safe text
                assert "voicemail" in str(strip.render())
                assert strip.shown == []
                await pilot.press("enter")
                third = await result_of(pilot, run["id"], scored=False)
                assert third.run.evaluation.answers["no-phi-in-voicemail"] == "yes"
                await mirror_drained(pilot, workspace)
                mark_all_yes(trainer, run["id"])
                third = await result_of(pilot, run["id"], scored=True)
                assert third.run.evaluation.score == expected_score(VOICEMAIL_SAFE) == 100.0
                assert third.run.evaluation.passed and verdict(third.run) == "PASSED"
                await pilot.press("escape")

                # Ctrl+T brings the latest result back.
                await pilot.press("ctrl+t")
                again = await result_of(pilot, run["id"], scored=True)
                assert again.run.evaluation.score == 100.0
                await pilot.press("escape")
    cache.close()
