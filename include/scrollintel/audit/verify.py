"""Verification: is the ledger exactly what was appended, and what was anchored?

One streaming pass over the entries in ``seq`` order checks, for entry ``p``:

1. its ``seq`` is ``p`` (a gap means entries were **deleted**);
2. its stored ``entry_hash`` is the hash of its fields (else it was **edited**; when the hash
   matches with ``seq`` ``p+1`` or ``p-1`` instead, entries were **deleted**, **inserted** or
   **reordered** and renumbered, told apart by looking at the next entry);
3. its ``prev_hash`` is the previous entry's hash (a forged entry **inserted** with a valid
   hash of its own, or the previous entry **edited** and re-hashed);
4. every complete Merkle subtree it completes matches the stored node hash (proofs are served
   from those), and every anchored tree size it reaches has the anchored root.

Then the newest anchor must not be larger than the ledger (**truncated**). A ledger rewritten
consistently from some entry on (chain, hashes and nodes recomputed) is invisible to checks 1-4:
only an anchor shows it (**rewritten**), located between the last anchor that still matches
and the first that does not, or more precisely at the first stored subtree that no longer
matches when the rewriter left those alone. Without any anchor, truncation and a full rewrite
are undetectable — which is why anchors exist; the report says so.

The report names the *first* bad index (0-based ``seq``) and the kind. Stored nodes that
disagree with entries an anchor vouches for are reported as kind ``tree``; untrusted or
malformed anchors as kind ``anchor``.
"""

from __future__ import annotations

import logging
import struct
import time
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from hashlib import sha256
from typing import TYPE_CHECKING, Any

from scrollintel.audit import merkle
from scrollintel.audit.canonical import ENTRY_TAG, GENESIS_HASH
from scrollintel.audit.errors import AnchorError, LedgerTampered, SigningKeyError

if TYPE_CHECKING:
    from datetime import datetime

    import psycopg

    from scrollintel.audit.anchor import AnchorStore, TreeHead

log = logging.getLogger(__name__)

EDITED = "edited"
DELETED = "deleted"
INSERTED = "inserted"
REORDERED = "reordered"
TRUNCATED = "truncated"
REWRITTEN = "rewritten"
TREE = "tree"
ANCHOR = "anchor"
KINDS = (EDITED, DELETED, INSERTED, REORDERED, TRUNCATED, REWRITTEN, TREE, ANCHOR)

#: (seq, time_us, actor, action, subject, details, prev_hash, entry_hash)
Row = tuple[int, int, str, str, str, str, bytes, bytes]

_HEAD = struct.Struct(">Qq")
_LEN = struct.Struct(">I")


@dataclass(frozen=True)
class Problem:
    """What is wrong and the first index it affects."""

    kind: str
    index: int
    message: str


@dataclass(frozen=True)
class AnchorPoint:
    """A trusted tree head reduced to what verification compares."""

    tree_size: int
    root_hash: bytes
    timestamp: str
    source: str


@dataclass
class VerificationReport:
    """The outcome of one verification."""

    ok: bool
    size: int
    kind: str | None = None
    index: int | None = None
    message: str = ""
    anchored: bool = False
    anchor_size: int | None = None
    anchor_time: str | None = None
    anchors_checked: int = 0
    nodes_checked: int = 0
    duration_ms: float = 0.0
    notes: list[str] = field(default_factory=list)
    #: Entries after the newest trusted signed tree head (None when anchors were not used).
    uncovered: int | None = None
    #: When the oldest of them reached the database (ISO 8601, UTC), None when there is none.
    uncovered_since: str | None = None

    def coverage(self) -> str:
        """``N entries not yet covered by a signed tree head, the oldest appended at T`` (0 when covered)."""
        if self.uncovered is None:
            return "coverage by signed tree heads not checked (anchors not used)"
        if self.uncovered == 0:
            return "0 entries not yet covered by a signed tree head"
        noun = "entry" if self.uncovered == 1 else "entries"
        oldest = self.uncovered_since
        return f"{self.uncovered} {noun} not yet covered by a signed tree head, the oldest appended at {oldest}"

    def summary(self) -> str:
        """One line for logs, the CLI and the DAG."""
        if not self.ok:
            return f"FAILED at index {self.index} ({self.kind}): {self.message}"
        anchor = (
            f"matches the tree head of size {self.anchor_size} signed {self.anchor_time}"
            if self.anchored
            else "NOT anchored: truncation or a full rewrite would not be detected"
        )
        return f"OK: {self.size} entries, chain and Merkle tree verified; {anchor}"

    def as_dict(self) -> dict[str, Any]:
        """The report as plain data (for ``--json`` and XCom)."""
        return asdict(self)

    def raise_for_problem(self) -> None:
        """Raise :class:`LedgerTampered` when verification failed (for gates: DAG, CLI)."""
        if not self.ok:
            raise LedgerTampered(f"audit ledger verification {self.summary()}")


def _hash(seq: int, row: Row) -> bytes:
    a = row[2].encode()
    b = row[3].encode()
    c = row[4].encode()
    d = row[5].encode()
    return sha256(
        b"".join(
            (
                ENTRY_TAG,
                _HEAD.pack(seq, row[1]),
                _LEN.pack(len(a)),
                a,
                _LEN.pack(len(b)),
                b,
                _LEN.pack(len(c)),
                c,
                _LEN.pack(len(d)),
                d,
                row[6],
            )
        )
    ).digest()


def _hash_matches(seq: int, row: Row | None) -> bool:
    return row is not None and seq >= 0 and _hash(seq, row) == row[7]


def _classify_bad_hash(p: int, row: Row, following: Row | None) -> Problem:
    """Entry ``p`` does not hash to its stored hash: edited, or moved (deleted/inserted/reordered)."""
    if _hash_matches(p + 1, row):
        if _hash_matches(p, following):
            return Problem(REORDERED, p, f"entries {p} and {p + 1} were swapped (each hashes at the other's position)")
        return Problem(DELETED, p, f"entry {p} was deleted and the entries after it renumbered")
    if _hash_matches(p - 1, row):
        return Problem(INSERTED, p - 1, f"an entry was inserted at {p - 1}: entry {p} hashes at position {p - 1}")
    if _hash_matches(p, following):
        return Problem(INSERTED, p, f"an entry was inserted at {p}: the next entry hashes at position {p}")
    return Problem(EDITED, p, f"entry {p} was edited: its fields no longer hash to its stored entry_hash")


def _classify_bad_link(p: int, following: Row | None) -> Problem:
    """Entry ``p`` hashes correctly but does not chain to entry ``p-1``."""
    if _hash_matches(p, following):
        return Problem(INSERTED, p, f"an entry was inserted at {p}: the next entry hashes at position {p}")
    return Problem(
        EDITED,
        p - 1,
        f"entry {p - 1} was edited and re-hashed: entry {p} chains to a different hash",
    )


@dataclass
class _Pass:
    """Result of the streaming pass."""

    size: int = 0
    chain: Problem | None = None
    node_problem: tuple[int, int, str] | None = None  # (start, level, what)
    anchor_mismatch: tuple[int, AnchorPoint] | None = None  # (last good size, bad anchor)
    matched: AnchorPoint | None = None
    anchors_checked: int = 0
    nodes_checked: int = 0
    extra_nodes: list[tuple[int, int]] = field(default_factory=list)


class _Scanner:
    """State of the streaming pass: the growing tree, the pending stored nodes and anchors."""

    def __init__(self, nodes: Mapping[tuple[int, int], bytes] | None, anchors: Sequence[AnchorPoint]) -> None:
        self.result = _Pass()
        self.pending_nodes = dict(nodes or {})
        self.points = sorted(anchors, key=lambda a: a.tree_size)
        self.next_anchor = 0
        self.last_good = 0
        self.compact = merkle.CompactRange()

    def anchors_hold(self, size: int) -> bool:
        """Compare every anchor of ``size`` with the current root; False at the first mismatch."""
        result = self.result
        root = None
        while self.next_anchor < len(self.points) and self.points[self.next_anchor].tree_size == size:
            point = self.points[self.next_anchor]
            self.next_anchor += 1
            result.anchors_checked += 1
            root = root if root is not None else self.compact.root()
            if root != point.root_hash:
                result.anchor_mismatch = (self.last_good, point)
                return False
            self.last_good = size
            result.matched = point
        return True

    def check_nodes(self, completed: list[tuple[int, int, bytes]]) -> None:
        """Compare the complete subtrees a leaf finished with the stored nodes."""
        result = self.result
        for level, idx, node in completed:
            if level < merkle.STORED_MIN_LEVEL:
                continue
            stored = self.pending_nodes.pop((level, idx), None)
            result.nodes_checked += 1
            if result.node_problem is None and stored != node:
                result.node_problem = (idx << level, level, "missing" if stored is None else "different")

    def anchor_due(self, size: int) -> bool:
        """True when an anchor of exactly ``size`` entries is next to compare."""
        return self.next_anchor < len(self.points) and self.points[self.next_anchor].tree_size == size


def check_rows(
    rows: Iterable[Row],
    *,
    nodes: Mapping[tuple[int, int], bytes] | None = None,
    anchors: Sequence[AnchorPoint] = (),
) -> _Pass:
    """The streaming pass over ``rows`` (sorted by seq); stops at the first chain problem."""
    scan = _Scanner(nodes, anchors)
    result = scan.result
    if not scan.anchors_hold(0):
        return result
    iterator: Iterator[Row] = iter(rows)
    following = next(iterator, None)
    prev = GENESIS_HASH
    append = scan.compact.append
    min_level = merkle.STORED_MIN_LEVEL
    p = 0
    while following is not None:
        row = following
        following = next(iterator, None)
        if row[0] != p:
            result.chain = Problem(DELETED, p, f"entries {p}..{row[0] - 1} are missing (deleted)")
            break
        if _hash(p, row) != row[7]:
            result.chain = _classify_bad_hash(p, row, following)
            break
        if row[6] != prev:
            result.chain = _classify_bad_link(p, following)
            break
        prev = row[7]
        completed = append(prev)
        if completed and completed[-1][0] >= min_level:
            scan.check_nodes(completed)
        p += 1
        if scan.anchor_due(p) and not scan.anchors_hold(p):
            break
    result.size = p
    if result.chain is None and result.anchor_mismatch is None:
        result.extra_nodes = sorted(scan.pending_nodes)
    return result


def _decide(scan: _Pass, size: int, anchors: Sequence[AnchorPoint]) -> Problem | None:
    """The first problem by index (ties: the more specific kind)."""
    if scan.chain is not None:
        return scan.chain
    candidates: list[Problem] = []
    if scan.anchor_mismatch is not None:
        last_good, bad = scan.anchor_mismatch
        index = last_good
        if scan.node_problem is not None and last_good <= scan.node_problem[0] < bad.tree_size:
            index = scan.node_problem[0]
        candidates.append(
            Problem(
                REWRITTEN,
                index,
                f"entries from {index} on were rewritten: the first {bad.tree_size} entries no longer have the root "
                f"signed {bad.timestamp} ({bad.source}); the tree head of size {last_good} still matches",
            )
        )
    if scan.node_problem is not None:
        start, level, what = scan.node_problem
        end = start + (1 << level)
        vouched = scan.matched is not None and scan.matched.tree_size >= end
        if vouched:
            message = (
                f"stored Merkle node (level {level}, leaves {start}..{end - 1}) is {what}, while the entries match "
                "an anchor: the node table was altered and proofs from it would be wrong"
            )
            candidates.append(Problem(TREE, start, message))
        else:
            message = (
                f"entries {start}..{end - 1} no longer match their stored Merkle node ({what}): rewritten with a "
                "consistent chain, or the node was altered (no anchor covers them yet)"
            )
            candidates.append(Problem(REWRITTEN, start, message))
    biggest = max(anchors, key=lambda a: a.tree_size, default=None)
    complete = scan.anchor_mismatch is None
    if complete and biggest is not None and biggest.tree_size > size:
        candidates.append(
            Problem(
                TRUNCATED,
                size,
                f"the ledger has {size} entries but {biggest.tree_size} were anchored on {biggest.timestamp} "
                f"({biggest.source}): entries {size}..{biggest.tree_size - 1} were removed",
            )
        )
    if complete and scan.extra_nodes:
        level, idx = scan.extra_nodes[0]
        candidates.append(
            Problem(
                TRUNCATED,
                size,
                f"stored Merkle nodes cover entries beyond the last one ({size}): entries were removed "
                f"from the end (first extra node: level {level}, index {idx})",
            )
        )
    if not candidates:
        return None
    order = {kind: rank for rank, kind in enumerate(KINDS)}
    return min(candidates, key=lambda p: (p.index, order[p.kind]))


def verify_rows(
    rows: Iterable[Row],
    *,
    nodes: Mapping[tuple[int, int], bytes] | None = None,
    anchors: Sequence[AnchorPoint] = (),
    total: int | None = None,
) -> VerificationReport:
    """Verify in-memory or streamed rows against stored nodes and trusted anchors.

    ``total`` is the ledger's size for the report when the pass may stop early (default: rows read).
    """
    started = time.perf_counter()
    scan = check_rows(rows, nodes=nodes, anchors=anchors)
    problem = _decide(scan, scan.size, anchors)
    latest = max(anchors, key=lambda a: a.tree_size, default=None)
    report = VerificationReport(
        ok=problem is None,
        size=scan.size if total is None else total,
        kind=problem.kind if problem else None,
        index=problem.index if problem else None,
        message=problem.message if problem else "",
        anchored=latest is not None and problem is None,
        anchor_size=latest.tree_size if latest else None,
        anchor_time=latest.timestamp if latest else None,
        anchors_checked=scan.anchors_checked,
        nodes_checked=scan.nodes_checked,
    )
    if problem is None:
        report.message = report.summary()
    report.duration_ms = round((time.perf_counter() - started) * 1000, 1)
    return report


# -- against the database and the anchor store -------------------------------------------------


def _trusted_anchor_points(
    conn: psycopg.Connection, store: AnchorStore | None, trusted: Mapping[str, Any] | None
) -> tuple[list[AnchorPoint], list[Problem], list[str]]:
    """Anchors from the store (authoritative: the newest) and the database index, signature-checked.

    Returns the trusted points, the problems of the store (which fail verification) and notes on
    rows of the database index that were ignored: the index is a convenience copy that only the
    writer function fills, and a row without a trusted signature vouches for nothing, so a forged
    or malformed row must not make every verification fail.
    """
    from scrollintel.audit.anchor import TreeHead

    heads: list[tuple[TreeHead, str, bool]] = []
    problems: list[Problem] = []
    ignored: list[str] = []
    if store is not None:
        try:
            newest = store.latest()
        except AnchorError as err:
            problems.append(Problem(ANCHOR, 0, f"cannot read the anchor store {store.describe()}: {err}"))
            newest = None
        if newest is not None:
            heads.append((newest, store.describe(), True))
    for document, location in conn.execute(
        "SELECT document, location FROM governance.audit_anchor ORDER BY tree_size, id"
    ).fetchall():
        try:
            heads.append((TreeHead.from_document(document, location), location, False))
        except AnchorError as err:
            ignored.append(f"ignored an anchor index row: {err}")
    points: dict[tuple[int, bytes, str], AnchorPoint] = {}
    for head, source, from_store in heads:
        if trusted is not None:
            why = head.verify_signature(trusted)
            if why and from_store:
                problems.append(Problem(ANCHOR, head.tree_size, f"tree head {source}: {why}"))
                continue
            if why:
                ignored.append(f"ignored the anchor index row of size {head.tree_size} ({source}): {why}")
                continue
        points.setdefault(
            (head.tree_size, head.root_hash, head.timestamp),
            AnchorPoint(head.tree_size, head.root_hash, head.timestamp, source),
        )
    return list(points.values()), problems, ignored


def verify_connection(
    conn: psycopg.Connection,
    *,
    store: AnchorStore | None = None,
    trusted: Mapping[str, Any] | None = None,
    use_anchors: bool = True,
) -> VerificationReport:
    """Verify the ledger visible on ``conn`` (inside the caller's transaction, if any)."""
    from scrollintel.audit import storage

    started = time.perf_counter()
    anchors: list[AnchorPoint] = []
    anchor_problems: list[Problem] = []
    ignored: list[str] = []
    if use_anchors:
        anchors, anchor_problems, ignored = _trusted_anchor_points(conn, store, trusted)
    nodes = storage.all_stored_nodes(conn)
    total = storage.ledger_size(conn)
    report = verify_rows(storage.iter_rows(conn), nodes=nodes, anchors=anchors, total=total)
    if report.ok and anchor_problems:
        first = anchor_problems[0]
        report.ok, report.kind, report.index, report.message = False, first.kind, first.index, first.message
        report.anchored = False
    if report.ok and not report.anchored:
        report.notes.append("no anchor yet: run `scrollintel audit anchor` so truncation and rewrites are detectable")
    report.notes.extend(ignored[:5])
    if use_anchors:
        _add_coverage(conn, report, anchors)
    report.duration_ms = round((time.perf_counter() - started) * 1000, 1)
    return report


def _add_coverage(conn: psycopg.Connection, report: VerificationReport, anchors: Sequence[AnchorPoint]) -> None:
    """How many entries no trusted signed head covers yet, and since when (the unanchored tail)."""
    from scrollintel.audit import storage
    from scrollintel.audit.canonical import iso_time, to_time_us

    covered = max((a.tree_size for a in anchors), default=0)
    report.uncovered = max(0, report.size - covered)
    if report.uncovered:
        oldest = storage.appended_at(conn, covered)
        report.uncovered_since = iso_time(to_time_us(oldest)) if oldest is not None else None


def verify_ledger(
    url: str | None = None,
    *,
    store: AnchorStore | None = None,
    use_anchors: bool = True,
    record_result: bool = True,
) -> VerificationReport:
    """Verify the ledger in one consistent snapshot; store the result for the Audit page."""
    from scrollintel.audit import settings, storage
    from scrollintel.audit.anchor import default_store
    from scrollintel.audit.signing import trusted_public_keys

    url = url or settings.ledger_url()
    trusted: Mapping[str, Any] | None = None
    if use_anchors:
        try:
            trusted = trusted_public_keys()
        except SigningKeyError as err:
            # No key configured yet: any anchor found is reported as untrusted; none is fine.
            log.warning("no trusted audit signing key: %s", err)
            trusted = {}
    if use_anchors and store is None:
        store = default_store()
    with storage.connection(url) as conn:
        with conn.transaction():
            conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
            report = verify_connection(conn, store=store, trusted=trusted, use_anchors=use_anchors)
        if record_result:
            save_report(conn, report)
    level = logging.INFO if report.ok else logging.ERROR
    log.log(level, "audit ledger verification %s", report.summary())
    return report


VERIFICATION_LOG = "scrollintel-audit-verification"


def verification_document(report: VerificationReport, verified_at: datetime) -> str:
    """The canonical JSON of a result as stored and signed; the Audit page shows only what it says."""
    from scrollintel.audit.canonical import canonical_json, iso_time, parse_iso_time, to_time_us

    anchored_at = iso_time(to_time_us(parse_iso_time(report.anchor_time))) if report.anchor_time else None
    return canonical_json(
        {
            "anchor_size": report.anchor_size,
            "anchored_at": anchored_at,
            "bad_index": report.index,
            "duration_ms": report.duration_ms,
            "kind": report.kind,
            "log": VERIFICATION_LOG,
            "message": report.message[:2000],
            "ok": report.ok,
            "tree_size": report.size,
            "verified_at": iso_time(to_time_us(verified_at)),
            "version": 1,
        }
    )


def trusted_verification(
    document: str | None, signature: bytes | None, key_id: str | None, trusted: Mapping[str, Any]
) -> dict[str, Any] | None:
    """The fields of a stored result when its document is signed by a trusted key, else None."""
    import json

    from cryptography.exceptions import InvalidSignature

    public = trusted.get(key_id or "")
    if document is None or signature is None or public is None:
        return None
    try:
        public.verify(bytes(signature), document.encode())
    except InvalidSignature:
        return None
    data = json.loads(document)
    if not isinstance(data, dict) or data.get("log") != VERIFICATION_LOG or data.get("version") != 1:
        return None
    return data


def save_report(conn: psycopg.Connection, report: VerificationReport) -> None:
    """Store the result, signed, through ``governance.audit_add_verification`` (for the Audit page).

    Signed with the configured signing key when there is one; the page shows only signed results,
    so a row inserted by anyone else (even a superuser) cannot turn it green. Without a key the
    result is stored unsigned, with a warning.
    """
    from datetime import UTC, datetime

    from scrollintel.audit.canonical import parse_iso_time
    from scrollintel.audit.signing import configured_signing_key

    verified_at = datetime.now(UTC)
    document = verification_document(report, verified_at)
    try:
        key = configured_signing_key()
    except SigningKeyError as err:
        log.warning("verification result stored unsigned (the Audit page will not show it): %s", err)
        key = None
    if key is None:
        log.warning("verification result stored unsigned: no signing key configured; the Audit page ignores it")
    signature = key.sign(document.encode()) if key is not None else None
    anchored_at = parse_iso_time(report.anchor_time) if report.anchor_time else None
    with conn.transaction():
        conn.execute(
            "SELECT governance.audit_add_verification(%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
            (
                verified_at,
                report.ok,
                report.size,
                report.kind,
                report.index,
                report.message[:2000],
                report.anchor_size,
                anchored_at,
                report.duration_ms,
                key.key_id if key is not None else None,
                document,
                signature,
            ),
        )
