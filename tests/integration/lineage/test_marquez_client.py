"""Marquez's own Python client (``marquez-python``) against the lineage API over HTTP, call by call.

The governance app runs in a real uvicorn server (mounted at its url prefix, as the api-server
mounts it) over a fresh lineage store; the client gets ``url=<server>/scrollintel`` and an Airflow
token as ``api_key``, as ENVIRONMENT-FACTS describes. Every read the client offers must succeed
and answer the shape of Marquez's OpenAPI spec (``spec/openapi.yml``); every deprecated
resource write must be refused with 405 and a message naming OpenLineage (a deliberate
difference, see ADR 0008).
"""

from __future__ import annotations

import uuid
import warnings
from collections.abc import Callable, Iterator
from datetime import timedelta
from typing import Any

import pytest
import requests

from tests.integration.lineage.conftest import LineageDb
from tests.integration.lineage.pipeline import (
    JOBS,
    PRODUCER,
    RAW,
    STAGING,
    T0,
    WAREHOUSE,
    dataset,
    event,
    pipeline_events,
    run_id,
)

pytestmark = pytest.mark.integration

# Keys each answer must carry: the properties of the spec's schemas (ScrollIntel adds others).
NAMESPACE = {"name", "createdAt", "updatedAt", "ownerName", "description"}
SOURCE = {"type", "name", "createdAt", "updatedAt", "connectionUrl", "description"}
DATASET = {
    "id",
    "type",
    "name",
    "physicalName",
    "createdAt",
    "updatedAt",
    "namespace",
    "sourceName",
    "fields",
    "tags",
    "lastModifiedAt",
    "description",
    "facets",
    "currentVersion",
}
DATASET_VERSION = {
    "id",
    "type",
    "name",
    "physicalName",
    "createdAt",
    "version",
    "namespace",
    "sourceName",
    "fields",
    "tags",
    "description",
    "createdByRun",
    "facets",
}
RUN = {
    "id",
    "createdAt",
    "updatedAt",
    "nominalStartTime",
    "nominalEndTime",
    "state",
    "startedAt",
    "endedAt",
    "durationMs",
    "args",
    "facets",
    "jobVersion",
    "inputDatasetVersions",
    "outputDatasetVersions",
}
JOB = {
    "id",
    "type",
    "name",
    "createdAt",
    "updatedAt",
    "namespace",
    "inputs",
    "outputs",
    "location",
    "description",
    "latestRun",
    "facets",
    "currentVersion",
    "parentJobName",
    "parentJobUuid",
    "latestRuns",
}
JOB_VERSION = {"id", "name", "version", "createdAt", "namespace", "inputs", "outputs", "location", "latestRun"}
COLUMN_NODE = {"namespace", "dataset", "datasetVersion", "field", "fieldType", "inputFields"}
RUN_STATES = {"NEW", "RUNNING", "COMPLETED", "FAILED", "ABORTED"}

CHILD_RUN = "manual__2026-01-01T08:00:00+00:00"  # a non-UUID run id, as some schedulers send
EXTRA = (WAREHOUSE, "warehouse.marts.extra")


def _has(document: dict[str, Any], keys: set[str], what: str) -> None:
    missing = keys - set(document)
    assert not missing, f"{what} lacks {sorted(missing)}: {document}"


def _run_shape(run: dict[str, Any]) -> None:
    _has(run, RUN, "Run")
    assert run["state"] in RUN_STATES
    uuid.UUID(run["id"])
    assert set(run["jobVersion"]) == {"namespace", "name", "version"}
    uuid.UUID(run["jobVersion"]["version"])
    for item in run["inputDatasetVersions"] + run["outputDatasetVersions"]:
        assert set(item["datasetVersionId"]) == {"namespace", "name", "version"}


def extra_events() -> list[dict[str, Any]]:
    """Events beyond the pipeline that exercise the compatibility rules."""
    parent_run = str(uuid.uuid5(uuid.NAMESPACE_URL, "parent"))
    at = T0 + timedelta(hours=2)
    facets = {
        "parent": {
            "_producer": PRODUCER,
            "run": {"runId": parent_run},
            "job": {"namespace": JOBS, "name": "extra_dag"},
        },
        "nominalTime": {"_producer": PRODUCER, "nominalStartTime": "2026-01-01T08:00:00Z"},
    }
    output = dataset(
        EXTRA,
        {
            "dataSource": {"_producer": PRODUCER, "name": "warehouse", "uri": "postgres://warehouse:5432"},
            "tags": {"_producer": PRODUCER, "tags": [{"key": "pii", "value": "true", "source": "MANUAL"}]},
        },
    )
    start = event("START", "load", at=at, inputs=[dataset(STAGING)], outputs=[output])
    start["run"] = {"runId": CHILD_RUN, "facets": facets}
    start["job"]["facets"]["ownership"] = {"_producer": PRODUCER, "owners": "data-platform"}  # not the spec's shape
    complete = event("COMPLETE", "load", at=at + timedelta(minutes=1))  # names no output: START did
    complete["run"] = {"runId": CHILD_RUN, "facets": facets}
    other = event("OTHER", "side_job", at=at, inputs=[dataset(RAW)])
    return [start, complete, other]


@pytest.fixture
def connect(served: str) -> Iterator[Callable[[str], Any]]:
    """A factory of ``MarquezClient`` for the server, with a given bearer as ``api_key``."""
    from marquez_client import client as marquez_client

    def make(api_key: str) -> Any:
        marquez_client._HEADERS.pop("Authorization", None)  # the client keeps its headers module-wide
        return marquez_client.MarquezClient(url=served, api_key=api_key)

    yield make
    marquez_client._HEADERS.pop("Authorization", None)


@pytest.fixture
def marquez(connect: Callable[[str], Any], make_token: Callable[..., str], api: LineageDb) -> Any:
    """The client with an Airflow user's token, over the pipeline's events and :func:`extra_events`."""
    stored = api.ingest([*pipeline_events(), *extra_events()])
    assert {item.status for item in stored} == {"created"}
    api.classify()
    return connect(make_token(username="dp-engineer", role="user"))


def test_every_read_of_the_client_answers_the_specs_shapes(marquez: Any) -> None:
    namespaces = marquez.list_namespaces()
    assert {n["name"] for n in namespaces["namespaces"]} >= {JOBS, WAREHOUSE}
    for item in namespaces["namespaces"]:
        _has(item, NAMESPACE, "Namespace")
    _has(marquez.get_namespace(WAREHOUSE), NAMESPACE, "Namespace")

    sources = marquez.list_sources()["sources"]
    for item in sources:
        _has(item, SOURCE, "Source")
    assert {s["name"] for s in sources} >= {"warehouse", WAREHOUSE}
    assert marquez.get_source("warehouse")["connectionUrl"] == "postgres://warehouse:5432"
    assert marquez.get_source("warehouse")["type"] == "POSTGRESQL"

    datasets = marquez.list_datasets(WAREHOUSE)
    assert datasets["totalCount"] == len(datasets["datasets"]) == 5
    for item in datasets["datasets"]:
        _has(item, DATASET, "Dataset")
    one = marquez.get_dataset(*RAW)
    _has(one, DATASET, "Dataset")
    versions = marquez.list_dataset_versions(*RAW)["versions"]
    assert versions
    for item in versions:
        _has(item, DATASET_VERSION, "DatasetVersion")
        _run_shape(item["createdByRun"])
    assert marquez.get_dataset_version(*RAW, versions[0]["version"]) == versions[0]

    jobs = marquez.list_jobs(JOBS)
    for item in jobs["jobs"]:
        _has(item, JOB, "Job")
        for run in item["latestRuns"]:
            _run_shape(run)
    job = marquez.get_job(JOBS, "transform_dbt.customers")
    runs = marquez.list_job_runs(JOBS, "transform_dbt.customers")["runs"]
    assert [r["id"] for r in runs] == [run_id("transform_dbt.customers")]
    _run_shape(runs[0])
    assert job["latestRun"] == runs[0] == marquez.get_job_run(runs[0]["id"])
    assert job["currentVersion"] == runs[0]["jobVersion"]["version"]

    for graph in (
        marquez.get_column_lineage_by_dataset(*STAGING),
        marquez.get_column_lineage_by_dataset_field(*STAGING, "email"),
        marquez.get_column_lineage_by_job(JOBS, "transform_dbt.customers"),
        marquez.get_column_lineage_by_dataset(*STAGING, version=versions[0]["version"]),
    ):
        assert graph["graph"]
        for item in graph["graph"]:
            assert item["type"] == "DATASET_FIELD"
            _has(item["data"], COLUMN_NODE, "ColumnLineageNodeData")

    assert marquez.list_tags() == {"totalCount": 1, "tags": [{"name": "pii", "description": None}]}

    events = marquez.list_events()
    assert events["totalCount"] == len(events["events"]) == 11
    assert {e["eventType"] for e in events["events"]} == {"START", "COMPLETE", "OTHER"}
    assert marquez.list_events(namespace=JOBS)["totalCount"] == 11
    assert marquez.list_events(namespace="nowhere") == {"totalCount": 0, "events": []}


def test_the_compatibility_rules_show_through_the_client(marquez: Any) -> None:
    child = marquez.get_job(JOBS, "extra_dag.load")  # named parent.child, as Marquez names it
    assert child["parentJobName"] == "extra_dag"
    assert child["simpleName"] == "load"
    uuid.UUID(child["parentJobUuid"])
    run = child["latestRun"]
    assert run["id"] == "297a7fce-3f15-3a99-9de3-782e3064afdf"  # Java's UUID.nameUUIDFromBytes of the run id
    assert run["args"] == {
        "nominal_start_time": "2026-01-01T08:00:00Z",
        "run_id": str(uuid.uuid5(uuid.NAMESPACE_URL, "parent")),
        "name": "extra_dag",
        "namespace": JOBS,
    }
    assert run["facets"]["parent"]["job"]["name"] == "extra_dag"
    assert [v["datasetVersionId"]["name"] for v in run["outputDatasetVersions"]] == [EXTRA[1]]
    assert marquez.get_job_run(run["id"]) == run

    written = marquez.get_dataset(*EXTRA)  # the COMPLETE event did not list it; its START did
    assert written["lastModifiedAt"] == run["endedAt"] == "2026-01-01T08:01:00Z"
    assert written["sourceName"] == "warehouse"  # the spec's dataSource facet

    side = marquez.get_job(JOBS, "side_job")  # only an OTHER event
    assert side["latestRun"]["state"] == "RUNNING"


def test_the_resources_the_client_does_not_wrap(marquez: Any, served: str, make_token: Callable[..., str]) -> None:
    session = requests.Session()
    session.headers["Authorization"] = f"Bearer {make_token(username='dp-engineer', role='viewer')}"
    v1 = f"{served}/api/v1"

    everything = session.get(f"{v1}/jobs").json()
    assert everything["totalCount"] == len(everything["jobs"]) == 6
    for item in everything["jobs"]:
        _has(item, JOB, "Job")

    versions = session.get(f"{v1}/namespaces/{JOBS}/jobs/transform_dbt.customers/versions").json()
    assert versions["totalCount"] == 1
    version = versions["versions"][0]
    _has(version, JOB_VERSION, "JobVersion")
    assert version["inputs"] == [{"namespace": WAREHOUSE, "name": STAGING[1]}]
    one = session.get(f"{v1}/namespaces/{JOBS}/jobs/transform_dbt.customers/versions/{version['version']}")
    assert one.json() == version
    missing = session.get(f"{v1}/namespaces/{JOBS}/jobs/transform_dbt.customers/versions/{uuid.uuid4()}")
    assert missing.status_code == 404

    run = version["latestRun"]["id"]
    run_facets = session.get(f"{v1}/jobs/runs/{run}/facets", params={"type": "run"}).json()
    job_facets = session.get(f"{v1}/jobs/runs/{run}/facets", params={"type": "job"}).json()
    assert run_facets == {"runId": run, "facets": {}}
    assert job_facets["runId"] == run
    assert job_facets["facets"]["jobType"]["integration"] == "AIRFLOW"

    graph = session.get(f"{v1}/lineage", params={"nodeId": f"job:{JOBS}:transform_dbt.customers"}).json()["graph"]
    node = next(item for item in graph if item["type"] == "JOB" and item["data"]["name"] == "transform_dbt.customers")
    assert node["data"]["currentRunUuid"] == run

    ordered = session.get(f"{v1}/events/lineage", params={"sortDirection": "asc", "limit": 2}).json()
    assert ordered["totalCount"] == 11
    assert [e["eventTime"] for e in ordered["events"]] == sorted(e["eventTime"] for e in ordered["events"])


def test_the_deprecated_writes_are_refused_with_405_naming_openlineage(marquez: Any) -> None:
    from marquez_client.errors import APIError
    from marquez_client.models import DatasetType, JobType

    run = run_id("transform_dbt.customers")
    calls: list[Callable[[], Any]] = [
        lambda: marquez.create_namespace("new", "me"),
        lambda: marquez.create_source("s", "POSTGRESQL", "postgres://h:5432"),
        lambda: marquez.create_dataset("ns", "d", DatasetType.DB_TABLE, "d", "s"),
        lambda: marquez.tag_dataset(*RAW, "pii"),
        lambda: marquez.tag_dataset_field(*RAW, "email", "pii"),
        lambda: marquez.create_job("ns", "j", JobType.BATCH),
        lambda: marquez.create_job_run(JOBS, "transform_dbt.customers"),
        lambda: marquez.mark_job_run_as_started(run),
        lambda: marquez.mark_job_run_as_completed(run),
        lambda: marquez.mark_job_run_as_failed(run),
        lambda: marquez.mark_job_run_as_aborted(run),
        lambda: marquez.create_tag("pii", "personal data"),
    ]
    for call in calls:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            with pytest.raises(APIError) as caught:
                call()
        response = caught.value.__cause__.response  # type: ignore[union-attr]
        assert response.status_code == 405, response.text
        assert "OpenLineage events only" in response.json()["detail"]


def test_a_wrong_api_key_is_a_401_that_names_the_key(connect: Callable[[str], Any], api: LineageDb) -> None:
    from marquez_client.errors import APIError

    with pytest.raises(APIError) as caught:
        connect("not-a-token").list_namespaces()

    response = caught.value.__cause__.response  # type: ignore[union-attr]
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"] == "Bearer"
    assert "neither the lineage API key" in response.json()["detail"]
