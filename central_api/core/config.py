"""Server settings (pydantic-settings, env prefix `ASSISTANT_API_`).

`ASSISTANT_API_DB` stands for `--db`; with neither, the server keeps an SQLite
file in the user's data directory, so `assistant-api serve` works out of the box.
"""

from __future__ import annotations

from pathlib import Path

from platformdirs import user_data_path
from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

APP_NAME = "assistant-api"


def default_db_url() -> str:
    path: Path = user_data_path(APP_NAME) / "central.db"
    return f"sqlite:///{path}"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="ASSISTANT_API_", extra="ignore")

    db: str = Field(default_factory=default_db_url)
    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=0, le=65535)

    # Sessions (DESIGN: idle 30 min, absolute 12 h).
    token_idle_minutes: int = Field(default=30, gt=0)
    token_absolute_hours: int = Field(default=12, gt=0)
    # Failed logins for one account before it is locked, and for how long.
    max_failed_logins: int = Field(default=5, gt=0)
    lockout_minutes: int = Field(default=15, gt=0)
    # Failed sign-ins (unknown names and wrong passwords) from one source address per
    # lockout window before that address is held (429) for a window.
    max_failed_logins_per_source: int = Field(default=100, gt=0)
    # Wrong webhook keys from one source address per 15 minutes before it is held (429).
    max_webhook_failures_per_source: int = Field(default=20, gt=0)
    # Failed set-up code redemptions (`POST /v1/auth/setup`) per source address, and per
    # username, per lockout window before that address or name is held (429).
    max_failed_setups: int = Field(default=10, gt=0)
    # Interactive API docs (Swagger UI at /v1/docs, assets served from this server,
    # never a CDN). Off by default; the demo turns them on. The JSON schema
    # (/v1/openapi.json) is always served.
    docs: bool = False
    # Retry-After (seconds) on the 503 answered when the disk is full.
    disk_full_retry_after_seconds: int = Field(default=60, gt=0)
    # Task leases (used by the task routes).
    lease_minutes: int = Field(default=15, gt=0)
    # Threads running the synchronous routes (anyio's threadpool; its default is 40).
    worker_threads: int = Field(default=16, ge=2, le=256)
    # The live event stream (GET /v1/events): heartbeat comment every N seconds (each
    # beat also re-checks the stream's token), events buffered per stream before it
    # overflows into one `resync`, recent records kept for Last-Event-ID replay, and
    # open streams per user (per process) before a 429.
    events_heartbeat_seconds: float = Field(default=15.0, gt=0, le=3600)
    events_buffer_size: int = Field(default=256, ge=1, le=100_000)
    events_ring_size: int = Field(default=4096, ge=1, le=1_000_000)
    events_stream_limit: int = Field(default=5, ge=1, le=1000)
    # Session mirror flood guard (per user, per process): batches a second and burst.
    # A workspace sends at most 4 batches a second (one diff every 0.25 s).
    mirror_batches_per_second: float = Field(default=10.0, gt=0)
    mirror_burst: int = Field(default=30, ge=1)
    # The address telephony providers call us at (`https://api.example.org`), when a
    # proxy stands in front: their request signature covers the URL they called.
    # Unset: the URL of the request as it reached us.
    public_url: str | None = None

    @field_validator("db")
    @classmethod
    def _path_means_sqlite(cls, value: str) -> str:
        """A bare file path stands for an SQLite database at that path."""
        if "://" in value:
            return value
        return f"sqlite:///{Path(value).expanduser().resolve()}"
