"""The in-process broker: records in, per-subscriber SSE events out.

One `Broker` per API process, living on the server's event loop. Records arrive
by `publish_threadsafe` (SQLite: the committing writer's thread) or `dispatch`
(PostgreSQL: the LISTEN task, already on the loop). Each record is kept in a
ring of the most recent `ring_size` records, for `Last-Event-ID` replay, and
offered to every subscription as the events its viewer may see (`record.derive`).

A writer never waits for a subscriber: `publish_threadsafe` only schedules the
dispatch, and a subscription whose bounded buffer would overflow drops what it
holds and owes its reader ONE `resync` instead (DESIGN.md, "The live layer").

Event ids are `<record id>.<n>` (the n-th event a viewer got from that record)
or `<record id>.r` (a `resync` covering everything up to that record). Record ids
are the same in every process on one PostgreSQL, and every process sees the
records in commit order, so a client reconnecting to another process behind the
same address is replayed from where it was, if that process still holds it.
"""

from __future__ import annotations

import asyncio
import functools
import json
import logging
from collections import deque
from dataclasses import dataclass, field
from typing import Any

from central_api.events.record import Record, Viewer, derive, new_record_id

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Event:
    """One SSE event: opaque `id`, `name` (LIVE_CONTRACT.md) and JSON-able `data`."""

    id: str
    name: str
    data: dict[str, Any]

    @functools.cached_property
    def wire(self) -> bytes:
        """The event as SSE text (`id:`, `event:`, `data:`, blank line), encoded once
        and shared by every stream that sends it."""
        data = json.dumps(self.data, separators=(",", ":"))
        return f"id: {self.id}\r\nevent: {self.name}\r\ndata: {data}\r\n\r\n".encode()


class TooManyStreams(Exception):
    """The user already holds `limit` streams on this process (answered 429)."""

    def __init__(self, limit: int) -> None:
        super().__init__(f"at most {limit} event streams per user")
        self.limit = limit


@dataclass(eq=False)
class Subscription:
    """One open stream's bounded buffer. Touched only on the broker's loop."""

    viewer: Viewer
    limit: int
    _buffer: deque[Event] = field(default_factory=deque)
    _resync_id: str | None = None
    _wake: asyncio.Event = field(default_factory=asyncio.Event)
    # Set when a record says one of this user's sessions ended: re-check the token.
    recheck: bool = False
    closed: bool = False
    overflows: int = 0

    def offer(self, events: list[Event], resync_id: str) -> None:
        """Buffer `events`; if they do not fit, drop everything for one `resync`."""
        if not events:
            return
        if len(self._buffer) + len(events) > self.limit:
            self._buffer.clear()
            self._resync_id = resync_id
            self.overflows += 1
        else:
            self._buffer.extend(events)
        self._wake.set()

    def owe_resync(self, resync_id: str) -> None:
        self._buffer.clear()
        self._resync_id = resync_id
        self._wake.set()

    def poke(self) -> None:
        """Wake the reader without an event (re-check, close)."""
        self._wake.set()

    def pending(self) -> int:
        return len(self._buffer) + (1 if self._resync_id else 0)

    async def next(self, wait: float) -> list[Event]:
        """What is buffered (a `resync` first), waiting up to `wait` seconds for it."""
        if not self.pending() and not self.closed and not self.recheck:
            try:
                # asyncio.timeout, not wait_for: no extra Task per wake-up (the hot path
                # of a fan-out to hundreds of streams).
                async with asyncio.timeout(wait):
                    await self._wake.wait()
            except TimeoutError:
                return []
        self._wake.clear()
        out: list[Event] = []
        if self._resync_id is not None:
            out.append(Event(self._resync_id, "resync", {}))
            self._resync_id = None
        out.extend(self._buffer)
        self._buffer.clear()
        return out


class Broker:
    """Fan-out of live records to this process's subscriptions (see the module doc)."""

    def __init__(self, *, buffer_size: int, ring_size: int, stream_limit: int) -> None:
        self.buffer_size = buffer_size
        self.stream_limit = stream_limit
        self._ring: deque[tuple[int, Record]] = deque(maxlen=ring_size)
        self._index: dict[str, int] = {}
        self._next_no = 1
        # The id of "before the first record": a client that saw nothing yet.
        self.origin = new_record_id()
        self._subs: dict[str, list[Subscription]] = {}
        self._loop: asyncio.AbstractEventLoop | None = None
        self.dispatched = 0

    # --- lifecycle ---------------------------------------------------------------

    def start(self, loop: asyncio.AbstractEventLoop) -> None:
        """Bind to the server's running loop (from the app's lifespan)."""
        self._loop = loop

    def close(self) -> None:
        """End every open stream (server shutdown)."""
        self._loop = None
        for subs in self._subs.values():
            for sub in subs:
                sub.closed = True
                sub.poke()

    # --- publishing --------------------------------------------------------------

    def publish_threadsafe(self, record: Record) -> None:
        """Schedule `record`'s dispatch on the loop; returns at once, from any thread."""
        loop = self._loop
        if loop is None or loop.is_closed():
            return
        try:
            loop.call_soon_threadsafe(self.dispatch, record)
        except RuntimeError:  # the loop closed in between (shutdown)
            log.debug("live record dropped: the event loop is closed")

    def dispatch(self, record: Record) -> None:
        """Keep `record` in the ring and offer it to every subscription (on the loop)."""
        number = self._next_no
        self._next_no += 1
        if len(self._ring) == self._ring.maxlen:
            _, evicted = self._ring[0]
            self._index.pop(evicted.id, None)
        self._ring.append((number, record))
        self._index[record.id] = number
        self.dispatched += 1
        ended = set(record.ended)
        resync_id = f"{record.id}.r"
        # Streams of one viewer (same user, role, practices) share the derived events,
        # and so their encoded bytes.
        derived: dict[Viewer, list[Event]] = {}
        for user_id, subs in self._subs.items():
            for sub in subs:
                if user_id in ended:
                    sub.recheck = True
                    sub.poke()
                events = derived.get(sub.viewer)
                if events is None:
                    events = derived[sub.viewer] = self._events(record, sub.viewer)
                sub.offer(events, resync_id)

    @staticmethod
    def _events(record: Record, viewer: Viewer, after: int = -1) -> list[Event]:
        return [
            Event(f"{record.id}.{n}", name, data)
            for n, (name, data) in enumerate(derive(record, viewer))
            if n > after
        ]

    # --- subscribing ---------------------------------------------------------------

    def streams_of(self, user_id: str) -> int:
        return len(self._subs.get(user_id, ()))

    def last_id(self) -> str:
        """The id a `resync` sent now carries (everything up to the newest record)."""
        return f"{self._ring[-1][1].id}.r" if self._ring else f"{self.origin}.r"

    def subscribe(self, viewer: Viewer, last_event_id: str | None) -> Subscription:
        """A new subscription, replayed from `last_event_id` when given.

        Raises `TooManyStreams` at `stream_limit` streams for the user. With a
        `last_event_id` this process still holds, the events after it are buffered
        at once; with one it does not (another server's start, evicted from the
        ring, malformed), the first event is a `resync`.
        """
        if self.streams_of(viewer.user_id) >= self.stream_limit:
            raise TooManyStreams(self.stream_limit)
        sub = Subscription(viewer=viewer, limit=self.buffer_size)
        if last_event_id:
            replay = self._replay(viewer, last_event_id)
            if replay is None:
                sub.owe_resync(self.last_id())
            else:
                sub.offer(replay, self.last_id())
        self._subs.setdefault(viewer.user_id, []).append(sub)
        return sub

    def _replay(self, viewer: Viewer, last_event_id: str) -> list[Event] | None:
        record_id, _, suffix = last_event_id.strip().rpartition(".")
        if suffix == "r":
            after = 1 << 30  # a resync covered the whole record
        elif suffix.isdigit() and len(suffix) < 6:
            after = int(suffix)
        else:
            return None
        if record_id == self.origin:
            start_no = 0
        elif record_id in self._index:
            start_no = self._index[record_id]
        else:
            return None
        if self._ring and record_id == self.origin and self._ring[0][0] != 1:
            return None  # records since the origin were evicted
        out: list[Event] = []
        for number, record in self._ring:
            if number < start_no:
                continue
            out.extend(self._events(record, viewer, after if number == start_no else -1))
        return out

    def unsubscribe(self, sub: Subscription) -> None:
        subs = self._subs.get(sub.viewer.user_id)
        if subs is None:
            return
        if sub in subs:
            subs.remove(sub)
        if not subs:
            del self._subs[sub.viewer.user_id]
        sub.closed = True

    def resync_all(self) -> None:
        """Every subscription owes a `resync` (records may have been missed: the
        PostgreSQL listener reconnected). Replay across the gap is refused too."""
        self._ring.clear()
        self._index.clear()
        self.origin = new_record_id()
        for subs in self._subs.values():
            for sub in subs:
                sub.owe_resync(self.last_id())
