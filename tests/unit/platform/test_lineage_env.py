"""`make run` points Airflow's OpenLineage provider at the platform's own lineage store (no services)."""

from __future__ import annotations

import json

import pytest

from scrollintel.platform.launcher import lineage_env

pytestmark = pytest.mark.unit


def test_the_provider_posts_over_http_with_the_api_key_of_the_lineage_connection(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("AIRFLOW__OPENLINEAGE__TRANSPORT", raising=False)

    env = lineage_env("http://127.0.0.1:8080", {"lineage_api_key": "k3y"})

    transport = json.loads(env["AIRFLOW__OPENLINEAGE__TRANSPORT"])
    connection = json.loads(env["AIRFLOW_CONN_SCROLLINTEL_LINEAGE"])
    assert transport == {
        "type": "http",
        "url": "http://127.0.0.1:8080/scrollintel/",
        "endpoint": "api/v1/lineage",
        "auth": {"type": "api_key", "apiKey": "k3y"},
        "timeout": 5,
    }
    assert connection["password"] == "k3y"
    assert env["AIRFLOW__OPENLINEAGE__NAMESPACE"] == "scrollintel"


def test_a_transport_the_user_exported_wins(monkeypatch: pytest.MonkeyPatch) -> None:
    marquez = '{"type": "http", "url": "http://marquez:5000", "endpoint": "api/v1/lineage"}'
    monkeypatch.setenv("AIRFLOW__OPENLINEAGE__TRANSPORT", marquez)

    env = lineage_env("http://127.0.0.1:8080", {"lineage_api_key": "k3y"})

    assert env["AIRFLOW__OPENLINEAGE__TRANSPORT"] == marquez
    assert json.loads(env["AIRFLOW_CONN_SCROLLINTEL_LINEAGE"])["password"] == "k3y"  # the store still takes the key


def test_the_openlineage_client_builds_the_store_url_from_that_config(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AIRFLOW__OPENLINEAGE__TRANSPORT", raising=False)
    from urllib.parse import urljoin

    from openlineage.client.transport.http import HttpConfig

    transport = json.loads(
        lineage_env("http://127.0.0.1:8080", {"lineage_api_key": "k3y"})["AIRFLOW__OPENLINEAGE__TRANSPORT"]
    )
    config = HttpConfig.from_dict(transport)

    assert urljoin(config.url, config.endpoint) == "http://127.0.0.1:8080/scrollintel/api/v1/lineage"
    assert config.auth.get_bearer() == "Bearer k3y"
