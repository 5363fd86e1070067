"""Work that should follow the frame being prepared, not join it.

Textual repaints, in one frame, the box around every region marked dirty since
the last frame: a change at the top of the queue and one on the status bar
(the screen's bottom line) make a frame repaint every pane in between. A live
patch therefore puts its rows on screen first and its secondary figures (the
count, the scrollbar, the SLA breaches) one frame later.
"""

from __future__ import annotations

from collections.abc import Callable

from textual import constants
from textual.message_pump import MessagePump

FRAME_SECONDS = 1 / constants.MAX_FPS
"""Textual's frame period (seconds): the screen redraws at most this often."""


def after_next_frame(node: MessagePump, callback: Callable[[], object]) -> None:
    """Call `callback` on `node`'s event loop one frame period from now.

    `call_after_refresh` is not enough: it runs as soon as the screen is idle,
    which can be before the widgets' repaint requests reach it, and so before
    the frame. The frame timer resumes as soon as the screen sees the first
    repaint request, so a frame period later that frame has been drawn.
    """
    node.set_timer(FRAME_SECONDS, callback, name="after-next-frame")
