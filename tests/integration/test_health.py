"""Connection health checks against real systems: PostgreSQL, an HTTP API, a folder."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from scrollintel.health import check_connection, latest_results, record_results

pytestmark = pytest.mark.integration

API_KEY = "test-key-123"


class _Api(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        if self.headers.get("Authorization") != f"Bearer {API_KEY}":
            self.send_response(401)
            self.end_headers()
            return
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(b'{"data": []}')

    def log_message(self, *args: object) -> None:
        return


@pytest.fixture(scope="module")
def api_port() -> Iterator[int]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Api)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server.server_address[1]
    server.shutdown()


def _conn(monkeypatch: pytest.MonkeyPatch, conn_id: str, value: dict[str, object]) -> None:
    monkeypatch.setenv(f"AIRFLOW_CONN_{conn_id.upper()}", json.dumps(value))


def _pg_conn(url: str) -> dict[str, object]:
    from sqlalchemy.engine import make_url

    parsed = make_url(url)
    return {
        "conn_type": "postgres",
        "host": parsed.host,
        "port": parsed.port,
        "login": parsed.username,
        "password": parsed.password,
        "schema": parsed.database,
    }


@pytest.fixture
def warehouse(pg_server) -> str:  # type: ignore[no-untyped-def]
    from scrollintel import migrate

    url = pg_server.create_database()
    migrate.upgrade(url)
    return url


def test_postgres_ok_and_wrong_password(monkeypatch: pytest.MonkeyPatch, warehouse: str) -> None:
    _conn(monkeypatch, "pg_good", _pg_conn(warehouse))
    good = check_connection("pg_good")
    assert good.ok, good.detail
    assert good.kind == "postgres"
    assert "PostgreSQL" in good.detail
    _conn(monkeypatch, "pg_bad", {**_pg_conn(warehouse), "password": "wrong"})
    bad = check_connection("pg_bad")
    assert not bad.ok
    assert "password authentication failed" in bad.detail
    assert "wrong" not in bad.detail


def test_http_ok_and_rejected_key(monkeypatch: pytest.MonkeyPatch, api_port: int) -> None:
    base = {"conn_type": "http", "host": "127.0.0.1", "port": api_port, "schema": "http"}
    _conn(monkeypatch, "api_good", {**base, "password": API_KEY, "extra": {"health_path": "/v1/campaigns"}})
    good = check_connection("api_good")
    assert good.ok, good.detail
    assert good.detail == "GET /v1/campaigns -> HTTP 200"
    _conn(monkeypatch, "api_bad", {**base, "password": "nope"})
    bad = check_connection("api_bad")
    assert not bad.ok
    assert "credentials rejected" in bad.detail and "HTTP 401" in bad.detail


def test_folder_ok_and_missing(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    (tmp_path / "a.csv").write_text("x\n1\n")
    _conn(monkeypatch, "fs_good", {"conn_type": "fs", "extra": {"path": str(tmp_path)}})
    good = check_connection("fs_good")
    assert good.ok and "1 files" in good.detail
    _conn(monkeypatch, "fs_bad", {"conn_type": "fs", "extra": {"path": str(tmp_path / "missing")}})
    bad = check_connection("fs_bad")
    assert not bad.ok and "does not exist" in bad.detail


def test_unknown_connection_is_a_failed_check() -> None:
    result = check_connection("no_such_connection")
    assert not result.ok
    assert "no_such_connection" in result.detail


def test_results_are_recorded_once_per_run(monkeypatch: pytest.MonkeyPatch, warehouse: str) -> None:
    _conn(monkeypatch, "pg_good", _pg_conn(warehouse))
    results = [check_connection("pg_good"), check_connection("no_such_connection")]
    assert record_results(warehouse, "manual__1", results) == 2
    assert record_results(warehouse, "manual__1", results) == 2  # a retried task replaces its rows
    import psycopg

    with psycopg.connect(warehouse.replace("postgresql+psycopg", "postgresql")) as conn:
        rows = conn.execute("SELECT count(*) FROM governance.health_check WHERE run_id = 'manual__1'").fetchone()
    assert rows == (2,)
    latest = {row["check_name"]: row for row in latest_results(warehouse)}
    assert set(latest) == {"pg_good", "no_such_connection"}
    assert latest["pg_good"]["ok"] is True
    assert latest["no_such_connection"]["ok"] is False
