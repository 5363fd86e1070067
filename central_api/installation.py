"""Secrets unique to one installation, kept in its database.

Each is generated from `secrets` (a cryptographic source) the first time it is
needed (the migration that adds the table generates the cursor key), never
derived from a constant in the source or from the seeder's fixed random seed.
They are read once per engine and cached.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import secrets
import threading
import weakref

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from central_api.db import begin_read
from central_api.errors import ApiError
from central_api.models import InstallationSecret, utcnow
from central_api.upsert import upsert

CURSOR_KEY = "cursor"

_cache: weakref.WeakKeyDictionary[Engine, dict[str, bytes]] = weakref.WeakKeyDictionary()
_lock = threading.Lock()


def secret(session: Session, name: str = CURSOR_KEY) -> bytes:
    """The installation's secret `name` (32 random bytes) for the database behind `session`.

    Read once per engine (a pure read on its own connection, so the caller's
    transaction and SQLite's write lock are not touched) and cached; `ensure`
    (run at migrate and at serve) makes sure it exists.
    """
    engine = session.get_bind()
    assert isinstance(engine, Engine)
    with _lock:
        known = _cache.get(engine)
        if known is not None and name in known:
            return known[name]
    with Session(engine) as own:
        begin_read(own)
        value = own.scalar(select(InstallationSecret.value).where(InstallationSecret.name == name))
        own.commit()
    if value is None:
        value = _create(engine, name)
    key = bytes.fromhex(value)
    with _lock:
        _cache.setdefault(engine, {})[name] = key
    return key


def ensure(engine: Engine, names: tuple[str, ...] = (CURSOR_KEY,)) -> None:
    """Create every secret in `names` that this installation does not have yet.

    Concurrent first runs (two processes starting on one new database) agree: the
    row is inserted with ON CONFLICT DO NOTHING, so the first one wins.
    """
    for name in names:
        value = _create(engine, name)
        with _lock:
            _cache.setdefault(engine, {})[name] = bytes.fromhex(value)


def _create(engine: Engine, name: str) -> str:
    with Session(engine) as own:
        upsert(
            own,
            InstallationSecret,
            {"name": name, "value": secrets.token_hex(32), "created_at": utcnow()},
            conflict=["name"],
        )
        value = own.scalar(select(InstallationSecret.value).where(InstallationSecret.name == name))
        own.commit()
    assert value is not None
    return value


def forget_cached(engine: Engine) -> None:
    """Drop what was read for `engine` (after a secret is rotated in its database)."""
    with _lock:
        _cache.pop(engine, None)


# --- signed cursors ---------------------------------------------------------------
#
# A cursor is opaque and unforgeable: `<purpose>.<seq>.<mac>` in URL-safe base64,
# the MAC an HMAC-SHA256 (first 128 bits) under the installation's cursor key, so
# a client can neither mint one nor move one to another feed or another server.
# Cursors from before this scheme (signed with a key that was a constant in the
# source) are refused like any other forgery: 400 `bad-cursor`.

_CURSOR_VERSION = "c2"
MAX_CURSOR_LENGTH = 200
MAX_SEQ = 2**63 - 1  # what a BIGINT sequence can hold


def _mac(key: bytes, purpose: str, seq: int) -> str:
    message = f"{_CURSOR_VERSION}.{purpose}.{seq}".encode()
    return hmac.new(key, message, hashlib.sha256).hexdigest()[:32]


def encode_cursor(session: Session, purpose: str, seq: int) -> str:
    """A signed cursor for position `seq` (>= 0) of the feed named `purpose`."""
    mac = _mac(secret(session), purpose, seq)
    raw = f"{_CURSOR_VERSION}.{purpose}.{seq}.{mac}".encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(session: Session, purpose: str, cursor: str | None) -> int:
    """The position a cursor stands for; a missing or empty cursor is 0 (the beginning).

    Raises ApiError 400 `bad-cursor` for anything this installation did not issue for
    `purpose` (edited, forged, from another installation or feed, or too long).
    """
    if not cursor:
        return 0
    bad = ApiError(400, "bad-cursor", "the cursor is not one this server issued")
    if len(cursor) > MAX_CURSOR_LENGTH:
        raise bad
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode("ascii")
    except (binascii.Error, ValueError, UnicodeDecodeError):
        raise bad from None
    parts = raw.split(".")
    if (
        len(parts) != 4
        or parts[0] != _CURSOR_VERSION
        or parts[1] != purpose
        or not parts[2].isascii()
        or not parts[2].isdigit()
        or len(parts[2]) > 19
    ):
        raise bad
    seq = int(parts[2])
    if seq > MAX_SEQ or not hmac.compare_digest(parts[3], _mac(secret(session), purpose, seq)):
        raise bad
    return seq
