"""PII validators and classification decisions (no database)."""

from __future__ import annotations

from datetime import date

import pytest

from scrollintel.config import load_governance
from scrollintel.ingest import classify
from scrollintel.ingest.connectors.base import SourceColumn

pytestmark = pytest.mark.unit


@pytest.mark.parametrize(
    ("validator", "good", "bad"),
    [
        (
            "email",
            ["ada.lovelace12@example.com", "o'brien+x@mail.example.org", "A_B@sub.example.co.uk"],
            ["not an email", "a@b", "a@@example.com", "x" * 65 + "@example.com", "a b@example.com", ""],
        ),
        (
            "phone",
            ["+14155550123", "+44 20 7946 0958", "(555) 010-0199", "030 1234567", "+49-151-23456789 ext. 12"],
            ["12345", "2026-01-31", "+0123456789", "1111111111", "call me", "12.50"],
        ),
        (
            "iban",
            ["GB82WEST12345698765432", "DE89 3704 0044 0532 0130 00", "fr1420041010050500013m02606"],
            ["GB83WEST12345698765432", "DE89370400440532013001", "XX00", "GB82WEST1234569876543"],
        ),
        (
            "luhn",
            ["4242424242424242", "4000 0000 0000 0002", "3782-822463-10005"],
            ["4242424242424241", "0000000000000000", "1234", "4242x42424242424"],
        ),
        (
            "date_of_birth",
            ["1985-03-12", "12/03/1985", "1990-01-01 00:00:00", "31.12.1950"],
            ["2099-01-01", "1850-01-01", "1985-02-30", "yesterday", "12"],
        ),
        (
            "address",
            ["12 High Street", "Hauptstrasse 12", "Calle Mayor 7", "221B Baker Street", "Prinsengracht 263"],
            ["London", "Classic Lamp", "12", "SW1A 1AA", "Street"],
        ),
        (
            "person_name",
            ["Ada Lovelace", "Mary", "Sean O'Brien", "Daan de Jong", "Jan van den Berg", "Zoë"],
            ["ada lovelace", "R2D2", "Hello World Foo Bar Baz Qux", "", "12 Main"],
        ),
    ],
)
def test_validators(validator: str, good: list[str], bad: list[str]) -> None:
    check = classify.VALIDATORS[validator]
    assert [value for value in good if not check(value)] == []
    assert [value for value in bad if check(value)] == []


def test_a_card_column_with_other_unicode_digits_is_refused_not_an_error() -> None:
    # Superscript digits count as digits for str.isdigit but are not decimal digits.
    assert not classify.VALIDATORS["luhn"]("\u00b2\u00b3" * 8)


def test_date_of_birth_is_relative_to_today() -> None:
    assert classify.is_date_of_birth("2020-06-01", today=date(2026, 1, 1))
    assert not classify.is_date_of_birth("2026-06-01", today=date(2026, 1, 1))


CONFIG = load_governance().classification


def _decide(column: str, values: list[str] | None, overrides: dict[str, str] | None = None, pg_type: str = "text"):  # type: ignore[no-untyped-def]
    return classify.classify_column(column, values, CONFIG, overrides or {}, pg_type=pg_type)


def test_name_and_values_must_agree_for_classes_with_validators() -> None:
    emails = [f"user{i}@example.com" for i in range(50)]
    found = _decide("email", emails)
    assert (found.class_id, found.method, found.match_ratio, found.sensitivity, found.masking) == (
        "email",
        "name+values",
        1.0,
        "confidential",
        "hash",
    )
    # a column named like e-mail holding something else is not tagged e-mail
    assert _decide("email_opt_in", ["yes", "no"] * 25).class_id is None


def test_threshold_counts_non_null_values() -> None:
    mostly = [f"user{i}@example.com" for i in range(80)] + ["n/a"] * 20
    assert _decide("contact_email", mostly).class_id == "email"  # 0.8 >= 0.8
    assert _decide("contact_email", mostly[:79] + ["n/a"] * 21).class_id is None


def test_classes_without_validators_go_by_name() -> None:
    found = _decide("postal_code", ["not even a code"])
    assert (found.class_id, found.method, found.sensitivity) == ("postal_code", "name", "internal")


def test_a_column_without_values_yet_is_tagged_by_name() -> None:
    assert (_decide("phone", []).class_id, _decide("phone", []).method) == ("phone", "name")


def test_overrides_win_both_ways() -> None:
    names = ["Classic Lamp", "Eco Kettle"] * 20
    assert _decide("name", names).class_id == "name"  # product names look like person names ...
    assert _decide("name", names, {"name": "none"}).method == "override"  # ... hence `name: none`
    assert _decide("name", names, {"name": "none"}).class_id is None
    forced = _decide("secret", ["x"], {"secret": "iban"})
    assert (forced.class_id, forced.method, forced.sensitivity) == ("iban", "override", "restricted")


def test_strong_validators_find_pii_in_unexpected_columns() -> None:
    cards = ["4242424242424242", "4000000000000002", "5555555555554444"] * 10
    found = _decide("instrument", cards)
    assert (found.class_id, found.method) == ("payment_card", "values")
    assert _decide("instrument", cards[:10]).class_id is None  # too few values to judge on values alone
    assert _decide("instrument", cards, pg_type="jsonb").class_id is None  # only text columns


def test_columns_to_sample_skips_overrides_numbers_and_name_only_classes() -> None:
    columns = [
        SourceColumn("customer_id", "bigint", "bigint"),
        SourceColumn("email", "text", "text"),
        SourceColumn("postal_code", "text", "text"),
        SourceColumn("birth_date", "date", "date"),
        SourceColumn("name", "text", "text"),
        SourceColumn("notes", "text", "text"),
    ]
    assert classify.columns_to_sample(columns, CONFIG, {"name": "none"}) == ["email", "birth_date", "notes"]
