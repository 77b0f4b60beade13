"""Keep personal data out of the ledger, so GDPR erasure never requires rewriting the chain.

The rule: **an audit entry references people and records by id only.** Anything that looks
like personal data is replaced *before* it is hashed or queued, so it never reaches the
database, the outbox file or a log line:

- a value under a key that names personal data (``email``, ``phone``, ``first_name``,
  ``address``, ``date_of_birth``, ``ip_address``, ... also as a suffix: ``customer_email``)
  is replaced whatever it looks like (``null`` stays ``null``);
- a string that contains an e-mail address, a phone number written in international form
  (``+44 20 7946 0958``, ``0044...``) or as a grouped national number (``(555) 010-0199``,
  ``555-010-0199``), or a payment card number (13-19 digits passing the Luhn check) is
  replaced, wherever it appears (``details`` values, ``subject`` and ``actor``).

A replaced value becomes ``"[redacted:<kind>]"``, and the entry's details gain a
``"_redacted"`` list with the *paths* that were redacted (never the values), so an auditor
sees that the caller sent something it should not have. The writer logs a warning naming
the action and the paths only. Integers are left alone (row counts, ids), so are keys.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from scrollintel.checksums import luhn_valid

REDACTED_KEY = "_redacted"

#: Keys whose values are personal data whatever they look like (compared lower-cased, with
#: ``-`` and spaces read as ``_``; a key also matches when it ends with ``_<name>``).
PERSONAL_KEYS = frozenset(
    {
        "email",
        "e_mail",
        "email_address",
        "mail",
        "phone",
        "phone_number",
        "mobile",
        "telephone",
        "fax",
        "first_name",
        "last_name",
        "full_name",
        "given_name",
        "family_name",
        "surname",
        "person_name",
        "customer_name",
        "contact_name",
        "address",
        "street",
        "street_address",
        "postal_address",
        "postcode",
        "zip_code",
        "birth_date",
        "date_of_birth",
        "dob",
        "ssn",
        "social_security_number",
        "national_id",
        "passport",
        "passport_number",
        "tax_id",
        "iban",
        "card_number",
        "credit_card",
        "ip",
        "ip_address",
    }
)

_EMAIL = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}")
_PHONE_INTL = re.compile(r"(?<![\w+])(?:\+|00)[1-9]\d{0,3}(?:[ .()-]{0,2}\d){6,14}(?!\w)")
_PHONE_GROUPED = re.compile(r"(?<![\w-])\(?\d{3}\)?[ .-]\d{3}[ .-]\d{4}(?![\w-])")
_CARD = re.compile(r"(?<![\w-])\d(?:[ -]?\d){12,18}(?![\w-])")
#: Cheap pre-check: phone and card numbers have at least 7 digits close together.
_MANY_DIGITS = re.compile(r"\d(?:\D{0,3}\d){6}")
_PERSONAL_KEY = re.compile(
    r"^(?:" + "|".join(sorted(PERSONAL_KEYS, key=len, reverse=True)) + r")$"
    r"|_(?:" + "|".join(sorted((k for k in PERSONAL_KEYS if len(k) > 3), key=len, reverse=True)) + r")$"
)


def personal_data_kind(text: str) -> str | None:
    """The kind of personal data found in ``text`` (``email``, ``phone``, ``card``), or None."""
    if "@" in text and _EMAIL.search(text):
        return "email"
    if not _MANY_DIGITS.search(text):
        return None
    for match in _CARD.finditer(text):
        digits = re.sub(r"\D", "", match.group())
        if 13 <= len(digits) <= 19 and luhn_valid(digits):
            return "card"
    if _PHONE_INTL.search(text) or _PHONE_GROUPED.search(text):
        return "phone"
    return None


@lru_cache(maxsize=4096)
def is_personal_key(key: str) -> bool:
    """True when a details key names personal data (see :data:`PERSONAL_KEYS`)."""
    return _PERSONAL_KEY.search(key.strip().lower().replace("-", "_").replace(" ", "_")) is not None


@dataclass
class Redaction:
    """What :func:`redact` replaced: the path and kind of each value (never the value itself)."""

    paths: list[str] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.paths)


_SCALARS = (int, float, bool, type(None))


def _redact_str(value: str, path: str, found: Redaction) -> str:
    hit = personal_data_kind(value) if len(value) >= 6 else None
    if hit:
        found.paths.append(path)
        return f"[redacted:{hit}]"
    return value


def _redact(value: Any, path: str, found: Redaction, *, by_key: bool) -> Any:
    if by_key and value is not None:
        found.paths.append(path)
        return "[redacted:personal-field]"
    kind = type(value)
    result = value
    if kind is str:
        result = _redact_str(value, path, found)
    elif kind in _SCALARS:
        pass
    elif kind is dict or isinstance(value, Mapping):
        result = {}
        for key, item in value.items():
            personal = type(key) is str and is_personal_key(key)
            if not personal and type(item) in _SCALARS:
                result[key] = item
            else:
                result[key] = _redact(item, f"{path}.{key}", found, by_key=personal)
    elif isinstance(value, list | tuple):
        result = [_redact(item, f"{path}[{index}]", found, by_key=False) for index, item in enumerate(value)]
    return result


def redact_details(details: Mapping[str, Any] | None) -> tuple[dict[str, Any], Redaction]:
    """``details`` with personal data replaced, plus what was replaced (paths only).

    When anything was replaced, the returned details carry the paths under ``"_redacted"``.
    """
    found = Redaction()
    if details is None:
        return {}, found
    if not isinstance(details, Mapping):
        # Left for canonical_json to refuse with a clear message.
        return details, found  # type: ignore[return-value]
    clean = _redact(details, "details", found, by_key=False)
    if found:
        clean[REDACTED_KEY] = sorted(set(found.paths))
    return clean, found


def redact_text(text: str, path: str, found: Redaction) -> str:
    """``text`` itself, or ``"[redacted:<kind>]"`` when it contains personal data."""
    return _redact_str(text, path, found)
