"""One ingestion task end to end: connector -> load -> classify -> quality gate.

Shared by the Airflow operator (:class:`~scrollintel.ingest.operators.IngestResourceOperator`)
and the CLI (``scrollintel ingest run``). The load commits first; classification and the
quality gate look at what landed. A failing gate fails the task after the commit: the raw
layer keeps the rows (re-running changes nothing), but the Asset is not published, so nothing
downstream runs on the batch.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from scrollintel.ingest.errors import ConnectionNotDefined
from scrollintel.ingest.loader import DEFAULT_CHUNK_ROWS, connect_warehouse, load_resource
from scrollintel.ingest.spec import LoadResult, ResourceSpec
from scrollintel.warehouse import SENSITIVITY_LEVELS, WAREHOUSE_CONN_ID, highest_sensitivity

if TYPE_CHECKING:
    from scrollintel.config import Governance
    from scrollintel.config.sources import SourceConfig
    from scrollintel.ingest.classify import ColumnClass
    from scrollintel.ingest.notifications import EventKind
    from scrollintel.ingest.quality import QualityResult

log = logging.getLogger(__name__)


@dataclass
class IngestOutcome:
    """Everything one ingestion task did (returned to Airflow as XCom via :meth:`summary`)."""

    load: LoadResult
    source_namespace: str
    source_name: str
    classes: list[ColumnClass] = field(default_factory=list)
    sensitivity: str | None = None
    quality: QualityResult | None = None

    def summary(self) -> dict[str, Any]:
        """Counts and pointers, no row data."""
        load = self.load
        return {
            "raw_table": load.raw_table,
            "mode": load.mode,
            "path": load.path,
            "source_rows": load.source_rows,
            "loaded_rows": load.loaded_rows,
            "inserted_rows": load.inserted_rows,
            "updated_rows": load.updated_rows,
            "unchanged_rows": load.unchanged_rows,
            "deleted_rows": load.deleted_rows,
            "quarantined_rows": load.quarantined_rows,
            "quarantine_reasons": load.quarantine_reasons,
            "cursor_before": load.cursor_before,
            "cursor_after": load.cursor_after,
            "schema_version": load.schema_version,
            "drift": load.drift,
            "batch_id": load.batch_id,
            "seconds": load.seconds,
            "classified": {item.column: item.class_id for item in self.classes if item.class_id},
            "sensitivity": self.sensitivity,
            "quality": self.quality.as_dict() if self.quality else None,
        }


@dataclass(frozen=True)
class EnvConnection:
    """An Airflow connection defined by an ``AIRFLOW_CONN_<ID>`` variable, read without importing Airflow.

    Importing Airflow costs seconds (its configuration and task runner load at import), most of a
    CLI load of a small table. Connectors read only these attributes of a connection.
    """

    conn_id: str
    conn_type: str | None = None
    host: str | None = None
    port: int | None = None
    login: str | None = None
    password: str | None = None
    schema: str | None = None
    extra_dejson: dict[str, Any] = field(default_factory=dict)


def connection_variable(conn_id: str) -> str:
    """The environment variable that defines the Airflow connection ``conn_id``."""
    return f"AIRFLOW_CONN_{conn_id.upper()}"


def env_connection(conn_id: str) -> EnvConnection | None:
    """``conn_id`` from its ``AIRFLOW_CONN_<ID>`` variable (Airflow's URI or JSON form); None when unset."""
    import json
    import os
    from urllib.parse import parse_qsl, unquote, urlsplit

    value = os.environ.get(connection_variable(conn_id), "").strip()
    if not value:
        return None
    if value.startswith("{"):
        data = json.loads(value)
        extra = data.get("extra") or {}
        port = data.get("port")
        return EnvConnection(
            conn_id=conn_id,
            conn_type=data.get("conn_type"),
            host=data.get("host"),
            port=int(port) if port not in (None, "") else None,
            login=data.get("login"),
            password=data.get("password"),
            schema=data.get("schema"),
            extra_dejson=json.loads(extra) if isinstance(extra, str) else dict(extra),
        )
    # Airflow's URI form: <conn-type>://[<protocol>://]<login>:<password>@<host>:<port>/<schema>?<extra>
    conn_type, _, rest = value.partition("://")
    protocol, _, address = rest.partition("://") if "://" in rest else ("", "", rest)
    parts = urlsplit(f"{conn_type}://{address}")
    host = unquote(parts.hostname or "")
    query = dict(parse_qsl(parts.query, keep_blank_values=True))
    return EnvConnection(
        conn_id=conn_id,
        conn_type="postgres" if conn_type == "postgresql" else conn_type.replace("-", "_"),
        host=f"{protocol}://{host}" if protocol else host or None,
        port=parts.port,
        login=unquote(parts.username) if parts.username else None,
        password=unquote(parts.password) if parts.password else None,
        schema=unquote(parts.path[1:]) or None,
        extra_dejson=json.loads(query["__extra__"]) if "__extra__" in query else query,
    )


def airflow_connection(conn_id: str) -> Any | None:
    """The Airflow connection ``conn_id``: inside a task from Airflow, outside from ``AIRFLOW_CONN_<ID>`` when set.

    Outside a task an ``AIRFLOW_CONN_<ID>`` variable is read directly (see :class:`EnvConnection`),
    unless a secrets backend is configured (Airflow asks it first); anything else goes to Airflow.
    None when Airflow does not define it either.
    """
    import os

    from scrollintel.audit.settings import in_airflow_task

    if not in_airflow_task() and not os.environ.get("AIRFLOW__SECRETS__BACKEND"):
        found = env_connection(conn_id)
        if found is not None:
            return found
    from airflow.sdk import BaseHook
    from airflow.sdk.exceptions import AirflowNotFoundException

    try:
        return BaseHook.get_connection(conn_id)
    except AirflowNotFoundException:
        return None


def source_connection(source: SourceConfig, resource: str) -> Any:
    """The Airflow connection of ``source``; :class:`ConnectionNotDefined` naming what to do when missing."""
    conn = airflow_connection(source.connection_id)
    if conn is None:
        raise ConnectionNotDefined(
            f"{source.name}.{resource}: the Airflow connection {source.connection_id!r} is not defined; "
            f"set {connection_variable(source.connection_id)}=<uri or JSON>, run "
            f"`airflow connections add {source.connection_id} --conn-uri <uri>`, "
            "or pass --source-url to `scrollintel ingest run`"
        )
    return conn


def warehouse_url_from_airflow(conn_id: str = WAREHOUSE_CONN_ID) -> str:
    """The warehouse URL of the Airflow connection ``conn_id``."""
    from scrollintel.db import connection_url

    return connection_url(conn_id)


def ingest_resource(
    source_name: str,
    resource_name: str,
    *,
    run_id: str,
    warehouse_url: str,
    source_conn: Any = None,
    governance: Governance | None = None,
    chunk_rows: int = DEFAULT_CHUNK_ROWS,
    classify: bool = True,
    quality: bool = True,
    approved_changes: Sequence[Mapping[str, Any]] | None = None,
) -> IngestOutcome:
    """Load, classify and gate one resource of a declared source.

    ``source_conn``: an Airflow connection or a URL; default the source's ``connection_id``.
    ``approved_changes``: a schema change approved at the ``schema_change`` gate, applied under
    ``freeze`` as ``evolve`` would (only if the source shows exactly this change).

    Raises:
        SchemaDriftError, CountMismatchError, ResourceConfigError: the load did not happen.
        QualityGateFailed: the load committed but the landed batch failed its suite.
    """
    from scrollintel.config import load_governance
    from scrollintel.ingest.connectors import connector_for
    from scrollintel.ingest.lineage import source_identity

    governance = governance or load_governance()
    try:
        source = governance.source(source_name)
    except KeyError as err:
        from scrollintel.exceptions import ConfigError

        raise ConfigError(f"unknown source {source_name!r} (known: {', '.join(sorted(governance.sources))})") from err
    try:
        source.resource(resource_name)
    except KeyError as err:
        from scrollintel.exceptions import ConfigError

        known = ", ".join(item.name for item in source.resources)
        raise ConfigError(
            f"source {source_name!r} has no {source.resource_label} {resource_name!r} (known: {known})"
        ) from err
    spec = ResourceSpec.from_config(source, resource_name)
    if approved_changes is not None:
        spec = dataclasses.replace(spec, approved_changes=tuple(dict(change) for change in approved_changes))
    conn = source_conn if source_conn is not None else source_connection(source, resource_name)
    connector = connector_for(source, conn)
    result = load_resource(connector, spec, warehouse_url, run_id=run_id, chunk_rows=chunk_rows)
    result.check_counts()
    namespace, name = source_identity(connector, source.type, source.connection_id, resource_name)
    outcome = IngestOutcome(load=result, source_namespace=namespace, source_name=name)
    if classify:
        _classify(outcome, governance, warehouse_url)
    if quality:
        from scrollintel.ingest.quality import validate_batch

        outcome.quality = validate_batch(warehouse_url, result.raw_table, run_id)
    return outcome


def _classify(outcome: IngestOutcome, governance: Governance, warehouse_url: str) -> None:
    from scrollintel.ingest import classify
    from scrollintel.ingest.connectors.base import SourceColumn

    load = outcome.load
    source = governance.source(load.source)
    columns = [SourceColumn(**col) for col in load.columns]
    with connect_warehouse(warehouse_url) as conn, conn.transaction():
        classes, changed = classify.classify_table(
            conn,
            source=load.source,
            resource=load.resource,
            columns=columns,
            config=governance.classification,
            overrides=source.classification_overrides(load.resource),
            run_id=load.run_id,
        )
    outcome.classes = classes
    outcome.sensitivity = highest_sensitivity(item.sensitivity for item in classes)
    if changed:
        _emit(
            load,
            "pii_classified",
            {
                # a list, not a dict keyed by column: column names such as "email" are not data
                "columns": [{"column": item.column, "class": item.class_id, "method": item.method} for item in changed],
                "sensitivity": outcome.sensitivity,
            },
            warehouse_url,
        )
    tag = governance.source_sensitivity(source)
    if outcome.sensitivity and SENSITIVITY_LEVELS.index(outcome.sensitivity) > SENSITIVITY_LEVELS.index(tag):
        above = sorted(item.column for item in classes if item.sensitivity == outcome.sensitivity)
        log.warning(
            "%s holds %s data (%s) but its DAG is tagged %r: declare these columns under classification: "
            "in governance/sources/%s.yaml",
            load.raw_table,
            outcome.sensitivity,
            ", ".join(above),
            tag,
            load.source,
        )
        _emit(
            load,
            "classification_above_tag",
            {"sensitivity": outcome.sensitivity, "dag_tag": tag, "columns": above},
            warehouse_url,
        )


def _emit(load: LoadResult, kind: EventKind, details: dict[str, Any], warehouse_url: str) -> None:
    """Send an event about ``load`` to the notification hooks and the audit ledger."""
    from scrollintel.ingest.notifications import IngestEvent, emit

    event = IngestEvent(kind=kind, source=load.source, resource=load.resource, run_id=load.run_id, details=details)
    emit(event, audit_url=warehouse_url)
