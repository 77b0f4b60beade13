"""Reads in Marquez's JSON shapes, so Marquez's clients (and its web UI's calls) work against the store.

Shapes follow Marquez's API (``spec/openapi.yml`` and its service models): ``Namespace``,
``Dataset`` (with ``fields``, ``facets``, ``currentVersion``), ``Job`` (with ``inputs``, ``outputs``,
``latestRun``), ``Run`` (``state`` one of NEW, RUNNING, COMPLETED, FAILED, ABORTED), the lineage
graph ``{"graph": [{"id", "type", "data", "inEdges", "outEdges"}]}`` and the column lineage graph
(``DATASET_FIELD`` nodes with ``inputFields``). Lists carry ``totalCount``.

ScrollIntel additions, ignored by Marquez clients, in a ``scrollintel`` object:

- every dataset (resource or graph node)::

      {"owners": [{"team", "name", "slackChannel", "reason"}],
       "classification": {"<field>": [{"classId", "status": "classified"|"inherited"|"anonymised"|"origin",
                                       "masking", "sensitivity", "source"|"from"|"method"|"of"}]},
       "pii": bool,                      # a field holds personal data (not only anonymised)
       "sensitivity": str | None,        # the highest among the fields that hold it
       "quality": {"status", "checkedAt", "source"} | None,
       "lastRun": {"state", "at", "runId", "job"} | None,  # the last run that wrote it
       "sqlUnparsed": int}               # runs that wrote it whose sql facet could not be parsed

  ``classified``: stored for the field (``masking`` is its policy); ``inherited``: column lineage
  brings it from ``from``; ``anonymised``: it arrives masked (``method``: hash, redact, generalise
  or "masking transformation"); ``origin``: the field is upstream of ``of``, a classified field.
- every job: ``{"owners", "lastRun": {"state", "at", "runId"}, "sqlUnparsed": int}`` (its runs whose
  sql facet could not be parsed: no column edges from SQL, see :data:`scrollintel.lineage.store.SQL_FACET`);
- graph nodes also: ``"depth"`` (jobs from the start node) and ``"direction"`` (start, upstream,
  downstream or both); column graph nodes: ``{"depth", "classification": [...]}``.

Derived from what is stored rather than kept (ADR 0008, "Marquez compatibility"):

- job versions: one per distinct (inputs, outputs) of a job's runs (:func:`job_version_of`); a
  run's ``jobVersion.version`` and a job's ``currentVersion`` (its latest run's) are those ids;
- ``lastModifiedAt``: the end of the last COMPLETED run that named the dataset as an output in
  any of its events (or a COMPLETE event's own time, whichever is later);
- ``sourceName`` and ``/sources``: the spec's ``dataSource`` facet, else the namespace;
- ``Run.args``: nominal times and parent run from the run's facets (:func:`run_args`); a run
  known only from OTHER events is RUNNING (:func:`run_state`);
- ``/tags``: the ``tags`` facets of datasets and jobs. Datasets' and fields' ``tags`` stay empty.

A node id with a ``#version`` suffix is answered with the current lineage.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any, Literal

from scrollintel.lineage import graph as graphs
from scrollintel.lineage.errors import NodeNotFound
from scrollintel.lineage.governance import (
    owner_directory,
    quality_statuses,
    stored_classes,
    warehouse_parts,
)
from scrollintel.lineage.nodes import FieldClass, dataset_node_id, field_node_id, job_node_id
from scrollintel.lineage.pii import field_infos, inherited_classes, origin_map
from scrollintel.warehouse import GOVERNANCE_SCHEMA, highest_sensitivity, warehouse_namespace

DEFAULT_LIMIT = 100
MAX_LIMIT = 1000
#: Runs shown in a job's ``latestRuns``.
LATEST_RUNS = 10


def iso(value: datetime | None) -> str | None:
    """ISO 8601 in UTC with ``Z``, as Marquez writes instants."""
    if value is None:
        return None
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _dict_rows(conn: Any, query: str, params: Any = None) -> list[dict[str, Any]]:
    from psycopg.rows import dict_row

    with conn.cursor(row_factory=dict_row) as cur:
        return list(cur.execute(query, params))


def page(limit: int | None, offset: int | None) -> tuple[int, int]:
    """(limit, offset) within bounds."""
    return max(1, min(int(limit or DEFAULT_LIMIT), MAX_LIMIT)), max(0, int(offset or 0))


# --------------------------------------------------------------------------- row queries

#: The source of a dataset: the spec's ``dataSource`` facet, else what the store derived (the
#: lower-case ``datasource`` key some producers send, or the namespace).
SOURCE_NAME = "COALESCE(d.facets->'dataSource'->>'name', d.source_name)"
#: When the newest completed run that wrote the dataset (named it as an output in any of its
#: events, which gives the run a version of it) ended. Walks the dataset's versions newest first
#: (an index scan that stops at the first completed run), not every run that ever read it.
_RUN_MODIFIED_AT = f"""(
    SELECT mr.ended_at FROM {GOVERNANCE_SCHEMA}.lineage_dataset_version mv
    JOIN {GOVERNANCE_SCHEMA}.lineage_run mr ON mr.run_uuid = mv.run_uuid
    WHERE mv.dataset_id = d.id AND mr.end_state = 'COMPLETED'
    ORDER BY mv.created_at DESC LIMIT 1)"""
_DATASET_SELECT = f"""
SELECT d.id, d.namespace, d.name, d.type, {SOURCE_NAME} AS source_name, d.description, d.fields, d.lifecycle_state,
       d.current_version, GREATEST(d.last_modified_at, {_RUN_MODIFIED_AT}) AS last_modified_at,
       d.created_at, d.updated_at, {{facets}} AS facets,
       r.run_uuid AS run_id, r.state AS run_state, r.started_at AS run_started_at, r.ended_at AS run_ended_at,
       r.updated_at AS run_updated_at, rj.namespace AS run_job_namespace, rj.name AS run_job_name
FROM {GOVERNANCE_SCHEMA}.lineage_dataset d
LEFT JOIN {GOVERNANCE_SCHEMA}.lineage_run r ON r.run_uuid = d.last_run_uuid
LEFT JOIN {GOVERNANCE_SCHEMA}.lineage_job rj ON rj.id = r.job_id
"""
#: Graph nodes carry only the facets the enrichment reads; resources carry all of them.
LIGHT_FACETS = "jsonb_strip_nulls(jsonb_build_object('ownership', d.facets->'ownership', 'tags', d.facets->'tags'))"
_JOB_SELECT = f"""
SELECT j.id, j.namespace, j.name, j.type, j.parent_job_name, j.description, j.location, j.created_at, j.updated_at,
       {{facets}} AS facets
FROM {GOVERNANCE_SCHEMA}.lineage_job j
"""
_RUN_COLUMNS = """r.run_uuid, r.job_id, r.state, r.created_at, r.updated_at, r.started_at, r.ended_at,
       r.nominal_start_time, r.nominal_end_time"""


def dataset_rows(conn: Any, ids: Sequence[uuid.UUID], *, full: bool) -> list[dict[str, Any]]:
    """Dataset rows (with their last writing run) by id, in the order of ``ids``."""
    if not ids:
        return []
    query = _DATASET_SELECT.format(facets="d.facets" if full else LIGHT_FACETS) + " WHERE d.id = ANY(%s)"
    found = {row["id"]: row for row in _dict_rows(conn, query, (list(ids),))}
    return [found[i] for i in ids if i in found]


def job_rows(conn: Any, ids: Sequence[uuid.UUID], *, full: bool) -> list[dict[str, Any]]:
    """Job rows by id, in the order of ``ids``."""
    if not ids:
        return []
    facets = "j.facets" if full else "jsonb_strip_nulls(jsonb_build_object('ownership', j.facets->'ownership'))"
    found = {
        row["id"]: row
        for row in _dict_rows(conn, _JOB_SELECT.format(facets=facets) + " WHERE j.id = ANY(%s)", (list(ids),))
    }
    return [found[i] for i in ids if i in found]


#: The run facets :func:`run_args` reads (graph nodes carry only these).
ARGS_FACETS = (
    "jsonb_strip_nulls(jsonb_build_object('nominalTime', r.facets->'nominalTime', 'parent', r.facets->'parent'))"
)


def latest_runs(
    conn: Any, job_ids: Sequence[uuid.UUID], count: int = 1, *, facets: bool | Literal["args"] = False
) -> dict[uuid.UUID, list[dict[str, Any]]]:
    """The ``count`` newest runs of each job; with ``facets`` their facets (``"args"``: those of :func:`run_args`)."""
    if not job_ids:
        return {}
    selected = {True: ", r.facets", "args": f", {ARGS_FACETS} AS facets"}.get(facets, "")
    rows = _dict_rows(
        conn,
        f"""
        SELECT {_RUN_COLUMNS}{selected}
        FROM unnest(%s::uuid[]) AS job(id)
        CROSS JOIN LATERAL (
            SELECT * FROM {GOVERNANCE_SCHEMA}.lineage_run WHERE job_id = job.id ORDER BY created_at DESC LIMIT %s
        ) AS r
        """,
        (list(job_ids), count),
    )
    result: dict[uuid.UUID, list[dict[str, Any]]] = defaultdict(list)
    for row in rows:
        result[row["job_id"]].append(row)
    return result


def job_io(conn: Any, job_ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, dict[str, list[dict[str, str]]]]:
    """Inputs and outputs (``{namespace, name}``) of each job."""
    result: dict[uuid.UUID, dict[str, list[dict[str, str]]]] = defaultdict(lambda: {"inputs": [], "outputs": []})
    if not job_ids:
        return result
    rows = conn.execute(
        f"""
        SELECT 'inputs', e.job_id, d.namespace, d.name FROM {GOVERNANCE_SCHEMA}.lineage_job_input e
        JOIN {GOVERNANCE_SCHEMA}.lineage_dataset d ON d.id = e.dataset_id WHERE e.job_id = ANY(%(ids)s)
        UNION ALL
        SELECT 'outputs', e.job_id, d.namespace, d.name FROM {GOVERNANCE_SCHEMA}.lineage_job_output e
        JOIN {GOVERNANCE_SCHEMA}.lineage_dataset d ON d.id = e.dataset_id WHERE e.job_id = ANY(%(ids)s)
        ORDER BY 1, 2, 3, 4
        """,
        {"ids": list(job_ids)},
    )
    for role, job_id, namespace, name in rows:
        result[job_id][role].append({"namespace": namespace, "name": name})
    return result


def field_rows(conn: Any, dataset_ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, list[dict[str, Any]]]:
    """Field rows of each dataset."""
    result: dict[uuid.UUID, list[dict[str, Any]]] = defaultdict(list)
    if not dataset_ids:
        return result
    for row in _dict_rows(
        conn,
        f"SELECT id, dataset_id, name, type, description FROM {GOVERNANCE_SCHEMA}.lineage_dataset_field "
        "WHERE dataset_id = ANY(%s) ORDER BY dataset_id, name",
        (list(dataset_ids),),
    ):
        result[row["dataset_id"]].append(row)
    return result


# --------------------------------------------------------------------------- enrichment


class Enricher:
    """Builds the ``scrollintel`` objects of datasets and jobs (owners, classification, quality, last run)."""

    def __init__(self, conn: Any) -> None:
        self.conn = conn
        self.directory = owner_directory()
        self.warehouse = warehouse_namespace()
        self._classes: dict[uuid.UUID, FieldClass] | None = None

    @property
    def classes(self) -> dict[uuid.UUID, FieldClass]:
        if self._classes is None:
            self._classes = stored_classes(self.conn)
        return self._classes

    def datasets(
        self, rows: Sequence[Mapping[str, Any]], fields: Mapping[uuid.UUID, list[dict[str, Any]]]
    ) -> dict[uuid.UUID, dict[str, Any]]:
        """The ``scrollintel`` object of each dataset row."""
        classification = self.classification(fields)
        readers = self._ingest_readers(
            [row["id"] for row in rows if warehouse_parts(row["namespace"], row["name"]) is None]
        )
        quality_names = {
            row["id"]: f"{parts[0]}.{parts[1]}"
            for row in rows
            if (parts := warehouse_parts(row["namespace"], row["name"])) is not None
        }
        quality = quality_statuses(self.conn, quality_names.values())
        unparsed = sql_unparsed_runs(self.conn, [row["id"] for row in rows], "dataset")
        result = {}
        for row in rows:
            owners = self.directory.for_dataset(
                row["namespace"], row["name"], row["facets"] or {}, readers.get(row["id"], ())
            )
            by_field = classification.get(row["id"], {})
            status = quality.get(quality_names.get(row["id"], ""))
            result[row["id"]] = {
                "owners": [owner.as_dict() for owner in owners],
                "classification": by_field,
                "pii": any(entry["status"] != "anonymised" for entries in by_field.values() for entry in entries),
                "sensitivity": _max_sensitivity(by_field),
                "quality": status.as_dict() if status else None,
                "lastRun": _last_run(row),
                "sqlUnparsed": unparsed.get(row["id"], 0),
            }
        return result

    def jobs(
        self, rows: Sequence[Mapping[str, Any]], runs: Mapping[uuid.UUID, list[dict[str, Any]]]
    ) -> dict[uuid.UUID, dict[str, Any]]:
        """The ``scrollintel`` object of each job row."""
        unparsed = sql_unparsed_runs(self.conn, [row["id"] for row in rows], "job")
        result = {}
        for row in rows:
            recent = runs.get(row["id"])
            latest = recent[0] if recent else None
            result[row["id"]] = {
                "owners": [owner.as_dict() for owner in self.directory.for_job(row["name"], row["facets"] or {})],
                "lastRun": None
                if latest is None
                else {
                    "state": run_state(latest["state"]),
                    "at": iso(latest["ended_at"] or latest["updated_at"]),
                    "runId": str(latest["run_uuid"]),
                },
                "sqlUnparsed": unparsed.get(row["id"], 0),
            }
        return result

    def classification(
        self, fields: Mapping[uuid.UUID, list[dict[str, Any]]]
    ) -> dict[uuid.UUID, dict[str, list[dict[str, Any]]]]:
        """Per dataset, per field: its classes (classified, inherited, anonymised or origin)."""
        all_fields = {row["id"]: (dataset_id, row["name"]) for dataset_id, rows in fields.items() for row in rows}
        result: dict[uuid.UUID, dict[str, list[dict[str, Any]]]] = defaultdict(dict)
        if not all_fields or not self.classes:
            return result

        def add(field_id: uuid.UUID, entry: dict[str, Any]) -> None:
            dataset_id, name = all_fields[field_id]
            entries = result[dataset_id].setdefault(name, [])
            if entry not in entries:
                entries.append(entry)

        for field_id, field_class in self.classes.items():
            if field_id in all_fields:
                add(
                    field_id,
                    {
                        "classId": field_class.class_id,
                        "masking": field_class.masking,
                        "sensitivity": field_class.sensitivity,
                        "status": "classified",
                        "source": field_class.source,
                    },
                )
        propagation = inherited_classes(self.conn, list(all_fields), self.classes, self.warehouse)
        policy = {c.class_id: c for c in self.classes.values()}
        for field_id, reached in propagation.reached.items():
            if field_id not in all_fields or field_id in self.classes:
                continue
            for class_id, origin in reached.holds.items():
                known = policy.get(class_id)
                add(
                    field_id,
                    {
                        "classId": class_id,
                        "masking": known.masking if known else None,
                        "sensitivity": known.sensitivity if known else None,
                        "status": "inherited",
                        "from": origin,
                    },
                )
            for class_id, method in reached.anonymised.items():
                if class_id not in reached.holds:
                    add(field_id, {"classId": class_id, "status": "anonymised", "method": method})
        upstream_of = origin_map(self.conn, self.classes)
        names = field_infos(self.conn, {c for targets in upstream_of.values() for c in targets})
        for field_id, targets in upstream_of.items():
            if field_id not in all_fields or field_id in self.classes:
                continue
            for classified_id in sorted(targets, key=str):
                field_class = self.classes[classified_id]
                add(
                    field_id,
                    {
                        "classId": field_class.class_id,
                        "sensitivity": field_class.sensitivity,
                        "status": "origin",
                        "of": names[classified_id].node_id if classified_id in names else None,
                    },
                )
        return result

    def _ingest_readers(self, dataset_ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, list[str]]:
        readers: dict[uuid.UUID, list[str]] = defaultdict(list)
        if not dataset_ids:
            return readers
        rows = self.conn.execute(
            f"SELECT i.dataset_id, j.name FROM {GOVERNANCE_SCHEMA}.lineage_job_input i "
            f"JOIN {GOVERNANCE_SCHEMA}.lineage_job j "
            "ON j.id = i.job_id WHERE i.dataset_id = ANY(%s) AND j.name LIKE 'ingest\\_%%' ORDER BY j.name",
            (list(dataset_ids),),
        )
        for dataset_id, name in rows:
            readers[dataset_id].append(name)
        return readers


def _max_sensitivity(by_field: Mapping[str, list[dict[str, Any]]]) -> str | None:
    return highest_sensitivity(
        entry.get("sensitivity")
        for entries in by_field.values()
        for entry in entries
        if entry["status"] != "anonymised"
    )


def sql_unparsed_runs(conn: Any, ids: Sequence[uuid.UUID], kind: str) -> dict[uuid.UUID, int]:
    """Per dataset (runs that wrote it) or job (its runs): how many runs' sql facet could not be parsed.

    Such runs carry the store's :data:`~scrollintel.lineage.store.SQL_FACET` run facet.
    """
    from scrollintel.lineage.store import SQL_FACET

    if not ids:
        return {}
    if kind == "dataset":
        query = (
            f"SELECT rd.dataset_id, count(*) FROM {GOVERNANCE_SCHEMA}.lineage_run_dataset rd "
            f"JOIN {GOVERNANCE_SCHEMA}.lineage_run r ON r.run_uuid = rd.run_uuid "
            "WHERE rd.dataset_id = ANY(%s) AND rd.direction = 'output' AND r.facets ? %s GROUP BY rd.dataset_id"
        )
    else:
        query = (
            f"SELECT job_id, count(*) FROM {GOVERNANCE_SCHEMA}.lineage_run "
            "WHERE job_id = ANY(%s) AND facets ? %s GROUP BY job_id"
        )
    return {row[0]: int(row[1]) for row in conn.execute(query, (list(ids), SQL_FACET))}


def _last_run(row: Mapping[str, Any]) -> dict[str, Any] | None:
    if row.get("run_id") is None:
        return None
    return {
        "state": run_state(row["run_state"]),
        "at": iso(row["run_ended_at"] or row["run_updated_at"]),
        "runId": str(row["run_id"]),
        "job": job_node_id(row["run_job_namespace"], row["run_job_name"]),
    }


# --------------------------------------------------------------------------- JSON shapes


def run_state(state: str) -> str:
    """Marquez's state of a stored run: a run the store knows only from OTHER events is RUNNING.

    Every run row comes from an event, and Marquez counts any event that is not COMPLETE, FAIL or
    ABORT as the run running; ``NEW`` is only for runs created through its deprecated run API.
    """
    return "RUNNING" if state == "NEW" else state


def run_args(facets: Mapping[str, Any]) -> dict[str, str]:
    """Marquez's ``Run.args`` of an OpenLineage run: its nominal times and its parent run.

    Facets that do not have the spec's shape (kept as sent, flagged at ingestion) give nothing.
    """
    args: dict[str, str] = {}
    nominal = facets.get("nominalTime")
    if isinstance(nominal, Mapping):
        for key, name in (("nominalStartTime", "nominal_start_time"), ("nominalEndTime", "nominal_end_time")):
            if isinstance(nominal.get(key), str):
                args[name] = nominal[key]
    parent = facets.get("parent")
    if isinstance(parent, Mapping):
        run: Mapping[str, Any] = parent["run"] if isinstance(parent.get("run"), Mapping) else {}
        job: Mapping[str, Any] = parent["job"] if isinstance(parent.get("job"), Mapping) else {}
        found = (("run_id", run.get("runId")), ("name", job.get("name")), ("namespace", job.get("namespace")))
        for key, value in found:
            if isinstance(value, str):
                args[key] = value
    return args


def job_version_of(namespace_name: str, name: str, versions: Mapping[str, Sequence[Mapping[str, Any]]]) -> uuid.UUID:
    """The job version of a run, from its datasets (:func:`run_versions`).

    See :func:`~scrollintel.lineage.nodes.job_version_uuid`.
    """
    from scrollintel.lineage.nodes import job_version_uuid

    def ids(direction: str) -> list[tuple[str, str]]:
        return [
            (item["datasetVersionId"]["namespace"], item["datasetVersionId"]["name"])
            for item in versions.get(direction, ())
        ]

    return job_version_uuid(namespace_name, name, ids("input"), ids("output"))


def _latest(*values: datetime | None) -> datetime | None:
    present = [value for value in values if value is not None]
    return max(present) if present else None


def dataset_json(
    row: Mapping[str, Any], fields: Sequence[Mapping[str, Any]], extra: Mapping[str, Any], *, full: bool
) -> dict[str, Any]:
    """Marquez ``Dataset`` (``full``) or ``DatasetData`` (graph node), plus ``scrollintel``."""
    described = row["fields"]
    if described is None:
        described = [{"name": f["name"], "type": f["type"], "description": f["description"]} for f in fields]
    data: dict[str, Any] = {
        "id": {"namespace": row["namespace"], "name": row["name"]},
        "type": row["type"] or "DB_TABLE",
        "name": row["name"],
        "physicalName": row["name"],
        "createdAt": iso(row["created_at"]),
        "updatedAt": iso(_latest(row["updated_at"], row["last_modified_at"])),
        "namespace": row["namespace"],
        "sourceName": row["source_name"] or row["namespace"],
        "fields": [
            {
                "name": item.get("name"),
                "type": item.get("type") or "UNKNOWN",
                "tags": [],
                "description": item.get("description"),
            }
            for item in described
        ],
        "tags": [],
        "lastModifiedAt": iso(row["last_modified_at"]),
        "lastLifecycleState": row["lifecycle_state"],
        "description": row["description"],
    }
    if full:
        data.update(
            {
                "currentVersion": str(row["current_version"]) if row["current_version"] else None,
                "columnLineage": None,
                "facets": row["facets"] or {},
                "deleted": False,
            }
        )
    data["scrollintel"] = dict(extra)
    return data


def run_json(
    row: Mapping[str, Any],
    job: Mapping[str, Any] | None = None,
    *,
    versions: Mapping[str, list[dict[str, Any]]] | None = None,
) -> dict[str, Any]:
    """Marquez ``Run``; with ``versions`` (its datasets), also its dataset versions and job version."""
    started, ended = row["started_at"], row["ended_at"]
    duration = int((ended - started).total_seconds() * 1000) if started and ended else None
    data: dict[str, Any] = {
        "id": str(row["run_uuid"]),
        "createdAt": iso(row["created_at"]),
        "updatedAt": iso(row["updated_at"]),
        "nominalStartTime": iso(row["nominal_start_time"]),
        "nominalEndTime": iso(row["nominal_end_time"]),
        "state": run_state(row["state"]),
        "startedAt": iso(started),
        "endedAt": iso(ended),
        "durationMs": duration,
        "args": run_args(row.get("facets") or {}),
        "context": {},
        "facets": row.get("facets") or {},
    }
    if job is not None:
        version = job_version_of(job["namespace"], job["name"], versions) if versions is not None else None
        data["jobVersion"] = {
            "namespace": job["namespace"],
            "name": job["name"],
            "version": str(version) if version else None,
        }
    if versions is not None:
        data["inputDatasetVersions"] = versions.get("input", [])
        data["outputDatasetVersions"] = versions.get("output", [])
    return data


def job_json(
    row: Mapping[str, Any],
    io: Mapping[str, list[dict[str, str]]],
    runs: Sequence[Mapping[str, Any]],
    extra: Mapping[str, Any],
    *,
    full: bool,
    versions: Mapping[uuid.UUID, Mapping[str, list[dict[str, Any]]]] | None = None,
) -> dict[str, Any]:
    """Marquez ``Job`` (``full``) or ``JobData`` (graph node), plus ``scrollintel``.

    ``versions`` (:func:`run_versions` of ``runs``) gives the runs their dataset versions and job
    version, as ``/jobs/runs/{id}`` answers them; the job's ``currentVersion`` is its latest run's.
    """
    from scrollintel.lineage.nodes import job_uuid

    parent = row["parent_job_name"]
    name = row["name"]
    simple = name[len(parent) + 1 :] if parent and name.startswith(parent + ".") else name
    latest = runs[0] if runs else None
    known = versions or {}

    def run_doc(run: Mapping[str, Any]) -> dict[str, Any]:
        return run_json(run, row, versions=known.get(run["run_uuid"], {"input": [], "output": []}))

    latest_doc = run_doc(latest) if latest else None
    data: dict[str, Any] = {
        "id": {"namespace": row["namespace"], "name": name},
        "type": row["type"] or "BATCH",
        "name": name,
        "simpleName": simple,
        "parentJobName": parent,
        "parentJobUuid": str(job_uuid(row["namespace"], parent)) if parent else None,
        "createdAt": iso(row["created_at"]),
        "updatedAt": iso(row["updated_at"]),
        "namespace": row["namespace"],
        "inputs": list(io.get("inputs", [])),
        "outputs": list(io.get("outputs", [])),
        "location": row["location"],
        "description": row["description"],
        "latestRun": latest_doc,
        "currentRunUuid": str(latest["run_uuid"]) if latest else None,
    }
    if full:
        data.update(
            {
                "facets": row["facets"] or {},
                "currentVersion": latest_doc["jobVersion"]["version"] if latest_doc else None,
                "labels": [],
                "tags": [],
                "latestRuns": [latest_doc, *(run_doc(run) for run in runs[1:])] if latest_doc else [],
            }
        )
    data["scrollintel"] = dict(extra)
    return data


# --------------------------------------------------------------------------- resources


def namespaces(conn: Any, limit: int | None = None, offset: int | None = None) -> dict[str, Any]:
    """``GET /namespaces``: ``updatedAt`` is the latest change of any job or dataset in the namespace."""
    limit, offset = page(limit, offset)
    rows = _dict_rows(
        conn,
        f"""
        SELECT n.name, n.created_at, GREATEST(
            n.updated_at,
            (SELECT max(updated_at) FROM {GOVERNANCE_SCHEMA}.lineage_job WHERE namespace = n.name),
            (SELECT max(updated_at) FROM {GOVERNANCE_SCHEMA}.lineage_dataset WHERE namespace = n.name)) AS updated_at,
            count(*) OVER () AS total
        FROM {GOVERNANCE_SCHEMA}.lineage_namespace n ORDER BY n.name LIMIT %s OFFSET %s
        """,
        (limit, offset),
    )
    return {
        "namespaces": [_namespace_json(row) for row in rows],
        "totalCount": rows[0]["total"] if rows else _count(conn, "lineage_namespace"),
    }


def namespace(conn: Any, name: str) -> dict[str, Any]:
    """``GET /namespaces/{namespace}``."""
    for row in namespaces(conn, MAX_LIMIT, 0)["namespaces"]:
        if row["name"] == name:
            return row
    raise NodeNotFound(f"no namespace {name!r} in the lineage store")


def _namespace_json(row: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "name": row["name"],
        "createdAt": iso(row["created_at"]),
        "updatedAt": iso(row["updated_at"]),
        "ownerName": "anonymous",
        "description": None,
        "isHidden": False,
    }


def _count(conn: Any, table: str, where: str = "TRUE", params: Any = None) -> int:
    return int(conn.execute(f"SELECT count(*) FROM {GOVERNANCE_SCHEMA}.{table} WHERE {where}", params).fetchone()[0])


def _require_namespace(conn: Any, name: str) -> None:
    if conn.execute(f"SELECT 1 FROM {GOVERNANCE_SCHEMA}.lineage_namespace WHERE name = %s", (name,)).fetchone() is None:
        raise NodeNotFound(f"no namespace {name!r} in the lineage store")


def _namespace_page(
    conn: Any, table: str, namespace_name: str, limit: int | None, offset: int | None
) -> tuple[list[uuid.UUID], int]:
    """The ids of one page of ``table``'s rows in a namespace (by name), and how many rows it has in all."""
    _require_namespace(conn, namespace_name)
    limit, offset = page(limit, offset)
    query = f"SELECT id FROM {GOVERNANCE_SCHEMA}.{table} WHERE namespace = %s ORDER BY name LIMIT %s OFFSET %s"
    ids = [row[0] for row in conn.execute(query, (namespace_name, limit, offset))]
    return ids, _count(conn, table, "namespace = %s", (namespace_name,))


def datasets(conn: Any, namespace_name: str, limit: int | None = None, offset: int | None = None) -> dict[str, Any]:
    """``GET /namespaces/{namespace}/datasets``."""
    ids, total = _namespace_page(conn, "lineage_dataset", namespace_name, limit, offset)
    return {"totalCount": total, "datasets": dataset_documents(conn, ids, full=True)}


def dataset(conn: Any, namespace_name: str, name: str) -> dict[str, Any]:
    """``GET /namespaces/{namespace}/datasets/{dataset}``."""
    from scrollintel.lineage.nodes import dataset_uuid

    found = dataset_documents(conn, [dataset_uuid(namespace_name, name)], full=True)
    if not found:
        raise NodeNotFound(f"no dataset {name!r} in namespace {namespace_name!r}")
    return found[0]


def dataset_documents(
    conn: Any, ids: Sequence[uuid.UUID], *, full: bool, extra: Mapping[uuid.UUID, Mapping[str, Any]] | None = None
) -> list[dict[str, Any]]:
    """Dataset JSON documents (resources or graph node data) for ``ids``."""
    rows = dataset_rows(conn, ids, full=full)
    fields = field_rows(conn, [row["id"] for row in rows])
    enriched = Enricher(conn).datasets(rows, fields)
    documents = []
    for row in rows:
        info = {**enriched[row["id"]], **((extra or {}).get(row["id"]) or {})}
        documents.append(dataset_json(row, fields.get(row["id"], []), info, full=full))
    return documents


def dataset_versions(
    conn: Any,
    namespace_name: str,
    name: str,
    limit: int | None = None,
    offset: int | None = None,
    *,
    version: uuid.UUID | None = None,
) -> dict[str, Any]:
    """``GET /namespaces/{namespace}/datasets/{dataset}/versions``, newest first (only ``version`` when given)."""
    from scrollintel.lineage.nodes import dataset_uuid

    dataset_id = dataset_uuid(namespace_name, name)
    limit, offset = page(limit, offset)
    current = dataset_rows(conn, [dataset_id], full=False)
    if not current:
        raise NodeNotFound(f"no dataset {name!r} in namespace {namespace_name!r}")
    rows = _dict_rows(
        conn,
        f"""
        SELECT v.id, v.fields, v.facets, v.lifecycle_state, v.created_at AS version_created_at, {_RUN_COLUMNS},
               r.facets AS run_facets
        FROM {GOVERNANCE_SCHEMA}.lineage_dataset_version v
        JOIN {GOVERNANCE_SCHEMA}.lineage_run r ON r.run_uuid = v.run_uuid
        WHERE v.dataset_id = %s AND (%s::uuid IS NULL OR v.id = %s::uuid)
        ORDER BY v.created_at DESC LIMIT %s OFFSET %s
        """,
        (dataset_id, version, version, limit, offset),
    )
    base = current[0]
    run_datasets = run_versions(conn, [row["run_uuid"] for row in rows])
    writers = {row["id"]: row for row in job_rows(conn, list({row["job_id"] for row in rows}), full=False)}
    versions = [
        {
            "id": {"namespace": namespace_name, "name": name, "version": str(row["id"])},
            "type": base["type"] or "DB_TABLE",
            "name": name,
            "physicalName": name,
            "createdAt": iso(row["version_created_at"]),
            "version": str(row["id"]),
            "namespace": namespace_name,
            "sourceName": base["source_name"] or namespace_name,
            "fields": [
                {
                    "name": f.get("name"),
                    "type": f.get("type") or "UNKNOWN",
                    "tags": [],
                    "description": f.get("description"),
                }
                for f in row["fields"] or ()
            ],
            "tags": [],
            "lifecycleState": row["lifecycle_state"],
            "description": base["description"],
            "createdByRun": run_json(
                {**row, "facets": row["run_facets"]},
                writers.get(row["job_id"]),
                versions=run_datasets.get(row["run_uuid"], {"input": [], "output": []}),
            ),
            "facets": row["facets"] or {},
        }
        for row in rows
    ]
    return {
        "totalCount": _count(conn, "lineage_dataset_version", "dataset_id = %s", (dataset_id,)),
        "versions": versions,
    }


def dataset_version(conn: Any, namespace_name: str, name: str, version: str) -> dict[str, Any]:
    """``GET /namespaces/{namespace}/datasets/{dataset}/versions/{version}``."""
    wanted = _uuid_or_404(version, f"no version {version!r} of dataset {name!r}")
    found = dataset_versions(conn, namespace_name, name, 1, 0, version=wanted)["versions"]
    if not found:
        raise NodeNotFound(f"no version {version!r} of dataset {name!r} in namespace {namespace_name!r}")
    return dict(found[0])


def _uuid_or_404(text: str, missing: str) -> uuid.UUID:
    try:
        return uuid.UUID(text)
    except ValueError:
        raise NodeNotFound(f"{missing}: a version is a UUID") from None


def jobs(conn: Any, namespace_name: str, limit: int | None = None, offset: int | None = None) -> dict[str, Any]:
    """``GET /namespaces/{namespace}/jobs``."""
    ids, total = _namespace_page(conn, "lineage_job", namespace_name, limit, offset)
    return {"totalCount": total, "jobs": job_documents(conn, ids, full=True)}


def job(conn: Any, namespace_name: str, name: str) -> dict[str, Any]:
    """``GET /namespaces/{namespace}/jobs/{job}``."""
    from scrollintel.lineage.nodes import job_uuid

    found = job_documents(conn, [job_uuid(namespace_name, name)], full=True)
    if not found:
        raise NodeNotFound(f"no job {name!r} in namespace {namespace_name!r}")
    return found[0]


def job_documents(
    conn: Any, ids: Sequence[uuid.UUID], *, full: bool, extra: Mapping[uuid.UUID, Mapping[str, Any]] | None = None
) -> list[dict[str, Any]]:
    """Job JSON documents (resources or graph node data) for ``ids``."""
    rows = job_rows(conn, ids, full=full)
    job_ids = [row["id"] for row in rows]
    runs = latest_runs(conn, job_ids, LATEST_RUNS if full else 1, facets=True if full else "args")
    io = job_io(conn, job_ids)
    enriched = Enricher(conn).jobs(rows, runs)
    versions = run_versions(conn, [run["run_uuid"] for found in runs.values() for run in found])
    return [
        job_json(
            row,
            io[row["id"]],
            runs.get(row["id"], []),
            {**enriched[row["id"]], **((extra or {}).get(row["id"]) or {})},
            full=full,
            versions=versions,
        )
        for row in rows
    ]


def runs(
    conn: Any, namespace_name: str, name: str, limit: int | None = None, offset: int | None = None
) -> dict[str, Any]:
    """``GET /namespaces/{namespace}/jobs/{job}/runs``, newest first."""
    from scrollintel.lineage.nodes import job_uuid

    job_id = job_uuid(namespace_name, name)
    found = job_rows(conn, [job_id], full=False)
    if not found:
        raise NodeNotFound(f"no job {name!r} in namespace {namespace_name!r}")
    limit, offset = page(limit, offset)
    rows = _dict_rows(
        conn,
        f"SELECT {_RUN_COLUMNS}, r.facets FROM {GOVERNANCE_SCHEMA}.lineage_run r WHERE r.job_id = %s "
        "ORDER BY r.created_at DESC LIMIT %s OFFSET %s",
        (job_id, limit, offset),
    )
    versions = run_versions(conn, [row["run_uuid"] for row in rows])
    return {
        "totalCount": _count(conn, "lineage_run", "job_id = %s", (job_id,)),
        "runs": [run_json(row, found[0], versions=versions.get(row["run_uuid"], {})) for row in rows],
    }


def run(conn: Any, run_id: str) -> dict[str, Any]:
    """``GET /jobs/runs/{id}``."""
    try:
        run_uuid = uuid.UUID(run_id)
    except ValueError:
        raise NodeNotFound(f"no run {run_id!r}: a run id is a UUID") from None
    rows = _dict_rows(
        conn,
        f"SELECT {_RUN_COLUMNS}, r.facets FROM {GOVERNANCE_SCHEMA}.lineage_run r WHERE r.run_uuid = %s",
        (run_uuid,),
    )
    if not rows:
        raise NodeNotFound(f"no run {run_id!r} in the lineage store")
    owner = job_rows(conn, [rows[0]["job_id"]], full=False)
    versions = run_versions(conn, [run_uuid])
    return run_json(rows[0], owner[0] if owner else None, versions=versions.get(run_uuid, {}))


def run_versions(conn: Any, run_ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, dict[str, list[dict[str, Any]]]]:
    """Input and output dataset versions of each run (an input's version: its newest before the run)."""
    result: dict[uuid.UUID, dict[str, list[dict[str, Any]]]] = defaultdict(lambda: {"input": [], "output": []})
    if not run_ids:
        return result
    rows = conn.execute(
        f"""
        SELECT rd.run_uuid, rd.direction, d.namespace, d.name,
               CASE WHEN rd.direction = 'output' THEN own.id ELSE before.id END
        FROM {GOVERNANCE_SCHEMA}.lineage_run_dataset rd
        JOIN {GOVERNANCE_SCHEMA}.lineage_run r ON r.run_uuid = rd.run_uuid
        JOIN {GOVERNANCE_SCHEMA}.lineage_dataset d ON d.id = rd.dataset_id
        LEFT JOIN {GOVERNANCE_SCHEMA}.lineage_dataset_version own
          ON own.dataset_id = rd.dataset_id AND own.run_uuid = rd.run_uuid
        LEFT JOIN LATERAL (
            SELECT v.id FROM {GOVERNANCE_SCHEMA}.lineage_dataset_version v
            WHERE v.dataset_id = rd.dataset_id AND v.created_at <= r.created_at
            ORDER BY v.created_at DESC LIMIT 1
        ) AS before ON rd.direction = 'input'
        WHERE rd.run_uuid = ANY(%s)
        ORDER BY rd.run_uuid, rd.direction, d.namespace, d.name
        """,
        (list(run_ids),),
    )
    for run_uuid, direction, namespace_name, name, version in rows:
        result[run_uuid][direction].append(
            {
                "datasetVersionId": {
                    "namespace": namespace_name,
                    "name": name,
                    "version": str(version) if version else None,
                },
                "facets": {},
            }
        )
    return result


# --------------------------------------------------------------------------- lineage graphs


def lineage(
    conn: Any, node_id: str, depth: int = graphs.DEFAULT_DEPTH, direction: graphs.Direction = "both"
) -> dict[str, Any]:
    """``GET /lineage?nodeId=&depth=``: the dataset/job graph around a node, in Marquez's shape."""
    start = graphs.resolve_node(conn, node_id)
    if start.kind == "datasetField":
        start = graphs.resolve_node(conn, start.ref.dataset.node_id)
    sub = graphs.walk(conn, start, depth, direction)
    return {"graph": graph_nodes(conn, sub)}


def graph_nodes(conn: Any, sub: graphs.Subgraph) -> list[dict[str, Any]]:
    """Marquez graph nodes (``DATASET`` and ``JOB``) of a subgraph, with their edges."""

    def extra(node: uuid.UUID, distance: int) -> dict[str, Any]:
        side = (
            "both"
            if node in sub.upstream and node in sub.downstream
            else ("upstream" if node in sub.upstream else "downstream" if node in sub.downstream else "start")
        )
        return {"depth": distance, "direction": side if distance else "start"}

    dataset_docs = dataset_documents(
        conn, list(sub.datasets), full=False, extra={k: extra(k, v) for k, v in sub.datasets.items()}
    )
    job_docs = job_documents(conn, list(sub.jobs), full=False, extra={k: extra(k, v) for k, v in sub.jobs.items()})
    dataset_ids = {
        uuid_: dataset_node_id(doc["namespace"], doc["name"])
        for uuid_, doc in zip(_ids(dataset_docs, "dataset"), dataset_docs, strict=True)
    }
    job_ids = {
        uuid_: job_node_id(doc["namespace"], doc["name"])
        for uuid_, doc in zip(_ids(job_docs, "job"), job_docs, strict=True)
    }
    in_edges: dict[str, list[dict[str, str]]] = defaultdict(list)
    out_edges: dict[str, list[dict[str, str]]] = defaultdict(list)
    for job_id, dataset_id in sorted(sub.inputs, key=str):
        if job_id in job_ids and dataset_id in dataset_ids:
            edge = {"origin": dataset_ids[dataset_id], "destination": job_ids[job_id]}
            out_edges[edge["origin"]].append(edge)
            in_edges[edge["destination"]].append(edge)
    for job_id, dataset_id in sorted(sub.outputs, key=str):
        if job_id in job_ids and dataset_id in dataset_ids:
            edge = {"origin": job_ids[job_id], "destination": dataset_ids[dataset_id]}
            out_edges[edge["origin"]].append(edge)
            in_edges[edge["destination"]].append(edge)
    nodes = []
    for kind, docs, ids in (("DATASET", dataset_docs, dataset_ids), ("JOB", job_docs, job_ids)):
        for doc, node in zip(docs, ids.values(), strict=True):
            nodes.append(
                {"id": node, "type": kind, "data": doc, "inEdges": in_edges[node], "outEdges": out_edges[node]}
            )
    return nodes


def _ids(docs: Iterable[Mapping[str, Any]], kind: str) -> list[uuid.UUID]:
    from scrollintel.lineage.nodes import dataset_uuid, job_uuid

    make = dataset_uuid if kind == "dataset" else job_uuid
    return [make(doc["namespace"], doc["name"]) for doc in docs]


def column_lineage(
    conn: Any, node_id: str, depth: int = graphs.DEFAULT_DEPTH, with_downstream: bool = False
) -> dict[str, Any]:
    """``GET /column-lineage?nodeId=&depth=&withDownstream=``: column graph of a field, dataset or job."""
    start = graphs.resolve_node(conn, node_id)
    if start.kind == "datasetField":
        fields = [start.row_id]
    elif start.kind == "dataset":
        fields = graphs.fields_of(conn, [start.row_id])
    else:
        fields = graphs.fields_of(conn, graphs.job_output_datasets(conn, start.row_id))
    sub = graphs.walk_columns(conn, fields, depth, upstream=True, downstream=with_downstream)
    return {"graph": column_nodes(conn, sub)}


def column_nodes(conn: Any, sub: graphs.ColumnSubgraph) -> list[dict[str, Any]]:
    """Marquez ``DATASET_FIELD`` nodes of a column subgraph."""
    ids = sorted(set(sub.fields) | {f for edge in sub.edges for f in edge[:2]}, key=str)
    if not ids:
        return []
    rows = {
        row["id"]: row
        for row in _dict_rows(
            conn,
            f"""
            SELECT f.id, f.name, f.type, f.dataset_id, d.namespace, d.name AS dataset, d.current_version
            FROM {GOVERNANCE_SCHEMA}.lineage_dataset_field f
            JOIN {GOVERNANCE_SCHEMA}.lineage_dataset d ON d.id = f.dataset_id
            WHERE f.id = ANY(%s)
            """,
            (ids,),
        )
    }
    attributes = {
        (row["dst_field_id"], row["src_field_id"], row["job_id"]): row
        for row in _dict_rows(
            conn,
            f"""
            SELECT dst_field_id, src_field_id, job_id, transformation_type, transformation_subtype, description, masking
            FROM {GOVERNANCE_SCHEMA}.lineage_column_edge WHERE dst_field_id = ANY(%s)
            """,
            (ids,),
        )
    }
    node = {field_id: field_node_id(r["namespace"], r["dataset"], r["name"]) for field_id, r in rows.items()}
    fields_by_dataset: dict[uuid.UUID, list[dict[str, Any]]] = defaultdict(list)
    for row in rows.values():
        fields_by_dataset[row["dataset_id"]].append({"id": row["id"], "name": row["name"]})
    classification = Enricher(conn).classification(fields_by_dataset)
    inputs: dict[uuid.UUID, list[dict[str, Any]]] = defaultdict(list)
    in_edges: dict[uuid.UUID, list[dict[str, str]]] = defaultdict(list)
    out_edges: dict[uuid.UUID, list[dict[str, str]]] = defaultdict(list)
    for dst, src, job_id in sorted(sub.edges, key=str):
        if dst not in rows or src not in rows:
            continue
        edge = attributes.get((dst, src, job_id), {})
        source = rows[src]
        inputs[dst].append(
            {
                "namespace": source["namespace"],
                "dataset": source["dataset"],
                "datasetVersion": str(source["current_version"]) if source["current_version"] else None,
                "field": source["name"],
                "transformationDescription": edge.get("description"),
                "transformationType": edge.get("transformation_subtype") or edge.get("transformation_type"),
            }
        )
        link = {"origin": node[src], "destination": node[dst]}
        out_edges[src].append(link)
        in_edges[dst].append(link)
    nodes = []
    for field_id in ids:
        if field_id not in rows:
            continue
        row = rows[field_id]
        own = inputs.get(field_id, [])
        nodes.append(
            {
                "id": node[field_id],
                "type": "DATASET_FIELD",
                "data": {
                    "namespace": row["namespace"],
                    "dataset": row["dataset"],
                    "datasetVersion": str(row["current_version"]) if row["current_version"] else None,
                    "field": row["name"],
                    "fieldType": row["type"] or "UNKNOWN",
                    "transformationDescription": own[0]["transformationDescription"] if own else None,
                    "transformationType": own[0]["transformationType"] if own else None,
                    "inputFields": own,
                    "scrollintel": {
                        "depth": sub.fields.get(field_id),
                        "classification": classification.get(row["dataset_id"], {}).get(row["name"], []),
                    },
                },
                "inEdges": in_edges[field_id],
                "outEdges": out_edges[field_id],
            }
        )
    return nodes


# --------------------------------------------------------------------------- search


def search(
    conn: Any, query: str, *, kind: str | None = None, limit: int = 20, namespace_name: str | None = None
) -> dict[str, Any]:
    """Datasets and jobs whose name starts with (ranked first) or contains ``query``, case-insensitively."""
    text = query.strip().lower()
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    limit = max(1, min(int(limit), MAX_LIMIT))
    parts = []
    for table, label in (("lineage_dataset", "DATASET"), ("lineage_job", "JOB")):
        if kind and kind.upper() != label:
            continue
        parts.append(
            f"SELECT '{label}' AS type, namespace, name, updated_at, "
            f"CASE WHEN lower(name) LIKE %(prefix)s THEN 0 ELSE 1 END AS rank "
            f"FROM {GOVERNANCE_SCHEMA}.{table} WHERE lower(name) LIKE %(contains)s "
            f"AND (%(namespace)s::text IS NULL OR namespace = %(namespace)s)"
        )
    if not parts or not text:
        return {"totalCount": 0, "results": []}
    rows = _dict_rows(
        conn,
        f"SELECT *, count(*) OVER () AS total FROM ({' UNION ALL '.join(parts)}) AS found "
        "ORDER BY rank, name, namespace LIMIT %(limit)s",
        {"prefix": escaped + "%", "contains": "%" + escaped + "%", "limit": limit, "namespace": namespace_name},
    )
    return {
        "totalCount": rows[0]["total"] if rows else 0,
        "results": [
            {
                "type": row["type"],
                "name": row["name"],
                "updatedAt": iso(row["updated_at"]),
                "namespace": row["namespace"],
                "nodeId": (dataset_node_id if row["type"] == "DATASET" else job_node_id)(row["namespace"], row["name"]),
            }
            for row in rows
        ],
    }


# --------------------------------------------------------------------------- more Marquez resources


def all_jobs(conn: Any, limit: int | None = None, offset: int | None = None) -> dict[str, Any]:
    """``GET /jobs``: the jobs of every namespace, by namespace and name."""
    limit, offset = page(limit, offset)
    ids = [
        row[0]
        for row in conn.execute(
            f"SELECT id FROM {GOVERNANCE_SCHEMA}.lineage_job ORDER BY namespace, name LIMIT %s OFFSET %s",
            (limit, offset),
        )
    ]
    return {"totalCount": _count(conn, "lineage_job"), "jobs": job_documents(conn, ids, full=True)}


def job_versions(
    conn: Any,
    namespace_name: str,
    name: str,
    limit: int | None = None,
    offset: int | None = None,
    *,
    version: uuid.UUID | None = None,
) -> dict[str, Any]:
    """``GET /namespaces/{namespace}/jobs/{job}/versions``: one version per distinct (inputs, outputs) of its runs.

    Derived from the stored runs (:func:`job_version_of`), newest first; ``createdAt`` is the
    first run of a version, ``updatedAt`` its last, ``latestRun`` its newest run.
    """
    from scrollintel.lineage.nodes import job_uuid

    job_id = job_uuid(namespace_name, name)
    found = job_rows(conn, [job_id], full=True)
    if not found:
        raise NodeNotFound(f"no job {name!r} in namespace {namespace_name!r}")
    job_row = found[0]
    rows = _dict_rows(
        conn,
        f"SELECT {_RUN_COLUMNS}, r.facets FROM {GOVERNANCE_SCHEMA}.lineage_run r "
        "WHERE r.job_id = %s ORDER BY r.created_at DESC",
        (job_id,),
    )
    datasets = run_versions(conn, [row["run_uuid"] for row in rows])
    grouped: dict[uuid.UUID, list[dict[str, Any]]] = {}
    for row in rows:
        io = datasets.get(row["run_uuid"], {"input": [], "output": []})
        grouped.setdefault(job_version_of(namespace_name, name, io), []).append(row)
    documents = []
    for key, members in grouped.items():
        if version is not None and key != version:
            continue
        newest = members[0]
        io = datasets.get(newest["run_uuid"], {"input": [], "output": []})

        def ids(direction: str, io: Mapping[str, list[dict[str, Any]]] = io) -> list[dict[str, str]]:
            return [
                {"namespace": item["datasetVersionId"]["namespace"], "name": item["datasetVersionId"]["name"]}
                for item in io[direction]
            ]

        documents.append(
            {
                "id": {"namespace": namespace_name, "name": name, "version": str(key)},
                "name": name,
                "namespace": namespace_name,
                "version": str(key),
                "type": job_row["type"] or "BATCH",
                "createdAt": iso(min(member["created_at"] for member in members)),
                "updatedAt": iso(max(member["updated_at"] for member in members)),
                "location": job_row["location"],
                "description": job_row["description"],
                "inputs": ids("input"),
                "outputs": ids("output"),
                "context": {},
                "facets": job_row["facets"] or {},
                "latestRun": run_json(newest, job_row, versions=io),
            }
        )
    limit, offset = page(limit, offset)
    return {"totalCount": len(documents), "versions": documents[offset : offset + limit]}


def job_version(conn: Any, namespace_name: str, name: str, version: str) -> dict[str, Any]:
    """``GET /namespaces/{namespace}/jobs/{job}/versions/{version}``."""
    wanted = _uuid_or_404(version, f"no version {version!r} of job {name!r}")
    found = job_versions(conn, namespace_name, name, version=wanted)["versions"]
    if not found:
        raise NodeNotFound(f"no version {version!r} of job {name!r} in namespace {namespace_name!r}")
    return dict(found[0])


_SOURCES = f"""
SELECT {SOURCE_NAME} AS name, min(d.created_at) AS created_at, max(d.updated_at) AS updated_at,
       min(COALESCE(d.facets->'dataSource'->>'uri', d.facets->'datasource'->>'uri')) AS uri,
       min(d.namespace) AS namespace, count(*) OVER () AS total
FROM {GOVERNANCE_SCHEMA}.lineage_dataset d
"""


def sources(conn: Any, limit: int | None = None, offset: int | None = None) -> dict[str, Any]:
    """``GET /sources``: the sources of the stored datasets (their ``dataSource`` facet, else their namespace)."""
    limit, offset = page(limit, offset)
    rows = _dict_rows(conn, _SOURCES + " GROUP BY 1 ORDER BY 1 LIMIT %s OFFSET %s", (limit, offset))
    return {"totalCount": rows[0]["total"] if rows else 0, "sources": [_source_json(row) for row in rows]}


def source(conn: Any, name: str) -> dict[str, Any]:
    """``GET /sources/{source}``."""
    rows = _dict_rows(conn, _SOURCES + f" WHERE {SOURCE_NAME} = %s GROUP BY 1", (name,))
    if not rows:
        raise NodeNotFound(f"no source {name!r} in the lineage store")
    return _source_json(rows[0])


def _source_json(row: Mapping[str, Any]) -> dict[str, Any]:
    url = row["uri"] or (row["namespace"] if "://" in (row["namespace"] or "") else None)
    scheme = url.split("://", 1)[0].lower() if url and "://" in url else ""
    return {
        "type": SOURCE_TYPES.get(scheme, scheme.upper() or "UNKNOWN"),
        "name": row["name"],
        "createdAt": iso(row["created_at"]),
        "updatedAt": iso(row["updated_at"]),
        "connectionUrl": url,
        "description": None,
    }


#: URI schemes of OpenLineage dataset namespaces -> Marquez source types.
SOURCE_TYPES = {"postgres": "POSTGRESQL", "postgresql": "POSTGRESQL", "mysql": "MYSQL", "s3": "S3", "file": "FILE"}


def tags(conn: Any, limit: int | None = None, offset: int | None = None) -> dict[str, Any]:
    """``GET /tags``: the tags of the ``tags`` facets of datasets and jobs (``key`` or ``key:value``)."""
    limit, offset = page(limit, offset)
    rows = conn.execute(
        f"""
        SELECT DISTINCT CASE WHEN coalesce(tag->>'value', '') IN ('', 'true') THEN tag->>'key'
                             ELSE (tag->>'key') || ':' || (tag->>'value') END AS name
        FROM (SELECT facets FROM {GOVERNANCE_SCHEMA}.lineage_dataset
              UNION ALL SELECT facets FROM {GOVERNANCE_SCHEMA}.lineage_job) AS owner
        CROSS JOIN LATERAL jsonb_array_elements(
            CASE WHEN jsonb_typeof(owner.facets->'tags'->'tags') = 'array' THEN owner.facets->'tags'->'tags'
                 ELSE '[]'::jsonb END) AS tag
        WHERE jsonb_typeof(tag) = 'object' AND tag ? 'key'
        ORDER BY 1
        """
    ).fetchall()
    names = [row[0] for row in rows]
    listed = [{"name": name, "description": None} for name in names[offset : offset + limit]]
    return {"totalCount": len(names), "tags": listed}


def lineage_events(
    conn: Any,
    *,
    namespace_name: str | None = None,
    before: datetime | None = None,
    after: datetime | None = None,
    ascending: bool = False,
    limit: int | None = None,
    offset: int | None = None,
) -> dict[str, Any]:
    """``GET /events/lineage``: the raw events as received, by event time (newest first unless ``ascending``)."""
    limit, offset = page(limit, offset)
    where = (
        "(%(before)s::timestamptz IS NULL OR event_time <= %(before)s) "
        "AND (%(after)s::timestamptz IS NULL OR event_time >= %(after)s) "
        "AND (%(namespace)s::text IS NULL OR job_namespace = %(namespace)s)"
    )
    params = {"before": before, "after": after, "namespace": namespace_name, "limit": limit, "offset": offset}
    order = "ASC" if ascending else "DESC"
    rows = conn.execute(
        f"SELECT payload, count(*) OVER () FROM {GOVERNANCE_SCHEMA}.lineage_event WHERE {where} "
        f"ORDER BY event_time {order}, id {order} LIMIT %(limit)s OFFSET %(offset)s",
        params,
    ).fetchall()
    import json

    return {"totalCount": rows[0][1] if rows else 0, "events": [json.loads(row[0]) for row in rows]}


def run_facets(conn: Any, run_id: str, kind: Literal["run", "job"] = "run") -> dict[str, Any]:
    """``GET /jobs/runs/{id}/facets?type=run|job``: a run's facets, or the job facets its events carried."""
    try:
        run_uuid = uuid.UUID(run_id)
    except ValueError:
        raise NodeNotFound(f"no run {run_id!r}: a run id is a UUID") from None
    found = conn.execute(
        f"SELECT facets FROM {GOVERNANCE_SCHEMA}.lineage_run WHERE run_uuid = %s", (run_uuid,)
    ).fetchone()
    if found is None:
        raise NodeNotFound(f"no run {run_id!r} in the lineage store")
    if kind == "run":
        return {"runId": run_id, "facets": found[0] or {}}
    facets: dict[str, Any] = {}
    for (payload,) in conn.execute(
        f"SELECT payload::jsonb->'job'->'facets' FROM {GOVERNANCE_SCHEMA}.lineage_event "
        "WHERE run_uuid = %s ORDER BY event_time, id",
        (run_uuid,),
    ):
        if isinstance(payload, dict):
            facets.update(payload)
    return {"runId": run_id, "facets": facets}
