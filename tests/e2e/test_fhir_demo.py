"""End to end: a FHIR Bundle of appointments reaches the demo's workspace live; a second
Bundle marks one a no-show, and the practice's no-show figure (`GET /v1/metrics`,
`no-show-trend`) moves: one more no-show among the appointments with an outcome.
The stored status history behind the figure is checked in the demo's database too.
"""

from __future__ import annotations

import json
import os
import sys
import uuid
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from central_api import models
from central_api.db import make_engine, make_session_factory
from tests.e2e.test_demo import api_login, type_after_focus_moves, wait_for_file
from tests.e2e.tmux import Tmux

pytestmark = [pytest.mark.e2e, pytest.mark.usefixtures("tmux_available")]

SYSTEM = "urn:example:ehr"


@pytest.fixture
def quiet_demo(tmp_path: Path) -> Iterator[tuple[Tmux, Path]]:
    """The demo without its simulated phone system (only our Bundles add work)."""
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    tmux = Tmux(tmp_path)
    env = {
        "ASSISTANT_TUI_DATA_DIR": str(data_dir),
        "ASSISTANT_TUI_CONFIG": str(tmp_path / "no-config.toml"),
        "PATH": os.environ.get("PATH", ""),
        "HOME": str(tmp_path),
        "TERM": "xterm-256color",
        "COLORTERM": "truecolor",
    }
    tmux.start([sys.executable, "-m", "assistant_tui.cli", "demo", "--missed-call-every", "0"], env)
    try:
        yield tmux, data_dir / "demo"
    finally:
        tmux.kill()


def _appointment(key: str, start: datetime, status: str) -> dict[str, Any]:
    return {
        "resourceType": "Appointment",
        "identifier": [{"system": SYSTEM, "value": f"appt-{key}"}],
        "status": status,
        "start": start.isoformat().replace("+00:00", "Z"),
        "participant": [
            {
                # By the patient's identifier: the second Bundle has no Patient entry.
                "actor": {
                    "type": "Patient",
                    "identifier": {"system": SYSTEM, "value": f"pat-{key}"},
                },
                "status": "needs-action",
            },
        ],
    }


def _bundle(names: dict[str, str], start: datetime, status: str) -> dict[str, Any]:
    entries: list[dict[str, Any]] = []
    for key, family in names.items():
        entries.append(
            {
                "fullUrl": f"urn:uuid:{key}",
                "resource": {
                    "resourceType": "Patient",
                    "identifier": [{"system": SYSTEM, "value": f"pat-{key}"}],
                    "name": [{"family": family, "given": ["Ada"]}],
                    "telecom": [{"system": "phone", "value": "(646) 555-0150"}],
                },
            }
        )
        entries.append({"resource": _appointment(key, start, status)})
    return {"resourceType": "Bundle", "type": "transaction", "entry": entries}


def _no_show_figure(
    client: httpx.Client, practice: str, first_day: date, last_day: date
) -> dict[str, Any]:
    reply = client.get(
        "/v1/metrics",
        params={
            "practice_id": practice,
            "from": first_day.isoformat(),
            "to": last_day.isoformat(),
        },
    )
    assert reply.status_code == 200, reply.text
    figure: dict[str, Any] = next(f for f in reply.json()["figures"] if f["id"] == "no-show-trend")
    return figure


def test_imported_appointments_reach_the_workspace_and_a_noshow_moves_the_figure(
    quiet_demo: tuple[Tmux, Path],
) -> None:
    tmux, demo_dir = quiet_demo
    info = wait_for_file(demo_dir / "demo.json")
    tmux.wait_for(lambda s: "● online" in s or "● live" in s, "online", within=60)
    practice = info["practice_id"]
    users = info["seed"]["users"]
    # New work goes to available assistants first: make the demo's the only one.
    for user in users:
        if user["role"] == "assistant" and practice in user["practice_ids"]:
            state = "available" if user["username"] == info["username"] else "offline"
            with api_login(info["api_url"], user["username"], info["password"]) as client:
                client.put("/v1/presence", json={"state": state}).raise_for_status()
    admin = next(u["username"] for u in users if u["role"] == "admin")
    # Filter the queue to the names about to be imported (new routine work sorts low).
    tmux.wait_text("Attempts", within=30)
    tmux.send("/")
    type_after_focus_moves(tmux, "f", "hir", lambda typed: f"filter: {typed}")
    tmux.send("Enter")
    names = {str(uuid.uuid4()): "Fhirone", str(uuid.uuid4()): "Fhirtwo"}
    start = datetime.now(UTC).replace(microsecond=0) + timedelta(hours=30)

    # Local days around the appointments (30 h ahead) on any practice clock.
    first_day = (start - timedelta(days=3)).date()
    last_day = (start + timedelta(days=2)).date()

    with api_login(info["api_url"], admin, info["password"]) as client:
        before = _no_show_figure(client, practice, first_day, last_day)
        booked = client.post(
            "/v1/fhir", params={"practice": practice}, json=_bundle(names, start, "booked")
        )
        assert booked.status_code == 200, booked.text
        # The confirmation tasks arrive in the running workspace, live.
        tmux.wait_text("Fhirone, Ada", within=30)
        tmux.wait_text("Fhirtwo, Ada", within=30)

        first = next(iter(names))
        noshow = {
            "resourceType": "Bundle",
            "type": "batch",
            "entry": [{"resource": _appointment(first, start, "noshow")}],
        }
        marked = client.post("/v1/fhir", params={"practice": practice}, json=noshow)
        assert marked.status_code == 200, marked.text
        assert "Appointment.updated: 1" in json.dumps(marked.json())
        after = _no_show_figure(client, practice, first_day, last_day)
        # The same Bundle again is no second no-show.
        again = client.post("/v1/fhir", params={"practice": practice}, json=noshow)
        assert again.status_code == 200, again.text
        assert _no_show_figure(client, practice, first_day, last_day)["values"] == after["values"]

    # The figure moved: one more no-show, one more appointment with an outcome.
    noshows_before = (before.get("values") or {}).get("noshow") or 0
    known_before = (before.get("values") or {}).get("with_outcome") or 0
    assert after["status"] == "ok", after
    assert after["values"]["noshow"] == noshows_before + 1
    assert after["values"]["with_outcome"] == known_before + 1
    assert after["value"] == pytest.approx((noshows_before + 1) / (known_before + 1))

    engine = make_engine(f"sqlite:///{demo_dir / 'api.sqlite3'}")
    try:
        with make_session_factory(engine)() as s:
            ext = s.get(models.ExternalId, (practice, "appointment", SYSTEM, f"appt-{first}"))
            assert ext is not None
            history = s.scalars(
                select(models.AppointmentStatusChange.status)
                .where(models.AppointmentStatusChange.appointment_id == ext.record_id)
                .order_by(models.AppointmentStatusChange.seq)
            ).all()
            confirmation = s.scalars(
                select(models.Task).where(
                    models.Task.focus_id == ext.record_id,
                    models.Task.workflow == "appointment-confirmation",
                )
            ).one()
    finally:
        engine.dispose()
    assert list(history) == ["booked", "noshow"]
    assert confirmation.status == "cancelled"
    assert "Traceback" not in tmux.capture()
