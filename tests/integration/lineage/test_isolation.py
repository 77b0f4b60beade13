"""One bad event never costs another producer its events (real PostgreSQL; a real uvicorn server where it matters).

- Events of the OpenLineage integrations with any ``sql`` dialect are stored with their lineage;
  SQL that nothing can parse stores the event without column edges from SQL, counted on the dataset.
- Poison events, which pass validation but fail later: one whose ``eventTime`` has no UTC equivalent
  (``0001-01-01T00:00:00+14:00``: deriving its day overflows), one whose facet holds a number past
  64 bits and one past a double (``1e400``: PostgreSQL refuses the JSON of its derived rows). Each is
  kept raw and answered as such; the events sharing its group commit or batch are stored.
- JSON nested past the limit is a 400 naming it; after any error the keep-alive connection serves
  the next request.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from scrollintel.lineage.openlineage_events import MAX_JSON_DEPTH
from scrollintel.web import URL_PREFIX
from tests.integration.lineage.conftest import LineageDb
from tests.integration.lineage.pipeline import T0, event

pytestmark = pytest.mark.integration

V1 = f"{URL_PREFIX}/api/v1"
PRODUCER_EVENTS = Path(__file__).resolve().parents[2] / "unit" / "lineage" / "producer_events"
INFINITE = "__1e400__"
JSON = {"Content-Type": "application/json"}
NDJSON = {"Content-Type": "application/x-ndjson"}
LIMIT = f"the limit is {MAX_JSON_DEPTH} levels"


@pytest.fixture
def server(served: str, make_token: Callable[..., str]) -> tuple[str, dict[str, str]]:
    """The lineage API's URL on a real uvicorn server, and a writer's headers."""
    return f"{served}/api/v1", {"Authorization": f"Bearer {make_token(username='dp-engineer', role='user')}"}


def body_of(value: Any) -> bytes:
    """JSON of ``value``, with :data:`INFINITE` strings written as the number ``1e400`` (which JSON allows)."""
    return json.dumps(value).replace(json.dumps(INFINITE), "1e400").encode()


def time_poison(job: str, attempt: int = 1) -> dict[str, Any]:
    """Valid, but its time has no UTC equivalent (deriving its day overflows)."""
    item = event("START", job, at=T0, attempt=attempt)
    item["eventTime"] = "0001-01-01T00:00:00+14:00"
    return item


def number_poison(job: str, attempt: int = 1) -> dict[str, Any]:
    """Valid, but the JSON of its derived run facets is refused by PostgreSQL (``Infinity``)."""
    item = event("START", job, at=T0, attempt=attempt)
    item["run"]["facets"]["stats"] = {"_producer": "p", "_schemaURL": "s", "rows": 2**70, "ratio": INFINITE}
    return item


def nested(levels: int) -> bytes:
    """JSON of a valid event with a facet nested so that the event is ``levels`` deep.

    Written as text: the standard library's encoder stops at its recursion limit before 1,000 levels.
    """
    item = event("START", "j.deep", at=T0)
    item["run"]["facets"]["deep"] = "__deep__"
    inner = levels - 4  # the event, run, facets and the facet itself are the first four levels
    return json.dumps(item).replace('"__deep__"', '{"a":' * inner + "{}" + "}" * inner).encode()


def stored_events(api: LineageDb) -> dict[str, int]:
    with api.connect() as conn:
        return dict(conn.execute("SELECT job_name, count(*) FROM governance.lineage_event GROUP BY 1").fetchall())


def derived_runs(api: LineageDb) -> dict[str, int]:
    with api.connect() as conn:
        return dict(
            conn.execute(
                "SELECT j.name, count(*) FROM governance.lineage_run r "
                "JOIN governance.lineage_job j ON j.id = r.job_id GROUP BY 1"
            ).fetchall()
        )


# --------------------------------------------------------------------------- any SQL dialect


@pytest.mark.parametrize("name", ["dbt_spark", "dbt_bigquery", "hive", "spark", "unparsable_sql"])
def test_events_of_the_openlineage_integrations_are_stored_with_their_lineage(
    writer: Any, api: LineageDb, name: str
) -> None:
    raw = json.loads((PRODUCER_EVENTS / f"{name}.json").read_text())

    response = writer.post(f"{V1}/lineage", json=raw)

    assert (response.status_code, response.json()["status"]) == (201, "created"), response.text
    assert "derived" not in response.json()
    with api.connect() as conn:
        outputs = conn.execute("SELECT count(*) FROM governance.lineage_job_output").fetchone()[0]
    assert outputs == 1


def test_a_bigquery_dialect_in_any_case_gives_column_edges(writer: Any, api: LineageDb) -> None:
    raw = json.loads((PRODUCER_EVENTS / "dbt_bigquery.json").read_text())
    raw["job"]["facets"]["sql"]["dialect"] = "BigQuery"

    assert writer.post(f"{V1}/lineage", json=raw).status_code == 201

    with api.connect() as conn:
        count = conn.execute("SELECT count(*) FROM governance.lineage_column_edge WHERE origin = 'sql'").fetchone()[0]
    assert count == 4


def test_unparsable_sql_is_counted_on_the_datasets_side_panel(writer: Any, reader: Any, api: LineageDb) -> None:
    raw = json.loads((PRODUCER_EVENTS / "unparsable_sql.json").read_text())
    start = {**raw, "eventType": "START"}
    again = {**raw, "run": {"runId": "0193f4e2-6b7c-7d8e-9f0a-2b3c4d5e6f72", "facets": {}}}
    for item in (start, raw, raw, again):  # two runs (one of them reported twice, then once more)
        assert writer.post(f"{V1}/lineage", json=item).status_code in (200, 201)
    output = raw["outputs"][0]

    graph = reader.get(f"{V1}/lineage", params={"nodeId": f"dataset:{output['namespace']}:{output['name']}"})

    assert graph.status_code == 200, graph.text
    nodes = {item["id"]: item["data"]["scrollintel"] for item in graph.json()["graph"]}
    assert nodes[f"dataset:{output['namespace']}:{output['name']}"]["sqlUnparsed"] == 2
    assert nodes[f"job:{raw['job']['namespace']}:{raw['job']['name']}"]["sqlUnparsed"] == 2
    source = raw["inputs"][0]
    assert nodes[f"dataset:{source['namespace']}:{source['name']}"]["sqlUnparsed"] == 0


# --------------------------------------------------------------------------- poison events


@pytest.mark.parametrize(
    ("poison", "warning"),
    [
        (time_poison, "its lineage could not be derived (OverflowError: date value out of range)"),
        (number_poison, "the database refused its derived lineage (invalid input syntax for type json)"),
    ],
    ids=["derivation", "write"],
)  # fmt: skip
def test_a_poison_event_is_kept_raw_and_says_its_lineage_was_not_derived(
    writer: Any, api: LineageDb, poison: Callable[[str], dict[str, Any]], warning: str
) -> None:
    response = writer.post(
        f"{V1}/lineage", content=body_of(poison("j.poison")), headers={"Content-Type": "application/json"}
    )

    assert response.status_code == 201, response.text
    assert {k: response.json()[k] for k in ("status", "derived", "warning")} == {
        "status": "created",
        "derived": False,
        "warning": f"{warning}; the raw event is kept",
    }
    assert stored_events(api) == {"j.poison": 1}
    assert derived_runs(api) == {}


@pytest.mark.parametrize("ndjson", [False, True], ids=["array", "ndjson"])
def test_a_batch_stores_its_good_events_and_reports_each_bad_one(writer: Any, api: LineageDb, ndjson: bool) -> None:
    items = [
        event("START", "j.a", at=T0),
        time_poison("j.time"),
        "__deep__",
        number_poison("j.number"),
        event("START", "j.b", at=T0),
    ]
    bodies = [nested(MAX_JSON_DEPTH + 1) if item == "__deep__" else body_of(item) for item in items]
    if ndjson:
        body, headers = b"\n".join(bodies), {"Content-Type": "application/x-ndjson"}
    else:
        body, headers = b"[" + b",".join(bodies) + b"]", {"Content-Type": "application/json"}

    response = writer.post(f"{V1}/lineage/batch", content=body, headers=headers)

    assert response.status_code == 200, response.text
    answer = response.json()
    assert {k: answer[k] for k in ("received", "created", "rejected", "failed", "notDerived")} == {
        "received": 5,
        "created": 4,
        "rejected": 1,
        "failed": 0,
        "notDerived": 2,
    }
    results = answer["results"]
    assert [(r["index"], r["status"], r.get("derived", True)) for r in results] == [
        (0, "created", True),
        (1, "created", False),
        (2, "rejected", True),
        (3, "created", False),
        (4, "created", True),
    ]
    assert results[1]["warning"].startswith("its lineage could not be derived (OverflowError")
    assert results[2]["field"] == "run.facets.deep.a..."
    assert f"nested more than {MAX_JSON_DEPTH} levels" in results[2]["error"]
    assert results[3]["warning"].startswith("the database refused its derived lineage")
    assert stored_events(api) == {"j.a": 1, "j.time": 1, "j.number": 1, "j.b": 1}
    assert derived_runs(api) == {"j.a": 1, "j.b": 1}


@pytest.mark.timeout(300)
def test_ten_concurrent_clients_lose_no_valid_event_to_one_sending_poison(
    server: tuple[str, dict[str, str]], api: LineageDb
) -> None:
    """Nine clients post valid events while a tenth posts poison ones: every request shares group commits."""
    base, headers = server
    per_client = 20
    answers: dict[str, list[int]] = {}

    def client(name: str) -> None:
        codes = []
        with httpx.Client(headers=headers, timeout=60) as http:
            for attempt in range(1, per_client + 1):
                if name == "poison":
                    item = (time_poison if attempt % 2 else number_poison)(f"j.poison.{attempt}", attempt)
                else:
                    item = event("START", f"j.{name}", at=T0, attempt=attempt)
                response = http.post(f"{base}/lineage", content=body_of(item), headers=JSON)
                codes.append(response.status_code)
        answers[name] = codes

    names = [f"valid{number}" for number in range(9)] + ["poison"]
    threads = [threading.Thread(target=client, args=(name,)) for name in names]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=240)

    assert answers == {name: [201] * per_client for name in names}
    stored = stored_events(api)
    assert {name: stored.get(f"j.{name}") for name in names[:-1]} == {name: per_client for name in names[:-1]}
    assert sum(count for job, count in stored.items() if job.startswith("j.poison.")) == per_client
    runs = derived_runs(api)
    assert {name: runs.get(f"j.{name}") for name in names[:-1]} == {name: per_client for name in names[:-1]}
    assert not any(job.startswith("j.poison.") for job in runs)


# --------------------------------------------------------------------------- deep nesting, keep-alive


def connection_of(response: httpx.Response) -> Any:
    """The client side (address, port) of the connection that carried ``response``; ``None`` once it is closed."""
    try:
        return response.extensions["network_stream"].get_extra_info("client_addr")
    except OSError:  # the server closed it and the client let it go
        return None


@pytest.mark.parametrize(
    ("path", "headers", "body", "expected"),
    [
        ("/lineage", JSON, nested(1_000), (400, LIMIT)),
        ("/lineage", JSON, nested(MAX_JSON_DEPTH + 1), (400, f"more than {MAX_JSON_DEPTH} levels")),
        ("/lineage/batch", JSON, b"[" + nested(1_000) + b"]", (400, LIMIT)),
        ("/lineage/batch", NDJSON, nested(1_000), (200, LIMIT)),
        ("/lineage", JSON, b'{"a":' * 100_000, (400, LIMIT)),
        ("/lineage", JSON, b"{nope", (400, "body is not valid JSON")),
        ("/lineage", JSON, body_of(time_poison("j.poison")), (201, "could not be derived")),
        ("/lineage", JSON, body_of(number_poison("j.poison")), (201, "refused its derived lineage")),
    ],
    ids=["single-1000", "single-129", "batch-1000", "ndjson-1000", "single-100000", "not-json", "poison-time",
         "poison-number"],
)  # fmt: skip
def test_after_any_answer_the_keep_alive_connection_serves_the_next_request(
    server: tuple[str, dict[str, str]], path: str, headers: dict[str, str], body: bytes, expected: tuple[int, str]
) -> None:
    base, auth = server
    with httpx.Client(headers=auth, timeout=60, limits=httpx.Limits(max_connections=1)) as http:
        bad = http.post(f"{base}{path}", content=body, headers=headers)
        first = connection_of(bad)
        good = http.post(f"{base}/lineage", json=event("START", "j.next", at=T0))
        second = connection_of(good)

    assert (bad.status_code, expected[1] in bad.text) == (expected[0], True), bad.text
    assert good.status_code == 201, good.text
    assert first is not None and second == first  # the same connection: the server kept it open
