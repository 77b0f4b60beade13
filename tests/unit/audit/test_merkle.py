"""RFC 9162 Merkle tree: hashes, proofs and verifiers against a direct transcription of the RFC.

Includes the required robustness check: 0 of >= 5,000 corrupted inclusion proofs and 0 of
>= 5,000 corrupted consistency proofs are accepted (seeded random, reproducible). A proof binds
a leaf to a *root*; the tree size is bound by the signed tree head, as in Certificate
Transparency (a path can be valid for several sizes of the same shape). Relabelled sizes are
therefore tested where users meet them: in proof documents carrying a signed head
(tests/unit/audit/test_anchor_and_proof.py).
"""

from __future__ import annotations

import random
from hashlib import sha256

import pytest

from scrollintel.audit import merkle

pytestmark = pytest.mark.unit

SEED = 20261122


# -- the RFC, transcribed literally (recursive, slow, obviously right) -----------------------


def ref_mth(leaves: list[bytes]) -> bytes:
    n = len(leaves)
    if n == 0:
        return sha256(b"").digest()
    if n == 1:
        return sha256(b"\x00" + leaves[0]).digest()
    k = merkle.largest_power_of_two_below(n)
    return sha256(b"\x01" + ref_mth(leaves[:k]) + ref_mth(leaves[k:])).digest()


def ref_path(m: int, leaves: list[bytes]) -> list[bytes]:
    n = len(leaves)
    if n == 1:
        return []
    k = merkle.largest_power_of_two_below(n)
    if m < k:
        return [*ref_path(m, leaves[:k]), ref_mth(leaves[k:])]
    return [*ref_path(m - k, leaves[k:]), ref_mth(leaves[:k])]


def ref_subproof(m: int, leaves: list[bytes], complete: bool) -> list[bytes]:
    n = len(leaves)
    if m == n:
        return [] if complete else [ref_mth(leaves)]
    k = merkle.largest_power_of_two_below(n)
    if m <= k:
        return [*ref_subproof(m, leaves[:k], complete), ref_mth(leaves[k:])]
    return [*ref_subproof(m - k, leaves[k:], False), ref_mth(leaves[:k])]


def ref_consistency(m: int, leaves: list[bytes]) -> list[bytes]:
    if m in (0, len(leaves)):
        return []
    return ref_subproof(m, leaves, True)


def make_leaves(n: int, salt: str = "") -> list[bytes]:
    return [sha256(f"{salt}entry-{i}".encode()).digest() for i in range(n)]


def memory_lookup(leaves: list[bytes]) -> merkle.NodeLookup:
    def lookup(level: int, index: int) -> bytes:
        return ref_mth(leaves[index << level : (index + 1) << level])

    return lookup


# -- hashes ----------------------------------------------------------------------------------


def test_empty_and_single_leaf_follow_rfc_9162() -> None:
    assert bytes.fromhex("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855") == merkle.EMPTY_ROOT
    assert merkle.root_from_leaves([]) == merkle.EMPTY_ROOT
    assert merkle.root_from_leaves([b"x"]) == sha256(b"\x00x").digest()


@pytest.mark.parametrize("n", [*range(0, 70), 127, 128, 129, 1000])
def test_root_matches_the_rfc_definition(n: int) -> None:
    leaves = make_leaves(n)
    assert merkle.root_from_leaves(leaves) == ref_mth(leaves)


def test_compact_range_reports_every_complete_subtree_once() -> None:
    leaves = make_leaves(100)
    nodes = list(merkle.iter_complete_nodes(leaves))
    assert len(nodes) == len({(level, idx) for level, idx, _ in nodes})
    for level, idx, digest in nodes:
        assert digest == ref_mth(leaves[idx << level : (idx + 1) << level])
    # a complete binary forest over 100 leaves has 100 - popcount(100) interior complete nodes
    assert len(nodes) == 100 - bin(100).count("1")


def test_compact_range_resumes_from_its_frontier() -> None:
    leaves = make_leaves(77)
    compact = merkle.CompactRange()
    for data in leaves[:45]:
        compact.append(data)
    frontier = [digest for _, digest in compact.frontier()]
    resumed = merkle.CompactRange(45, frontier)
    for data in leaves[45:]:
        resumed.append(data)
    assert resumed.root() == ref_mth(leaves)
    with pytest.raises(ValueError, match="needs 4 frontier hashes, got 1"):
        merkle.CompactRange(45, frontier[:1])


def test_decompose_refuses_unaligned_ranges() -> None:
    assert merkle.decompose(8, 13) == [(2, 2), (0, 12)]
    with pytest.raises(ValueError, match="not aligned"):
        merkle.decompose(3, 7)
    with pytest.raises(ValueError, match="empty range"):
        merkle.decompose(4, 4)


# -- proofs ----------------------------------------------------------------------------------


@pytest.mark.parametrize("n", [1, 2, 3, 5, 7, 8, 9, 16, 17, 31, 33, 64, 100])
def test_inclusion_proofs_match_the_rfc_and_verify(n: int) -> None:
    leaves = make_leaves(n)
    root = ref_mth(leaves)
    lookup = memory_lookup(leaves)
    for m in range(n):
        path = merkle.resolve(merkle.inclusion_ranges(m, n), lookup)
        assert path == ref_path(m, leaves)
        assert merkle.verify_inclusion(m, n, merkle.leaf_hash(leaves[m]), path, root)


@pytest.mark.parametrize("n", [1, 2, 3, 4, 5, 7, 8, 9, 16, 17, 33, 64])
def test_consistency_proofs_match_the_rfc_and_verify(n: int) -> None:
    leaves = make_leaves(n)
    lookup = memory_lookup(leaves)
    for m in range(n + 1):
        proof = merkle.resolve(merkle.consistency_ranges(m, n), lookup)
        assert proof == ref_consistency(m, leaves)
        assert merkle.verify_consistency(m, n, ref_mth(leaves[:m]), ref_mth(leaves), proof)


def test_proof_ranges_reject_impossible_sizes() -> None:
    with pytest.raises(ValueError, match="leaf index 5 is not in a tree of size 5"):
        merkle.inclusion_ranges(5, 5)
    with pytest.raises(ValueError, match="no consistency proof from size 6 to size 5"):
        merkle.consistency_ranges(6, 5)


def test_verifiers_reject_malformed_input_without_raising() -> None:
    leaves = make_leaves(8)
    root = ref_mth(leaves)
    leaf = merkle.leaf_hash(leaves[3])
    path = ref_path(3, leaves)
    assert not merkle.verify_inclusion(3, 8, leaf, [*path[:-1], b"short"], root)
    assert not merkle.verify_inclusion(-1, 8, leaf, path, root)
    assert not merkle.verify_inclusion(3, 8, leaf, path, b"x" * 31)
    assert not merkle.verify_consistency(4, 8, ref_mth(leaves[:4]), root, [])
    assert not merkle.verify_consistency(0, 8, root, root, [])
    assert merkle.verify_consistency(0, 8, merkle.EMPTY_ROOT, root, [])
    assert not merkle.verify_consistency(8, 8, root, ref_mth(leaves[:7]), [])


# -- corrupted proofs: none accepted ---------------------------------------------------------


def _flip_bit(value: bytes, rng: random.Random) -> bytes:
    data = bytearray(value)
    position = rng.randrange(len(data) * 8)
    data[position // 8] ^= 1 << (position % 8)
    return bytes(data)


def _corrupt_path(path: list[bytes], rng: random.Random) -> list[bytes] | None:
    """A changed copy of ``path`` (None when this mutation cannot apply)."""
    kind = rng.randrange(6)
    out = list(path)
    if kind == 0 and out:
        i = rng.randrange(len(out))
        out[i] = _flip_bit(out[i], rng)
    elif kind == 1 and out:
        del out[rng.randrange(len(out))]
    elif kind == 2:
        out.insert(rng.randrange(len(out) + 1), rng.randbytes(32))
    elif kind == 3 and len(out) >= 2:
        i, j = rng.sample(range(len(out)), 2)
        if out[i] == out[j]:
            return None
        out[i], out[j] = out[j], out[i]
    elif kind == 4 and out:
        out[rng.randrange(len(out))] = rng.randbytes(32)
    elif kind == 5 and out:
        out = out[::-1] if len(out) > 1 and out != out[::-1] else [*out, out[-1]]
    else:
        return None
    return out if out != path else None


def test_no_corrupted_inclusion_proof_is_accepted() -> None:
    rng = random.Random(SEED)
    trees = {n: make_leaves(n, salt="inc") for n in (1, 2, 3, 5, 8, 13, 16, 31, 64, 100, 257)}
    roots = {n: ref_mth(leaves) for n, leaves in trees.items()}
    tried = accepted = 0
    while tried < 6000:
        n = rng.choice(list(trees))
        leaves = trees[n]
        m = rng.randrange(n)
        path = ref_path(m, leaves)
        leaf = merkle.leaf_hash(leaves[m])
        root = roots[n]
        assert merkle.verify_inclusion(m, n, leaf, path, root)
        what = rng.randrange(4)
        if what == 0:
            bad_path = _corrupt_path(path, rng)
            if bad_path is None:
                continue
            args = (m, n, leaf, bad_path, root)
        elif what == 1:
            other = rng.randrange(n)
            if leaves[other] == leaves[m]:
                continue
            args = (m, n, merkle.leaf_hash(leaves[other]), path, root)  # wrong leaf
        elif what == 2:
            other = rng.randrange(n)
            if other == m:
                continue
            args = (other, n, leaf, path, root)  # wrong index
        else:
            args = (m, n, leaf, path, _flip_bit(root, rng))  # wrong root
        tried += 1
        accepted += merkle.verify_inclusion(*args)  # type: ignore[arg-type]
    assert tried >= 5000
    assert accepted == 0


def test_no_corrupted_consistency_proof_is_accepted() -> None:
    rng = random.Random(SEED + 1)
    leaves = make_leaves(300, salt="con")
    roots = [ref_mth(leaves[:n]) for n in range(301)]
    tried = accepted = 0
    while tried < 6000:
        n = rng.randrange(2, 301)
        m = rng.randrange(1, n)
        proof = ref_consistency(m, leaves[:n])
        assert merkle.verify_consistency(m, n, roots[m], roots[n], proof)
        what = rng.randrange(4)
        if what == 0:
            bad = _corrupt_path(proof, rng)
            if bad is None:
                continue
            args = (m, n, roots[m], roots[n], bad)
        elif what == 1:
            args = (m, n, _flip_bit(roots[m], rng), roots[n], proof)
        elif what == 2:
            args = (m, n, roots[m], _flip_bit(roots[n], rng), proof)
        else:
            other = rng.randrange(1, 301)
            if roots[other] == roots[m] or other > n:
                continue
            args = (m, n, roots[other], roots[n], proof)  # the root of another old tree
        tried += 1
        accepted += merkle.verify_consistency(*args)  # type: ignore[arg-type]
    assert tried >= 5000
    assert accepted == 0
