"""Read ahead from an iterator in a background thread, a bounded number of items ahead.

The loader extracts from the source and writes into the warehouse in one Python thread by
default: while it waits for the warehouse to take a chunk it is not reading the next one.
:class:`Prefetch` runs the connector's generator in its own thread, ``depth`` chunks ahead, so
both connections stay busy (libpq releases the GIL while it waits on a socket). Memory stays
bounded: at most ``depth`` queued items plus the one being produced and the one being consumed.

The generator runs, and is closed, entirely in the producer thread. An exception it raises is
re-raised in the consumer at the point it would have surfaced. :meth:`Prefetch.close` stops the
producer at its next item and closes the generator.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Iterator
from typing import Generic, TypeVar

T = TypeVar("T")

_POLL_S = 0.1
_JOIN_S = 30.0


class _End:
    """Marks the end of the stream."""


class _Failed:
    def __init__(self, error: BaseException) -> None:
        self.error = error


class Prefetch(Generic[T]):
    """Iterate ``factory()`` in a background thread, at most ``depth`` items ahead."""

    def __init__(
        self, factory: Callable[[], Iterator[T]], *, depth: int = 2, name: str = "scrollintel-prefetch"
    ) -> None:
        if depth < 1:
            raise ValueError(f"depth must be at least 1, got {depth}")
        self._queue: queue.Queue[T | _End | _Failed] = queue.Queue(maxsize=depth)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._produce, args=(factory,), name=name, daemon=True)
        self._thread.start()

    def _put(self, item: T | _End | _Failed) -> bool:
        """Queue ``item`` unless the consumer has stopped; False when it has."""
        while not self._stop.is_set():
            try:
                self._queue.put(item, timeout=_POLL_S)
            except queue.Full:
                continue
            return True
        return False

    def _produce(self, factory: Callable[[], Iterator[T]]) -> None:
        iterator: Iterator[T] | None = None
        try:
            iterator = factory()
            for item in iterator:
                if not self._put(item):
                    return
            self._put(_End())
        except BaseException as err:  # handed to the consumer, which re-raises it
            self._put(_Failed(err))
        finally:
            close = getattr(iterator, "close", None)
            if callable(close):
                close()

    def __iter__(self) -> Iterator[T]:
        while True:
            item = self._queue.get()
            if isinstance(item, _End):
                return
            if isinstance(item, _Failed):
                raise item.error
            yield item

    def close(self) -> None:
        """Stop the producer and wait for it to close the generator."""
        self._stop.set()
        while True:  # unblock a producer waiting on a full queue
            try:
                self._queue.get_nowait()
            except queue.Empty:
                break
        self._thread.join(timeout=_JOIN_S)
