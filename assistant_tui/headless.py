"""`assistant-tui sync`: sign in, unlock the cache, sync once, print the status.

For scripts and tests, so it never imports Textual. Secrets come from
`ASSISTANT_TUI_PASSWORD` / `ASSISTANT_TUI_PASSPHRASE`, or a no-echo prompt on
a terminal; they are never printed. Every failure is one line on stderr.

Exit codes: 0 synced and online; 1 offline or the sync round reported an
error (the status is still printed); 2 usage (missing server, user or
secrets); 3 the local cache (wrong passphrase, damaged file, full disk);
4 sign-in refused.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import getpass
import json
import os
import sys
from typing import Any

from assistant_tui import locations

EXIT_OK, EXIT_SYNC, EXIT_USAGE, EXIT_CACHE, EXIT_AUTH = 0, 1, 2, 3, 4


class _Fail(Exception):
    def __init__(self, message: str, code: int) -> None:
        super().__init__(message)
        self.code = code


def _secret(env: str, prompt: str) -> str:
    value = os.environ.get(env)
    if value:
        return value
    if sys.stdin.isatty():
        return getpass.getpass(prompt)
    raise _Fail(f"set {env} (no terminal to ask on)", EXIT_USAGE)


def _status_lines(status: dict[str, Any]) -> str:
    return "\n".join(
        [
            f"online:          {'yes' if status['online'] else 'no'}",
            f"tasks:           {status['tasks']}",
            f"outbox depth:    {status['outbox_depth']}",
            f"needs attention: {status['needs_attention']}",
            f"last sync:       {status['last_sync'] or 'never'}",
            *([f"last error:      {status['last_error']}"] if status["last_error"] else []),
        ]
    )


async def _sync(args: argparse.Namespace, server: str, user: str) -> tuple[dict[str, Any], int]:
    from backend_client import ApiClient
    from backend_client.errors import ApiError, ClientError, Offline, Unauthorized
    from local_cache import CacheError, LocalCache, SyncEngine

    password = _secret("ASSISTANT_TUI_PASSWORD", f"password for {user}: ")
    passphrase = _secret("ASSISTANT_TUI_PASSPHRASE", "cache passphrase: ")
    try:
        data = locations.data_dir(getattr(args, "data_dir", None))
    except OSError as exc:
        where = exc.filename or getattr(args, "data_dir", None) or "the data directory"
        raise _Fail(f"cannot use the data directory {where}: {exc.strerror}", EXIT_USAGE) from None
    # Unlock first: a wrong passphrase should not cost a sign-in (or a lockout count).
    try:
        cache = await asyncio.to_thread(LocalCache.open, data, user, passphrase)
    except CacheError as exc:
        raise _Fail(str(exc), EXIT_CACHE) from None
    try:
        try:
            client_cm = ApiClient(server, ca_file=getattr(args, "ca_file", None))
        except ClientError as exc:
            raise _Fail(str(exc), EXIT_USAGE) from None
        async with client_cm as client:
            try:
                await client.login(user, password)
            except Unauthorized:
                raise _Fail("sign-in refused: wrong username or password", EXIT_AUTH) from None
            except Offline:
                raise _Fail(f"offline: {server} cannot be reached", EXIT_SYNC) from None
            except ApiError as exc:
                raise _Fail(f"sign-in refused: {exc.status} {exc.message}", EXIT_AUTH) from None
            status = await SyncEngine(cache, client).sync_once()
            with contextlib.suppress(ClientError):  # the token expires on its own
                await client.logout()
    finally:
        await asyncio.to_thread(cache.close)
    code = EXIT_OK if status.online and status.last_error is None else EXIT_SYNC
    return status.as_json(), code


def run_sync(args: argparse.Namespace) -> int:
    """Entry point of `assistant-tui sync`; returns the process exit code."""
    server = getattr(args, "sub_server", None) or getattr(args, "server", None)
    user = getattr(args, "sub_user", None) or getattr(args, "user", None)
    if not server or not user:
        print("assistant-tui sync: --server and --user are required", file=sys.stderr)
        return EXIT_USAGE
    try:
        status, code = asyncio.run(_sync(args, server, user))
    except _Fail as exc:
        print(f"assistant-tui sync: {exc}", file=sys.stderr)
        return exc.code
    except KeyboardInterrupt:
        print("assistant-tui sync: interrupted", file=sys.stderr)
        return 130
    if getattr(args, "json", False):
        print(json.dumps(status))
    else:
        print(_status_lines(status))
    return code


__all__ = ["run_sync"]
