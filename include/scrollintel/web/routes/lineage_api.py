"""The lineage store's HTTP API: Marquez-compatible under ``/api/v1``, ScrollIntel extras under ``/api/lineage``.

Marquez-compatible (a FastAPI sub-app mounted at ``/api/v1``, as in Marquez)::

    POST /api/v1/lineage                  one OpenLineage event: 201 stored, 200 already stored, 400 invalid
                                          (a route of the governance app itself: :func:`post_lineage`)
    POST /api/v1/lineage/batch            a JSON array, or NDJSON (Content-Type application/x-ndjson):
                                          200 with one result per event; one bad event fails alone
    GET  /api/v1/lineage                  ?nodeId=&depth=[&direction=upstream|downstream|both]
    GET  /api/v1/column-lineage           ?nodeId=&depth=&withDownstream=
    GET  /api/v1/namespaces[/{namespace}]
    GET  /api/v1/namespaces/{namespace}/datasets[/{dataset}[/versions[/{version}]]]
    GET  /api/v1/namespaces/{namespace}/jobs[/{job}[/runs|/versions[/{version}]]]
    GET  /api/v1/jobs                     every namespace's jobs
    GET  /api/v1/jobs/runs/{id}[/facets]  ?type=run|job
    GET  /api/v1/sources[/{source}]
    GET  /api/v1/tags
    GET  /api/v1/events/lineage           ?before=&after=&sortDirection=asc|desc (also /events, /events/{namespace})
    GET  /api/v1/search                   ?q=&filter=dataset|job&limit=
    PUT/POST namespaces, sources, tags, jobs/runs  405: Marquez's deprecated resource writes (OpenLineage only)

Extras (routes of the governance app itself)::

    GET  /api/lineage/search              ?q=&type=dataset|job&namespace=&limit=
    GET  /api/lineage/impact              ?nodeId=&depth=&format=json|csv
    GET  /api/lineage/pii                 ?nodeId=  (a column, a dataset or a job's outputs)
    GET  /api/lineage/cost                ?nodeId=  a dataset's attributed cost (last 30 days, month to
                                          date) from the cost rollup's facts; read-only

**Who may call.** Reads: any Airflow user who may use the UI (the app-level dependency of
:mod:`scrollintel.web.deps`). Writes (:func:`~scrollintel.web.deps.lineage_writer`): an Airflow
user who may trigger DAG runs, or a producer
sending the API key of the Airflow connection ``scrollintel_lineage`` as ``Authorization: Bearer
<key>`` (the OpenLineage HTTP transport's ``auth: {type: api_key}``). The Marquez API is a
separate app because its writes accept that key, which Airflow's own user check would refuse;
its reads carry the same Airflow dependency as every other route. A bearer that is neither the key
nor a token Airflow issued is answered 401 saying so (Airflow itself answers 403 "Invalid JWT
token"); the key on a read is 403.

Namespaces and names may contain slashes (``postgres://warehouse:5432``): clients percent-encode
them (``%2F``), and path segments are read from the raw request path, so that works.

The database is the ``postgres_warehouse`` connection (:func:`~scrollintel.web.deps.lineage_store_url`;
tests override that dependency). When it cannot be reached, or the lineage tables do not exist yet, the API
answers 503 saying so.
"""

from __future__ import annotations

import asyncio
import logging
import zlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Annotated, Any, Literal, TypeVar
from urllib.parse import unquote

import orjson
from fastapi import APIRouter, Depends, FastAPI, HTTPException, Query, Request, Response, status
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse, StreamingResponse

from scrollintel.lineage.errors import InvalidEvent, InvalidNodeId, NodeNotFound, PayloadTooLarge, StoreFailure
from scrollintel.web.deps import (
    LineageWriter,
    StoreUrl,
    bearer_scheme,
    lineage_writer,
    request_store_url,
    route_dependencies,
)
from scrollintel.web.problems import connection_failure

if TYPE_CHECKING:
    import psycopg

    from scrollintel.lineage.combiner import WriteCombiner

log = logging.getLogger(__name__)

T = TypeVar("T")
MARQUEZ_PREFIX = "/api/v1"
JSON_TYPES = ("application/json",)
#: Events up to this size are validated on the event loop (well under a millisecond), larger ones in a thread.
INLINE_VALIDATION_BYTES = 64 * 1024
NDJSON_TYPES = ("application/x-ndjson", "application/ndjson", "application/jsonl")
#: Paging of the Marquez listing routes (Marquez's own bounds).
Limit = Annotated[int, Query(ge=1, le=1000)]
Offset = Annotated[int, Query(ge=0)]
MIGRATE_HINT = "run `scrollintel db upgrade` (`make run` does it) to create the lineage tables"
#: What Airflow's ``get_user`` answers (403) for a bearer token that is not a valid JWT.
AIRFLOW_INVALID_JWT_DETAIL = "Invalid JWT token"
BAD_CREDENTIAL = (
    "Unauthorized: the bearer token is neither the lineage API key (the password of the Airflow connection "
    "scrollintel_lineage) nor a valid Airflow token; check the key, or get a token from the Airflow API"
)
KEY_MAY_NOT_READ = (
    "Forbidden: the lineage API key may only post lineage events; reading lineage needs an Airflow user's token"
)
LEGACY_WRITES = (
    "This lineage store is written with OpenLineage events only (POST /api/v1/lineage or /api/v1/lineage/batch); "
    "Marquez's resource writes (namespaces, sources, datasets, jobs, runs, tags) are not supported"
)


def bad_credential(err: HTTPException) -> HTTPException:
    """A bearer Airflow refused as an invalid JWT (403) as a 401 that says which credentials are accepted.

    The token is not one Airflow issued, so the caller is not authenticated (401, as Marquez and
    the OpenLineage HTTP transport expect for a wrong API key); a valid user without the right
    permission still gets 403. Other errors are returned unchanged.
    """
    if err.status_code == status.HTTP_403_FORBIDDEN and err.detail == AIRFLOW_INVALID_JWT_DETAIL:
        return HTTPException(status.HTTP_401_UNAUTHORIZED, BAD_CREDENTIAL, headers={"WWW-Authenticate": "Bearer"})
    return err


# --------------------------------------------------------------------------- the database


def _unavailable(err: Exception) -> HTTPException:
    """A database failure as a 503 that says what is wrong (no credentials, no stack)."""
    import psycopg

    state = getattr(err, "sqlstate", None) if isinstance(err, psycopg.Error) else None
    if state in ("42P01", "3F000"):
        message = f"The lineage store does not exist yet: {MIGRATE_HINT}."
    elif state == "42501":
        message = "The database role of the postgres_warehouse connection may not use the lineage tables."
    elif isinstance(err, psycopg.OperationalError):  # libpq names the host and port: not in a response
        message = f"The warehouse cannot be reached: {connection_failure(err)}."
    else:
        message = f"The lineage store failed ({type(err).__name__}{f', SQLSTATE {state}' if state else ''})."
    log.warning("lineage API: %s", message)
    return HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, message)


@contextmanager
def _reading(url: str) -> Iterator[psycopg.Connection[Any]]:
    """A pooled connection; store errors become 400/404, database errors 503."""
    import psycopg

    from scrollintel.lineage.store import connect

    try:
        with connect(url) as conn:
            yield conn
    except InvalidNodeId as err:
        raise HTTPException(status.HTTP_400_BAD_REQUEST, str(err)) from err
    except NodeNotFound as err:
        raise HTTPException(status.HTTP_404_NOT_FOUND, str(err)) from err
    except psycopg.Error as err:
        raise _unavailable(err) from err


def _read(url: str, work: Callable[[Any], T]) -> T:
    with _reading(url) as conn:
        return work(conn)


# --------------------------------------------------------------------------- request bodies


async def read_body(request: Request) -> bytes:
    """The request body, decompressed when gzip-encoded; 413 past the size limit, 415 for other types."""
    from scrollintel.lineage.openlineage_events import check_request_size, max_request_bytes

    try:
        declared = int(request.headers.get("content-length") or 0)
        check_request_size(declared)
        chunks, size = [], 0
        async for chunk in request.stream():
            size += len(chunk)
            check_request_size(size)
            chunks.append(chunk)
        body = b"".join(chunks)
        encoding = request.headers.get("content-encoding", "identity").strip().lower()
        if encoding == "gzip":
            inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)
            body = inflater.decompress(body, max_request_bytes() + 1)
            check_request_size(len(body))
        elif encoding not in ("", "identity"):
            raise HTTPException(status.HTTP_415_UNSUPPORTED_MEDIA_TYPE, f"unsupported Content-Encoding {encoding!r}")
    except PayloadTooLarge as err:
        raise HTTPException(status.HTTP_413_CONTENT_TOO_LARGE, str(err)) from err
    except ValueError as err:  # a bad Content-Length, or a body that is not gzip
        raise HTTPException(status.HTTP_400_BAD_REQUEST, f"cannot read the request body: {err}") from err
    except zlib.error as err:
        raise HTTPException(status.HTTP_400_BAD_REQUEST, f"the body is not valid gzip: {err}") from err
    return body


def _media_type(request: Request) -> str:
    return request.headers.get("content-type", "").split(";", 1)[0].strip().lower()


def _invalid(err: InvalidEvent) -> JSONResponse:
    from scrollintel.lineage.openlineage_events import problems_of

    return JSONResponse(
        {"detail": str(err), "field": err.field, "errors": problems_of(err)}, status_code=status.HTTP_400_BAD_REQUEST
    )


@dataclass(frozen=True)
class EventResult:
    """One event of a batch: where it was, and what became of it.

    ``derived`` is false (and ``warning`` says why) for an event stored raw, without its lineage.
    """

    index: int
    status: Literal["created", "duplicate", "rejected", "failed"]
    field: str | None = None
    error: str | None = None
    line: int | None = None
    derived: bool = True
    warning: str | None = None

    def as_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {"index": self.index, "status": self.status}
        for key in ("line", "field", "error"):
            if getattr(self, key) is not None:
                data[key] = getattr(self, key)
        if not self.derived:
            data.update(derived=False, warning=self.warning)
        return data


def _split_batch(body: bytes, media_type: str) -> list[tuple[int | None, Any]]:
    """(line number for NDJSON, decoded value or the InvalidEvent of that line) per event of a batch."""
    from scrollintel.lineage.openlineage_events import (
        MAX_JSON_DEPTH,
        brackets_within,
        check_depth,
        max_batch_events,
        parse_body,
        split_ndjson,
    )

    if media_type in NDJSON_TYPES:
        items: list[tuple[int | None, Any]] = []
        for number, line in split_ndjson(body):
            try:
                items.append((number, parse_body(line)))
            except InvalidEvent as err:
                items.append((number, err))
    else:
        value = parse_body(body, max_depth=None)  # each event's depth is checked below, on its own
        if not isinstance(value, list):
            raise InvalidEvent("$", "a batch is a JSON array of events (or NDJSON, one event per line)")
        if brackets_within(body, MAX_JSON_DEPTH + 1):  # the array is a level: no event in it can be deeper
            items = [(None, item) for item in value]
        else:
            items = [(None, _checked_depth(item, check_depth)) for item in value]
    if len(items) > max_batch_events():
        raise PayloadTooLarge(f"{len(items):,} events in one batch; the limit is {max_batch_events():,}")
    return items


def _checked_depth(item: Any, check: Callable[[Any], None]) -> Any:
    """``item``, or the InvalidEvent saying it is nested too deeply (it is then rejected alone)."""
    try:
        check(item)
    except InvalidEvent as err:
        return err
    return item


def _validate_batch(items: list[tuple[int | None, Any]]) -> tuple[list[EventResult | None], list[Any]]:
    from scrollintel.lineage.openlineage_events import validate_event

    results: list[EventResult | None] = []
    valid = []
    for index, (line, value) in enumerate(items):
        if isinstance(value, InvalidEvent):
            results.append(EventResult(index, "rejected", value.field, str(value), line))
            continue
        try:
            valid.append(validate_event(value))
            results.append(None)
        except InvalidEvent as err:
            results.append(EventResult(index, "rejected", err.field, str(err), line))
    return results, valid


# --------------------------------------------------------------------------- the Marquez app

reads = APIRouter(dependencies=route_dependencies())
writes = APIRouter()


@reads.get("/lineage")
def get_lineage(
    url: StoreUrl,
    node_id: Annotated[str, Query(alias="nodeId", min_length=1)],
    depth: Annotated[int, Query(ge=0, le=100)] = 20,
    direction: Literal["upstream", "downstream", "both"] = "both",
) -> dict[str, Any]:
    """The dataset/job lineage graph around ``nodeId`` (Marquez ``LineageGraph``)."""
    from scrollintel.lineage import marquez

    return _read(url, lambda conn: marquez.lineage(conn, node_id, depth, direction))


@reads.get("/column-lineage")
def get_column_lineage(
    url: StoreUrl,
    node_id: Annotated[str, Query(alias="nodeId", min_length=1)],
    depth: Annotated[int, Query(ge=0, le=100)] = 20,
    with_downstream: Annotated[bool, Query(alias="withDownstream")] = False,
) -> dict[str, Any]:
    """The column lineage graph of a field, a dataset's fields or a job's outputs."""
    from scrollintel.lineage import marquez

    return _read(url, lambda conn: marquez.column_lineage(conn, node_id, depth, with_downstream))


@reads.get("/namespaces")
def get_namespaces(url: StoreUrl, limit: Limit = 100, offset: Offset = 0) -> dict[str, Any]:
    """Every namespace."""
    from scrollintel.lineage import marquez

    return _read(url, lambda conn: marquez.namespaces(conn, limit, offset))


@reads.get("/namespaces/{path:path}")
def get_namespace_resource(
    request: Request,
    url: StoreUrl,
    path: str,
    limit: Limit = 100,
    offset: Offset = 0,
) -> dict[str, Any]:
    """A namespace, its datasets or jobs, one of them, a dataset's versions or a job's runs."""
    from scrollintel.lineage import marquez

    segments = _namespace_segments(request, path)
    routes: dict[tuple[int, str | None, str | None], Callable[[Any], dict[str, Any]]] = {
        (1, None, None): lambda conn: marquez.namespace(conn, segments[0]),
        (2, "datasets", None): lambda conn: marquez.datasets(conn, segments[0], limit, offset),
        (3, "datasets", None): lambda conn: marquez.dataset(conn, segments[0], segments[2]),
        (4, "datasets", "versions"): lambda conn: marquez.dataset_versions(
            conn, segments[0], segments[2], limit, offset
        ),
        (5, "datasets", "versions"): lambda conn: marquez.dataset_version(conn, segments[0], segments[2], segments[4]),
        (2, "jobs", None): lambda conn: marquez.jobs(conn, segments[0], limit, offset),
        (3, "jobs", None): lambda conn: marquez.job(conn, segments[0], segments[2]),
        (4, "jobs", "runs"): lambda conn: marquez.runs(conn, segments[0], segments[2], limit, offset),
        (4, "jobs", "versions"): lambda conn: marquez.job_versions(conn, segments[0], segments[2], limit, offset),
        (5, "jobs", "versions"): lambda conn: marquez.job_version(conn, segments[0], segments[2], segments[4]),
    }
    key = (
        len(segments),
        segments[1] if len(segments) > 1 else None,
        segments[3] if len(segments) > 3 else None,
    )
    work = routes.get(key)
    if work is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "Not Found")
    return _read(url, work)


def _namespace_segments(request: Request, path: str, collection: str = "namespaces") -> list[str]:
    """The path segments after ``/namespaces/``, decoded one by one from the raw path (``%2F`` kept in a name)."""
    raw = request.scope.get("raw_path")
    if isinstance(raw, bytes):
        parts = raw.decode("latin-1").split("?", 1)[0].split("/")
        if collection in parts:
            found = parts[parts.index(collection) + 1 :]
            return [unquote(part) for part in found if part != ""]
    return [part for part in path.split("/") if part]


@reads.get("/jobs/runs/{run_id}")
def get_run(url: StoreUrl, run_id: str) -> dict[str, Any]:
    """One run."""
    from scrollintel.lineage import marquez

    return _read(url, lambda conn: marquez.run(conn, run_id))


@reads.get("/jobs/runs/{run_id}/facets")
def get_run_facets(
    url: StoreUrl, run_id: str, type: Annotated[Literal["run", "job"], Query()] = "run"
) -> dict[str, Any]:
    """A run's facets (``type=run``), or the job facets its events carried (``type=job``)."""
    from scrollintel.lineage import marquez

    return _read(url, lambda conn: marquez.run_facets(conn, run_id, type))


@reads.get("/jobs")
def get_jobs(url: StoreUrl, limit: Limit = 100, offset: Offset = 0) -> dict[str, Any]:
    """The jobs of every namespace (Marquez ``JobList``)."""
    from scrollintel.lineage import marquez

    return _read(url, lambda conn: marquez.all_jobs(conn, limit, offset))


@reads.get("/sources")
def get_sources(url: StoreUrl, limit: Limit = 100, offset: Offset = 0) -> dict[str, Any]:
    """The sources of the stored datasets (Marquez ``SourceList``)."""
    from scrollintel.lineage import marquez

    return _read(url, lambda conn: marquez.sources(conn, limit, offset))


@reads.get("/sources/{path:path}")
def get_source(request: Request, url: StoreUrl, path: str) -> dict[str, Any]:
    """One source (its name may hold slashes, percent-encoded)."""
    from scrollintel.lineage import marquez

    segments = _namespace_segments(request, path, "sources")
    if len(segments) != 1:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "Not Found")
    return _read(url, lambda conn: marquez.source(conn, segments[0]))


@reads.get("/tags")
def get_tags(url: StoreUrl, limit: Limit = 100, offset: Offset = 0) -> dict[str, Any]:
    """The tags of the ``tags`` facets of datasets and jobs (Marquez ``TagList``)."""
    from scrollintel.lineage import marquez

    return _read(url, lambda conn: marquez.tags(conn, limit, offset))


@reads.get("/events/lineage")
@reads.get("/events")
def get_events(
    url: StoreUrl,
    *,
    before: datetime | None = None,
    after: datetime | None = None,
    sort_direction: Annotated[Literal["asc", "desc"], Query(alias="sortDirection")] = "desc",
    limit: Limit = 100,
    offset: Offset = 0,
) -> dict[str, Any]:
    """The stored OpenLineage events as received, by event time (``/events`` is the client's path for it)."""
    from scrollintel.lineage import marquez

    return _read(
        url,
        lambda conn: marquez.lineage_events(
            conn, before=before, after=after, ascending=sort_direction == "asc", limit=limit, offset=offset
        ),
    )


@reads.get("/events/{path:path}")
def get_namespace_events(
    request: Request,
    url: StoreUrl,
    path: str,
    limit: Limit = 100,
    offset: Offset = 0,
) -> dict[str, Any]:
    """The events of the jobs of one namespace (``marquez-python``'s ``list_events(namespace)``)."""
    from scrollintel.lineage import marquez

    # The client puts the namespace in the path as it is (``postgres://warehouse:5432`` included):
    # everything after ``/events/`` is the one namespace.
    raw = request.scope.get("raw_path")
    text = raw.decode("latin-1").split("?", 1)[0] if isinstance(raw, bytes) else path
    namespace_name = unquote(text.split("/events/", 1)[1] if "/events/" in text else path)
    return _read(
        url, lambda conn: marquez.lineage_events(conn, namespace_name=namespace_name, limit=limit, offset=offset)
    )


@reads.get("/search")
def get_search(
    url: StoreUrl,
    q: Annotated[str, Query(min_length=1, max_length=1024)],
    filter: Annotated[Literal["dataset", "job", "DATASET", "JOB"] | None, Query()] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 10,
) -> dict[str, Any]:
    """Datasets and jobs by name (Marquez ``SearchResultList``)."""
    from scrollintel.lineage import marquez

    return _read(url, lambda conn: marquez.search(conn, q, kind=filter, limit=limit))


async def post_lineage(request: Request) -> Response:
    """Store one OpenLineage event (Marquez ``recordLineage``): 201 stored, 200 already stored, 400 invalid.

    Producers call this once per event (Airflow's provider: twice per task run), so it is a plain
    Starlette endpoint of the governance app (see :func:`install`) rather than a FastAPI route of
    the Marquez app: the same checks, called directly, without a second middleware stack and
    FastAPI's dependency solving (a fifth of the server's time per event). Who writes is
    :func:`~scrollintel.web.deps.lineage_writer`, the store is
    :func:`~scrollintel.web.deps.lineage_store_url` or the app's override of it.
    """
    from scrollintel.lineage.combiner import combiner_for

    try:
        writer = await lineage_writer(request, await bearer_scheme(request))
    except HTTPException as err:
        raise bad_credential(err) from err
    if _media_type(request) not in JSON_TYPES:
        raise HTTPException(status.HTTP_415_UNSUPPORTED_MEDIA_TYPE, "send the event as application/json")
    body = await read_body(request)
    url = await request_store_url(request)
    combiner = combiner_for(url)
    with combiner.handling():
        return await _store_one(combiner, body, writer)


async def _store_one(combiner: WriteCombiner, body: bytes, writer: str) -> Response:
    from scrollintel.lineage.openlineage_events import parse_body, validate_event

    try:
        if len(body) <= INLINE_VALIDATION_BYTES:
            event = validate_event(parse_body(body), size=len(body))
        else:  # a big event would hold up the event loop
            event = await run_in_threadpool(lambda: validate_event(parse_body(body), size=len(body)))
    except InvalidEvent as err:
        return _invalid(err)
    import psycopg

    try:
        stored = await asyncio.wrap_future(combiner.submit(event, writer))
    except psycopg.Error as err:
        raise _unavailable(err) from err
    except StoreFailure as err:  # answered, not raised: a raised error would close the keep-alive connection
        return JSONResponse({"detail": str(err), "status": "failed"}, status_code=500)
    if stored.status == "failed":
        return JSONResponse({"detail": stored.error, "status": "failed"}, status_code=status.HTTP_400_BAD_REQUEST)
    code = status.HTTP_201_CREATED if stored.status == "created" else status.HTTP_200_OK
    answer: dict[str, Any] = {"status": stored.status, "runId": str(event.run_id) if event.run_id else None}
    if event.warnings:  # facets kept as sent but not derived from (see scrollintel.lineage.openlineage_events)
        answer["warnings"] = list(event.warnings)
    if not stored.derived:
        answer.update(derived=False, warning=stored.warning)
    return Response(orjson.dumps(answer), code, media_type="application/json")


@writes.post("/lineage/batch")
async def post_lineage_batch(request: Request, url: StoreUrl, writer: LineageWriter) -> Response:
    """Store many events: a JSON array, or NDJSON. One result per event, in order."""
    media_type = _media_type(request)
    if media_type not in (*JSON_TYPES, *NDJSON_TYPES):
        raise HTTPException(status.HTTP_415_UNSUPPORTED_MEDIA_TYPE, "send a JSON array or application/x-ndjson")
    body = await read_body(request)
    try:
        results, valid = await run_in_threadpool(lambda: _validate_batch(_split_batch(body, media_type)))
    except InvalidEvent as err:
        return _invalid(err)
    except PayloadTooLarge as err:
        raise HTTPException(status.HTTP_413_CONTENT_TOO_LARGE, str(err)) from err
    stored = await run_in_threadpool(_store_batch, url, valid, writer)
    outcomes = iter(stored)
    final = [result or EventResult(index, **_outcome(next(outcomes))) for index, result in enumerate(results)]
    counts = {
        name: sum(1 for item in final if item.status == name) for name in ("created", "duplicate", "rejected", "failed")
    }
    not_derived = sum(1 for item in final if not item.derived)
    return JSONResponse(
        {"received": len(final), **counts, "notDerived": not_derived, "results": [item.as_dict() for item in final]}
    )


def _outcome(stored: Any) -> dict[str, Any]:
    """The :class:`EventResult` fields of a :class:`~scrollintel.lineage.store.Stored`."""
    return {"status": stored.status, "error": stored.error, "derived": stored.derived, "warning": stored.warning}


def _store_batch(url: str, events: list[Any], writer: str) -> list[Any]:
    import psycopg

    from scrollintel.lineage.store import LineageStore

    try:
        return LineageStore(url).ingest(events, writer)
    except psycopg.Error as err:
        raise _unavailable(err) from err


def marquez_app() -> FastAPI:
    """The Marquez-compatible API (mounted at ``/api/v1`` of the governance app)."""
    app = FastAPI(
        title="ScrollIntel lineage (Marquez-compatible)",
        docs_url=None,
        redoc_url=None,
        openapi_url=None,
    )
    app.include_router(reads)
    app.include_router(writes, dependencies=[Depends(lineage_writer)])
    app.include_router(legacy, dependencies=[Depends(lineage_writer)])

    async def http_error(request: Request, err: Exception) -> Response:
        from fastapi.exception_handlers import http_exception_handler

        assert isinstance(err, HTTPException)
        return await http_exception_handler(request, await _refused_bearer(request, err))

    app.add_exception_handler(HTTPException, http_error)
    return app


async def _refused_bearer(request: Request, err: HTTPException) -> HTTPException:
    """On a read: the API key itself is refused with 403 (it may only write); any other bad bearer is a 401."""
    from scrollintel.lineage import apikey

    if err.status_code == status.HTTP_403_FORBIDDEN and err.detail == AIRFLOW_INVALID_JWT_DETAIL:
        bearer = await bearer_scheme(request)
        if bearer is not None and await run_in_threadpool(apikey.matches, bearer.credentials):
            return HTTPException(status.HTTP_403_FORBIDDEN, KEY_MAY_NOT_READ)
    return bad_credential(err)


legacy = APIRouter()


#: Marquez's resource writes, by the paths its clients call: refused, and only those (a catch-all would
#: answer 405 instead of 404 or a trailing-slash redirect for a GET of any unknown path).
LEGACY_WRITE_ROUTES = (
    ("/namespaces/{path:path}", ("PUT", "POST")),
    ("/sources/{path:path}", ("PUT",)),
    ("/tags/{path:path}", ("PUT",)),
    ("/jobs/runs/{path:path}", ("POST",)),
)


def refuse_legacy_write(path: str) -> Response:
    """Marquez's deprecated resource writes: refused with 405, naming the write the store accepts."""
    raise HTTPException(status.HTTP_405_METHOD_NOT_ALLOWED, LEGACY_WRITES, headers={"Allow": "GET"})


for _path, _methods in LEGACY_WRITE_ROUTES:
    legacy.add_api_route(
        _path, refuse_legacy_write, methods=list(_methods), status_code=status.HTTP_405_METHOD_NOT_ALLOWED
    )


# --------------------------------------------------------------------------- ScrollIntel extras

router = APIRouter()


@router.get("/api/lineage/search", name="lineage_search")
def lineage_search(
    url: StoreUrl,
    q: Annotated[str, Query(min_length=1, max_length=1024)],
    type: Annotated[Literal["dataset", "job"] | None, Query()] = None,
    namespace: str | None = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 20,
) -> dict[str, Any]:
    """Datasets and jobs whose name starts with (first) or contains ``q``."""
    from scrollintel.lineage import marquez

    return _read(url, lambda conn: marquez.search(conn, q, kind=type, limit=limit, namespace_name=namespace))


@router.get("/api/lineage/impact", name="lineage_impact")
def lineage_impact(
    url: StoreUrl,
    node_id: Annotated[str, Query(alias="nodeId", min_length=1)],
    depth: Annotated[int, Query(ge=0, le=100)] = 100,
    format: Literal["json", "csv"] = "json",
) -> Response:
    """Everything downstream of a dataset, job or column, with owners; JSON or a CSV download."""
    from scrollintel.lineage.impact import impact

    result = _read(url, lambda conn: impact(conn, node_id, depth))
    if format == "json":
        return JSONResponse(result.as_dict())
    filename = "impact-" + "".join(c if c.isalnum() or c in "._-" else "_" for c in result.node_id)[:120] + ".csv"
    return StreamingResponse(
        result.csv_lines(),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


@router.get("/api/lineage/pii", name="lineage_pii")
def lineage_pii(url: StoreUrl, node_id: Annotated[str, Query(alias="nodeId", min_length=1)]) -> dict[str, Any]:
    """Where the personal data of a column (or of every classified column of a dataset) comes from and goes."""
    from scrollintel.lineage.pii import where_is

    return _read(url, lambda conn: where_is(conn, node_id))


@router.get("/api/lineage/cost", name="lineage_cost")
def lineage_cost(url: StoreUrl, node_id: Annotated[str, Query(alias="nodeId", min_length=1)]) -> dict[str, Any]:
    """A dataset's attributed cost (``governance.cost_facts``): the last 30 days and the month to date.

    A dataset the rollup never attributed cost to answers with ``notice`` "no cost attributed yet"
    and no amounts (never 0); a job or column node is a 400 naming the parameter.
    """
    from scrollintel.cost.query import dataset_cost
    from scrollintel.cost.rollup import dataset_key
    from scrollintel.lineage.nodes import parse_node_id

    refs = [ref for ref in _parsed(node_id, parse_node_id) if ref.kind == "dataset"]
    if not refs:
        raise HTTPException(
            status.HTTP_400_BAD_REQUEST,
            f"nodeId {node_id[:200]!r} is not a dataset: cost is attributed to datasets "
            "(nodeId=dataset:<namespace>:<name>)",
        )

    def work(conn: Any) -> dict[str, Any]:
        # an id with colons in its namespace reads several ways: the first split the rollup attributed cost to
        found = [dataset_cost(conn, dataset_key(ref.namespace, ref.name)) for ref in refs]
        best = next((item for item in found if item.notice is None), found[0])
        return {"nodeId": node_id, **best.model_dump(mode="json")}

    return _read(url, work)


def _parsed(node_id: str, parse: Callable[[str], list[Any]]) -> list[Any]:
    try:
        return parse(node_id)
    except InvalidNodeId as err:
        raise HTTPException(status.HTTP_400_BAD_REQUEST, str(err)) from err


def install(app: FastAPI) -> None:
    """Add the lineage API to the governance app: the extras router and the Marquez app at ``/api/v1``.

    The Marquez app shares the governance app's dependency overrides (tests point both at their
    database with one override of :func:`~scrollintel.web.deps.lineage_store_url`).
    """
    from starlette.routing import Mount, Route

    app.include_router(router)
    marquez = marquez_app()
    marquez.dependency_overrides = app.dependency_overrides
    # First in the route list: producers post every event here, and Starlette tries routes in
    # order (the pages' routes would otherwise be matched, and missed, on every event). A GET of
    # the same path matches the route only partly and goes on to the Marquez app's reads.
    app.router.routes[0:0] = [
        Route(f"{MARQUEZ_PREFIX}/lineage", post_lineage, methods=["POST"], name="post_lineage"),
        Mount(MARQUEZ_PREFIX, app=marquez),
    ]
