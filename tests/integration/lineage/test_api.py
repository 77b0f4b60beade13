"""The lineage HTTP API on a real PostgreSQL: ingestion endpoints, Marquez-shaped reads, extras and their auth."""

from __future__ import annotations

import csv
import gzip
import io
import json
from collections.abc import Callable
from typing import Any
from urllib.parse import quote

import pytest

from scrollintel.web import URL_PREFIX
from tests.integration.lineage.conftest import LineageDb
from tests.integration.lineage.pipeline import (
    EXPORT,
    JOBS,
    MART,
    RAW,
    SOURCE,
    STAGING,
    T0,
    WAREHOUSE,
    event,
    node,
    pipeline_events,
    run_id,
)

pytestmark = pytest.mark.integration

V1 = f"{URL_PREFIX}/api/v1"
EXTRAS = f"{URL_PREFIX}/api/lineage"


@pytest.fixture
def loaded(api: LineageDb, writer: Any) -> LineageDb:
    """The pipeline's events posted through the API, and the raw table classified."""
    response = writer.post(f"{V1}/lineage/batch", json=pipeline_events())
    assert response.status_code == 200, response.text
    api.classify()
    return api


# --------------------------------------------------------------------------- writes


def test_one_event_is_created_then_recognised_as_already_stored(writer: Any) -> None:
    body = event("START", "ingest_shop.load_orders", at=T0)

    first = writer.post(f"{V1}/lineage", json=body)
    again = writer.post(f"{V1}/lineage", json=body)

    assert (first.status_code, first.json()) == (201, {"status": "created", "runId": run_id("ingest_shop.load_orders")})
    assert (again.status_code, again.json()["status"]) == (200, "duplicate")


@pytest.mark.parametrize(
    ("mutate", "field", "message"),
    [
        (lambda e: e["run"].pop("runId"), "run.runId", "required field is missing"),
        (lambda e: e.update(eventType="FINISHED"), "eventType", "must be one of START, RUNNING, COMPLETE"),
        (lambda e: e["run"].update(runId=42), "run.runId", "must be a string, got number 42"),
        (lambda e: e["run"].update(runId=" "), "run.runId", "must not be empty"),
        (lambda e: e.update(eventTime="2026-01-01"), "eventTime", "with a time part"),
        (lambda e: e["job"].update(name=7), "job.name", "must be a string"),
        (lambda e: e.update(inputs={"namespace": "a"}), "inputs", "must be an array, got an object"),
        (lambda e: e["outputs"].append({"namespace": "n"}), "outputs[0].name", "required field is missing"),
        (
            lambda e: e["run"]["facets"].update(big={"_producer": "p", "blob": "x" * 1_100_000}),
            "run.facets.big.blob",
            "over the limit of 1,048,576 bytes",
        ),
    ],
    ids=[
        "missing-runId",
        "bad-eventType",
        "runId-type",
        "runId-empty",
        "eventTime",
        "job-name-type",
        "inputs-type",
        "output-name",
        "oversized",
    ],
)
def test_an_invalid_event_is_refused_with_the_failing_field_and_nothing_is_stored(
    writer: Any, api: LineageDb, mutate: Callable[[dict[str, Any]], Any], field: str, message: str
) -> None:
    body = event("START", "ingest_shop.load_orders", at=T0)
    mutate(body)

    response = writer.post(f"{V1}/lineage", json=body)

    assert response.status_code == 400, response.text
    assert response.json()["field"] == field
    assert message in response.json()["detail"]
    assert response.json()["detail"].startswith(f"{field}: ")
    with api.connect() as conn:
        assert conn.execute("SELECT count(*) FROM governance.lineage_event").fetchone()[0] == 0
        assert conn.execute("SELECT count(*) FROM governance.lineage_job").fetchone()[0] == 0


def test_a_body_that_is_not_json_or_not_an_object_is_refused(writer: Any) -> None:
    broken = writer.post(f"{V1}/lineage", content=b"{nope", headers={"Content-Type": "application/json"})
    array = writer.post(f"{V1}/lineage", json=[1])
    form = writer.post(f"{V1}/lineage", data={"a": "b"})

    assert (broken.status_code, broken.json()["field"]) == (400, "$")
    assert broken.json()["detail"].startswith("$: body is not valid JSON")
    assert (array.status_code, array.json()["detail"]) == (400, "$: an event must be a JSON object, got an array")
    assert form.status_code == 415


def test_a_request_over_the_size_limit_is_413(writer: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SCROLLINTEL_LINEAGE_MAX_REQUEST_BYTES", "1000")

    response = writer.post(f"{V1}/lineage/batch", json=[event("START", f"j.{i}", at=T0) for i in range(5)])

    assert response.status_code == 413
    assert "the limit is 1,000 bytes" in response.json()["detail"]


def test_gzip_bodies_are_accepted_as_the_openlineage_client_sends_them(writer: Any) -> None:
    body = gzip.compress(json.dumps(event("START", "j.zipped", at=T0)).encode())

    response = writer.post(
        f"{V1}/lineage", content=body, headers={"Content-Type": "application/json", "Content-Encoding": "gzip"}
    )

    assert response.status_code == 201, response.text


def test_a_batch_answers_per_event_and_keeps_the_valid_ones(writer: Any, api: LineageDb) -> None:
    good = event("START", "j.good", at=T0)
    bad = event("START", "j.bad", at=T0)
    bad["eventType"] = "DONE"

    response = writer.post(f"{V1}/lineage/batch", json=[good, bad, good])

    assert response.status_code == 200
    body = response.json()
    assert {k: body[k] for k in ("received", "created", "duplicate", "rejected", "failed")} == {
        "received": 3,
        "created": 1,
        "duplicate": 1,
        "rejected": 1,
        "failed": 0,
    }
    assert body["results"][1] == {
        "index": 1,
        "status": "rejected",
        "field": "eventType",
        "error": "eventType: must be one of START, RUNNING, COMPLETE, ABORT, FAIL, OTHER, got string 'DONE'",
    }
    with api.connect() as conn:
        assert [r[0] for r in conn.execute("SELECT name FROM governance.lineage_job")] == ["j.good"]


def test_ndjson_batches_name_the_line_of_each_problem(writer: Any, api: LineageDb) -> None:
    lines = [json.dumps(event("START", "j.a", at=T0)), "{not json", "", json.dumps(event("COMPLETE", "j.a", at=T0))]

    response = writer.post(
        f"{V1}/lineage/batch", content="\n".join(lines).encode(), headers={"Content-Type": "application/x-ndjson"}
    )

    body = response.json()
    assert [(r["status"], r.get("line")) for r in body["results"]] == [
        ("created", None),
        ("rejected", 2),
        ("created", None),
    ]
    assert body["results"][1]["error"].startswith("$: body is not valid JSON")


def test_a_batch_must_be_an_array(writer: Any) -> None:
    response = writer.post(f"{V1}/lineage/batch", json={"eventType": "START"})

    assert response.status_code == 400
    assert response.json()["detail"].startswith("$: a batch is a JSON array of events")


# --------------------------------------------------------------------------- who may write and read


def test_the_api_key_from_the_airflow_connection_may_post(
    client_factory: Callable[..., Any], api: LineageDb, api_key: str
) -> None:
    producer = client_factory(bearer=api_key)

    response = producer.post(f"{V1}/lineage", json=event("START", "j.t", at=T0))

    assert response.status_code == 201
    with api.connect() as conn:
        assert conn.execute("SELECT received_by FROM governance.lineage_event").fetchone()[0] == (
            "api-key:scrollintel_lineage"
        )


def test_a_wrong_key_a_viewer_and_anonymous_callers_may_not_post(
    client_factory: Callable[..., Any], reader: Any, api: LineageDb, api_key: str
) -> None:
    body = event("START", "j.t", at=T0)

    wrong = client_factory(bearer=api_key[:-1] + ("A" if api_key[-1] != "A" else "B")).post(f"{V1}/lineage", json=body)
    viewer = reader.post(f"{V1}/lineage/batch", json=[body])
    anonymous = client_factory().post(f"{V1}/lineage", json=body)

    assert wrong.status_code == 401
    assert wrong.headers["WWW-Authenticate"] == "Bearer"
    assert wrong.json()["detail"].startswith("Unauthorized: the bearer token is neither the lineage API key")
    assert viewer.status_code == 403
    assert "trigger DAG runs" in viewer.json()["detail"]
    assert (anonymous.status_code, anonymous.json()) == (401, {"detail": "Not authenticated"})
    with api.connect() as conn:
        assert conn.execute("SELECT count(*) FROM governance.lineage_event").fetchone()[0] == 0


def test_the_api_key_does_not_open_the_reads(client_factory: Callable[..., Any], api: LineageDb, api_key: str) -> None:
    response = client_factory(bearer=api_key).get(f"{V1}/namespaces")

    assert response.status_code == 403
    assert response.json()["detail"].startswith("Forbidden: the lineage API key may only post lineage events")


def test_a_bearer_that_is_neither_the_key_nor_a_token_is_a_401_on_reads(
    client_factory: Callable[..., Any], api: LineageDb, api_key: str
) -> None:
    response = client_factory(bearer="not-" + api_key).get(f"{V1}/namespaces")

    assert response.status_code == 401
    assert "neither the lineage API key" in response.json()["detail"]


def test_without_the_connection_no_key_is_accepted(
    client_factory: Callable[..., Any], api: LineageDb, monkeypatch: pytest.MonkeyPatch
) -> None:
    from scrollintel.lineage import apikey

    monkeypatch.delenv("AIRFLOW_CONN_SCROLLINTEL_LINEAGE", raising=False)
    apikey.clear_cache()

    response = client_factory(bearer="anything").post(f"{V1}/lineage", json=event("START", "j.t", at=T0))

    assert response.status_code == 401


def test_every_lineage_route_refuses_anonymous_and_unprivileged_callers(
    web_app: Any, client_factory: Callable[..., Any], make_token: Callable[..., str], api: LineageDb
) -> None:
    from tests.unit.web.test_auth import _probes

    probes = [(m, p) for m, p in _probes(web_app.routes) if "/api/v1" in p or p.startswith("/api/lineage/")]
    assert {
        ("POST", "/api/v1/lineage"),
        ("POST", "/api/v1/lineage/batch"),
        ("GET", "/api/v1/namespaces/probe"),
        ("GET", "/api/lineage/impact"),
        ("GET", "/api/lineage/pii"),
    } <= set(probes)
    anonymous = client_factory()
    no_role = client_factory(bearer=make_token(username="nobody", role=None))
    for method, path in probes:
        assert anonymous.request(method, f"{URL_PREFIX}{path}").status_code == 401, (method, path)
        assert no_role.request(method, f"{URL_PREFIX}{path}").status_code == 403, (method, path)


# --------------------------------------------------------------------------- Marquez-shaped reads


def test_lineage_graph_has_marquez_shape_and_scrollintel_enrichment(reader: Any, loaded: LineageDb) -> None:
    response = reader.get(f"{V1}/lineage", params={"nodeId": node("dataset", STAGING), "depth": 5})

    assert response.status_code == 200, response.text
    graph = {item["id"]: item for item in response.json()["graph"]}
    assert set(graph) == {
        node("dataset", SOURCE),
        node("dataset", RAW),
        node("dataset", STAGING),
        node("dataset", MART),
        f"job:{JOBS}:ingest_shop.load_customers",
        f"job:{JOBS}:transform_dbt.stg_shop__customers",
        f"job:{JOBS}:transform_dbt.customers",
    }
    staging = graph[node("dataset", STAGING)]
    assert staging["type"] == "DATASET"
    assert staging["inEdges"] == [
        {"origin": f"job:{JOBS}:transform_dbt.stg_shop__customers", "destination": node("dataset", STAGING)}
    ]
    assert staging["outEdges"] == [
        {"origin": node("dataset", STAGING), "destination": f"job:{JOBS}:transform_dbt.customers"}
    ]
    data = staging["data"]
    assert data["id"] == {"namespace": WAREHOUSE, "name": STAGING[1]}
    assert {
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
    } <= set(data)
    extra = data["scrollintel"]
    assert extra["owners"][0]["team"] == "analytics"
    assert extra["classification"]["email"] == [{"classId": "email", "status": "anonymised", "method": "hash"}]
    assert extra["classification"]["birth_year"] == [
        {"classId": "birth_date", "status": "anonymised", "method": "generalise"}
    ]
    assert extra["pii"] is False
    assert extra["lastRun"]["state"] == "COMPLETED"
    assert extra["depth"] == 0
    job = graph[f"job:{JOBS}:transform_dbt.stg_shop__customers"]
    assert job["type"] == "JOB"
    assert job["data"]["inputs"] == [{"namespace": WAREHOUSE, "name": RAW[1]}]
    assert job["data"]["latestRun"]["state"] == "COMPLETED"
    assert job["data"]["scrollintel"]["owners"][0]["team"] == "analytics"
    raw = graph[node("dataset", RAW)]["data"]["scrollintel"]
    assert raw["classification"]["email"][0] == {
        "classId": "email",
        "masking": "hash",
        "sensitivity": "confidential",
        "status": "classified",
        "source": "governance.column_classification",
    }
    assert raw["owners"][0]["reason"] == "governance/sources/shop.yaml owner"
    source = graph[node("dataset", SOURCE)]["data"]["scrollintel"]
    assert source["classification"]["email"][0]["status"] == "origin"
    assert source["owners"][0]["reason"] == "source system of governance/sources/shop.yaml"


def test_direction_and_depth_bound_the_graph(reader: Any, loaded: LineageDb) -> None:
    def ids(**params: Any) -> set[str]:
        body = reader.get(f"{V1}/lineage", params={"nodeId": node("dataset", RAW), **params}).json()
        return {item["id"] for item in body["graph"]}

    assert ids(direction="upstream") == {
        node("dataset", RAW),
        node("dataset", SOURCE),
        f"job:{JOBS}:ingest_shop.load_customers",
    }
    assert ids(direction="downstream", depth=1) == {
        node("dataset", RAW),
        node("dataset", STAGING),
        node("dataset", EXPORT),
        f"job:{JOBS}:transform_dbt.stg_shop__customers",
        f"job:{JOBS}:exports.email_export",
    }
    assert node("dataset", MART) in ids(direction="downstream", depth=2)
    assert ids(depth=0) == {node("dataset", RAW)}


def test_column_lineage_has_marquez_dataset_field_nodes(reader: Any, loaded: LineageDb) -> None:
    response = reader.get(f"{V1}/column-lineage", params={"nodeId": node("datasetField", MART, "email_key")})

    graph = {item["id"]: item for item in response.json()["graph"]}
    assert set(graph) == {
        node("datasetField", MART, "email_key"),
        node("datasetField", STAGING, "email"),
        node("datasetField", RAW, "email"),
        node("datasetField", SOURCE, "email"),
    }
    mart = graph[node("datasetField", MART, "email_key")]
    assert mart["type"] == "DATASET_FIELD"
    assert mart["data"]["inputFields"] == [
        {
            "namespace": WAREHOUSE,
            "dataset": STAGING[1],
            "datasetVersion": mart["data"]["inputFields"][0]["datasetVersion"],
            "field": "email",
            "transformationDescription": None,
            "transformationType": "IDENTITY",
        }
    ]
    assert mart["inEdges"] == [{"origin": node("datasetField", STAGING, "email"), "destination": mart["id"]}]
    downstream = reader.get(
        f"{V1}/column-lineage",
        params={"nodeId": node("datasetField", RAW, "email"), "withDownstream": "true", "depth": 1},
    ).json()
    assert node("datasetField", EXPORT, "email") in {item["id"] for item in downstream["graph"]}


def test_namespaces_datasets_jobs_and_runs(reader: Any, loaded: LineageDb) -> None:
    namespaces = reader.get(f"{V1}/namespaces").json()
    encoded = quote(WAREHOUSE, safe="")
    datasets = reader.get(f"{V1}/namespaces/{encoded}/datasets", params={"limit": 2}).json()
    one = reader.get(f"{V1}/namespaces/{encoded}/datasets/{quote(RAW[1], safe='')}").json()
    versions = reader.get(f"{V1}/namespaces/{encoded}/datasets/{quote(RAW[1], safe='')}/versions").json()
    jobs = reader.get(f"{V1}/namespaces/{JOBS}/jobs").json()
    job = reader.get(f"{V1}/namespaces/{JOBS}/jobs/ingest_shop.load_customers").json()
    runs = reader.get(f"{V1}/namespaces/{JOBS}/jobs/ingest_shop.load_customers/runs").json()
    run = reader.get(f"{V1}/jobs/runs/{run_id('ingest_shop.load_customers')}").json()

    assert [n["name"] for n in namespaces["namespaces"]] == [SHOP_NS, WAREHOUSE, JOBS]
    assert namespaces["totalCount"] == 3
    assert (datasets["totalCount"], len(datasets["datasets"])) == (4, 2)
    assert one["currentVersion"] == versions["versions"][0]["version"]
    assert one["facets"]["columnLineage"]["fields"]["email"]["inputFields"][0]["field"] == "email"
    assert [f["name"] for f in one["fields"]][:2] == ["customer_id", "email"]
    assert one["scrollintel"]["pii"] is True and one["scrollintel"]["sensitivity"] == "confidential"
    assert versions["versions"][0]["createdByRun"]["id"] == run_id("ingest_shop.load_customers")
    assert jobs["totalCount"] == 4
    assert job["latestRun"]["state"] == "COMPLETED"
    assert job["outputs"] == [{"namespace": WAREHOUSE, "name": RAW[1]}]
    assert job["latestRun"]["durationMs"] == 120_000
    assert runs["totalCount"] == 1 and runs["runs"][0]["id"] == run["id"]
    assert run["outputDatasetVersions"][0]["datasetVersionId"] == {
        "namespace": WAREHOUSE,
        "name": RAW[1],
        "version": one["currentVersion"],
    }
    assert run["inputDatasetVersions"][0]["datasetVersionId"]["name"] == SOURCE[1]


SHOP_NS = SOURCE[0]


def test_unknown_and_malformed_nodes(reader: Any, loaded: LineageDb) -> None:
    missing = reader.get(f"{V1}/lineage", params={"nodeId": "dataset:nowhere:nothing"})
    malformed = reader.get(f"{V1}/lineage", params={"nodeId": "table:x"})
    no_dataset = reader.get(f"{V1}/namespaces/{JOBS}/datasets/nothing")
    no_namespace = reader.get(f"{V1}/namespaces/nothing/jobs")
    bad_path = reader.get(f"{V1}/namespaces/{JOBS}/jobs/x/y/z")

    assert (missing.status_code, missing.json()["detail"]) == (
        404,
        "no dataset 'dataset:nowhere:nothing' in the lineage store",
    )
    assert malformed.status_code == 400
    assert malformed.json()["detail"].startswith("nodeId 'table:x' must start with")
    assert (no_dataset.status_code, no_namespace.status_code, bad_path.status_code) == (404, 404, 404)


def test_search_ranks_prefix_matches_first(reader: Any, loaded: LineageDb) -> None:
    found = reader.get(f"{EXTRAS}/search", params={"q": "customers"}).json()
    jobs = reader.get(f"{EXTRAS}/search", params={"q": "TRANSFORM", "type": "job"}).json()
    marquez = reader.get(f"{V1}/search", params={"q": "email", "filter": "dataset"}).json()

    assert [r["name"] for r in found["results"]][:1] == ["transform_dbt.customers"] or found["totalCount"] >= 4
    assert {r["nodeId"] for r in found["results"]} >= {node("dataset", RAW), node("dataset", MART)}
    assert [r["name"] for r in jobs["results"]] == ["transform_dbt.customers", "transform_dbt.stg_shop__customers"]
    assert [r["nodeId"] for r in marquez["results"]] == [node("dataset", EXPORT)]


def test_impact_lists_everything_downstream_with_owners_as_json_and_csv(reader: Any, loaded: LineageDb) -> None:
    body = reader.get(f"{EXTRAS}/impact", params={"nodeId": node("dataset", RAW)}).json()
    download = reader.get(f"{EXTRAS}/impact", params={"nodeId": node("dataset", RAW), "format": "csv"})

    items = {item["nodeId"]: item for item in body["items"]}
    assert set(items) == {
        node("dataset", STAGING),
        node("dataset", MART),
        node("dataset", EXPORT),
        f"job:{JOBS}:transform_dbt.stg_shop__customers",
        f"job:{JOBS}:transform_dbt.customers",
        f"job:{JOBS}:exports.email_export",
    }
    assert items[node("dataset", MART)]["depth"] == 2
    assert items[node("dataset", EXPORT)]["pii"] is True
    assert items[node("dataset", MART)]["owners"][0]["team"] == "analytics"
    assert {o["team"]: o["datasets"] for o in body["owners"]}["analytics"] == 3  # staging, mart and export
    assert download.headers["content-type"].startswith("text/csv")
    assert "attachment" in download.headers["content-disposition"]
    rows = list(csv.DictReader(io.StringIO(download.text)))
    assert len(rows) == 6
    export = next(r for r in rows if r["node_id"] == node("dataset", EXPORT))
    assert (export["pii"], export["depth"], export["last_run_state"]) == ("true", "1", "COMPLETED")


def test_impact_of_a_column_follows_column_lineage(reader: Any, loaded: LineageDb) -> None:
    body = reader.get(f"{EXTRAS}/impact", params={"nodeId": node("datasetField", RAW, "email")}).json()

    fields = {item["nodeId"] for item in body["items"] if item["type"] == "DATASET_FIELD"}
    assert fields == {
        node("datasetField", STAGING, "email"),
        node("datasetField", EXPORT, "email"),
        node("datasetField", MART, "email_key"),
    }
    assert {item["nodeId"] for item in body["items"] if item["type"] == "JOB"} == {
        f"job:{JOBS}:transform_dbt.stg_shop__customers",
        f"job:{JOBS}:exports.email_export",
        f"job:{JOBS}:transform_dbt.customers",
    }


def test_pii_follows_columns_and_stops_where_the_masking_policy_anonymises(reader: Any, loaded: LineageDb) -> None:
    body = reader.get(f"{EXTRAS}/pii", params={"nodeId": node("datasetField", RAW, "email")}).json()

    assert body["classified"][0]["classes"][0]["classId"] == "email"
    assert [h["nodeId"] for h in body["holders"]] == [node("datasetField", EXPORT, "email")]
    assert body["holders"][0]["via"] == f"job:{JOBS}:exports.email_export"
    assert [(a["nodeId"], a["methods"]) for a in body["anonymised"]] == [
        (node("datasetField", STAGING, "email"), {"email": "hash"})
    ]
    assert [o["nodeId"] for o in body["origins"]] == [node("datasetField", SOURCE, "email")]
    assert node("datasetField", MART, "email_key") not in json.dumps(body)  # the walk stopped at staging
    assert "masking policy" in body["rule"]


def test_pii_of_a_dataset_starts_from_every_classified_column(reader: Any, loaded: LineageDb) -> None:
    body = reader.get(f"{EXTRAS}/pii", params={"nodeId": node("dataset", RAW)}).json()
    clean = reader.get(f"{EXTRAS}/pii", params={"nodeId": node("dataset", MART)}).json()

    assert {c["field"] for c in body["classified"]} == {"email", "first_name", "birth_date"}
    assert {a["field"] for a in body["anonymised"]} == {"email", "first_name", "birth_year"}
    assert [d["nodeId"] for d in body["datasets"] if d["holds"] and d["depth"] > 0] == [node("dataset", EXPORT)]
    assert clean["classified"] == [] and "No classified column" in clean["notice"]


def test_the_store_being_unreachable_is_a_503_saying_so(reader: Any, web_app: Any, api: LineageDb) -> None:
    from scrollintel.web.deps import lineage_store_url

    web_app.dependency_overrides[lineage_store_url] = lambda: "postgresql+psycopg://nobody@127.0.0.1:9/warehouse"

    response = reader.get(f"{V1}/namespaces")

    assert response.status_code == 503
    assert response.json()["detail"].startswith("The warehouse cannot be reached")


def test_posting_while_the_store_is_unreachable_is_a_503(writer: Any, web_app: Any, api: LineageDb) -> None:
    from scrollintel.web.deps import lineage_store_url

    web_app.dependency_overrides[lineage_store_url] = lambda: "postgresql+psycopg://nobody@127.0.0.1:9/warehouse"

    single = writer.post(f"{V1}/lineage", json=event("START", "j.t", at=T0))
    batch = writer.post(f"{V1}/lineage/batch", json=[event("START", "j.t", at=T0)])

    assert (single.status_code, batch.status_code) == (503, 503)
    assert single.json()["detail"].startswith("The warehouse cannot be reached")


def test_a_datasets_quality_status_comes_from_the_quality_tables_when_they_exist(
    reader: Any, loaded: LineageDb
) -> None:
    def quality() -> Any:
        encoded = quote(WAREHOUSE, safe="")
        return reader.get(f"{V1}/namespaces/{encoded}/datasets/{quote(RAW[1], safe='')}").json()["scrollintel"][
            "quality"
        ]

    with loaded.connect() as conn:  # the quality capability's table, reduced to the columns read here
        conn.execute("DROP TABLE IF EXISTS governance.quality_result, governance.quality_run CASCADE")
    absent = quality()
    with loaded.connect() as conn:
        conn.execute("CREATE TABLE governance.quality_run (dataset text, success boolean, finished_at timestamptz)")
        conn.execute(
            "INSERT INTO governance.quality_run VALUES ('raw.shop__customers', true, '2026-01-01T00:00:00Z'), "
            "('raw.shop__customers', false, '2026-01-02T00:00:00Z'), ('raw.other', true, '2026-01-03T00:00:00Z')"
        )
        conn.execute(f"GRANT SELECT ON governance.quality_run TO {loaded.url.split('://')[1].split(':')[0]}")
    present = quality()

    assert absent is None
    assert present == {"status": "failed", "checkedAt": "2026-01-02T00:00:00Z", "source": "governance.quality_run"}
