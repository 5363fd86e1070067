"""One-time set-up codes: how a new staff member chooses their first password.

`practice apply` creates new staff without a usable password and prints each a
code, once. The code (80 random bits, shown as four groups of four base32
characters) is stored only as its SHA-256, expires after `SETUP_CODE_TTL`, and
works once: `POST /v1/auth/setup` with the username, the code and a new
password sets the password and marks the code used, in one transaction.
"""

from __future__ import annotations

import base64
import secrets
from datetime import datetime, timedelta

from sqlalchemy import delete, update
from sqlalchemy.orm import Session

from central_api import models
from central_api.core.security import hash_password, token_digest

SETUP_CODE_TTL = timedelta(hours=72)
# Not an argon2 hash: verify_password() is False for every password until set-up.
UNUSABLE_PASSWORD = "!setup-pending"


class SetupCodeError(ValueError):
    """The code is unknown, used, expired or for another user (one message for all)."""


def normalise(code: str) -> str:
    """Codes are read aloud and typed: case, spaces and dashes do not matter."""
    return "".join(ch for ch in code.upper() if ch.isalnum())


def issue_setup_code(session: Session, user_id: str, *, now: datetime) -> str:
    """A fresh code for `user_id` (any earlier one stops working); returned once."""
    raw = base64.b32encode(secrets.token_bytes(10)).decode()  # 16 characters, 80 bits
    code = "-".join(raw[i : i + 4] for i in range(0, 16, 4))
    session.execute(delete(models.SetupCode).where(models.SetupCode.user_id == user_id))
    session.add(
        models.SetupCode(
            user_id=user_id,
            code_hash=token_digest(normalise(code)),
            created_at=now,
            expires_at=now + SETUP_CODE_TTL,
            used_at=None,
        )
    )
    return code


def redeem_setup_code(
    session: Session, username: str, code: str, password: str, *, now: datetime
) -> models.User:
    """Set `username`'s password with their code, in the caller's transaction.

    The code is claimed with one conditional UPDATE (used_at IS NULL), so two
    concurrent redemptions cannot both succeed. Raises SetupCodeError.
    """
    from central_api.core.security import find_user

    user = find_user(session, username)
    if user is None or not user.active:
        raise SetupCodeError("the set-up code is not valid")
    claimed = session.execute(
        update(models.SetupCode)
        .where(
            models.SetupCode.user_id == user.id,
            models.SetupCode.code_hash == token_digest(normalise(code)),
            models.SetupCode.used_at.is_(None),
            models.SetupCode.expires_at > now,
        )
        .values(used_at=now)
    )
    if getattr(claimed, "rowcount", 0) != 1:
        raise SetupCodeError("the set-up code is not valid")
    user.password_hash = hash_password(password)
    user.failed_logins = 0
    user.locked_until = None
    return user
