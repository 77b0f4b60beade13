"""connector_for: lazy imports by source type, with clear errors while a module is missing."""

from __future__ import annotations

import sys
import types

import pytest

from scrollintel.config import load_governance
from scrollintel.ingest import connectors
from scrollintel.ingest.connectors.base import Connector
from scrollintel.ingest.connectors.postgres import PostgresConnector
from scrollintel.ingest.errors import ConnectorUnavailable

pytestmark = pytest.mark.unit


def test_postgres_source_gets_the_postgres_connector() -> None:
    connector = connectors.connector_for(load_governance().source("shop"), "postgresql://u:p@localhost:5432/shop")
    assert isinstance(connector, PostgresConnector)


def test_unknown_type_is_named() -> None:
    with pytest.raises(ConnectorUnavailable, match=r"unknown source type 'ftp' \(known: files, graphql, mysql"):
        connectors.connector_class("ftp")


def test_a_missing_module_says_which(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(connectors.CONNECTORS, "mysql", ("does_not_exist", "MysqlConnector"))
    with pytest.raises(
        ConnectorUnavailable, match=r"no connector for source type 'mysql' yet: module .*does_not_exist"
    ):
        connectors.connector_class("mysql")


def test_a_module_without_a_connector_class_is_an_error(monkeypatch: pytest.MonkeyPatch) -> None:
    module = types.ModuleType("scrollintel.ingest.connectors.empty_test")
    monkeypatch.setitem(sys.modules, module.__name__, module)
    monkeypatch.setitem(connectors.CONNECTORS, "rest", ("empty_test", "RestConnector"))
    with pytest.raises(ConnectorUnavailable, match=r"must define RestConnector .*found Connector classes: none"):
        connectors.connector_class("rest")


def test_the_one_connector_class_of_a_module_is_found_by_convention(monkeypatch: pytest.MonkeyPatch) -> None:
    module = types.ModuleType("scrollintel.ingest.connectors.other_test")

    class HttpReader(Connector):
        def discover(self, resource):  # type: ignore[no-untyped-def]
            raise NotImplementedError

        def extract(self, resource, schema, state, *, chunk_rows):  # type: ignore[no-untyped-def]
            raise NotImplementedError

        def test_connection(self):  # type: ignore[no-untyped-def]
            return True, "ok"

    HttpReader.__module__ = module.__name__
    module.HttpReader = HttpReader  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, module.__name__, module)
    monkeypatch.setitem(connectors.CONNECTORS, "graphql", ("other_test", "GraphqlConnector"))
    assert connectors.connector_class("graphql") is HttpReader
