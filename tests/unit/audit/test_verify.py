"""Verification on in-memory ledgers: each kind of tampering, its index and its message.

The 100,000-entry trials (20 random positions per kind) run against PostgreSQL in
tests/integration/audit/test_tamper_detection.py; these small cases pin the messages.
"""

from __future__ import annotations

import pytest

from scrollintel.audit.errors import LedgerTampered
from scrollintel.audit.verify import verify_rows
from tests.unit.audit import ledger_helpers as lh

pytestmark = pytest.mark.unit

N = 200


@pytest.fixture(scope="module")
def rows() -> list[lh.Row]:
    return lh.build(N)


def check(rows: list[lh.Row], *, anchored: list[lh.Row] | None = None, nodes_from: list[lh.Row] | None = None):  # type: ignore[no-untyped-def]
    anchors = [lh.anchor_of(anchored)] if anchored is not None else []
    return verify_rows(rows, nodes=lh.nodes_of(nodes_from if nodes_from is not None else rows), anchors=anchors)


def test_an_intact_ledger_verifies_and_says_whether_it_is_anchored(rows: list[lh.Row]) -> None:
    report = check(rows)
    assert report.ok and report.size == N and not report.anchored
    assert "NOT anchored" in report.summary()
    report = check(rows, anchored=rows)
    assert report.ok and report.anchored and report.anchor_size == N
    assert report.nodes_checked == len(lh.nodes_of(rows))
    assert verify_rows([]).ok


@pytest.mark.parametrize("i", [0, 1, 15, 16, 17, 100, N - 2, N - 1])
def test_edit(rows: list[lh.Row], i: int) -> None:
    report = check(lh.edit(rows, i), nodes_from=rows)
    assert (report.kind, report.index) == ("edited", i)
    assert f"entry {i} was edited: its fields no longer hash to its stored entry_hash" in report.message


@pytest.mark.parametrize("i", [0, 5, 100, N - 2])
def test_edit_with_rehash_is_pinned_on_the_edited_entry(rows: list[lh.Row], i: int) -> None:
    report = check(lh.edit_and_rehash(rows, i), nodes_from=rows)
    assert (report.kind, report.index) == ("edited", i)
    assert f"entry {i} was edited and re-hashed" in report.message


@pytest.mark.parametrize("i", [0, 7, 100, N - 2])
def test_delete_with_and_without_renumbering(rows: list[lh.Row], i: int) -> None:
    report = check(lh.delete(rows, i), nodes_from=rows)
    assert (report.kind, report.index) == ("deleted", i)
    assert f"entries {i}..{i} are missing (deleted)" in report.message
    report = check(lh.delete(rows, i, renumbered=True), nodes_from=rows)
    assert (report.kind, report.index) == ("deleted", i)
    assert f"entry {i} was deleted and the entries after it renumbered" in report.message


@pytest.mark.parametrize("i", [0, 3, 100, N - 1])
@pytest.mark.parametrize("valid_link", [True, False])
def test_insert(rows: list[lh.Row], i: int, valid_link: bool) -> None:
    report = check(lh.insert(rows, i, valid_link=valid_link), nodes_from=rows)
    assert (report.kind, report.index) == ("inserted", i)
    assert f"an entry was inserted at {i}" in report.message


@pytest.mark.parametrize("i", [0, 15, 100, N - 2])
def test_swap(rows: list[lh.Row], i: int) -> None:
    report = check(lh.swap(rows, i), nodes_from=rows)
    assert (report.kind, report.index) == ("reordered", i)
    assert f"entries {i} and {i + 1} were swapped" in report.message


def test_truncation_is_only_visible_through_an_anchor(rows: list[lh.Row]) -> None:
    short = rows[:150]
    assert check(short).ok  # nodes truncated too: nothing inside the data gives it away
    report = check(short, anchored=rows)
    assert (report.kind, report.index) == ("truncated", 150)
    assert f"the ledger has 150 entries but {N} were anchored" in report.message
    careless = check(short, nodes_from=rows)  # entries removed, nodes left behind
    assert (careless.kind, careless.index) == ("truncated", 150)


def test_full_rewrite_is_only_visible_through_an_anchor(rows: list[lh.Row]) -> None:
    forged = lh.rewrite_from(rows, 0)
    assert check(forged).ok  # chain and nodes recomputed: consistent
    report = check(forged, anchored=rows)
    assert (report.kind, report.index) == ("rewritten", 0)
    assert "no longer have the root signed" in report.message


def test_partial_rewrite_is_located_by_anchors_and_untouched_nodes(rows: list[lh.Row]) -> None:
    forged = lh.rewrite_from(rows, 120)
    anchors = [lh.anchor_of(rows, 100), lh.anchor_of(rows, N)]
    report = verify_rows(forged, nodes=lh.nodes_of(forged), anchors=anchors)
    assert (report.kind, report.index) == ("rewritten", 100)
    assert "the tree head of size 100 still matches" in report.message
    # when the rewriter left the stored nodes alone, the first stale 16-entry subtree pins it
    report = verify_rows(forged, nodes=lh.nodes_of(rows), anchors=anchors)
    assert (report.kind, report.index) == ("rewritten", 112)
    report = verify_rows(forged, nodes=lh.nodes_of(rows))
    assert (report.kind, report.index) == ("rewritten", 112)
    assert "no anchor covers them yet" in report.message


def test_an_altered_node_under_an_anchor_is_reported_as_tree(rows: list[lh.Row]) -> None:
    nodes = lh.nodes_of(rows)
    nodes[(4, 3)] = b"\x00" * 32
    report = verify_rows(rows, nodes=nodes, anchors=[lh.anchor_of(rows)])
    assert (report.kind, report.index) == ("tree", 48)
    assert "the node table was altered" in report.message
    del nodes[(4, 3)]
    report = verify_rows(rows, nodes=nodes, anchors=[lh.anchor_of(rows)])
    assert report.kind == "tree" and "is missing" in report.message


def test_raise_for_problem_names_index_and_kind(rows: list[lh.Row]) -> None:
    report = check(lh.edit(rows, 42), nodes_from=rows)
    with pytest.raises(LedgerTampered, match=r"FAILED at index 42 \(edited\)"):
        report.raise_for_problem()
    check(rows).raise_for_problem()
