"""Node ids (Marquez's ``nodeId`` strings) and the store's deterministic row ids.

Marquez names graph nodes ``dataset:<namespace>:<name>``, ``job:<namespace>:<name>`` and
``datasetField:<namespace>:<name>:<field>``. Namespaces and names may themselves contain colons
(``postgres://warehouse:5432``), so a node id can be split in several ways:
:func:`parse_node_id` returns every candidate split and the store keeps the one that exists
(:func:`scrollintel.lineage.graph.resolve_node`). A ``#<version>`` suffix (Marquez's versioned
node ids) is accepted and ignored: the store answers with the current lineage.

Row ids are UUIDs derived from the names (version 5, over an unambiguous JSON encoding), so
the write path never has to ask the database for an id: every derived row of an event can be
sent in one pipeline, and a replayed event computes exactly the same keys.

:class:`FieldClass` is the personal-data class a column node carries: the governance side reads
it (:mod:`scrollintel.lineage.governance`) and the personal-data walk follows it
(:mod:`scrollintel.lineage.pii`), so it lives here, below both.
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from typing import Literal

from scrollintel.lineage.errors import InvalidNodeId

#: Namespace of the store's uuid5 ids (fixed forever: changing it would change every id).
ID_NAMESPACE = uuid.UUID("6f2d1c1e-8a57-5d0b-9a0e-3c1f5e7b2a64")

NodeKind = Literal["dataset", "job", "datasetField"]
KINDS: tuple[NodeKind, ...] = ("dataset", "job", "datasetField")
_VERSION_SUFFIX = re.compile(r"#[0-9a-fA-F-]{36}$")


@lru_cache(maxsize=1 << 16)
def _uuid(*parts: str) -> uuid.UUID:
    """uuid5 of the JSON array of ``parts`` (cached: the same names come back event after event)."""
    return uuid.uuid5(ID_NAMESPACE, json.dumps(parts, ensure_ascii=False, separators=(",", ":")))


def dataset_uuid(namespace: str, name: str) -> uuid.UUID:
    """Id of the dataset row for (namespace, name)."""
    return _uuid("dataset", namespace, name)


def job_uuid(namespace: str, name: str) -> uuid.UUID:
    """Id of the job row for (namespace, name)."""
    return _uuid("job", namespace, name)


def field_uuid(namespace: str, name: str, field: str) -> uuid.UUID:
    """Id of the field row of column ``field`` in dataset (namespace, name)."""
    return _uuid("datasetField", namespace, name, field)


def dataset_version_uuid(namespace: str, name: str, run_id: uuid.UUID) -> uuid.UUID:
    """Id of the version of a dataset written by one run."""
    return _uuid("datasetVersion", namespace, name, str(run_id))


def job_version_uuid(
    namespace: str, name: str, inputs: Iterable[tuple[str, str]], outputs: Iterable[tuple[str, str]]
) -> uuid.UUID:
    """Id of a job version: the job and the datasets one of its runs read and wrote (order-free).

    Marquez versions a job by its inputs, outputs and location; the store keeps no location per
    run, so two runs with the same inputs and outputs share a version.
    """
    return _uuid(
        "jobVersion",
        namespace,
        name,
        json.dumps(sorted(set(inputs)), ensure_ascii=False),
        json.dumps(sorted(set(outputs)), ensure_ascii=False),
    )


@dataclass(frozen=True, order=True)
class NodeRef:
    """A node of the lineage graph, by name."""

    kind: NodeKind
    namespace: str
    name: str
    field: str | None = None

    @property
    def node_id(self) -> str:
        """The Marquez node id of this node."""
        if self.kind == "datasetField":
            return f"datasetField:{self.namespace}:{self.name}:{self.field}"
        return f"{self.kind}:{self.namespace}:{self.name}"

    @property
    def row_id(self) -> uuid.UUID:
        """The store's id of this node's row."""
        if self.kind == "dataset":
            return dataset_uuid(self.namespace, self.name)
        if self.kind == "job":
            return job_uuid(self.namespace, self.name)
        return field_uuid(self.namespace, self.name, self.field or "")

    @property
    def dataset(self) -> NodeRef:
        """The dataset holding this field (the node itself for a dataset)."""
        return NodeRef("dataset", self.namespace, self.name)


@dataclass(frozen=True)
class FieldClass:
    """A class stored for (or tagged on) a column."""

    class_id: str
    sensitivity: str | None
    masking: str | None
    source: str


def dataset_node_id(namespace: str, name: str) -> str:
    """``dataset:<namespace>:<name>``."""
    return f"dataset:{namespace}:{name}"


def job_node_id(namespace: str, name: str) -> str:
    """``job:<namespace>:<name>``."""
    return f"job:{namespace}:{name}"


def field_node_id(namespace: str, name: str, field: str) -> str:
    """``datasetField:<namespace>:<name>:<field>``."""
    return f"datasetField:{namespace}:{name}:{field}"


def parse_node_id(value: str) -> list[NodeRef]:
    """Every way ``value`` can be read as a node, most plausible first (see the module docstring).

    Raises :class:`InvalidNodeId` naming what is wrong. A dataset field's column is the part
    after the last colon; the namespace/name split is ambiguous when either contains a colon, so
    all splits are returned, ordered like Marquez's own heuristic (a colon followed by ``//`` or
    a digit belongs to a URI) before the others.
    """
    text = value.strip()
    kind, sep, rest = text.partition(":")
    if not sep or kind not in KINDS:
        raise InvalidNodeId(
            f"nodeId {value!r} must start with 'dataset:', 'job:' or 'datasetField:' "
            "(e.g. dataset:postgres://warehouse:5432:warehouse.raw.shop__orders)"
        )
    rest = _VERSION_SUFFIX.sub("", rest)
    field: str | None = None
    if kind == "datasetField":
        rest, sep, field = rest.rpartition(":")
        if not sep or not field:
            raise InvalidNodeId(f"nodeId {value!r}: a datasetField node ends with ':<field>'")
    splits = [index for index, char in enumerate(rest) if char == ":"]
    candidates = [
        NodeRef(kind, rest[:index], rest[index + 1 :], field)  # type: ignore[arg-type]
        for index in splits
        if index > 0 and index < len(rest) - 1
    ]
    if not candidates:
        raise InvalidNodeId(f"nodeId {value!r}: expected {kind}:<namespace>:<name>")
    return sorted(candidates, key=lambda ref: _uri_colon(rest, len(ref.namespace)))


def _uri_colon(text: str, index: int) -> bool:
    """True when the colon at ``index`` looks like part of a URI (``://`` or ``host:port``)."""
    after = text[index + 1 :]
    return after.startswith("//") or after[:1].isdigit()
