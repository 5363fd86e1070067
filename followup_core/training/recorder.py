"""Recording a run from the session mirror: keep the events scoring reads.

The workspace's mirror batches (supervision, `POST /v1/sessions/me/events`) carry
more than scoring needs (form text, agent state, lock). `run_events` keeps the
events of the run's own task, from its `task-opened` until the next
`task-opened` of another task or `task-closed`, and only the types in
`run.RunEvent`; it never keeps typed text (notes), so a recorded run holds no
free text.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from pydantic import TypeAdapter, ValidationError

from followup_core.training.run import RunEvent

_ADAPTER: TypeAdapter[RunEvent] = TypeAdapter(RunEvent)
KEPT_TYPES = frozenset({"identity-verified", "script-step", "escalation-picker", "outcome"})


def run_events(mirror: Iterable[Mapping[str, Any]], task_id: str) -> list[RunEvent]:
    """The scoring events of `task_id` in a stream of mirror events (dicts), in order.

    Events of other tasks, unknown types and malformed events are skipped; fields
    scoring does not read (e.g. an escalation's typed reason) are dropped.
    """
    kept: list[RunEvent] = []
    inside = False
    for event in mirror:
        kind = event.get("type")
        if kind == "task-opened":
            inside = event.get("task_id") == task_id
        elif kind == "task-closed":
            inside = False
        elif inside and kind in KEPT_TYPES:
            fields = set(_FIELDS[str(kind)])
            try:
                kept.append(
                    _ADAPTER.validate_python({k: v for k, v in event.items() if k in fields})
                )
            except ValidationError:
                continue
    return kept


_FIELDS: dict[str, tuple[str, ...]] = {
    "identity-verified": ("type", "verified"),
    "script-step": ("type", "step", "branch", "voicemail"),
    "escalation-picker": ("type", "open", "route"),
    "outcome": ("type", "code"),
}
