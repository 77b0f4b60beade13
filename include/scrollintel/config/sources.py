"""``governance/sources/<name>.yaml``: a source of each type and its tables, endpoints or files."""

from __future__ import annotations

from abc import abstractmethod
from pathlib import Path
from typing import Annotated, ClassVar, Literal

from pydantic import AfterValidator, Field, PlainValidator, model_validator

from scrollintel.config.classification import NOT_PERSONAL
from scrollintel.config.duration import Duration, fixed_length
from scrollintel.config.fields import (
    ColumnName,
    ConnectionId,
    GovernanceModel,
    Id,
    Identifier,
    PrimaryKey,
    Schedule,
    SourceName,
    Text,
    matching,
)


class Resource(GovernanceModel):
    """What every table, endpoint and file of a source has in common."""

    name: Identifier
    primary_key: PrimaryKey
    classification: dict[ColumnName, Id] = Field(default_factory=dict)
    retention_class: Id | None = None

    @property
    @abstractmethod
    def incremental(self) -> bool:
        """True when a run reads only what is new; False for a full refresh (everything, every run)."""

    @property
    @abstractmethod
    def incremental_label(self) -> str:
        """How a run picks what to read, as Markdown for the ingestion DAG's documentation."""


def _check_lookback(value: object) -> Duration | int:
    """A duration for timestamp and date cursors, a whole number of units for integer cursors, 0 for none."""
    expected = (
        "an ISO 8601 duration such as 'PT5M' or 'PT1H' (timestamp and date cursors), "
        "a whole number of cursor units such as 1000 (integer cursors), or 0 for none"
    )
    if isinstance(value, bool):
        raise ValueError(f"{value!r} is not {expected}")
    if isinstance(value, int):
        if value < 0:
            raise ValueError(f"{value} is negative; expected {expected}")
        return value
    try:
        duration = Duration.parse(value)
    except ValueError:
        raise ValueError(f"{value!r} is not {expected}") from None
    return fixed_length(duration)


#: How far behind its cursor an incremental read starts (see ``SourceTable.lookback``).
Lookback = Annotated[Duration | int, PlainValidator(_check_lookback)]


class DeleteDetection(GovernanceModel):
    """Find the rows deleted at the source: compare the raw table's primary keys with the source's.

    ``hard`` deletes the rows gone from the source; ``soft`` keeps them with ``_deleted_at`` set
    (cleared when the key comes back). A key-only read of the whole source table, so it runs at
    the first load at least ``every`` after the previous one, not at every load.
    """

    mode: Literal["soft", "hard"]
    every: Annotated[Duration, AfterValidator(fixed_length)] = Duration.parse("P1D")


class SourceTable(Resource):
    """A database table, extracted incrementally on ``cursor`` or in full when it is null."""

    cursor: ColumnName | None
    lookback: Lookback | None = None
    """Re-read this far behind the last cursor value (rows committed late); None: the default of
    the cursor's type (``scrollintel.ingest.cursors``)."""
    delete_detection: DeleteDetection | None = None

    @property
    def incremental(self) -> bool:
        """Incremental on the cursor column; in full without one."""
        return self.cursor is not None

    @property
    def incremental_label(self) -> str:
        """The cursor column, or ``full refresh``."""
        return f"`{self.cursor}`" if self.cursor else "full refresh"

    @model_validator(mode="after")
    def _incremental_options_need_a_cursor(self) -> SourceTable:
        if self.cursor is None:
            for key in ("lookback", "delete_detection"):
                if getattr(self, key) is not None:
                    raise ValueError(
                        f"'{key}' needs a 'cursor': a table without one is read in full at every load "
                        "(rows deleted at the source are deleted from the raw table then)"
                    )
        return self


class RestEndpoint(Resource):
    """A REST collection read with GET, optionally paged by an opaque cursor."""

    path: Annotated[str, matching(r"/\S*", "an absolute URL path such as '/v1/events'")]
    records_path: str | None = None
    cursor_param: str | None = None
    next_cursor_field: str | None = None
    page_size: int | None = Field(default=None, ge=1, le=10_000)
    page_size_param: str | None = None

    @property
    def incremental(self) -> bool:
        """Incremental when the API pages by cursor."""
        return self.cursor_param is not None

    @property
    def incremental_label(self) -> str:
        """``API cursor`` or ``full refresh``."""
        return "API cursor" if self.cursor_param else "full refresh"

    @model_validator(mode="after")
    def _paging_is_complete(self) -> RestEndpoint:
        if (self.cursor_param is None) != (self.next_cursor_field is None):
            raise ValueError("set both 'cursor_param' and 'next_cursor_field', or neither")
        if (self.page_size is None) != (self.page_size_param is None):
            raise ValueError("set both 'page_size' and 'page_size_param', or neither")
        return self


class GraphqlEndpoint(Resource):
    """A GraphQL query, optionally paged through a cursor variable."""

    query: Annotated[str, Field(min_length=1)]
    records_path: Annotated[str, Field(min_length=1)]
    cursor_variable: str | None = None
    next_cursor_field: str | None = None
    page_size: int | None = Field(default=None, ge=1, le=10_000)

    @property
    def incremental(self) -> bool:
        """Incremental when the query pages by a cursor variable."""
        return self.cursor_variable is not None

    @property
    def incremental_label(self) -> str:
        """``API cursor`` or ``full refresh``."""
        return "API cursor" if self.cursor_variable else "full refresh"

    @model_validator(mode="after")
    def _paging_is_complete(self) -> GraphqlEndpoint:
        if (self.cursor_variable is None) != (self.next_cursor_field is None):
            raise ValueError("set both 'cursor_variable' and 'next_cursor_field', or neither")
        return self


def _check_glob(value: str) -> str:
    if value.startswith("/") or ".." in Path(value).parts:
        raise ValueError(f"{value!r} must be relative to the object store root, without '..'")
    return value


class DataFile(Resource):
    """Files in object storage matching a glob, loaded as one dataset."""

    path: Annotated[str, Field(min_length=1), AfterValidator(_check_glob)]
    format: Literal["csv", "parquet"]
    storage: Literal["local", "s3"]

    @property
    def incremental(self) -> bool:
        """Always: each file is loaded once, tracked by its fingerprint."""
        return True

    @property
    def incremental_label(self) -> str:
        """``new files``."""
        return "new files"


class _SourceBase(GovernanceModel):
    """What every source declares, whatever its type."""

    name: SourceName
    description: Text | None = None
    connection_id: ConnectionId
    owner: Id
    schedule: Schedule
    retention_class: Id
    schema_policy: Literal["evolve", "freeze"]
    classification: dict[ColumnName, Id] = Field(default_factory=dict)

    #: The key listing this source type's resources, and what one is called in messages.
    resource_key: ClassVar[str]
    resource_label: ClassVar[str]

    @property
    def resources(self) -> list[Resource]:
        """The tables, endpoints or files of this source."""
        return list(getattr(self, self.resource_key))

    def resource(self, name: str) -> Resource:
        """The table/endpoint/file named ``name``; KeyError when unknown."""
        for item in self.resources:
            if item.name == name:
                return item
        raise KeyError(name)

    def retention_class_of(self, name: str) -> str:
        """The retention class of one resource (its own, else the source's)."""
        return self.resource(name).retention_class or self.retention_class

    def declared_classes(self) -> set[str]:
        """Class ids this YAML assigns to columns (source-wide or per resource)."""
        found = {value for value in self.classification.values() if value != NOT_PERSONAL}
        for item in self.resources:
            found.update(value for value in item.classification.values() if value != NOT_PERSONAL)
        return found

    def classification_overrides(self, name: str) -> dict[str, str]:
        """ColumnName -> class id (or ``none``) for one resource: source overrides, then its own."""
        return {**self.classification, **self.resource(name).classification}


class DatabaseSource(_SourceBase):
    """A relational database read through an Airflow connection."""

    resource_key = "tables"
    resource_label = "table"

    db_schema: Identifier = Field(alias="schema")
    tables: list[SourceTable] = Field(min_length=1)


class PostgresSource(DatabaseSource):
    """A PostgreSQL database."""

    type: Literal["postgres"]


class MysqlSource(DatabaseSource):
    """A MySQL or MariaDB database."""

    type: Literal["mysql"]

    @model_validator(mode="after")
    def _no_delete_detection(self) -> MysqlSource:
        for table in self.tables:
            if table.delete_detection is not None:
                raise ValueError(
                    f"table {table.name!r}: delete_detection is available for PostgreSQL sources only (the MySQL "
                    "connector cannot read a table's keys alone yet); remove it, or leave the cursor out for a "
                    "full refresh, which deletes what the source no longer has"
                )
        return self


class RestSource(_SourceBase):
    """An HTTP JSON API; the base URL and credentials live in the connection."""

    resource_key = "endpoints"
    resource_label = "endpoint"

    type: Literal["rest"]
    endpoints: list[RestEndpoint] = Field(min_length=1)


class GraphqlSource(_SourceBase):
    """A GraphQL API; the URL and credentials live in the connection."""

    resource_key = "endpoints"
    resource_label = "endpoint"

    type: Literal["graphql"]
    endpoints: list[GraphqlEndpoint] = Field(min_length=1)


class FilesSource(_SourceBase):
    """Files (CSV, Parquet) in local or S3 object storage."""

    resource_key = "files"
    resource_label = "file"

    type: Literal["files"]
    files: list[DataFile] = Field(min_length=1)


SourceConfig = PostgresSource | MysqlSource | RestSource | GraphqlSource | FilesSource
#: Any source file's model, chosen by its ``type`` key.
Source = Annotated[SourceConfig, Field(discriminator="type")]
SOURCE_TYPES: tuple[str, ...] = ("files", "graphql", "mysql", "postgres", "rest")
