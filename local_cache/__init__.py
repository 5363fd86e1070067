"""Encrypted offline cache (SQLCipher 4 via SQLAlchemy), its outbox and the sync engine.

- `LocalCache` (cache.py): one SQLCipher file per user, keyed with the raw
  256-bit data key from `local_cache.keys.KeyStore` (engine.py), WAL with
  synchronous=FULL, schema by a versioned migration list (migrations.py).
  Every write is one transaction together with its outbox entry.
- `SyncEngine` (sync.py): feed pages applied with their cursor as checkpoints
  (feed_apply.py); the outbox drained in order with its ids as Idempotency-Keys;
  refusals kept as needs-attention; offline backoff; observable status.
- Retention of cached PHI (retention.py); read models for the UI (views.py).
"""

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
