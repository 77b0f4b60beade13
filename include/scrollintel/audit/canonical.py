"""Canonical encodings: the exact bytes the ledger hashes.

Canonical JSON (entry ``details``, signed tree heads)
    ``json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False,
    allow_nan=False)`` encoded as UTF-8. Only JSON types are accepted: ``dict`` with ``str``
    keys, ``list``/``tuple``, ``str``, ``int``, finite ``float``, ``bool`` and ``None``.
    Anything else (``datetime``, ``Decimal``, ``bytes``, ``set``, NaN, infinities, lone
    surrogates) is refused with an error naming the path of the bad value, because a value
    that could be encoded in two ways cannot be re-hashed to the same digest later.
    The ledger stores this text as-is in a ``TEXT`` column: ``jsonb`` would reorder keys and
    normalise numbers, and the hashes would no longer verify.

Entry hash (the leaf data of the Merkle tree)
    ``SHA-256( b"scrollintel.audit.entry.v1\\n"
               || u64be(seq) || i64be(time_us)
               || u32be(len(actor)) || actor || u32be(len(action)) || action
               || u32be(len(subject)) || subject || u32be(len(details)) || details
               || prev_hash )``
    where text fields are UTF-8 bytes, ``time_us`` is the event time in microseconds since
    the Unix epoch (UTC), ``details`` is the canonical JSON text and ``prev_hash`` is the
    32-byte hash of the previous entry (32 zero bytes for entry 0). Length prefixes make the
    encoding injective: no two different entries share an encoding.
"""

from __future__ import annotations

import json
import math
import struct
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from hashlib import sha256
from typing import Any

from scrollintel.audit.errors import AuditInputError

#: Domain separation tag: an entry hash can never be confused with any other SHA-256 use.
ENTRY_TAG = b"scrollintel.audit.entry.v1\n"
#: ``prev_hash`` of the first entry.
GENESIS_HASH = bytes(32)
HASH_SIZE = 32

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_ONE_US = timedelta(microseconds=1)
_HEAD = struct.Struct(">Qq")
_LEN = struct.Struct(">I")


_PLAIN = (bool, int, type(None))


def _check_scalar(value: Any, path: str) -> bool:
    """Check a str/float/int; False when ``value`` is not a scalar."""
    if isinstance(value, str):
        if not value.isascii():
            try:
                value.encode("utf-8")
            except UnicodeEncodeError as err:
                raise AuditInputError(f"{path}: string is not valid UTF-8 ({err.reason})") from err
        return True
    if isinstance(value, float):
        if not math.isfinite(value):
            raise AuditInputError(f"{path}: {value!r} is not allowed in JSON; use null or a string")
        return True
    return isinstance(value, bool | int) or value is None


def _check(value: Any, path: str) -> None:
    """Raise :class:`AuditInputError` for anything that is not a plain JSON value."""
    if type(value) in _PLAIN or _check_scalar(value, path):
        return
    if isinstance(value, Mapping):
        for key, item in value.items():
            if type(key) is not str:
                raise AuditInputError(f"{path}: key {key!r} is {type(key).__name__}; JSON object keys must be str")
            if type(item) not in _PLAIN:
                _check(item, f"{path}.{key}")
        return
    if isinstance(value, list | tuple):
        for index, item in enumerate(value):
            _check(item, f"{path}[{index}]")
        return
    raise AuditInputError(
        f"{path}: {type(value).__name__} is not a JSON type; convert it first "
        "(e.g. datetime -> ISO 8601 string, Decimal -> str, bytes -> hex)"
    )


def canonical_json(value: Any, *, path: str = "details") -> str:
    """The canonical JSON text of ``value`` (see the module docstring); raises AuditInputError."""
    _check(value, path)
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False)


def to_time_us(moment: datetime) -> int:
    """Microseconds since the Unix epoch (UTC) of a timezone-aware datetime."""
    if moment.tzinfo is None:
        raise AuditInputError("time must be timezone-aware (e.g. datetime.now(UTC))")
    return (moment - EPOCH) // _ONE_US


def from_time_us(time_us: int) -> datetime:
    """The UTC datetime of a microsecond timestamp."""
    return EPOCH + timedelta(microseconds=time_us)


def iso_time(time_us: int) -> str:
    """ISO 8601 UTC text with microseconds, e.g. ``2026-11-22T10:00:00.000000Z``."""
    return from_time_us(time_us).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def parse_iso_time(text: str) -> datetime:
    """Inverse of :func:`iso_time`."""
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC)


def entry_bytes(  # noqa: PLR0917 - the fields of the encoding, in encoding order
    seq: int, time_us: int, actor: str, action: str, subject: str, details: str, prev_hash: bytes
) -> bytes:
    """The canonical encoding of one entry (hashed by :func:`entry_hash`)."""
    a = actor.encode()
    b = action.encode()
    c = subject.encode()
    d = details.encode()
    return b"".join(
        (
            ENTRY_TAG,
            _HEAD.pack(seq, time_us),
            _LEN.pack(len(a)),
            a,
            _LEN.pack(len(b)),
            b,
            _LEN.pack(len(c)),
            c,
            _LEN.pack(len(d)),
            d,
            prev_hash,
        )
    )


def entry_hash(  # noqa: PLR0917 - the fields of the encoding, in encoding order
    seq: int, time_us: int, actor: str, action: str, subject: str, details: str, prev_hash: bytes
) -> bytes:
    """SHA-256 of the canonical encoding of an entry: its ``entry_hash`` and Merkle leaf data."""
    return sha256(entry_bytes(seq, time_us, actor, action, subject, details, prev_hash)).digest()
