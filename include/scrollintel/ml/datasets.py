"""An MLflow dataset source naming a warehouse table the way OpenLineage names it.

A training run's input (``mlflow.log_input``) carries a source; MLflow ships sources for files,
HTTP, Delta and Spark tables, none for a PostgreSQL table. :class:`OpenLineageDatasetSource`
records the table's OpenLineage identity, namespace ``postgres://warehouse:5432`` and name
``warehouse.<schema>.<table>`` (:mod:`scrollintel.warehouse`), so MLflow's run page and the
platform's lineage store name the same data in the same words.

This module imports MLflow at module level (its base class): import it only inside the
functions that log runs, never from a DAG file or at package import.
"""

from __future__ import annotations

from typing import Any

from mlflow.data.dataset_source import DatasetSource  # noqa: TID253 - imported only inside task code

from scrollintel.warehouse import warehouse_dataset_name, warehouse_namespace

#: ``source_type`` of the dataset in MLflow.
SOURCE_TYPE = "openlineage"


class OpenLineageDatasetSource(DatasetSource):  # type: ignore[misc]
    """A dataset identified by an OpenLineage namespace and name (a warehouse table)."""

    def __init__(self, namespace: str, name: str) -> None:
        self.namespace = namespace
        self.name = name

    @classmethod
    def for_table(cls, table: str) -> OpenLineageDatasetSource:
        """The source of a warehouse table ``<schema>.<table>``."""
        schema, relation = table.split(".", 1)
        return cls(warehouse_namespace(), warehouse_dataset_name(schema, relation))

    @property
    def uri(self) -> str:
        """``<namespace>/<name>``: one string for the dataset (as Marquez shows it)."""
        return f"{self.namespace}/{self.name}"

    @staticmethod
    def _get_source_type() -> str:
        return SOURCE_TYPE

    def load(self, **kwargs: Any) -> Any:
        """The table lives in the warehouse; read it with :func:`scrollintel.ml.features.read_frame`."""
        raise NotImplementedError(f"{self.uri} is a warehouse table: read it with scrollintel.ml.features")

    @staticmethod
    def _can_resolve(raw_source: Any) -> bool:
        return False  # never guessed from a string: always built explicitly

    @classmethod
    def _resolve(cls, raw_source: Any) -> OpenLineageDatasetSource:
        raise NotImplementedError("an OpenLineage dataset source is built explicitly, not resolved")

    def to_dict(self) -> dict[str, Any]:
        return {"namespace": self.namespace, "name": self.name, "uri": self.uri}

    @classmethod
    def from_dict(cls, source_dict: dict[Any, Any]) -> OpenLineageDatasetSource:
        return cls(str(source_dict["namespace"]), str(source_dict["name"]))
