"""Canonical encodings (what is hashed) and the personal-data rule (what may be stored)."""

from __future__ import annotations

import math
from datetime import UTC, datetime
from decimal import Decimal
from hashlib import sha256

import pytest

from scrollintel.audit import privacy
from scrollintel.audit.canonical import (
    GENESIS_HASH,
    canonical_json,
    entry_bytes,
    entry_hash,
    from_time_us,
    iso_time,
    parse_iso_time,
    to_time_us,
)
from scrollintel.audit.errors import AuditInputError

pytestmark = pytest.mark.unit


# -- canonical JSON --------------------------------------------------------------------------


def test_canonical_json_sorts_keys_without_whitespace_and_keeps_unicode() -> None:
    value = {"b": [1, 2.5, None, True], "a": {"z": "é", "y": "日本"}}
    assert canonical_json(value) == '{"a":{"y":"日本","z":"é"},"b":[1,2.5,null,true]}'
    assert canonical_json({"b": 1, "a": 2}) == canonical_json({"a": 2, "b": 1})
    assert canonical_json({"t": (1, 2)}) == canonical_json({"t": [1, 2]})


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ({"x": math.nan}, r"details\.x: nan is not allowed in JSON"),
        ({"x": [1, math.inf]}, r"details\.x\[1\]: inf is not allowed"),
        ({"at": datetime(2026, 1, 1, tzinfo=UTC)}, r"details\.at: datetime is not a JSON type.*ISO 8601"),
        ({"amount": Decimal("1.5")}, r"details\.amount: Decimal is not a JSON type"),
        ({"raw": b"\x00"}, r"details\.raw: bytes is not a JSON type"),
        ({"tags": {"a"}}, r"details\.tags: set is not a JSON type"),
        ({1: "x"}, r"details: key 1 is int; JSON object keys must be str"),
        ({"s": "\ud800"}, r"details\.s: string is not valid UTF-8"),
    ],
)
def test_canonical_json_refuses_what_could_not_be_rehashed(value: object, message: str) -> None:
    with pytest.raises(AuditInputError, match=message):
        canonical_json(value)


# -- entry encoding --------------------------------------------------------------------------


def test_entry_hash_is_sha256_of_the_documented_encoding() -> None:
    encoded = entry_bytes(7, 1_000_000, "dag:x", "a.b", "dataset:y", '{"n":1}', GENESIS_HASH)
    expected = (
        b"scrollintel.audit.entry.v1\n"
        + (7).to_bytes(8, "big")
        + (1_000_000).to_bytes(8, "big")
        + b"\x00\x00\x00\x05dag:x"
        + b"\x00\x00\x00\x03a.b"
        + b"\x00\x00\x00\x09dataset:y"
        + b'\x00\x00\x00\x07{"n":1}'
        + GENESIS_HASH
    )
    assert encoded == expected
    assert entry_hash(7, 1_000_000, "dag:x", "a.b", "dataset:y", '{"n":1}', GENESIS_HASH) == sha256(expected).digest()


def test_length_prefixes_make_field_boundaries_unambiguous() -> None:
    one = entry_hash(0, 0, "ab", "c", "s", "{}", GENESIS_HASH)
    two = entry_hash(0, 0, "a", "bc", "s", "{}", GENESIS_HASH)
    assert one != two


def test_times_round_trip_in_microseconds() -> None:
    moment = datetime(2026, 11, 22, 10, 0, 0, 123456, tzinfo=UTC)
    us = to_time_us(moment)
    assert from_time_us(us) == moment
    assert iso_time(us) == "2026-11-22T10:00:00.123456Z"
    assert parse_iso_time(iso_time(us)) == moment
    with pytest.raises(AuditInputError, match="timezone-aware"):
        to_time_us(datetime(2026, 1, 1))


# -- personal data ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        ("contact jane.doe+news@example.co.uk please", "email"),
        ("a@b.co", "email"),
        ("call +44 20 7946 0958 now", "phone"),
        ("0044 20 7946 0958", "phone"),
        ("(555) 010-0199", "phone"),
        ("555-010-0199", "phone"),
        ("card 4111 1111 1111 1111", "card"),
        ("4111-1111-1111-1111", "card"),
    ],
)
def test_personal_data_is_recognised(text: str, kind: str) -> None:
    assert privacy.personal_data_kind(text) == kind


@pytest.mark.parametrize(
    "text",
    [
        "dataset:raw.shop__orders",
        "scheduled__2026-11-22T10:00:00+00:00",
        "manual__2026-11-22T10:00:00.123456+00:00",
        "2026-11-22T10:00:00.123456Z",
        "123e4567-e89b-12d3-a456-426614174000",
        sha256(b"x").hexdigest(),
        "model:churn@v3",
        "rows 1234567 loaded in 12.5 s",
        "customer:000123456",
        "version 3.3.2",
    ],
)
def test_ids_times_and_hashes_are_not_mistaken_for_personal_data(text: str) -> None:
    assert privacy.personal_data_kind(text) is None


@pytest.mark.parametrize("key", ["email", "E-Mail", "customer_email", "phone_number", "first_name", "ip_address"])
def test_personal_keys(key: str) -> None:
    assert privacy.is_personal_key(key)


@pytest.mark.parametrize("key", ["name", "dataset", "emails_sent", "row_count", "dag_id", "mailbox_id"])
def test_ordinary_keys(key: str) -> None:
    assert not privacy.is_personal_key(key)


def test_redaction_replaces_values_and_lists_paths_only() -> None:
    clean, found = privacy.redact_details(
        {
            "customer_id": 42,
            "customer_email": "x@example.com",
            "phone": None,
            "notes": ["ok", "reach me at +1 202 555 0143"],
            "nested": {"first_name": "Ada", "rows": 3},
        }
    )
    assert clean == {
        "customer_id": 42,
        "customer_email": "[redacted:personal-field]",
        "phone": None,
        "notes": ["ok", "[redacted:phone]"],
        "nested": {"first_name": "[redacted:personal-field]", "rows": 3},
        "_redacted": ["details.customer_email", "details.nested.first_name", "details.notes[1]"],
    }
    assert "x@example.com" not in repr(found) and "Ada" not in repr(found)
