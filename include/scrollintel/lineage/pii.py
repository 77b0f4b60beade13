"""Where is this personal data? Classified columns followed through column lineage.

**Where a class starts.** A column is *classified* when ingestion stored a class for it in
``governance.column_classification`` (raw tables: ``warehouse.raw.<source>__<resource>``), or when
an event tagged it (``tags`` dataset facet, key ``classification``, with the column in ``field``).

**How it travels.** A column *holds* a class when a column edge leads to it from a column that
holds (or is classified with) that class, unless the edge *anonymises*. An edge anonymises when

1. the transformation says so: ``masking: true`` in the ``columnLineage`` facet, or a hash function
   found in the job's SQL (:mod:`scrollintel.lineage.sqllineage`); or
2. the masking policy applies: the edge goes from a classified raw column whose class has a
   masking policy (``hash``, ``redact`` or ``partial`` = generalise, in
   ``governance/classification.yaml``) into a staging model (``warehouse.staging.*``), unless the
   transformation is known to be a plain copy (``masking: false``, e.g. a bare column in the SQL).
   Staging models select every raw column through ``scrollintel_masked_columns``, which applies
   that policy (``dbt/macros/masking.sql``).

A column reached by an anonymising edge is reported as *anonymised* (with the method) and the walk
stops there. A column the transform drops (or redacts to a constant) has no edge at all, so the
data goes no further. Cycles end because a column is visited once per class.

**Where it comes from.** The *origins* of a classified column are the columns upstream of it:
the source system's columns that ingestion copied.
"""

from __future__ import annotations

import uuid
from collections import deque
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from scrollintel.lineage import governance
from scrollintel.lineage import graph as graphs
from scrollintel.lineage.nodes import FieldClass, dataset_node_id, field_node_id
from scrollintel.warehouse import GOVERNANCE_SCHEMA, warehouse_namespace

#: Masking policies (classification.yaml) that a staging model applies to a classified column.
ANONYMISING_POLICIES = {"hash": "hash", "redact": "redact", "partial": "generalise"}
MAX_HOPS = 50

_EDGES = f"""
SELECT e.src_field_id, e.dst_field_id, e.job_id, e.masking, e.transformation_type, e.transformation_subtype,
       sf.name, sd.namespace, sd.name, df.name, dd.namespace, dd.name, j.namespace, j.name
FROM {GOVERNANCE_SCHEMA}.lineage_column_edge e
JOIN {GOVERNANCE_SCHEMA}.lineage_dataset_field sf ON sf.id = e.src_field_id
JOIN {GOVERNANCE_SCHEMA}.lineage_dataset sd ON sd.id = sf.dataset_id
JOIN {GOVERNANCE_SCHEMA}.lineage_dataset_field df ON df.id = e.dst_field_id
JOIN {GOVERNANCE_SCHEMA}.lineage_dataset dd ON dd.id = df.dataset_id
JOIN {GOVERNANCE_SCHEMA}.lineage_job j ON j.id = e.job_id
WHERE e.{{side}} = ANY(%s)
"""
_FIELDS = f"""
SELECT f.id, f.name, d.namespace, d.name FROM {GOVERNANCE_SCHEMA}.lineage_dataset_field f
JOIN {GOVERNANCE_SCHEMA}.lineage_dataset d ON d.id = f.dataset_id WHERE f.id = ANY(%s)
"""


@dataclass(frozen=True)
class FieldInfo:
    """A column and its dataset, by name."""

    id: uuid.UUID
    namespace: str
    dataset: str
    name: str

    @property
    def node_id(self) -> str:
        return field_node_id(self.namespace, self.dataset, self.name)

    @property
    def dataset_node_id(self) -> str:
        return dataset_node_id(self.namespace, self.dataset)


@dataclass(frozen=True)
class Edge:
    """A column edge with what the PII rule needs to know about it."""

    src: FieldInfo
    dst: FieldInfo
    job: str
    masking: bool | None
    transformation: str | None


@dataclass
class Reached:
    """What the walk found for one column."""

    info: FieldInfo
    depth: int
    holds: dict[str, str] = field(default_factory=dict)
    anonymised: dict[str, str] = field(default_factory=dict)
    via: str | None = None
    from_field: str | None = None


@dataclass
class Propagation:
    """Columns that hold a class or received it anonymised, from a set of classified columns."""

    reached: dict[uuid.UUID, Reached] = field(default_factory=dict)

    def holders(self) -> list[Reached]:
        return sorted((r for r in self.reached.values() if r.holds), key=lambda r: (r.depth, r.info.node_id))

    def anonymised(self) -> list[Reached]:
        return sorted(
            (r for r in self.reached.values() if r.anonymised and not r.holds), key=lambda r: (r.depth, r.info.node_id)
        )


def is_staging(info: FieldInfo, warehouse_namespace: str) -> bool:
    """True for a column of a staging model of the platform's warehouse."""
    return info.namespace == warehouse_namespace and info.dataset.split(".")[-2:-1] == ["staging"]


def anonymisation(edge: Edge, source_class: FieldClass | None, warehouse_namespace: str) -> str | None:
    """The method by which ``edge`` anonymises (see the module docstring), or None when it does not."""
    if edge.masking is True:
        return "masking transformation"
    if edge.masking is False or source_class is None:
        return None
    method = ANONYMISING_POLICIES.get(source_class.masking or "")
    if method and is_staging(edge.dst, warehouse_namespace):
        return method
    return None


def fetch_edges(conn: Any, field_ids: Sequence[uuid.UUID], *, downstream: bool) -> list[Edge]:
    """Column edges leaving (downstream) or entering (upstream) ``field_ids``."""
    if not field_ids:
        return []
    side = "src_field_id" if downstream else "dst_field_id"
    edges = []
    for row in conn.execute(_EDGES.format(side=side), (list(field_ids),)):
        src = FieldInfo(row[0], row[7], row[8], row[6])
        dst = FieldInfo(row[1], row[10], row[11], row[9])
        edges.append(Edge(src, dst, f"job:{row[12]}:{row[13]}", row[3], row[5] or row[4]))
    return edges


def field_infos(conn: Any, field_ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, FieldInfo]:
    """Names of the given fields."""
    ids = list(field_ids)
    if not ids:
        return {}
    return {row[0]: FieldInfo(row[0], row[2], row[3], row[1]) for row in conn.execute(_FIELDS, (ids,))}


def propagate(
    conn: Any,
    seeds: Mapping[uuid.UUID, Iterable[str]],
    classes: Mapping[uuid.UUID, FieldClass],
    warehouse_namespace: str,
    *,
    max_hops: int = MAX_HOPS,
) -> Propagation:
    """Follow ``seeds`` (column -> class ids it holds) downstream; one query per hop.

    ``classes`` are the columns' own classifications (for the masking policy of rule 2).
    """
    infos = field_infos(conn, seeds)
    result = Propagation()
    for field_id, class_ids in seeds.items():
        if field_id in infos:
            result.reached[field_id] = Reached(
                infos[field_id], 0, holds={c: infos[field_id].node_id for c in class_ids}
            )
    frontier = deque(result.reached)
    hops = 0
    while frontier and hops < max_hops:
        hops += 1
        current = list(dict.fromkeys(frontier))
        frontier.clear()
        for edge in fetch_edges(conn, current, downstream=True):
            source = result.reached[edge.src.id]
            target = result.reached.setdefault(edge.dst.id, Reached(edge.dst, source.depth + 1))
            method = anonymisation(edge, classes.get(edge.src.id), warehouse_namespace)
            grew = False
            for class_id, origin in source.holds.items():
                if method is not None:
                    target.anonymised.setdefault(class_id, method)
                elif class_id not in target.holds:
                    target.holds[class_id] = origin
                    grew = True
            if target.via is None:
                target.via, target.from_field = edge.job, edge.src.node_id
            if grew:
                frontier.append(edge.dst.id)
    return result


def origins(conn: Any, field_ids: Sequence[uuid.UUID], *, max_hops: int = MAX_HOPS) -> list[Reached]:
    """Columns upstream of ``field_ids`` (where the data comes from), nearest first."""
    seen: dict[uuid.UUID, Reached] = {}
    frontier = list(field_ids)
    visited = set(field_ids)
    for depth in range(1, max_hops + 1):
        if not frontier:
            break
        following = []
        for edge in fetch_edges(conn, frontier, downstream=False):
            if edge.src.id in visited:
                continue
            visited.add(edge.src.id)
            seen[edge.src.id] = Reached(edge.src, depth, via=edge.job, from_field=edge.dst.node_id)
            following.append(edge.src.id)
        frontier = following
    return sorted(seen.values(), key=lambda r: (r.depth, r.info.node_id))


def origin_map(conn: Any, classified: Iterable[uuid.UUID], *, max_hops: int = 5) -> dict[uuid.UUID, set[uuid.UUID]]:
    """Column -> the classified columns it is upstream of (within ``max_hops``); one query per hop."""
    reached: dict[uuid.UUID, set[uuid.UUID]] = {}
    frontier: dict[uuid.UUID, set[uuid.UUID]] = {field_id: {field_id} for field_id in classified}
    for _ in range(max_hops):
        if not frontier:
            break
        following: dict[uuid.UUID, set[uuid.UUID]] = {}
        for edge in fetch_edges(conn, list(frontier), downstream=False):
            for target in frontier.get(edge.dst.id, ()):
                known = reached.setdefault(edge.src.id, set())
                if target != edge.src.id and target not in known:
                    known.add(target)
                    following.setdefault(edge.src.id, set()).add(target)
        frontier = following
    return reached


def inherited_classes(
    conn: Any,
    field_ids: Sequence[uuid.UUID],
    classes: Mapping[uuid.UUID, FieldClass],
    warehouse_namespace: str,
    *,
    max_hops: int = MAX_HOPS,
) -> Propagation:
    """For ``field_ids``: the classes they hold or received anonymised, from their classified ancestors.

    Walks upstream to find the classified ancestors, then propagates from those only.
    """
    ancestors = {field_id for field_id in field_ids if field_id in classes}
    frontier = list(field_ids)
    visited = set(field_ids)
    for _ in range(max_hops):
        if not frontier:
            break
        following = []
        for edge in fetch_edges(conn, frontier, downstream=False):
            if edge.src.id not in visited:
                visited.add(edge.src.id)
                following.append(edge.src.id)
                if edge.src.id in classes:
                    ancestors.add(edge.src.id)
        frontier = following
    seeds = {field_id: [classes[field_id].class_id] for field_id in ancestors}
    return propagate(conn, seeds, classes, warehouse_namespace, max_hops=max_hops)


RULE = (
    "A column holds personal data when it is classified (governance.column_classification or a classification "
    "tag) or when column lineage leads to it from one that holds it. An edge anonymises when its transformation "
    "masks (masking: true, or a hash in the job's SQL) or when it carries a classified raw column with a masking "
    "policy (hash, redact, partial = generalise) into a staging model, unless it is known to be a plain copy; the "
    "walk stops there. Dropped columns have no edge."
)


def where_is(conn: Any, node_id: str) -> dict[str, Any]:
    """Where the personal data in a column, dataset or job's outputs comes from and goes to."""
    start = graphs.resolve_node(conn, node_id)
    if start.kind == "datasetField":
        start_fields = [start.row_id]
    elif start.kind == "dataset":
        start_fields = graphs.fields_of(conn, [start.row_id])
    else:
        start_fields = graphs.fields_of(conn, graphs.job_output_datasets(conn, start.row_id))
    namespace = warehouse_namespace()
    classes = governance.stored_classes(conn)
    held = inherited_classes(conn, start_fields, classes, namespace)
    seeds: dict[uuid.UUID, list[str]] = {}
    for field_id in start_fields:
        reached = held.reached.get(field_id)
        own = [classes[field_id].class_id] if field_id in classes else []
        seeds_for = own + [c for c in (reached.holds if reached else {}) if c not in own]
        if seeds_for:
            seeds[field_id] = seeds_for
    infos = field_infos(conn, start_fields)
    result: dict[str, Any] = {
        "nodeId": start.ref.node_id,
        "rule": RULE,
        "classified": [
            {
                "nodeId": infos[field_id].node_id,
                "dataset": infos[field_id].dataset_node_id,
                "field": infos[field_id].name,
                "classes": [_class_entry(class_id, classes.get(field_id), field_id in classes) for class_id in ids],
            }
            for field_id, ids in seeds.items()
            if field_id in infos
        ],
        "origins": [],
        "holders": [],
        "anonymised": [],
        "datasets": [],
    }
    if not seeds:
        result["notice"] = f"No classified column in {start.ref.node_id}: nothing to follow."
        return result
    flow = propagate(conn, seeds, classes, namespace)
    result["origins"] = [_reached_entry(r) for r in origins(conn, list(seeds))]
    result["holders"] = [{**_reached_entry(r), "classes": sorted(r.holds)} for r in flow.holders() if r.depth > 0]
    result["anonymised"] = [
        {**_reached_entry(r), "methods": dict(sorted(r.anonymised.items()))} for r in flow.anonymised()
    ]
    result["datasets"] = _datasets_summary(flow)
    return result


def _class_entry(class_id: str, own: FieldClass | None, direct: bool) -> dict[str, Any]:
    return {
        "classId": class_id,
        "status": "classified" if direct else "inherited",
        "masking": own.masking if own and direct else None,
        "sensitivity": own.sensitivity if own and direct else None,
    }


def _reached_entry(reached: Reached) -> dict[str, Any]:
    return {
        "nodeId": reached.info.node_id,
        "dataset": reached.info.dataset_node_id,
        "namespace": reached.info.namespace,
        "name": reached.info.dataset,
        "field": reached.info.name,
        "depth": reached.depth,
        "via": reached.via,
        "from": reached.from_field,
    }


def _datasets_summary(flow: Propagation) -> list[dict[str, Any]]:
    datasets: dict[str, dict[str, Any]] = {}
    for reached in flow.reached.values():
        entry = datasets.setdefault(
            reached.info.dataset_node_id,
            {
                "nodeId": reached.info.dataset_node_id,
                "namespace": reached.info.namespace,
                "name": reached.info.dataset,
                "depth": reached.depth,
                "holds": [],
                "anonymised": [],
            },
        )
        entry["depth"] = min(entry["depth"], reached.depth)
        if reached.holds:
            entry["holds"].append(reached.info.name)
        elif reached.anonymised:
            entry["anonymised"].append(reached.info.name)
    return sorted(datasets.values(), key=lambda e: (e["depth"], e["nodeId"]))
