"""In-memory ledgers and the tampering an attacker with write access to the table could do.

Rows have the shape :data:`scrollintel.audit.verify.Row`:
``(seq, time_us, actor, action, subject, details, prev_hash, entry_hash)``.
"""

from __future__ import annotations

from scrollintel.audit import merkle
from scrollintel.audit.canonical import GENESIS_HASH, entry_hash
from scrollintel.audit.verify import AnchorPoint, Row


def chain(contents: list[tuple[int, str, str, str, str]], start: int = 0, prev: bytes = GENESIS_HASH) -> list[Row]:
    """Hash-chain ``(time_us, actor, action, subject, details)`` tuples from ``start``."""
    rows: list[Row] = []
    for offset, (time_us, actor, action, subject, details) in enumerate(contents):
        seq = start + offset
        digest = entry_hash(seq, time_us, actor, action, subject, details, prev)
        rows.append((seq, time_us, actor, action, subject, details, prev, digest))
        prev = digest
    return rows


def build(n: int, salt: str = "") -> list[Row]:
    """A valid ledger of ``n`` entries."""
    return chain(
        [
            (1_700_000_000_000_000 + i, f"svc{i % 3}", "test.event", f"dataset:{salt}{i % 50}", f'{{"i":{i}}}')
            for i in range(n)
        ]
    )


def nodes_of(rows: list[Row]) -> dict[tuple[int, int], bytes]:
    """The stored Merkle nodes the ledger would persist for these rows."""
    return {
        (level, idx): digest
        for level, idx, digest in merkle.iter_complete_nodes([r[7] for r in rows], merkle.STORED_MIN_LEVEL)
    }


def anchor_of(rows: list[Row], size: int | None = None) -> AnchorPoint:
    """A (trusted) anchor of the first ``size`` rows."""
    size = len(rows) if size is None else size
    return AnchorPoint(
        size, merkle.root_from_leaves([r[7] for r in rows[:size]]), "2026-11-22T10:00:00.000000Z", "test"
    )


def renumber(rows: list[Row]) -> list[Row]:
    """Give rows consecutive seqs again (what an attacker does after deleting or inserting)."""
    return [(i, *row[1:]) for i, row in enumerate(rows)]  # type: ignore[misc]


def edit(rows: list[Row], i: int) -> list[Row]:
    """Change entry ``i``'s details in place (hash left alone)."""
    out = list(rows)
    row = out[i]
    out[i] = (*row[:5], row[5].replace("}", ',"forged":true}'), *row[6:])  # type: ignore[assignment]
    return out


def edit_and_rehash(rows: list[Row], i: int) -> list[Row]:
    """Change entry ``i`` and recompute its own hash (its successor still names the old one)."""
    out = list(rows)
    seq, time_us, actor, action, subject, details, prev, _ = out[i]
    details = details.replace("}", ',"forged":true}')
    out[i] = (
        seq,
        time_us,
        actor,
        action,
        subject,
        details,
        prev,
        entry_hash(seq, time_us, actor, action, subject, details, prev),
    )
    return out


def delete(rows: list[Row], i: int, *, renumbered: bool = False) -> list[Row]:
    """Remove entry ``i`` (and optionally close the gap in seq)."""
    out = rows[:i] + rows[i + 1 :]
    return renumber(out) if renumbered else out


def insert(rows: list[Row], i: int, *, valid_link: bool = True) -> list[Row]:
    """Insert a forged entry at ``i`` and shift the rest by one (the only way past the seq key).

    The forged entry has a correct hash of its own; with ``valid_link`` it also names the
    previous entry's hash, so only the displaced entry after it gives it away.
    """
    genuine = rows[i - 1][7] if i > 0 else GENESIS_HASH
    prev = genuine if valid_link else b"\x01" * 32
    forged = chain([(rows[i][1], "intruder", "forged.event", "dataset:x", "{}")], start=i, prev=prev)[0]
    shifted: list[Row] = [(row[0] + 1, *row[1:]) for row in rows[i:]]  # type: ignore[misc]
    return [*rows[:i], forged, *shifted]


def swap(rows: list[Row], i: int) -> list[Row]:
    """Exchange the contents of entries ``i`` and ``i+1`` (keeping seq in order)."""
    out = list(rows)
    a, b = out[i], out[i + 1]
    out[i] = (a[0], *b[1:])  # type: ignore[assignment]
    out[i + 1] = (b[0], *a[1:])  # type: ignore[assignment]
    return out


def rewrite_from(rows: list[Row], i: int) -> list[Row]:
    """Recompute a consistent chain from entry ``i`` on with altered contents (the careful attacker)."""
    contents = [(r[1], r[2], r[3], r[4], r[5].replace("}", ',"x":1}')) for r in rows[i:]]
    prev = rows[i - 1][7] if i > 0 else GENESIS_HASH
    return rows[:i] + chain(contents, start=i, prev=prev)
