"""The retrying HTTP client: backoff, Retry-After, fail-fast on 401/403, base URLs (httpx mock transport)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from typing import Any

import httpx
import pytest
from airflow.sdk import Connection

from scrollintel.exceptions import ConfigError
from scrollintel.ingest.connectors.errors import SourceAuthError, SourceError
from scrollintel.ingest.connectors.http import HttpApi, RetryPolicy, base_url, parse_retry_after

pytestmark = pytest.mark.unit


def conn(**fields: Any) -> Connection:
    extra = fields.pop("extra", None)
    options = {"host": "api.example.com", "schema": "https", "password": "k3y", **fields}
    return Connection(conn_id="http_test", conn_type="http", extra=json.dumps(extra) if extra else None, **options)


def api(answers: list[httpx.Response | Exception], **kwargs: Any) -> tuple[HttpApi, list[httpx.Request], list[float]]:
    seen: list[httpx.Request] = []
    slept: list[float] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        answer = answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer

    client = HttpApi(
        kwargs.pop("connection", conn()),
        transport=httpx.MockTransport(handler),
        sleep=slept.append,
        draw=lambda: 0.5,
        **kwargs,
    )
    return client, seen, slept


def ok(body: Any = None) -> httpx.Response:
    return httpx.Response(200, json=body if body is not None else {"data": []})


def test_server_errors_and_429_are_retried_with_jittered_backoff() -> None:
    client, seen, slept = api([httpx.Response(503), httpx.Response(429), httpx.Response(500), ok({"x": 1})])
    assert client.get_json("/v1/x", params={"limit": 5}) == {"x": 1}
    assert len(seen) == 4
    assert slept == [0.25, 0.5, 1.0]  # draw 0.5 of 0.5, 1, 2 s
    assert client.retries == 3
    assert seen[0].headers["authorization"] == "Bearer k3y"
    assert str(seen[0].url) == "https://api.example.com/v1/x?limit=5"


def test_retry_after_seconds_and_dates_are_honoured() -> None:
    later = format_datetime(datetime.now(UTC) + timedelta(seconds=30), usegmt=True)
    client, _seen, slept = api(
        [httpx.Response(429, headers={"Retry-After": "7"}), httpx.Response(503, headers={"Retry-After": later}), ok()]
    )
    client.get_json("/x")
    assert slept[0] == 7.0
    assert 28 <= slept[1] <= 30


def test_transport_errors_are_retried() -> None:
    client, seen, slept = api([httpx.ConnectError("refused"), httpx.ReadTimeout("slow"), ok()])
    client.get_json("/x")
    assert len(seen) == 3 and len(slept) == 2


@pytest.mark.parametrize(("status", "hint"), [(401, "is missing or wrong"), (403, "is not allowed to read this")])
def test_auth_failures_are_not_retried(status: int, hint: str) -> None:
    client, seen, slept = api([httpx.Response(status, json={"error": {"message": "bad key"}}), ok()])
    with pytest.raises(SourceAuthError) as raised:
        client.get_json("/v1/events")
    message = str(raised.value)
    assert message.startswith(f"GET https://api.example.com/v1/events was refused: HTTP {status}")
    assert "(bad key)" in message and hint in message and "'http_test'" in message and "not retried" in message
    assert "k3y" not in message
    assert len(seen) == 1 and slept == []


def test_other_client_errors_fail_at_once_with_the_detail() -> None:
    client, seen, _ = api([httpx.Response(404, text="no such endpoint\nat all")])
    with pytest.raises(
        SourceError, match=r"GET https://api.example.com/x failed: HTTP 404 Not Found \(no such endpoint at all\)"
    ):
        client.get_json("/x")
    assert len(seen) == 1


def test_giving_up_names_the_last_answer() -> None:
    client, seen, _ = api([httpx.Response(502)] * 3, policy=RetryPolicy(max_attempts=3))
    with pytest.raises(SourceError, match="failed after 3 attempts: last answer HTTP 502"):
        client.get_json("/x")
    assert len(seen) == 3
    client, _, _ = api([httpx.ConnectError("refused")] * 2, policy=RetryPolicy(max_attempts=2))
    with pytest.raises(SourceError, match="failed after 2 attempts: ConnectError"):
        client.get_json("/x")


def test_too_long_retry_after_fails_instead_of_blocking() -> None:
    client, _, slept = api([httpx.Response(429, headers={"Retry-After": "3600"})])
    with pytest.raises(SourceError, match="Retry-After 3600 s, longer than the 300 s this task waits"):
        client.get_json("/x")
    assert slept == []


def test_non_json_answer_is_a_source_error() -> None:
    client, _, _ = api([httpx.Response(200, text="<html>", headers={"content-type": "text/html"})])
    with pytest.raises(SourceError, match=r"did not return JSON \(HTTP 200, text/html\)"):
        client.get_json("/x")


def test_extra_configures_timeout_headers_and_retries() -> None:
    connection = conn(extra={"timeout": 5, "headers": {"X-Team": "data"}, "retry": {"max_attempts": 2}})
    client, seen, _ = api([httpx.Response(500), httpx.Response(500)], connection=connection)
    assert client.policy.max_attempts == 2
    with pytest.raises(SourceError):
        client.get_json("/x")
    assert seen[0].headers["x-team"] == "data"
    with pytest.raises(ConfigError, match="extra 'retry' must be a mapping with keys from"):
        HttpApi(conn(extra={"retry": {"attempts": 2}}))
    with pytest.raises(ConfigError, match="extra 'timeout' must be a number"):
        HttpApi(conn(extra={"timeout": "soon"}))


def test_no_password_sends_no_authorization() -> None:
    client, seen, _ = api([ok()], connection=conn(password=None))
    client.get_json("/x")
    assert "authorization" not in seen[0].headers


@pytest.mark.parametrize(
    ("fields", "url"),
    [
        ({"host": "127.0.0.1", "port": 8765, "schema": "http"}, "http://127.0.0.1:8765"),
        ({"host": "api.example.com", "schema": None}, "https://api.example.com"),
        ({"host": "https://api.example.com/base/", "schema": None}, "https://api.example.com/base"),
        ({"host": "api.example.com", "schema": "public"}, "https://api.example.com"),
    ],
)
def test_base_url(fields: dict[str, Any], url: str) -> None:
    assert base_url(conn(**fields)) == url


def test_base_url_needs_a_host() -> None:
    with pytest.raises(ConfigError, match="connection 'http_test' has no host"):
        base_url(conn(host=None))


@pytest.mark.parametrize(
    ("header", "seconds"),
    [(None, None), ("", None), ("12", 12.0), ("1.5", 1.5), ("-3", 0.0), ("soon", None)],
)
def test_parse_retry_after(header: str | None, seconds: float | None) -> None:
    assert parse_retry_after(header) == seconds


def test_parse_retry_after_date_in_the_past_is_zero() -> None:
    now = datetime(2026, 1, 1, tzinfo=UTC)
    assert parse_retry_after("Wed, 31 Dec 2025 23:59:00 GMT", now=now) == 0.0
    assert parse_retry_after("Thu, 01 Jan 2026 00:00:10 GMT", now=now) == 10.0


def test_backoff_is_full_jitter_under_a_doubling_cap() -> None:
    policy = RetryPolicy(backoff_base_s=1, backoff_max_s=10)
    assert [policy.backoff(attempt, 0.999) for attempt in range(1, 7)] == pytest.approx(
        [0.999, 1.998, 3.996, 7.992, 9.99, 9.99]
    )
    assert policy.backoff(3, 0.0) == 0.0
    with pytest.raises(ConfigError, match="max_attempts must be >= 1"):
        RetryPolicy(max_attempts=0)


@pytest.mark.parametrize(("status", "retried"), [(408, True), (501, False), (505, False), (599, True), (400, False)])
def test_which_statuses_are_retried(status: int, retried: bool) -> None:
    client, seen, _ = api([httpx.Response(status), ok()])
    if retried:
        client.get_json("/x")
        assert len(seen) == 2
    else:
        with pytest.raises(SourceError, match=f"HTTP {status}"):
            client.get_json("/x")
        assert len(seen) == 1
