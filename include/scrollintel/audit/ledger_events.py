"""Events callers hand to the audit ledger and the receipts it returns.

Kept free of heavy imports: ``scrollintel.audit`` imports it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal


@dataclass(frozen=True)
class AuditEvent:
    """One governance event.

    ``action`` is a dotted verb such as ``ingest.schema_drift`` or ``approval.granted``;
    ``subject`` references what it is about *by id* (``dataset:raw.shop__orders``,
    ``model:churn@v3``); ``details`` is a small JSON object of ids, counts and outcomes (no
    personal data: see :mod:`scrollintel.audit.privacy`); ``actor`` is the Airflow user id
    or service acting; ``key`` makes recording idempotent (a second event with the same key
    is skipped); ``at`` is when it happened (default: now).
    """

    action: str
    subject: str
    details: Mapping[str, Any] | None = None
    actor: str | None = None
    key: str | None = None
    at: datetime | None = None


@dataclass(frozen=True)
class Receipt:
    """What happened to one event: ``written`` (with its seq), ``duplicate`` (key already
    recorded, seq of the earlier entry) or ``queued`` in the durable outbox (seq unknown yet).
    """

    status: Literal["written", "duplicate", "queued"]
    key: str
    seq: int | None = None

    @property
    def queued(self) -> bool:
        """True when the event waits in the outbox."""
        return self.status == "queued"
