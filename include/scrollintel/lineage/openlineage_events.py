"""Validation of incoming OpenLineage events: spec structure, client-model checks, size limits.

An event is accepted when

1. it is a JSON object no larger than :func:`max_event_bytes` (else 400 naming its largest field);
2. its structure matches the OpenLineage 2-0-2 spec for its kind (``RunEvent``, ``DatasetEvent``
   or ``JobEvent``, told apart by ``schemaURL`` or, without one, by the keys present): required
   fields present, every field of the right JSON type, facets JSON objects. The facets the store
   derives tables from (``schema``, ``columnLineage``, ``sql``, ``ownership``, ``documentation``,
   ``parent``, ``nominalTime``, ``jobType``, ``sourceCodeLocation``, ``lifecycleStateChange``,
   ``datasetVersion``, ``tags``, ``dataSource``/``datasource``) are checked against their facet schemas too;
   other facets are kept as given;
3. the openlineage-python client's own models accept its core: ``RunState`` (the event type)
   and ``RunEvent``/``DatasetEvent``/``JobEvent`` (``eventTime`` an ISO 8601 date-time with a
   time part).

Like Marquez, and because producers in the wild send them, two things the spec forbids are
accepted: a ``runId`` that is not a UUID (the run's id is then the name-based UUID Marquez
derives from the text, :func:`run_uuid_of`), and a *descriptive* facet that does not follow its
schema (:data:`LENIENT_FACETS`: ownership, parent, documentation, nominal time...). Such a facet
is kept in the raw event, left out of what the store derives, and reported in
:attr:`ValidEvent.warnings`. Facets that shape the graph (``schema``, ``columnLineage``, ``sql``)
stay strict: a wrong one would silently change which fields and column edges exist.

Like Marquez, the store does not require ``schemaURL`` on events or ``_producer``/``_schemaURL``
on facets (both are optional for many producers in practice). Anything else that fails raises
:class:`~scrollintel.lineage.errors.InvalidEvent` with the path of the first failing field
(``run.runId``, ``inputs[0].facets.schema.fields[2].name``) and, in ``errors``, all of them.

Nothing here touches the database; :mod:`scrollintel.lineage.store` writes what this returns.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any, Literal

import orjson
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from scrollintel.lineage.errors import InvalidEvent, PayloadTooLarge

ENV_MAX_EVENT_BYTES = "SCROLLINTEL_LINEAGE_MAX_EVENT_BYTES"
ENV_MAX_REQUEST_BYTES = "SCROLLINTEL_LINEAGE_MAX_REQUEST_BYTES"
ENV_MAX_BATCH_EVENTS = "SCROLLINTEL_LINEAGE_MAX_BATCH_EVENTS"
DEFAULT_MAX_EVENT_BYTES = 1024 * 1024
DEFAULT_MAX_REQUEST_BYTES = 32 * 1024 * 1024
DEFAULT_MAX_BATCH_EVENTS = 5_000
#: Deepest nesting of objects and arrays in an event (the event object is level 1). Real events nest
#: about 6 levels, plus 2 per level of a nested schema; past a few hundred, parts of Python and
#: orjson stop by recursion limits, so a deeper body is refused up front with this limit named.
MAX_JSON_DEPTH = 128
#: Longest namespace, job or dataset name and column name, in UTF-8 bytes (they are index keys).
MAX_NAME_BYTES = 1024

EventKind = Literal["run", "dataset", "job"]
EVENT_TYPES = ("START", "RUNNING", "COMPLETE", "ABORT", "FAIL", "OTHER")


def max_event_bytes() -> int:
    """Largest accepted event, in bytes of JSON (``SCROLLINTEL_LINEAGE_MAX_EVENT_BYTES``, default 1 MiB)."""
    return int(os.environ.get(ENV_MAX_EVENT_BYTES) or DEFAULT_MAX_EVENT_BYTES)


def max_request_bytes() -> int:
    """Largest accepted request body (``SCROLLINTEL_LINEAGE_MAX_REQUEST_BYTES``, default 32 MiB)."""
    return int(os.environ.get(ENV_MAX_REQUEST_BYTES) or DEFAULT_MAX_REQUEST_BYTES)


def max_batch_events() -> int:
    """Most events in one batch request (``SCROLLINTEL_LINEAGE_MAX_BATCH_EVENTS``, default 5,000)."""
    return int(os.environ.get(ENV_MAX_BATCH_EVENTS) or DEFAULT_MAX_BATCH_EVENTS)


# --------------------------------------------------------------------------- spec models


class _Spec(BaseModel):
    """A spec object: JSON types are checked strictly (no "1" for 1), unknown keys are kept."""

    model_config = ConfigDict(strict=True, extra="allow")


Name = str
Facets = dict[str, dict[str, Any]]


class _RunModel(_Spec):
    runId: str
    facets: Facets | None = None


class _JobModel(_Spec):
    namespace: Name = Field(min_length=1)
    name: Name = Field(min_length=1)
    facets: Facets | None = None


class _DatasetModel(_Spec):
    namespace: Name = Field(min_length=1)
    name: Name = Field(min_length=1)
    facets: Facets | None = None


class _InputModel(_DatasetModel):
    inputFacets: Facets | None = None


class _OutputModel(_DatasetModel):
    outputFacets: Facets | None = None


class _BaseEventModel(_Spec):
    eventTime: str
    producer: str
    schemaURL: str | None = None


class _RunEventModel(_BaseEventModel):
    eventType: str | None = None
    run: _RunModel
    job: _JobModel
    inputs: list[_InputModel] | None = None
    outputs: list[_OutputModel] | None = None


class _JobEventModel(_BaseEventModel):
    job: _JobModel
    inputs: list[_InputModel] | None = None
    outputs: list[_OutputModel] | None = None


class _DatasetEventModel(_BaseEventModel):
    dataset: _DatasetModel


# Facets the store reads (shapes from the spec's facet schemas, only the fields read are typed).


class _SchemaField(_Spec):
    name: str = Field(min_length=1)
    type: str | None = None
    description: str | None = None
    fields: list[_SchemaField] | None = None


_SchemaField.model_rebuild()


class _SchemaFacet(_Spec):
    fields: list[_SchemaField] | None = None


class _Transformation(_Spec):
    type: str
    subtype: str | None = None
    description: str | None = None
    masking: bool | None = None


class _InputField(_Spec):
    namespace: str = Field(min_length=1)
    name: str = Field(min_length=1)
    field: str = Field(min_length=1)
    transformations: list[_Transformation] | None = None


class _ColumnFields(_Spec):
    inputFields: list[_InputField]
    transformationDescription: str | None = None
    transformationType: str | None = None


class _ColumnLineageFacet(_Spec):
    fields: dict[str, _ColumnFields]
    dataset: list[_InputField] | None = None


class _SqlFacet(_Spec):
    query: str
    dialect: str | None = None


class _Owner(_Spec):
    name: str
    type: str | None = None


class _OwnershipFacet(_Spec):
    owners: list[_Owner] | None = None


class _DocumentationFacet(_Spec):
    description: str


class _ParentRun(_Spec):
    runId: str


class _ParentJob(_Spec):
    namespace: str
    name: str


class _ParentFacet(_Spec):
    run: _ParentRun
    job: _ParentJob


class _NominalTimeFacet(_Spec):
    nominalStartTime: str
    nominalEndTime: str | None = None


class _JobTypeFacet(_Spec):
    processingType: str
    integration: str
    jobType: str | None = None


class _SourceCodeLocationFacet(_Spec):
    type: str
    url: str


class _LifecycleFacet(_Spec):
    lifecycleStateChange: str


class _DatasetVersionFacet(_Spec):
    datasetVersion: str


class _Tag(_Spec):
    key: str
    value: str
    source: str | None = None
    field: str | None = None


class _TagsFacet(_Spec):
    tags: list[_Tag] | None = None


class _DatasourceFacet(_Spec):
    name: str | None = None
    uri: str | None = None


DATASET_FACETS: dict[str, type[_Spec]] = {
    "schema": _SchemaFacet,
    "columnLineage": _ColumnLineageFacet,
    "ownership": _OwnershipFacet,
    "documentation": _DocumentationFacet,
    "lifecycleStateChange": _LifecycleFacet,
    "version": _DatasetVersionFacet,
    "tags": _TagsFacet,
    "datasource": _DatasourceFacet,
    "dataSource": _DatasourceFacet,
}
JOB_FACETS: dict[str, type[_Spec]] = {
    "sql": _SqlFacet,
    "ownership": _OwnershipFacet,
    "documentation": _DocumentationFacet,
    "jobType": _JobTypeFacet,
    "sourceCodeLocation": _SourceCodeLocationFacet,
}
RUN_FACETS: dict[str, type[_Spec]] = {"parent": _ParentFacet, "nominalTime": _NominalTimeFacet}
#: Facets that only describe (no fields or edges come from them): accepted when they do not
#: follow their schema, kept in the raw event, not derived from, reported as warnings.
LENIENT_FACETS = frozenset(
    {
        "ownership",
        "parent",
        "documentation",
        "nominalTime",
        "jobType",
        "sourceCodeLocation",
        "lifecycleStateChange",
        "version",
        "tags",
        "datasource",
        "dataSource",
    }
)

_EVENT_MODELS: dict[EventKind, type[_BaseEventModel]] = {
    "run": _RunEventModel,
    "job": _JobEventModel,
    "dataset": _DatasetEventModel,
}


# --------------------------------------------------------------------------- namespaces

#: JSON object ``{"<namespace as producers write it>": "<namespace the store keeps>"}``.
ENV_NAMESPACE_ALIASES = "SCROLLINTEL_LINEAGE_NAMESPACE_ALIASES"


@lru_cache(maxsize=1)
def namespace_aliases() -> dict[str, str]:
    """Other names of a dataset namespace, from ``SCROLLINTEL_LINEAGE_NAMESPACE_ALIASES``.

    One server has several names: dbt (through cosmos) and the SQL operators name the warehouse
    by the host and port they connect to (``postgres://127.0.0.1:54017`` on a laptop, a service
    name in Kubernetes), ingestion by its stable logical name (``postgres://warehouse:5432``).
    The platform sets the aliases of its own warehouse (the launcher, the Helm chart); the
    derived tables then hold one dataset per table whoever reported it. Raw events are kept
    as sent.
    """
    text = os.environ.get(ENV_NAMESPACE_ALIASES, "").strip()
    if not text:
        return {}
    try:
        aliases = json.loads(text)
    except ValueError as err:
        raise ValueError(f"{ENV_NAMESPACE_ALIASES}: not JSON ({err})") from None
    if not isinstance(aliases, dict) or not all(
        isinstance(key, str) and isinstance(value, str) for key, value in aliases.items()
    ):
        raise ValueError(f"{ENV_NAMESPACE_ALIASES}: expected a JSON object of namespace -> namespace strings")
    return dict(aliases)


def canonical_namespace(namespace: str) -> str:
    """``namespace``, or the name the store keeps for it (see :func:`namespace_aliases`)."""
    return namespace_aliases().get(namespace, namespace)


# --------------------------------------------------------------------------- results


@dataclass(frozen=True)
class DatasetPart:
    """A dataset as one event names it, with its facets."""

    namespace: str
    name: str
    facets: Mapping[str, Any] = field(default_factory=dict)
    io_facets: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class JobPart:
    """The job an event is about, with its facets."""

    namespace: str
    name: str
    facets: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class ValidEvent:
    """An accepted event: what it says, its canonical JSON and that JSON's SHA-256 (the dedup key)."""

    kind: EventKind
    payload: Mapping[str, Any]
    canonical: str
    digest: str
    event_time: datetime
    producer: str
    event_type: str | None = None
    run_id: uuid.UUID | None = None
    run_facets: Mapping[str, Any] = field(default_factory=dict)
    job: JobPart | None = None
    inputs: tuple[DatasetPart, ...] = ()
    outputs: tuple[DatasetPart, ...] = ()
    dataset: DatasetPart | None = None
    #: Facets kept in the raw event but not derived from (they do not follow their schema):
    #: ``{"field": "run.facets.parent.job", "message": ...}``, one per problem.
    warnings: tuple[dict[str, str], ...] = ()

    @property
    def datasets(self) -> tuple[DatasetPart, ...]:
        """Every dataset the event names (inputs, outputs, or the dataset of a DatasetEvent)."""
        return (*self.inputs, *self.outputs, *((self.dataset,) if self.dataset else ()))


class _InvalidWithAll(InvalidEvent):
    """InvalidEvent that also carries every problem found (the first one is its message)."""

    def __init__(self, problems: list[dict[str, str]]) -> None:
        super().__init__(problems[0]["field"], problems[0]["message"])
        self.problems = problems


# --------------------------------------------------------------------------- parsing


def parse_body(body: bytes, *, max_depth: int | None = MAX_JSON_DEPTH) -> Any:
    """The JSON value of a request body; :class:`InvalidEvent` (field ``$``) when it is not JSON.

    The standard library reads it: orjson is faster by ~10 us an event, but reads an integer
    past 64 bits as a float (its digits lost) and refuses escaped lone surrogates, and finding
    such a body beforehand costs more than that.

    A value nested deeper than ``max_depth`` levels is refused (``None``: only what the parser
    itself cannot read, a batch's array whose events :func:`check_depth` checks one by one).
    """
    try:
        value = json.loads(body, parse_constant=_not_json)
    except RecursionError:
        raise InvalidEvent(
            "$", f"body is nested too deeply to read; the limit is {MAX_JSON_DEPTH} levels of objects and arrays"
        ) from None
    except _NotJson as err:
        raise InvalidEvent("$", f"body is not valid JSON: {err} (JSON has no NaN or Infinity)") from err
    except UnicodeDecodeError as err:
        raise InvalidEvent("$", f"body is not UTF-8 text: {err.reason} at byte {err.start}") from err
    except json.JSONDecodeError as err:
        raise InvalidEvent("$", f"body is not valid JSON: {err.msg} (line {err.lineno}, column {err.colno})") from err
    if max_depth is not None and not brackets_within(body, max_depth):
        check_depth(value, max_depth)
    return value


#: Every byte but the four brackets (deleted by ``bytes.translate`` in :func:`brackets_within`).
_NOT_BRACKETS = bytes(range(256)).translate(None, b"{}[]")
_INNERMOST = re.compile(rb"\{\}|\[\]")


def brackets_within(body: bytes, max_depth: int) -> bool:
    """Whether the brackets of ``body`` pair up within ``max_depth`` levels: a cheap first look at its depth.

    Keeps only the brackets and removes innermost pairs, a level per pass, all in C (a few
    microseconds for a typical event, where walking the parsed value costs about as much as
    parsing it). Brackets inside strings are not told apart, so ``False`` means "measure the
    parsed value" (:func:`check_depth`), not "too deep". Strings could also hide a level from it;
    what is deeper than this says is still bounded by the parser, and :func:`validate_event`
    refuses what it cannot encode.
    """
    if body.count(b"{") + body.count(b"[") <= max_depth:  # no deeper than it has openings: most events
        return True
    rest = body.translate(None, _NOT_BRACKETS)
    for _ in range(max_depth):
        if not rest:
            return True
        rest = _INNERMOST.sub(b"", rest)  # one scan: a pair it uncovers waits for the next pass (the next level)
    return not rest


def check_depth(value: Any, max_depth: int = MAX_JSON_DEPTH) -> None:
    """Raise :class:`InvalidEvent` when ``value`` nests objects and arrays deeper than ``max_depth`` levels.

    The field named is the path to the first value past the limit, cut after a few steps.
    """
    stack: list[tuple[Any, int, tuple[Any, ...]]] = [(value, 1, ())]
    while stack:
        node, depth, path = stack.pop()
        if depth > max_depth:
            shown = _path("", path[:4]) + ("..." if len(path) > 4 else "")
            raise InvalidEvent(
                shown or "$",
                f"JSON is nested more than {max_depth} levels deep (the limit on objects and arrays in an event)",
            )
        items = node.items() if isinstance(node, dict) else enumerate(node)
        for key, child in items:
            if isinstance(child, dict | list):
                stack.append((child, depth + 1, (*path, key) if len(path) < 5 else path))


class _NotJson(ValueError):
    """A constant Python's parser accepts but JSON does not have."""


def _not_json(name: str) -> Any:
    raise _NotJson(f"{name} is not a JSON value")


def canonical_json(value: Any) -> str:
    """The event as the JSON text its digest is taken of: keys sorted, no spaces, UTF-8 as is.

    orjson writes it (about ten times faster than the standard library); an integer past 64 bits,
    which orjson does not write, falls back to the standard library's output of the same shape.
    """
    try:
        return orjson.dumps(value, option=orjson.OPT_SORT_KEYS).decode()
    except orjson.JSONEncodeError:
        return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def split_ndjson(body: bytes) -> list[tuple[int, bytes]]:
    """Non-empty lines of an NDJSON body, with their 1-based line numbers."""
    return [(number, line) for number, line in enumerate(body.split(b"\n"), start=1) if line.strip()]


def check_request_size(length: int) -> None:
    """Raise :class:`PayloadTooLarge` when a body of ``length`` bytes is over the request limit."""
    limit = max_request_bytes()
    if length > limit:
        raise PayloadTooLarge(
            f"request body is {length:,} bytes; the limit is {limit:,} bytes ({ENV_MAX_REQUEST_BYTES})"
        )


def validate_event(value: Any, *, size: int | None = None) -> ValidEvent:
    """Validate one decoded event (see the module docstring); ``size`` is its JSON length when known."""
    try:
        return _validate_event(value, size)
    except RecursionError:  # nested nearly as deep as the parser reads: encoding it runs out of stack
        raise InvalidEvent(
            "$", f"event is nested too deeply to store; the limit is {MAX_JSON_DEPTH} levels of objects and arrays"
        ) from None


def _validate_event(value: Any, size: int | None) -> ValidEvent:
    if not isinstance(value, dict):
        raise InvalidEvent("$", f"an event must be a JSON object, got {_json_kind(value)}")
    canonical = canonical_json(value)
    try:
        encoded = canonical.encode()
    except UnicodeEncodeError:
        encoded = b""
    if not encoded or "\\u0000" in canonical:
        path = _unstorable_text(value) or "$"
        raise InvalidEvent(path, "contains a NUL character or an unpaired surrogate, which cannot be stored as text")
    limit = max_event_bytes()
    if max(size or 0, len(encoded)) > limit:
        path, biggest = _largest_field(value)
        raise InvalidEvent(
            path,
            f"event is {len(encoded):,} bytes, over the limit of {limit:,} bytes ({ENV_MAX_EVENT_BYTES}); "
            f"its largest field is {path} ({biggest:,} bytes)",
        )
    kind = event_kind(value)
    model = _validated(_EVENT_MODELS[kind], value, "")
    flagged = _check_facets(value, kind)
    event = _build(kind, model, value, canonical, hashlib.sha256(encoded).hexdigest(), flagged=flagged)
    _client_check(event)
    return event


def event_kind(value: Mapping[str, Any]) -> EventKind:
    """``run``, ``job`` or ``dataset``: from ``schemaURL`` when it names one, else from the keys present."""
    schema_url = value.get("schemaURL")
    if isinstance(schema_url, str):
        for kind, suffix in (("dataset", "/DatasetEvent"), ("job", "/JobEvent"), ("run", "/RunEvent")):
            if schema_url.endswith(suffix):
                return kind  # type: ignore[return-value]
    if "run" in value or "eventType" in value:
        return "run"
    if "dataset" in value:
        return "dataset"
    if "job" in value:
        return "job"
    raise InvalidEvent("run", "required field is missing (a RunEvent has run and job; a DatasetEvent has dataset)")


def _validated(model: type[_Spec], value: Any, prefix: str) -> Any:
    try:
        return model.model_validate(value)
    except ValidationError as err:
        problems = [_problem(prefix, error) for error in err.errors()]
        raise _InvalidWithAll(problems) from None


def _problem(prefix: str, error: Mapping[str, Any]) -> dict[str, str]:
    path = _path(prefix, error["loc"])
    kind = error["type"]
    if kind == "missing":
        message = "required field is missing"
    elif kind.endswith("_type") or kind in ("model_type", "model_attributes_type"):
        expected = {
            "string_type": "a string",
            "dict_type": "an object",
            "model_type": "an object",
            "model_attributes_type": "an object",
            "list_type": "an array",
            "bool_type": "true or false",
            "int_type": "an integer",
        }.get(kind, kind.removesuffix("_type"))
        message = f"must be {expected}, got {_json_kind(error.get('input'))}"
    elif kind == "string_too_short":
        message = "must not be empty"
    else:
        message = str(error["msg"])
    return {"field": path, "message": message}


def _path(prefix: str, loc: Iterable[Any]) -> str:
    text = prefix
    for part in loc:
        if isinstance(part, int):
            text += f"[{part}]"
        else:
            text += f".{part}" if text else str(part)
    return text or "$"


def _json_kind(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return f"boolean {json.dumps(value)}"
    if isinstance(value, int | float):
        return f"number {value!r}"
    if isinstance(value, str):
        shown = value if len(value) <= 40 else value[:37] + "..."
        return f"string {shown!r}"
    if isinstance(value, list):
        return "an array"
    if isinstance(value, dict):
        return "an object"
    return type(value).__name__


def _check_facets(value: Mapping[str, Any], kind: EventKind) -> dict[str, list[dict[str, str]]]:
    """Check the facets the store reads against their schemas, naming the failing path.

    A strict facet that fails raises :class:`InvalidEvent`; a lenient one (:data:`LENIENT_FACETS`)
    is returned, by its path (``run.facets.parent``), with its problems.
    """
    flagged: dict[str, list[dict[str, str]]] = {}
    checks: list[tuple[str, Any, dict[str, type[_Spec]]]] = []
    if kind == "run":
        checks.append(("run.facets", value["run"].get("facets"), RUN_FACETS))
    if kind in ("run", "job"):
        checks.append(("job.facets", value["job"].get("facets"), JOB_FACETS))
        for role in ("inputs", "outputs"):
            for index, dataset in enumerate(value.get(role) or ()):
                checks.append((f"{role}[{index}].facets", dataset.get("facets"), DATASET_FACETS))
    else:
        checks.append(("dataset.facets", value["dataset"].get("facets"), DATASET_FACETS))
    for prefix, facets, models in checks:
        for name, facet in (facets or {}).items():
            model = models.get(name)
            if model is None or facet.get("_deleted"):
                continue
            try:
                _validated(model, facet, f"{prefix}.{name}")
            except InvalidEvent as err:
                if name not in LENIENT_FACETS:
                    raise
                flagged[f"{prefix}.{name}"] = problems_of(err)
    return flagged


def _kept(facets: Mapping[str, Any] | None, prefix: str, flagged: Mapping[str, Any]) -> Mapping[str, Any]:
    """``facets`` without those flagged as not following their schema (the raw event keeps them)."""
    if not facets:
        return {}
    if not flagged:
        return facets
    return {name: facet for name, facet in facets.items() if f"{prefix}.{name}" not in flagged}


def _build(
    kind: EventKind,
    model: Any,
    value: Mapping[str, Any],
    canonical: str,
    digest: str,
    *,
    flagged: Mapping[str, list[dict[str, str]]] | None = None,
) -> ValidEvent:
    flagged = flagged or {}
    warnings = tuple(problem for problems in flagged.values() for problem in problems)
    event_time = _event_time(model.eventTime)
    for path, name in _names(kind, value):
        if len(name.encode()) > MAX_NAME_BYTES:
            raise InvalidEvent(path, f"is {len(name.encode()):,} bytes long; the limit is {MAX_NAME_BYTES:,}")
    if kind == "dataset":
        return ValidEvent(
            kind,
            value,
            canonical,
            digest,
            event_time,
            model.producer,
            dataset=_dataset(value["dataset"], None, _kept(value["dataset"].get("facets"), "dataset.facets", flagged)),
            warnings=warnings,
        )
    job = value["job"]
    run = value["run"] if kind == "run" else None
    run_facets = _kept(run.get("facets"), "run.facets", flagged) if run is not None else {}
    return ValidEvent(
        kind,
        value,
        canonical,
        digest,
        event_time,
        model.producer,
        event_type=value.get("eventType") if run is not None else None,
        run_id=run_uuid_of(run["runId"]) if run is not None else None,
        run_facets=run_facets,
        job=JobPart(
            job["namespace"], child_job_name(job["name"], run_facets), _kept(job.get("facets"), "job.facets", flagged)
        ),
        inputs=tuple(
            _dataset(item, "inputFacets", _kept(item.get("facets"), f"inputs[{index}].facets", flagged))
            for index, item in enumerate(value.get("inputs") or ())
        ),
        outputs=tuple(
            _dataset(item, "outputFacets", _kept(item.get("facets"), f"outputs[{index}].facets", flagged))
            for index, item in enumerate(value.get("outputs") or ())
        ),
        warnings=warnings,
    )


def child_job_name(name: str, run_facets: Mapping[str, Any]) -> str:
    """The job's name as Marquez keeps it: ``<parent job>.<job>`` when the run has a parent job.

    Airflow's tasks already arrive as ``<dag>.<task>`` with the DAG as parent, and keep their
    name; a child named without its parent's prefix gets it, so two DAGs' ``load`` tasks stay apart.
    """
    parent = run_facets.get("parent")
    job = parent.get("job") if isinstance(parent, Mapping) else None
    parent_name = job.get("name") if isinstance(job, Mapping) else None
    if not isinstance(parent_name, str) or not parent_name or parent_name == name:
        return name
    return name if name.startswith(parent_name + ".") else f"{parent_name}.{name}"


def _names(kind: EventKind, value: Mapping[str, Any]) -> Iterable[tuple[str, str]]:
    if kind == "dataset":
        yield "dataset.namespace", value["dataset"]["namespace"]
        yield "dataset.name", value["dataset"]["name"]
        return
    yield "job.namespace", value["job"]["namespace"]
    yield "job.name", value["job"]["name"]
    for role in ("inputs", "outputs"):
        for index, dataset in enumerate(value.get(role) or ()):
            yield f"{role}[{index}].namespace", dataset["namespace"]
            yield f"{role}[{index}].name", dataset["name"]
            schema = (dataset.get("facets") or {}).get("schema") or {}
            for position, item in enumerate(schema.get("fields") or ()):
                yield f"{role}[{index}].facets.schema.fields[{position}].name", item["name"]


def _dataset(value: Mapping[str, Any], io_key: str | None, facets: Mapping[str, Any] | None = None) -> DatasetPart:
    return DatasetPart(
        canonical_namespace(value["namespace"]),
        value["name"],
        (value.get("facets") or {}) if facets is None else facets,
        (value.get(io_key) or {}) if io_key else {},
    )


def _event_time(text: str) -> datetime:
    """The standard library's ISO 8601 parser, or dateutil's for the forms it does not read."""
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        from dateutil import parser

        try:
            parsed = parser.isoparse(text)
        except (ValueError, OverflowError) as err:
            raise InvalidEvent("eventTime", f"must be an ISO 8601 date-time, got {text!r}: {err}") from err
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def run_uuid_of(text: str) -> uuid.UUID:
    """The run's id: ``runId`` itself when it is a UUID, else the name-based UUID Marquez derives.

    Marquez (Java's ``UUID.nameUUIDFromBytes``) takes the MD5 of the text's bytes as a version 3
    UUID, so a run reported with the same non-UUID id here and to Marquez has the same id in both.
    """
    if not text.strip():
        raise InvalidEvent("run.runId", "must not be empty")
    try:
        return uuid.UUID(text)
    except ValueError:
        return uuid.UUID(bytes=hashlib.md5(text.encode(), usedforsecurity=False).digest(), version=3)


def _client_check(event: ValidEvent) -> None:
    """Build the openlineage-python client's models from the event's core: their validators must pass."""
    from openlineage.client import event_v2 as ol

    payload = event.payload
    if event.kind == "run" and event.event_type is not None:
        try:
            ol.RunState(event.event_type)
        except ValueError:
            raise InvalidEvent(
                "eventType", f"must be one of {', '.join(EVENT_TYPES)}, got {_json_kind(event.event_type)}"
            ) from None
    # the run's id as the store keeps it: a non-UUID runId is accepted (see run_uuid_of)
    run = ol.Run(runId=str(event.run_id)) if event.kind == "run" and event.run_id is not None else None
    try:
        if run is not None and event.job is not None:
            ol.RunEvent(
                eventTime=payload["eventTime"],
                producer=event.producer,
                run=run,
                job=ol.Job(namespace=event.job.namespace, name=event.job.name),
                eventType=ol.RunState(event.event_type) if event.event_type else None,
            )
        elif event.job is not None:
            ol.JobEvent(
                eventTime=payload["eventTime"],
                producer=event.producer,
                job=ol.Job(namespace=event.job.namespace, name=event.job.name),
            )
        elif event.dataset is not None:
            ol.DatasetEvent(
                eventTime=payload["eventTime"],
                producer=event.producer,
                dataset=ol.StaticDataset(namespace=event.dataset.namespace, name=event.dataset.name),
            )
    except ValueError as err:
        raise InvalidEvent("eventTime", f"must be an ISO 8601 date-time with a time part: {err}") from None


def _largest_field(value: Any, path: str = "", depth: int = 0) -> tuple[str, int]:
    """Path and JSON size of the biggest field, descending into the biggest child up to 6 levels."""
    size = len(json.dumps(value, ensure_ascii=False).encode())
    if depth >= 6 or not isinstance(value, dict | list) or not value:
        return path or "$", size
    items = value.items() if isinstance(value, dict) else enumerate(value)
    children = [(_path(path, (key,)), child) for key, child in items]
    child_path, child = max(children, key=lambda item: len(json.dumps(item[1], ensure_ascii=False)))
    child_size = len(json.dumps(child, ensure_ascii=False).encode())
    if child_size * 2 < size and depth > 0:
        return path, size  # no single child dominates: this field is the big one
    return _largest_field(child, child_path, depth + 1)


def _unstorable_text(value: Any, path: str = "") -> str | None:
    """Path of the first key or string holding a NUL character or a lone surrogate (not valid UTF-8 text)."""

    def bad(text: str) -> bool:
        return "\x00" in text or any("\ud800" <= char <= "\udfff" for char in text)

    if isinstance(value, str):
        return path or "$" if bad(value) else None
    items = value.items() if isinstance(value, dict) else enumerate(value) if isinstance(value, list) else ()
    for key, child in items:
        child_path = _path(path, (key,))
        if isinstance(key, str) and bad(key):
            return child_path
        found = _unstorable_text(child, child_path)
        if found:
            return found
    return None


def problems_of(err: InvalidEvent) -> list[dict[str, str]]:
    """Every problem an :class:`InvalidEvent` carries (at least its own)."""
    return list(getattr(err, "problems", None) or [{"field": err.field, "message": err.message}])
