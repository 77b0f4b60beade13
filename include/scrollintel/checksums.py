"""Check-digit algorithms of payment identifiers, shared by classification, audit and the demo.

- :func:`luhn_valid`: the Luhn (mod 10) check of payment card numbers (ISO/IEC 7812);
- :func:`iban_valid`: the shape, country length and mod-97 check of an IBAN (ISO 13616,
  check digits per ISO 7064 MOD 97-10).

Both are pure functions over a string: they never raise on bad input, they answer ``False``.
Callers decide which lengths and separators they accept around the checksum.
"""

from __future__ import annotations

import re

__all__ = ["IBAN_LENGTHS", "iban_valid", "luhn_valid"]

#: An IBAN without separators: country code, two check digits, a BBAN of 11-30 letters or digits.
_IBAN_SHAPE = re.compile(r"[A-Z]{2}[0-9]{2}[A-Z0-9]{11,30}")
_WHITESPACE = re.compile(r"\s")

#: ISO 13616 lengths of common countries (others: any length 15-34).
IBAN_LENGTHS = {
    "AT": 20, "BE": 16, "BG": 22, "CH": 21, "CY": 28, "CZ": 24, "DE": 22, "DK": 18, "EE": 20, "ES": 24,
    "FI": 18, "FR": 27, "GB": 22, "GR": 27, "HR": 21, "HU": 28, "IE": 22, "IS": 26, "IT": 27, "LI": 21,
    "LT": 20, "LU": 20, "LV": 21, "MT": 31, "NL": 18, "NO": 15, "PL": 28, "PT": 25, "RO": 24, "SE": 24,
    "SI": 19, "SK": 24,
}  # fmt: skip


def luhn_valid(digits: str) -> bool:
    """True when ``digits`` (decimal digits only, no separators) passes the Luhn check.

    An empty string, or one with any character that is not a decimal digit, is not valid.
    """
    if not digits.isdecimal():
        return False
    total = 0
    for position, char in enumerate(reversed(digits)):
        digit = int(char)
        if position % 2 == 1:
            # Doubling a digit above 4 gives two digits; their sum is the product minus 9.
            digit = digit * 2 - 9 if digit > 4 else digit * 2
        total += digit
    return total % 10 == 0


def iban_valid(value: str) -> bool:
    """True when ``value`` is an IBAN: its shape, its country's length and a mod-97 remainder of 1.

    Whitespace anywhere is ignored and letters may be lower-case (``de89 3704 ...``). A country
    missing from :data:`IBAN_LENGTHS` is accepted at any length of 15-34 characters.
    """
    text = _WHITESPACE.sub("", value).upper()
    if not _IBAN_SHAPE.fullmatch(text):
        return False
    expected = IBAN_LENGTHS.get(text[:2])
    if expected is not None and len(text) != expected:
        return False
    # Move the country code and check digits to the end and read letters as 10-35 (A=10).
    moved = text[4:] + text[:4]
    return int("".join(str(int(char, 36)) for char in moved)) % 97 == 1
