"""RFC 9162 (Certificate Transparency v2) Merkle tree: hashes, proofs and their verifiers.

Pure ``hashlib``, no database. The ledger's leaves are the entries' hashes, in sequence order:
``leaf_hash(d) = SHA-256(0x00 || d)``, ``node_hash(l, r) = SHA-256(0x01 || l || r)``, and the
tree head of ``n`` leaves is ``MTH(D[0:n])`` as RFC 9162 section 2.1.1 defines it (the empty
tree hashes to ``SHA-256("")``).

Storage design: persisted hashes of complete subtrees
----------------------------------------------------
Every node a proof needs is either a *complete subtree*: the ``2**level`` leaves starting at
``index * 2**level`` (a perfect, aligned binary tree; RFC 9162's left children are always
of this kind) or a right-edge subtree ``[a, n)``, whose hash folds the complete subtrees of
the binary decomposition of ``n - a`` (:func:`decompose`). The ledger persists the hash of
every complete subtree of ``2**STORED_MIN_LEVEL`` (16) leaves or more, once, when it
completes (``governance.audit_tree_node``): about ``n / 8`` rows, never updated. Lower levels
are recomputed from at most 16 + 15 entry hashes. So an inclusion proof for any entry of a
ledger of a million entries reads ~20 stored nodes and <= 31 entry hashes in two indexed
queries and hashes a few dozen times: milliseconds, independent of the ledger's size (a
naive proof reads every leaf). The same holds for consistency proofs and for the root of any
historical tree size, so the head of the tree is never stored as mutable state.

:class:`CompactRange` keeps the right frontier of a growing tree (one hash per set bit of
``n``): appending a leaf merges completed subtrees and reports each new complete node, which
is how appends find the rows to persist and how verification recomputes every stored node
and every anchored root in one streaming pass.

A verified proof binds a leaf (or an old tree) to a *root hash*. As in Certificate
Transparency, the tree size is authenticated by the signed tree head carrying that root: the
same path can be valid for several sizes with the same shape, so a size is only trusted when
it comes from a signed head (:mod:`scrollintel.audit.proof` checks that).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from hashlib import sha256

HASH_SIZE = 32
#: Complete subtrees of 2**STORED_MIN_LEVEL leaves and more are persisted.
STORED_MIN_LEVEL = 4
EMPTY_ROOT = sha256(b"").digest()

#: Resolves the hash of a complete subtree given (level, index).
NodeLookup = Callable[[int, int], bytes]


def leaf_hash(data: bytes) -> bytes:
    """RFC 9162 leaf hash: ``SHA-256(0x00 || data)``."""
    return sha256(b"\x00" + data).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    """RFC 9162 interior node hash: ``SHA-256(0x01 || left || right)``."""
    return sha256(b"\x01" + left + right).digest()


def largest_power_of_two_below(n: int) -> int:
    """The largest power of two strictly smaller than ``n`` (``n >= 2``)."""
    return 1 << ((n - 1).bit_length() - 1)


def decompose(start: int, end: int) -> list[tuple[int, int]]:
    """Complete subtrees ``(level, index)`` covering ``[start, end)``, largest first.

    Their right fold (:func:`fold`) is RFC 9162's ``MTH(D[start:end])``. Every range a proof
    of this module asks for starts at a multiple of its largest part, so the parts are aligned
    and can be looked up; a range that is not is refused.
    """
    size = end - start
    if size <= 0:
        raise ValueError(f"empty range [{start}, {end})")
    parts: list[tuple[int, int]] = []
    position = start
    for level in range(size.bit_length() - 1, -1, -1):
        if size >> level & 1:
            if position % (1 << level):
                raise ValueError(f"range [{start}, {end}) is not aligned to complete subtrees")
            parts.append((level, position >> level))
            position += 1 << level
    return parts


def fold(hashes: Sequence[bytes]) -> bytes:
    """Right fold of the hashes of consecutive complete subtrees (largest first) into one root."""
    if not hashes:
        return EMPTY_ROOT
    result = hashes[-1]
    for item in reversed(hashes[:-1]):
        result = node_hash(item, result)
    return result


def range_hash(start: int, end: int, node: NodeLookup) -> bytes:
    """``MTH(D[start:end])`` from complete-subtree hashes."""
    return fold([node(level, index) for level, index in decompose(start, end)])


def subtree_from_leaves(leaves: Sequence[bytes]) -> bytes:
    """Hash of a complete subtree given its leaf data (len must be a power of two)."""
    level = [leaf_hash(data) for data in leaves]
    while len(level) > 1:
        level = [node_hash(level[i], level[i + 1]) for i in range(0, len(level), 2)]
    return level[0]


def root_from_leaves(leaves: Sequence[bytes]) -> bytes:
    """``MTH`` of a list of leaf data (in memory, O(n))."""
    compact = CompactRange()
    for data in leaves:
        compact.append(data)
    return compact.root()


# -- proofs as lists of ranges ----------------------------------------------------------------


def inclusion_ranges(index: int, size: int) -> list[tuple[int, int]]:
    """Ranges whose ``MTH`` form the inclusion path of leaf ``index`` in a tree of ``size``.

    RFC 9162 section 2.1.3.1 (``PATH``), deepest sibling first.
    """
    if not 0 <= index < size:
        raise ValueError(f"leaf index {index} is not in a tree of size {size}")
    ranges: list[tuple[int, int]] = []
    start, end = 0, size
    while end - start > 1:
        k = largest_power_of_two_below(end - start)
        if index - start < k:
            ranges.append((start + k, end))
            end = start + k
        else:
            ranges.append((start, start + k))
            start += k
    ranges.reverse()
    return ranges


def consistency_ranges(old_size: int, new_size: int) -> list[tuple[int, int]]:
    """Ranges whose ``MTH`` form the consistency proof between two tree sizes.

    RFC 9162 section 2.1.4.1 (``PROOF``/``SUBPROOF``); empty when ``old_size`` is 0 or equal
    to ``new_size``.
    """
    if not 0 <= old_size <= new_size:
        raise ValueError(f"no consistency proof from size {old_size} to size {new_size}")
    if old_size in (0, new_size):
        return []
    ranges: list[tuple[int, int]] = []
    m, start, end, complete = old_size, 0, new_size, True
    while True:
        size = end - start
        if m == size:
            if not complete:
                ranges.append((start, end))
            break
        k = largest_power_of_two_below(size)
        if m <= k:
            ranges.append((start + k, end))
            end = start + k
        else:
            ranges.append((start, start + k))
            m -= k
            start += k
            complete = False
    ranges.reverse()
    return ranges


def needed_nodes(ranges: Sequence[tuple[int, int]]) -> list[tuple[int, int]]:
    """Every complete subtree ``(level, index)`` the given ranges are folded from."""
    return [part for start, end in ranges for part in decompose(start, end)]


def resolve(ranges: Sequence[tuple[int, int]], node: NodeLookup) -> list[bytes]:
    """The proof hashes of ``ranges`` (from :func:`inclusion_ranges` or :func:`consistency_ranges`)."""
    return [range_hash(start, end, node) for start, end in ranges]


# -- verifiers (RFC 9162 sections 2.1.3.2 and 2.1.4.2) ----------------------------------------


def _valid_hash(value: object) -> bool:
    return isinstance(value, bytes) and len(value) == HASH_SIZE


def root_from_inclusion_proof(index: int, size: int, leaf: bytes, path: Sequence[bytes]) -> bytes | None:
    """The root implied by an inclusion proof, or None when the proof is malformed."""
    if not (isinstance(index, int) and isinstance(size, int)) or not 0 <= index < size:
        return None
    if not _valid_hash(leaf) or not all(_valid_hash(p) for p in path):
        return None
    fn, sn, result = index, size - 1, leaf
    for sibling in path:
        if sn == 0:
            return None
        if fn & 1 or fn == sn:
            result = node_hash(sibling, result)
            if not fn & 1:
                while fn and not fn & 1:
                    fn >>= 1
                    sn >>= 1
        else:
            result = node_hash(result, sibling)
        fn >>= 1
        sn >>= 1
    if sn != 0:
        return None
    return result


def verify_inclusion(index: int, size: int, leaf: bytes, path: Sequence[bytes], root: bytes) -> bool:
    """True when ``path`` proves that ``leaf`` (a leaf *hash*) is leaf ``index`` of the tree ``root``."""
    computed = root_from_inclusion_proof(index, size, leaf, path)
    return computed is not None and _valid_hash(root) and computed == root


def _consistency_trivial(
    old_size: int, new_size: int, old_root: bytes, new_root: bytes, proof: Sequence[bytes]
) -> bool | None:
    """The verdict for malformed input and the sizes that need no path; None otherwise."""
    if not (isinstance(old_size, int) and isinstance(new_size, int)) or not 0 <= old_size <= new_size:
        return False
    if not (_valid_hash(old_root) and _valid_hash(new_root)) or not all(_valid_hash(p) for p in proof):
        return False
    if old_size == 0:
        return not proof and old_root == EMPTY_ROOT
    if old_size == new_size:
        return not proof and old_root == new_root
    if not proof:
        return False
    return None


def verify_consistency(old_size: int, new_size: int, old_root: bytes, new_root: bytes, proof: Sequence[bytes]) -> bool:
    """True when ``proof`` shows the tree ``old_root`` (``old_size``) is a prefix of ``new_root``."""
    trivial = _consistency_trivial(old_size, new_size, old_root, new_root, proof)
    if trivial is not None:
        return trivial
    path = list(proof)
    if old_size & (old_size - 1) == 0:
        path.insert(0, old_root)
    fn, sn = old_size - 1, new_size - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    fr = sr = path[0]
    for item in path[1:]:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            fr = node_hash(item, fr)
            sr = node_hash(item, sr)
            if not fn & 1:
                while fn and not fn & 1:
                    fn >>= 1
                    sn >>= 1
        else:
            sr = node_hash(sr, item)
        fn >>= 1
        sn >>= 1
    return sn == 0 and fr == old_root and sr == new_root


# -- the growing tree ------------------------------------------------------------------------


class CompactRange:
    """The right frontier of a tree: one complete-subtree hash per set bit of ``size``.

    ``append`` adds one leaf (its data, i.e. an entry hash) and returns the complete subtrees
    it finished as ``(level, index, hash)`` (level >= 1), so callers can persist or compare them.
    """

    __slots__ = ("_hashes", "_levels", "size")

    def __init__(self, size: int = 0, hashes: Sequence[bytes] = ()) -> None:
        """A frontier for ``size`` leaves from its hashes, largest subtree first (see :meth:`parts`)."""
        levels = [level for level in range(size.bit_length() - 1, -1, -1) if size >> level & 1]
        if len(levels) != len(hashes):
            raise ValueError(f"a tree of size {size} needs {len(levels)} frontier hashes, got {len(hashes)}")
        self.size = size
        self._levels = levels
        self._hashes = list(hashes)

    @staticmethod
    def parts(size: int) -> list[tuple[int, int]]:
        """The complete subtrees ``(level, index)`` a frontier of ``size`` leaves holds."""
        return decompose(0, size) if size else []

    def append(self, data: bytes) -> list[tuple[int, int, bytes]]:
        """Add one leaf; return the complete subtrees it completed (level >= 1)."""
        levels, hashes = self._levels, self._hashes
        levels.append(0)
        hashes.append(sha256(b"\x00" + data).digest())
        self.size += 1
        done: list[tuple[int, int, bytes]] = []
        while len(levels) > 1 and levels[-1] == levels[-2]:
            right = hashes.pop()
            left = hashes.pop()
            level = levels.pop() + 1
            levels[-1] = level
            merged = sha256(b"\x01" + left + right).digest()
            hashes.append(merged)
            done.append((level, (self.size >> level) - 1, merged))
        return done

    def root(self) -> bytes:
        """``MTH`` of the leaves so far."""
        return fold(self._hashes)

    def frontier(self) -> list[tuple[int, bytes]]:
        """``(level, hash)`` of the frontier, largest subtree first."""
        return list(zip(self._levels, self._hashes, strict=True))


def iter_complete_nodes(leaves: Sequence[bytes], min_level: int = 1) -> Iterator[tuple[int, int, bytes]]:
    """Every complete subtree of at least ``2**min_level`` leaves of an in-memory leaf list."""
    compact = CompactRange()
    for data in leaves:
        for level, index, digest in compact.append(data):
            if level >= min_level:
                yield level, index, digest
