"""The cache's data key in both modes: a secure keyring, or wrapped by the passphrase."""

from __future__ import annotations

import base64
import json
import os
import secrets
import stat
from pathlib import Path
from typing import Any

import keyring
import keyring.backend
import keyring.errors
import pytest
from keyring.backends import fail, null

from local_cache.errors import CacheCorrupt, CacheError, WrongPassphrase
from local_cache.keys import (
    DEFAULT_KDF,
    KeyStore,
    KeyStoreError,
    MemoryKeyring,
    backend_is_secure,
)


class LowPriorityKeyring(keyring.backend.KeyringBackend):
    """Stands in for a plaintext file store (priority below 1)."""

    viable = False
    priority = 0.5

    def __init__(self) -> None:
        super().__init__()
        self.entries: dict[tuple[str, str], str] = {}

    def get_password(self, service: str, username: str) -> str | None:
        return self.entries.get((service, username))

    def set_password(self, service: str, username: str, password: str) -> None:
        self.entries[(service, username)] = password

    def delete_password(self, service: str, username: str) -> None:
        self.entries.pop((service, username), None)


class LockedKeyring(MemoryKeyring):
    """A secure keyring that refuses writes, like a locked Secret Service collection."""

    def set_password(self, service: str, username: str, password: str) -> None:
        raise keyring.errors.KeyringLocked("locked")


@pytest.fixture(autouse=True)
def no_real_keyring(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every test names its backend; touching the OS keyring fails the test."""

    def refuse(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("a test reached for the real keyring")

    monkeypatch.setattr(keyring, "get_keyring", refuse)
    monkeypatch.setattr(keyring.core, "get_keyring", refuse)


@pytest.fixture
def passphrase() -> str:
    return secrets.token_urlsafe(12)


def key_forms(key: bytes) -> list[bytes]:
    return [
        key,
        base64.b64encode(key),
        base64.urlsafe_b64encode(key),
        key.hex().encode(),
        key.hex().upper().encode(),
    ]


def assert_key_in_no_file(root: Path, key: bytes) -> None:
    files = [p for p in root.rglob("*") if p.is_file()]
    assert files, "expected the key file to exist"
    for path in files:
        data = path.read_bytes()
        for form in key_forms(key):
            assert form not in data, f"data key found in {path.name}"


def test_secure_keyring_holds_the_key(tmp_path: Path, passphrase: str) -> None:
    ring = MemoryKeyring()
    store = KeyStore(tmp_path, "asha", keyring_backend=ring)
    assert not store.exists()
    key = store.create(passphrase)
    assert len(key) == 32
    assert store.exists() and store.mode == "keyring"
    assert [base64.b64decode(v) for v in ring.entries.values()] == [key]
    assert store.unlock(passphrase) == key
    assert KeyStore(tmp_path, "asha", keyring_backend=ring).unlock(passphrase) == key
    assert_key_in_no_file(tmp_path, key)


@pytest.mark.parametrize(
    "backend", [fail.Keyring(), null.Keyring(), LowPriorityKeyring(), LockedKeyring()]
)
def test_insecure_backend_wraps_the_key(
    tmp_path: Path, passphrase: str, backend: keyring.backend.KeyringBackend
) -> None:
    store = KeyStore(tmp_path, "ben", keyring_backend=backend)
    key = store.create(passphrase)
    assert store.mode == "wrapped"
    assert store.unlock(passphrase) == key
    if isinstance(backend, LowPriorityKeyring | MemoryKeyring):
        assert backend.entries == {}  # nothing was left in the insecure or locked store
    assert_key_in_no_file(tmp_path, key)


def test_key_file_records_kdf_and_is_private(tmp_path: Path, passphrase: str) -> None:
    store = KeyStore(tmp_path, "cara", keyring_backend=fail.Keyring())
    store.create(passphrase)
    assert stat.S_IMODE(os.stat(store.path).st_mode) == 0o600
    assert [p.name for p in tmp_path.iterdir()] == [store.path.name]  # no temp file left
    assert "cara" not in store.path.name
    record = json.loads(store.path.read_text())
    kdf = record["kdf"]
    assert kdf["name"] == "argon2id"
    assert kdf["memory_kib"] >= 19 * 1024 and kdf["iterations"] >= 1
    assert (kdf["memory_kib"], kdf["iterations"], kdf["parallelism"]) == (
        DEFAULT_KDF.memory_kib,
        DEFAULT_KDF.iterations,
        DEFAULT_KDF.parallelism,
    )
    assert len(base64.b64decode(kdf["salt"])) == 16
    assert record["wrapped_key"]["aead"] == "AES-256-GCM"
    assert passphrase not in store.path.read_text()


@pytest.mark.parametrize("backend_kind", ["secure", "wrapped"])
def test_wrong_passphrase(tmp_path: Path, passphrase: str, backend_kind: str) -> None:
    backend = MemoryKeyring() if backend_kind == "secure" else fail.Keyring()
    store = KeyStore(tmp_path, "dev", keyring_backend=backend)
    store.create(passphrase)
    with pytest.raises(WrongPassphrase) as info:
        store.unlock(passphrase + "x")
    message = str(info.value)
    assert message and "\n" not in message and passphrase not in message
    assert isinstance(info.value, CacheError)
    assert store.verify(passphrase) is True
    assert store.verify(passphrase.upper() + "!") is False


def test_wipe_forgets_key_and_entry(tmp_path: Path, passphrase: str) -> None:
    ring = MemoryKeyring()
    store = KeyStore(tmp_path, "eli", keyring_backend=ring)
    first = store.create(passphrase)
    store.wipe()
    assert not store.exists() and ring.entries == {}
    assert list(tmp_path.iterdir()) == []
    store.wipe()  # twice is fine
    with pytest.raises(KeyStoreError):
        store.unlock(passphrase)
    assert store.create(passphrase) != first


def test_create_twice_is_refused(tmp_path: Path, passphrase: str) -> None:
    store = KeyStore(tmp_path, "fay", keyring_backend=fail.Keyring())
    key = store.create(passphrase)
    with pytest.raises(KeyStoreError):
        store.create(passphrase)
    assert store.unlock(passphrase) == key
    with pytest.raises(KeyStoreError):
        KeyStore(tmp_path, "gus", keyring_backend=fail.Keyring()).create("")


def test_tampered_wrapped_key_is_corrupt(tmp_path: Path, passphrase: str) -> None:
    store = KeyStore(tmp_path, "hal", keyring_backend=fail.Keyring())
    store.create(passphrase)
    record = json.loads(store.path.read_text())
    blob = bytearray(base64.b64decode(record["wrapped_key"]["ciphertext"]))
    blob[0] ^= 1
    record["wrapped_key"]["ciphertext"] = base64.b64encode(bytes(blob)).decode()
    store.path.write_text(json.dumps(record))
    with pytest.raises(CacheCorrupt):
        store.unlock(passphrase)
    store.path.write_text("{not json")
    with pytest.raises(CacheCorrupt):
        store.unlock(passphrase)


def test_key_file_of_another_user_does_not_open(tmp_path: Path, passphrase: str) -> None:
    alice = KeyStore(tmp_path, "ivy", keyring_backend=fail.Keyring())
    bob = KeyStore(tmp_path, "jon", keyring_backend=fail.Keyring())
    alice.create(passphrase)
    bob.path.write_bytes(alice.path.read_bytes())
    with pytest.raises(CacheCorrupt):  # the user is bound into the AEAD's associated data
        bob.unlock(passphrase)


def test_keyring_entry_gone_is_a_clear_error(tmp_path: Path, passphrase: str) -> None:
    KeyStore(tmp_path, "kim", keyring_backend=MemoryKeyring()).create(passphrase)
    with pytest.raises(KeyStoreError) as info:
        KeyStore(tmp_path, "kim", keyring_backend=MemoryKeyring()).unlock(passphrase)
    assert "keyring" in str(info.value)


def test_backend_security_and_discovery() -> None:
    assert backend_is_secure(MemoryKeyring())
    assert not backend_is_secure(fail.Keyring())
    assert not backend_is_secure(null.Keyring())
    assert not backend_is_secure(LowPriorityKeyring())
    # Importing the module must not let auto-detection pick the in-memory ring.
    viable = set(keyring.backend.KeyringBackend.get_viable_backends())
    assert MemoryKeyring in keyring.backend.KeyringBackend._classes
    assert MemoryKeyring not in viable and LowPriorityKeyring not in viable


@pytest.mark.parametrize("backend_kind", ["secure", "wrapped"])
def test_change_passphrase_keeps_the_key(
    tmp_path: Path, passphrase: str, backend_kind: str
) -> None:
    ring = MemoryKeyring()
    backend = ring if backend_kind == "secure" else fail.Keyring()
    store = KeyStore(tmp_path, "lou", keyring_backend=backend)
    key = store.create(passphrase)
    new = secrets.token_urlsafe(12)
    with pytest.raises(WrongPassphrase):
        store.change_passphrase(passphrase + "x", new)
    store.change_passphrase(passphrase, new)
    assert store.unlock(new) == key
    with pytest.raises(WrongPassphrase):
        store.unlock(passphrase)
    if backend_kind == "secure":
        assert len(ring.entries) == 1
    assert_key_in_no_file(tmp_path, key)


def test_concurrent_create_cannot_overwrite(tmp_path: Path, passphrase: str) -> None:
    ring = MemoryKeyring()
    first = KeyStore(tmp_path, "max", keyring_backend=ring)
    second = KeyStore(tmp_path, "max", keyring_backend=ring)
    key = first.create(passphrase)
    # The second store raced past its exists() check: the exclusive write still refuses.
    second.exists = lambda: False  # type: ignore[method-assign]
    with pytest.raises(KeyStoreError):
        second.create(passphrase)
    assert first.unlock(passphrase) == key
    assert len(ring.entries) == 1  # the loser removed its keyring entry


def test_passphrase_is_unicode_normalised(tmp_path: Path) -> None:
    composed = "caf\u00e9-" + secrets.token_hex(4)
    decomposed = composed.replace("\u00e9", "e\u0301")
    store = KeyStore(tmp_path, "ned", keyring_backend=fail.Keyring())
    key = store.create(composed)
    assert store.unlock(decomposed) == key
