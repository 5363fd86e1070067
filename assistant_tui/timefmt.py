"""How times are shown: in the practice's zone, with the zone named.

Stdlib `zoneinfo` only, so drawing 40 queue rows never pays for pendulum.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

DUE_SOON = timedelta(hours=1)


@lru_cache(maxsize=64)
def zone(name: str) -> ZoneInfo:
    return ZoneInfo(name)


def local(at: datetime, tz: str) -> datetime:
    return at.astimezone(zone(tz))


def clock(at: datetime, tz: str) -> str:
    """'Fri 27 Nov 09:04 EST' in the practice's zone."""
    return local(at, tz).strftime("%a %d %b %H:%M %Z")


def when(at: datetime, tz: str) -> str:
    """'Fri 27 Nov 10:00 EST (America/New_York)': a due, with its zone spelled out."""
    return f"{clock(at, tz)} ({tz})"


def short(at: datetime | None, tz: str, now: datetime) -> str:
    """'14:30' today, 'Sat 09:00' within a week, '03 Dec' beyond."""
    if at is None:
        return "—"
    here = local(at, tz)
    today = local(now, tz)
    if here.date() == today.date():
        return here.strftime("%H:%M")
    if abs((here.date() - today.date()).days) < 7:
        return here.strftime("%a %H:%M")
    return here.strftime("%d %b")


def countdown(due: datetime, now: datetime) -> str:
    """Time left to a due, compact: '45m', '3h05m', '2d04h', '123d' (no hours from 100
    days on, so it never needs more than 7 cells below 100,000 days); negative when overdue."""
    seconds = int((due - now).total_seconds())
    sign = "-" if seconds < 0 else ""
    seconds = abs(seconds)
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes = rest // 60
    if days >= 100:
        return f"{sign}{days}d"
    if days:
        return f"{sign}{days}d{hours:02d}h"
    if hours:
        return f"{sign}{hours}h{minutes:02d}m"
    return f"{sign}{minutes}m"


def utcnow() -> datetime:
    return datetime.now(UTC)
