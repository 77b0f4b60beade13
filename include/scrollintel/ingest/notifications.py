"""Ingestion notifications (schema drift, quarantined rows, classification) to the audit ledger and hooks.

Events are observers: :func:`emit` never raises because the ledger or a hook failed. Each
event goes to ``scrollintel.audit.record`` (action ``ingest.<kind>``, subject
``dataset:raw.<source>__<resource>``) and then to every registered
:class:`NotificationHook`, which is how the Slack wiring will subscribe::

    from scrollintel.ingest import notifications

    class SlackDriftHook:
        def notify(self, event: notifications.IngestEvent) -> None:
            if event.kind == "schema_drift":
                ...  # post to the owning team's channel

    notifications.register_hook(SlackDriftHook())

Details carry ids, counts, column names and types: never values from the rows.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol, runtime_checkable

from scrollintel.warehouse import raw_table

log = logging.getLogger(__name__)

EventKind = Literal["schema_drift", "rows_quarantined", "pii_classified", "classification_above_tag"]


@dataclass(frozen=True)
class IngestEvent:
    """Something the owners of a source should know about."""

    kind: EventKind
    source: str
    resource: str
    run_id: str
    details: dict[str, Any] = field(default_factory=dict)

    @property
    def action(self) -> str:
        """The audit action: ``ingest.schema_drift``, ``ingest.rows_quarantined``, ..."""
        return f"ingest.{self.kind}"

    @property
    def subject(self) -> str:
        """The audit subject: ``dataset:raw.<source>__<resource>``."""
        return f"dataset:{raw_table(self.source, self.resource)}"

    def summary(self) -> str:
        """One line for a notification."""
        if self.kind == "schema_drift":
            outcome = self.details.get("outcome", "?")
            changes = self.details.get("changes", [])
            return (
                f"schema drift in {self.source}.{self.resource} ({len(changes)} change(s), "
                f"policy {self.details.get('policy')}): {outcome}"
            )
        if self.kind == "rows_quarantined":
            return f"{self.details.get('rows', 0)} row(s) of {self.source}.{self.resource} quarantined"
        return f"{self.kind} for {self.source}.{self.resource}"


@runtime_checkable
class NotificationHook(Protocol):
    """Receives every ingestion event; implementations must not block for long."""

    def notify(self, event: IngestEvent) -> None: ...


_hooks: list[NotificationHook] = []


def register_hook(hook: NotificationHook) -> None:
    """Add ``hook`` (once) to the hooks every event goes to."""
    if not isinstance(hook, NotificationHook):
        raise TypeError(f"{hook!r} has no notify(event) method")
    if hook not in _hooks:
        _hooks.append(hook)


def unregister_hook(hook: NotificationHook) -> None:
    """Remove ``hook``; no error when it was not registered."""
    if hook in _hooks:
        _hooks.remove(hook)


def registered_hooks() -> tuple[NotificationHook, ...]:
    """The hooks events currently go to."""
    return tuple(_hooks)


def _record(event: IngestEvent, url: str | None) -> None:
    from scrollintel import audit

    details = {"source": event.source, "resource": event.resource, "run_id": event.run_id, **event.details}
    audit.record(event.action, event.subject, details, url=url)


def emit(event: IngestEvent, *, audit_url: str | None = None) -> None:
    """Record ``event`` in the audit ledger and pass it to every hook; never raises for their failures.

    ``audit_url``: the ledger's database (default: the audit package's own setting).
    """
    log.info("ingestion event %s: %s", event.action, event.summary())
    from scrollintel.exceptions import ScrollIntelError

    try:
        _record(event, audit_url)
    except ScrollIntelError as err:  # record() queues when the ledger is down; this is a rejected event
        log.warning("could not record %s in the audit ledger: %s: %s", event.action, type(err).__name__, err)
    for hook in tuple(_hooks):
        try:
            hook.notify(event)
        except Exception as err:  # an observer: one broken hook must not stop the others or the task
            log.warning("notification hook %r failed on %s: %s: %s", hook, event.action, type(err).__name__, err)
