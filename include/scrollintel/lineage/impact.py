"""Impact analysis: everything downstream of a dataset, job or column, with who owns it.

For a dataset or a job: the datasets and jobs downstream (:func:`scrollintel.lineage.graph.walk`);
for a column: the columns downstream through column lineage, their datasets and the jobs that
compute them. Each item carries its distance, owners (:mod:`scrollintel.lineage.governance`),
whether it holds personal data and its last run, and the list can be exported as CSV.
"""

from __future__ import annotations

import csv
import io
import uuid
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from scrollintel.lineage import graph as graphs
from scrollintel.lineage import marquez
from scrollintel.lineage.nodes import dataset_node_id, field_node_id, job_node_id
from scrollintel.warehouse import GOVERNANCE_SCHEMA

CSV_COLUMNS = (
    "type",
    "node_id",
    "namespace",
    "name",
    "field",
    "depth",
    "owner_teams",
    "owner_names",
    "slack_channels",
    "pii",
    "sensitivity",
    "last_run_state",
    "last_run_at",
)


@dataclass(frozen=True)
class ImpactItem:
    """One impacted dataset, job or column."""

    type: str
    node_id: str
    namespace: str
    name: str
    depth: int
    owners: Sequence[Mapping[str, Any]] = ()
    field: str | None = None
    pii: bool | None = None
    sensitivity: str | None = None
    last_run: Mapping[str, Any] | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "type": self.type,
            "nodeId": self.node_id,
            "namespace": self.namespace,
            "name": self.name,
            "field": self.field,
            "depth": self.depth,
            "owners": list(self.owners),
            "pii": self.pii,
            "sensitivity": self.sensitivity,
            "lastRun": dict(self.last_run) if self.last_run else None,
        }

    def csv_row(self) -> list[str]:
        def joined(key: str) -> str:
            return ";".join(str(owner.get(key) or "") for owner in self.owners)

        run = self.last_run or {}
        return [
            self.type,
            self.node_id,
            self.namespace,
            self.name,
            self.field or "",
            str(self.depth),
            joined("team"),
            joined("name"),
            joined("slackChannel"),
            "" if self.pii is None else str(self.pii).lower(),
            self.sensitivity or "",
            str(run.get("state") or ""),
            str(run.get("at") or ""),
        ]


@dataclass
class Impact:
    """Everything downstream of ``node_id``, nearest first."""

    node_id: str
    depth: int
    items: list[ImpactItem] = field(default_factory=list)

    def owners(self) -> list[dict[str, Any]]:
        """Each owning team once, with how many impacted datasets, jobs and columns it owns."""
        teams: dict[str, dict[str, Any]] = {}
        for item in self.items:
            for owner in item.owners:
                entry = teams.setdefault(
                    str(owner.get("team")),
                    {
                        **{k: owner.get(k) for k in ("team", "name", "slackChannel")},
                        "DATASET": 0,
                        "JOB": 0,
                        "DATASET_FIELD": 0,
                    },
                )
                entry[item.type] += 1
        return [
            {
                "team": e["team"],
                "name": e["name"],
                "slackChannel": e["slackChannel"],
                "datasets": e["DATASET"],
                "jobs": e["JOB"],
                "fields": e["DATASET_FIELD"],
            }
            for e in sorted(teams.values(), key=lambda e: str(e["team"]))
        ]

    def as_dict(self) -> dict[str, Any]:
        return {
            "nodeId": self.node_id,
            "depth": self.depth,
            "totalCount": len(self.items),
            "owners": self.owners(),
            "items": [item.as_dict() for item in self.items],
        }

    def csv_lines(self) -> Iterator[str]:
        """The items as CSV text, header first."""
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\n")
        writer.writerow(CSV_COLUMNS)
        for item in self.items:
            writer.writerow(item.csv_row())
        yield buffer.getvalue()


def impact(conn: Any, node_id: str, depth: int = graphs.MAX_DEPTH) -> Impact:
    """Everything downstream of a dataset, job or column (see the module docstring)."""
    start = graphs.resolve_node(conn, node_id)
    result = Impact(start.ref.node_id, graphs.clamp_depth(depth))
    if start.kind == "datasetField":
        _column_impact(conn, start, result)
    else:
        sub = graphs.walk(conn, start, result.depth, "downstream")
        _node_impact(conn, sub, start.row_id, result)
    result.items.sort(key=lambda item: (item.depth, item.type != "DATASET", item.node_id))
    return result


def _dataset_item(doc: dict[str, Any], depth: int) -> ImpactItem:
    """The impact row of a dataset from its Marquez-shaped document (owners, PII, last run)."""
    info = doc["scrollintel"]
    return ImpactItem(
        "DATASET",
        dataset_node_id(doc["namespace"], doc["name"]),
        doc["namespace"],
        doc["name"],
        depth,
        info["owners"],
        pii=info["pii"],
        sensitivity=info["sensitivity"],
        last_run=info["lastRun"],
    )


def _node_impact(conn: Any, sub: graphs.Subgraph, start: uuid.UUID, result: Impact) -> None:
    datasets = [d for d in sub.datasets if d != start]
    jobs = [j for j in sub.jobs if j != start]
    for doc in marquez.dataset_documents(conn, datasets, full=False):
        result.items.append(_dataset_item(doc, sub.datasets[_dataset_id(doc)]))
    for doc in marquez.job_documents(conn, jobs, full=False):
        info = doc["scrollintel"]
        job_id = _job_id(doc)
        result.items.append(
            ImpactItem(
                "JOB",
                job_node_id(doc["namespace"], doc["name"]),
                doc["namespace"],
                doc["name"],
                sub.jobs[job_id],
                info["owners"],
                last_run=info["lastRun"],
            )
        )


def _column_impact(conn: Any, start: graphs.Resolved, result: Impact) -> None:
    sub = graphs.walk_columns(conn, [start.row_id], result.depth, upstream=False, downstream=True)
    reached = {field_id: depth for field_id, depth in sub.fields.items() if field_id != start.row_id}
    rows = conn.execute(
        f"SELECT f.id, f.name, f.dataset_id, d.namespace, d.name FROM {GOVERNANCE_SCHEMA}.lineage_dataset_field f "
        f"JOIN {GOVERNANCE_SCHEMA}.lineage_dataset d ON d.id = f.dataset_id WHERE f.id = ANY(%s)",
        (list(reached),),
    ).fetchall()
    dataset_depth: dict[uuid.UUID, int] = {}
    for field_id, _, dataset_id, _, _ in rows:
        dataset_depth[dataset_id] = min(reached[field_id], dataset_depth.get(dataset_id, reached[field_id]))
    docs = {_dataset_id(doc): doc for doc in marquez.dataset_documents(conn, list(dataset_depth), full=False)}
    for field_id, column, dataset_id, namespace, name in rows:
        doc = docs.get(dataset_id)
        info = doc["scrollintel"] if doc else {}
        classes = (info.get("classification") or {}).get(column, [])
        result.items.append(
            ImpactItem(
                "DATASET_FIELD",
                field_node_id(namespace, name, column),
                namespace,
                name,
                reached[field_id],
                info.get("owners", []),
                field=column,
                pii=any(entry["status"] != "anonymised" for entry in classes),
                last_run=info.get("lastRun"),
            )
        )
    for dataset_id, doc in docs.items():
        result.items.append(_dataset_item(doc, dataset_depth[dataset_id]))
    jobs: dict[uuid.UUID, int] = {}
    for dst, _, job_id in sub.edges:
        if dst in reached:
            jobs[job_id] = min(reached[dst], jobs.get(job_id, reached[dst]))
    for doc in marquez.job_documents(conn, list(jobs), full=False):
        info = doc["scrollintel"]
        result.items.append(
            ImpactItem(
                "JOB",
                job_node_id(doc["namespace"], doc["name"]),
                doc["namespace"],
                doc["name"],
                jobs[_job_id(doc)],
                info["owners"],
                last_run=info["lastRun"],
            )
        )


def _dataset_id(doc: Mapping[str, Any]) -> uuid.UUID:
    from scrollintel.lineage.nodes import dataset_uuid

    return dataset_uuid(doc["namespace"], doc["name"])


def _job_id(doc: Mapping[str, Any]) -> uuid.UUID:
    from scrollintel.lineage.nodes import job_uuid

    return job_uuid(doc["namespace"], doc["name"])
