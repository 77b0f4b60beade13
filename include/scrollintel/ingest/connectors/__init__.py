"""Connectors by source type, imported lazily: ``connector_for(source, conn)``.

Each source type lives in its own module (``postgres``, ``mysql``, ``rest``, ``graphql``,
``files``) so a DAG or CLI that ingests one source never imports the drivers of the others.
A module provides its connector class under the name listed in :data:`CONNECTORS`; when that
name is absent, the one :class:`~scrollintel.ingest.connectors.base.Connector` subclass the
module defines is used.
"""

from __future__ import annotations

import importlib
import inspect
from typing import TYPE_CHECKING, Any

from scrollintel.ingest.connectors.base import Connector
from scrollintel.ingest.errors import ConnectorUnavailable

if TYPE_CHECKING:
    from scrollintel.config.sources import SourceConfig

#: Source type -> (module under this package, connector class name).
CONNECTORS: dict[str, tuple[str, str]] = {
    "postgres": ("postgres", "PostgresConnector"),
    "mysql": ("mysql", "MysqlConnector"),
    "rest": ("rest", "RestConnector"),
    "graphql": ("graphql", "GraphqlConnector"),
    "files": ("files", "FilesConnector"),
}


def connector_class(source_type: str) -> type[Connector]:
    """The connector class for ``source_type``; :class:`ConnectorUnavailable` when there is none."""
    try:
        module_name, class_name = CONNECTORS[source_type]
    except KeyError as err:
        raise ConnectorUnavailable(
            f"unknown source type {source_type!r} (known: {', '.join(sorted(CONNECTORS))})"
        ) from err
    qualified = f"{__name__}.{module_name}"
    try:
        module = importlib.import_module(qualified)
    except ModuleNotFoundError as err:
        if err.name != qualified:
            raise  # the module exists but one of its own imports is missing: show that error
        raise ConnectorUnavailable(
            f"no connector for source type {source_type!r} yet: module {qualified} does not exist"
        ) from err
    found = getattr(module, class_name, None)
    if isinstance(found, type) and issubclass(found, Connector):
        return found
    defined = [
        obj
        for _, obj in inspect.getmembers(module, inspect.isclass)
        if issubclass(obj, Connector) and obj.__module__ == qualified and not inspect.isabstract(obj)
    ]
    if len(defined) != 1:
        names = ", ".join(sorted(cls.__name__ for cls in defined)) or "none"
        raise ConnectorUnavailable(
            f"module {qualified} must define {class_name} (a Connector subclass); found Connector classes: {names}"
        )
    return defined[0]


def connector_for(source: SourceConfig, conn: Any) -> Connector:
    """A connector reading ``source`` through ``conn`` (an Airflow connection, or what the class accepts)."""
    return connector_class(source.type)(source, conn)  # type: ignore[call-arg]
