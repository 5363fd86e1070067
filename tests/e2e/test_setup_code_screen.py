"""The set-up code screen under Pilot against a real API: a wrong or used code is told
inline and the screen stays; a mismatched password never reaches the server."""

from __future__ import annotations

import json
import secrets
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from textual.widgets import Input

from assistant_tui.screens.setup_code import (
    PasswordChosen,
    SetupCodeScreen,
    check_new_password,
)
from backend_client import ApiClient
from central_api.cli import main as api_cli
from tests.e2e.test_start import Host, type_into, wait_until
from tests.support.server import ApiServer

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "practice.toml"


@pytest.fixture
def clinic(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> Iterator[tuple[str, dict[str, Any]]]:
    db = f"sqlite:///{tmp_path / 'clinic.db'}"
    monkeypatch.setenv("ASSISTANT_API_PASSWORD", secrets.token_urlsafe(12))
    args = ["--username", "root.admin", "--role", "admin", "--display-name", "Root Admin"]
    assert api_cli(["create-user", "--db", db, *args]) == 0
    capsys.readouterr()
    assert (
        api_cli(["practice", "apply", str(EXAMPLE), "--db", db, "--by", "root.admin", "--json"])
        == 0
    )
    result = json.loads(capsys.readouterr().out)
    with ApiServer(db, env={"ASSISTANT_API_TRIGGER_INTERVAL": "0"}) as server:
        yield server.url, result


def test_new_password_rules() -> None:
    assert check_new_password("long-enough", "long-enough") is None
    assert check_new_password("short", "short") is not None
    assert check_new_password("long-enough", "long-enougH") is not None


async def _fill(pilot: Any, code: str, password: str, again: str) -> None:
    await type_into(pilot, "#code", code)
    await type_into(pilot, "#new-password", password)
    await type_into(pilot, "#again", again)


async def test_wrong_then_right_then_used_code(clinic: tuple[str, dict[str, Any]]) -> None:
    url, result = clinic
    code = result["setup_codes"]["sam.ortiz"]
    async with ApiClient(url) as client:
        screen = SetupCodeScreen(server=url, setup=client.setup_password, username="sam.ortiz")
        app = Host(screen)
        async with app.run_test(size=(100, 30)) as pilot:
            await _fill(pilot, code, "pw-sam-12345", "pw-sam-1234X")
            assert screen.error_text.startswith("The two entries differ")
            await _fill(pilot, "AAAA-BBBB-CCCC-DDDD", "pw-sam-12345", "pw-sam-12345")
            await wait_until(pilot, lambda: bool(screen.error_text), "an error line")
            assert "not valid" in screen.error_text
            assert screen.query_one("#new-password", Input).value == ""
            assert app.results == []
            await _fill(pilot, code, "pw-sam-12345", "pw-sam-12345")
            await wait_until(pilot, lambda: bool(app.results), "the screen to dismiss")
        assert app.results == [PasswordChosen("sam.ortiz", "pw-sam-12345")]
        assert (await client.login("sam.ortiz", "pw-sam-12345")).user.username == "sam.ortiz"

        again = SetupCodeScreen(server=url, setup=client.setup_password, username="sam.ortiz")
        second = Host(again)
        async with second.run_test(size=(100, 30)) as pilot:
            await _fill(pilot, code, "another-password", "another-password")
            await wait_until(pilot, lambda: bool(again.error_text), "an error line")
            assert "not valid" in again.error_text
        assert second.results == []
