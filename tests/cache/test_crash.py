"""The client SIGKILLed between local commit and delivery, many times: exactly once."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.cache.conftest import Api
from tests.cache.helpers import server_rows

ROOT = Path(__file__).resolve().parents[2]
KILLS = 8


def _driver(mode: str, data_dir: Path, api: Api, user: str, log: Path) -> subprocess.Popen[str]:
    env = {
        **os.environ,
        "CRASH_PASSWORD": api.password,
        "CRASH_PASSPHRASE": "crash-test-passphrase",
        "PYTHONPATH": str(ROOT),
    }
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "tests.cache.crash_driver",
            mode,
            str(data_dir),
            api.url,
            user,
            str(log),
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


@pytest.mark.slow
def test_sigkilled_client_delivers_every_committed_attempt_exactly_once(
    api: Api, tmp_path: Path
) -> None:
    user = api.assistants()[0]
    data_dir, log = tmp_path / "client", tmp_path / "committed.log"
    rng = random.Random(20261127)
    before = _attempts_of(api, user)
    for _ in range(KILLS):
        proc = _driver("record", data_dir, api, user, log)
        assert proc.stdout is not None
        line = proc.stdout.readline()
        assert line.strip() == "ready", proc.stderr.read() if proc.stderr else ""
        # The kill point is random: mid-commit, between commit and send, mid-send.
        time.sleep(rng.uniform(0.05, 0.6))
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
        proc.stdout.close()
        if proc.stderr:
            proc.stderr.close()
    drain = _driver("drain", data_dir, api, user, log)
    out, err = drain.communicate(timeout=120)
    assert drain.returncode == 0, err
    entries = dict(json.loads(out)["entries"])
    committed = log.read_text().split()
    print(f"kills={KILLS} committed-and-logged={len(committed)} recorded={len(entries)}")
    assert len(committed) >= KILLS  # every run got some work in before its kill
    on_server = _attempts_of(api, user)
    new = {i: n for i, n in on_server.items() if i not in before}
    # Everything the driver saw committed is in the outbox and delivered...
    assert set(committed) <= set(entries)
    assert set(entries.values()) == {"delivered"}
    # ...and on the server exactly once, with nothing the client never recorded.
    assert set(new) == set(entries)
    assert set(new.values()) == {1}


def _attempts_of(api: Api, user: str) -> dict[str, int]:
    rows = server_rows(
        api.db_url,
        "SELECT id, count(*) FROM attempts WHERE assistant_id = :uid GROUP BY id",
        uid=api.user_id(user),
    )
    return {str(r[0]): int(r[1]) for r in rows}
