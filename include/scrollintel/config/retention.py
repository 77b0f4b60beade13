"""``governance/retention.yaml``: how long each kind of data is kept and what happens after."""

from __future__ import annotations

from pathlib import PurePosixPath
from typing import Annotated, Literal

from pydantic import AfterValidator, Field

from scrollintel.config.duration import Duration
from scrollintel.config.fields import GovernanceModel, Id, Identifier, Text, matching

#: Tables no retention run may purge: the audit ledger (every ``governance.audit_*`` table) and the
#: compliance records whose own lifecycle the law sets (holds, subject requests, the suppression list).
NEVER_PURGED = (
    "governance.retention_holds",
    "governance.subject_requests",
    "governance.subject_suppression",
    "governance.alembic_version",
)
LEDGER_PREFIX = "governance.audit_"

#: Where a platform folder lives: the object store, the platform's state folder, or Airflow's task log folder.
FolderRoot = Literal["object_store", "state", "airflow_logs"]


def _purgeable(table: str) -> str:
    if table.startswith(LEDGER_PREFIX):
        raise ValueError(f"{table} belongs to the audit ledger, which is never purged")
    if table in NEVER_PURGED:
        raise ValueError(f"{table} is a compliance record retention never purges")
    return table


def _relative(path: str) -> str:
    if not path:
        return path  # the root itself
    parts = PurePosixPath(path).parts
    if path.startswith("/") or any(part in ("..", ".") or part.startswith(".") for part in parts):
        raise ValueError(f"{path!r} is not a relative folder path inside its root (no '..', '/' or hidden names)")
    return PurePosixPath(path).as_posix()


PlatformTableName = Annotated[
    str,
    matching(r"governance\.[a-z][a-z0-9_]{0,62}", "a governance table such as 'governance.quality_run'"),
    AfterValidator(_purgeable),
]
FolderPath = Annotated[str, Field(max_length=300), AfterValidator(_relative)]


class RetentionClass(GovernanceModel):
    """How long data of one kind is kept and what happens after."""

    id: Id
    description: Text
    duration: Duration
    action: Literal["delete", "anonymise", "archive"]
    legal_basis: Text
    erasure: Literal["delete", "redact", "keep"] = "delete"
    """What a subject's erasure request (GDPR Art. 17) does to rows of this class: ``delete`` them,
    ``redact`` them (classified columns set to null, the rest kept under ``legal_basis``, Art.
    17(3)(b)), or ``keep`` them whole under ``legal_basis``."""


class PlatformTable(GovernanceModel):
    """A table of the platform's own (quality results, raw lineage events) under a retention class."""

    table: PlatformTableName
    retention_class: Id
    date_column: Identifier
    """The column a row's age is counted from (when the platform wrote the row)."""
    includes: list[PlatformTableName] = Field(default_factory=list)
    """Child tables whose rows go with their parent row (``ON DELETE CASCADE``), counted in the proof;
    a hold on one of them holds the parent too."""
    description: Text


class PlatformFolder(GovernanceModel):
    """A folder of the platform's files (task logs, data docs, checkpoint results) under a retention class."""

    id: Id
    root: FolderRoot
    path: FolderPath = ""
    """The folder under ``root`` (empty: the root itself); its files go by modification time, symlinks
    are never followed."""
    retention_class: Id
    description: Text


class PlatformStores(GovernanceModel):
    """The platform's own stores and their classes (the audit ledger is never one of them)."""

    tables: list[PlatformTable] = Field(default_factory=list)
    folders: list[PlatformFolder] = Field(default_factory=list)


class RetentionConfig(GovernanceModel):
    """governance/retention.yaml."""

    classes: list[RetentionClass] = Field(min_length=1)
    date_columns: dict[str, Identifier] = Field(default_factory=dict)
    """``raw.<source>__<resource>`` -> the column a row's age is counted from (default ``_loaded_at``,
    when ingestion last wrote the row)."""
    archive_prefix: str = "archive/retention"
    """Where ``archive`` writes purged rows in the object store (JSON lines, one file per table and run)."""
    platform: PlatformStores = Field(default_factory=PlatformStores)
    """The platform's own stores (quality results, raw lineage events, task logs, data docs) and their classes."""
