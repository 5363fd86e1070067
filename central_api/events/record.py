"""What one committed transaction tells the live layer, and what each subscriber sees of it.

A `Record` is built from a transaction's writes (see `events.capture`) and carries
ids and codes only, never PHI: which tasks changed in which practice and for which
queue owners, which practices' reference data changed, who got new work, whose
presence changed, which escalations moved, whose sessions ended. It travels as a
small JSON object (PostgreSQL `NOTIFY` payload, ≪ 8000 bytes) and every API
process keeps the same records in the same order, so an event id means the same
thing on each of them.

`derive(record, viewer)` turns a record into the SSE events one subscriber gets
(LIVE_CONTRACT.md): `feed`, `assignment`, `team`, `escalation`, and for supervision
`session` (to the observers shadowing that user) and `whisper`. Who gets what
follows `/v1/sync`'s visibility (`feed._visibility`): queue-only callers (assistants)
their own tasks, other roles everything in their practices; managers only the
practice records.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from followup_core.enums import ChangeKind, Role

# The PostgreSQL NOTIFY payload must stay under 8000 bytes; records above this
# budget are shrunk (task ids dropped, then audiences widened) — see `Record.encode`.
PAYLOAD_BUDGET = 7000

# Roles that see every record of their practices (not a queue).
_WHOLE_PRACTICE = frozenset({str(Role.SUPERVISOR), str(Role.ADMIN), str(Role.TRAINER)})
# Roles that get `team` (presence) and `escalation` (inbox) events of their practices.
_TEAM = frozenset({str(Role.SUPERVISOR), str(Role.ADMIN), str(Role.MANAGER)})
_ESCALATION = frozenset(
    {str(Role.SUPERVISOR), str(Role.ADMIN), str(Role.TRAINER), str(Role.MANAGER)}
)
# Roles whose feed carries only the practice records (no patient data).
_PRACTICE_ONLY = frozenset({str(Role.MANAGER)})


def new_record_id() -> str:
    """A fresh opaque record id (72 random bits, URL-safe)."""
    return secrets.token_urlsafe(9)


@dataclass(frozen=True)
class Viewer:
    """Who a stream belongs to, fixed when it opens: user id, role, practice ids."""

    user_id: str
    role: str
    practice_ids: frozenset[str]


@dataclass
class Record:
    """The live layer's view of one committed transaction (ids and codes only).

    - `feed`: `(practice_id, task_id or "", queue owners concerned)`; everyone who sees
      the whole practice is concerned too;
    - `reference`: `(practice_id, kind)` for practice/script changes (everyone in it);
    - `everyone`: practices whose every member should pull (a record shrunk to fit);
    - `assignment`: `(user_id, task_ids)` of work newly given to that user;
    - `team`: `(user_id, practice_ids, state)` presence changes;
    - `escalation`: `(escalation_id, practice_id, route, status)` inbox changes;
    - `ended`: users whose sessions ended (their open streams re-check their token);
    - `session`: `(subject_id, seq, observer ids)`: a shadowed workspace's mirror moved
      (its observers fetch the snapshot; the event carries no mirror content);
    - `whisper`: `(whisper_id, user ids)`: a whisper was sent (to its recipient) or
      read (to its sender);
    - `observed`: users whose observers changed (a shadow session started or stopped):
      they re-read `GET /v1/sessions/me/observers`.
    - `training`: `(run_id, user ids)`: a training run has a new live patient line or
      was scored (its trainee and trainer re-read it over the API).
    """

    id: str = field(default_factory=new_record_id)
    feed: list[tuple[str, str, list[str]]] = field(default_factory=list)
    reference: list[tuple[str, str]] = field(default_factory=list)
    everyone: list[str] = field(default_factory=list)
    assignment: list[tuple[str, list[str]]] = field(default_factory=list)
    team: list[tuple[str, list[str], str]] = field(default_factory=list)
    escalation: list[tuple[str, str, str, str]] = field(default_factory=list)
    ended: list[str] = field(default_factory=list)
    session: list[tuple[str, int, list[str]]] = field(default_factory=list)
    whisper: list[tuple[str, list[str]]] = field(default_factory=list)
    observed: list[str] = field(default_factory=list)
    training: list[tuple[str, list[str]]] = field(default_factory=list)

    def empty(self) -> bool:
        """True when nobody needs to hear about this transaction."""
        return not (
            self.feed
            or self.reference
            or self.everyone
            or self.assignment
            or self.team
            or self.escalation
            or self.ended
            or self.session
            or self.whisper
            or self.observed
            or self.training
        )

    def _dump(self) -> str:
        body: dict[str, Any] = {"v": 1, "id": self.id}
        for key, value in (
            ("f", self.feed),
            ("r", self.reference),
            ("F", self.everyone),
            ("a", self.assignment),
            ("t", self.team),
            ("e", self.escalation),
            ("x", self.ended),
            ("s", self.session),
            ("w", self.whisper),
            ("o", self.observed),
            ("T", self.training),
        ):
            if value:
                body[key] = value
        return json.dumps(body, separators=(",", ":"))

    def encode(self, budget: int = PAYLOAD_BUDGET) -> str:
        """Compact JSON of at most `budget` bytes (ASCII ids only).

        Too big (a batch of the trigger job), it is shrunk in steps that only ever
        widen who is told: task ids are dropped (the client pulls its feed either
        way), then the feed becomes "everyone in these practices".
        """
        text = self._dump()
        if len(text) <= budget:
            return text
        owners: dict[str, set[str]] = {}
        for practice_id, _task_id, users in self.feed:
            owners.setdefault(practice_id, set()).update(users)
        self.feed = [(pid, "", sorted(users)) for pid, users in sorted(owners.items())]
        self.assignment = [(uid, []) for uid, _ in self.assignment]
        text = self._dump()
        if len(text) <= budget:
            return text
        self.everyone = sorted(
            set(self.everyone)
            | {pid for pid, _, _ in self.feed}
            | {pid for pid, _ in self.reference}
        )
        self.feed = []
        self.reference = []
        text = self._dump()
        if len(text) > budget:  # thousands of presence/escalation rows in one commit
            self.team = []
            self.escalation = []
            text = self._dump()
        return text

    @classmethod
    def decode(cls, text: str) -> Record:
        """The record encoded by `encode`; raises ValueError on anything else."""
        body = json.loads(text)
        if not isinstance(body, dict) or body.get("v") != 1 or not isinstance(body.get("id"), str):
            raise ValueError("not a live record")
        return cls(
            id=body["id"],
            feed=[(str(p), str(t), [str(u) for u in us]) for p, t, us in body.get("f", [])],
            reference=[(str(p), str(k)) for p, k in body.get("r", [])],
            everyone=[str(p) for p in body.get("F", [])],
            assignment=[(str(u), [str(t) for t in ts]) for u, ts in body.get("a", [])],
            team=[(str(u), [str(p) for p in ps], str(s)) for u, ps, s in body.get("t", [])],
            escalation=[(str(e), str(p), str(r), str(s)) for e, p, r, s in body.get("e", [])],
            ended=[str(u) for u in body.get("x", [])],
            session=[(str(u), int(q), [str(o) for o in os]) for u, q, os in body.get("s", [])],
            whisper=[(str(w), [str(u) for u in us]) for w, us in body.get("w", [])],
            observed=[str(u) for u in body.get("o", [])],
            training=[(str(r), [str(u) for u in us]) for r, us in body.get("T", [])],
        )


def _feed_for(record: Record, viewer: Viewer) -> dict[str, Any] | None:
    practices = viewer.practice_ids
    if viewer.role in _PRACTICE_ONLY:
        concerned = any(
            pid in practices and kind == str(ChangeKind.PRACTICE) for pid, kind in record.reference
        ) or any(pid in practices for pid in record.everyone)
        return {"task_ids": []} if concerned else None
    whole = viewer.role in _WHOLE_PRACTICE
    concerned = False
    task_ids: set[str] = set()
    for practice_id, task_id, users in record.feed:
        if practice_id in practices and (whole or viewer.user_id in users):
            concerned = True
            if task_id:
                task_ids.add(task_id)
    if not concerned:
        concerned = any(pid in practices for pid, _ in record.reference) or any(
            pid in practices for pid in record.everyone
        )
    return {"task_ids": sorted(task_ids)} if concerned else None


def derive(record: Record, viewer: Viewer) -> list[tuple[str, dict[str, Any]]]:
    """The `(event name, data)` pairs `viewer` gets from `record`, in a fixed order."""
    out: list[tuple[str, dict[str, Any]]] = []
    feed = _feed_for(record, viewer)
    if feed is not None:
        out.append(("feed", feed))
    for user_id, task_ids in record.assignment:
        if user_id == viewer.user_id and viewer.role not in _PRACTICE_ONLY:
            out.append(("assignment", {"task_ids": sorted(task_ids)}))
    if viewer.role in _TEAM:
        for user_id, practice_ids, state in record.team:
            for practice_id in sorted(set(practice_ids) & viewer.practice_ids):
                out.append(
                    ("team", {"user_id": user_id, "practice_id": practice_id, "state": state})
                )
    if viewer.role in _ESCALATION:
        for escalation_id, practice_id, route, status in record.escalation:
            if practice_id in viewer.practice_ids:
                out.append(
                    (
                        "escalation",
                        {
                            "escalation_id": escalation_id,
                            "practice_id": practice_id,
                            "route": route,
                            "status": status,
                        },
                    )
                )
    for subject_id, seq, observers in record.session:
        if viewer.user_id in observers:
            out.append(("session", {"user_id": subject_id, "seq": seq}))
    if viewer.user_id in record.observed:
        out.append(("observed", {}))
    for whisper_id, user_ids in record.whisper:
        if viewer.user_id in user_ids:
            out.append(("whisper", {"whisper_id": whisper_id}))
    for run_id, user_ids in record.training:
        if viewer.user_id in user_ids:
            out.append(("training", {"run_id": run_id}))
    return out


def concerns_session(record: Record, user_ids: Iterable[str]) -> bool:
    """True when `record` ended a session of one of `user_ids` (streams re-check)."""
    ended = set(record.ended)
    return any(uid in ended for uid in user_ids)
