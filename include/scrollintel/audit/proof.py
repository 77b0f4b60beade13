"""Inclusion and consistency proofs as self-contained JSON documents.

An inclusion proof document lets anyone check, with SHA-256 and an Ed25519 verifier only,
that an entry is in the ledger the organisation signed:

1. recompute ``entry_hash`` from the entry's fields (:mod:`scrollintel.audit.canonical`);
2. ``leaf_hash = SHA-256(0x00 || entry_hash)``;
3. fold ``inclusion_path`` (RFC 9162 section 2.1.3.2) to a root and compare with ``root_hash``;
4. check ``tree_head`` (when present) has that size and root and a valid signature.

By default the proof is made against the newest anchored tree head that contains the entry,
so step 4 ties it to a signature held outside the database; an entry newer than every
anchor is proven against the current tree (``tree_head`` is null).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from scrollintel.audit import merkle
from scrollintel.audit.canonical import entry_hash, iso_time
from scrollintel.audit.errors import AnchorError, ProofError

if TYPE_CHECKING:
    from collections.abc import Mapping

    import psycopg

    from scrollintel.audit.anchor import TreeHead

INCLUSION_FORMAT = "scrollintel-audit-inclusion-proof/1"
CONSISTENCY_FORMAT = "scrollintel-audit-consistency-proof/1"
ALGORITHMS = {
    "entry_hash": "SHA-256 over scrollintel.audit.entry.v1 encoding (see scrollintel.audit.canonical)",
    "tree": "RFC 9162 section 2.1 Merkle tree, leaf = SHA-256(0x00 || entry_hash)",
    "signature": "Ed25519 over canonical JSON of {log, root_hash, timestamp, tree_size, version}",
}


def _anchor_covering(conn: psycopg.Connection, seq: int) -> TreeHead | None:
    from scrollintel.audit.anchor import TreeHead

    row = conn.execute(
        "SELECT document, location FROM governance.audit_anchor WHERE tree_size > %s ORDER BY tree_size DESC, id DESC "
        "LIMIT 1",
        (seq,),
    ).fetchone()
    if row is None:
        return None
    try:
        return TreeHead.from_document(row[0], row[1])
    except AnchorError:
        return None


def inclusion_document(conn: psycopg.Connection, seq: int, tree_size: int | None = None) -> dict[str, Any]:
    """The inclusion proof of entry ``seq`` (against ``tree_size``, default: the newest anchor containing it)."""
    from scrollintel.audit import storage

    size = storage.ledger_size(conn)
    entry = storage.get_entry(conn, seq)
    if entry is None or not 0 <= seq < size:
        raise ProofError(f"no entry {seq}: the ledger has {size} entries (0..{size - 1})")
    head = None
    if tree_size is None:
        head = _anchor_covering(conn, seq)
        tree_size = head.tree_size if head is not None and head.tree_size <= size else size
        if head is not None and head.tree_size != tree_size:
            head = None
    elif not seq < tree_size <= size:
        raise ProofError(f"tree size {tree_size} must be > {seq} and <= {size}")
    root = storage.root_at(conn, tree_size)
    if head is not None and head.root_hash != root:
        raise ProofError(
            f"the ledger no longer matches the tree head of size {head.tree_size}; run `scrollintel audit verify`"
        )
    path = storage.inclusion_proof(conn, seq, tree_size)
    return {
        "format": INCLUSION_FORMAT,
        "entry": {
            "seq": entry.seq,
            "time": iso_time(entry.time_us),
            "time_us": entry.time_us,
            "actor": entry.actor,
            "action": entry.action,
            "subject": entry.subject,
            "details": entry.details,
            "prev_hash": entry.prev_hash.hex(),
            "entry_hash": entry.entry_hash.hex(),
        },
        "leaf_index": seq,
        "tree_size": tree_size,
        "leaf_hash": merkle.leaf_hash(entry.entry_hash).hex(),
        "inclusion_path": [node.hex() for node in path],
        "root_hash": root.hex(),
        "tree_head": head.as_dict() if head is not None else None,
        "algorithms": ALGORITHMS,
    }


def check_inclusion_document(doc: Mapping[str, Any], trusted: Mapping[str, Any] | None = None) -> list[str]:
    """Every reason the document does not prove inclusion (empty list: it does).

    ``trusted`` (key id -> Ed25519 public key) is needed to accept the tree head's signature;
    without it a document carrying a tree head is checked for everything but the signature.
    """
    from scrollintel.audit.anchor import TreeHead

    problems: list[str] = []
    try:
        if doc.get("format") != INCLUSION_FORMAT:
            return [f"not a {INCLUSION_FORMAT} document"]
        e = doc["entry"]
        prev = bytes.fromhex(e["prev_hash"])
        stored = bytes.fromhex(e["entry_hash"])
        recomputed = entry_hash(
            int(e["seq"]), int(e["time_us"]), e["actor"], e["action"], e["subject"], e["details"], prev
        )
        index, size = int(doc["leaf_index"]), int(doc["tree_size"])
        leaf = bytes.fromhex(doc["leaf_hash"])
        path = [bytes.fromhex(item) for item in doc["inclusion_path"]]
        root = bytes.fromhex(doc["root_hash"])
    except (KeyError, TypeError, ValueError, AttributeError) as err:
        return [f"malformed proof document ({type(err).__name__}: {err})"]
    if recomputed != stored:
        problems.append("entry fields do not hash to entry_hash")
    if int(e["seq"]) != index:
        problems.append("entry seq differs from leaf_index")
    if merkle.leaf_hash(stored) != leaf:
        problems.append("leaf_hash is not SHA-256(0x00 || entry_hash)")
    if not merkle.verify_inclusion(index, size, leaf, path, root):
        problems.append("inclusion path does not lead to root_hash")
    if doc.get("tree_head") is not None:
        try:
            head = TreeHead.from_dict(doc["tree_head"], "tree_head")
        except AnchorError as err:
            return [*problems, str(err)]
        if head.tree_size != size or head.root_hash != root:
            problems.append("tree_head does not state this tree_size and root_hash")
        if trusted is not None:
            why = head.verify_signature(trusted)
            if why:
                problems.append(f"tree_head {why}")
    return problems


def consistency_document(conn: psycopg.Connection, old_size: int, new_size: int | None = None) -> dict[str, Any]:
    """Proof that the tree of ``old_size`` entries is a prefix of the tree of ``new_size`` (default: now)."""
    from scrollintel.audit import storage

    size = storage.ledger_size(conn)
    new_size = size if new_size is None else new_size
    if not 0 <= old_size <= new_size <= size:
        raise ProofError(f"need 0 <= old size {old_size} <= new size {new_size} <= ledger size {size}")
    return {
        "format": CONSISTENCY_FORMAT,
        "old_size": old_size,
        "new_size": new_size,
        "old_root": storage.root_at(conn, old_size).hex(),
        "new_root": storage.root_at(conn, new_size).hex(),
        "proof": [node.hex() for node in storage.consistency_proof(conn, old_size, new_size)],
        "algorithms": {"tree": ALGORITHMS["tree"]},
    }


def check_consistency_document(doc: Mapping[str, Any]) -> bool:
    """True when the document proves its old tree is a prefix of its new tree."""
    try:
        if doc.get("format") != CONSISTENCY_FORMAT:
            return False
        return merkle.verify_consistency(
            int(doc["old_size"]),
            int(doc["new_size"]),
            bytes.fromhex(doc["old_root"]),
            bytes.fromhex(doc["new_root"]),
            [bytes.fromhex(item) for item in doc["proof"]],
        )
    except (KeyError, TypeError, ValueError, AttributeError):
        return False
