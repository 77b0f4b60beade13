"""Tamper-evident audit ledger: every governance decision, hash-chained, Merkle-proven, anchored.

Every capability records through one call::

    from scrollintel import audit

    audit.record("quality.gate_failed", "dataset:marts.orders", {"suite": "orders", "failed": 3})

Importing this package is cheap (no database driver, no Airflow); the work happens on the
first call. Recording never fails the caller's task because the ledger is unavailable: the
event waits in a durable local outbox (see :mod:`scrollintel.audit.writer`). Details reference
people and records by id only; anything that looks like personal data is replaced before it is
stored (:mod:`scrollintel.audit.privacy`).

Modules: ``canonical`` (hashed encodings), ``merkle`` (RFC 9162 tree and proofs), ``storage``
(tables, appends), ``outbox``, ``writer``, ``verify``, ``anchor`` + ``signing`` (signed tree
heads), ``proof`` (inclusion proof documents), ``airflow_log`` (import of Airflow's event
log), ``query`` (the Audit page), ``cli`` (``scrollintel audit ...``).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from scrollintel.audit.ledger_events import AuditEvent, Receipt

__all__ = ["AuditEvent", "Receipt", "flush_outbox", "record", "record_many"]


def record(
    action: str,
    subject: str,
    details: Mapping[str, Any] | None = None,
    *,
    actor: str | None = None,
    key: str | None = None,
    at: datetime | None = None,
    url: str | None = None,
) -> Receipt:
    """Append one event to the ledger (see :func:`scrollintel.audit.writer.record`)."""
    from scrollintel.audit import writer

    return writer.record(action, subject, details, actor=actor, key=key, at=at, url=url)


def record_many(
    events: Iterable[AuditEvent | Mapping[str, Any]], *, actor: str | None = None, url: str | None = None
) -> list[Receipt]:
    """Append several events in one transaction (see :func:`scrollintel.audit.writer.record_many`)."""
    from scrollintel.audit import writer

    return writer.record_many(events, actor=actor, url=url)


def flush_outbox(url: str | None = None) -> int:
    """Append the events waiting in the outbox; returns how many were appended."""
    from scrollintel.audit import writer

    return writer.flush_outbox(url)
