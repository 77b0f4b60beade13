"""``AIRFLOW_CONN_<ID>`` read without importing Airflow gives the fields Airflow's own parser gives."""

from __future__ import annotations

import json

import pytest

from scrollintel.ingest.pipeline import env_connection

pytestmark = pytest.mark.unit

URIS = [
    "postgres://reader:p%40ss@db.example:5433/shop?sslmode=require",
    "postgresql://u@localhost/db",
    "http://:key@127.0.0.1:8000/http",
    "aws://?__extra__=%7B%22region_name%22%3A+%22eu-west-1%22%7D",
    "http://https%3A%2F%2Fapi.example",
]


@pytest.mark.parametrize("uri", URIS)
def test_uri_form_matches_airflow(uri: str, monkeypatch: pytest.MonkeyPatch) -> None:
    from airflow.sdk import Connection

    monkeypatch.setenv("AIRFLOW_CONN_SOME", uri)
    ours, theirs = env_connection("some"), Connection.from_uri(uri, conn_id="some")
    assert ours is not None
    for name in ("conn_type", "host", "port", "login", "password", "schema", "extra_dejson"):
        assert getattr(ours, name) == (getattr(theirs, name) or ({} if name == "extra_dejson" else None)), name


def test_json_form_and_unset(monkeypatch: pytest.MonkeyPatch) -> None:
    assert env_connection("absent_conn") is None
    value = {"conn_type": "http", "host": "api", "port": "80", "password": "k", "extra": json.dumps({"a": 1})}
    monkeypatch.setenv("AIRFLOW_CONN_JSON_ONE", json.dumps(value))
    found = env_connection("json_one")
    assert found is not None
    assert (found.conn_type, found.host, found.port, found.password, found.extra_dejson) == (
        "http",
        "api",
        80,
        "k",
        {"a": 1},
    )
