"""The cache's data key: 256 random bits, never written anywhere in plaintext.

Where the OS offers a secure keyring (macOS Keychain, Windows Credential
Locker, Secret Service), the data key lives there. Where the active backend is
the fail, null or a plaintext one (a headless Linux box), the data key is
wrapped (AES-256-GCM) with a key derived from the user's local passphrase by
Argon2id. In both modes a passphrase verifier (derived, never the passphrase)
lets the user unlock offline, and the key file records the KDF parameters and
salt so they can be raised later without breaking old files.

Key file: `<data_dir>/keys-<hash of username>.json`, mode 0600, written
atomically (temp file, fsync, rename, fsync of the directory).
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import hmac
import json
import os
import secrets
import tempfile
import unicodedata
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import keyring
import keyring.errors
from argon2.low_level import Type, hash_secret_raw
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from keyring.backend import KeyringBackend
from keyring.backends import chainer, fail, null

from local_cache.errors import CacheCorrupt, CacheError, WrongPassphrase

FORMAT = 1
SERVICE = "assistant-tui"
KEY_BYTES = 32
SALT_BYTES = 16
NONCE_BYTES = 12

MODE_KEYRING = "keyring"
MODE_WRAPPED = "wrapped"


@dataclass(frozen=True)
class KdfParams:
    """Argon2id cost. The default is OWASP's m=46 MiB, t=1, p=1 (2024 cheat sheet)."""

    memory_kib: int = 46 * 1024
    iterations: int = 1
    parallelism: int = 1

    def check(self) -> None:
        # Refuse a tampered file that asks for absurd work (or for none).
        if not (8 * 1024 <= self.memory_kib <= 2 * 1024 * 1024):
            raise CacheCorrupt("the cache key file has an unusable Argon2 memory cost")
        if not (1 <= self.iterations <= 64 and 1 <= self.parallelism <= 16):
            raise CacheCorrupt("the cache key file has unusable Argon2 parameters")


DEFAULT_KDF = KdfParams()


class KeyStoreError(CacheError):
    """The key store could not do what was asked; one line, no secrets."""


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _unb64(text: Any) -> bytes:
    if not isinstance(text, str):
        raise ValueError("expected base64 text")
    return base64.b64decode(text.encode("ascii"), validate=True)


def _hkdf(master: bytes, purpose: bytes) -> bytes:
    return HKDF(
        algorithm=hashes.SHA256(), length=32, salt=None, info=b"assistant-tui/" + purpose
    ).derive(master)


def _derive(passphrase: str, salt: bytes, params: KdfParams) -> tuple[bytes, bytes]:
    """(key-encryption key, verifier) from one Argon2id run, split by HKDF."""
    master = hash_secret_raw(
        # NFC: the same passphrase typed through different input methods is one secret.
        secret=unicodedata.normalize("NFC", passphrase).encode("utf-8"),
        salt=salt,
        time_cost=params.iterations,
        memory_cost=params.memory_kib,
        parallelism=params.parallelism,
        hash_len=32,
        type=Type.ID,
    )
    return _hkdf(master, b"kek"), _hkdf(master, b"verifier")


def backend_is_secure(backend: KeyringBackend) -> bool:
    """Whether storing the data key in this keyring keeps it protected at rest."""
    if isinstance(backend, MemoryKeyring):
        return True
    if isinstance(backend, fail.Keyring | null.Keyring):
        return False
    if isinstance(backend, chainer.ChainerBackend):
        # The chainer stores into its highest-priority member: judge that one.
        members = list(backend.backends)
        return bool(members) and backend_is_secure(members[0])
    if type(backend).__module__.startswith("keyrings.alt"):
        return False  # plaintext or home-made file stores
    try:
        return float(backend.priority) >= 1
    except Exception:
        return False


def _fsync_dir(directory: Path) -> None:
    with contextlib.suppress(OSError):  # not every platform can open a directory
        fd = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def write_atomically(path: Path, data: bytes, *, exclusive: bool = False) -> None:
    """Write `path` (mode 0600) so that a crash leaves the old file or the new one.

    With `exclusive`, the file must not exist yet (FileExistsError otherwise):
    two processes creating a key at once cannot overwrite each other's.
    """
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".keys-", suffix=".tmp")
    try:
        os.fchmod(fd, 0o600)
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        if exclusive:
            os.link(tmp, path)  # atomic create-if-absent
            os.unlink(tmp)
        else:
            os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    _fsync_dir(path.parent)


class KeyStore:
    """One user's data key on this machine. All methods block (Argon2id): call off the UI loop."""

    def __init__(
        self,
        data_dir: Path | str,
        username: str,
        *,
        keyring_backend: KeyringBackend | None = None,
        kdf: KdfParams = DEFAULT_KDF,
    ) -> None:
        if not username:
            raise KeyStoreError("a username is required for the cache key")
        self.data_dir = Path(data_dir)
        self.username = username
        self._backend = keyring_backend
        self._kdf = kdf
        digest = hashlib.sha256(username.encode("utf-8")).hexdigest()[:16]
        self.path = self.data_dir / f"keys-{digest}.json"

    @property
    def backend(self) -> KeyringBackend:
        return self._backend if self._backend is not None else keyring.get_keyring()

    @property
    def mode(self) -> str | None:
        """ "keyring" or "wrapped" for an existing key file, else None."""
        return str(self._read()["mode"]) if self.exists() else None

    def _aad(self, mode: str) -> bytes:
        # Binds the wrapped key to its user and format: a file copied over another
        # user's cannot be decrypted as theirs.
        return f"assistant-tui data key|v{FORMAT}|{mode}|{self.username}".encode()

    # --- public API -----------------------------------------------------------

    def exists(self) -> bool:
        return self.path.is_file()

    def create(self, passphrase: str) -> bytes:
        """Make a new random data key for this user; return it."""
        if not passphrase:
            raise KeyStoreError("the passphrase must not be empty")
        if self.exists():
            raise KeyStoreError("a cache key already exists for this user: unlock or wipe it")
        key = secrets.token_bytes(KEY_BYTES)
        entry = f"{self.path.stem}:{secrets.token_hex(8)}"
        in_keyring = backend_is_secure(self.backend) and self._store_in_keyring(entry, key)
        record = self._record(passphrase, key, keyring_entry=entry if in_keyring else None)
        try:
            write_atomically(self.path, json.dumps(record, indent=2).encode(), exclusive=True)
        except OSError as exc:
            if in_keyring:
                self._delete_from_keyring(entry)
            if isinstance(exc, FileExistsError):
                raise KeyStoreError(
                    "a cache key already exists for this user: unlock or wipe it"
                ) from None
            raise KeyStoreError(
                f"the cache key file could not be written: {exc.strerror}"
            ) from None
        return key

    def change_passphrase(self, old: str, new: str) -> None:
        """Re-protect the same data key under a new passphrase (the cache stays readable)."""
        if not new:
            raise KeyStoreError("the passphrase must not be empty")
        key = self.unlock(old)
        current = self._read()
        entry = (current.get("keyring") or {}).get("entry")
        in_keyring = current["mode"] == MODE_KEYRING and isinstance(entry, str)
        record = self._record(new, key, keyring_entry=entry if in_keyring else None)
        try:
            write_atomically(self.path, json.dumps(record, indent=2).encode())
        except OSError as exc:
            raise KeyStoreError(
                f"the cache key file could not be written: {exc.strerror}"
            ) from None

    def _record(self, passphrase: str, key: bytes, *, keyring_entry: str | None) -> dict[str, Any]:
        """The key file's content: KDF parameters, salt, verifier, and where the key is."""
        salt = secrets.token_bytes(SALT_BYTES)
        kek, verifier = _derive(passphrase, salt, self._kdf)
        record: dict[str, Any] = {
            "format": FORMAT,
            "kdf": {
                "name": "argon2id",
                "version": 19,
                "memory_kib": self._kdf.memory_kib,
                "iterations": self._kdf.iterations,
                "parallelism": self._kdf.parallelism,
                "salt": _b64(salt),
            },
            "verifier": _b64(verifier),
        }
        if keyring_entry is not None:
            record["mode"] = MODE_KEYRING
            record["keyring"] = {"service": SERVICE, "entry": keyring_entry}
        else:
            nonce = secrets.token_bytes(NONCE_BYTES)
            record["mode"] = MODE_WRAPPED
            record["wrapped_key"] = {
                "aead": "AES-256-GCM",
                "nonce": _b64(nonce),
                "ciphertext": _b64(AESGCM(kek).encrypt(nonce, key, self._aad(MODE_WRAPPED))),
            }
        return record

    def verify(self, passphrase: str) -> bool:
        """Whether `passphrase` is this user's local passphrase (works offline)."""
        record = self._read()
        return self._check(record, passphrase) is not None

    def unlock(self, passphrase: str) -> bytes:
        """The data key; raises `WrongPassphrase`, `CacheCorrupt` or `KeyStoreError`."""
        record = self._read()
        kek = self._check(record, passphrase)
        if kek is None:
            raise WrongPassphrase()
        if record["mode"] == MODE_WRAPPED:
            try:
                wrapped = record["wrapped_key"]
                nonce, ciphertext = _unb64(wrapped["nonce"]), _unb64(wrapped["ciphertext"])
                key = AESGCM(kek).decrypt(nonce, ciphertext, self._aad(MODE_WRAPPED))
            except (InvalidTag, KeyError, TypeError, ValueError):
                raise CacheCorrupt("the wrapped cache key is damaged") from None
        else:
            key = self._load_from_keyring(record)
        if len(key) != KEY_BYTES:
            raise CacheCorrupt("the cache key has the wrong length")
        return key

    def wipe(self) -> None:
        """Forget the key: its keyring entry and the key file. Safe to call twice."""
        if self.exists():
            try:
                record = self._read()
            except CacheError:
                record = {}
            entry = (record.get("keyring") or {}).get("entry")
            if record.get("mode") == MODE_KEYRING and isinstance(entry, str):
                self._delete_from_keyring(entry)
            with contextlib.suppress(FileNotFoundError):
                self.path.unlink()
            _fsync_dir(self.path.parent)

    # --- internals -------------------------------------------------------------

    def _read(self) -> dict[str, Any]:
        try:
            record = json.loads(self.path.read_bytes())
        except FileNotFoundError:
            raise KeyStoreError("there is no cache key for this user on this machine") from None
        except (OSError, ValueError):
            raise CacheCorrupt("the cache key file is unreadable or damaged") from None
        if (
            not isinstance(record, dict)
            or record.get("format") != FORMAT
            or record.get("mode") not in (MODE_KEYRING, MODE_WRAPPED)
        ):
            raise CacheCorrupt("the cache key file is damaged or from an unknown version")
        return record

    def _check(self, record: dict[str, Any], passphrase: str) -> bytes | None:
        """The key-encryption key if the passphrase matches the verifier, else None."""
        try:
            kdf = record["kdf"]
            if kdf.get("name") != "argon2id":
                raise ValueError("unknown KDF")
            params = KdfParams(
                memory_kib=int(kdf["memory_kib"]),
                iterations=int(kdf["iterations"]),
                parallelism=int(kdf["parallelism"]),
            )
            salt = _unb64(kdf["salt"])
            expected = _unb64(record["verifier"])
        except (KeyError, TypeError, ValueError, AttributeError):
            raise CacheCorrupt("the cache key file is damaged") from None
        params.check()
        kek, verifier = _derive(passphrase, salt, params)
        return kek if hmac.compare_digest(verifier, expected) else None

    def _store_in_keyring(self, entry: str, key: bytes) -> bool:
        try:
            self.backend.set_password(SERVICE, entry, _b64(key))
        except keyring.errors.KeyringError:
            return False  # a locked or broken keyring: fall back to wrapping
        return True

    def _load_from_keyring(self, record: dict[str, Any]) -> bytes:
        entry = (record.get("keyring") or {}).get("entry")
        if not isinstance(entry, str):
            raise CacheCorrupt("the cache key file is damaged")
        try:
            stored = self.backend.get_password(SERVICE, entry)
        except keyring.errors.KeyringError:
            raise KeyStoreError("the system keyring could not be read (is it locked?)") from None
        if stored is None:
            raise KeyStoreError(
                "the cache key is missing from the system keyring: wipe the cache to start afresh"
            )
        try:
            return _unb64(stored)
        except ValueError:
            raise CacheCorrupt("the cache key in the system keyring is damaged") from None

    def _delete_from_keyring(self, entry: str) -> None:
        with contextlib.suppress(keyring.errors.KeyringError):
            self.backend.delete_password(SERVICE, entry)


class MemoryKeyring(KeyringBackend):
    """A secure keyring held in memory, for tests; chosen explicitly, never discovered.

    keyring registers every subclass of `KeyringBackend` as a candidate for
    auto-detection; `viable = False` keeps this one out of it, so importing
    this module can never redirect a real user's keys into memory.
    """

    viable = False
    priority = 5

    def __init__(self) -> None:
        super().__init__()
        self.entries: dict[tuple[str, str], str] = {}

    def get_password(self, service: str, username: str) -> str | None:
        return self.entries.get((service, username))

    def set_password(self, service: str, username: str, password: str) -> None:
        self.entries[(service, username)] = password

    def delete_password(self, service: str, username: str) -> None:
        try:
            del self.entries[(service, username)]
        except KeyError:
            raise keyring.errors.PasswordDeleteError("no such entry") from None


__all__ = [
    "DEFAULT_KDF",
    "KdfParams",
    "KeyStore",
    "KeyStoreError",
    "MemoryKeyring",
    "WrongPassphrase",
    "backend_is_secure",
]
