"""The demo as a trainer: a real `assistant-tui demo --as trainer` in tmux opens the
training desk with the shipped scenario library and the seeded trainees, and a
scenario assigned from the keyboard shows as a run (read off the screen)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.e2e.test_demo import running_demo, wait_for_file

pytestmark = [pytest.mark.e2e, pytest.mark.usefixtures("tmux_available")]


def test_demo_as_trainer_opens_the_desk_and_assigns(tmp_path: Path) -> None:
    with running_demo(tmp_path, "--as", "trainer", size=(120, 40)) as (tmux, demo_dir):
        info = wait_for_file(demo_dir / "demo.json")
        assert info["role"] == "trainer"
        tmux.wait_text("Training desk", within=60)
        tmux.wait_text("Tess Trainee", within=30)  # the trainees, from the server
        screen = tmux.wait_text("patient confirms", within=30)  # the library
        assert "Scenario library" in screen and "Runs (newest first)" in screen
        # Assign the first scenario to the first trainee: A, then Enter on her name.
        tmux.send("a")
        tmux.wait_text("Enter on a trainee assigns it", within=20)
        tmux.send("Enter")
        screen = tmux.wait_text("in progress", within=30)  # the new run, live
        assert "Confirmation: patient confirms" in screen
        tmux.send("C-q")
        tmux.wait_for(lambda _s: tmux.pane_dead(), "the demo to exit", within=30)
        assert "Traceback" not in tmux.capture()
