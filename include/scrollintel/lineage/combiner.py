"""Group commit for single-event posts: concurrent requests share one transaction.

OpenLineage producers post one event per request (Airflow's provider does, from every task). A
transaction per event would cost a commit (and a WAL flush) each; instead, each request hands its
validated event to the process's :class:`WriteCombiner` for its database and waits for the result.
One writer thread takes every event queued at that moment, writes them with
:meth:`scrollintel.lineage.store.LineageStore.ingest` in one transaction and answers each request.
Under no load a batch is one event (no added latency); under load batches grow by themselves.

Requests count themselves open while they are handled (:meth:`WriteCombiner.handling`). When more
requests are open than the writer has events, it waits for theirs, at most :data:`LINGER_SECONDS`,
as PostgreSQL's ``commit_delay`` waits when ``commit_siblings`` are active. Without it a busy
server writes about two events per transaction (the writer takes an event as soon as it is queued,
while the next request is still being validated), and a transaction costs the server and the
database several times what one more event in it does.

The answer a request gets is the same as with its own transaction: it is sent after the commit,
and an event the database refuses fails alone (the store retries the others one by one). Should
the store fail on a group for any other reason than the database being unusable, the writer
retries each event of the group alone, so only the event that causes it fails
(:class:`~scrollintel.lineage.errors.StoreFailure`); the happy path stays one write per group.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Iterator
from concurrent.futures import Future
from contextlib import contextmanager
from dataclasses import dataclass

from scrollintel.lineage.errors import StoreFailure
from scrollintel.lineage.openlineage_events import ValidEvent
from scrollintel.lineage.store import LineageStore, Stored

log = logging.getLogger(__name__)

#: Most events written in one transaction by the combiner.
MAX_BATCH = 500
#: Longest wait of the writer for the events of requests still being handled.
LINGER_SECONDS = 0.002


@dataclass(frozen=True)
class _Pending:
    event: ValidEvent
    writer: str
    future: Future[Stored]


class WriteCombiner:
    """One writer thread per database URL, batching whatever is queued (see the module docstring)."""

    def __init__(self, url: str, *, max_batch: int = MAX_BATCH, linger: float = LINGER_SECONDS) -> None:
        self.store = LineageStore(url)
        self.max_batch = max_batch
        self.linger = linger
        self._queue: queue.SimpleQueue[_Pending] = queue.SimpleQueue()
        self._open = 0
        self._open_lock = threading.Lock()
        self._thread = threading.Thread(target=self._run, name="lineage-writer", daemon=True)
        self._thread.start()

    def submit(self, event: ValidEvent, writer: str) -> Future[Stored]:
        """Queue ``event``; the future resolves once it is committed (or raises the database error)."""
        future: Future[Stored] = Future()
        self._queue.put(_Pending(event, writer, future))
        return future

    @contextmanager
    def handling(self) -> Iterator[None]:
        """Count a request open while it is handled (from before validation until it is answered)."""
        with self._open_lock:
            self._open += 1
        try:
            yield
        finally:
            with self._open_lock:
                self._open -= 1

    def _run(self) -> None:
        while True:
            self._write(self._next_batch())

    def _next_batch(self) -> list[_Pending]:
        """What is queued (waiting for the first event), and what open requests submit within the linger."""
        batch = [self._queue.get()]
        deadline = time.monotonic() + self.linger
        while len(batch) < self.max_batch:
            try:
                batch.append(self._queue.get_nowait())
                continue
            except queue.Empty:
                pass
            remaining = deadline - time.monotonic()
            if self._open <= len(batch) or remaining <= 0:
                break
            try:
                batch.append(self._queue.get(timeout=remaining))
            except queue.Empty:
                break
        return batch

    def _write(self, batch: list[_Pending]) -> None:
        try:
            results = self.store.ingest([item.event for item in batch], [item.writer for item in batch])
        except Exception as err:  # handed to the waiting requests, which answer it: never lost, never kills the thread
            if _is_database_error(err):  # the database cannot be used: every request of the group answers 503
                log.warning("lineage: a group of %d events could not be written: %s", len(batch), type(err).__name__)
                for item in batch:
                    item.future.set_exception(err)
            elif len(batch) > 1:  # one event's doing, most likely: find it, write the others
                log.warning(
                    "lineage: a group of %d events failed (%s); writing each alone", len(batch), type(err).__name__
                )
                for item in batch:
                    self._write([item])
            else:
                # The type only: an exception's text may quote the event (the traceback at debug level).
                log.error("lineage: the store failed on event %s: %s", batch[0].event.digest[:12], type(err).__name__)
                log.debug("lineage: the store's failure", exc_info=err)
                failure = StoreFailure(
                    f"the lineage store failed on this event ({type(err).__name__}); it is not stored"
                )
                batch[0].future.set_exception(failure)
            return
        for item, result in zip(batch, results, strict=True):
            item.future.set_result(result)


def _is_database_error(err: BaseException) -> bool:
    import psycopg

    return isinstance(err, psycopg.Error)


_combiners: dict[str, WriteCombiner] = {}
_lock = threading.Lock()


def combiner_for(url: str) -> WriteCombiner:
    """The process's combiner for the database at ``url`` (started on first use)."""
    with _lock:
        combiner = _combiners.get(url)
        if combiner is None:
            combiner = _combiners[url] = WriteCombiner(url)
        return combiner
