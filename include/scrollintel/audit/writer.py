"""``record()`` and ``record_many()``: validate, strip personal data, append or queue.

Recording is an observer: once an event is valid, nothing about the ledger's database
(unreachable, not migrated, locked out, inconsistent) makes ``record()`` raise. The event goes
to the durable outbox (:mod:`scrollintel.audit.outbox`) with a warning that names the action
and the error class only, and is appended, in order, by the next successful write.

An *invalid* event (empty action, details that are not JSON, a ``datetime`` in details, ...)
is a bug in the caller and raises :class:`AuditInputError` naming the field.
"""

from __future__ import annotations

import logging
import os
import re
import uuid
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from scrollintel.audit import settings
from scrollintel.audit.canonical import canonical_json, to_time_us
from scrollintel.audit.errors import AuditInputError
from scrollintel.audit.ledger_events import AuditEvent, Receipt
from scrollintel.audit.privacy import REDACTED_KEY, Redaction, redact_details, redact_text
from scrollintel.audit.storage import NewEntry

log = logging.getLogger(__name__)

ACTION_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:/-]{0,199}$")
_CONTROL = re.compile(r"[\x00-\x1f]")
MAX_SUBJECT = 500
MAX_ACTOR = 200
MAX_KEY = 300
#: Details are references and outcomes, not payloads.
MAX_DETAILS_BYTES = 64 * 1024
DEFAULT_ACTOR = "scrollintel"
AUTO_KEY_PREFIX = "auto:"


def default_actor() -> str:
    """The acting service: ``dag:<dag_id>`` inside an Airflow task, else ``scrollintel``.

    Code acting for a person passes ``actor=<Airflow user id>`` instead.
    """
    dag_id = os.environ.get("AIRFLOW_CTX_DAG_ID")
    return f"dag:{dag_id}" if dag_id else DEFAULT_ACTOR


def _text(value: object, name: str, limit: int) -> str:
    if not isinstance(value, str) or not value.strip():
        raise AuditInputError(f"{name} must be a non-empty string, got {type(value).__name__}")
    if len(value) > limit:
        raise AuditInputError(f"{name} is {len(value)} characters; at most {limit} (reference things by id)")
    if _CONTROL.search(value):
        raise AuditInputError(f"{name} must not contain control characters (newlines, tabs)")
    return value


def prepare(event: AuditEvent, *, actor: str | None = None, key: str | None = None) -> NewEntry:
    """Validate ``event``, strip personal data and canonicalise it into a :class:`NewEntry`.

    ``actor`` is used when the event names none (default: :func:`default_actor`); ``key``
    when the event has no key (default: a fresh ``auto:`` key).
    """
    action = _text(event.action, "action", 200)
    if not ACTION_PATTERN.match(action):
        raise AuditInputError(f"action {action!r}: use letters, digits and . _ : / - (e.g. 'ingest.schema_drift')")
    found = Redaction()
    subject = redact_text(_text(event.subject, "subject", MAX_SUBJECT), "subject", found)
    who = redact_text(_text(event.actor or actor or default_actor(), "actor", MAX_ACTOR), "actor", found)
    if event.details is not None and not isinstance(event.details, Mapping):
        raise AuditInputError(f"details must be a JSON object (dict), got {type(event.details).__name__}")
    clean, found_in_details = redact_details(event.details)
    found.paths.extend(found_in_details.paths)
    if found.paths:
        clean[REDACTED_KEY] = sorted(set(found.paths))
    details = canonical_json(clean)
    if len(details.encode()) > MAX_DETAILS_BYTES:
        raise AuditInputError(
            f"details of {action!r} are {len(details.encode())} bytes; at most {MAX_DETAILS_BYTES} "
            "(record ids and counts, keep payloads elsewhere)"
        )
    if found:
        log.warning(
            "personal data removed from audit event %s at %s (reference people and records by id)",
            action,
            ", ".join(sorted(set(found.paths))),
        )
    if event.key is not None and event.key.startswith(AUTO_KEY_PREFIX):
        raise AuditInputError(f"key must not start with {AUTO_KEY_PREFIX!r}: that prefix is for generated keys")
    event_key = _text(event.key, "key", MAX_KEY) if event.key is not None else key or auto_key()
    moment = event.at or datetime.now(UTC)
    return NewEntry(
        time_us=to_time_us(moment), actor=who, action=action, subject=subject, details=details, event_key=event_key
    )


def auto_key(batch: str | None = None, index: int = 0) -> str:
    """A generated idempotency key (``auto:<uuid>[:<index>]``): unique, so it never deduplicates."""
    return f"{AUTO_KEY_PREFIX}{batch}:{index}" if batch else f"{AUTO_KEY_PREFIX}{uuid.uuid4().hex}"


def _write_errors() -> tuple[type[BaseException], ...]:
    import psycopg

    from scrollintel.audit.storage import LedgerCorrupted
    from scrollintel.exceptions import DatabaseError

    return (psycopg.Error, DatabaseError, LedgerCorrupted, OSError)


def write(entries: Sequence[NewEntry], url: str | None = None) -> list[Receipt]:
    """Append prepared entries after anything queued in the outbox; raises when the database fails.

    The outbox and the new entries go in one transaction, in that order. A connection that
    died in the pool is retried once on a fresh one (keys make a retry after an unclear
    commit harmless).
    """
    import psycopg

    url = url or settings.ledger_url()
    fresh = {e.event_key for e in entries if e.event_key and e.event_key.startswith(AUTO_KEY_PREFIX)}
    try:
        return _write_once(entries, url, fresh)
    except psycopg.OperationalError:
        log.info("audit ledger connection failed; retrying once on a new connection")
        return _write_once(entries, url, set())


def _write_once(entries: Sequence[NewEntry], url: str, unseen_keys: set[str]) -> list[Receipt]:
    from scrollintel.audit import outbox, storage

    if outbox.pending():
        with outbox.draining() as queued:
            with storage.connection(url) as conn, conn.transaction():
                result = storage.append_entries(conn, [*queued, *entries], unseen_keys=unseen_keys)
            if queued:
                log.info("flushed %d queued audit event(s) from the outbox", len(queued))
        skip = len(queued)
    else:
        with storage.connection(url) as conn, conn.transaction():
            result = storage.append_entries(conn, entries, unseen_keys=unseen_keys)
        skip = 0
    return [
        Receipt("written" if fresh else "duplicate", entry.event_key or "", seq)
        for entry, seq, fresh in zip(entries, result.seqs[skip:], result.new[skip:], strict=True)
    ]


def _event(value: AuditEvent | Mapping[str, Any]) -> AuditEvent:
    if isinstance(value, AuditEvent):
        return value
    if not isinstance(value, Mapping):
        raise AuditInputError(f"an event must be an AuditEvent or a dict, got {type(value).__name__}")
    unknown = sorted(set(value) - set(AuditEvent.__dataclass_fields__))
    if unknown:
        raise AuditInputError(
            f"unknown event field(s) {', '.join(unknown)}; use {', '.join(AuditEvent.__dataclass_fields__)}"
        )
    return AuditEvent(**value)


def record_many(
    events: Iterable[AuditEvent | Mapping[str, Any]], *, actor: str | None = None, url: str | None = None
) -> list[Receipt]:
    """Record several events in one transaction, in order (see :func:`record`)."""
    who = actor or default_actor()
    batch = uuid.uuid4().hex
    prepared = [prepare(_event(e), actor=who, key=auto_key(batch, i)) for i, e in enumerate(events)]
    if not prepared:
        return []
    try:
        return write(prepared, url)
    except _write_errors() as err:
        from scrollintel.audit import outbox

        outbox.enqueue(prepared)
        log.warning(
            "audit ledger unavailable (%s): %d event(s) (%s) kept in the outbox %s and written on the next "
            "successful write",
            type(err).__name__,
            len(prepared),
            ", ".join(sorted({p.action for p in prepared})[:5]),
            outbox.outbox_path(),
        )
        return [Receipt("queued", p.event_key or "") for p in prepared]


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
    """Append one event to the audit ledger; never raises because the ledger is unavailable.

    ``action``: dotted verb (``quality.gate_failed``); ``subject``: what it concerns, by id
    (``dataset:marts.orders``); ``details``: JSON object of ids, counts, outcomes; ``actor``:
    Airflow user id or service (default: ``dag:<dag_id>`` in a task, else ``scrollintel``);
    ``key``: idempotency key (a re-run recording the same key adds nothing); ``at``: when it
    happened (default now). Personal data is replaced before anything is stored or logged.
    Returns a :class:`Receipt`; raises :class:`AuditInputError` only for an invalid event.
    """
    return record_many(
        [AuditEvent(action=action, subject=subject, details=details, actor=actor, key=key, at=at)], url=url
    )[0]


def flush_outbox(url: str | None = None) -> int:
    """Append everything queued in the outbox; returns how many were appended (raises on DB errors)."""
    from scrollintel.audit import outbox, storage

    url = url or settings.ledger_url()
    with outbox.draining() as queued:
        if not queued:
            return 0
        with storage.connection(url) as conn, conn.transaction():
            result = storage.append_entries(conn, queued)
    log.info("flushed %d audit event(s) from the outbox (%d already recorded)", result.appended, result.skipped)
    return result.appended
