"""What the REST and GraphQL connectors share: JSON records in pages, typed by sampling.

A subclass says how to fetch the pages of a resource from a resume token (:meth:`_pages`);
this base class discovers the schema from the first pages and turns pages into chunks.

Schema discovery samples up to :data:`SAMPLE_RECORDS` records from the start of the resource.
Each field gets a ``json:<kind>`` type (:data:`scrollintel.ingest.types.JSON`): ``boolean``,
``integer`` (within bigint), ``number``, ``string``, ``datetime`` (every sampled string is an
ISO 8601 date-time), ``date`` (every one is an ISO date), ``object`` / ``array`` (nested JSON,
loaded as JSON text), or ``null`` (only nulls seen). Kinds that disagree across records widen
to ``number`` (integers and floats) or ``string``. Columns come in the order fields first
appear; all are nullable (a sample cannot prove a field is never null). The same records give
the same schema, field for field.

Resume tokens: a chunk ends on a page boundary, and its token is where the page after it is
read from. Pages are grouped into chunks of at most ``chunk_rows`` records (one page larger
than that is a chunk of its own).
"""

from __future__ import annotations

import logging
import re
from abc import abstractmethod
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, ClassVar

from scrollintel.ingest.connectors.base import Chunk, Connector, CursorState, DiscoveredSchema, SourceColumn
from scrollintel.ingest.connectors.errors import SourceError
from scrollintel.ingest.connectors.http import HttpApi, RetryPolicy
from scrollintel.ingest.connectors.render import json_text, rows_to_csv
from scrollintel.ingest.types import map_type

if TYPE_CHECKING:
    import httpx
    from airflow.sdk import Connection

    from scrollintel.config.sources import GraphqlSource, RestSource

log = logging.getLogger(__name__)

#: Records sampled for schema discovery (whole pages, so possibly a few more).
SAMPLE_RECORDS = 1000
#: Pages sampled at most, whatever their size.
SAMPLE_PAGES = 5

_BIGINT = 2**63
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_DATETIME = re.compile(r"\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}(?::\d{2}(?:[.,]\d{1,9})?)?(?:[Zz]|[+-]\d{2}(?::?\d{2})?)?")
_WIDENS_TO_NUMBER = frozenset({"integer", "number"})
_CONTAINERS = frozenset({"object", "array"})


@dataclass(frozen=True)
class Page:
    """One page of records and where the resource continues after it."""

    records: list[Mapping[str, Any]]
    resume: str | None
    """Token from which the records after this page are read (None: from the start)."""


# --------------------------------------------------------------------------- JSON paths


def value_at(document: Any, path: str | None) -> Any:
    """The value at a dotted ``path`` (``a.b.c``); lists on the way are mapped over (``edges.node``).

    None (or an empty path) returns ``document`` itself; a missing key gives None.
    """
    if not path:
        return document
    current = document
    for part in path.split("."):
        if isinstance(current, list):
            current = [item.get(part) if isinstance(item, Mapping) else None for item in current]
        elif isinstance(current, Mapping):
            current = current.get(part)
        else:
            return None
    return current


def records_at(document: Any, path: str | None, where: str) -> list[Mapping[str, Any]]:
    """The list of JSON objects at ``path``; SourceError when it is something else."""
    found = value_at(document, path)
    if found is None:
        return []
    if not isinstance(found, list):
        raise SourceError(f"{where}: expected a list of records at {path or 'the top level'!r}, got {_kind(found)}")
    for record in found:
        if not isinstance(record, Mapping):
            where_in = path or "the top level"
            raise SourceError(f"{where}: records at {where_in!r} must be JSON objects, got {_kind(record)}")
    return found


# --------------------------------------------------------------------------- typing


def json_kind(value: Any) -> str:
    """The ``json:`` kind of one value (without the prefix)."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer" if -_BIGINT <= value < _BIGINT else "string"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        if is_iso_datetime(value):
            return "datetime"
        if is_iso_date(value):
            return "date"
        return "string"
    if isinstance(value, Mapping):
        return "object"
    if isinstance(value, list):
        return "array"
    return "string"


def widen(a: str, b: str) -> str:
    """The kind holding values of kinds ``a`` and ``b``."""
    if b in (a, "null"):
        return a
    if a == "null":
        return b
    if {a, b} <= _WIDENS_TO_NUMBER:
        return "number"
    if {a, b} <= _CONTAINERS:
        return "object"  # both load as jsonb
    return "string"


def is_iso_datetime(text: str) -> bool:
    """True for an ISO 8601 / RFC 3339 date-time with at least hours and minutes."""
    if not _DATETIME.fullmatch(text):
        return False
    try:
        datetime.fromisoformat(text.replace(",", ".").replace("z", "Z"))
    except ValueError:
        return False
    return True


def is_iso_date(text: str) -> bool:
    """True for a calendar date ``YYYY-MM-DD``."""
    if not _DATE.fullmatch(text):
        return False
    try:
        datetime.strptime(text, "%Y-%m-%d")
    except ValueError:
        return False
    return True


def infer_columns(records: Sequence[Mapping[str, Any]]) -> tuple[SourceColumn, ...]:
    """Columns of sampled records (see the module docstring for the rules)."""
    kinds: dict[str, str] = {}
    for record in records:
        for name, value in record.items():
            kind = json_kind(value)
            kinds[name] = widen(kinds[name], kind) if name in kinds else kind
    return tuple(
        SourceColumn(name=name, source_type=f"json:{kind}", pg_type=map_type("json", f"json:{kind}").pg_type)
        for name, kind in kinds.items()
    )


def render_value(value: Any) -> str | None:
    """One JSON value as the text PostgreSQL parses for its column type."""
    if value is None or isinstance(value, str):
        return value
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return repr(value)
    return json_text(value)


# --------------------------------------------------------------------------- connector


class JsonApiConnector(Connector):
    """Base of the connectors reading JSON records in pages over HTTP."""

    kind: ClassVar[str] = "JSON API"

    def __init__(
        self,
        source: RestSource | GraphqlSource,
        connection: Connection,
        *,
        retry: RetryPolicy | None = None,
        sleep: Callable[[float], None] | None = None,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.source = source
        self.connection = connection
        self._retry = retry
        self._sleep = sleep
        self._transport = transport
        #: Requests and retries of the last discover/extract (for run summaries and tests).
        self.last_requests = 0
        self.last_retries = 0

    def _api(self) -> HttpApi:
        options: dict[str, Any] = {"policy": self._retry, "transport": self._transport}
        if self._sleep is not None:
            options["sleep"] = self._sleep
        return HttpApi(self.connection, **options)

    def _endpoint(self, resource: str) -> Any:
        try:
            return self.source.resource(resource)
        except KeyError as err:
            names = ", ".join(item.name for item in self.source.resources)
            raise SourceError(f"source {self.source.name!r} has no endpoint {resource!r} (it has: {names})") from err

    @abstractmethod
    def _pages(self, api: HttpApi, resource: str, token: str | None) -> Iterator[Page]:
        """The pages of ``resource`` from ``token`` (None: from the start), in order."""

    def discover(self, resource: str) -> DiscoveredSchema:
        """Columns inferred from the first pages of the resource."""
        sample: list[Mapping[str, Any]] = []
        with self._api() as api:
            try:
                for number, page in enumerate(self._pages(api, resource, None), start=1):
                    sample.extend(page.records)
                    if len(sample) >= SAMPLE_RECORDS or number >= SAMPLE_PAGES:
                        break
            finally:
                self._count(api)
        columns = infer_columns(sample)
        if not columns:
            log.warning("%s %s: no records to sample; the discovered schema has no columns", self.kind, resource)
        return DiscoveredSchema(resource=resource, columns=columns)

    def extract(
        self, resource: str, schema: DiscoveredSchema, state: CursorState, *, chunk_rows: int
    ) -> Iterator[Chunk]:
        """Records after ``state.token`` in chunks that end on page boundaries."""
        if chunk_rows < 1:
            raise ValueError(f"chunk_rows must be >= 1, got {chunk_rows}")
        names = schema.names
        known = frozenset(names)
        ignored: set[str] = set()
        pending: list[list[str | None]] = []
        token = state.token
        emitted = state.token
        with self._api() as api:
            try:
                for page in self._pages(api, resource, state.token):
                    if pending and len(pending) + len(page.records) > chunk_rows:
                        yield Chunk(data=rows_to_csv(pending, len(names)), rows=len(pending), token=token)
                        emitted, pending = token, []
                    for record in page.records:
                        pending.append([render_value(record.get(name)) for name in names])
                        unknown = record.keys() - known
                        if unknown:
                            ignored |= unknown
                    token = page.resume
                    if len(pending) >= chunk_rows:
                        yield Chunk(data=rows_to_csv(pending, len(names)), rows=len(pending), token=token)
                        emitted, pending = token, []
            finally:
                self._count(api)
        if pending or token != emitted:
            yield Chunk(data=rows_to_csv(pending, len(names)), rows=len(pending), token=token)
        if ignored:
            log.warning(
                "%s %s: fields not in the schema were not loaded: %s", self.kind, resource, ", ".join(sorted(ignored))
            )

    def _count(self, api: HttpApi) -> None:
        self.last_requests, self.last_retries = api.requests, api.retries


def _kind(value: Any) -> str:
    return "null" if value is None else type(value).__name__
