"""The trainer's training desk against a real central API (uvicorn, SQLite) on loopback.

Two real clients of one server: the trainer's App (training desk) and the
trainee's App (the workspace), each with its own ApiClient, SyncEngine (with the
live stream) and SQLCipher cache. The trainer assigns a scenario from the desk;
the run appears; the trainee opens its task and moves through the script, and
the desk's follow view shows each step as the mirror moves; a coaching whisper
sent there reaches the trainee's whisper strip with its step; the trainee saves
the outcome, the trainer marks the run and sees the score; then the trainee's
progress, and a sign-off for the workflow.

The run is recorded from the trainee's workspace mirror by the server (no extra
call); the trainee's side shows the simulated patient (following the step, and a
line the trainer says live with P) and the same result the desk shows.
"""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.support.pilot import until
from tests.support.server import ApiServer
from tests.tui.conftest import LiveApi

SIZE = (160, 48)
SCENARIO = "ac-confirm"


async def settle(pilot: Any) -> None:
    """Let the app's workers finish (the sync engine's excepted) and their messages land.

    An exclusive worker replaced by a newer one (a debounced re-read) ends cancelled:
    that is not a failure here.
    """
    from textual.worker import WorkerCancelled

    for _ in range(3):
        busy = [w for w in pilot.app.workers if w.group != "sync"]
        if busy:
            with contextlib.suppress(WorkerCancelled):
                await pilot.app.workers.wait_for_complete(busy)
        await pilot.pause()


def _client(server: ApiServer, password: str, username: str) -> httpx.Client:
    with httpx.Client(base_url=server.url) as c:
        token = c.post("/v1/auth/login", json={"username": username, "password": password})
    assert token.status_code == 200
    return httpx.Client(
        base_url=server.url, headers={"Authorization": f"Bearer {token.json()['token']}"}
    )


@pytest.mark.slow
async def test_assign_follow_coach_mark_progress_and_clear(
    live_api: LiveApi, tmp_path: Path, passphrase: str
) -> None:
    from textual.widgets import DataTable, OptionList, Sparkline

    from assistant_tui.app import AssistantApp
    from assistant_tui.modes.train import TrainScreen
    from assistant_tui.modes.workspace_live import WhisperStrip
    from assistant_tui.screens.trainee_result import TraineeResultScreen
    from assistant_tui.screens.training_follow import FollowRunScreen
    from assistant_tui.screens.training_marks import MarksScreen
    from assistant_tui.screens.training_result import ProgressScreen, ResultScreen
    from assistant_tui.widgets.patient_lines import PatientLines
    from assistant_tui.widgets.script import ScriptPane
    from backend_client import ApiClient
    from local_cache import LocalCache, SyncEngine
    from local_cache.keys import MemoryKeyring

    server, password = live_api.server, live_api.password
    tess = live_api.user("trainee")
    trainer_cache = LocalCache.open(
        tmp_path / "trainer", "trainer", passphrase, keyring_backend=MemoryKeyring()
    )
    trainee_cache = LocalCache.open(
        tmp_path / "trainee", "trainee", passphrase, keyring_backend=MemoryKeyring()
    )
    with _client(server, password, "trainee") as tess_http:
        async with ApiClient(server.url) as t_client, ApiClient(server.url) as w_client:
            t_login = await t_client.login("trainer", password)
            w_login = await w_client.login("trainee", password)
            t_engine = SyncEngine(trainer_cache, t_client, poll_interval=60)
            w_engine = SyncEngine(trainee_cache, w_client, poll_interval=60)
            desk_app = AssistantApp(trainer_cache, sync=t_engine, user=t_login.user)
            work_app = AssistantApp(trainee_cache, sync=w_engine, user=w_login.user)
            async with (
                work_app.run_test(size=SIZE) as wp,
                desk_app.run_test(size=SIZE) as pilot,
            ):
                await settle(pilot)
                desk = desk_app.screen
                assert isinstance(desk, TrainScreen)
                await until(pilot, lambda: desk.loads > 0 and bool(desk.scenarios), "the desk")
                assert {t.display_name for t in desk.trainees} == {"Tess Trainee", "Theo Trainee"}
                assert len(desk.scenarios) >= 16
                scenarios = desk.query_one("#train-scenarios", DataTable)
                assert scenarios.row_count == len(desk.scenarios)

                # Assign: A on the scenario, Enter on Tess.
                scenarios.move_cursor(row=[s.id for s in desk.scenarios].index(SCENARIO))
                await pilot.press("a")
                await settle(pilot)
                picker = desk_app.screen.query_one("#assign-trainee", OptionList)
                picker.highlighted = [t.id for t in desk.trainees].index(tess["id"])
                await pilot.press("enter")
                await until(
                    pilot,
                    lambda: any(r.scenario_id == SCENARIO for r in desk.runs),
                    "the run on the desk",
                )
                run = next(r for r in desk.runs if r.scenario_id == SCENARIO)
                assert run.trainee_id == tess["id"] and run.status == "assigned"
                runs_table = desk.query_one("#train-runs", DataTable)
                assert runs_table.row_count == len(desk.runs)
                assert "in progress" in str(runs_table.get_row_at(0)[1])

                # The trainee's workspace gets the task (live) and opens it.
                workspace = work_app.workspace
                assert workspace is not None
                await until(
                    wp,
                    lambda: run.task_id in {r.task_id for r in workspace.queue.rows},
                    "the run's task in the trainee's queue",
                )
                workspace.open_task(run.task_id)
                await until(
                    wp,
                    lambda: (
                        workspace.context is not None and workspace.context.task.id == run.task_id
                    ),
                    "the task open",
                )
                await until(pilot, lambda: trainer_cache.task(run.task_id) is not None, "cache")

                # Follow it: Enter on the run.
                runs_table.focus()
                runs_table.move_cursor(row=[r.id for r in desk.runs].index(run.id))
                await pilot.press("enter")
                await until(pilot, lambda: isinstance(desk_app.screen, FollowRunScreen), "follow")
                follow = desk_app.screen
                assert isinstance(follow, FollowRunScreen)
                await until(
                    pilot,
                    lambda: follow.current_step()[0] == "greet" and follow.script_out is not None,
                    "the trainee at the first step, on the follow view",
                )
                assert follow.script_out is not None and follow.script_out.expected is not None
                lines = str(follow.query_one("#follow-lines").render())
                assert "▶ greet" in lines and "This is Priya." in lines
                expected = str(follow.query_one("#follow-expected").render())
                assert "confirmed" in expected

                # The trainee moves on a step; the follow view follows.
                script = workspace.query_one(ScriptPane)
                script.focus()
                await wp.press("space")
                await until(
                    pilot,
                    lambda: follow.current_step()[0] == "verify-identity",
                    "the step change on the follow view",
                )
                assert "▶ verify-identity" in str(follow.query_one("#follow-lines").render())
                desk_app.save_screenshot(str(tmp_path / "follow.svg"))

                # Coach at that step: the whisper reaches the trainee's strip with it.
                await pilot.press("w", *"Ask for the date of birth", "enter")
                strip = workspace.query_one(WhisperStrip)
                await until(wp, lambda: bool(strip.whispers), "the coaching in the strip")
                [whisper] = strip.whispers
                assert whisper.text == "Ask for the date of birth"
                assert whisper.step == "verify-identity"
                assert "at step verify-identity" in str(strip.render())
                assert follow.coached == [("verify-identity", "Ask for the date of birth")]

                # The trainee's patient strip follows the step; the trainer says a line
                # as the patient (P) and it shows there too.
                patient = workspace.query_one(PatientLines)
                await until(
                    wp,
                    lambda: (
                        patient.shown == ["Sure. It's Priya Ramanathan, born November 8, 1992."]
                    ),
                    "the patient's line at the step",
                )
                await pilot.press("p", *"Why do you need that", "enter")
                await until(
                    wp,
                    lambda: (
                        patient.live is not None and patient.live.text == "Why do you need that"
                    ),
                    "the trainer's line in the trainee's strip",
                )
                assert patient.live is not None and patient.live.step == "verify-identity"

                # The trainee verifies, reads on, saves "confirmed" (the server records the
                # run from the workspace's mirror).
                await wp.press("f4")
                await wp.press(*["space"] * 4)
                await wp.press("c", "enter")
                await until(
                    pilot, lambda: follow.run.outcome == "confirmed", "the saved outcome on follow"
                )
                # The desk under it saw the run's task change in the feed and re-read it.
                await until(
                    pilot,
                    lambda: any(r.id == run.id and r.outcome == "confirmed" for r in desk.runs),
                    "the saved outcome on the desk",
                )
                row = runs_table.get_row(run.id)
                assert "to mark: 5" in str(row[1])

                # Marks from the follow view: every trainer item yes, then the result.
                await pilot.press("m")
                await until(pilot, lambda: isinstance(desk_app.screen, MarksScreen), "marks")
                marks = desk_app.screen
                assert isinstance(marks, MarksScreen)
                await until(pilot, lambda: bool(marks.query("#marks")), "the marks table")
                assert [i.id for i in marks.items] == [
                    "nothing-to-others",
                    "no-clinical-advice",
                    "next-step-stated",
                    "script-followed",
                    "courtesy",
                ]
                await pilot.press("n")  # a miss needs a comment: the dialog asks for it
                await settle(pilot)
                await pilot.press("escape")
                await pilot.press("s")
                await settle(pilot)
                assert marks.error is not None and "needs a comment" in marks.error
                await pilot.press(*["y"] * len(marks.items), "s")
                await until(pilot, lambda: isinstance(desk_app.screen, ResultScreen), "result")
                result = desk_app.screen
                assert isinstance(result, ResultScreen)
                await until(pilot, lambda: bool(result.query("#result-summary")), "result drawn")
                server_run = tess_http.get(f"/v1/training/runs/{run.id}").json()
                assert server_run["status"] == "scored"
                summary_text = str(result.query_one("#result-summary").render())
                assert f"Score {server_run['evaluation']['score']:.0f}%" in summary_text
                assert ("PASS" in summary_text) == server_run["evaluation"]["passed"]
                sections = result.query_one("#result-sections", DataTable)
                assert sections.row_count == len(server_run["evaluation"]["sections"])
                desk_app.save_screenshot(str(tmp_path / "result.svg"))
                # The trainee sees the same result in the workspace.
                await until(
                    wp,
                    lambda: (
                        isinstance(work_app.screen, TraineeResultScreen)
                        and work_app.screen.run.status == "scored"
                    ),
                    "the scored result in the trainee's workspace",
                )
                mine = work_app.screen
                assert isinstance(mine, TraineeResultScreen)
                assert mine.run.evaluation.score == server_run["evaluation"]["score"] == 100.0
                assert mine.run.evaluation.passed and "PASSED" in str(
                    mine.query_one("#trainee-result-head").render()
                )
                await pilot.press("escape")
                await until(pilot, lambda: desk_app.screen is follow, "back on follow")
                assert follow.run.status == "scored"
                await pilot.press("escape")
                await until(pilot, lambda: desk_app.screen is desk, "back on the desk")
                await until(
                    pilot,
                    lambda: any(r.id == run.id and r.status == "scored" for r in desk.runs),
                    "the scored run on the desk",
                )

                # Progress of Tess: P on the trainees table.
                trainees = desk.query_one("#train-trainees", DataTable)
                trainees.focus()
                trainees.move_cursor(row=[t.id for t in desk.trainees].index(tess["id"]))
                await pilot.press("p")
                await until(pilot, lambda: isinstance(desk_app.screen, ProgressScreen), "progress")
                progress = desk_app.screen
                assert isinstance(progress, ProgressScreen)
                await settle(pilot)
                await until(pilot, lambda: progress.loads > 0, "the progress")
                assert progress.progress is not None
                confirm = next(
                    w
                    for w in progress.progress.workflows
                    if str(w.workflow) == "appointment-confirmation"
                )
                assert confirm.runs == 1 and not confirm.cleared
                assert len(progress.query(Sparkline)) >= 1

                # Clear her for the workflow (C, Enter on it); the progress says so.
                await pilot.press("c")
                await settle(pilot)
                options = desk_app.screen.query_one("#clear-workflow", OptionList)
                ids = [options.get_option_at_index(i).id for i in range(options.option_count)]
                options.highlighted = ids.index("appointment-confirmation")
                await pilot.press("enter")
                await until(
                    pilot,
                    lambda: (
                        progress.progress is not None
                        and any(
                            w.cleared
                            for w in progress.progress.workflows
                            if str(w.workflow) == "appointment-confirmation"
                        )
                    ),
                    "the clearance on the progress",
                )
                assert "cleared" in str(progress.query_one(".progress-label").render())
                desk_app.save_screenshot(str(tmp_path / "progress.svg"))
    trainer_cache.close()
    trainee_cache.close()


async def test_marks_and_result_without_a_run_say_why(
    live_api: LiveApi, tmp_path: Path, passphrase: str
) -> None:
    """M, V (footer keys) and Enter on an empty runs table say there is no run, rather
    than doing nothing: a new trainer's first keys on a desk with no runs yet."""
    from textual.widgets import Static

    from assistant_tui.app import AssistantApp
    from assistant_tui.modes.train import NO_RUN, TrainScreen
    from backend_client import ApiClient
    from local_cache import LocalCache, SyncEngine
    from local_cache.keys import MemoryKeyring

    cache = LocalCache.open(
        tmp_path / "trainer", "trainer", passphrase, keyring_backend=MemoryKeyring()
    )
    async with ApiClient(live_api.server.url) as client:
        login = await client.login("trainer", live_api.password)
        engine = SyncEngine(cache, client, poll_interval=60)
        app = AssistantApp(cache, sync=engine, user=login.user)
        async with app.run_test(size=(80, 24)) as pilot:
            await settle(pilot)
            desk = app.screen
            assert isinstance(desk, TrainScreen)
            await until(pilot, lambda: desk.loads > 0 and bool(desk.scenarios), "the desk")
            assert desk.runs == []
            message = desk.query_one("#train-message", Static)
            for key in ("m", "v"):
                desk.error = ""
                message.update("")
                await pilot.press(key)
                await pilot.pause()
                assert app.screen is desk, key
                assert desk.error == NO_RUN, key
                assert NO_RUN in str(message.render()), key
