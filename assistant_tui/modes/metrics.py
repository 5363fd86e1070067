"""The metrics mode: the practice's follow-up figures and the exceptions review.

The dashboard itself is `assistant_tui.screens.metrics.MetricsDashboard`; this mode
hosts it for the signed-in manager, supervisor or admin, reading the API through
the sync engine's client in the dashboard's workers. The figures are computed on
the server, never from the local cache, so offline (no sync engine) the mode says
so, with who is signed in and the link state, like the other placeholders.
"""

from __future__ import annotations

from textual.app import ComposeResult

from assistant_tui.modes.placeholder import PlaceholderScreen
from assistant_tui.screens.metrics import MetricsDashboard
from assistant_tui.widgets.footer import LeanFooter


class MetricsScreen(PlaceholderScreen):
    MODE = "metrics"
    AREAS = ("metrics",)
    TITLE = "Metrics"
    COMING = (
        "The practice's follow-up figures are computed on the server: this view shows "
        "them once you are signed in online (offline it has nothing to show)."
    )

    def compose(self) -> ComposeResult:
        user = self.services.user
        sync = self.services.sync
        if sync is None or user is None or not user.practice_ids:
            yield from super().compose()
            return
        # "Today" is the practice's local date: the dashboard asks with the clock's UTC
        # date until the first answer names the practice's zone and its today, and asks
        # again for that date when the two differ (no blocking cache read on this thread).
        yield MetricsDashboard(sync.client, user.practice_ids, now=self.services.clock)
        yield LeanFooter()
