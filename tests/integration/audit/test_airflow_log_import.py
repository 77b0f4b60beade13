"""Import of Airflow's event log over HTTP, against a stand-in speaking the same API on loopback.

The stand-in implements what the importer uses of Airflow 3's REST API: ``POST /auth/token``
and ``GET /api/v2/eventLogs`` with ``order_by``, ``limit`` (max 100), ``offset`` and ``after``.
The end-to-end check against a running Airflow (a UI trigger appears in the ledger) belongs to
the e2e suite.
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from scrollintel.audit.airflow_log import AirflowApi, AirflowApiError, ApiCredentials, import_event_log
from scrollintel.audit.verify import verify_ledger
from tests.integration.audit.conftest import connect

pytestmark = pytest.mark.integration

USER, PASSWORD = "svc-audit", "pw-for-tests"
T0 = datetime(2026, 11, 22, 8, 0, tzinfo=UTC)


class FakeAirflow(ThreadingHTTPServer):
    """Airflow's token and event log endpoints, over real HTTP."""

    def __init__(self) -> None:
        self.events: list[dict[str, Any]] = []
        self.tokens: set[str] = set()
        self.logins = 0
        self.forbid = False
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def _send(self, status: int, payload: object) -> None:
                body = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                if self.path != "/auth/token" or (body.get("username"), body.get("password")) != (USER, PASSWORD):
                    self._send(401, {"detail": "Invalid credentials"})
                    return
                fake.logins += 1
                token = f"token-{fake.logins}"
                fake.tokens.add(token)
                self._send(201, {"access_token": token})

            def do_GET(self) -> None:
                url = urlsplit(self.path)
                token = (self.headers.get("Authorization") or "").removeprefix("Bearer ")
                if token not in fake.tokens:
                    self._send(401, {"detail": "Not authenticated"})
                    return
                if fake.forbid:
                    self._send(403, {"detail": "Forbidden"})
                    return
                query = {k: v[0] for k, v in parse_qs(url.query).items()}
                assert url.path == "/api/v2/eventLogs" and query["order_by"] == "event_log_id"
                rows = sorted(fake.events, key=lambda e: e["event_log_id"])
                if "after" in query:
                    after = datetime.fromisoformat(query["after"])
                    rows = [e for e in rows if datetime.fromisoformat(e["when"]) > after]
                limit, offset = min(int(query["limit"]), 100), int(query["offset"])
                self._send(200, {"event_logs": rows[offset : offset + limit], "total_entries": len(rows)})

            def log_message(self, *args: Any) -> None:
                return

        super().__init__(("127.0.0.1", 0), Handler)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"

    def add(self, event_id: int, minutes: float, event: str = "trigger_dag_run", owner: str = "admin") -> None:
        self.events.append(
            {
                "event_log_id": event_id,
                "when": (T0 + timedelta(minutes=minutes)).isoformat(),
                "dag_id": "platform_health",
                "task_id": None,
                "run_id": f"manual__{event_id}",
                "map_index": None,
                "try_number": None,
                "event": event,
                "logical_date": None,
                "owner": owner,
                "extra": json.dumps({"conf": {"note": "private"}}),
                "dag_display_name": "platform_health",
                "task_display_name": None,
            }
        )


@pytest.fixture
def airflow() -> Iterator[FakeAirflow]:
    server = FakeAirflow()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def api(server: FakeAirflow, password: str = PASSWORD) -> AirflowApi:
    return AirflowApi(ApiCredentials(server.url, USER, password))


def entries(url: str) -> list[tuple[Any, ...]]:
    with connect(url) as conn:
        return conn.execute(
            "SELECT seq, actor, action, subject, details, event_key FROM governance.audit_entry ORDER BY seq"
        ).fetchall()


def test_import_is_incremental_idempotent_and_keeps_only_ids(
    airflow: FakeAirflow, audit_env: Path, ledger_url: str
) -> None:
    for event_id in range(1, 251):
        airflow.add(event_id, minutes=event_id / 10)
    first = import_event_log(ledger_url, api(airflow))
    assert (first.fetched, first.imported, first.skipped, first.last_event_id) == (250, 250, 0, 250)
    again = import_event_log(ledger_url, api(airflow))
    assert again.imported == 0
    airflow.add(252, minutes=30, event="clear", owner="co-officer")
    airflow.add(251, minutes=29.5, event="post_connection")  # committed late, with a lower id
    third = import_event_log(ledger_url, api(airflow))
    assert third.imported == 2
    rows = entries(ledger_url)
    assert len(rows) == 252
    assert rows[0][1:4] == ("admin", "airflow.trigger_dag_run", "dag:platform_health/run:manual__1")
    assert [r[5] for r in rows[-2:]] == ["airflow-event-log:251", "airflow-event-log:252"]
    assert rows[-1][1:3] == ("co-officer", "airflow.clear")
    assert all("private" not in r[4] for r in rows)
    assert json.loads(rows[0][4])["extra_fields"] == ["conf"]
    with connect(ledger_url) as conn:
        cursor = conn.execute(
            "SELECT last_event_id, imported_total FROM governance.audit_import_cursor "
            "WHERE source = 'airflow-event-log'"
        ).fetchone()
    assert cursor == (252, 252)
    assert verify_ledger(ledger_url, use_anchors=False).ok


def test_import_with_credentials_from_the_environment(
    airflow: FakeAirflow, audit_env: Path, ledger_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SCROLLINTEL_API_URL", airflow.url)
    monkeypatch.setenv("SCROLLINTEL_AIRFLOW_API_USER", USER)
    monkeypatch.setenv("SCROLLINTEL_AIRFLOW_API_PASSWORD", PASSWORD)
    airflow.add(1, minutes=1)
    assert import_event_log(ledger_url).imported == 1


def test_an_expired_token_is_renewed_once(airflow: FakeAirflow, audit_env: Path, ledger_url: str) -> None:
    airflow.add(1, minutes=1)
    client = api(airflow)
    import_event_log(ledger_url, client)
    airflow.tokens.clear()  # tokens expired
    airflow.add(2, minutes=2)
    assert import_event_log(ledger_url, client).imported == 1
    assert airflow.logins == 2


def test_api_errors_say_what_to_fix(airflow: FakeAirflow, audit_env: Path, ledger_url: str) -> None:
    airflow.add(1, minutes=1)
    with pytest.raises(AirflowApiError, match="POST /auth/token as 'svc-audit': HTTP 401 \\(check the airflow_api"):
        import_event_log(ledger_url, api(airflow, password="wrong"))
    airflow.forbid = True
    with pytest.raises(AirflowApiError, match=r"HTTP 403, user 'svc-audit' may not read it .*'can read on Audit Logs'"):
        import_event_log(ledger_url, api(airflow))
    unreachable = AirflowApi(ApiCredentials("http://127.0.0.1:9", USER, PASSWORD))
    with pytest.raises(AirflowApiError, match=re.escape("POST http://127.0.0.1:9/auth/token failed: ConnectError")):
        import_event_log(ledger_url, unreachable)
    assert entries(ledger_url) == []
