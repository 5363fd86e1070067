"""Passwords (argon2id), opaque bearer tokens and login lock-out.

Tokens are `secrets.token_urlsafe(32)` (256 bits) and only their SHA-256 is
stored, so a copy of the database cannot be replayed as sessions. A token dies
after `token_idle_minutes` without use, `token_absolute_hours` after login, or at
logout.
"""

from __future__ import annotations

import hashlib
import math
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from sqlalchemy import and_, case, delete, or_, select, update
from sqlalchemy.orm import Session

from central_api.core.config import Settings
from central_api.db import begin_read
from central_api.models import Token, User, utcnow

# argon2id with OWASP's first recommended profile (19 MiB, 2 passes, 1 lane): about
# 70 ms on a small server, where argon2-cffi's 64 MiB x 4 lanes default takes 5x that
# and lets a burst of logins starve the API of CPU. Older hashes upgrade on login.
_hasher = PasswordHasher(time_cost=2, memory_cost=19456, parallelism=1)
# Verified against when the username is unknown, so both paths cost one argon2 run.
_DUMMY_HASH = _hasher.hash(secrets.token_urlsafe(16))
# A token's last use is written at most this often (saves a write per request).
TOUCH_EVERY = timedelta(seconds=15)
DEAD_TOKEN_GRACE = timedelta(days=1)


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def needs_rehash(password_hash: str) -> bool:
    try:
        return _hasher.check_needs_rehash(password_hash)
    except InvalidHashError:
        return True


def burn_dummy_verify(password: str) -> None:
    """Spend one argon2 verification, for unknown users (constant-ish timing)."""
    verify_password(_DUMMY_HASH, password)


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


def new_token() -> str:
    return secrets.token_urlsafe(32)


def issue_token(
    session: Session, user: User, settings: Settings, *, client: str, now: datetime | None = None
) -> tuple[str, Token]:
    """Store a new session token for `user` (caller commits); returns the plain token once."""
    now = now or utcnow()
    # Dead sessions of this user are kept a day (so a late request still gets a clear
    # 401 for a known token) and then dropped, so the table does not grow forever.
    session.execute(
        delete(Token).where(
            Token.user_id == user.id,
            or_(
                Token.expires_at < now - DEAD_TOKEN_GRACE, Token.revoked_at < now - DEAD_TOKEN_GRACE
            ),
        )
    )
    token = new_token()
    row = Token(
        token_hash=token_digest(token),
        user_id=user.id,
        client=client[:100],
        created_at=now,
        last_used_at=now,
        expires_at=now + timedelta(hours=settings.token_absolute_hours),
    )
    session.add(row)
    return token, row


def token_is_live(row: Token, settings: Settings, now: datetime) -> bool:
    return _is_live(row.revoked_at, row.expires_at, row.last_used_at, settings, now)


def authenticate_token(
    session: Session, token: str, settings: Settings, *, now: datetime | None = None
) -> User | None:
    """The active user behind a live token, touching its last use; None otherwise.

    Returns with no transaction open, whatever the answer: FastAPI runs the route in
    another threadpool thread, and a transaction left open here would hold SQLite's
    write lock across that hop (with more requests than threads, every thread then
    waits for a lock whose holder waits for a thread). The lookup is a pure read
    (`begin_read`: no write lock on SQLite); the last-use touch, at most every
    `TOUCH_EVERY` per token, is its own short write so a read-only route still
    extends the idle window.
    """
    now = now or utcnow()
    if not token or len(token) > 512:
        return None
    if session.in_transaction():
        session.commit()  # start from a fresh snapshot; nothing of ours is pending
    digest = token_digest(token)
    begin_read(session)
    try:
        found = session.execute(
            select(Token.revoked_at, Token.expires_at, Token.last_used_at, User)
            .join(User, User.id == Token.user_id)
            .where(Token.token_hash == digest)
        ).first()
    finally:
        session.commit()  # end the read: release the snapshot before the thread hop
    if found is None:
        return None
    revoked_at, expires_at, last_used_at, user = found
    if not _is_live(revoked_at, expires_at, last_used_at, settings, now) or not user.active:
        return None
    if now - last_used_at >= TOUCH_EVERY:
        try:
            # Conditional, so concurrent requests on one token write it once.
            session.execute(
                update(Token)
                .where(Token.token_hash == digest, Token.last_used_at < now - TOUCH_EVERY)
                .values(last_used_at=now)
                .execution_options(synchronize_session=False)
            )
            session.commit()
        except BaseException:
            session.rollback()
            raise
    return user


def _is_live(
    revoked_at: datetime | None,
    expires_at: datetime,
    last_used_at: datetime,
    settings: Settings,
    now: datetime,
) -> bool:
    if revoked_at is not None or now >= expires_at:
        return False
    return now < last_used_at + timedelta(minutes=settings.token_idle_minutes)


def revoke_token(session: Session, token: str, *, now: datetime | None = None) -> bool:
    """Mark the token revoked (caller commits); False if it was unknown or already revoked."""
    row = session.get(Token, token_digest(token))
    if row is None or row.revoked_at is not None:
        return False
    row.revoked_at = now or utcnow()
    return True


@dataclass(frozen=True)
class Lockout:
    retry_after_seconds: int


def lockout_remaining(user: User, now: datetime) -> Lockout | None:
    if user.locked_until is None or user.locked_until <= now:
        return None
    return Lockout(max(1, math.ceil((user.locked_until - now).total_seconds())))


def claim_guess(
    session: Session, user_id: str, settings: Settings, *, now: datetime | None = None
) -> int | Lockout:
    """Reserve one password guess for `user_id` before verifying it (caller commits).

    One atomic UPDATE counts the guess *before* the slow hash check, so concurrent
    guesses can never test more than `settings.max_failed_logins` passwords per
    lockout: each takes a numbered slot (returned), and once every slot is taken
    (guesses in flight included) or the account is locked, the answer is a `Lockout`.
    A lock that has run out is lifted by the same statement (the count restarts at 1).
    """
    now = now or utcnow()
    lock_over = and_(User.locked_until.is_not(None), User.locked_until <= now)
    slot = session.execute(
        update(User)
        .where(
            User.id == user_id,
            or_(
                lock_over,
                and_(User.locked_until.is_(None), User.failed_logins < settings.max_failed_logins),
            ),
        )
        .values(
            failed_logins=case((User.locked_until.is_not(None), 1), else_=User.failed_logins + 1),
            locked_until=None,
        )
        .returning(User.failed_logins)
        .execution_options(synchronize_session=False)
    ).scalar_one_or_none()
    if slot is not None:
        return int(slot)
    locked_until = session.scalar(select(User.locked_until).where(User.id == user_id))
    if locked_until is not None and locked_until > now:
        return Lockout(max(1, math.ceil((locked_until - now).total_seconds())))
    # Every slot is taken by guesses still being checked: held for one lockout window.
    return Lockout(settings.lockout_minutes * 60)


def record_wrong_guess(
    session: Session, user_id: str, slot: int, settings: Settings, *, now: datetime | None = None
) -> Lockout | None:
    """The guess in `slot` was wrong: the one that used the last slot locks the account
    for `settings.lockout_minutes` (caller commits)."""
    if slot < settings.max_failed_logins:
        return None
    now = now or utcnow()
    window = timedelta(minutes=settings.lockout_minutes)
    session.execute(
        update(User)
        .where(User.id == user_id)
        .values(locked_until=now + window)
        .execution_options(synchronize_session=False)
    )
    return Lockout(math.ceil(window.total_seconds()))


def record_successful_login(session: Session, user_id: str) -> None:
    session.execute(
        update(User).where(User.id == user_id).values(failed_logins=0, locked_until=None)
    )


def session_user(
    session: Session, token: str, settings: Settings, *, now: datetime | None = None
) -> User | None:
    """The active user behind a live token, like `authenticate_token` but a pure read
    that does not count as use (an open event stream must not keep a session alive).
    Ends the read transaction it opens."""
    now = now or utcnow()
    if not token or len(token) > 512:
        return None
    if session.in_transaction():
        session.commit()
    begin_read(session)
    try:
        found = session.execute(
            select(Token.revoked_at, Token.expires_at, Token.last_used_at, User)
            .join(User, User.id == Token.user_id)
            .where(Token.token_hash == token_digest(token))
        ).first()
    finally:
        session.commit()
    if found is None:
        return None
    revoked_at, expires_at, last_used_at, user = found
    if not _is_live(revoked_at, expires_at, last_used_at, settings, now) or not user.active:
        return None
    return user


def find_user(session: Session, username: str) -> User | None:
    return session.scalars(select(User).where(User.username == username)).one_or_none()
