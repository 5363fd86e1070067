"""Workspace settings: defaults < TOML file < `ASSISTANT_TUI_*` environment < arguments.

The TOML file is the one `locations.config_file()` names at the moment settings
are built, so a test (or a user) can point `ASSISTANT_TUI_CONFIG` at another file.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import Field, ValidationError, field_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from assistant_tui import locations

MAX_IDLE_LOCK_MINUTES = 15


class TuiSettings(BaseSettings):
    """What a user may tune; everything else is policy and lives in code."""

    model_config = SettingsConfigDict(env_prefix="ASSISTANT_TUI_", extra="ignore")

    # binding id ("queue.filter") -> key string ("ctrl+f" or "f,ctrl+f")
    keymap: dict[str, str] = {}
    # Minutes without a key before PHI is hidden; the privacy rule caps it at 15.
    idle_lock_minutes: Annotated[float, Field(gt=0)] = 5
    retention_days: Annotated[int, Field(ge=1, le=365)] = 14
    theme: str = "textual-dark"

    @field_validator("idle_lock_minutes")
    @classmethod
    def _clamp_idle(cls, minutes: float) -> float:
        # Clamped rather than rejected: a too-long value is a policy breach,
        # not a reason to refuse to start.
        return min(minutes, MAX_IDLE_LOCK_MINUTES)

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        toml = TomlConfigSettingsSource(settings_cls, toml_file=locations.config_file())
        return (init_settings, env_settings, toml)


def load_settings_or_defaults() -> tuple[TuiSettings, str | None]:
    """The user's settings, or the defaults and a one-line reason when they are unusable.

    A broken config file must not keep an assistant out of their queue; the
    workspace starts with defaults and says what was wrong.
    """
    try:
        return TuiSettings(), None
    except ValidationError as error:
        first = error.errors()[0]
        where = ".".join(str(part) for part in first["loc"]) or "config"
        problem = f"{where}: {first['msg']}"
    except (OSError, ValueError) as error:  # unreadable file, TOML syntax error
        problem = str(error).splitlines()[0] if str(error) else type(error).__name__
    path = locations.config_file()
    return TuiSettings.model_construct(), f"Config {path} not used ({problem}); using defaults."
