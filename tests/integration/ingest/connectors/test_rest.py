"""REST connector against the demo marketing API served over HTTP (uvicorn on loopback)."""

from __future__ import annotations

import csv
import io
import time
from pathlib import Path
from typing import Any

import pytest
import yaml
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from scrollintel.config.sources import RestSource
from scrollintel.demo.marketing import EventSource, create_marketing_app
from scrollintel.ingest.connectors.base import CursorState
from scrollintel.ingest.connectors.errors import SourceAuthError, SourceError
from scrollintel.ingest.connectors.http import RetryPolicy
from scrollintel.ingest.connectors.rest import RestConnector
from scrollintel.settings import governance_dir

from .conftest import FaultInjector, make_connection, serve

pytestmark = pytest.mark.integration

KEY = "integration-key"
SEED = 11
FAST = RetryPolicy(backoff_base_s=0.001, backoff_max_s=0.01)


def marketing_source(page_size: int = 1000) -> RestSource:
    """The demo's own source file, with a smaller page size to get more pages."""
    data = yaml.safe_load((governance_dir() / "sources" / "marketing.yaml").read_text())
    data["endpoints"][0]["page_size"] = page_size
    return RestSource.model_validate(data)


def connection(base_url: str, key: str = KEY) -> Any:
    host, port = base_url.removeprefix("http://").split(":")
    return make_connection("http_marketing", "http", host=host, port=int(port), schema="http", password=key)


def event_ids(chunks: list[Any]) -> list[str]:
    return [row[0] for chunk in chunks for row in csv.reader(io.StringIO(chunk.data.decode()))]


@pytest.fixture(scope="module")
def api() -> Any:
    app = create_marketing_app(seed=SEED, n_events=20_000, api_key=KEY, rate_limit_per_minute=1_000_000)
    with serve(app) as url:
        yield url


def test_discover_infers_types_from_the_first_pages(api: str) -> None:
    connector = RestConnector(marketing_source(), connection(api))
    schema = connector.discover("events")
    assert [(c.name, c.source_type, c.pg_type) for c in schema.columns] == [
        ("event_id", "json:string", "text"),
        ("customer_id", "json:integer", "bigint"),
        ("campaign_id", "json:string", "text"),
        ("channel", "json:string", "text"),
        ("event_type", "json:string", "text"),
        ("occurred_at", "json:datetime", "timestamptz"),
        ("cost", "json:number", "double precision"),
    ]
    assert connector.discover("events") == schema
    campaigns = connector.discover("campaigns")
    assert campaigns.column("started_on").pg_type == "date"
    assert campaigns.column("daily_budget").source_type == "json:number"


def test_all_events_once_when_ten_percent_of_pages_fail(copy_target: Any) -> None:
    app = FaultInjector(
        create_marketing_app(seed=SEED, n_events=20_000, api_key=KEY, rate_limit_per_minute=1_000_000),
        rate=0.1,
        prefix="/v1/events",
        seed=3,
    )
    with serve(app) as url:
        connector = RestConnector(marketing_source(page_size=200), connection(url), retry=FAST)
        schema = connector.discover("events")
        before = app.total
        chunks = list(connector.extract("events", schema, CursorState(), chunk_rows=1_000))
    ids = event_ids(chunks)
    expected = [event["event_id"] for event in EventSource(seed=SEED, n_events=20_000).page(0, 20_000)]
    assert ids == expected, "every event exactly once, in order"
    assert 0.04 <= app.total / (app.total + app.passed) <= 0.2, app.injected
    assert {429, 500, 502, 503, 504} & set(app.injected)
    assert connector.last_retries == app.total - before, "one retry per injected fault"
    assert all(chunk.rows <= 1_000 for chunk in chunks)
    rows = copy_target(schema, chunks, order_by="occurred_at")
    assert len(rows) == 20_000
    assert rows[0][5].tzinfo is not None and isinstance(rows[0][6], float) and isinstance(rows[0][1], int)


def test_resume_token_continues_after_the_chunk(api: str) -> None:
    connector = RestConnector(marketing_source(page_size=500), connection(api))
    schema = connector.discover("events")
    chunks = list(connector.extract("events", schema, CursorState(), chunk_rows=2_000))
    assert len(chunks) == 10
    assert all(chunk.token for chunk in chunks)
    resumed = list(connector.extract("events", schema, CursorState(token=chunks[2].token), chunk_rows=2_000))
    assert event_ids(chunks[:3]) + event_ids(resumed) == event_ids(chunks)
    # After the last page the token is the cursor that fetched it: the next run re-reads that
    # page (the merge makes it a no-op) and then continues with whatever came after it.
    again = list(connector.extract("events", schema, CursorState(token=chunks[-1].token), chunk_rows=2_000))
    assert event_ids(again) == event_ids(chunks)[-500:]


def test_endpoint_without_paging_is_one_chunk_without_token(api: str) -> None:
    connector = RestConnector(marketing_source(), connection(api))
    schema = connector.discover("campaigns")
    (chunk,) = connector.extract("campaigns", schema, CursorState(), chunk_rows=1_000)
    assert chunk.rows == 12
    assert chunk.token is None


def test_wrong_key_fails_fast_without_retrying(api: str) -> None:
    slept: list[float] = []
    connector = RestConnector(marketing_source(), connection(api, key="wrong"), sleep=slept.append)
    schema = RestConnector(marketing_source(), connection(api)).discover("events")
    with pytest.raises(SourceAuthError) as raised:
        list(connector.extract("events", schema, CursorState(token="abc"), chunk_rows=100))
    message = str(raised.value)
    assert "HTTP 401" in message
    assert "missing or invalid API key" in message
    assert "connection 'http_marketing'" in message
    assert "not retried" in message
    assert connector.last_requests == 1
    assert slept == []


def test_retry_after_is_honoured() -> None:
    seen: list[float] = []
    app = FastAPI()

    @app.get("/v1/events")
    def events(request: Request) -> Any:
        seen.append(time.monotonic())
        if len(seen) == 1:
            return JSONResponse({"error": "slow down"}, status_code=429, headers={"Retry-After": "2"})
        return {"data": [{"event_id": "a"}], "next_cursor": None}

    slept: list[float] = []

    def sleep(seconds: float) -> None:
        slept.append(seconds)
        time.sleep(seconds)

    with serve(app) as url:
        connector = RestConnector(marketing_source(), connection(url), sleep=sleep)
        connector.discover("events")
    assert slept == [2.0]
    assert seen[1] - seen[0] >= 2.0, "the second request came after Retry-After"


def test_demo_rate_limit_is_waited_out(api: str) -> None:
    # 60 requests of burst, then one per second: 65 pages need about five waits of Retry-After.
    app = create_marketing_app(seed=SEED, n_events=650, api_key=KEY, rate_limit_per_minute=60)
    slept: list[float] = []

    def sleep(seconds: float) -> None:
        slept.append(seconds)
        time.sleep(seconds)

    schema = RestConnector(marketing_source(), connection(api)).discover("events")
    with serve(app) as url:
        connector = RestConnector(marketing_source(page_size=10), connection(url), sleep=sleep)
        chunks = list(connector.extract("events", schema, CursorState(), chunk_rows=100))
    assert sum(chunk.rows for chunk in chunks) == 650
    assert len(set(event_ids(chunks))) == 650
    assert slept, "the limiter must have answered 429"
    assert all(seconds == 1.0 for seconds in slept), slept  # Retry-After, not the backoff


def test_retry_after_beyond_the_limit_fails_at_once() -> None:
    app = FastAPI()

    @app.get("/v1/events")
    def events() -> Any:
        return JSONResponse({"error": "come back tomorrow"}, status_code=429, headers={"Retry-After": "86400"})

    with serve(app) as url:
        connector = RestConnector(marketing_source(), connection(url), sleep=lambda _: None)
        with pytest.raises(SourceError, match=r"HTTP 429 with Retry-After 86400 s, longer than the 300 s"):
            connector.discover("events")


def test_persistent_server_errors_give_up_with_the_last_status() -> None:
    app = FastAPI()

    @app.get("/v1/events")
    def events() -> Any:
        return JSONResponse({"error": "down"}, status_code=503)

    with serve(app) as url:
        connector = RestConnector(
            marketing_source(), connection(url), retry=RetryPolicy(max_attempts=3, backoff_base_s=0.001)
        )
        with pytest.raises(SourceError, match=r"failed after 3 attempts: last answer HTTP 503"):
            connector.discover("events")
        assert connector.last_requests == 3


def test_test_connection(api: str) -> None:
    ok, message = RestConnector(marketing_source(), connection(api)).test_connection()
    assert ok, message
    assert message.endswith("/v1/events: HTTP 200, 1 record(s) on the first page")
    ok, message = RestConnector(marketing_source(), connection(api, key="wrong")).test_connection()
    assert not ok
    assert "HTTP 401" in message


def test_unreachable_api_is_a_source_error(tmp_path: Path) -> None:
    from scrollintel.platform.postgres import free_port

    url = f"http://127.0.0.1:{free_port()}"
    connector = RestConnector(
        marketing_source(), connection(url), retry=RetryPolicy(max_attempts=2, backoff_base_s=0.001)
    )
    ok, message = connector.test_connection()
    assert not ok
    assert "failed after 2 attempts: ConnectError" in message
