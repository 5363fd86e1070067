"""Agent presence: assistants and supervisors set their own state."""

from __future__ import annotations

from datetime import datetime

import pytest

from central_api.models import Presence
from tests.api.platform_fixtures import Platform, platform

__all__ = ["platform"]


def _put(p: Platform, role: str, state: str) -> dict[str, str]:
    response = p.client.put("/v1/presence", json={"state": state}, headers=p.headers(role))
    assert response.status_code == 200, response.text
    body: dict[str, str] = response.json()
    return body


@pytest.mark.parametrize("state", ["available", "on-call", "wrap-up", "break", "offline"])
def test_every_state_is_accepted(platform: Platform, state: str) -> None:
    body = _put(platform, "assistant", state)
    assert body["state"] == state
    assert body["user_id"] == platform.users["assistant"].id
    with platform.session() as session:
        row = session.get(Presence, platform.users["assistant"].id)
        assert row is not None
        assert row.state == state


def test_since_marks_when_the_state_began(platform: Platform) -> None:
    first = _put(platform, "supervisor", "available")
    same = _put(platform, "supervisor", "available")
    assert same["since"] == first["since"]  # repeating a state does not restart it
    changed = _put(platform, "supervisor", "break")
    assert datetime.fromisoformat(changed["since"]) >= datetime.fromisoformat(first["since"])
    assert changed["state"] == "break"


def test_each_user_has_their_own_state(platform: Platform) -> None:
    _put(platform, "assistant", "on-call")
    _put(platform, "supervisor", "break")
    with platform.session() as session:
        states = {row.user_id: row.state for row in session.query(Presence)}
    assert states == {
        platform.users["assistant"].id: "on-call",
        platform.users["supervisor"].id: "break",
    }


@pytest.mark.parametrize("role", ["trainer", "admin"])
def test_other_roles_are_403(platform: Platform, role: str) -> None:
    response = platform.client.put(
        "/v1/presence", json={"state": "available"}, headers=platform.headers(role)
    )
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "forbidden"


def test_presence_needs_a_token(platform: Platform) -> None:
    response = platform.client.put("/v1/presence", json={"state": "available"})
    assert response.status_code == 401
