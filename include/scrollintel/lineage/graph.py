"""Graph queries of the lineage store: upstream and downstream of a dataset, job or column.

**Hops.** On the dataset/job graph one hop is one job: upstream of a dataset, depth 1 is the jobs
that write it and the datasets those jobs read. Starting from a job, its own inputs and outputs
are depth 0. On the column graph one hop is one column edge.

**How.** One recursive CTE per direction walks the edge tables through their covering B-tree
indexes (see the migration ``0005_lineage``). Its rows are ``(dataset, depth)`` and it uses
``UNION``, so a dataset reached twice at the same depth is expanded once, a cycle ends when the
depth limit is reached, and the work is bounded by depth x reachable datasets, never by the
number of paths (a path-array query, as Marquez's, enumerates every path: exponential on
diamond-shaped graphs). The nodes' details are then read by primary key.

What is returned is the subgraph that leads to (upstream) or away from (downstream) the start
node: upstream, a job's other outputs are not included; downstream, a job's other inputs are not.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from scrollintel.lineage.errors import NodeNotFound
from scrollintel.lineage.nodes import NodeRef, parse_node_id
from scrollintel.warehouse import GOVERNANCE_SCHEMA

Direction = Literal["upstream", "downstream", "both"]
DIRECTIONS: tuple[Direction, ...] = ("upstream", "downstream", "both")
DEFAULT_DEPTH = 20
MAX_DEPTH = 100


@dataclass(frozen=True)
class Resolved:
    """A node id read against the store: which row it is."""

    ref: NodeRef
    row_id: uuid.UUID

    @property
    def kind(self) -> str:
        return self.ref.kind


def resolve_node(conn: Any, node_id: str) -> Resolved:
    """The dataset, job or field ``node_id`` names (see :func:`scrollintel.lineage.nodes.parse_node_id`).

    Raises :class:`~scrollintel.lineage.errors.InvalidNodeId` for a malformed id and
    :class:`NodeNotFound` when no candidate reading of it exists in the store.
    """
    candidates = parse_node_id(node_id)
    table = {"dataset": "lineage_dataset", "job": "lineage_job", "datasetField": "lineage_dataset_field"}[
        candidates[0].kind
    ]
    ids = [ref.row_id for ref in candidates]
    found = {row[0] for row in conn.execute(f"SELECT id FROM {GOVERNANCE_SCHEMA}.{table} WHERE id = ANY(%s)", (ids,))}
    for ref in candidates:
        if ref.row_id in found:
            return Resolved(ref, ref.row_id)
    raise NodeNotFound(f"no {candidates[0].kind} {node_id!r} in the lineage store")


# --------------------------------------------------------------------------- dataset/job graph

_WALK = f"""
WITH RECURSIVE
up(dataset_id, depth) AS (
    SELECT start, 0 FROM unnest(%(up)s::uuid[]) AS start
  UNION
    SELECT i.dataset_id, up.depth + 1
    FROM up
    JOIN {GOVERNANCE_SCHEMA}.lineage_job_output o ON o.dataset_id = up.dataset_id
    JOIN {GOVERNANCE_SCHEMA}.lineage_job_input i ON i.job_id = o.job_id
    WHERE up.depth < %(depth)s
),
down(dataset_id, depth) AS (
    SELECT start, 0 FROM unnest(%(down)s::uuid[]) AS start
  UNION
    SELECT o.dataset_id, down.depth + 1
    FROM down
    JOIN {GOVERNANCE_SCHEMA}.lineage_job_input i ON i.dataset_id = down.dataset_id
    JOIN {GOVERNANCE_SCHEMA}.lineage_job_output o ON o.job_id = i.job_id
    WHERE down.depth < %(depth)s
),
up_sets AS (SELECT dataset_id, min(depth) AS depth FROM up GROUP BY dataset_id),
down_sets AS (SELECT dataset_id, min(depth) AS depth FROM down GROUP BY dataset_id),
up_jobs AS (
    SELECT o.job_id, min(u.depth) + 1 AS depth
    FROM up_sets u JOIN {GOVERNANCE_SCHEMA}.lineage_job_output o ON o.dataset_id = u.dataset_id
    WHERE u.depth < %(depth)s
    GROUP BY o.job_id
),
down_jobs AS (
    SELECT i.job_id, min(d.depth) + 1 AS depth
    FROM down_sets d JOIN {GOVERNANCE_SCHEMA}.lineage_job_input i ON i.dataset_id = d.dataset_id
    WHERE d.depth < %(depth)s
    GROUP BY i.job_id
)
SELECT 'up_dataset' AS kind, array_agg(dataset_id) AS a, NULL::uuid[] AS b, array_agg(depth) AS depths FROM up_sets
UNION ALL SELECT 'down_dataset', array_agg(dataset_id), NULL, array_agg(depth) FROM down_sets
UNION ALL SELECT 'up_job', array_agg(job_id), NULL, array_agg(depth) FROM up_jobs
UNION ALL SELECT 'down_job', array_agg(job_id), NULL, array_agg(depth) FROM down_jobs
UNION ALL
SELECT 'input', array_agg(i.job_id), array_agg(i.dataset_id), NULL
FROM up_jobs j JOIN {GOVERNANCE_SCHEMA}.lineage_job_input i ON i.job_id = j.job_id
UNION ALL
SELECT 'output', array_agg(o.job_id), array_agg(o.dataset_id), NULL
FROM up_jobs j JOIN {GOVERNANCE_SCHEMA}.lineage_job_output o ON o.job_id = j.job_id
JOIN up_sets u ON u.dataset_id = o.dataset_id
UNION ALL
SELECT 'output', array_agg(o.job_id), array_agg(o.dataset_id), NULL
FROM down_jobs j JOIN {GOVERNANCE_SCHEMA}.lineage_job_output o ON o.job_id = j.job_id
UNION ALL
SELECT 'input', array_agg(i.job_id), array_agg(i.dataset_id), NULL
FROM down_jobs j JOIN {GOVERNANCE_SCHEMA}.lineage_job_input i ON i.job_id = j.job_id
JOIN down_sets d ON d.dataset_id = i.dataset_id
"""

_JOB_EDGES = f"""
SELECT 'input', job_id, dataset_id FROM {GOVERNANCE_SCHEMA}.lineage_job_input WHERE job_id = %(job)s
UNION ALL
SELECT 'output', job_id, dataset_id FROM {GOVERNANCE_SCHEMA}.lineage_job_output WHERE job_id = %(job)s
"""


@dataclass
class Subgraph:
    """Datasets and jobs with their distance from the start node, and the job <-> dataset edges.

    ``inputs`` are (job, dataset) pairs where the job reads the dataset; ``outputs`` where it
    writes it. Distances are in jobs (see the module docstring); the start node has 0.
    """

    datasets: dict[uuid.UUID, int] = field(default_factory=dict)
    jobs: dict[uuid.UUID, int] = field(default_factory=dict)
    inputs: set[tuple[uuid.UUID, uuid.UUID]] = field(default_factory=set)
    outputs: set[tuple[uuid.UUID, uuid.UUID]] = field(default_factory=set)
    upstream: set[uuid.UUID] = field(default_factory=set)
    downstream: set[uuid.UUID] = field(default_factory=set)

    def add_dataset(self, dataset_id: uuid.UUID, depth: int) -> None:
        self.datasets[dataset_id] = min(depth, self.datasets.get(dataset_id, depth))

    def add_job(self, job_id: uuid.UUID, depth: int) -> None:
        self.jobs[job_id] = min(depth, self.jobs.get(job_id, depth))


def walk(conn: Any, start: Resolved, depth: int = DEFAULT_DEPTH, direction: Direction = "both") -> Subgraph:
    """The subgraph within ``depth`` jobs of a dataset or job node, upstream, downstream or both."""
    depth = clamp_depth(depth)
    graph = Subgraph()
    if start.kind == "job":
        graph.add_job(start.row_id, 0)
        for kind, job_id, dataset_id in conn.execute(_JOB_EDGES, {"job": start.row_id}):
            (graph.inputs if kind == "input" else graph.outputs).add((job_id, dataset_id))
        up = [dataset for _, dataset in graph.inputs]
        down = [dataset for _, dataset in graph.outputs]
    elif start.kind == "dataset":
        up = down = [start.row_id]
    else:
        raise NodeNotFound(f"{start.ref.node_id} is a column: use the column lineage")
    params = {
        "up": up if direction in ("upstream", "both") else [],
        "down": down if direction in ("downstream", "both") else [],
        "depth": depth,
    }
    # One row per kind, arrays in binary: a few rows to read instead of thousands.
    with conn.cursor() as cur:
        for kind, ids, others, depths in cur.execute(_WALK, params, binary=True):
            _add_walk_rows(graph, kind, ids or [], others or [], depths or [])
    for job_id, dataset_id in (*graph.inputs, *graph.outputs):
        if dataset_id not in graph.datasets:
            graph.add_dataset(dataset_id, graph.jobs.get(job_id, 0))
    return graph


def _add_walk_rows(
    graph: Subgraph, kind: str, ids: list[uuid.UUID], others: list[uuid.UUID], depths: list[int]
) -> None:
    if kind in ("input", "output"):
        (graph.inputs if kind == "input" else graph.outputs).update(zip(ids, others, strict=True))
        return
    add = graph.add_dataset if kind.endswith("_dataset") else graph.add_job
    for node, depth in zip(ids, depths, strict=True):
        add(node, depth)
    (graph.upstream if kind.startswith("up_") else graph.downstream).update(ids)


def clamp_depth(depth: int) -> int:
    """``depth`` within 0..MAX_DEPTH."""
    return max(0, min(int(depth), MAX_DEPTH))


# --------------------------------------------------------------------------- column graph

_COLUMN_WALK = f"""
WITH RECURSIVE
up(field_id, depth) AS (
    SELECT start, 0 FROM unnest(%(up)s::uuid[]) AS start
  UNION
    SELECT e.src_field_id, up.depth + 1
    FROM up JOIN {GOVERNANCE_SCHEMA}.lineage_column_edge e ON e.dst_field_id = up.field_id
    WHERE up.depth < %(depth)s
),
down(field_id, depth) AS (
    SELECT start, 0 FROM unnest(%(down)s::uuid[]) AS start
  UNION
    SELECT e.dst_field_id, down.depth + 1
    FROM down JOIN {GOVERNANCE_SCHEMA}.lineage_column_edge e ON e.src_field_id = down.field_id
    WHERE down.depth < %(depth)s
)
SELECT 'field' AS kind, field_id, NULL::uuid, NULL::uuid, min(depth) AS depth
FROM (SELECT field_id, depth FROM up UNION ALL SELECT field_id, depth FROM down) AS reached
GROUP BY field_id
UNION ALL
SELECT 'edge', e.dst_field_id, e.src_field_id, e.job_id, NULL
FROM (SELECT DISTINCT field_id FROM up WHERE depth < %(depth)s) u
JOIN {GOVERNANCE_SCHEMA}.lineage_column_edge e ON e.dst_field_id = u.field_id
UNION
SELECT 'edge', e.dst_field_id, e.src_field_id, e.job_id, NULL
FROM (SELECT DISTINCT field_id FROM down WHERE depth < %(depth)s) d
JOIN {GOVERNANCE_SCHEMA}.lineage_column_edge e ON e.src_field_id = d.field_id
"""


@dataclass
class ColumnSubgraph:
    """Fields with their distance from the start, and column edges (target, source, job)."""

    fields: dict[uuid.UUID, int] = field(default_factory=dict)
    edges: set[tuple[uuid.UUID, uuid.UUID, uuid.UUID]] = field(default_factory=set)


def walk_columns(
    conn: Any,
    start_fields: Sequence[uuid.UUID],
    depth: int = DEFAULT_DEPTH,
    *,
    upstream: bool = True,
    downstream: bool = False,
) -> ColumnSubgraph:
    """Column lineage within ``depth`` edges of ``start_fields`` (upstream by default, as Marquez)."""
    params = {
        "up": list(start_fields) if upstream else [],
        "down": list(start_fields) if downstream else [],
        "depth": clamp_depth(depth),
    }
    graph = ColumnSubgraph({field_id: 0 for field_id in start_fields})
    for kind, a, b, job_id, distance in conn.execute(_COLUMN_WALK, params):
        if kind == "field":
            graph.fields[a] = min(distance, graph.fields.get(a, distance))
        else:
            graph.edges.add((a, b, job_id))
    return graph


def fields_of(conn: Any, dataset_ids: Iterable[uuid.UUID]) -> list[uuid.UUID]:
    """Ids of every field of the given datasets."""
    rows = conn.execute(
        f"SELECT id FROM {GOVERNANCE_SCHEMA}.lineage_dataset_field "
        "WHERE dataset_id = ANY(%s) ORDER BY dataset_id, name",
        (list(dataset_ids),),
    )
    return [row[0] for row in rows]


def job_output_datasets(conn: Any, job_id: uuid.UUID) -> list[uuid.UUID]:
    """Datasets a job writes."""
    rows = conn.execute(f"SELECT dataset_id FROM {GOVERNANCE_SCHEMA}.lineage_job_output WHERE job_id = %s", (job_id,))
    return [row[0] for row in rows]
