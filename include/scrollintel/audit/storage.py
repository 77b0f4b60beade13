"""The ledger's tables: serialised appends, Merkle subtree hashes, proofs read from the database.

Appends
    One transaction per batch. ``pg_advisory_xact_lock(LOCK_KEY)`` serialises appenders, so
    the sequence number and ``prev_hash`` never fork; the lock is released with the commit or
    rollback. Inside the lock the appender reads the head (last <= 16 entry hashes) and the
    stored frontier of the Merkle tree, computes every entry hash and every newly completed
    subtree of >= 16 leaves, and hands the batch to ``governance.audit_append`` (migration 0008), a
    SECURITY DEFINER function that checks the chain and hashes again, stores the entries, computes
    and stores the Merkle nodes itself and notifies the anchorer; the runtime role may not INSERT
    into the ledger tables directly. Entries
    whose ``event_key`` is already present are skipped, which makes the outbox flush and the
    Airflow log import idempotent.

Reads
    Proofs and historical roots use :mod:`scrollintel.audit.merkle` with two indexed queries
    (stored nodes + at most 31 entry hashes). :func:`iter_rows` streams entries for verification
    with a server-side cursor.

All functions take an open psycopg connection; :func:`connection` hands out pooled ones.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from scrollintel import warehouse
from scrollintel.audit import merkle
from scrollintel.audit.canonical import GENESIS_HASH, entry_hash, from_time_us
from scrollintel.audit.errors import AuditError

if TYPE_CHECKING:
    from datetime import datetime

    import psycopg

ENTRY_TABLE = f"{warehouse.GOVERNANCE_SCHEMA}.audit_entry"
NODE_TABLE = f"{warehouse.GOVERNANCE_SCHEMA}.audit_tree_node"
#: Advisory lock serialising appends (any constant bigint; "audit" in hex-ish).
LOCK_KEY = 0x5C0A0D17_0001
#: Channel notified (on commit) after every append, with the new tree size: the anchorer listens.
NOTIFY_CHANNEL = "audit_ledger_appended"
ENTRY_COLUMNS = ("seq", "recorded_at", "actor", "action", "subject", "details", "prev_hash", "entry_hash", "event_key")
#: Time as microseconds, computed exactly by the server (extract(epoch) is numeric).
TIME_US_SQL = "(extract(epoch FROM recorded_at) * 1000000)::bigint"

WriteMethod = Literal["copy", "executemany"]
CONNECT_TIMEOUT_S = 5


class LedgerCorrupted(AuditError):
    """The stored ledger is inconsistent (e.g. a Merkle node is missing); run ``scrollintel audit verify``."""


@dataclass(frozen=True)
class NewEntry:
    """An event ready to append: validated, redacted, details already canonical JSON."""

    time_us: int
    actor: str
    action: str
    subject: str
    details: str
    event_key: str | None = None


@dataclass(frozen=True)
class StoredEntry:
    """An entry as stored (``seq`` is its leaf index)."""

    seq: int
    time_us: int
    actor: str
    action: str
    subject: str
    details: str
    prev_hash: bytes
    entry_hash: bytes

    def recomputed_hash(self) -> bytes:
        """The hash this entry's fields should have."""
        return entry_hash(self.seq, self.time_us, self.actor, self.action, self.subject, self.details, self.prev_hash)


@dataclass(frozen=True)
class AppendResult:
    """What one append did: the seq of every input (the existing one for a duplicate key)."""

    seqs: list[int]
    new: list[bool]
    appended: int
    skipped: int
    size: int


# -- connections -----------------------------------------------------------------------------

#: One small pool per process. A dead pooled connection raises OperationalError, is discarded,
#: and writers retry once (see writer.write); an unreachable ledger must not hang the business
#: task that records an event (connect timeout).
POOL = warehouse.Pool(name="audit", size=2, connect_timeout_s=CONNECT_TIMEOUT_S)


@contextmanager
def connection(url: str) -> Iterator[psycopg.Connection[Any]]:
    """A pooled psycopg connection to the ledger database, idle (no open transaction)."""
    with warehouse.pooled_connection(url, POOL) as conn:
        yield conn


def dispose_engines() -> None:
    """Close the ledger's pooled connections of this process (tests, after a server restart)."""
    warehouse.dispose_engines(POOL.name)


# -- head and frontier -----------------------------------------------------------------------


def ledger_size(conn: psycopg.Connection) -> int:
    """Number of entries (the tree size): last seq + 1."""
    row = conn.execute(f"SELECT max(seq) FROM {ENTRY_TABLE}").fetchone()
    return 0 if row is None or row[0] is None else int(row[0]) + 1


def entry_hashes(conn: psycopg.Connection, seqs: Sequence[int]) -> dict[int, bytes]:
    """``seq -> entry_hash`` for the given seqs (missing seqs are absent)."""
    if not seqs:
        return {}
    rows = conn.execute(
        f"SELECT seq, entry_hash FROM {ENTRY_TABLE} WHERE seq = ANY(%s)", (list(seqs),), binary=True
    ).fetchall()
    return {int(seq): bytes(digest) for seq, digest in rows}


def stored_nodes(conn: psycopg.Connection, keys: Sequence[tuple[int, int]]) -> dict[tuple[int, int], bytes]:
    """Stored complete-subtree hashes for ``(level, index)`` keys (missing ones are absent)."""
    if not keys:
        return {}
    rows = conn.execute(
        f"SELECT n.level, n.idx, n.hash FROM {NODE_TABLE} n "
        "JOIN unnest(%s::int2[], %s::int8[]) AS k(level, idx) ON n.level = k.level AND n.idx = k.idx",
        ([k[0] for k in keys], [k[1] for k in keys]),
        binary=True,
    ).fetchall()
    return {(int(level), int(idx)): bytes(digest) for level, idx, digest in rows}


def node_hashes(conn: psycopg.Connection, keys: Sequence[tuple[int, int]]) -> dict[tuple[int, int], bytes]:
    """Hashes of complete subtrees: stored ones from the node table, small ones from entry hashes."""
    keys = list(dict.fromkeys(keys))
    high = [k for k in keys if k[0] >= merkle.STORED_MIN_LEVEL]
    low = [k for k in keys if k[0] < merkle.STORED_MIN_LEVEL]
    found = stored_nodes(conn, high)
    missing = [k for k in high if k not in found]
    if missing:
        raise LedgerCorrupted(
            f"stored Merkle node(s) missing: {missing[:5]} (level, index); run `scrollintel audit verify`"
        )
    seqs = sorted({seq for level, idx in low for seq in range(idx << level, (idx + 1) << level)})
    leaves = entry_hashes(conn, seqs)
    if len(leaves) != len(seqs):
        raise LedgerCorrupted("entries missing below a proof node; run `scrollintel audit verify`")
    for level, idx in low:
        found[(level, idx)] = merkle.subtree_from_leaves([leaves[s] for s in range(idx << level, (idx + 1) << level)])
    return found


def _lookup(nodes: dict[tuple[int, int], bytes]) -> merkle.NodeLookup:
    return lambda level, index: nodes[(level, index)]


def root_at(conn: psycopg.Connection, size: int) -> bytes:
    """``MTH`` of the first ``size`` entries, from stored nodes (no full scan)."""
    if size == 0:
        return merkle.EMPTY_ROOT
    parts = merkle.decompose(0, size)
    return merkle.fold([node_hashes(conn, parts)[part] for part in parts])


def load_frontier(conn: psycopg.Connection) -> tuple[merkle.CompactRange, bytes]:
    """The tree's frontier and the last entry hash (``GENESIS_HASH`` when empty)."""
    tail = conn.execute(
        f"SELECT seq, entry_hash FROM {ENTRY_TABLE} ORDER BY seq DESC LIMIT %s",
        (1 << merkle.STORED_MIN_LEVEL,),
        binary=True,
    ).fetchall()
    if not tail:
        return merkle.CompactRange(), GENESIS_HASH
    size = int(tail[0][0]) + 1
    last_hash = bytes(tail[0][1])
    by_seq = {int(seq): bytes(digest) for seq, digest in tail}
    parts = merkle.CompactRange.parts(size)
    high = [p for p in parts if p[0] >= merkle.STORED_MIN_LEVEL]
    nodes = stored_nodes(conn, high)
    hashes: list[bytes] = []
    for level, idx in parts:
        if level >= merkle.STORED_MIN_LEVEL:
            if (level, idx) not in nodes:
                raise LedgerCorrupted(f"stored Merkle node ({level}, {idx}) is missing; run `scrollintel audit verify`")
            hashes.append(nodes[(level, idx)])
        else:
            span = range(idx << level, (idx + 1) << level)
            if any(s not in by_seq for s in span):
                raise LedgerCorrupted(f"entries {span.start}..{span.stop - 1} are missing; run verify")
            hashes.append(merkle.subtree_from_leaves([by_seq[s] for s in span]))
    return merkle.CompactRange(size, hashes), last_hash


# -- append ----------------------------------------------------------------------------------


def lock(conn: psycopg.Connection) -> None:
    """Take the ledger's append lock until the end of the current transaction."""
    conn.execute("SELECT pg_advisory_xact_lock(%s)", (LOCK_KEY,))


def _existing_keys(conn: psycopg.Connection, keys: Sequence[str]) -> dict[str, int]:
    if not keys:
        return {}
    rows = conn.execute(f"SELECT event_key, seq FROM {ENTRY_TABLE} WHERE event_key = ANY(%s)", (list(keys),)).fetchall()
    return {str(key): int(seq) for key, seq in rows}


def append_entries(
    conn: psycopg.Connection,
    entries: Sequence[NewEntry],
    *,
    method: WriteMethod = "copy",
    unseen_keys: frozenset[str] | set[str] = frozenset(),
) -> AppendResult:
    """Append ``entries`` in order; call inside a transaction (the caller commits).

    Takes the append lock, skips entries whose ``event_key`` is already stored (or repeated
    in the batch), chains and hashes the rest, and writes entries and new Merkle nodes.
    ``unseen_keys`` are keys the caller just generated: they are not looked up.
    """
    if not entries:
        return AppendResult(seqs=[], new=[], appended=0, skipped=0, size=ledger_size(conn))
    lock(conn)
    keys = [e.event_key for e in entries if e.event_key is not None and e.event_key not in unseen_keys]
    known = _existing_keys(conn, keys)
    compact, prev = load_frontier(conn)
    size_before = compact.size
    rows: list[tuple[object, ...]] = []
    nodes: list[tuple[int, int, bytes]] = []
    seqs: list[int] = []
    new: list[bool] = []
    for entry in entries:
        if entry.event_key is not None and entry.event_key in known:
            seqs.append(known[entry.event_key])
            new.append(False)
            continue
        seq = compact.size
        digest = entry_hash(seq, entry.time_us, entry.actor, entry.action, entry.subject, entry.details, prev)
        rows.append(
            (
                seq,
                from_time_us(entry.time_us),
                entry.actor,
                entry.action,
                entry.subject,
                entry.details,
                prev,
                digest,
                entry.event_key,
            )
        )
        nodes.extend(n for n in compact.append(digest) if n[0] >= merkle.STORED_MIN_LEVEL)
        if entry.event_key is not None:
            known[entry.event_key] = seq
        seqs.append(seq)
        new.append(True)
        prev = digest
    # The writer function notifies NOTIFY_CHANNEL, delivered at commit: it wakes the anchorer.
    _write(conn, rows, nodes, method)
    return AppendResult(
        seqs=seqs, new=new, appended=len(rows), skipped=len(entries) - len(rows), size=size_before + len(rows)
    )


#: The ledger's writer function (migration 0008): SECURITY DEFINER, the runtime role's only way in.
APPEND_SQL = (
    "SELECT governance.audit_append(%b::bigint[], %b::timestamptz[], %b::text[], %b::text[], %b::text[], "
    "%b::text[], %b::bytea[], %b::bytea[], %b::text[])"
)


def _write(
    conn: psycopg.Connection, rows: list[tuple[object, ...]], nodes: list[tuple[int, int, bytes]], method: WriteMethod
) -> None:
    """Hand the batch to ``governance.audit_append``, which checks it and stores entries and Merkle nodes.

    The database recomputes every entry hash, the chain and the new Merkle nodes itself and refuses a
    batch that does not extend the ledger, so ``nodes`` (computed here too) are not sent, and ``method``
    no longer changes how rows travel (one call with nine arrays; kept for callers and benchmarks).
    """
    del nodes, method
    if not rows:
        return
    columns = [list(column) for column in zip(*rows, strict=True)]
    conn.execute(APPEND_SQL, columns)


# -- reads -----------------------------------------------------------------------------------

ROW_SQL = f"SELECT seq, {TIME_US_SQL}, actor, action, subject, details, prev_hash, entry_hash FROM {ENTRY_TABLE}"


def appended_at(conn: psycopg.Connection, seq: int) -> datetime | None:
    """When entry ``seq`` reached the database, or None when there is no such entry."""
    row = conn.execute(f"SELECT appended_at FROM {ENTRY_TABLE} WHERE seq = %s", (seq,)).fetchone()
    return None if row is None else row[0]  # type: ignore[no-any-return]


def get_entry(conn: psycopg.Connection, seq: int) -> StoredEntry | None:
    """One stored entry, or None."""
    row = conn.execute(ROW_SQL + " WHERE seq = %s", (seq,), binary=True).fetchone()
    return None if row is None else _stored(row)


def _stored(row: Sequence[object]) -> StoredEntry:
    seq, time_us, actor, action, subject, details, prev, digest = row
    return StoredEntry(
        int(seq),  # type: ignore[call-overload]
        int(time_us),  # type: ignore[call-overload]
        str(actor),
        str(action),
        str(subject),
        str(details),
        bytes(prev),  # type: ignore[call-overload]
        bytes(digest),  # type: ignore[call-overload]
    )


def _row_chunks(conn: psycopg.Connection, start: int, batch: int) -> Iterator[list[Any]]:
    with conn.cursor(name="audit_verify_rows", binary=True) as cur:
        cur.itersize = batch
        cur.execute(ROW_SQL + " WHERE seq >= %s ORDER BY seq", (start,))
        while chunk := cur.fetchmany(batch):
            yield chunk


def iter_rows(
    conn: psycopg.Connection, *, start: int = 0, batch: int = 20_000, prefetch: bool = True
) -> Iterator[tuple[int, int, str, str, str, str, bytes, bytes]]:
    """Stream ``(seq, time_us, actor, action, subject, details, prev_hash, entry_hash)`` by seq.

    Uses a server-side cursor, so call it inside a transaction (or it opens one). With
    ``prefetch`` a helper thread fetches the next batch while the caller works on this one
    (the server and the client overlap: ~25% faster verification on two cores); the
    connection must not be used by anyone else until the iterator is exhausted or closed.
    """
    if not prefetch:
        for chunk in _row_chunks(conn, start, batch):
            yield from chunk
        return
    import queue
    import threading

    import psycopg

    done = object()
    chunks: queue.Queue[Any] = queue.Queue(maxsize=2)
    stop = threading.Event()
    outcome: dict[str, Any] = {"complete": False, "error": None}

    def hand_over(item: object) -> None:
        while not stop.is_set():
            try:
                chunks.put(item, timeout=0.1)
                return
            except queue.Full:
                continue

    def produce() -> None:
        try:
            for chunk in _row_chunks(conn, start, batch):
                hand_over(chunk)
                if stop.is_set():
                    return
            outcome["complete"] = True
        except psycopg.Error as err:
            outcome["error"] = err
        finally:
            hand_over(done)

    worker = threading.Thread(target=produce, name="audit-row-prefetch", daemon=True)
    worker.start()
    try:
        while (item := chunks.get()) is not done:
            yield from item
        if outcome["error"] is not None:
            raise outcome["error"]
        if not outcome["complete"]:
            # Never let a reader that died mid-way look like a shorter (truncated) ledger.
            raise AuditError("reading the ledger stopped before its end; see the log for the reader's error")
    finally:
        stop.set()
        worker.join()


def all_stored_nodes(conn: psycopg.Connection) -> dict[tuple[int, int], bytes]:
    """Every stored complete-subtree hash (about n/8 rows)."""
    with conn.cursor(binary=True) as cur:
        cur.execute(f"SELECT level, idx, hash FROM {NODE_TABLE}")
        return {(int(level), int(idx)): bytes(digest) for level, idx, digest in cur}


# -- proofs ----------------------------------------------------------------------------------


def inclusion_proof(conn: psycopg.Connection, index: int, size: int) -> list[bytes]:
    """RFC 9162 inclusion path of entry ``index`` in the tree of the first ``size`` entries."""
    ranges = merkle.inclusion_ranges(index, size)
    nodes = node_hashes(conn, merkle.needed_nodes(ranges))
    return merkle.resolve(ranges, _lookup(nodes))


def consistency_proof(conn: psycopg.Connection, old_size: int, new_size: int) -> list[bytes]:
    """RFC 9162 consistency proof between the trees of the first ``old_size`` and ``new_size`` entries."""
    ranges = merkle.consistency_ranges(old_size, new_size)
    nodes = node_hashes(conn, merkle.needed_nodes(ranges))
    return merkle.resolve(ranges, _lookup(nodes))
