"""A practice's stored state ↔ the practice file's data.

`config_for(file)` is what `apply` stores in `Practice.config`; `export_data`
reads a practice back into the shape of `PracticeFile` (a dict `render` writes),
so that export → apply is a no-op: both go through the same functions.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date, time, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from central_api import models
from central_api.supervision.access import settings_for
from followup_core.enums import Channel, WorkflowId
from followup_core.practice_file import WEEKDAYS, PracticeFile, ScriptFile
from followup_core.scripts import DEFAULT_VOICEMAIL
from followup_core.workflows import WORKFLOWS, AttemptPolicy, Workflow, for_practice

APPROVAL_KEYS = ("approved_by", "approved_at")


def _minutes(value: Any) -> int:
    return int(value.total_seconds() // 60)


def default_workflows() -> list[dict[str, Any]]:
    """Every workflow with the product's defaults (a practice stored before files existed)."""
    out = []
    for wid in WorkflowId:
        wf = WORKFLOWS[wid]
        out.append(
            {
                "id": wid.value,
                "response_target_minutes": _minutes(wf.response_target),
                "max_attempts": wf.policy.max_attempts,
                "min_spacing_minutes": max(15, _minutes(wf.policy.min_spacing)),
                "calling_window": f"{wf.policy.window_start:%H:%M}-{wf.policy.window_end:%H:%M}",
            }
        )
    return out


def enabled_workflows(config: dict[str, Any]) -> frozenset[str]:
    """The workflow ids a practice runs (all of them for a config without the key)."""
    rows = config.get("workflows")
    if not isinstance(rows, list):
        return frozenset(w.value for w in WorkflowId)
    return frozenset(str(r["id"]) for r in rows if isinstance(r, dict) and "id" in r)


def workflow_setting(config: dict[str, Any], workflow: str) -> dict[str, Any] | None:
    """The practice's settings for one workflow (response target, attempt policy)."""
    rows = config.get("workflows")
    if not isinstance(rows, list):
        return None
    return next((r for r in rows if isinstance(r, dict) and r.get("id") == workflow), None)


def config_for(pf: PracticeFile) -> dict[str, Any]:
    """`Practice.config` for a file (JSON: dates as ISO strings)."""
    cal = pf.holidays
    return {
        "business_hours": pf.business_hours(),
        "holidays": [d.date.isoformat() for d in cal.own],
        "holiday_names": {d.date.isoformat(): d.name for d in cal.own},
        "holiday_calendar": (
            {"name": cal.calendar, "only": list(cal.only) if cal.only is not None else None}
            if cal.calendar
            else None
        ),
        "escalation_contacts": [c.model_dump(mode="json") for c in pf.escalation],
        "emergency_instruction": pf.emergency_instruction,
        "red_flag_phrases": list(pf.red_flag_phrases),
        "workflows": [w.model_dump(mode="json") for w in pf.workflows],
        "channels": [str(c) for c in pf.channels],
        "voicemail": pf.voicemail,
    }


def comparable_body(body: dict[str, Any], workflow: str) -> dict[str, Any]:
    """A stored script body without its approval, normalised as the file writes it."""
    content = {k: v for k, v in body.items() if k not in APPROVAL_KEYS}
    return ScriptFile.model_validate({"workflow": workflow, **content}).body()


def latest_scripts(session: Session, practice_id: str) -> dict[str, models.Script]:
    """The highest version of each workflow's script, draft or not."""
    out: dict[str, models.Script] = {}
    rows = session.scalars(
        select(models.Script)
        .where(models.Script.practice_id == practice_id)
        .order_by(models.Script.workflow, models.Script.version)
    )
    for row in rows:
        out[row.workflow] = row
    return out


def members(session: Session, practice_id: str) -> list[models.User]:
    return list(
        session.scalars(
            select(models.User)
            .join(models.UserPractice, models.UserPractice.user_id == models.User.id)
            .where(models.UserPractice.practice_id == practice_id)
            .order_by(models.User.username)
        )
    )


def export_data(session: Session, practice: models.Practice) -> dict[str, Any]:
    """The practice as file data (the shape `practice_toml.render` writes)."""
    cfg = dict(practice.config or {})
    hours: dict[str, list[str]] = {}
    for row in cfg.get("business_hours", []):
        hours.setdefault(WEEKDAYS[int(row["weekday"]) - 1], []).append(
            f"{row['opens']}-{row['closes']}"
        )
    names = cfg.get("holiday_names") or {}
    spec = cfg.get("holiday_calendar") or {}
    holidays: dict[str, Any] = {
        "own": [
            {"date": date.fromisoformat(d), "name": names.get(d, "Closed")}
            for d in cfg.get("holidays", [])
        ]
    }
    if spec.get("name"):
        holidays = {"calendar": spec["name"], "only": spec.get("only"), **holidays}
    workflows = cfg.get("workflows")
    if not isinstance(workflows, list):
        workflows = default_workflows()
    enabled = [w["id"] for w in workflows]
    scripts = latest_scripts(session, practice.id)
    supervision = settings_for(session, [practice.id])[practice.id]
    return {
        "emergency_instruction": cfg.get("emergency_instruction", ""),
        "red_flag_phrases": list(cfg.get("red_flag_phrases", [])),
        "channels": list(cfg.get("channels", [c.value for c in Channel])),
        "voicemail": cfg.get("voicemail", DEFAULT_VOICEMAIL),
        "practice": {
            "id": practice.id,
            "name": practice.name,
            "timezone": practice.timezone,
            "phone": practice.phone,
            "training": bool(practice.is_training),
        },
        "hours": {day: hours[day] for day in WEEKDAYS if day in hours},
        "holidays": holidays,
        "supervision": {
            "tell_observed": supervision.tell_observed,
            "thresholds": {str(k): list(v) for k, v in supervision.thresholds.items()},
        },
        "workflows": [dict(w) for w in workflows],
        "escalation": [dict(c) for c in cfg.get("escalation_contacts", [])],
        "scripts": [
            {"workflow": wid, **comparable_body(scripts[wid].body, wid)}
            for wid in enabled
            if wid in scripts
        ],
        "staff": [
            {"username": u.username, "role": u.role, "display_name": u.display_name}
            for u in members(session, practice.id)
        ],
    }


def practice_channels(config: dict[str, Any] | None) -> frozenset[Channel] | None:
    """The channels a practice uses (its file's `channels`); None: every channel."""
    rows = (config or {}).get("channels")
    if not isinstance(rows, list):
        return None
    return frozenset(Channel(c) for c in rows)


def practice_workflow(config: dict[str, Any] | None, workflow: WorkflowId) -> Workflow:
    """The catalogue's workflow with the practice's response target and attempt policy
    (max attempts, minimum spacing, calling window) and only the practice's channels
    (`followup_core.workflows.for_practice`); the catalogue's own without them."""
    base = for_practice(WORKFLOWS[workflow], practice_channels(config))
    setting = workflow_setting(config or {}, workflow.value)
    if setting is None:
        return base
    opens, closes = (time.fromisoformat(t) for t in setting["calling_window"].split("-"))
    policy = AttemptPolicy(
        max_attempts=int(setting["max_attempts"]),
        min_spacing=timedelta(minutes=int(setting["min_spacing_minutes"])),
        window_start=opens,
        window_end=closes,
    )
    return replace(
        base,
        policy=policy,
        response_target=timedelta(minutes=int(setting["response_target_minutes"])),
    )
