"""The trainer's training desk (placeholder until the training issue)."""

from __future__ import annotations

from assistant_tui.modes.placeholder import PlaceholderScreen


class TrainScreen(PlaceholderScreen):
    MODE = "train"
    AREAS = ("train",)
    TITLE = "Training desk"
    COMING = (
        "Here trainers will walk new hires through scripts on the synthetic "
        "training practice, follow the trainee's screen, coach step by step and "
        "get a scored run. This view arrives with the training work."
    )
