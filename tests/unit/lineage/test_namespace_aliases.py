"""Namespace aliases: one dataset per warehouse table, whichever name a producer gives the server."""

from __future__ import annotations

import json

import pytest

from scrollintel.lineage import openlineage_events as events
from scrollintel.platform.launcher import lineage_env, warehouse_namespace_aliases

pytestmark = pytest.mark.unit


@pytest.fixture(autouse=True)
def _fresh_aliases() -> None:
    events.namespace_aliases.cache_clear()
    yield
    events.namespace_aliases.cache_clear()


def test_the_launcher_maps_the_warehouse_host_and_port_to_the_logical_namespace() -> None:
    aliases = warehouse_namespace_aliases("postgresql+psycopg://u:p@127.0.0.1:54017/warehouse")
    assert aliases == {
        "postgres://127.0.0.1:54017": "postgres://warehouse:5432",
        "postgres://localhost:54017": "postgres://warehouse:5432",
    }
    assert warehouse_namespace_aliases("postgresql://u:p@db.internal/warehouse") == {
        "postgres://db.internal:5432": "postgres://warehouse:5432"
    }
    env = lineage_env("http://127.0.0.1:8080", {"lineage_api_key": "k"}, "postgresql://u:p@db:6543/warehouse")
    assert json.loads(env[events.ENV_NAMESPACE_ALIASES]) == {"postgres://db:6543": "postgres://warehouse:5432"}


def test_dataset_namespaces_are_folded_and_others_kept(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(events.ENV_NAMESPACE_ALIASES, '{"postgres://127.0.0.1:54017": "postgres://warehouse:5432"}')
    assert events.canonical_namespace("postgres://127.0.0.1:54017") == "postgres://warehouse:5432"
    assert events.canonical_namespace("postgres://shop:5432") == "postgres://shop:5432"


@pytest.mark.parametrize("text", ["not json", '["a"]', '{"a": 1}'])
def test_a_malformed_alias_setting_is_a_clear_error(monkeypatch: pytest.MonkeyPatch, text: str) -> None:
    monkeypatch.setenv(events.ENV_NAMESPACE_ALIASES, text)
    with pytest.raises(ValueError, match=events.ENV_NAMESPACE_ALIASES):
        events.namespace_aliases()
