"""The metrics dashboard (placeholder until the metrics issue)."""

from __future__ import annotations

from assistant_tui.modes.placeholder import PlaceholderScreen


class MetricsScreen(PlaceholderScreen):
    MODE = "metrics"
    AREAS = ("metrics",)
    TITLE = "Metrics"
    COMING = (
        "Here managers, supervisors and admins will read the practice's figures: "
        "tasks worked, contact rate, time to first attempt, SLA attainment, "
        "escalations by route, and agent time in state. This view arrives with "
        "the metrics work."
    )
