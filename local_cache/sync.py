"""`SyncEngine`: pulls the feed into the cache and drains the outbox to the server.

asyncio, no UI. Every cache call runs in a worker thread (`asyncio.to_thread`),
so a slow disk never stalls the event loop (or the workspace drawn on it).

- Pull: page by page from the stored cursor; each page and its cursor are one
  local transaction, so a crash or a dropped connection resumes from the last
  applied page with no gap and no double-apply.
- Drain: entries in recorded order, each sent with its outbox id as the
  `Idempotency-Key`. An entry is marked delivered only after the server's
  answer (in batches: one local commit per batch); if the answer is lost, or
  the process dies before the batch commits, the entry is sent again with the
  same key and the server replays its first response, so every entry lands
  exactly once.
- A refusal (409 other than "request in progress", 412, 422, other 4xx) moves
  the entry to "needs attention" with the server's reply; nothing is dropped.
- Offline (network down, 429, 502/503/504): the round stops, the entry stays
  pending, `run()` backs off with jitter and tries again (or at once on `kick()`).
- A poisoned entry (issue 14, item 1): a 500 (or other 5xx that is not a
  gateway's or an overload's) for one entry stops the drain, but the feed is
  still pulled; if that pull succeeds the server works and the failure was the
  entry's, so it counts one strike (kept in the cache). Each strike defers the
  entry (backoff); at `poison_limit` strikes, if the next queued entry goes
  through, it moves to "needs attention" with the server's answer and the
  entries behind it go on (if the next one fails too, the server is failing on
  every write and nothing is set aside).
- Live (LIVE_CONTRACT.md): `run()` holds `GET /v1/events`; `feed`,
  `assignment` and `resync` start a round at once, other events go to
  `subscribe_events`; after each pull (or delivery) that changed tasks a
  `FeedApplied` goes to `subscribe_changes`; the timed poll is a fallback.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import random
import sys
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

from backend_client.errors import (
    ApiError,
    BadResponse,
    ClientError,
    Conflict,
    NotFound,
    Offline,
    Unauthorized,
)
from followup_core.schemas import AttemptIn, EscalationIn
from local_cache.cache import LocalCache
from local_cache.changes import FeedApplied, LiveEvent
from local_cache.errors import CacheError
from local_cache.outbox import Delivery, OutboxEntry, OutboxKind
from local_cache.rows import ts
from local_cache.views import SyncStatus

log = logging.getLogger(__name__)

StatusCallback = Callable[[SyncStatus], Any]
ChangesCallback = Callable[[FeedApplied], Any]
EventCallback = Callable[[LiveEvent], Any]

IN_PROGRESS_RETRIES = 6
DRAIN_BATCH = 64
PURGE_EVERY = 3600.0  # seconds
POISON_LIMIT = 5  # strikes before a failing entry is set aside for a person
POISON_BACKOFF = 2.0  # seconds before the first retry of a failing entry, doubling
GATEWAY_OR_OVERLOAD = frozenset({502, 503, 504})
LIVE_POLL_INTERVAL = 300.0  # seconds between fallback polls while the stream is up
STREAM_RETRY = 30.0  # seconds before reopening a stream the server refused (403, 5xx, ...)
PULL_EVENTS = frozenset({"feed", "assignment", "resync"})  # events that mean "pull now"


class _Transient(Exception):
    """Try this round again later; the message is safe to show."""


class _EntryFault(Exception):
    """The server answered a 5xx for this entry: a suspect, until the feed shows it is up."""

    def __init__(self, entry: OutboxEntry, error: ApiError) -> None:
        super().__init__(f"{error.status} {error.code}")
        self.entry = entry
        self.error = error


def is_entry_fault(status: int) -> bool:
    """A 5xx that may be about the request itself (500, 501, 505..599).

    502/503/504 come from a gateway or an overloaded server and say nothing
    about the entry: those stay "offline, keep in order", like 429.
    """
    return status >= 500 and status not in GATEWAY_OR_OVERLOAD


class SyncEngine:
    """Keeps one `LocalCache` in step with the central API through one `ApiClient`.

    Times are in seconds. `poll_interval`: between rounds while the event
    stream is down; `live_poll_interval`: while it is up; `backoff_initial`..
    `backoff_max`: jittered, doubling waits after a failed round;
    `poison_limit` / `poison_backoff`: server errors before one entry is set
    aside, and the first wait before it is sent again (doubling, at most an
    hour); `live`: hold the event stream in `run()` (needs a client with
    `events()`); `stream_retry`: wait before reopening a refused stream.
    """

    def __init__(
        self,
        cache: LocalCache,
        client: Any,
        *,
        page_limit: int = 1000,
        poll_interval: float = 30.0,
        backoff_initial: float = 1.0,
        backoff_max: float = 60.0,
        poison_limit: int = POISON_LIMIT,
        poison_backoff: float = POISON_BACKOFF,
        live: bool = True,
        live_poll_interval: float = LIVE_POLL_INTERVAL,
        stream_retry: float = STREAM_RETRY,
    ) -> None:
        self.cache = cache
        self.client = client
        self.page_limit = page_limit
        self.poll_interval = poll_interval
        self.backoff_initial = backoff_initial
        self.backoff_max = backoff_max
        self.poison_limit = poison_limit
        self.poison_backoff = poison_backoff
        self.use_stream = live and hasattr(client, "events")
        self.live_poll_interval = live_poll_interval
        self.stream_retry = stream_retry
        self._note: str | None = None  # this round's non-fatal problem, for the status
        self._status = SyncStatus(
            online=False,
            outbox_depth=0,
            needs_attention=0,
            last_sync=None,
            last_error=None,
            tasks=0,
        )
        self._subscribers: list[StatusCallback] = []
        self._change_subscribers: list[ChangesCallback] = []
        self._event_subscribers: list[EventCallback] = []
        self._live = False
        self._full_next = False  # the next FeedApplied is full (first sync, resync, reset)
        self._resync = False  # a `resync` event arrived: the next pull is full
        self._owed: set[str] = set()  # tasks changed by applied pages, not yet published
        self._kick = asyncio.Event()
        self._round = asyncio.Lock()
        self._last_purge: float | None = None

    # --- observing ---------------------------------------------------------------------

    @property
    def status(self) -> SyncStatus:
        return self._status

    def subscribe(self, callback: StatusCallback) -> Callable[[], None]:
        """Call `callback(status)` on every status change; returns an unsubscribe function."""
        return _add(self._subscribers, callback)

    def subscribe_changes(self, callback: ChangesCallback) -> Callable[[], None]:
        """Call `callback(FeedApplied)` after each pull or delivery that changed tasks.

        Called on the engine's event loop (a coroutine result is awaited); a
        UI in another thread should hand it on with a thread-safe post.
        Returns an unsubscribe function.
        """
        return _add(self._change_subscribers, callback)

    def subscribe_events(self, callback: EventCallback) -> Callable[[], None]:
        """Call `callback(LiveEvent)` for each non-feed event of the server's stream.

        (`whisper`, `team`, `escalation`, `assignment`; an `assignment` also
        pulls the feed.) Same calling rules as `subscribe_changes`.
        """
        return _add(self._event_subscribers, callback)

    async def _notify(self, subscribers: list[Any], value: Any, what: str) -> None:
        for callback in list(subscribers):
            try:
                result = callback(value)
                if isinstance(result, Awaitable):
                    await result
            except Exception:  # a broken subscriber must not stop syncing
                log.exception("sync %s subscriber failed", what)

    async def _changed(self, task_ids: set[str], *, full: bool) -> None:
        if task_ids or full:
            await self._notify(
                self._change_subscribers, FeedApplied(frozenset(task_ids), full), "changes"
            )

    def kick(self) -> None:
        """Sync now (e.g. right after an attempt was recorded), not at the next poll."""
        self._kick.set()

    async def _publish(self, *, online: bool, error: str | None) -> SyncStatus:
        counts = await asyncio.to_thread(self.cache.counts)
        status = SyncStatus(
            online=online,
            outbox_depth=counts["outbox_depth"],
            needs_attention=counts["needs_attention"],
            last_sync=counts["last_sync"],
            last_error=error,
            tasks=counts["tasks"],
            live=self._live,
        )
        if status != self._status:
            self._status = status
            await self._notify(self._subscribers, status, "status")
        return status

    # --- one round -----------------------------------------------------------------------

    async def sync_once(self) -> SyncStatus:
        """Drain, pull to the end of the feed, drain again; returns the status after."""
        async with self._round:
            return await self._guarded(self._full_round())

    async def push(self) -> SyncStatus:
        """Drain the outbox only (no feed pull): the quick path right after a recording."""
        async with self._round:
            return await self._guarded(self._push())

    async def _push(self) -> None:
        suspect = await self._drain()
        if suspect is not None:  # no strike without a pull to show the server is up
            self._note = f"the server failed on a queued {suspect.entry.kind}: will retry"

    async def _full_round(self) -> None:
        suspect = await self._drain()
        await self._pull()
        await asyncio.to_thread(self.cache.mark_synced)
        if suspect is not None:
            # The feed answered: the server works, so the 5xx was this entry's.
            await self._strike(suspect)
        suspect = await self._drain()
        if suspect is not None:  # the same holds right after the pull
            await self._strike(suspect)
        await self._purge_now_and_then()

    async def _strike(self, fault: _EntryFault) -> None:
        """Count a server error against its entry; set the entry aside at the limit.

        Before setting an entry aside, the next pending entry is sent (out of
        order: the first is leaving the line anyway). If the server fails on it
        too, the failure is the server's, not the entry's: nothing is set aside
        and the entry keeps its place (and its backoff).
        """
        entry, error = fault.entry, fault.error
        reply = (
            error.body
            if isinstance(error.body, dict)
            else {"error": {"code": error.code, "message": error.message}}
        )
        limit = self.poison_limit
        everyone = entry.server_errors + 1 >= limit and await self._fails_for_everyone(entry)
        moved = await asyncio.to_thread(
            self.cache.note_server_error,
            entry.id,
            error.status,
            reply,
            limit=sys.maxsize if everyone else limit,
            backoff=self.poison_backoff,
        )
        if moved:
            log.warning("outbox entry set aside after %d server errors (%s)", limit, fault)
            self._note = None
        elif everyone:
            self._note = f"the server fails on every queued change ({error.status}); retrying"
        else:
            self._note = (
                f"the server failed on a queued {entry.kind} ({error.status}); "
                f"retrying ({entry.server_errors + 1} of {limit})"
            )

    async def _fails_for_everyone(self, entry: OutboxEntry) -> bool:
        """Send the entry after `entry`: True if the server fails on it as well."""
        after = await asyncio.to_thread(self.cache.pending_after, entry.seq, 1)
        if not after:
            return False  # nothing to compare with: the limit decides
        try:
            delivery = await self._deliver(after[0])
        except _EntryFault:
            return True
        if delivery is not None:
            await asyncio.to_thread(self.cache.mark_delivered_many, [delivery])
            ids = {delivery.task.id} if delivery.task is not None else set()
            await self._changed(ids, full=False)
        return False

    async def _guarded(self, work: Awaitable[None]) -> SyncStatus:
        """Run one round; every failure becomes a status (never an exception to the UI)."""
        online, error = True, None
        self._note = None
        try:
            await work
            error = self._note
        except Offline:
            online, error = False, "offline: the server cannot be reached"
        except _Transient as exc:
            online, error = False, str(exc)
        except Unauthorized:
            error = "the session expired: sign in again"
        except ApiError as exc:
            if exc.transient:
                online, error = False, f"the server is unavailable ({exc.status})"
            else:
                error = f"the server refused the sync: {exc.status} {exc.code}"
        except ClientError as exc:
            online, error = False, str(exc).splitlines()[0]
        except CacheError as exc:
            error = str(exc)
        except Exception as exc:
            # A bug must not kill the engine silently; the type only (a message
            # could quote a record's values).
            log.error("sync round failed: %s", type(exc).__name__)
            error = f"sync failed unexpectedly ({type(exc).__name__})"
        try:
            return await self._publish(online=online, error=error)
        except CacheError as exc:
            self._status = SyncStatus(
                online=online,
                outbox_depth=self._status.outbox_depth,
                needs_attention=self._status.needs_attention,
                last_sync=self._status.last_sync,
                last_error=str(exc),
                tasks=self._status.tasks,
                live=self._live,
            )
            return self._status

    async def run(self) -> None:
        """Sync until cancelled: poll while online, back off with jitter while offline.

        With `live` (the default) the engine also holds the server's event
        stream (`GET /v1/events`): a `feed`, `assignment` or `resync` event
        starts a round at once, the other events go to `subscribe_events`, and
        the timed poll is only a fallback (`live_poll_interval` while the
        stream is up, `poll_interval` while it is not).
        """
        listener = asyncio.create_task(self._listen()) if self.use_stream else None
        try:
            delay = self.backoff_initial
            while True:
                status = await self.sync_once()
                if status.online and status.last_error is None:
                    delay = self.backoff_initial
                    wait = self.live_poll_interval if self._live else self.poll_interval
                else:
                    wait = random.uniform(delay / 2, delay)
                    delay = min(delay * 2, self.backoff_max)
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._kick.wait(), wait)
                self._kick.clear()
        finally:
            if listener is not None:
                listener.cancel()
                with contextlib.suppress(BaseException):
                    await listener

    # --- the live stream -----------------------------------------------------------------

    async def _listen(self) -> None:
        """Hold the event stream; the client reconnects (Last-Event-ID, jittered backoff).

        Returns for good only when the server has no stream (404): the poll
        carries on alone. Other refusals (401 after a logout, 403, a broken
        answer) close the stream and it is tried again after `stream_retry`
        seconds (jittered); the poll covers the gap.
        """
        last_id: str | None = None
        while True:
            try:
                async for event in self.client.events(last_id, on_state=self._stream_state):
                    last_id = event.id or last_id
                    await self._on_event(event.event, event.data)
            except NotFound:
                log.info("the server has no event stream; polling every %.0f s", self.poll_interval)
                return
            except ClientError as exc:
                # Never the message: it could quote a server's words verbatim.
                log.warning("event stream closed (%s); polling meanwhile", type(exc).__name__)
            await self._stream_state(False)
            await asyncio.sleep(random.uniform(self.stream_retry / 2, self.stream_retry))

    async def _stream_state(self, connected: bool) -> None:
        if connected == self._live:
            return
        self._live = connected
        if connected:
            # Writes between the last round and this connection sent no event to us.
            self.kick()
        with contextlib.suppress(CacheError):  # closing: the next round reports it
            await self._publish(online=self._status.online, error=self._status.last_error)

    async def _on_event(self, kind: str, data: str) -> None:
        """One event: pull for the feed's, hand the others to `subscribe_events`."""
        try:
            payload = json.loads(data) if data else {}
        except ValueError:
            payload = None
        if not isinstance(payload, dict):
            log.warning("event %r with a body that is not a JSON object ignored", kind)
            return
        if kind == "resync":
            self._resync = True  # we may have missed events: the UI re-reads everything
        if kind in PULL_EVENTS:
            self.kick()
        if kind not in ("feed", "resync"):
            await self._notify(self._event_subscribers, LiveEvent(kind, payload), "event")

    async def _purge_now_and_then(self) -> None:
        """Retention while the app stays open for days (open() purges too)."""
        now = time.monotonic()
        if self._last_purge is None or now - self._last_purge > PURGE_EVERY:
            self._last_purge = now
            await asyncio.to_thread(self.cache.purge_expired, datetime.now(UTC))

    # --- pull ----------------------------------------------------------------------------

    async def _pull(self) -> None:
        """Read the feed to its end, then publish what changed (`FeedApplied`).

        A pull from no cursor (first sync, cursor refused) or after a `resync`
        is `full`: the task ids are not collected and the UI re-reads the queue.
        If a pull fails half-way, what its applied pages changed is still owed
        and is published with the next pull that completes.
        """
        if self._resync:
            self._resync = False
            self._full_next = True
        cursor = await asyncio.to_thread(self.cache.cursor)
        if cursor is None:
            self._full_next = True
        await self._pull_pages(cursor)
        full, ids = self._full_next, set(self._owed)
        self._full_next = False
        self._owed.clear()
        await self._changed(set() if full else ids, full=full)

    async def _pull_pages(self, cursor: str | None) -> None:
        """Apply the feed's pages after `cursor`, adding changed task ids to `self._owed`."""
        try:
            page = await self.client.sync(after=cursor, limit=self.page_limit)
        except ApiError as exc:
            if exc.code != "bad-cursor" or cursor is None:
                raise
            # The server no longer knows our cursor (its database was replaced or
            # restored): start the feed over; versions keep stale records out.
            log.warning("sync cursor refused by the server; reading the feed from the start")
            await asyncio.to_thread(self.cache.reset_cursor)
            self._full_next = True
            page = await self.client.sync(after=None, limit=self.page_limit)
        touched = None if self._full_next else self._owed  # a full pull collects nothing
        while True:
            # Fetch the next page while this one is written: the network wait and
            # the local write overlap. Pages are still applied one at a time, in
            # order, each with its own cursor (the checkpoint).
            ahead = (
                asyncio.create_task(self.client.sync(after=page.cursor, limit=self.page_limit))
                if page.has_more
                else None
            )
            try:
                await asyncio.to_thread(self.cache.apply_page, page, touched)
            except BaseException:
                if ahead is not None:
                    ahead.cancel()
                    with contextlib.suppress(BaseException):
                        await ahead
                raise
            if ahead is None:
                return
            await self._publish(online=True, error=None)
            page = await ahead

    # --- drain ---------------------------------------------------------------------------

    async def _drain(self) -> _EntryFault | None:
        """Deliver the outbox in order; publish the tasks the server's answers changed.

        Stops (returning None) at an entry still deferred by its backoff, or
        (returning the fault) at an entry the server answered with a 5xx that
        may be the entry's own.
        """
        touched: set[str] = set()
        try:
            await self._drain_entries(touched)
        except _EntryFault as fault:
            return fault
        finally:
            await self._changed(touched, full=False)
        return None

    async def _drain_entries(self, touched: set[str]) -> None:
        after = 0
        accepted: list[Delivery] = []

        async def commit() -> None:
            # One local commit per batch, not per entry (see mark_delivered_many).
            await asyncio.to_thread(self.cache.mark_delivered_many, accepted)
            touched.update(d.task.id for d in accepted if d.task is not None)
            touched.update(d.lease.task_id for d in accepted if d.lease is not None)
            accepted.clear()

        try:
            while True:
                entries = await asyncio.to_thread(self.cache.pending_after, after, DRAIN_BATCH)
                if not entries:
                    return
                now = ts(datetime.now(UTC))
                for entry in entries:
                    if entry.next_try_at is not None and entry.next_try_at > now:
                        # Deferred after a server error: keep the order, wait.
                        self._note = (
                            f"the server failed on a queued {entry.kind} "
                            f"({entry.server_errors} of {self.poison_limit}); retrying later"
                        )
                        return
                    delivery = await self._deliver(entry)
                    if delivery is not None:
                        accepted.append(delivery)
                    elif entry.task_id is not None:
                        touched.add(entry.task_id)  # kept for attention: its row changed
                    after = entry.seq
                await commit()
        finally:
            if accepted:
                await commit()

    async def _deliver(self, entry: OutboxEntry) -> Delivery | None:
        """Send one entry; its Delivery if accepted, None if kept for attention."""
        for round_ in range(IN_PROGRESS_RETRIES + 1):
            try:
                return await self._send(entry)
            except Conflict as exc:
                if exc.code != "request-in-progress":
                    await self._attention(entry, exc.status, exc.body)
                    return None
                # The first send of this key is still running on the server:
                # its answer will be replayed once it finishes.
                if round_ == IN_PROGRESS_RETRIES:
                    raise _Transient("waiting for the server to finish an earlier send") from None
                await asyncio.sleep(0.05 * 2**round_)
            except Unauthorized:
                raise
            except ApiError as exc:
                if is_entry_fault(exc.status):
                    raise _EntryFault(entry, exc) from None
                if exc.transient or exc.status in (408, 429) or exc.status >= 500:
                    await asyncio.to_thread(self.cache.note_failure, entry.id, exc.status, exc.code)
                    raise
                await self._attention(entry, exc.status, exc.body)
                return None
            except BadResponse as exc:
                # The server said yes but its answer did not parse: keep it for a person.
                await self._attention(
                    entry, 200, {"error": {"code": "bad-response", "message": str(exc)}}
                )
                return None
            except ValueError as exc:  # the stored body no longer validates
                await self._attention(
                    entry,
                    0,
                    {"error": {"code": "invalid-entry", "message": str(exc).splitlines()[0]}},
                )
                return None
        return None

    async def _attention(self, entry: OutboxEntry, status: int, body: Any) -> None:
        reply = body if isinstance(body, dict) else {"error": {"message": str(body)}}
        await asyncio.to_thread(self.cache.mark_attention, entry.id, status, reply)

    async def _send(self, entry: OutboxEntry) -> Delivery:
        body = entry.body or "{}"
        if entry.kind is OutboxKind.ATTEMPT:
            created = await self.client.post_attempt(
                AttemptIn.model_validate_json(body), idempotency_key=entry.id
            )
            return Delivery(entry.id, 201, task=created.task, attempt=created.attempt)
        if entry.kind is OutboxKind.ESCALATION:
            out = await self.client.post_escalation(
                EscalationIn.model_validate_json(body), idempotency_key=entry.id
            )
            return Delivery(entry.id, 201, escalation=out)
        if entry.kind is OutboxKind.PRESENCE:
            await self.client.put_presence(json.loads(body)["state"])
            return Delivery(entry.id, 200)
        if entry.kind is OutboxKind.CLAIM:
            lease = await self.client.claim(json.loads(body)["task_id"])
            return Delivery(entry.id, 200, lease=lease)
        raise ValueError(f"unknown outbox entry kind {entry.kind!r}")


def _add(subscribers: list[Any], callback: Any) -> Callable[[], None]:
    subscribers.append(callback)

    def unsubscribe() -> None:
        with contextlib.suppress(ValueError):
            subscribers.remove(callback)

    return unsubscribe


def last_sync_text(at: datetime | None) -> str:
    return at.isoformat() if at else "never"


__all__ = ["SyncEngine", "is_entry_fault", "last_sync_text"]
