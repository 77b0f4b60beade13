"""Ingestion events: audit record + hooks, and observers never fail the caller."""

from __future__ import annotations

from typing import Any

import pytest

from scrollintel import audit
from scrollintel.audit.errors import AuditInputError
from scrollintel.ingest import notifications as events

pytestmark = pytest.mark.unit

EVENT = events.IngestEvent(
    kind="schema_drift",
    source="shop",
    resource="customers",
    run_id="r1",
    details={"policy": "freeze", "outcome": "blocked", "changes": [{"kind": "added", "column": "tier"}]},
)


class Recorder:
    def __init__(self) -> None:
        self.seen: list[events.IngestEvent] = []

    def notify(self, event: events.IngestEvent) -> None:
        self.seen.append(event)


class Broken:
    def notify(self, event: events.IngestEvent) -> None:
        raise RuntimeError("slack is down")


def test_emit_records_in_the_ledger_and_calls_every_hook(monkeypatch: pytest.MonkeyPatch) -> None:
    recorded: list[tuple[Any, ...]] = []
    monkeypatch.setattr(audit, "record", lambda *args, **kwargs: recorded.append((args, kwargs)))
    first, broken, last = Recorder(), Broken(), Recorder()
    for hook in (first, broken, last):
        events.register_hook(hook)
    try:
        events.emit(EVENT, audit_url="postgresql://db")
    finally:
        for hook in (first, broken, last):
            events.unregister_hook(hook)
    ((args, kwargs),) = recorded
    assert args[0] == "ingest.schema_drift" and args[1] == "dataset:raw.shop__customers"
    assert args[2]["source"] == "shop" and args[2]["outcome"] == "blocked" and kwargs == {"url": "postgresql://db"}
    assert first.seen == [EVENT] and last.seen == [EVENT]  # the broken hook did not stop the others


def test_a_rejected_audit_event_does_not_fail_the_caller(monkeypatch: pytest.MonkeyPatch, caplog: Any) -> None:
    def reject(*args: Any, **kwargs: Any) -> None:
        raise AuditInputError("details must be JSON")

    monkeypatch.setattr(audit, "record", reject)
    events.emit(EVENT)
    assert "could not record ingest.schema_drift in the audit ledger" in caplog.text


def test_hooks_are_registered_once_and_must_have_notify() -> None:
    hook = Recorder()
    events.register_hook(hook)
    events.register_hook(hook)
    try:
        assert events.registered_hooks().count(hook) == 1
    finally:
        events.unregister_hook(hook)
    assert hook not in events.registered_hooks()
    with pytest.raises(TypeError, match="no notify"):
        events.register_hook(object())  # type: ignore[arg-type]


def test_summaries() -> None:
    assert EVENT.summary() == "schema drift in shop.customers (1 change(s), policy freeze): blocked"
    quarantined = events.IngestEvent("rows_quarantined", "shop", "orders", "r", {"rows": 3})
    assert quarantined.summary() == "3 row(s) of shop.orders quarantined"
