"""The shared wire value types refuse each kind of bad value the same way everywhere:
in bodies (pydantic models) and in query parameters (FastAPI), with the field named."""

from __future__ import annotations

from typing import Annotated

import pytest
from fastapi import FastAPI, Query
from fastapi.testclient import TestClient
from pydantic import ValidationError

from central_api.errors import install_error_handlers
from followup_core.schemas import (
    INT32_MAX,
    AttemptIn,
    LoginRequest,
    MissedCallIn,
    Timestamp,
    is_id,
)


@pytest.fixture(scope="module")
def query_app() -> TestClient:
    app = FastAPI()
    install_error_handlers(app)

    @app.get("/since")
    def since(since: Annotated[Timestamp, Query()]) -> str:
        return since.isoformat()

    return TestClient(app)


@pytest.mark.parametrize(
    ("value", "status"),
    [
        ("2026-11-30T09:00:00-05:00", 200),
        ("1900-01-01T00:00:00Z", 200),
        ("2200-12-31T23:59:59Z", 200),
        ("0001-01-01T00:00:00Z", 422),
        ("9999-12-31T23:59:59Z", 422),
        ("1764460800", 422),  # Unix time as a string: pydantic would read it as a date
        ("2026-11-30", 422),
        ("2026-11-30T09:00:00", 422),  # no zone
    ],
)
def test_a_date_query_parameter_follows_the_same_rule(
    query_app: TestClient, value: str, status: int
) -> None:
    response = query_app.get("/since", params={"since": value})
    assert response.status_code == status, response.text
    if status == 422:
        assert "since" in response.json()["error"]["message"]


def test_numbers_are_not_timestamps() -> None:
    for value in (0, 1764460800, 1.5, True):
        with pytest.raises(ValidationError) as caught:
            MissedCallIn.model_validate({"caller_phone": "+15555550100", "called_at": value})
        assert caught.value.errors()[0]["loc"] == ("called_at",)


def test_integers_stop_at_int4() -> None:
    base = {
        "id": "6f1c2a4e-0000-4000-8000-000000000001",
        "task_id": "t",
        "channel": "phone",
        "outcome": "no-answer",
        "started_at": "2026-11-27T15:02:11Z",
        "ended_at": "2026-11-27T15:03:40Z",
        "identity_verified": False,
        "next_step": None,
        "notes": "",
        "script_id": None,
        "escalation": None,
    }
    AttemptIn.model_validate({**base, "task_version": INT32_MAX, "script_version": INT32_MAX})
    with pytest.raises(ValidationError) as caught:
        AttemptIn.model_validate({**base, "task_version": INT32_MAX + 1, "script_version": 1})
    assert caught.value.errors()[0]["loc"] == ("task_version",)


@pytest.mark.parametrize("text", ["a\x00b", "\ud800", "x\udfffy"])
def test_unstorable_text_is_refused(text: str) -> None:
    with pytest.raises(ValidationError) as caught:
        LoginRequest.model_validate({"username": text, "password": "p"})
    assert caught.value.errors()[0]["loc"] == ("username",)
    LoginRequest.model_validate({"username": "tab\tand\u00e9", "password": "p"})


def test_what_can_be_an_id() -> None:
    assert is_id("6f1c2a4e-0000-4000-8000-000000000001") and is_id("practice.hudson:1")
    for bad in ("", "x" * 65, "a\x00b", "a/b", "a b", "\u00e9t\u00e9", "-lead", "a\nb"):
        assert not is_id(bad), bad
