"""Workspace fixtures: a real SQLCipher cache seeded from sync pages, a fixed clock;
and, for the tests of the App against a real central API, `live_api`: a real
`assistant-api serve` (uvicorn, SQLite) on loopback over a private copy of a seeded
database (seeded once per test process, copied per test)."""

from __future__ import annotations

import json
import secrets
import sqlite3
from collections.abc import Callable, Iterator
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from textual.widgets import Input

from tests.support.seeded import SqliteTemplate
from tests.support.server import ApiServer
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


# --- a real central API ------------------------------------------------------------


@dataclass(frozen=True)
class LiveApi:
    """A running seeded API: the server, the seed summary, every seeded user's password,
    and the SQLite file behind it (for reading what the server stored)."""

    server: ApiServer
    summary: dict[str, Any]
    password: str
    db_path: Path

    def user(self, username: str) -> dict[str, Any]:
        """The seed summary's entry for `username` (id, role, practice_ids, …)."""
        return next(u for u in self.summary["users"] if u["username"] == username)

    def assistant(self) -> dict[str, Any]:
        """The first seeded assistant who works only in real (not training) practices."""
        training = {p["id"] for p in self.summary["practices"] if p["is_training"]}
        return next(
            u
            for u in self.summary["users"]
            if u["role"] == "assistant" and not set(u["practice_ids"]) & training
        )

    def supervisor_of(self, user: dict[str, Any]) -> dict[str, Any]:
        """A seeded supervisor of one of `user`'s practices."""
        return next(
            u
            for u in self.summary["users"]
            if u["role"] == "supervisor" and set(u["practice_ids"]) & set(user["practice_ids"])
        )

    def webhook_key(self, practice_id: str) -> str:
        """The practice's key for the phone system's webhooks (X-Practice-Key)."""
        return str(
            next(p for p in self.summary["practices"] if p["id"] == practice_id)["webhook_key"]
        )

    def row(self, sql: str, *params: str) -> tuple[Any, ...] | None:
        """The first row of `sql` on the server's database, or None."""
        with closing(sqlite3.connect(self.db_path)) as db:
            found = db.execute(sql, params).fetchone()
        return tuple(found) if found is not None else None


@pytest.fixture(scope="session")
def _seeded_template(tmp_path_factory: pytest.TempPathFactory) -> tuple[SqliteTemplate, str]:
    password = secrets.token_urlsafe(12)
    directory = tmp_path_factory.mktemp("tui-seeded")
    return SqliteTemplate.build(directory, size=100, password=password), password


@pytest.fixture
def live_api(tmp_path: Path, _seeded_template: tuple[SqliteTemplate, str]) -> Iterator[LiveApi]:
    """The seeded API on its own copy of the database (`tmp_path / "api.db"`), background
    triggers off; stopped after the test (a test may kill and restart it)."""
    template, password = _seeded_template
    url = template.copy(tmp_path)
    with ApiServer(url, env={"ASSISTANT_API_TRIGGER_INTERVAL": "0"}) as server:
        yield LiveApi(server, template.summary, password, tmp_path / "api.db")
