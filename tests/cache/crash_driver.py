"""A client process for the crash test: records attempts and syncs until SIGKILLed.

`python -m tests.cache.crash_driver record|drain DATA_DIR SERVER USER LOG`
(password and passphrase in CRASH_PASSWORD / CRASH_PASSPHRASE). `record` prints
"ready" once synced, then records attempts for ever, appending each attempt id
to LOG only after `record_attempt` has returned (committed), while the sync
engine drains in the background. `drain` syncs until the outbox is empty and
prints the outbox as JSON. Uses the fail keyring backend (key wrapped on disk).
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import sys
from pathlib import Path

from keyring.backends.fail import Keyring as FailKeyring

from backend_client import ApiClient
from local_cache import LocalCache, SyncEngine
from tests.cache.helpers import attempt_for, phone_ok


def _log_committed(log: str, attempt_id: str) -> None:
    with open(log, "a", encoding="utf-8") as out:
        out.write(f"{attempt_id}\n")
        out.flush()
        os.fsync(out.fileno())


async def main(mode: str, data_dir: str, server: str, user: str, log: str) -> int:
    cache = await asyncio.to_thread(
        LocalCache.open,
        data_dir,
        user,
        os.environ["CRASH_PASSPHRASE"],
        keyring_backend=FailKeyring(),
    )
    async with ApiClient(server) as client:
        await client.login(user, os.environ["CRASH_PASSWORD"])
        engine = SyncEngine(cache, client, backoff_initial=0.05, backoff_max=0.2)
        if mode == "drain":
            for _ in range(200):
                status = await engine.sync_once()
                if status.online and status.outbox_depth == 0:
                    break
            entries = cache.outbox_entries()
            print(json.dumps({"entries": [[e.id, e.state] for e in entries]}))
            return 0
        await engine.sync_once()
        ids_file = Path(data_dir) / "task-ids.json"
        if not ids_file.exists():
            ids = []
            for row in cache.queue():
                context = cache.task_context(row.task_id)
                if context and phone_ok(
                    context.task, context.patient.consent if context.patient else None
                ):
                    ids.append(row.task_id)
            ids_file.write_text(json.dumps(ids))
        tasks = [t for t in (cache.task(i) for i in json.loads(ids_file.read_text())) if t]
        runner = asyncio.create_task(engine.run())
        print("ready", flush=True)
        while True:
            attempt = attempt_for(random.choice(tasks))
            await asyncio.to_thread(cache.record_attempt, attempt)
            # Logged only after the commit returned: the log is a lower bound.
            await asyncio.to_thread(_log_committed, log, str(attempt.id))
            engine.kick()
            await asyncio.sleep(random.uniform(0, 0.01))
            if runner.done():  # the engine must never die on its own
                runner.result()
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main(*sys.argv[1:6])))
