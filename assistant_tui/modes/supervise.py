"""The supervisor's team board (placeholder until the supervision issue)."""

from __future__ import annotations

from assistant_tui.modes.placeholder import PlaceholderScreen


class SuperviseScreen(PlaceholderScreen):
    MODE = "supervise"
    AREAS = ("supervise",)
    TITLE = "Team board"
    COMING = (
        "Here the team will show live: each assistant's state and time in state, "
        "their queue depth and SLA breaches, and the escalation inbox. You will "
        "shadow a session read-only, whisper, barge and reassign work. This view "
        "arrives with the supervision work; your practice's tasks are not shown "
        "here as a queue."
    )
