"""Workspace fixtures: a real SQLCipher cache seeded from sync pages, a fixed clock."""

from __future__ import annotations

import json
import secrets
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from textual.widgets import Input

from tests.tui.data import NOW, USER_ID, page

USERNAME = "avery.assistant"


@pytest.fixture(autouse=True)
def _isolated_config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Never read the developer's own config or environment."""
    monkeypatch.setenv("ASSISTANT_TUI_CONFIG", str(tmp_path / "no-config.toml"))
    for name in ("ASSISTANT_TUI_KEYMAP", "ASSISTANT_TUI_IDLE_LOCK_MINUTES"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture(autouse=True)
def _steady_cursor(monkeypatch: pytest.MonkeyPatch) -> None:
    """Freeze the text cursor's blink so snapshots do not depend on timing."""
    monkeypatch.setattr(Input, "_toggle_cursor", lambda self: None)


@pytest.fixture
def passphrase() -> str:
    return secrets.token_urlsafe(6)


@pytest.fixture
def cache(tmp_path: Path, passphrase: str) -> Iterator[Any]:
    from local_cache.cache import LocalCache
    from local_cache.keys import MemoryKeyring

    opened = LocalCache.open(
        tmp_path / "data", USERNAME, passphrase, keyring_backend=MemoryKeyring()
    )
    opened.apply_page(page())
    try:
        yield opened
    finally:
        opened.close()


@pytest.fixture
def make_app(cache: Any) -> Callable[..., Any]:
    from assistant_tui.app import AssistantApp
    from assistant_tui.config import TuiSettings
    from followup_core.enums import Role
    from followup_core.schemas import UserOut

    def make(role: str = "assistant", **settings: Any) -> AssistantApp:
        """The App signed in as a user of `role` over the seeded cache, at NOW."""
        fields = {
            "id": USER_ID,
            "username": USERNAME,
            "display_name": f"Avery {role.title()}",
        }
        if role in {r.value for r in Role}:
            user = UserOut(role=Role(role), **fields)
        else:  # a role this build's enum does not know yet (the client must cope)
            user = UserOut.model_construct(role=role, **fields)
        return AssistantApp(cache, user=user, settings=TuiSettings(**settings), clock=lambda: NOW)

    return make


def outbox(cache: Any, kind: str) -> list[dict[str, Any]]:
    """Bodies of the cache's outbox entries of one kind, in order."""
    return [json.loads(e.body) for e in cache.outbox_entries() if e.kind == kind]
