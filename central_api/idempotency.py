"""Idempotent POSTs, after Stripe and the IETF draft `Idempotency-Key` header.

The key record and the stored response are written in the same transaction as
the business write, so either both exist or neither does. Then:

- a replay (same user, key and body) returns the first response with
  `Idempotent-Replayed: true`;
- the same key with another body (or on another endpoint) is 422
  `idempotency-key-reused`;
- the same key while the first request is still running is 409
  `request-in-progress` on PostgreSQL, where a transaction-scoped advisory lock
  on the key's hash tells who is running. SQLite transactions here all start
  with BEGIN IMMEDIATE (see `central_api.db`), so a second request simply waits
  for the first to commit and then replays it.

Errors (4xx from validation) are not stored: the client may fix and resend.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from fastapi.responses import JSONResponse
from pydantic import BaseModel
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from central_api import models
from central_api.errors import ApiError, idempotency_key_error
from central_api.uow import UnitOfWork

MAX_KEY_LENGTH = 255
REPLAYED_HEADER = "Idempotent-Replayed"


@dataclass(frozen=True)
class Outcome:
    status_code: int
    body: dict[str, Any]
    replayed: bool

    def response(self) -> JSONResponse:
        headers = {REPLAYED_HEADER: "true"} if self.replayed else {}
        return JSONResponse(self.body, status_code=self.status_code, headers=headers)


def request_hash(endpoint: str, body: Any) -> str:
    """A fingerprint of what was asked: endpoint and canonical JSON of the parsed body."""
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(f"{endpoint}\n{canonical}".encode()).hexdigest()


def check_key(key: str) -> str:
    """The key without surrounding blanks; 400 `idempotency-key-invalid` unless 1-255
    printable characters (the IETF draft answers a bad key with 400)."""
    key = key.strip()
    if not key or len(key) > MAX_KEY_LENGTH or not key.isprintable():
        raise idempotency_key_error(missing=False)
    return key


def lock_id(user_id: str, key: str) -> int:
    digest = hashlib.sha256(f"{user_id}\n{key}".encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


def _replay(record: models.IdempotencyRecord, endpoint: str, fingerprint: str) -> Outcome:
    if record.endpoint != endpoint or record.request_hash != fingerprint:
        raise ApiError(
            422,
            "idempotency-key-reused",
            "this Idempotency-Key was already used with a different request",
        )
    return Outcome(record.status_code, dict(record.response_body), replayed=True)


def run(
    session: Session,
    *,
    user_id: str,
    key: str,
    endpoint: str,
    fingerprint: str,
    work: Callable[[Session], tuple[int, dict[str, Any]]],
) -> Outcome:
    """Run `work` at most once per (user, key); commit its writes with the key record.

    `work` does the business write in `session` and returns (status, JSON body); it
    may raise `ApiError`, in which case nothing is stored and the error propagates.
    """
    key = check_key(key)
    # End whatever the dependencies started, so the lock and the lookup below see
    # every commit made before this point (fresh snapshot, fresh SQLite write lock).
    session.commit()
    for _ in range(3):
        if session.get_bind().dialect.name == "postgresql":
            got = session.execute(
                text("SELECT pg_try_advisory_xact_lock(:k)"), {"k": lock_id(user_id, key)}
            ).scalar_one()
            if not got:
                session.rollback()
                raise ApiError(
                    409,
                    "request-in-progress",
                    "a request with this Idempotency-Key is still being processed; retry later",
                    {"Retry-After": "1"},
                )
        record = session.get(models.IdempotencyRecord, (user_id, key), populate_existing=True)
        if record is not None:
            outcome = _replay(record, endpoint, fingerprint)
            session.rollback()
            return outcome
        # The write itself, in the unit of work's order: feed lock, rows, the key
        # record, audit rows last, commit, then the live events.
        uow = UnitOfWork(session, actor_id=user_id, client=endpoint)
        try:
            uow.lock_feed()
            status_code, body = work(session)
            session.add(
                models.IdempotencyRecord(
                    user_id=user_id,
                    key=key,
                    endpoint=endpoint,
                    request_hash=fingerprint,
                    status_code=status_code,
                    response_body=body,
                )
            )
            uow.commit()
        except IntegrityError:
            # Someone committed the same key between our lookup and our insert (only
            # possible without the lock, e.g. a backend we did not plan for): replay it.
            uow.rollback()
            continue
        except BaseException:
            uow.rollback()
            raise
        return Outcome(status_code, body, replayed=False)
    raise ApiError(
        409, "request-in-progress", "a request with this Idempotency-Key is still being processed"
    )


def create_once(
    session: Session,
    *,
    user_id: str,
    key: str,
    endpoint: str,
    name: str,
    body: BaseModel,
    create: Callable[[Session], BaseModel],
) -> JSONResponse:
    """One idempotent create: `create`'s write, the key and the stored 201 commit together.

    `name` and the parsed body make the fingerprint that tells a replay from a
    reused key with another body.
    """
    outcome = run(
        session,
        user_id=user_id,
        key=key,
        endpoint=endpoint,
        fingerprint=request_hash(name, body.model_dump(mode="json")),
        work=lambda s: (201, create(s).model_dump(mode="json")),
    )
    return outcome.response()
