"""Group commit for single-event posts: concurrent requests share one transaction.

OpenLineage producers post one event per request (Airflow's provider does, from every task). A
transaction per event would cost a commit (and a WAL flush) each; instead, each request hands its
validated event to the process's :class:`WriteCombiner` for its database and waits for the result.
One writer thread takes every event queued at that moment, writes them with
:meth:`scrollintel.lineage.store.LineageStore.ingest` in one transaction and answers each request.
Under no load a batch is one event (no added latency); under load batches grow by themselves.

The answer a request gets is the same as with its own transaction: it is sent after the commit,
and an event the database refuses fails alone (the store retries the others one by one).
"""

from __future__ import annotations

import logging
import queue
import threading
from concurrent.futures import Future
from dataclasses import dataclass

from scrollintel.lineage.events import ValidEvent
from scrollintel.lineage.store import LineageStore, Stored

log = logging.getLogger(__name__)

#: Most events written in one transaction by the combiner.
MAX_BATCH = 500


@dataclass(frozen=True)
class _Pending:
    event: ValidEvent
    writer: str
    future: Future[Stored]


class WriteCombiner:
    """One writer thread per database URL, batching whatever is queued (see the module docstring)."""

    def __init__(self, url: str, *, max_batch: int = MAX_BATCH) -> None:
        self.store = LineageStore(url)
        self.max_batch = max_batch
        self._queue: queue.SimpleQueue[_Pending] = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._run, name="lineage-writer", daemon=True)
        self._thread.start()

    def submit(self, event: ValidEvent, writer: str) -> Future[Stored]:
        """Queue ``event``; the future resolves once it is committed (or raises the database error)."""
        future: Future[Stored] = Future()
        self._queue.put(_Pending(event, writer, future))
        return future

    def _run(self) -> None:
        while True:
            batch = [self._queue.get()]
            while len(batch) < self.max_batch:
                try:
                    batch.append(self._queue.get_nowait())
                except queue.Empty:
                    break
            self._write(batch)

    def _write(self, batch: list[_Pending]) -> None:
        try:
            results = self.store.ingest([item.event for item in batch], [item.writer for item in batch])
        except Exception as err:  # handed to every waiting request, which re-raises it: never lost
            log.warning("lineage: a group of %d events could not be written: %s", len(batch), type(err).__name__)
            for item in batch:
                item.future.set_exception(err)
            return
        for item, result in zip(batch, results, strict=True):
            item.future.set_result(result)


_combiners: dict[str, WriteCombiner] = {}
_lock = threading.Lock()


def combiner_for(url: str) -> WriteCombiner:
    """The process's combiner for the database at ``url`` (started on first use)."""
    with _lock:
        combiner = _combiners.get(url)
        if combiner is None:
            combiner = _combiners[url] = WriteCombiner(url)
        return combiner
