"""Graph queries on a real PostgreSQL: cycles, depth limits, and agreement with networkx on a random graph."""

from __future__ import annotations

import random
from typing import Any

import networkx as nx
import pytest

from scrollintel.lineage import graph
from scrollintel.lineage.nodes import dataset_uuid, field_uuid, job_uuid
from scrollintel.lineage.store import connect
from tests.integration.lineage.conftest import LineageDb

pytestmark = pytest.mark.integration

NS = "bench://graph"


def job_event(
    name: str, inputs: list[str], outputs: list[str], columns: dict[str, list[str]] | None = None
) -> dict[str, Any]:
    """A JobEvent declaring a job's inputs and outputs (optionally column lineage on the first output)."""
    facets: dict[str, Any] = {}
    if columns:
        facets["columnLineage"] = {
            "fields": {
                out: {
                    "inputFields": [
                        {"namespace": NS, "name": d, "field": f} for d, f in (s.split(".") for s in sources)
                    ]
                }
                for out, sources in columns.items()
            }
        }
    return {
        "eventTime": "2026-01-01T00:00:00Z",
        "producer": "https://tests",
        "schemaURL": "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/JobEvent",
        "job": {"namespace": NS, "name": name},
        "inputs": [{"namespace": NS, "name": d} for d in inputs],
        "outputs": [
            {"namespace": NS, "name": d, **({"facets": facets} if i == 0 else {})} for i, d in enumerate(outputs)
        ],
    }


def walk(lineage_db: LineageDb, node_id: str, depth: int, direction: graph.Direction) -> graph.Subgraph:
    with connect(lineage_db.url) as conn:
        return graph.walk(conn, graph.resolve_node(conn, node_id), depth, direction)


def test_cycles_end_and_every_node_of_the_cycle_is_found_once(lineage_db: LineageDb) -> None:
    lineage_db.ingest(
        [job_event("a_to_b", ["a"], ["b"]), job_event("b_to_c", ["b"], ["c"]), job_event("c_to_a", ["c"], ["a"])]
    )

    up = walk(lineage_db, f"dataset:{NS}:a", 50, "upstream")
    down = walk(lineage_db, f"dataset:{NS}:a", 50, "downstream")

    ids = {dataset_uuid(NS, n): n for n in "abc"} | {job_uuid(NS, n): n for n in ("a_to_b", "b_to_c", "c_to_a")}
    assert {ids[d]: depth for d, depth in up.datasets.items()} == {"a": 0, "c": 1, "b": 2}
    assert {ids[j]: depth for j, depth in up.jobs.items()} == {"c_to_a": 1, "b_to_c": 2, "a_to_b": 3}
    assert {ids[d]: depth for d, depth in down.datasets.items()} == {"a": 0, "b": 1, "c": 2}
    assert len(up.inputs) == 3 and len(up.outputs) == 3


def test_a_job_node_starts_from_its_own_inputs_and_outputs(lineage_db: LineageDb) -> None:
    lineage_db.ingest([job_event("first", ["src"], ["mid"]), job_event("second", ["mid", "side"], ["out"])])

    both = walk(lineage_db, f"job:{NS}:second", 1, "both")
    just_itself = walk(lineage_db, f"job:{NS}:second", 0, "both")

    names = {dataset_uuid(NS, n): n for n in ("src", "mid", "side", "out")}
    assert {names[d] for d in just_itself.datasets} == {"mid", "side", "out"}
    assert {names[d] for d in both.datasets} == {"src", "mid", "side", "out"}
    assert set(both.jobs) == {job_uuid(NS, "second"), job_uuid(NS, "first")}


def test_upstream_excludes_a_jobs_other_outputs_and_downstream_its_other_inputs(lineage_db: LineageDb) -> None:
    lineage_db.ingest(
        [job_event("split", ["in"], ["wanted", "sibling"]), job_event("merge", ["wanted", "other"], ["out"])]
    )

    up = walk(lineage_db, f"dataset:{NS}:wanted", 5, "upstream")
    down = walk(lineage_db, f"dataset:{NS}:wanted", 5, "downstream")

    assert dataset_uuid(NS, "sibling") not in up.datasets
    assert dataset_uuid(NS, "other") not in down.datasets
    assert dataset_uuid(NS, "in") in up.datasets and dataset_uuid(NS, "out") in down.datasets


@pytest.mark.parametrize("depth", [1, 2, 3, 6])
@pytest.mark.parametrize("direction", ["upstream", "downstream"])
def test_the_walk_matches_networkx_on_a_random_graph_with_cycles(
    lineage_db: LineageDb, depth: int, direction: graph.Direction
) -> None:
    rng = random.Random(20261122)
    datasets = [f"d{i}" for i in range(120)]
    g = nx.DiGraph()
    events = []
    for j in range(90):
        inputs = rng.sample(datasets, rng.randint(1, 3))
        outputs = rng.sample([d for d in datasets if d not in inputs], rng.randint(1, 2))
        events.append(job_event(f"j{j}", inputs, outputs))
        g.add_edges_from((f"ds:{d}", f"job:j{j}") for d in inputs)
        g.add_edges_from((f"job:j{j}", f"ds:{d}") for d in outputs)
    lineage_db.ingest(events)
    assert not nx.is_directed_acyclic_graph(g)

    walked = g.reverse(copy=False) if direction == "upstream" else g
    for start in ("d0", "d7", "d50"):
        if f"ds:{start}" not in g:
            continue
        distances = nx.single_source_shortest_path_length(walked, f"ds:{start}", cutoff=2 * depth)
        expected_datasets = {dataset_uuid(NS, n[3:]): d // 2 for n, d in distances.items() if n.startswith("ds:")}
        expected_jobs = {job_uuid(NS, n[4:]): (d + 1) // 2 for n, d in distances.items() if n.startswith("job:")}

        sub = walk(lineage_db, f"dataset:{NS}:{start}", depth, direction)

        assert sub.datasets == expected_datasets, start
        assert sub.jobs == expected_jobs, start


def test_column_walk_follows_fields_both_ways_and_ends_on_cycles(lineage_db: LineageDb) -> None:
    lineage_db.ingest(
        [
            job_event("copy", ["a"], ["b"], {"x": ["a.x"], "y": ["a.y"]}),
            job_event("derive", ["b"], ["c"], {"z": ["b.x", "b.y"]}),
            job_event("back", ["c"], ["a"], {"x": ["c.z"]}),
        ]
    )

    with connect(lineage_db.url) as conn:
        up = graph.walk_columns(conn, [field_uuid(NS, "c", "z")], 10)
        down = graph.walk_columns(conn, [field_uuid(NS, "a", "y")], 10, upstream=False, downstream=True)

    assert up.fields == {
        field_uuid(NS, "c", "z"): 0,
        field_uuid(NS, "b", "x"): 1,
        field_uuid(NS, "b", "y"): 1,
        field_uuid(NS, "a", "x"): 2,
        field_uuid(NS, "a", "y"): 2,
    }
    assert down.fields == {
        field_uuid(NS, "a", "y"): 0,
        field_uuid(NS, "b", "y"): 1,
        field_uuid(NS, "c", "z"): 2,
        field_uuid(NS, "a", "x"): 3,
        field_uuid(NS, "b", "x"): 4,
    }


def test_a_node_id_with_colons_in_its_namespace_resolves_to_the_dataset_that_exists(lineage_db: LineageDb) -> None:
    lineage_db.ingest([job_event("j", ["in"], ["x:y"])])  # a name with a colon, in a namespace with one

    with connect(lineage_db.url) as conn:
        resolved = graph.resolve_node(conn, f"dataset:{NS}:x:y")

    assert (resolved.ref.namespace, resolved.ref.name) == (NS, "x:y")
