"""`assistant-tui sync` as a real subprocess against a real uvicorn."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from tests.cache.conftest import Api

VENV_BIN = Path(sys.executable).parent


def _sync(
    api: Api, user: str, data_dir: Path, passphrase: str, *extra: str
) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "ASSISTANT_TUI_PASSWORD": api.password,
        "ASSISTANT_TUI_PASSPHRASE": passphrase,
        "ASSISTANT_TUI_DATA_DIR": str(data_dir),
        # Never the real keyring: the key is wrapped under the passphrase on disk.
        "PYTHON_KEYRING_BACKEND": "keyring.backends.fail.Keyring",
    }
    return subprocess.run(
        [str(VENV_BIN / "assistant-tui"), "sync", "--server", api.url, "--user", user, *extra],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        stdin=subprocess.DEVNULL,
    )


def test_sync_prints_json_status_then_refuses_a_wrong_passphrase(api: Api, tmp_path: Path) -> None:
    user = api.assistants()[0]
    first = _sync(api, user, tmp_path, "right-passphrase", "--json")
    assert first.returncode == 0, first.stderr
    status = json.loads(first.stdout)
    assert status["online"] is True
    assert status["outbox_depth"] == 0 and status["needs_attention"] == 0
    assert status["last_sync"] and status["tasks"] > 0
    assert set(status) >= {"online", "outbox_depth", "needs_attention", "last_sync", "tasks"}

    wrong = _sync(api, user, tmp_path, "wrong-passphrase", "--json")
    assert wrong.returncode == 3
    assert wrong.stdout == ""
    lines = wrong.stderr.strip().splitlines()
    assert len(lines) == 1 and "passphrase" in lines[0]
    assert "Traceback" not in wrong.stderr


def test_sync_human_output_and_missing_secret(api: Api, tmp_path: Path) -> None:
    user = api.assistants()[1]
    done = _sync(api, user, tmp_path, "a-passphrase")
    assert done.returncode == 0, done.stderr
    assert "online:" in done.stdout and "tasks:" in done.stdout
    missing = _sync(api, user, tmp_path, "")
    assert missing.returncode == 2
    assert missing.stderr.strip().count("\n") == 0 and "ASSISTANT_TUI_PASSPHRASE" in missing.stderr


def test_headless_does_not_import_textual() -> None:
    code = "import sys, assistant_tui.headless; sys.exit('textual' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code], timeout=60).returncode == 0
