"""The live layer's server side: records of committed writes, fanned out as SSE events.

- `events.record`: a `Record` (ids and codes of one committed transaction) and
  `derive`, which events a subscriber gets from it;
- `events.capture`: the session hooks that build a record at commit (writers only
  call `note_*`, and `feed.log_change` does that for every change row);
- `events.broker`: the per-process broker (ring for `Last-Event-ID`, bounded
  buffers that overflow into one `resync`, the per-user stream limit);
- `events.listen`: PostgreSQL `LISTEN`, so several API processes act as one.
"""

from central_api.events.broker import Broker, Event, Subscription, TooManyStreams
from central_api.events.capture import (
    BUS_KEY,
    CHANNEL,
    note_assignment,
    note_change,
    note_escalation,
    note_observed,
    note_session_ended,
    note_team,
    note_training,
    note_whisper,
)
from central_api.events.record import Record, Viewer, derive

__all__ = [
    "BUS_KEY",
    "CHANNEL",
    "Broker",
    "Event",
    "Record",
    "Subscription",
    "TooManyStreams",
    "Viewer",
    "derive",
    "note_assignment",
    "note_change",
    "note_escalation",
    "note_observed",
    "note_session_ended",
    "note_team",
    "note_training",
    "note_whisper",
]
