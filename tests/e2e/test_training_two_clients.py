"""A whole scored training run with two real `assistant-tui` clients in tmux against one
real API server: a trainer at the training desk and a trainee in the workspace, both
read off the screen (issue 9: "the tmux end-to-end test runs a trainer and a trainee
against one server through a whole scored run").

The trainer assigns "Confirmation: patient confirms" to Tess from the desk (A, Enter on
her) and follows the run (Enter on it). Tess opens the run's task: the simulated
patient's strip shows the greeting, then the identity answer one step on; the
trainer's follow view shows her step. The trainer says a line as the patient (P) and
coaches at that step (W): both reach Tess's screen. Tess verifies identity, reads on,
takes the "Confirms" branch, records "confirmed" and saves: her result dialog appears
(the automatic items answered, the trainer's pending). The trainer marks every item
yes (M, y x5, s): the desk shows the score, and Tess's dialog turns to PASSED 100.0.
The run was recorded from Tess's session mirror by the server: no test call.

Nothing sleeps to synchronise: every step polls `capture-pane` against a deadline.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.test_demo import type_after_focus_moves
from tests.e2e.test_supervise_two_clients import (
    choose_passphrase,
    live,
    quit_client,
    start_client,
    type_password,
)
from tests.support.seeded import SqliteTemplate
from tests.support.server import ApiServer

pytestmark = [pytest.mark.e2e, pytest.mark.usefixtures("tmux_available")]

TRAINER, TRAINER_NAME = "trainer", "Terry Trainer"  # seeded, training practice
TRAINEE, TRAINEE_NAME = "trainee", "Tess Trainee"
SCENARIO_TITLE = "Confirmation: patient confirms"  # ac-confirm, first in the library
SAID = "Why do you need that?"
COACHING = "Ask for the date of birth too"


@pytest.fixture
def server(tmp_path: Path) -> Iterator[tuple[str, str]]:
    """A freshly seeded API of its own: (url, every seeded user's password)."""
    password = secrets.token_urlsafe(16)
    template = SqliteTemplate.build(tmp_path, size=60, password=password)
    url = template.copy(tmp_path)
    with ApiServer(url, env={"ASSISTANT_API_TRIGGER_INTERVAL": "0"}) as api:
        yield api.url, password


def test_a_trainer_and_a_trainee_through_a_whole_scored_run(
    tmp_path: Path, server: tuple[str, str]
) -> None:
    url, password = server
    trainee = start_client(tmp_path, url, TRAINEE)
    trainer = start_client(tmp_path, url, TRAINER)
    try:
        type_password(trainee, password)
        type_password(trainer, password)
        choose_passphrase(trainee, "e2e-" + secrets.token_hex(6))
        choose_passphrase(trainer, "e2e-" + secrets.token_hex(6))
        trainee.wait_for(live, "the trainee's live stream", within=60)
        trainee.wait_text("Attempts", within=30)

        # The desk: the library's first scenario, A, Enter on Tess (the first trainee).
        trainer.wait_text("Scenario library", within=60)
        trainer.wait_text(SCENARIO_TITLE, within=30)
        trainer.wait_text(TRAINEE_NAME, within=30)
        trainer.send("a")
        trainer.wait_text(f"Assign {SCENARIO_TITLE}", within=20)
        trainer.send("Enter")  # the first trainee is highlighted
        trainer.wait_text(f"assigned “{SCENARIO_TITLE}” to {TRAINEE_NAME}", within=20)

        # Tess filters her queue to the synthetic patient and opens the run's task.
        trainee.send("/")
        type_after_focus_moves(trainee, "r", "amanathan", lambda typed: f"filter: {typed}")
        trainee.wait_text("Ramanathan", within=30)
        trainee.send("Enter")  # leaves the filter for the list
        trainee.send("Enter")  # opens the highlighted task
        trainee.wait_text("Simulated patient", within=30)
        trainee.wait_text("“This is Priya.”", within=20)

        # The trainer follows the run (the runs table: two tabs on, Enter).
        trainer.send("Tab")
        trainer.send("Tab")
        trainer.send("Enter")
        trainer.wait_text("Run and expected handling", within=20)
        trainer.wait_for(lambda s: "at step Greet" in s, "Tess at the greeting", within=30)

        # One step on: the patient's answer follows on Tess's strip; the desk sees the step.
        trainee.send("Space")
        trainee.wait_text("born November 8, 1992", within=20)
        trainer.wait_text("at step Verify identity", within=30)

        # The trainer says a line as the patient and coaches at that step.
        trainer.send("p")
        trainer.wait_text(f"Say as the patient to {TRAINEE_NAME}", within=20)
        type_after_focus_moves(trainer, "Why", SAID[3:], lambda typed: typed)
        trainer.send("Enter")
        trainer.wait_text("said as the patient at step verify-identity", within=20)
        trainee.wait_text(f"Trainer, as the patient at Verify identity: “{SAID}”", within=20)
        trainer.send("w")
        trainer.wait_text(f"Coach {TRAINEE_NAME}", within=20)
        type_after_focus_moves(trainer, "Ask", COACHING[3:], lambda typed: typed)
        trainer.send("Enter")
        screen = trainee.wait_text(COACHING, within=20)
        assert "at step verify-identity" in screen

        # Tess verifies, reads on, takes "Confirms", records confirmed and saves.
        trainee.send("F4")
        trainee.wait_text("identity verified ", within=20)
        trainee.send("Space")
        trainee.send("Space")
        screen = trainee.wait_text("Script · step 4/6", within=20)
        found = re.search(r"(\d)\) Confirms", screen)
        assert found is not None, trainee.last_screen
        trainee.send(found.group(1))
        trainee.wait_text("I'll be there.", within=20)
        trainee.send("Space")
        trainee.send("Space")
        trainee.wait_text("Script · step 6/6", within=20)
        trainee.send("c")
        trainee.send("Enter")
        trainee.wait_text("Training result", within=30)
        trainee.wait_text("AWAITING MARKS", within=20)

        # The trainer marks every item yes and saves: the desk shows the score.
        trainer.send("m")
        trainer.wait_text("Courteous", within=20)
        for _ in range(5):
            trainer.send("y")
        trainer.send("s")
        screen = trainer.wait_text("Score 100%", within=30)
        assert "PASS" in screen

        # Tess's result turns to the scored one.
        screen = trainee.wait_text("PASSED", within=30)
        assert "100.0" in screen and "AWAITING MARKS" not in screen
        assert "Privacy and identity" in screen

        trainee.send("Escape")
        for tmux in (trainee, trainer):
            final = quit_client(tmux)
            assert "Traceback" not in final and password not in final
    finally:
        trainee.kill()
        trainer.kill()
