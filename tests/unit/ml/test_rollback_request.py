"""``scrollintel model rollback``: triggers the rollback DAG through Airflow's REST API (a loopback stand-in here)."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import Any

import pytest
from click.testing import CliRunner

from scrollintel.cli import main

pytestmark = pytest.mark.unit


class _Airflow(BaseHTTPRequestHandler):
    calls: list[tuple[str, dict[str, Any], str | None]] = []
    trigger_status = 200

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])) or b"{}")
        type(self).calls.append((self.path, body, self.headers.get("Authorization")))
        if self.path == "/auth/token":
            ok = body.get("password") == "secret"
            self._answer(201 if ok else 401, {"access_token": "t0k"} if ok else {"detail": "no"})
        elif self.path == "/api/v2/dags/ml_churn_rollback/dagRuns":
            self._answer(type(self).trigger_status, {"dag_run_id": "manual__rb1"})
        else:
            self._answer(404, {"detail": "not found"})

    def _answer(self, status: int, payload: dict[str, Any]) -> None:
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def airflow() -> Iterator[str]:
    _Airflow.calls = []
    _Airflow.trigger_status = 200
    server = HTTPServer(("127.0.0.1", 0), _Airflow)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()


def run(*args: str) -> Any:
    return CliRunner().invoke(main, ["model", "rollback", *args], catch_exceptions=False)


def test_rollback_triggers_the_dag_as_the_requester_with_the_reason(airflow: str) -> None:
    result = run(
        "churn", "--reason", "v3 flags too many", "--as", "ml.engineer", "--api-url", airflow, "--password", "secret"
    )

    assert result.exit_code == 0, result.output
    assert "Triggered ml_churn_rollback as ml.engineer: run manual__rb1" in result.output
    (_, login, _), (path, body, auth) = _Airflow.calls
    assert login == {"username": "ml.engineer", "password": "secret"}
    assert (path, auth) == ("/api/v2/dags/ml_churn_rollback/dagRuns", "Bearer t0k")
    assert body["conf"] == {"reason": "v3 flags too many"} and body["logical_date"] is None


def test_an_unknown_model_a_refused_sign_in_or_trigger_is_an_error_that_says_so(airflow: str) -> None:
    unknown = run("fraud", "--reason", "x", "--api-url", airflow, "--password", "secret")
    refused = run("churn", "--reason", "x", "--api-url", airflow, "--password", "wrong")
    _Airflow.trigger_status = 403
    forbidden = run("churn", "--reason", "x", "--api-url", airflow, "--password", "secret")

    assert unknown.exit_code == 1 and "no model 'fraud' in governance/models.yaml" in unknown.output
    assert refused.exit_code == 1 and "cannot sign in to Airflow" in refused.output and "HTTP 401" in refused.output
    assert forbidden.exit_code == 1 and "cannot trigger ml_churn_rollback (HTTP 403)" in forbidden.output
