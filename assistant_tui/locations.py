"""Every directory the client uses, resolved in one place (platformdirs).

`ASSISTANT_TUI_DATA_DIR` overrides the data directory so tests and headless runs
never touch the user's real one.
"""

from __future__ import annotations

import os
from pathlib import Path

from platformdirs import user_config_path, user_data_path

APP_NAME = "assistant-tui"


def data_dir(override: str | os.PathLike[str] | None = None) -> Path:
    """Where the encrypted cache and its key material live."""
    chosen = override or os.environ.get("ASSISTANT_TUI_DATA_DIR")
    path = Path(chosen) if chosen else user_data_path(APP_NAME)
    path.mkdir(parents=True, exist_ok=True, mode=0o700)
    return path


def config_file() -> Path:
    """The TOML config file; `ASSISTANT_TUI_CONFIG` points at another one."""
    chosen = os.environ.get("ASSISTANT_TUI_CONFIG")
    return Path(chosen) if chosen else user_config_path(APP_NAME) / "config.toml"
