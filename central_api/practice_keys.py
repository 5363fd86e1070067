"""Practice webhook keys: generated from `secrets`, stored only hashed, shown once.

The phone system of a practice authenticates the missed-call webhook with its
key (`X-Practice-Key`). A key is 192 random bits from `secrets`, new for every
installation (the seeder's fixed random seed never makes one), and can be
rotated (`assistant-api practice rotate-key ID`): the old key stops working at
once and the new one is printed once.
"""

from __future__ import annotations

import secrets

from sqlalchemy.orm import Session

from central_api import audit, models
from central_api.core.security import token_digest

KEY_PREFIX = "whk_"


def new_webhook_key() -> str:
    """A fresh webhook key: `whk_` and 48 hex digits (192 bits from `secrets`)."""
    return KEY_PREFIX + secrets.token_hex(24)


def rotate_webhook_key(session: Session, practice_id: str, *, client: str) -> str:
    """Give practice `practice_id` a new key (the old one stops working) and return it.

    Stores only the key's SHA-256 and appends an audit row (`practice.rotate-key`);
    the caller commits and shows the key once. Raises LookupError for an unknown
    practice.
    """
    practice = session.get(models.Practice, practice_id, with_for_update=True)
    if practice is None:
        raise LookupError(f"no practice with id {practice_id!r}")
    key = new_webhook_key()
    practice.webhook_key_hash = token_digest(key)
    audit.record(
        session,
        actor_id=None,
        action="practice.rotate-key",
        resource=f"practice:{practice.id}",
        client=client,
    )
    return key
