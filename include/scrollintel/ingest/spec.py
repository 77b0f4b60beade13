"""What one load is about and what it did: the resource spec the loader takes, the result it gives.

Kept apart from :mod:`scrollintel.ingest.loader` so the run bookkeeping
(:mod:`scrollintel.ingest.runs`), the pipeline and lineage can name them without importing the loader.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import timedelta
from typing import TYPE_CHECKING, Any, Literal

from scrollintel.config.duration import Duration
from scrollintel.ingest.cursors import lookback_problem
from scrollintel.ingest.errors import CountMismatchError, ResourceConfigError
from scrollintel.ingest.merge import DELETED_AT
from scrollintel.ingest.sqltypes import MAX_IDENTIFIER
from scrollintel.warehouse import raw_table, raw_table_name

if TYPE_CHECKING:
    from scrollintel.config.sources import SourceConfig
    from scrollintel.ingest.connectors.base import DiscoveredSchema

Mode = Literal["initial", "incremental", "full_refresh"]


# --------------------------------------------------------------------------- what to load


@dataclass(frozen=True)
class ResourceSpec:
    """What the loader needs to know about one table, endpoint or file of a source."""

    source: str
    resource: str
    primary_key: tuple[str, ...]
    cursor: str | None = None
    """Database cursor column (``WHERE cursor >= last``); None for APIs and files."""
    incremental: bool = True
    """False: every run reads everything (full refresh; keys absent from the batch are deleted)."""
    schema_policy: Literal["evolve", "freeze"] = "freeze"
    lookback: timedelta | int | None = None
    """Re-read this far behind the stored cursor (:mod:`scrollintel.ingest.cursors`); None: the type's default."""
    delete_detection: Literal["soft", "hard"] | None = None
    """Reconcile the raw table's keys with the source's (:mod:`scrollintel.ingest.deletes`); None: never."""
    reconcile_every: timedelta = timedelta(days=1)
    """How long after a reconcile the next one is due."""
    approved_changes: tuple[dict[str, Any], ...] | None = None
    """A schema change approved at the ``schema_change`` gate (``SchemaDiff.as_dicts()``): under ``freeze``
    the load applies exactly this change, as ``evolve`` would, and refuses any other."""

    @classmethod
    def from_config(cls, source: SourceConfig, resource: str) -> ResourceSpec:
        """The spec of ``resource`` as ``governance/sources/<source>.yaml`` declares it."""
        item = source.resource(resource)
        lookback = getattr(item, "lookback", None)
        detection = getattr(item, "delete_detection", None)
        return cls(
            source=source.name,
            resource=resource,
            primary_key=tuple(item.primary_key),
            cursor=getattr(item, "cursor", None),
            incremental=item.incremental,
            schema_policy=source.schema_policy,
            lookback=lookback.to_timedelta() if isinstance(lookback, Duration) else lookback,
            delete_detection=detection.mode if detection else None,
            reconcile_every=detection.every.to_timedelta() if detection else timedelta(days=1),
        )

    @property
    def table(self) -> str:
        """``<source>__<resource>``: the table name in ``raw`` and ``raw_quarantine``."""
        return raw_table_name(self.source, self.resource)

    @property
    def raw_table(self) -> str:
        """``raw.<source>__<resource>``."""
        return raw_table(self.source, self.resource)

    def check(self, schema: DiscoveredSchema) -> None:
        """Raise :class:`ResourceConfigError` when the YAML does not fit the discovered schema."""
        if len(self.table) > MAX_IDENTIFIER:
            raise ResourceConfigError(
                f"{self.raw_table}: table name is {len(self.table)} characters; PostgreSQL allows "
                f"{MAX_IDENTIFIER}. Shorten the source or resource name."
            )
        names = set(schema.names)
        missing = [name for name in self.primary_key if name not in names]
        if missing:
            raise ResourceConfigError(
                f"{self.source}.{self.resource}: primary key column(s) {', '.join(missing)} not in the source "
                f"(columns: {', '.join(schema.names)}); fix primary_key in governance/sources/{self.source}.yaml"
            )
        if self.cursor is not None and self.cursor not in names:
            raise ResourceConfigError(
                f"{self.source}.{self.resource}: cursor column {self.cursor!r} not in the source "
                f"(columns: {', '.join(schema.names)}); fix cursor in governance/sources/{self.source}.yaml"
            )
        if self.cursor is not None:
            problem = lookback_problem(self.lookback, schema.column(self.cursor).pg_type)
            if problem:
                raise ResourceConfigError(
                    f"governance/sources/{self.source}.yaml: {self.source}.{self.resource}: lookback of cursor "
                    f"{self.cursor!r}: {problem}"
                )
        ours = {"_loaded_at", "_run_id"} | ({DELETED_AT} if self.delete_detection == "soft" else set())
        reserved = sorted(names & ours)
        if reserved:
            raise ResourceConfigError(
                f"{self.source}.{self.resource}: source column(s) {', '.join(reserved)} clash with the raw "
                "table's metadata columns"
            )


@dataclass
class LoadResult:
    """What one load did. ``source_rows == loaded_rows + quarantined_rows`` always holds."""

    source: str
    resource: str
    raw_table: str
    run_id: str
    batch_id: str
    mode: Mode
    path: Literal["direct", "direct-binary", "staged", "staged-typed", "staged-binary"] = "staged"
    applied_by: Literal["upsert", "rewrite", "changes"] | None = None
    """Staged path: how the batch reached the table (row upsert, table rewrite, changed rows of a join)."""
    source_rows: int = 0
    loaded_rows: int = 0
    """Rows accepted into the raw table: inserted + updated + unchanged."""
    inserted_rows: int = 0
    updated_rows: int = 0
    unchanged_rows: int = 0
    deleted_rows: int = 0
    """Stored rows whose key the source no longer has: absent from a full refresh, or found by delete
    detection (:mod:`scrollintel.ingest.deletes`; soft mode: newly marked ``_deleted_at``)."""
    quarantined_rows: int = 0
    statistics_taken: int = 0
    """A first load's columns whose statistics came from the source table instead of a sample
    (:meth:`scrollintel.ingest.storage.RawTable.restore_statistics`)."""
    quarantine_reasons: dict[str, int] = field(default_factory=dict)
    cursor_before: str | None = None
    cursor_after: str | None = None
    schema_version: int = 0
    drift: list[dict[str, Any]] = field(default_factory=list)
    columns: list[dict[str, Any]] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def written_rows(self) -> int:
        """Rows inserted or changed (the landed batch)."""
        return self.inserted_rows + self.updated_rows

    def check_counts(self) -> None:
        """Raise :class:`CountMismatchError` unless source rows = loaded + quarantined."""
        if self.source_rows != self.loaded_rows + self.quarantined_rows:
            raise CountMismatchError(
                f"{self.raw_table}: {self.source_rows} row(s) read from the source but {self.loaded_rows} loaded "
                f"+ {self.quarantined_rows} quarantined = {self.loaded_rows + self.quarantined_rows}; nothing "
                "was committed"
            )

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)
