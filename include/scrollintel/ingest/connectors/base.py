"""The contract every connector fulfils: discover a resource's schema, extract it in chunks.

Chunks are CSV text, because that is what PostgreSQL's COPY ingests fastest without building a
Python object per row (ENVIRONMENT-FACTS: piping COPY output straight into COPY input reaches
~250k rows/s on two cores; per-row Python tops out near 60k). The loader stages every column as
text and lets PostgreSQL check each value against its warehouse type, so a malformed value is
quarantined with its raw text instead of failing the load.

CSV dialect of a chunk (exactly what ``COPY ... (FORMAT csv)`` reads and writes): RFC 4180,
comma-separated, ``"`` quoting with ``""`` escapes, no header, one line per row except inside
quoted fields, columns in the order of ``DiscoveredSchema.columns``. NULL is an unquoted empty
field; an empty string is ``""``.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any


class BinaryUnavailable(Exception):
    """The rows cannot be handed over as binary COPY data after all; the loader reads them as CSV.

    Raised by a connector's optional ``extract_binary`` when a value does not convert to the
    exact warehouse type (say, a file whose column is wider than the schema's type).
    """


@dataclass(frozen=True)
class SourceColumn:
    """One column as the source describes it, with the warehouse type it maps to."""

    name: str
    source_type: str
    """The source's own type name, e.g. ``timestamp with time zone``, ``varchar(255)``, ``json:number``."""
    pg_type: str
    """The PostgreSQL type of the raw table column (``scrollintel.ingest.types.map_type``)."""
    nullable: bool = True
    mapping: str | None = None
    """What became of the source type, for the schema registry: ``kept``, ``created enum`` or
    ``mapped: <reason>`` (None: the connector's type table, no more said)."""
    labels: tuple[str, ...] = ()
    """The labels of an enum the loader creates in the warehouse (``pg_type`` names it), in source order."""


@dataclass(frozen=True)
class TableStatistics:
    """A source table's planner statistics as its own ANALYZE left them (optional, see
    ``scrollintel.ingest.stage.StatisticsSource``): what a first load can take instead of sampling
    the rows it has just copied once more."""

    rows: float
    """The table's row estimate (``reltuples``) when it was analyzed."""
    columns: Mapping[str, Mapping[str, Any]]
    """Column -> its statistics by ``pg_stats`` field name, array fields in their text form
    (what ``pg_restore_attribute_stats`` takes); only columns whose values sort the same in the
    warehouse."""

    #: Statistics still describe a table while fewer rows changed than make autovacuum analyze it
    #: again: ``autovacuum_analyze_threshold`` + ``autovacuum_analyze_scale_factor`` x its rows
    #: (their defaults).
    STALE_ROWS = 50
    STALE_FRACTION = 0.1

    @classmethod
    def within_margin(cls, changed: float, rows: float) -> bool:
        """Whether ``changed`` rows of a table of ``rows`` rows leave its statistics valid."""
        return abs(changed) <= cls.STALE_ROWS + cls.STALE_FRACTION * rows

    def describes(self, rows: float) -> bool:
        """Whether these statistics describe a copy of ``rows`` rows of the table."""
        return self.within_margin(rows - self.rows, self.rows)


@dataclass(frozen=True)
class DiscoveredSchema:
    """The columns a resource has now (compared with the registered contract to detect drift)."""

    resource: str
    columns: tuple[SourceColumn, ...]

    def column(self, name: str) -> SourceColumn:
        """The column ``name``; KeyError when absent."""
        for col in self.columns:
            if col.name == name:
                return col
        raise KeyError(name)

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(col.name for col in self.columns)


@dataclass(frozen=True)
class CursorState:
    """Where the previous successful load of a resource stopped (stored with the data)."""

    value: Any = None
    """Last cursor value loaded (database cursor column); None before the first load."""
    token: str | None = None
    """Opaque resume token of an API (the next page cursor the API returned)."""
    files: Mapping[str, str] = field(default_factory=dict)
    """Files already loaded: path -> fingerprint (size + mtime, or the object's ETag)."""


@dataclass(frozen=True)
class Chunk:
    """One extracted batch of rows as CSV text (see the module docstring for the dialect)."""

    data: bytes
    rows: int
    token: str | None = None
    """API resume token after this chunk (persisted with the loaded rows, in one transaction)."""
    file: tuple[str, str] | None = None
    """For files: (path, fingerprint) of the file this chunk completes, when it does."""


class Connector(ABC):
    """Reads one source. Subclasses are created with the source config and an Airflow connection."""

    @abstractmethod
    def discover(self, resource: str) -> DiscoveredSchema:
        """The resource's current columns and their warehouse types."""

    @abstractmethod
    def extract(
        self, resource: str, schema: DiscoveredSchema, state: CursorState, *, chunk_rows: int
    ) -> Iterator[Chunk]:
        """Rows after ``state`` in chunks of at most ``chunk_rows``, ordered so that a cursor never goes back."""

    @abstractmethod
    def test_connection(self) -> tuple[bool, str]:
        """Airflow's ``test_connection`` contract: (ok, message)."""
