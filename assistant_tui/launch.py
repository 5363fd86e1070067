"""`assistant-tui --server URL`: sign in, unlock the cache, open the workspace.

Start-up is its own small Textual app (`StartApp`: the sign-in screen, then the
passphrase screen) that exits with the open cache; the workspace app then runs
in the same event loop with the same long-lived API client. Keeping the two
apart means the workspace never holds a half-signed-in state.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import sys
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

from textual.app import App

from assistant_tui import locations
from assistant_tui.screens.passphrase import Mode, PassphraseScreen
from assistant_tui.screens.sign_in import Authenticate, SignedIn, SignInScreen

if TYPE_CHECKING:
    from local_cache import LocalCache


@dataclass(frozen=True)
class Started:
    cache: LocalCache
    signed_in: SignedIn


def key_exists(data_dir: Path, username: str, keyring_backend: Any = None) -> bool:
    """Whether this user's cache key is on this machine (so: unlock, not create)."""
    from local_cache.keys import KeyStore

    try:
        return bool(KeyStore(data_dir, username, keyring_backend=keyring_backend).exists())
    except Exception:
        # A malformed username or an unreadable directory: no usable key.
        return False


def cache_exists(data_dir: Path, username: str, keyring_backend: Any = None) -> bool:
    """Whether this user has a cache that could be opened offline: the file and its key."""
    from local_cache import cache_path

    return cache_path(data_dir, username).exists() and key_exists(
        data_dir, username, keyring_backend
    )


class StartApp(App[Started]):
    """Sign-in, then the passphrase; exits with the open cache (or None on quit)."""

    TITLE = "assistant-tui"

    def __init__(
        self,
        *,
        server: str,
        authenticate: Authenticate,
        data_dir: Path,
        username: str | None = None,
        keyring_backend: Any = None,
        open_cache: Callable[..., Any] | None = None,
        retention_days: int | None = None,
    ) -> None:
        super().__init__()
        self._retention_days = retention_days
        self.server = server
        self._authenticate = authenticate
        self.data_dir = data_dir
        self._username = username
        self._keyring_backend = keyring_backend
        self._open_cache = open_cache

    def on_mount(self) -> None:
        self.push_screen(
            SignInScreen(
                server=self.server,
                authenticate=self._authenticate,
                offline_cache_exists=self._exists,
                username=self._username,
            ),
            callback=self._signed_in,
        )

    def _exists(self, username: str) -> bool:
        return cache_exists(self.data_dir, username, self._keyring_backend)

    def _opener(self, username: str) -> Callable[[str], Any]:
        if self._open_cache is not None:
            return partial(self._open_cache, self.data_dir, username)
        from local_cache import LocalCache

        return partial(
            LocalCache.open,
            self.data_dir,
            username,
            keyring_backend=self._keyring_backend,
            retention_days=self._retention_days,
        )

    def _signed_in(self, result: SignedIn | None) -> None:
        if result is None:
            self.exit(None)
            return
        has_key = key_exists(self.data_dir, result.username, self._keyring_backend)
        mode: Mode = "unlock" if has_key else "create"
        self.push_screen(
            PassphraseScreen(
                mode=mode, open_cache=self._opener(result.username), username=result.username
            ),
            callback=lambda cache: self.exit(Started(cache, result) if cache else None),
        )


async def _run(args: argparse.Namespace, data_dir: Path) -> int:
    from assistant_tui.app import AssistantApp
    from assistant_tui.config import load_settings_or_defaults
    from backend_client import ApiClient
    from backend_client.errors import ClientError
    from local_cache import SyncEngine

    try:
        client_cm = ApiClient(args.server, ca_file=args.ca_file)
    except ClientError as exc:
        print(f"assistant-tui: {exc}", file=sys.stderr)
        return 2
    # The workspace reports a broken config itself (it loads the settings again);
    # here only the retention period is needed, for the cache it opens.
    settings, _problem = load_settings_or_defaults()
    async with client_cm as client:
        started = await StartApp(
            server=args.server,
            authenticate=client.login,
            data_dir=data_dir,
            username=args.user,
            retention_days=settings.retention_days,
        ).run_async()
        if started is None:
            return 0
        cache = started.cache
        try:
            # Offline: no token, so no sync engine; the workspace works from the cache
            # and the outbox waits for the next signed-in run.
            engine = None if started.signed_in.offline else SyncEngine(cache, client)
            await AssistantApp(cache, sync=engine, user=started.signed_in.user).run_async()
        finally:
            await asyncio.to_thread(cache.close)
            if not started.signed_in.offline:
                with contextlib.suppress(Exception):
                    await client.logout()
    return 0


def run_workspace(args: argparse.Namespace) -> int:
    """Entry point of `assistant-tui --server URL [--user NAME]`."""
    if not getattr(args, "server", None):
        print(
            "assistant-tui: give --server URL to sign in, or run `assistant-tui demo` "
            "to try it on a synthetic practice (see --help)",
            file=sys.stderr,
        )
        return 2
    try:
        data_dir = locations.data_dir(getattr(args, "data_dir", None))
    except OSError as exc:
        where = exc.filename or "the data directory"
        print(
            f"assistant-tui: cannot use the data directory {where}: {exc.strerror}", file=sys.stderr
        )
        return 1
    try:
        return asyncio.run(_run(args, data_dir))
    except KeyboardInterrupt:
        return 130
