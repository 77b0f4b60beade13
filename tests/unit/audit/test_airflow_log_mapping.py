"""How an Airflow event log entry becomes a ledger event, and the credential errors a user can hit."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from scrollintel.audit.airflow_log import api_credentials, to_event
from scrollintel.audit.writer import prepare
from scrollintel.exceptions import ConfigError

pytestmark = pytest.mark.unit

ITEM = {
    "event_log_id": 981,
    "when": "2026-11-22T10:15:30.123456Z",
    "dag_id": "platform_health",
    "task_id": None,
    "run_id": "manual__2026-11-22T10:15:30+00:00",
    "map_index": None,
    "try_number": None,
    "event": "trigger_dag_run",
    "logical_date": None,
    "owner": "co-auditor",
    "extra": json.dumps({"conf": {"customer_email": "someone@example.com"}, "note": "by phone +44 20 7946 0958"}),
}


def test_an_event_keeps_ids_and_the_user_and_drops_request_bodies() -> None:
    event = to_event(ITEM)
    assert event.action == "airflow.trigger_dag_run"
    assert event.subject == "dag:platform_health/run:manual__2026-11-22T10:15:30+00:00"
    assert event.actor == "co-auditor"
    assert event.key == "airflow-event-log:981"
    assert event.at == datetime(2026, 11, 22, 10, 15, 30, 123456, tzinfo=UTC)
    assert event.details == {
        "event_log_id": 981,
        "event": "trigger_dag_run",
        "dag_id": "platform_health",
        "run_id": "manual__2026-11-22T10:15:30+00:00",
        "extra_fields": ["conf", "note"],
    }
    entry = prepare(event)
    assert "example.com" not in entry.details and "7946" not in entry.details


def test_system_events_and_odd_event_names() -> None:
    event = to_event({**ITEM, "dag_id": None, "run_id": None, "owner": None, "event": "cli scheduler!", "extra": "x"})
    assert (event.action, event.subject, event.actor) == ("airflow.cli_scheduler_", "airflow", "airflow")
    assert "extra_fields" not in (event.details or {})


def test_credentials_come_from_the_environment_outside_airflow(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AIRFLOW_CONN_AIRFLOW_API", raising=False)
    monkeypatch.delenv("AIRFLOW_CTX_DAG_ID", raising=False)
    monkeypatch.delenv("SCROLLINTEL_API_URL", raising=False)
    with pytest.raises(ConfigError, match="Airflow REST API URL unknown: set SCROLLINTEL_API_URL"):
        api_credentials()
    monkeypatch.setenv("SCROLLINTEL_API_URL", "http://127.0.0.1:8080/")
    with pytest.raises(ConfigError, match="no Airflow API service user: set the login and password"):
        api_credentials()
    monkeypatch.setenv("SCROLLINTEL_AIRFLOW_API_USER", "svc-audit")
    monkeypatch.setenv("SCROLLINTEL_AIRFLOW_API_PASSWORD", "s3cret")
    creds = api_credentials()
    assert (creds.base_url, creds.username) == ("http://127.0.0.1:8080", "svc-audit")
    assert "s3cret" not in repr(creds)


def test_credentials_from_the_airflow_api_connection(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SCROLLINTEL_API_URL", raising=False)
    monkeypatch.setenv(
        "AIRFLOW_CONN_AIRFLOW_API",
        json.dumps({"conn_type": "http", "host": "airflow.internal", "port": 8080, "login": "svc", "password": "pw"}),
    )
    creds = api_credentials()
    assert (creds.base_url, creds.username, creds.password) == ("http://airflow.internal:8080", "svc", "pw")
