"""What the App shell shares with every mode: cache, sync engine, user, settings, clock.

A mode's screen gets one `Services` when it is built and never reaches into the
App for anything else; the App keeps `status` current so a mode opened later
starts from the latest sync status instead of waiting for the next one.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

# Annotations only: importing local_cache pulls in SQLAlchemy.
if TYPE_CHECKING:
    from assistant_tui.config import TuiSettings
    from followup_core.schemas import UserOut
    from local_cache import LocalCache, SyncEngine
    from local_cache.views import SyncStatus


@dataclass
class Services:
    """The shell's shared services.

    `sync` is None when the cache was opened offline (no token, no engine);
    `user` is None then too. `clock` returns the current time as an aware UTC
    datetime (injectable so tests and snapshots see one fixed "now").
    """

    cache: LocalCache
    sync: SyncEngine | None
    user: UserOut | None
    settings: TuiSettings
    clock: Callable[[], datetime]
    status: SyncStatus | None = None

    @property
    def role(self) -> str | None:
        """The signed-in user's role as a string ("assistant", "manager", …), if known."""
        return str(self.user.role) if self.user is not None else None

    @property
    def live(self) -> bool:
        """Whether the server's event stream is connected now (False offline)."""
        return bool(getattr(self.status, "live", False))
