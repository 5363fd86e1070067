"""What the sync engine tells the UI changed (LIVE_CONTRACT.md, "Client").

Plain frozen dataclasses, no Textual: the App turns them into its own messages
with `post_message` (thread-safe). Both carry ids and codes only, never PHI.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True, slots=True)
class FeedApplied:
    """The feed pull (or a delivery's answer) changed these tasks locally.

    `task_ids`: the tasks whose cached row was upserted or removed, whose
    patient label changed, or which gained a delivered attempt; read them with
    `LocalCache.queue_rows(task_ids)` (None there means "no longer in the
    queue"). `full`: True after a first sync, a cursor reset or a `resync`
    event: re-read the whole queue, `task_ids` may then be incomplete.
    """

    task_ids: frozenset[str]
    full: bool = False


@dataclass(frozen=True, slots=True)
class LiveEvent:
    """A non-feed event from the server's stream, for the UI.

    `kind`: the SSE event name (`whisper`, `team`, `escalation`, `assignment`);
    `data`: its JSON object as sent (ids and codes only), e.g.
    `{"user_id": "..", "practice_id": "..", "state": "available"}` for `team`.
    """

    kind: str
    data: Mapping[str, Any] = field(default_factory=dict)


__all__ = ["FeedApplied", "LiveEvent"]
