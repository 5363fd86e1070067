"""A simulated practice phone system for the demo: it reports missed calls.

It plays the part of the practice's telephony vendor, an outside system, so it
talks to the webhook with plain httpx and the practice's key rather than
through our own API client. Caller numbers are fictional (555-01xx, the range
set aside for fiction in the North American plan); some are known patients'
numbers when the demo passes them in, so both matched and unmatched callers
show up.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

import httpx

log = logging.getLogger(__name__)

WEBHOOK_PATH = "/v1/triggers/missed-call"


# Area codes in service (libphonenumber calls their 555-01xx numbers valid); a random
# area code may be unassigned, and the server never opens a callback task for a
# number that cannot exist.
AREA_CODES = (201, 212, 303, 312, 415, 503, 617, 646, 702, 720, 917, 971)


def fictional_number(rng: random.Random) -> str:
    """A number in the 555-0100..0198 block reserved for fiction, in an area in service."""
    return f"+1{rng.choice(AREA_CODES)}55501{rng.randint(0, 98):02d}"


@dataclass
class PhoneSimulator:
    """Posts one missed call every `every` seconds until cancelled.

    `on_call` hears about each new task id (the demo uses it to nudge sync);
    `posted` and `failures` count what happened, for the demo's exit line and tests.
    """

    base_url: str
    practice_key: str
    every: float = 60.0
    known_numbers: Sequence[str] = ()
    on_call: Callable[[str], None] | None = None
    rng: random.Random = field(default_factory=random.Random)
    posted: int = 0
    failures: int = 0

    def next_number(self) -> str:
        # One call in three comes from a known patient, the rest are strangers.
        if self.known_numbers and self.rng.random() < 1 / 3:
            return self.rng.choice(list(self.known_numbers))
        return fictional_number(self.rng)

    async def call_once(self, client: httpx.AsyncClient) -> str | None:
        """Report one missed call; return the task id, or None if the server refused."""
        body = {
            "caller_phone": self.next_number(),
            "called_at": datetime.now(UTC).isoformat(),
        }
        try:
            reply = await client.post(
                WEBHOOK_PATH, json=body, headers={"X-Practice-Key": self.practice_key}
            )
        except httpx.HTTPError as exc:
            self.failures += 1
            # The type only: a URL or body could carry a number.
            log.warning("missed-call webhook unreachable (%s)", type(exc).__name__)
            return None
        if reply.status_code != 201:
            self.failures += 1
            log.warning("missed-call webhook answered %s", reply.status_code)
            return None
        self.posted += 1
        task_id = str(reply.json().get("task_id") or "")
        if self.on_call is not None and task_id:
            self.on_call(task_id)
        return task_id

    async def run(self, *, first_after: float | None = None) -> None:
        """Call, wait, repeat until cancelled. The first call comes after `first_after`."""
        async with httpx.AsyncClient(base_url=self.base_url, timeout=10.0) as client:
            await asyncio.sleep(self.every if first_after is None else first_after)
            while True:
                await self.call_once(client)
                await asyncio.sleep(self.every)
