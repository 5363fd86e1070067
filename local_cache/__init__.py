"""Encrypted offline cache (SQLCipher 4 via SQLAlchemy), its outbox and the sync engine."""

from local_cache.cache import DEFAULT_RETENTION, LocalCache, cache_path
from local_cache.errors import CacheCorrupt, CacheError, DiskFull, WrongPassphrase
from local_cache.sync import SyncEngine
from local_cache.views import NeedsAttention, QueueRow, SyncStatus, TaskContext

__all__ = [
    "DEFAULT_RETENTION",
    "CacheCorrupt",
    "CacheError",
    "DiskFull",
    "LocalCache",
    "NeedsAttention",
    "QueueRow",
    "SyncEngine",
    "SyncStatus",
    "TaskContext",
    "WrongPassphrase",
    "cache_path",
]
