"""Sign-in, sessions and lock-out: tokens are opaque, hashed, expiring and revocable."""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta

from sqlalchemy import select, update

from central_api.models import AuditEntry, Token, User, utcnow
from tests.api.conftest import ApiHarness
from tests.api.platform_fixtures import Platform, platform

__all__ = ["platform"]


def _token_row(p: Platform, token: str) -> Token:
    with p.session() as session:
        row = session.get(Token, hashlib.sha256(token.encode()).hexdigest())
        assert row is not None
        return row


def _set_token(p: Platform, token: str, **values: datetime | None) -> None:
    digest = hashlib.sha256(token.encode()).hexdigest()
    with p.session() as session:
        session.execute(update(Token).where(Token.token_hash == digest).values(**values))
        session.commit()


def _me(p: Platform, token: str) -> int:
    return p.client.get("/v1/me", headers={"Authorization": f"Bearer {token}"}).status_code


def test_login_returns_token_and_user(platform: Platform) -> None:
    before = utcnow()
    response = platform.client.post(
        "/v1/auth/login", json={"username": "assistant", "password": platform.password}
    )
    assert response.status_code == 200
    body = response.json()
    assert body["user"]["username"] == "assistant"
    assert body["user"]["role"] == "assistant"
    assert len(body["token"]) >= 43  # 32 random bytes, base64url
    expires = datetime.fromisoformat(body["expires_at"])
    assert timedelta(hours=11, minutes=59) < expires - before <= timedelta(hours=12, seconds=5)


def test_token_is_stored_only_as_its_hash(platform: Platform) -> None:
    token = platform.login("assistant")
    with platform.session() as session:
        rows = session.scalars(select(Token)).all()
    assert len(rows) == 1
    assert rows[0].token_hash == hashlib.sha256(token.encode()).hexdigest()
    assert all(token not in str(value) for value in vars(rows[0]).values())


def test_me_returns_the_caller(platform: Platform) -> None:
    token = platform.login("supervisor")
    response = platform.client.get("/v1/me", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200
    assert response.json()["username"] == "supervisor"
    assert response.json()["practice_ids"] == []


def test_wrong_password_and_unknown_user_look_the_same(platform: Platform) -> None:
    wrong = platform.client.post(
        "/v1/auth/login", json={"username": "assistant", "password": "not-the-password"}
    )
    unknown = platform.client.post(
        "/v1/auth/login", json={"username": "nobody-here", "password": "not-the-password"}
    )
    assert wrong.status_code == unknown.status_code == 401
    assert wrong.json() == unknown.json()
    assert wrong.json()["error"]["code"] == "unauthenticated"


def test_inactive_user_cannot_sign_in(platform: Platform) -> None:
    platform.add_user("gone", "assistant", active=False)
    response = platform.client.post(
        "/v1/auth/login", json={"username": "gone", "password": platform.password}
    )
    assert response.status_code == 401


def test_missing_forged_and_wrong_scheme_tokens_are_401(platform: Platform) -> None:
    platform.login("assistant")
    for headers in (
        {},
        {"Authorization": "Bearer forged-token-that-was-never-issued"},
        {"Authorization": "Bearer "},
        {"Authorization": f"Basic {platform.password}"},
        {"Authorization": "Bearer " + "x" * 5000},
    ):
        response = platform.client.get("/v1/me", headers=headers)
        assert response.status_code == 401, headers
        assert response.json()["error"]["code"] == "unauthenticated"
        assert response.headers["WWW-Authenticate"] == "Bearer"


def test_logout_revokes_the_token(platform: Platform) -> None:
    token = platform.login("assistant")
    other = platform.login("assistant")
    headers = {"Authorization": f"Bearer {token}"}
    assert platform.client.post("/v1/auth/logout", headers=headers).status_code == 204
    assert _me(platform, token) == 401
    assert platform.client.post("/v1/auth/logout", headers=headers).status_code == 401
    assert _token_row(platform, token).revoked_at is not None
    assert _me(platform, other) == 200  # only that session ends


def test_idle_expiry(platform: Platform) -> None:
    token = platform.login("assistant")
    _set_token(platform, token, last_used_at=utcnow() - timedelta(minutes=29))
    assert _me(platform, token) == 200
    _set_token(platform, token, last_used_at=utcnow() - timedelta(minutes=31))
    assert _me(platform, token) == 401


def test_use_extends_the_idle_window(platform: Platform) -> None:
    token = platform.login("assistant")
    _set_token(platform, token, last_used_at=utcnow() - timedelta(minutes=20))
    assert _me(platform, token) == 200
    assert utcnow() - _token_row(platform, token).last_used_at < timedelta(minutes=1)


def test_absolute_expiry(platform: Platform) -> None:
    token = platform.login("assistant")
    now = utcnow()
    _set_token(platform, token, last_used_at=now, expires_at=now + timedelta(minutes=1))
    assert _me(platform, token) == 200
    _set_token(platform, token, last_used_at=now, expires_at=now - timedelta(seconds=1))
    assert _me(platform, token) == 401


def test_lockout_after_five_failures(platform: Platform) -> None:
    for _ in range(5):
        response = platform.client.post(
            "/v1/auth/login", json={"username": "assistant", "password": "wrong-password"}
        )
        assert response.status_code == 401
    # Even the right password is refused while locked.
    locked = platform.client.post(
        "/v1/auth/login", json={"username": "assistant", "password": platform.password}
    )
    assert locked.status_code == 429
    assert locked.json()["error"]["code"] == "too-many-attempts"
    retry_after = int(locked.headers["Retry-After"])
    assert 0 < retry_after <= 15 * 60
    # Other accounts are unaffected.
    assert platform.login("supervisor")

    # When the window has passed, the right password works and the count resets.
    with platform.session() as session:
        session.execute(
            update(User)
            .where(User.username == "assistant")
            .values(locked_until=utcnow() - timedelta(seconds=1))
        )
        session.commit()
    assert platform.login("assistant")
    with platform.session() as session:
        user = session.scalars(select(User).where(User.username == "assistant")).one()
        assert user.failed_logins == 0
        assert user.locked_until is None


def test_success_resets_the_failure_count(platform: Platform) -> None:
    for _ in range(4):
        platform.client.post(
            "/v1/auth/login", json={"username": "assistant", "password": "wrong-password"}
        )
    platform.login("assistant")
    for _ in range(4):
        response = platform.client.post(
            "/v1/auth/login", json={"username": "assistant", "password": "wrong-password"}
        )
        assert response.status_code == 401  # not locked: the count started again


def test_sign_ins_are_audited_without_secrets(platform: Platform) -> None:
    platform.client.post("/v1/auth/login", json={"username": "admin", "password": "wrong-pw-1"})
    token = platform.login("admin")
    platform.client.post("/v1/auth/logout", headers={"Authorization": f"Bearer {token}"})
    with platform.session() as session:
        rows = session.scalars(select(AuditEntry).order_by(AuditEntry.seq)).all()
    assert [r.action for r in rows] == ["auth.login-failed", "auth.login", "auth.logout"]
    admin_id = platform.users["admin"].id
    assert {r.resource for r in rows} == {f"user:{admin_id}"}
    for row in rows:
        text = " ".join(str(v) for v in vars(row).values())
        assert platform.password not in text
        assert "wrong-pw-1" not in text
        assert token not in text


# --- the same rules on every backend (in-process, uvicorn on SQLite, uvicorn on PostgreSQL) --


def test_sign_in_me_sign_out_on_every_backend(api: ApiHarness) -> None:
    username = api.username("assistant")
    token = api.login(username)
    headers = {"Authorization": f"Bearer {token}"}
    with api.client(headers=headers) as client:
        me = client.get("/v1/me")
        assert me.status_code == 200
        assert me.json()["username"] == username
        assert me.json()["practice_ids"] == api.user(username)["practice_ids"]
        assert client.post("/v1/auth/logout").status_code == 204
        assert client.get("/v1/me").status_code == 401


def test_expiry_on_every_backend(api: ApiHarness) -> None:
    token = api.login(api.username("supervisor"))
    digest = hashlib.sha256(token.encode()).hexdigest()
    with api.session() as session:
        session.execute(
            update(Token)
            .where(Token.token_hash == digest)
            .values(last_used_at=utcnow() - timedelta(minutes=31))
        )
        session.commit()
    with api.client(headers={"Authorization": f"Bearer {token}"}) as client:
        assert client.get("/v1/me").status_code == 401


def test_lockout_on_every_backend(api: ApiHarness) -> None:
    username = api.username("assistant", practice=1)
    with api.client() as client:
        for _ in range(5):
            response = client.post(
                "/v1/auth/login", json={"username": username, "password": "wrong-password"}
            )
            assert response.status_code == 401
        locked = client.post(
            "/v1/auth/login", json={"username": username, "password": api.password}
        )
    assert locked.status_code == 429
    assert int(locked.headers["Retry-After"]) > 0
    with api.session() as session:  # unlock for the rest of the module
        session.execute(update(User).where(User.username == username).values(locked_until=None))
        session.commit()
