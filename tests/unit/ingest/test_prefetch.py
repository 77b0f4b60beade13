"""Prefetch: same items in order, errors surface in the consumer, closing stops the producer."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest

from scrollintel.ingest.prefetch import Prefetch

pytestmark = pytest.mark.unit


def test_items_arrive_in_order() -> None:
    assert list(Prefetch(lambda: iter(range(1000)), depth=3)) == list(range(1000))


def test_an_error_of_the_producer_is_raised_in_the_consumer_after_the_items_before_it() -> None:
    def failing() -> Iterator[int]:
        yield 1
        yield 2
        raise ConnectionError("source went away")

    seen: list[int] = []
    with pytest.raises(ConnectionError, match="source went away"):
        for item in Prefetch(failing):
            seen.append(item)
    assert seen == [1, 2]


def test_closing_early_closes_the_generator_in_its_own_thread() -> None:
    closed_in: list[str] = []

    def endless() -> Iterator[int]:
        try:
            n = 0
            while True:
                n += 1
                yield n
        finally:
            closed_in.append(threading.current_thread().name)

    prefetch = Prefetch(endless, depth=2, name="producer-under-test")
    iterator = iter(prefetch)
    assert [next(iterator), next(iterator)] == [1, 2]
    prefetch.close()
    assert closed_in == ["producer-under-test"]


def test_depth_must_be_positive() -> None:
    with pytest.raises(ValueError, match="depth must be at least 1"):
        Prefetch(lambda: iter(()), depth=0)
