"""The Luhn and IBAN checks shared by classification, the audit redaction and the shop demo."""

from __future__ import annotations

import pytest

from scrollintel.checksums import IBAN_LENGTHS, iban_valid, luhn_valid

pytestmark = pytest.mark.unit


@pytest.mark.parametrize(
    "number",
    ["4242424242424242", "4111111111111111", "378282246310005", "5555555555554444", "0", "18"],
)
def test_luhn_accepts_numbers_with_a_right_check_digit(number: str) -> None:
    assert luhn_valid(number)


@pytest.mark.parametrize(
    "number",
    ["4242424242424241", "378282246310006", "1", "81"],
)
def test_luhn_refuses_a_wrong_check_digit(number: str) -> None:
    assert not luhn_valid(number)


@pytest.mark.parametrize(
    "text",
    ["", "4242 4242 4242 4242", "4242-4242-4242-4242", "42424242424242x2", "\u00b2\u00b2", "-18"],
)
def test_luhn_refuses_anything_but_decimal_digits_without_raising(text: str) -> None:
    assert not luhn_valid(text)


def test_luhn_reads_any_decimal_digit() -> None:
    # Arabic-Indic digits are decimal digits: the check applies to their values.
    assert luhn_valid("\u0661\u0668")  # "18"
    assert not luhn_valid("\u0668\u0661")  # "81"


@pytest.mark.parametrize(
    "iban",
    [
        "GB82WEST12345698765432",
        "DE89370400440532013000",
        "DE89 3704 0044 0532 0130 00",
        "de89 3704 0044 0532 0130 00",
        "FR1420041010050500013M02606",
        "NL91ABNA0417164300",
        "NO9386011117947",
        "GB82\tWEST\n12345698765432",
    ],
)
def test_iban_accepts_valid_numbers_in_any_spacing_and_case(iban: str) -> None:
    assert iban_valid(iban)


@pytest.mark.parametrize(
    ("iban", "why"),
    [
        ("GB83WEST12345698765432", "wrong check digits"),
        ("GB82WEST1234569876543", "shorter than the country's length"),
        ("DE8937040044053201300000", "longer than the country's length"),
        ("XX00ABCDEFGHIJ", "shorter than any IBAN"),
        ("GB82-WEST-1234-5698-7654-32", "dashes are not IBAN separators"),
        ("8282WEST12345698765432", "no country code"),
        ("not an iban", "not the shape"),
        ("", "empty"),
    ],
)
def test_iban_refuses_invalid_values(iban: str, why: str) -> None:
    assert not iban_valid(iban), why


def test_iban_of_a_country_without_a_known_length_needs_only_shape_and_checksum() -> None:
    assert "XK" not in IBAN_LENGTHS
    assert iban_valid("XK051212012345678906")  # Kosovo, 20 characters
    assert not iban_valid("XK061212012345678906")
