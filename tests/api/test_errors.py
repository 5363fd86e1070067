"""Bad input of every kind gets a documented JSON 4xx; surprises get a JSON 500.

The error body is always `{"error": {"code", "message"}}`, messages name fields
but never echo submitted values, and the OpenAPI schema documents every status.
"""

from __future__ import annotations

import json
import logging
import socket
from collections.abc import Iterator

import pytest

from central_api.errors import ApiError
from followup_core.schemas import MAX_BODY_BYTES
from tests.api.conftest import ApiHarness
from tests.api.platform_fixtures import Platform, shared_platform

__all__ = ["shared_platform"]


SECRETISH = "Zq9-distinctive-value"  # stands in for a value that must never be echoed


def _assert_error(response: object, status: int, code: str) -> dict[str, str]:
    assert getattr(response, "status_code", None) == status, getattr(response, "text", "")
    body = response.json()  # type: ignore[attr-defined]
    assert set(body) == {"error"}
    assert set(body["error"]) == {"code", "message"}
    assert body["error"]["code"] == code
    assert body["error"]["message"]
    assert response.headers["content-type"].startswith("application/json")  # type: ignore[attr-defined]
    error: dict[str, str] = body["error"]
    return error


@pytest.mark.parametrize(
    "raw",
    [
        b"{",
        b'{"username": "a",}',
        b"not json",
        b'{"username": "a"',
        b"\xff\xfe\xfa",
        b"\x00",
        b"[" * 100_000,
        b'{"username": ' + b"[" * 50_000 + b"]" * 50_000 + b"}",  # valid, but too deep
        b'{"username": ' + b"1" * 5000 + b', "password": "x"}',  # beyond int parsing limits
    ],
)
def test_malformed_json_is_400(shared_platform: Platform, raw: bytes) -> None:
    response = shared_platform.client.post(
        "/v1/auth/login", content=raw, headers={"Content-Type": "application/json"}
    )
    _assert_error(response, 400, "malformed-json")


def test_malformed_json_without_content_type_is_400(shared_platform: Platform) -> None:
    response = shared_platform.client.post("/v1/auth/login", content=b"{nope")
    _assert_error(response, 400, "malformed-json")


def test_malformed_json_on_authenticated_route(shared_platform: Platform) -> None:
    headers = {**shared_platform.headers("assistant"), "Content-Type": "application/json"}
    response = shared_platform.client.put("/v1/presence", content=b'{"state": ', headers=headers)
    _assert_error(response, 400, "malformed-json")


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"username": 12345678, "password": SECRETISH}, "username"),
        ({"username": "assistant", "password": [SECRETISH]}, "password"),
        ({"username": "assistant", "password": SECRETISH, "ssn": SECRETISH}, "ssn"),
        ({"username": "assistant"}, "password"),
        ({"username": "", "password": SECRETISH}, "username"),
        ({"username": "a" * 65, "password": SECRETISH}, "username"),
        ({"username": None, "password": SECRETISH}, "username"),
        ({"username": True, "password": SECRETISH}, "username"),
    ],
)
def test_wrong_types_and_unknown_fields_are_422(
    shared_platform: Platform, body: dict[str, object], field: str
) -> None:
    error = _assert_error(
        shared_platform.client.post("/v1/auth/login", json=body), 422, "invalid-request"
    )
    assert field in error["message"]
    assert SECRETISH not in error["message"]
    assert "12345678" not in error["message"]


@pytest.mark.parametrize(
    "raw",
    [
        b'{"username": NaN, "password": "Zq9-distinctive-value"}',
        b'{"username": Infinity, "password": "Zq9-distinctive-value"}',
        b'{"username": "a\\ud800", "password": "Zq9-distinctive-value"}',
    ],
)
def test_json_extensions_and_lone_surrogates_are_422(shared_platform: Platform, raw: bytes) -> None:
    response = shared_platform.client.post(
        "/v1/auth/login", content=raw, headers={"Content-Type": "application/json"}
    )
    error = _assert_error(response, 422, "invalid-request")
    assert "username" in error["message"]
    assert SECRETISH not in error["message"]


@pytest.mark.parametrize("body", [[], "text", 3, None, {"state": "sleeping"}, {"state": 1}, {}])
def test_bad_presence_bodies_are_422(shared_platform: Platform, body: object) -> None:
    response = shared_platform.client.put(
        "/v1/presence", json=body, headers=shared_platform.headers("assistant")
    )
    error = _assert_error(response, 422, "invalid-request")
    assert "sleeping" not in error["message"]


def test_non_json_content_type_is_422(shared_platform: Platform) -> None:
    response = shared_platform.client.post(
        "/v1/auth/login", content=b"username=a", headers={"Content-Type": "text/plain"}
    )
    error = _assert_error(response, 422, "invalid-request")
    assert "username=a" not in error["message"]


def test_body_over_limit_by_content_length_is_413(shared_platform: Platform) -> None:
    big = b'{"username": "' + b"a" * MAX_BODY_BYTES + b'"}'
    response = shared_platform.client.post(
        "/v1/auth/login", content=big, headers={"Content-Type": "application/json"}
    )
    _assert_error(response, 413, "body-too-large")


def test_body_over_limit_when_streamed_is_413(shared_platform: Platform) -> None:
    def chunks() -> Iterator[bytes]:
        yield b'{"username": "'
        for _ in range(20):
            yield b"a" * 65536
        yield b'", "password": "x"}'

    response = shared_platform.client.post(
        "/v1/auth/login", content=chunks(), headers={"Content-Type": "application/json"}
    )
    assert "content-length" not in {k.lower() for k in response.request.headers}
    _assert_error(response, 413, "body-too-large")


def test_body_just_under_limit_is_judged_on_content(shared_platform: Platform) -> None:
    padding = " " * (MAX_BODY_BYTES - 100)
    raw = ('{"username": "assistant", "password": "wrong-password"}' + padding).encode()
    assert len(raw) <= MAX_BODY_BYTES
    response = shared_platform.client.post(
        "/v1/auth/login", content=raw, headers={"Content-Type": "application/json"}
    )
    _assert_error(response, 401, "unauthenticated")


def test_unknown_route_is_404(shared_platform: Platform) -> None:
    _assert_error(shared_platform.client.get("/v1/no-such-thing"), 404, "not-found")
    _assert_error(shared_platform.client.get("/"), 404, "not-found")


def test_wrong_method_is_405(shared_platform: Platform) -> None:
    response = shared_platform.client.delete("/v1/health")
    _assert_error(response, 405, "method-not-allowed")
    assert "GET" in response.headers["Allow"]
    _assert_error(shared_platform.client.get("/v1/auth/login"), 405, "method-not-allowed")


def test_405_allow_names_every_route_on_the_path(shared_platform: Platform) -> None:
    """Two routes on one path (GET and POST): a 405 advertises both, as RFC 9110 asks."""

    def read() -> None:
        return None

    shared_platform.app.add_api_route("/v1/test-pair", read, methods=["POST"])
    shared_platform.app.add_api_route("/v1/test-pair", read, methods=["GET"])
    response = shared_platform.client.request("OPTIONS", "/v1/test-pair")
    _assert_error(response, 405, "method-not-allowed")
    allowed = {m.strip() for m in response.headers["Allow"].split(",")}
    assert {"GET", "POST"} <= allowed
    assert allowed <= {"GET", "POST", "HEAD"}


def test_405_allow_sees_routes_inside_included_routers(shared_platform: Platform) -> None:
    """The real app's routers: /v1/escalations is GET (list) and POST (raise), both
    declared in one included router, which FastAPI >= 0.165 wraps without `methods`."""
    response = shared_platform.client.request("OPTIONS", "/v1/escalations")
    _assert_error(response, 405, "method-not-allowed")
    allowed = {m.strip() for m in response.headers["Allow"].split(",")}
    assert {"GET", "POST"} <= allowed
    assert allowed <= {"GET", "POST", "HEAD"}
    # A path served by a single route of another included router.
    response = shared_platform.client.delete("/v1/attempts")
    _assert_error(response, 405, "method-not-allowed")
    assert response.headers["Allow"] == "POST"


def test_wrong_role_is_403(shared_platform: Platform) -> None:
    response = shared_platform.client.get("/v1/audit", headers=shared_platform.headers("assistant"))
    _assert_error(response, 403, "forbidden")
    response = shared_platform.client.put(
        "/v1/presence", json={"state": "available"}, headers=shared_platform.headers("trainer")
    )
    _assert_error(response, 403, "forbidden")


def test_no_token_is_401_before_body_validation_matters(shared_platform: Platform) -> None:
    response = shared_platform.client.put("/v1/presence", json={"state": "available"})
    _assert_error(response, 401, "unauthenticated")


@pytest.mark.parametrize("query", ["limit=abc", "limit=0", "limit=100000", "limit=1.5"])
def test_bad_query_parameters_are_422(shared_platform: Platform, query: str) -> None:
    response = shared_platform.client.get(
        f"/v1/audit?{query}", headers=shared_platform.headers("supervisor")
    )
    error = _assert_error(response, 422, "invalid-request")
    assert "limit" in error["message"]


@pytest.mark.parametrize(
    "cursor", ["zzz", "YXVkaXQ6LTE", "YXVkaXQ6MDE", "%00", "YXVkaXQ6MQ==", "bm9wZTox", "🙂"]
)
def test_bad_cursor_is_400(shared_platform: Platform, cursor: str) -> None:
    response = shared_platform.client.get(
        "/v1/audit", params={"after": cursor}, headers=shared_platform.headers("supervisor")
    )
    _assert_error(response, 400, "bad-cursor")


def test_api_error_raised_in_a_route(shared_platform: Platform) -> None:
    def conflict() -> None:
        raise ApiError(409, "lease-held", "another assistant holds this task")

    shared_platform.app.add_api_route("/v1/test-conflict", conflict, methods=["POST"])
    error = _assert_error(shared_platform.client.post("/v1/test-conflict"), 409, "lease-held")
    assert error["message"] == "another assistant holds this task"


def test_unexpected_exception_is_a_json_500_logged_without_values(
    shared_platform: Platform, caplog: pytest.LogCaptureFixture
) -> None:
    def boom() -> None:
        raise RuntimeError(f"patient {SECRETISH} broke something")

    shared_platform.app.add_api_route("/v1/test-boom", boom, methods=["POST"])
    with caplog.at_level(logging.INFO):
        response = shared_platform.client.post("/v1/test-boom", json={"notes": SECRETISH})
    _assert_error(response, 500, "internal-error")
    assert SECRETISH not in response.text
    assert "RuntimeError" in caplog.text  # logged, so someone can fix it
    assert SECRETISH not in caplog.text


def test_access_log_has_no_query_string(
    shared_platform: Platform, caplog: pytest.LogCaptureFixture
) -> None:
    headers = shared_platform.headers("supervisor")
    with caplog.at_level(logging.INFO, logger="central_api.access"):
        shared_platform.client.get(f"/v1/audit?after={SECRETISH}&limit=5", headers=headers)
    lines = [r.getMessage() for r in caplog.records if r.name == "central_api.access"]
    assert any("/v1/audit" in line and "400" in line for line in lines)
    assert all(SECRETISH not in line and "?" not in line for line in lines)


def test_openapi_documents_every_response(shared_platform: Platform) -> None:
    schema = shared_platform.client.get("/v1/openapi.json").json()
    assert "HTTPValidationError" not in schema.get("components", {}).get("schemas", {})
    for path, operations in schema["paths"].items():
        if path.startswith("/v1/test-"):
            continue  # routes other tests add to this shared app
        for method, operation in operations.items():
            responses = operation["responses"]
            for status in ("400", "413", "422", "500"):
                assert status in responses, (method, path, status)
            if path not in ("/v1/health", "/v1/auth/login"):
                assert "401" in responses, (method, path)
            for status, response in responses.items():
                if status.startswith(("4", "5")):
                    schema_ = response["content"]["application/json"]["schema"]
                    # FHIR import answers a rejected resource with an OperationOutcome
                    # (the FHIR error shape) or, for non-FHIR faults, our error body.
                    refs = [s.get("$ref", "") for s in schema_.get("anyOf", [schema_])]
                    assert any(ref.endswith("/ErrorBody") for ref in refs), (method, path, status)
                    if "anyOf" in schema_:
                        assert (path, status) == ("/v1/fhir", "422"), (method, path, status)
    login = schema["paths"]["/v1/auth/login"]["post"]["responses"]
    assert "Retry-After" in login["429"]["headers"]
    assert {"403"} <= set(schema["paths"]["/v1/audit"]["get"]["responses"])


# --- over a real socket: what TestClient cannot send --------------------------------------


def _raw_request(url: str, request: bytes, *, chunks: list[bytes] | None = None) -> bytes:
    """Send bytes as-is to the server and return its full reply (the server closes on error)."""
    host, port = url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=30) as sock:
        sock.sendall(request)
        for chunk in chunks or []:
            try:
                sock.sendall(chunk)
            except OSError:
                break  # the server answered early and closed: that is the point
        reply = b""
        while b"\r\n\r\n" not in reply or not _complete(reply):
            data = sock.recv(65536)
            if not data:
                break
            reply += data
        return reply


def _complete(reply: bytes) -> bool:
    head, _, body = reply.partition(b"\r\n\r\n")
    for line in head.split(b"\r\n"):
        if line.lower().startswith(b"content-length:"):
            return len(body) >= int(line.split(b":")[1])
    return False


def _status_and_body(reply: bytes) -> tuple[int, dict[str, object]]:
    head, _, body = reply.partition(b"\r\n\r\n")
    status = int(head.split(b" ")[1])
    return status, json.loads(body)


def test_real_server_rejects_declared_oversize_without_reading_it(api: ApiHarness) -> None:
    if api.server is None:
        pytest.skip("needs a socket")
    head = (
        b"POST /v1/auth/login HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        b"Content-Type: application/json\r\n"
        + f"Content-Length: {MAX_BODY_BYTES + 1}\r\n\r\n".encode()
    )
    status, body = _status_and_body(_raw_request(api.url, head))
    assert status == 413
    assert body == {"error": {"code": "body-too-large", "message": "request body over 1 MiB"}}


def test_real_server_rejects_chunked_oversize(api: ApiHarness) -> None:
    if api.server is None:
        pytest.skip("needs a socket")
    head = (
        b"POST /v1/auth/login HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        b"Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"
    )
    piece = b"a" * 65536
    chunk = f"{len(piece):x}\r\n".encode() + piece + b"\r\n"
    status, body = _status_and_body(_raw_request(api.url, head, chunks=[chunk] * 20))
    assert status == 413
    assert isinstance(body["error"], dict)
    assert body["error"]["code"] == "body-too-large"


def test_real_server_malformed_json_and_unknown_route(api: ApiHarness) -> None:
    with api.client() as client:
        malformed = client.post(
            "/v1/auth/login", content=b'{"username":', headers={"Content-Type": "application/json"}
        )
        assert malformed.status_code == 400
        assert malformed.json()["error"]["code"] == "malformed-json"
        assert client.get("/v1/nowhere").json()["error"]["code"] == "not-found"
        assert client.put("/v1/health").json()["error"]["code"] == "method-not-allowed"
