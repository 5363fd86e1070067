"""Errors of the local cache: each carries one line a person can act on.

None of them ever includes a record's value, a key or a passphrase.
"""

from __future__ import annotations


class CacheError(Exception):
    """The local cache could not do what was asked; the message is one clear line."""


class WrongPassphrase(CacheError):
    """The passphrase does not unlock this user's cache key."""

    def __init__(self, message: str = "wrong passphrase for the local cache") -> None:
        super().__init__(message)


class CacheCorrupt(CacheError):
    """The cache file is damaged or is not a cache encrypted with this user's key."""


class DiskFull(CacheError):
    """The disk is full; the change was not saved (everything committed before is intact)."""


def describe(exc: BaseException) -> CacheError:
    """Turn a SQLite/SQLCipher driver error into one of ours, with a one-line message."""
    if isinstance(exc, CacheError):
        return exc
    orig = getattr(exc, "orig", None) or exc
    text = str(orig).splitlines()[0] if str(orig) else type(orig).__name__
    low = text.lower()
    if "not a database" in low or "malformed" in low or "encrypted" in low:
        return CacheCorrupt(
            "the local cache file is damaged or was not written with this key; "
            "sign out with wipe to start a fresh cache"
        )
    if "disk is full" in low or "database or disk is full" in low:
        return DiskFull("the disk is full: the change was not saved (earlier work is safe)")
    if "disk i/o" in low or "unable to open" in low or "readonly" in low:
        return CacheError(f"the local cache could not be written: {text}")
    if "locked" in low or "busy" in low:
        return CacheError("the local cache is busy (another assistant-tui is using it?)")
    return CacheError(f"local cache error: {text}")


__all__ = ["CacheCorrupt", "CacheError", "DiskFull", "WrongPassphrase", "describe"]
