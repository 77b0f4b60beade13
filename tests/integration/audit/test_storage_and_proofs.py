"""Appends (COPY and executemany), stored Merkle nodes and proofs served from PostgreSQL."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from scrollintel.audit import merkle, storage
from scrollintel.audit.errors import ProofError
from scrollintel.audit.proof import check_consistency_document, consistency_document, inclusion_document
from scrollintel.audit.storage import LedgerCorrupted, NewEntry
from tests.integration.audit.conftest import bypass_triggers, connect

pytestmark = pytest.mark.integration


def entries(n: int, start: int = 0) -> list[NewEntry]:
    return [NewEntry(1_000_000 + i, "svc", "a.b", f"s:{i}", f'{{"i":{i}}}') for i in range(start, start + n)]


@pytest.mark.parametrize("method", ["copy", "executemany"])
def test_batches_of_any_size_give_the_same_chain_and_nodes(new_ledger: object, method: str) -> None:
    rng = random.Random(5)
    urls = [new_ledger(), new_ledger()]  # type: ignore[operator]
    all_entries = entries(1000)
    with storage.connection(urls[0]) as conn, conn.transaction():
        storage.append_entries(conn, all_entries)
    with storage.connection(urls[1]) as conn:
        position = 0
        while position < len(all_entries):
            size = rng.choice([1, 2, 3, 15, 16, 17, 64, 100])
            with conn.transaction():
                storage.append_entries(conn, all_entries[position : position + size], method=method)  # type: ignore[arg-type]
            position += size
    snapshots = []
    for url in urls:
        with connect(url) as conn:
            snapshots.append((list(storage.iter_rows(conn)), storage.all_stored_nodes(conn)))
    assert snapshots[0] == snapshots[1]
    rows, nodes = snapshots[0]
    leaves = [r[7] for r in rows]
    assert nodes == dict(((lv, ix), h) for lv, ix, h in merkle.iter_complete_nodes(leaves, merkle.STORED_MIN_LEVEL))
    assert len(nodes) < len(rows) / 7  # ~n/8 rows for any proof in milliseconds


def test_proofs_and_historical_roots_from_the_database(ledger_url: str) -> None:
    n = 777
    with storage.connection(ledger_url) as conn:
        with conn.transaction():
            storage.append_entries(conn, entries(n))
        leaves = [r[7] for r in storage.iter_rows(conn)]
        rng = random.Random(9)
        for _ in range(150):
            size = rng.randint(1, n)
            index = rng.randrange(size)
            root = merkle.root_from_leaves(leaves[:size])
            assert storage.root_at(conn, size) == root
            path = storage.inclusion_proof(conn, index, size)
            assert merkle.verify_inclusion(index, size, merkle.leaf_hash(leaves[index]), path, root)
            old = rng.randint(0, size)
            document = consistency_document(conn, old, size)
            assert check_consistency_document(document)
            document["old_root"] = "00" * 32
            assert not check_consistency_document(document)
        with pytest.raises(ProofError, match="need 0 <= old size 5 <= new size 900 <= ledger size 777"):
            consistency_document(conn, 5, 900)
        with pytest.raises(ProofError, match="tree size 3 must be > 10 and <= 777"):
            inclusion_document(conn, 10, 3)


def test_a_missing_node_stops_appends_and_proofs_loudly(ledger_url: str, audit_env: Path) -> None:
    from scrollintel import audit

    with storage.connection(ledger_url) as conn, conn.transaction():
        storage.append_entries(conn, entries(40))
    with connect(ledger_url) as conn:
        bypass_triggers(conn)
        conn.execute("DELETE FROM governance.audit_tree_node WHERE level = 5")
        conn.commit()
    with storage.connection(ledger_url) as conn:
        with pytest.raises(
            LedgerCorrupted, match=r"stored Merkle node \(5, 0\) is missing; run `scrollintel audit verify`"
        ):
            storage.append_entries(conn, entries(1, 40))
        conn.rollback()
        with pytest.raises(LedgerCorrupted, match="stored Merkle node"):
            storage.inclusion_proof(conn, 35, 40)  # its sibling is the subtree of entries 0..31
    # recording still never fails the caller: the event waits in the outbox
    assert audit.record("a.b", "s:x", url=ledger_url).queued
