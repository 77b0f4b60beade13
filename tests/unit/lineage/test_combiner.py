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


def test_the_writer_waits_for_a_request_being_handled_and_writes_both_in_one_transaction() -> None:
    writes, store = combiner(linger=5.0)
    validated = threading.Event()

    def second_request() -> None:
        with writes.handling():
            validated.wait(timeout=5)
            writes.submit("b", "w").result(timeout=10)  # type: ignore[arg-type]

    other = threading.Thread(target=second_request)
    with writes.handling():
        other.start()
        while writes._open < 2:  # the second request is open before the first submits
            time.sleep(0.001)
        first = writes.submit("a", "w")  # type: ignore[arg-type]
        time.sleep(0.05)
        validated.set()
        first.result(timeout=10)
    other.join(timeout=10)

    assert store.transactions == [["a", "b"]]


def test_the_wait_ends_after_the_linger_when_the_other_request_never_submits() -> None:
    writes, store = combiner(linger=0.2)
    release = threading.Event()

    def stuck_request() -> None:
        with writes.handling():
            release.wait(timeout=10)

    other = threading.Thread(target=stuck_request)
    other.start()
    while writes._open < 1:
        time.sleep(0.001)
    started = time.monotonic()
    with writes.handling():
        writes.submit("a", "w").result(timeout=5)  # type: ignore[arg-type]
    waited = time.monotonic() - started
    release.set()
    other.join(timeout=10)

    assert store.transactions == [["a"]]
    assert 0.15 <= waited < 2.0
