"""The durable outbox: events that could not be written to the ledger yet.

A local append-only JSON Lines file, ``<state>/audit-outbox/outbox.jsonl``. Each line is the
canonical JSON of one prepared event (already validated and stripped of personal data, with
its idempotency key), written under an exclusive ``flock`` and ``fsync``'ed before
``record()`` returns, so a crash loses nothing that was reported as queued.

Flushing (on the next successful ``record()`` in any process on this machine, by the
``audit_anchor`` DAG and by ``scrollintel audit flush-outbox``) appends every queued event,
in file order and before the new event, in one ledger transaction, then empties the file
under the same lock. A crash between the commit and the truncation is harmless: the
events' keys are already in the ledger and are skipped next time. A line that cannot be
parsed (e.g. torn by a crash mid-write) is moved to ``rejected-<time>.jsonl`` next to the
outbox, with a warning: kept for a human, never silently dropped.
"""

from __future__ import annotations

import fcntl
import json
import logging
import os
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import IO

from scrollintel.audit import settings
from scrollintel.audit.canonical import canonical_json
from scrollintel.audit.storage import NewEntry

log = logging.getLogger(__name__)

FILE_NAME = "outbox.jsonl"
LINE_VERSION = 1


def outbox_path() -> Path:
    """The outbox file of this machine."""
    return settings.outbox_dir() / FILE_NAME


def _encode(entry: NewEntry) -> str:
    return canonical_json(
        {
            "v": LINE_VERSION,
            "key": entry.event_key,
            "time_us": entry.time_us,
            "actor": entry.actor,
            "action": entry.action,
            "subject": entry.subject,
            "details": entry.details,
        },
        path="outbox line",
    )


def _decode(line: str) -> NewEntry:
    data = json.loads(line)
    if not isinstance(data, dict) or data.get("v") != LINE_VERSION:
        raise ValueError("not an outbox line of version 1")
    fields = {name: data[name] for name in ("time_us", "actor", "action", "subject", "details")}
    if not isinstance(fields["time_us"], int) or not all(
        isinstance(fields[name], str) for name in ("actor", "action", "subject", "details")
    ):
        raise ValueError("outbox line has fields of the wrong type")
    key = data.get("key")
    return NewEntry(event_key=key if isinstance(key, str) else None, **fields)


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


@contextmanager
def _locked(create: bool) -> Iterator[IO[str] | None]:
    path = outbox_path()
    if create:
        path.parent.mkdir(parents=True, exist_ok=True)
        new = not path.exists()
        handle = open(path, "a+", encoding="utf-8")  # noqa: SIM115 - closed below, after unlocking
        if new:
            path.chmod(0o600)
            _fsync_dir(path.parent)
    else:
        try:
            handle = open(path, "r+", encoding="utf-8")  # noqa: SIM115
        except FileNotFoundError:
            yield None
            return
    try:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
        yield handle
    finally:
        fcntl.flock(handle.fileno(), fcntl.LOCK_UN)
        handle.close()


def enqueue(entries: Sequence[NewEntry]) -> None:
    """Append entries to the outbox durably (fsync before returning)."""
    if not entries:
        return
    lines = "".join(_encode(entry) + "\n" for entry in entries)
    with _locked(create=True) as handle:
        assert handle is not None
        handle.seek(0, os.SEEK_END)
        handle.write(lines)
        handle.flush()
        os.fsync(handle.fileno())


def pending() -> bool:
    """True when the outbox holds events (one ``stat``: cheap enough for every ``record()``)."""
    try:
        return outbox_path().stat().st_size > 0
    except FileNotFoundError:
        return False


def _quarantine(lines: list[str]) -> Path:
    path = settings.outbox_dir() / f"rejected-{datetime.now(UTC):%Y%m%dT%H%M%S%fZ}.jsonl"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.writelines(line + "\n" for line in lines)
        handle.flush()
        os.fsync(handle.fileno())
    return path


def read_all() -> list[NewEntry]:
    """The queued events, in order (for inspection; does not lock out writers for long)."""
    with _locked(create=False) as handle:
        if handle is None:
            return []
        handle.seek(0)
        return [_decode(line) for line in handle.read().splitlines() if line.strip()]


@contextmanager
def draining() -> Iterator[list[NewEntry]]:
    """Hold the outbox lock and yield its events; empty the file if the block succeeds.

    Unparseable lines are moved to a ``rejected-*.jsonl`` file first. If the block raises,
    the outbox is left exactly as it was.
    """
    with _locked(create=False) as handle:
        if handle is None:
            yield []
            return
        handle.seek(0)
        good: list[NewEntry] = []
        bad: list[str] = []
        for line in handle.read().splitlines():
            if not line.strip():
                continue
            try:
                good.append(_decode(line))
            except (ValueError, KeyError, TypeError):
                bad.append(line)
        if bad:
            where = _quarantine(bad)
            handle.seek(0)
            handle.truncate()
            handle.write("".join(_encode(entry) + "\n" for entry in good))
            handle.flush()
            os.fsync(handle.fileno())
            log.warning("%d unreadable audit outbox line(s) moved to %s for inspection", len(bad), where)
        yield good
        handle.seek(0)
        handle.truncate()
        handle.flush()
        os.fsync(handle.fileno())
