"""Lineage store benchmark: ingestion over HTTP and the upstream 5-hop query, against baselines in one run.

**Ingestion.** The governance app runs under uvicorn on loopback, mounted as the api-server mounts
it; clients post with the API key, as Airflow's OpenLineage provider does. Events are what the
platform's producers send: a START and a COMPLETE per task run, with Airflow's run and job facets
(about 2 KB), and for every other task one input and one output with a 10-column schema and
column lineage; 400 distinct tasks run again and again, as scheduled DAGs do. Measured: the
single-event endpoint (``--clients`` concurrent clients, one event per request) and the batch
endpoint (``--batch`` events per request). Baseline: a plain HTTP receiver on the same server
stack that only parses the JSON (no validation, no database). Clients and server share the
machine's cores.

**Query.** A synthetic graph of ``--datasets`` datasets (default 20,000) and ``--edges`` job ->
dataset edges (default 100,000), loaded straight into the store's tables: 10 layers of datasets,
each job writes one dataset and reads 4-5 mostly from the layer below, near its own position
(pipelines are local), some from anywhere below, and a few from above (cycles). For random
start datasets in the upper layers, the upstream lineage 5 jobs deep is computed by:

- the store's walk (:func:`scrollintel.lineage.graph.walk`: datasets, jobs and edges);
- a naive recursive query with a path array (each path enumerated, as Marquez's lineage query
  does), returning only the datasets;
- networkx in memory (breadth-first, cutoff 10 edges), returning only the nodes; its graph is
  built once, which is reported separately.

The three must find the same datasets for each start (checked). Also shown for reference: the
whole Marquez-shaped HTTP answer (``GET /api/v1/lineage``, with owners and classification).

Run: ``make bench`` / ``scripts/bench.sh`` (throwaway PostgreSQL), or with
``SCROLLINTEL_TEST_DATABASE_URL`` set to a superuser URL. The machine is shared: ratios within one
run are the figures to compare.
"""

from __future__ import annotations

import argparse
import gc
import http.client
import json
import os
import platform
import random
import secrets
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import psycopg

from scrollintel import db, migrate
from scrollintel.lineage.nodes import dataset_uuid, job_uuid

ROOT = Path(__file__).resolve().parent.parent
NAMESPACE = "bench"
WAREHOUSE = "postgres://warehouse:5432"
PRODUCER = "https://github.com/apache/airflow/tree/providers-openlineage/2.20.3"
RUN_EVENT = "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent"
API_KEY = secrets.token_urlsafe(32)


def plain(url: str) -> str:
    return db.libpq_url(url)


def create_database(admin: str, name: str) -> str:
    with psycopg.connect(plain(admin), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    return db.with_database(admin, name)


def drop_database(admin: str, name: str) -> None:
    with psycopg.connect(plain(admin), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


# --------------------------------------------------------------------------- events


def airflow_facets(dag: str, task: str, index: int) -> tuple[dict[str, Any], dict[str, Any]]:
    """Run and job facets of the size Airflow's provider sends for a task (about 2 KB)."""
    base = {"_producer": PRODUCER, "_schemaURL": "https://openlineage.io/spec/facets/1-0-0/Facet.json"}
    run = {
        "airflow": {
            **base,
            "dag": {"dag_id": dag, "owner": "data-platform", "schedule_interval": "@hourly", "tags": ["ingestion"]},
            "dagRun": {"dag_id": dag, "run_id": f"scheduled__2026-01-01T{index % 24:02d}:00:00+00:00"},
            "task": {
                "task_id": task,
                "operator_class": "PythonOperator",
                "retries": 1,
                "owner": "data-platform",
                "downstream_task_ids": [f"t{i}" for i in range(8)],
                "doc_md": "x" * 400,
            },
            "taskInstance": {"try_number": 1, "map_index": -1, "pool": "default_pool", "queued_dttm": "2026-01-01"},
            "taskUuid": str(uuid.uuid5(uuid.NAMESPACE_URL, f"{dag}.{task}")),
        },
        "processing_engine": {**base, "version": "3.3.2", "name": "Airflow", "openlineageAdapterVersion": "2.20.3"},
        "nominalTime": {**base, "nominalStartTime": "2026-01-01T00:00:00Z"},
    }
    job = {
        "jobType": {**base, "processingType": "BATCH", "integration": "AIRFLOW", "jobType": "TASK"},
        "ownership": {**base, "owners": [{"name": "data-platform"}]},
        "tags": {**base, "tags": [{"key": "ingestion", "value": "ingestion", "source": "AIRFLOW"}]},
    }
    return run, job


#: Distinct tasks of the synthetic platform: each run of the benchmark's events is one of their runs.
TASKS = 400


def task_events(index: int, when: datetime) -> list[dict[str, Any]]:
    """START and COMPLETE of one task run; every other task reads and writes a table with column lineage."""
    task_number = index % TASKS
    dag, task = f"dag_{task_number % 40}", f"task_{task_number}"
    run_facets, job_facets = airflow_facets(dag, task, index)
    columns = [f"column_{c}" for c in range(10)]
    inputs: list[dict[str, Any]] = []
    outputs: list[dict[str, Any]] = []
    if task_number % 2 == 0:
        source, target = f"warehouse.raw.table_{task_number}", f"warehouse.staging.table_{task_number}"
        schema = {"_producer": PRODUCER, "_schemaURL": "s", "fields": [{"name": c, "type": "text"} for c in columns]}
        inputs = [{"namespace": WAREHOUSE, "name": source, "facets": {"schema": schema}}]
        lineage = {
            c: {
                "inputFields": [
                    {
                        "namespace": WAREHOUSE,
                        "name": source,
                        "field": c,
                        "transformations": [{"type": "DIRECT", "subtype": "IDENTITY"}],
                    }
                ]
            }
            for c in columns
        }
        outputs = [
            {
                "namespace": WAREHOUSE,
                "name": target,
                "facets": {
                    "schema": schema,
                    "columnLineage": {"_producer": PRODUCER, "_schemaURL": "s", "fields": lineage},
                },
            }
        ]
    run_id = str(uuid.uuid5(uuid.NAMESPACE_URL, f"{dag}.{task}.{index}"))
    return [
        {
            "eventType": event_type,
            "eventTime": (when + timedelta(seconds=offset)).isoformat().replace("+00:00", "Z"),
            "producer": PRODUCER,
            "schemaURL": RUN_EVENT,
            "run": {"runId": run_id, "facets": run_facets},
            "job": {"namespace": "scrollintel", "name": f"{dag}.{task}", "facets": job_facets},
            "inputs": inputs,
            "outputs": outputs,
        }
        for event_type, offset in (("START", 0), ("COMPLETE", 30))
    ]


def make_events(count: int, offset: int) -> list[dict[str, Any]]:
    when = datetime(2026, 1, 1, tzinfo=UTC)
    events: list[dict[str, Any]] = []
    index = offset
    while len(events) < count:
        events.extend(task_events(index, when + timedelta(minutes=index)))
        index += 1
    return events[:count]


# --------------------------------------------------------------------------- servers


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def serve(factory: str, env: dict[str, str], workers: int) -> Iterator[str]:
    """``uvicorn --factory bench._lineage_app:<factory>`` on a free loopback port; yields its base URL."""
    port = free_port()
    log = tempfile.NamedTemporaryFile(prefix=f"bench-lineage-{factory}-", suffix=".log", delete=False)  # noqa: SIM115
    command = [
        sys.executable,
        "-m",
        "uvicorn",
        "--factory",
        f"bench._lineage_app:{factory}",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--workers",
        str(workers),
        "--log-level",
        "warning",
        "--no-access-log",
    ]
    process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise SystemExit(f"{factory} server exited:\n{Path(log.name).read_text()[-3000:]}")
            try:
                httpx.get(f"{base}/scrollintel/api/v1/namespaces", timeout=1)
                break
            except httpx.HTTPError:
                time.sleep(0.2)
        yield base
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()


@dataclass
class Throughput:
    case: str
    events: int
    seconds: float
    note: str = ""

    @property
    def rate(self) -> float:
        return self.events / self.seconds if self.seconds else 0.0


def post_all(base: str, events: list[dict[str, Any]], *, batch: int, clients: int) -> float:
    """Post ``events`` (one per request, or ``batch`` per request) from ``clients`` threads; wall seconds.

    The load generator is the standard library's ``http.client`` over kept-alive connections with
    the bodies encoded beforehand: clients share the server's two cores, and a heavier client
    (httpx costs about 1 ms of CPU per request here) would measure the client, not the server.
    """
    path = "/scrollintel/api/v1/lineage" + ("/batch" if batch > 1 else "")
    bodies = [
        json.dumps(events[i] if batch == 1 else events[i : i + batch]).encode() for i in range(0, len(events), batch)
    ]
    headers = {"Content-Type": "application/json", "Authorization": f"Bearer {API_KEY}"}
    address = httpx.URL(base)
    queue = iter(bodies)
    lock = threading.Lock()
    failures: list[str] = []

    def worker() -> None:
        connection = http.client.HTTPConnection(address.host, address.port, timeout=60)
        try:
            while True:
                with lock:
                    body = next(queue, None)
                if body is None:
                    return
                connection.request("POST", path, body=body, headers=headers)
                response = connection.getresponse()
                answer = response.read()
                if response.status >= 300 or (batch > 1 and json.loads(answer).get("rejected")):
                    failures.append(f"{response.status}: {answer[:300]!r}")
        finally:
            connection.close()

    threads = [threading.Thread(target=worker) for _ in range(clients)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    seconds = time.perf_counter() - started
    if failures:
        raise SystemExit(f"{len(failures)} request(s) failed, first: {failures[0]}")
    return seconds


# --------------------------------------------------------------------------- the synthetic graph


@dataclass
class Synthetic:
    datasets: list[str]
    jobs: list[tuple[str, list[str], list[str]]]
    layers: int

    @property
    def edges(self) -> int:
        return sum(len(i) + len(o) for _, i, o in self.jobs)


def synthetic_graph(datasets: int, edges: int, seed: int = 11) -> Synthetic:
    """Layered, local, with a few long-range inputs and cycles (see the module docstring)."""
    rng = random.Random(seed)
    layers = 10
    width = datasets // layers
    names = [f"layer{layer}.table_{i}" for layer in range(layers) for i in range(width)]
    producible = [(layer, i) for layer in range(1, layers) for i in range(width)]
    rng.shuffle(producible)
    jobs: list[tuple[str, list[str], list[str]]] = []
    budget = edges
    for number, (layer, i) in enumerate(producible):
        remaining_jobs = len(producible) - number
        inputs_wanted = max(1, min(8, round((budget - remaining_jobs) / remaining_jobs)))
        if number < len(producible) - 1 and rng.random() < 0.5:
            inputs_wanted = max(1, inputs_wanted + rng.choice((-1, 0, 1)))
        chosen: set[str] = set()
        while len(chosen) < inputs_wanted:
            roll = rng.random()
            if roll < 0.002:  # a cycle: reads from a higher layer
                source_layer = rng.randrange(layer, layers)
                source = rng.randrange(width)
            elif roll < 0.05:  # anywhere below
                source_layer, source = rng.randrange(0, layer), rng.randrange(width)
            else:  # the layer below (or the one before), nearby
                source_layer = max(0, layer - (1 if rng.random() < 0.85 else 2))
                source = (i + rng.randint(-40, 40)) % width
            name = f"layer{source_layer}.table_{source}"
            if name != f"layer{layer}.table_{i}":
                chosen.add(name)
        jobs.append((f"job_{layer}_{i}", sorted(chosen), [f"layer{layer}.table_{i}"]))
        budget -= len(chosen) + 1
    return Synthetic(names, jobs, layers)


def load_synthetic(url: str, graph: Synthetic) -> None:
    """COPY the graph into the store's tables, then VACUUM ANALYZE (as autovacuum would)."""
    at = datetime(2026, 1, 1, tzinfo=UTC)
    with psycopg.connect(plain(url)) as conn:
        with conn.cursor() as cur:
            cur.execute(
                "INSERT INTO governance.lineage_namespace (name, created_at, updated_at) VALUES (%s, %s, %s)",
                (NAMESPACE, at, at),
            )
            with cur.copy(
                "COPY governance.lineage_dataset (id, namespace, name, created_at, updated_at) FROM STDIN"
            ) as copy:
                for name in graph.datasets:
                    copy.write_row((dataset_uuid(NAMESPACE, name), NAMESPACE, name, at, at))
            with cur.copy(
                "COPY governance.lineage_job (id, namespace, name, created_at, updated_at) FROM STDIN"
            ) as copy:
                for name, _, _ in graph.jobs:
                    copy.write_row((job_uuid(NAMESPACE, name), NAMESPACE, name, at, at))
            for table, pick in (("lineage_job_input", 1), ("lineage_job_output", 2)):
                statement = f"COPY governance.{table} (dataset_id, job_id, first_seen_at, last_seen_at) FROM STDIN"
                with cur.copy(statement) as copy:
                    for job in graph.jobs:
                        for dataset in job[pick]:
                            copy.write_row((dataset_uuid(NAMESPACE, dataset), job_uuid(NAMESPACE, job[0]), at, at))
        conn.commit()
    with psycopg.connect(plain(url), autocommit=True) as conn:
        conn.execute("VACUUM ANALYZE")


def naive_walk_sql() -> str:
    """The store's query with the recursion a naive (Marquez-style) query uses: a path array per row.

    Everything else (what it returns, how) is the store's, so the two differ only in how they
    avoid cycles: the naive one enumerates every path (``UNION ALL``, ``NOT x = ANY(path)``), the
    store's keeps one row per (dataset, depth) (``UNION``).
    """
    from scrollintel.lineage import graph as graphs

    store_up = graphs._WALK[
        graphs._WALK.index("up(dataset_id, depth) AS (") : graphs._WALK.index("down(dataset_id, depth)")
    ]
    naive_up = """up(dataset_id, depth, path) AS (
    SELECT start, 0, ARRAY[start] FROM unnest(%(up)s::uuid[]) AS start
  UNION ALL
    SELECT i.dataset_id, up.depth + 1, up.path || i.dataset_id
    FROM up
    JOIN governance.lineage_job_output o ON o.dataset_id = up.dataset_id
    JOIN governance.lineage_job_input i ON i.job_id = o.job_id
    WHERE up.depth < %(depth)s AND NOT i.dataset_id = ANY(up.path)
),
"""
    return graphs._WALK.replace(store_up, naive_up)


def naive_walk(conn: Any, start: uuid.UUID, depth: int) -> Any:
    from scrollintel.lineage import graph as graphs

    sub = graphs.Subgraph()
    with conn.cursor() as cur:
        for kind, ids, others, depths in cur.execute(
            naive_walk_sql(), {"up": [start], "down": [], "depth": depth}, binary=True
        ):
            graphs._add_walk_rows(sub, kind, ids or [], others or [], depths or [])
    return sub


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))]


@dataclass
class Latency:
    case: str
    samples: list[float]
    note: str = ""

    @property
    def p50(self) -> float:
        return percentile(self.samples, 0.5)

    @property
    def p99(self) -> float:
        return percentile(self.samples, 0.99)


def timed(work: Callable[[], Any]) -> tuple[float, Any]:
    started = time.perf_counter()
    result = work()
    return (time.perf_counter() - started) * 1000, result


@dataclass
class QueryRun:
    """Latencies of the three methods at one depth, and how much of the graph a query reaches."""

    depth: int
    rows: list[Latency]
    reached: dict[str, float]


def build_networkx(graph: Synthetic) -> tuple[Any, float]:
    """The reversed dataset/job graph in networkx, and how long building it took (ms)."""
    import networkx as nx

    started = time.perf_counter()
    network = nx.DiGraph()
    for name, inputs, outputs in graph.jobs:
        network.add_edges_from((f"d:{d}", f"j:{name}") for d in inputs)
        network.add_edges_from((f"j:{name}", f"d:{d}") for d in outputs)
    reverse = network.reverse(copy=True)
    build_ms = (time.perf_counter() - started) * 1000
    # The graph is long-lived: move it out of the collector's way, as a long-running server's
    # startup objects are, so that a full collection of this process's heap does not land inside
    # one timed query (it would, for whichever method happened to be running).
    gc.collect()
    gc.freeze()
    return reverse, build_ms


def measure_depth(
    url: str, reverse: Any, starts: list[str], depth: int, *, naive_queries: int, naive_timeout: float
) -> QueryRun:
    """Upstream ``depth`` jobs deep from each start: the store, the naive query (first starts) and networkx."""
    import networkx as nx

    from scrollintel.lineage import graph as graphs
    from scrollintel.lineage.store import connect

    store_ms, naive_ms, nx_ms, sizes = [], [], [], []
    with connect(url) as conn:
        for warm in starts[:5]:  # plans cached, pages in memory, as on a running server
            graphs.walk(conn, graphs.resolve_node(conn, f"dataset:{NAMESPACE}:{warm}"), depth, "upstream")
        conn.commit()
        for index, start in enumerate(starts):
            node = f"dataset:{NAMESPACE}:{start}"
            elapsed, sub = timed(
                lambda node=node: graphs.walk(conn, graphs.resolve_node(conn, node), depth, "upstream")
            )
            store_ms.append(elapsed)
            sizes.append((len(sub.datasets), len(sub.jobs), len(sub.inputs) + len(sub.outputs)))
            elapsed, reached = timed(
                lambda start=start: nx.single_source_shortest_path_length(reverse, f"d:{start}", cutoff=2 * depth)
            )
            nx_ms.append(elapsed)
            expected = {dataset_uuid(NAMESPACE, n[2:]) for n in reached if n.startswith("d:")}
            if set(sub.datasets) != expected:
                raise SystemExit(f"the store and networkx disagree upstream of {start}")
            if index < naive_queries:
                naive_ms.append(_naive_ms(conn, start, depth, timeout=naive_timeout, sub=sub, expected=expected))
    timeouts = sum(1 for value in naive_ms if value >= naive_timeout * 1000)
    note = f"{len(naive_ms)} queries" + (
        f", {timeouts} stopped at the {naive_timeout:.0f} s timeout" if timeouts else ""
    )
    return QueryRun(
        depth,
        [
            Latency("store: recursive CTE, one row per (dataset, depth) (UNION)", store_ms),
            Latency("naive: the same query, recursion over a path array (Marquez-style)", naive_ms, note),
            Latency(f"networkx in memory, BFS cutoff {2 * depth} edges (nodes only)", nx_ms),
        ],
        {
            "datasets": statistics.median(size[0] for size in sizes),
            "jobs": statistics.median(size[1] for size in sizes),
            "edges": statistics.median(size[2] for size in sizes),
            "max_datasets": max(size[0] for size in sizes),
        },
    )


def _naive_ms(conn: Any, start: str, depth: int, *, timeout: float, sub: Any, expected: set[uuid.UUID]) -> float:
    conn.execute(f"SET statement_timeout = {int(timeout * 1000)}")
    try:
        elapsed, naive = timed(lambda: naive_walk(conn, dataset_uuid(NAMESPACE, start), depth))
        if set(naive.datasets) != expected or naive.jobs != sub.jobs:
            raise SystemExit(f"the naive query and the store disagree upstream of {start}")
    except psycopg.errors.QueryCanceled:
        conn.rollback()
        elapsed = timeout * 1000
    conn.execute("SET statement_timeout = 0")
    conn.commit()
    return float(elapsed)


def measure_http(base: str, token: str, starts: list[str], depth: int) -> Latency:
    """The whole Marquez-shaped answer over HTTP (owners, classification, last runs included)."""
    samples = []
    with httpx.Client(base_url=base, timeout=120, headers={"Authorization": f"Bearer {token}"}) as client:
        warm = {"nodeId": f"dataset:{NAMESPACE}:{starts[-1]}", "depth": depth, "direction": "upstream"}
        client.get("/scrollintel/api/v1/lineage", params=warm).raise_for_status()  # the worker's first request
        for start in starts:
            params = {"nodeId": f"dataset:{NAMESPACE}:{start}", "depth": depth, "direction": "upstream"}
            elapsed, response = timed(lambda params=params: client.get("/scrollintel/api/v1/lineage", params=params))
            response.raise_for_status()
            samples.append(elapsed)
    return Latency(
        "HTTP GET /api/v1/lineage (Marquez JSON, owners, classification)",
        samples,
        f"{len(samples)} queries; reference, no goal",
    )


def print_query_run(run: QueryRun, extra: list[Latency], build_ms: float) -> None:
    reach = run.reached
    print(
        f"upstream {run.depth} jobs deep: median reach {reach['datasets']:,.0f} datasets, {reach['jobs']:,.0f} jobs, "
        f"{reach['edges']:,.0f} edges (max {reach['max_datasets']:,.0f} datasets); networkx graph built once in "
        f"{build_ms:,.0f} ms"
    )
    print(f"{'query':<78} {'n':>4} {'p50 ms':>9} {'p99 ms':>9} {'p50 vs store':>13}  note")
    print("-" * 132)
    store = run.rows[0]
    for row in [*run.rows, *extra]:
        if row.samples:
            print(
                f"{row.case:<78} {len(row.samples):>4} {row.p50:9.2f} {row.p99:9.2f} {row.p50 / store.p50:12.1f}x  "
                f"{row.note}"
            )
    print()


# --------------------------------------------------------------------------- main


def verdict(label: str, value: str, goal: str, met: bool) -> None:
    print(f"  {label:<62} {value:>14}   goal {goal:<16} {'met' if met else 'NOT MET'}")


def make_token() -> str:
    """A JWT of a viewer, signed with the bench server's secret (SimpleAuthManager, as in the tests)."""
    from airflow.api_fastapi.auth.tokens import JWTGenerator

    secret = os.environ["AIRFLOW__API_AUTH__JWT_SECRET"]
    return JWTGenerator(secret_key=secret, valid_for=3600, audience="apache-airflow").generate(
        {"sub": "bench", "role": "viewer"}
    )


def server_env(url: str, home: Path) -> dict[str, str]:
    """The servers' environment: Airflow's auth (SimpleAuthManager), the store and the API key connections."""
    return {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "AIRFLOW_HOME": str(home / "airflow"),
        "AIRFLOW__CORE__AUTH_MANAGER": "airflow.api_fastapi.auth.managers.simple.simple_auth_manager.SimpleAuthManager",
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS": "bench:viewer",
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE": str(home / "passwords.json"),
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{home / 'airflow.db'}",
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW_CONN_POSTGRES_WAREHOUSE": "postgres://" + url.split("://", 1)[1],
        "AIRFLOW_CONN_SCROLLINTEL_LINEAGE": json.dumps({"conn_type": "generic", "password": API_KEY}),
    }


@dataclass
class IngestResults:
    receiver_single: Throughput
    single: Throughput
    receiver_batch: Throughput
    batched: Throughput
    replay: Throughput

    def print(self) -> None:
        print(f"{'ingestion over HTTP':<66} {'events':>8} {'seconds':>8} {'events/s':>10} {'vs receiver':>12}  note")
        print("-" * 118)
        pairs = (
            (self.receiver_single, self.receiver_single),
            (self.single, self.receiver_single),
            (self.receiver_batch, self.receiver_batch),
            (self.batched, self.receiver_batch),
            (self.replay, self.receiver_batch),
        )
        for row, baseline in pairs:
            ratio = row.rate / baseline.rate
            print(f"{row.case:<66} {row.events:>8,} {row.seconds:8.2f} {row.rate:10,.0f} {ratio:11.2f}x  {row.note}")
        print()


def ingest_benchmark(url: str, env: dict[str, str], args: argparse.Namespace) -> IngestResults:
    """The plain receiver, then the store: single events, batches, and a replay of the batches."""
    events = make_events(2 * args.events, 0)
    first, second = events[: args.events], events[args.events :]
    size = statistics.median(len(json.dumps(e)) for e in events)
    print(f"events: {args.events:,} per case, median {size:,.0f} bytes of JSON", flush=True)
    with serve("receiver", env, args.workers) as base:
        post_all(base, events[:200], batch=1, clients=args.clients)
        receiver_single = Throughput(
            "plain HTTP receiver, 1 event per request (baseline)",
            args.events,
            post_all(base, first, batch=1, clients=args.clients),
        )
        receiver_batch = Throughput(
            f"plain HTTP receiver, {args.batch} events per request (baseline)",
            args.events,
            post_all(base, first, batch=args.batch, clients=2),
        )
    with serve("governance", env, args.workers) as base:
        post_all(base, make_events(200, 10**6), batch=1, clients=args.clients)  # warm up
        single = Throughput(
            "store: POST /api/v1/lineage, 1 event per request",
            args.events,
            post_all(base, first, batch=1, clients=args.clients),
        )
        batched = Throughput(
            f"store: POST /api/v1/lineage/batch, {args.batch} per request",
            args.events,
            post_all(base, second, batch=args.batch, clients=2),
        )
        replay = Throughput(
            f"store: batch replay of events already stored ({args.batch}/request)",
            args.events,
            post_all(base, second, batch=args.batch, clients=2),
            "no row changes",
        )
    with psycopg.connect(plain(url)) as conn:
        stored = conn.execute("SELECT count(*) FROM governance.lineage_event").fetchone()[0]  # type: ignore[index]
    if stored != 2 * args.events + 200:
        raise SystemExit(f"expected {2 * args.events + 200} stored events, found {stored}")
    return IngestResults(receiver_single, single, receiver_batch, batched, replay)


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--events", type=int, default=10_000, help="events per ingestion case")
    parser.add_argument("--batch", type=int, default=100, help="events per batch request")
    parser.add_argument("--clients", type=int, default=8, help="concurrent clients")
    parser.add_argument("--workers", type=int, default=2, help="uvicorn workers (the platform's api-server runs 2)")
    parser.add_argument("--datasets", type=int, default=20_000)
    parser.add_argument("--edges", type=int, default=100_000)
    parser.add_argument("--depth", type=int, default=5, help="jobs upstream")
    parser.add_argument("--queries", type=int, default=300)
    parser.add_argument("--naive-queries", type=int, default=30)
    parser.add_argument("--naive-timeout", type=float, default=20.0, help="seconds")
    parser.add_argument("--http-queries", type=int, default=20)
    parser.add_argument("--deep-depth", type=int, default=10, help="a deeper query where path enumeration shows")
    parser.add_argument("--deep-queries", type=int, default=20)
    return parser.parse_args()


def main() -> None:
    args = parse_args()
    admin = os.environ.get("SCROLLINTEL_TEST_DATABASE_URL")
    if not admin:
        raise SystemExit("set SCROLLINTEL_TEST_DATABASE_URL to a superuser URL, or run scripts/bench.sh")
    admin = db.normalise_url(admin)
    tag = secrets.token_hex(3)
    names = {"ingest": f"bench_lineage_{tag}", "graph": f"bench_graph_{tag}"}
    home = Path(tempfile.mkdtemp(prefix="scrollintel-bench-lineage-"))
    os.environ["AIRFLOW_HOME"] = str(home / "airflow")  # before anything imports Airflow
    os.environ["AIRFLOW__API_AUTH__JWT_SECRET"] = secrets.token_urlsafe(64)
    try:
        ingest_url = create_database(admin, names["ingest"])
        graph_url = create_database(admin, names["graph"])
        migrate.upgrade(ingest_url)
        migrate.upgrade(graph_url)
        with psycopg.connect(plain(admin)) as conn:
            version = conn.execute("SHOW server_version").fetchone()[0]  # type: ignore[index]
        print(
            f"lineage benchmark: PostgreSQL {version}; {os.cpu_count()} CPU(s); Python {platform.python_version()}; "
            f"uvicorn workers {args.workers}; {args.clients} clients"
        )
        command = [sys.executable, "-m", "airflow", "db", "migrate"]
        subprocess.run(command, env=server_env(ingest_url, home), check=True, capture_output=True, cwd=ROOT)

        ingest = ingest_benchmark(ingest_url, server_env(ingest_url, home), args)

        print(f"building the synthetic graph ({args.datasets:,} datasets, {args.edges:,} edges) ...", flush=True)
        synthetic = synthetic_graph(args.datasets, args.edges)
        load_synthetic(graph_url, synthetic)
        print(f"graph: {len(synthetic.datasets):,} datasets, {len(synthetic.jobs):,} jobs, {synthetic.edges:,} edges\n")
        rng = random.Random(5)
        upper = [name for name in synthetic.datasets if int(name.split(".")[0][5:]) >= synthetic.layers // 2]
        starts = rng.sample(upper, args.queries)
        reverse, build_ms = build_networkx(synthetic)
        main_run = measure_depth(
            graph_url, reverse, starts, args.depth, naive_queries=args.naive_queries, naive_timeout=args.naive_timeout
        )
        deep_run = measure_depth(
            graph_url,
            reverse,
            starts[: args.deep_queries],
            args.deep_depth,
            naive_queries=args.deep_queries,
            naive_timeout=args.naive_timeout,
        )
        with serve("governance", server_env(graph_url, home), args.workers) as base:
            http = measure_http(base, make_token(), starts[: args.http_queries], args.depth)

        ingest.print()
        print_query_run(main_run, [http], build_ms)
        print_query_run(deep_run, [], build_ms)
        store = main_run.rows[0]
        print("verdicts")
        verdict(
            "ingest, single endpoint", f"{ingest.single.rate:,.0f} ev/s", ">= 1,000 ev/s", ingest.single.rate >= 1000
        )
        verdict(
            "ingest, batch endpoint", f"{ingest.batched.rate:,.0f} ev/s", ">= 1,000 ev/s", ingest.batched.rate >= 1000
        )
        verdict(f"upstream {args.depth} hops, p50", f"{store.p50:.2f} ms", "< 20 ms", store.p50 < 20)
        verdict(f"upstream {args.depth} hops, p99", f"{store.p99:.2f} ms", "< 100 ms", store.p99 < 100)
    finally:
        from scrollintel.lineage.store import dispose_engines

        dispose_engines()
        for name in names.values():
            drop_database(admin, name)


if __name__ == "__main__":
    main()
