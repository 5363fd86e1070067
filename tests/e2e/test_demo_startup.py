"""The demo's start-up pieces without a terminal: directory, seed summary, phone system,
and start-up failures told as one line."""

from __future__ import annotations

import os
import random
import socket
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from assistant_tui.demo import DemoError, pick_demo_assistant, prepare_dir
from assistant_tui.phone_sim import PhoneSimulator, fictional_number
from tests.e2e.conftest import SeededApi


def test_prepare_dir_replaces_only_its_own_directory(tmp_path: Path) -> None:
    first = prepare_dir(tmp_path)
    (first.root / "api.sqlite3").write_text("old run")
    second = prepare_dir(tmp_path)
    assert second.root == first.root
    assert not (second.root / "api.sqlite3").exists()
    assert second.client_dir.is_dir()
    assert second.root.stat().st_mode & 0o077 == 0

    foreign = tmp_path / "other"
    (foreign / "demo").mkdir(parents=True)
    (foreign / "demo" / "precious.txt").write_text("not ours")
    with pytest.raises(DemoError, match="was not made by the demo"):
        prepare_dir(foreign)
    assert (foreign / "demo" / "precious.txt").exists()


def test_demo_assistant_is_the_seeders_demo_user(seeded_api: SeededApi) -> None:
    login = pick_demo_assistant(seeded_api.summary)
    practice = next(p for p in seeded_api.summary["practices"] if p["id"] == login.practice_id)
    assert login.username == "demo"
    assert not practice["is_training"]
    assert login.webhook_key == practice["webhook_key"]


def test_demo_assistant_missing_is_a_clear_error() -> None:
    with pytest.raises(DemoError, match="no assistant"):
        pick_demo_assistant({"users": [{"username": "x", "role": "admin"}], "practices": []})


def test_fictional_numbers_stay_in_the_555_01xx_block() -> None:
    rng = random.Random(3)
    for _ in range(200):
        number = fictional_number(rng)
        assert number.startswith("+1") and number[5:10] == "55501"


async def test_phone_system_posts_missed_calls_through_the_webhook(seeded_api: SeededApi) -> None:
    login = pick_demo_assistant(seeded_api.summary)
    heard: list[str] = []
    phone = PhoneSimulator(
        base_url=seeded_api.url,
        practice_key=login.webhook_key,
        on_call=heard.append,
        rng=random.Random(1),
    )
    async with httpx.AsyncClient(base_url=seeded_api.url, timeout=10) as client:
        task_id = await phone.call_once(client)
        assert task_id and heard == [task_id]
        assert phone.posted == 1

        wrong = PhoneSimulator(base_url=seeded_api.url, practice_key="whk_not-a-key")
        assert await wrong.call_once(client) is None
        assert wrong.failures == 1 and wrong.posted == 0

    # The new task is on the server: a supervisor of the practice can read it.
    boss = next(
        u["username"]
        for u in seeded_api.summary["users"]
        if u["role"] == "supervisor" and login.practice_id in u["practice_ids"]
    )
    async with httpx.AsyncClient(base_url=seeded_api.url, timeout=10) as api:
        login_reply = await api.post(
            "/v1/auth/login", json={"username": boss, "password": seeded_api.password}
        )
        token = login_reply.json()["token"]
        reply = await api.get(f"/v1/tasks/{task_id}", headers={"Authorization": f"Bearer {token}"})
        assert reply.status_code == 200
        assert reply.json()["task"]["workflow"] == "missed-call-recovery"


def run_cli(*args: str, data_dir: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "ASSISTANT_TUI_DATA_DIR": str(data_dir)}
    return subprocess.run(
        [sys.executable, "-m", "assistant_tui.cli", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        stdin=subprocess.DEVNULL,
        check=False,
    )


def test_demo_with_a_busy_port_fails_in_one_line(tmp_path: Path) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        done = run_cli("demo", "--port", str(port), data_dir=tmp_path)
    assert done.returncode == 1
    assert "Traceback" not in done.stderr
    errors = [line for line in done.stderr.splitlines() if line.startswith("assistant-tui demo:")]
    assert len(errors) == 1
    assert "exited" in errors[0] or "did not answer" in errors[0]
    # The seeded password went to demo.json only if the demo got that far; never to stderr.
    assert "password" not in done.stderr.lower()


def test_workspace_without_a_server_says_what_to_do(tmp_path: Path) -> None:
    done = run_cli(data_dir=tmp_path)
    assert done.returncode == 2
    assert "--server URL" in done.stderr and "assistant-tui demo" in done.stderr
    assert "Traceback" not in done.stderr


def test_help_explains_every_option(tmp_path: Path) -> None:
    top = run_cli("--help", data_dir=tmp_path).stdout
    for option in ("--server", "--user", "--data-dir", "--ca-file", "--config", "demo", "sync"):
        assert option in top
    for env in ("ASSISTANT_TUI_DATA_DIR", "ASSISTANT_TUI_PASSWORD", "ASSISTANT_TUI_PASSPHRASE"):
        assert env in top
    demo = run_cli("demo", "--help", data_dir=tmp_path).stdout
    for option in ("--size", "--missed-call-every", "--port", "demo.json"):
        assert option in demo


def test_seed_takes_a_password_that_starts_with_a_dash(tmp_path: Path) -> None:
    # token_urlsafe() may begin with "-"; the seeder must not read it as an option.
    from assistant_tui.demo import DemoPaths, seed

    summary = seed(DemoPaths(tmp_path), password="-starts-with-a-dash-" + "x" * 8, size=None)
    assert any(u["username"] == "demo" for u in summary["users"])


def test_workspace_refuses_plain_http_off_loopback_in_one_line(tmp_path: Path) -> None:
    done = run_cli("--server", "http://assistant.example.org", data_dir=tmp_path)
    assert done.returncode == 2
    assert "Traceback" not in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1
    assert done.stderr.startswith("assistant-tui: ")
