"""Group commit of single-event posts: who shares a transaction, and how long the writer waits."""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest

from scrollintel.lineage.combiner import WriteCombiner
from scrollintel.lineage.store import Stored

pytestmark = pytest.mark.unit


class RecordingStore:
    """Stands in for the database: records each transaction's events."""

    def __init__(self) -> None:
        self.transactions: list[list[Any]] = []

    def ingest(self, events: list[Any], writers: list[str]) -> list[Stored]:
        self.transactions.append(list(events))
        return [Stored("created") for _ in events]


def combiner(linger: float) -> tuple[WriteCombiner, RecordingStore]:
    writes = WriteCombiner("postgresql://unused/db", linger=linger)
    store = RecordingStore()
    writes.store = store  # type: ignore[assignment]
    return writes, store


def test_an_event_alone_is_written_at_once() -> None:
    writes, store = combiner(linger=5.0)

    started = time.monotonic()
    with writes.handling():
        writes.submit("a", "w").result(timeout=5)  # type: ignore[arg-type]

    assert time.monotonic() - started < 1.0  # no linger: nobody else is being handled
    assert store.transactions == [["a"]]


def other_request(writes: WriteCombiner, submits: str | None) -> tuple[threading.Thread, threading.Event]:
    """A request handled in another thread, open until the returned event is set; then it submits ``submits``."""
    release = threading.Event()

    def handle() -> None:
        with writes.handling():
            release.wait(timeout=10)
            if submits is not None:
                writes.submit(submits, "w").result(timeout=10)  # type: ignore[arg-type]

    thread = threading.Thread(target=handle)
    opened = writes._open
    thread.start()
    while writes._open <= opened:  # open before the test goes on
        time.sleep(0.001)
    return thread, release


def test_the_writer_waits_for_a_request_being_handled_and_writes_both_in_one_transaction() -> None:
    writes, store = combiner(linger=5.0)

    with writes.handling():
        other, validated = other_request(writes, submits="b")
        first = writes.submit("a", "w")  # type: ignore[arg-type]
        time.sleep(0.05)
        validated.set()
        first.result(timeout=10)
    other.join(timeout=10)

    assert store.transactions == [["a", "b"]]


def test_the_wait_ends_after_the_linger_when_the_other_request_never_submits() -> None:
    writes, store = combiner(linger=0.2)
    other, release = other_request(writes, submits=None)

    started = time.monotonic()
    with writes.handling():
        writes.submit("a", "w").result(timeout=5)  # type: ignore[arg-type]
    waited = time.monotonic() - started
    release.set()
    other.join(timeout=10)

    assert store.transactions == [["a"]]
    assert 0.15 <= waited < 2.0


class Named(str):
    """A stand-in event: its name, and the digest the writer logs."""

    @property
    def digest(self) -> str:
        return f"digest-of-{self}"


class PoisonedStore:
    """Stands in for the store: fails a whole transaction (not through the database) when it holds ``poison``."""

    def __init__(self) -> None:
        self.transactions: list[list[str]] = []

    def ingest(self, events: list[Any], writers: list[str]) -> list[Stored]:
        self.transactions.append(sorted(events))
        if "poison" in events:
            raise KeyError("a bug the poison event reaches")
        return [Stored("created") for _ in events]


def test_a_group_failing_for_one_event_is_retried_event_by_event_and_only_that_event_fails() -> None:
    from scrollintel.lineage.errors import StoreFailure

    writes = WriteCombiner("postgresql://unused/db", linger=5.0)
    store = PoisonedStore()
    writes.store = store  # type: ignore[assignment]
    with writes.handling(), writes.handling():  # this test's two requests, and one in another thread
        other, validated = other_request(writes, submits=Named("b"))
        first = writes.submit(Named("a"), "w")  # type: ignore[arg-type]
        poisoned = writes.submit(Named("poison"), "w")  # type: ignore[arg-type]
        time.sleep(0.05)
        validated.set()
        assert first.result(timeout=10) == Stored("created")
        with pytest.raises(StoreFailure):
            poisoned.result(timeout=10)
    other.join(timeout=10)

    assert sorted(store.transactions) == [["a"], ["a", "b", "poison"], ["b"], ["poison"]]


def test_the_poison_events_own_request_gets_a_store_failure() -> None:
    from scrollintel.lineage.errors import StoreFailure

    writes = WriteCombiner("postgresql://unused/db", linger=0.0)
    writes.store = PoisonedStore()  # type: ignore[assignment]

    with pytest.raises(StoreFailure, match=r"the lineage store failed on this event \(KeyError\); it is not stored"):
        writes.submit(Named("poison"), "w").result(timeout=5)  # type: ignore[arg-type]
