"""The demo marketing API: pagination, authentication, rate limiting, determinism."""

from __future__ import annotations

import time
from datetime import UTC, datetime

import pytest
from click.testing import CliRunner
from fastapi.testclient import TestClient

from scrollintel.demo import AS_OF
from scrollintel.demo.cli import demo_group
from scrollintel.demo.marketing import CHANNELS, EVENT_TYPES, MAX_PAGE_SIZE, EventSource, create_marketing_app
from scrollintel.exceptions import ConfigError

pytestmark = pytest.mark.unit

KEY = "test-key-123"
AUTH = {"Authorization": f"Bearer {KEY}"}


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def _client(**kwargs: object) -> TestClient:
    options: dict[str, object] = {"seed": 7, "n_events": 2_500, "api_key": KEY, "rate_limit_per_minute": 10_000}
    options.update(kwargs)
    return TestClient(create_marketing_app(**options))  # type: ignore[arg-type]


def _walk(client: TestClient, limit: int) -> tuple[list[dict], int]:
    events: list[dict] = []
    cursor = ""
    pages = 0
    while True:
        response = client.get("/v1/events", params={"cursor": cursor, "limit": limit}, headers=AUTH)
        assert response.status_code == 200, response.text
        body = response.json()
        assert set(body) == {"data", "next_cursor", "has_more"}
        events.extend(body["data"])
        pages += 1
        if not body["has_more"]:
            assert body["next_cursor"] is None
            return events, pages
        cursor = body["next_cursor"]
        assert isinstance(cursor, str) and cursor


@pytest.mark.parametrize(("limit", "pages"), [(MAX_PAGE_SIZE, 3), (333, 8), (250, 10)])
def test_pagination_returns_every_event_exactly_once_in_key_order(limit: int, pages: int) -> None:
    events, walked = _walk(_client(), limit)
    assert walked == pages
    ids = [e["event_id"] for e in events]
    assert len(ids) == 2_500
    assert len(set(ids)) == 2_500
    keys = [(e["occurred_at"], e["event_id"]) for e in events]
    assert keys == sorted(keys)


def test_events_have_the_documented_fields_and_values() -> None:
    client = _client(n_customers=500)
    events, _ = _walk(client, 1000)
    campaigns = {c["campaign_id"]: c for c in client.get("/v1/campaigns", headers=AUTH).json()["data"]}
    types = set()
    for event in events:
        assert set(event) == {
            "event_id",
            "customer_id",
            "campaign_id",
            "channel",
            "event_type",
            "occurred_at",
            "cost",
        }
        assert 1 <= event["customer_id"] <= 500
        assert event["channel"] in CHANNELS
        assert event["channel"] == campaigns[event["campaign_id"]]["channel"]
        assert event["event_type"] in EVENT_TYPES
        types.add(event["event_type"])
        occurred = datetime.strptime(event["occurred_at"], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
        assert occurred < AS_OF
        assert isinstance(event["cost"], float) and event["cost"] >= 0
        if event["event_type"] == "conversion":
            assert event["cost"] == 0
    assert types == set(EVENT_TYPES)


def test_same_seed_serves_the_same_events_and_cursors_survive_a_restart() -> None:
    first = _client().get("/v1/events", params={"limit": 50}, headers=AUTH).json()
    restarted = _client()
    assert restarted.get("/v1/events", params={"limit": 50}, headers=AUTH).json() == first
    other_seed = _client(seed=8).get("/v1/events", params={"limit": 50}, headers=AUTH).json()
    assert other_seed["data"] != first["data"]
    following = restarted.get("/v1/events", params={"limit": 50, "cursor": first["next_cursor"]}, headers=AUTH).json()
    assert following["data"][0]["occurred_at"] > first["data"][-1]["occurred_at"]


def test_events_are_computed_lazily_so_large_streams_are_cheap() -> None:
    started = time.perf_counter()
    source = EventSource(seed=7, n_events=50_000_000)
    tail = source.page(49_999_000, 1000)
    assert len(tail) == 1000
    cursor = source.encode_cursor(49_999_499)
    assert source.position_after(cursor) == 49_999_500
    assert time.perf_counter() - started < 5


def test_campaigns_use_the_same_envelope() -> None:
    body = _client().get("/v1/campaigns", headers=AUTH).json()
    assert body["has_more"] is False and body["next_cursor"] is None
    assert 5 <= len(body["data"]) <= 20
    for campaign in body["data"]:
        assert campaign["channel"] in CHANNELS
        assert campaign["started_on"] <= campaign["ended_on"]


@pytest.mark.parametrize(
    "headers",
    [{}, {"Authorization": "Bearer wrong"}, {"Authorization": KEY}, {"Authorization": f"Basic {KEY}"}],
    ids=["missing", "wrong-key", "no-scheme", "basic"],
)
@pytest.mark.parametrize("path", ["/v1/events", "/v1/campaigns"])
def test_requests_without_the_api_key_get_401_json(headers: dict[str, str], path: str) -> None:
    response = _client().get(path, headers=headers)
    assert response.status_code == 401
    assert response.json() == {
        "error": {"code": "unauthorized", "message": "missing or invalid API key (Authorization: Bearer <key>)"}
    }
    assert response.headers["WWW-Authenticate"] == "Bearer"
    assert "X-RateLimit-Limit" in response.headers


def test_health_needs_no_key() -> None:
    response = _client().get("/health")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "events": 2_500}


def test_rate_limit_headers_and_429_with_retry_after() -> None:
    clock = FakeClock()
    client = _client(rate_limit_per_minute=3, clock=clock)
    remaining = []
    for _ in range(3):
        response = client.get("/v1/events", params={"limit": 1}, headers=AUTH)
        assert response.status_code == 200
        assert response.headers["X-RateLimit-Limit"] == "3"
        remaining.append(response.headers["X-RateLimit-Remaining"])
        assert int(response.headers["X-RateLimit-Reset"]) > 0
    assert remaining == ["2", "1", "0"]

    limited = client.get("/v1/events", headers=AUTH)
    assert limited.status_code == 429
    assert limited.headers["Retry-After"] == "20"  # 3 per minute: one token every 20 s
    assert limited.headers["X-RateLimit-Remaining"] == "0"
    assert limited.headers["X-RateLimit-Reset"] == "60"
    assert limited.json()["error"]["code"] == "rate_limited"
    assert "3 requests per minute" in limited.json()["error"]["message"]

    clock.now += 20
    assert client.get("/v1/campaigns", headers=AUTH).status_code == 200
    assert client.get("/v1/campaigns", headers=AUTH).status_code == 429
    assert client.get("/health").status_code == 200  # probes are never limited


def test_rate_limit_is_per_key_and_anonymous_callers_have_their_own_bucket() -> None:
    clock = FakeClock()
    client = _client(rate_limit_per_minute=2, clock=clock)
    for _ in range(2):
        assert client.get("/v1/events", headers={"Authorization": "Bearer guess"}).status_code == 401
    assert client.get("/v1/events", headers={"Authorization": "Bearer guess"}).status_code == 429
    assert client.get("/v1/events", headers=AUTH).status_code == 200


def test_bad_parameters_get_json_errors() -> None:
    client = _client()
    too_many = client.get("/v1/events", params={"limit": MAX_PAGE_SIZE + 1}, headers=AUTH)
    assert too_many.status_code == 422
    assert too_many.json()["error"]["code"] == "invalid_request"
    assert too_many.json()["error"]["message"] == "invalid limit"
    assert "X-RateLimit-Remaining" in too_many.headers
    for cursor in ["garbage", "eyJ0IjoxfQ", "W10"]:
        bad = client.get("/v1/events", params={"cursor": cursor}, headers=AUTH)
        assert bad.status_code == 400, cursor
        assert bad.json() == {
            "error": {"code": "invalid_cursor", "message": "cursor is not valid; pass back next_cursor unchanged"}
        }


def test_app_factory_rejects_an_empty_key_and_a_zero_limit() -> None:
    with pytest.raises(ConfigError, match="non-empty API key"):
        create_marketing_app(seed=1, n_events=10, api_key="", rate_limit_per_minute=10)
    with pytest.raises(ConfigError, match="rate_limit_per_minute must be >= 1, got 0"):
        create_marketing_app(seed=1, n_events=10, api_key="k", rate_limit_per_minute=0)


def test_serve_marketing_refuses_to_start_without_a_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SCROLLINTEL_MARKETING_API_KEY", raising=False)
    result = CliRunner().invoke(demo_group, ["serve-marketing", "--port", "1"])
    assert result.exit_code == 2
    assert "set SCROLLINTEL_MARKETING_API_KEY" in result.output
