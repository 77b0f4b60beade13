"""``governance/retention.yaml``: how long each kind of data is kept and what happens after."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from scrollintel.config.duration import Duration
from scrollintel.config.fields import GovernanceModel, Id, Identifier, Text


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


class RetentionConfig(GovernanceModel):
    """governance/retention.yaml."""

    classes: list[RetentionClass] = Field(min_length=1)
    date_columns: dict[str, Identifier] = Field(default_factory=dict)
    """``raw.<source>__<resource>`` -> the column a row's age is counted from (default ``_loaded_at``,
    when ingestion last wrote the row)."""
    archive_prefix: str = "archive/retention"
    """Where ``archive`` writes purged rows in the object store (JSON lines, one file per table and run)."""
