"""Masking policies in governance/classification.yaml: the five the dbt macros implement, nothing else."""

from __future__ import annotations

from pathlib import Path

import pytest

from scrollintel.config import load_governance, validate_governance
from tests.unit.conftest import REPO_GOVERNANCE

pytestmark = pytest.mark.unit


def _set_policy(gov: Path, class_id: str, policy: str) -> None:
    path = gov / "classification.yaml"
    text = path.read_text(encoding="utf-8")
    start = text.index(f"  - id: {class_id}\n")
    line = text.index("    masking: ", start)
    end = text.index("\n", line)
    path.write_text(text[:line] + f"    masking: {policy}" + text[end:], encoding="utf-8")


def test_the_repository_generalises_birth_dates_addresses_and_postcodes() -> None:
    policies = {item.id: item.masking for item in load_governance(REPO_GOVERNANCE).classification.classes}
    assert policies == {
        "email": "hash",
        "phone": "partial",
        "name": "hash",
        "address": "generalise",
        "postal_code": "generalise",
        "birth_date": "generalise",
        "payment_card": "partial",
        "iban": "partial",
    }


@pytest.mark.parametrize("policy", ["hash", "partial", "generalise", "redact", "drop"])
def test_every_implemented_policy_is_accepted(gov: Path, policy: str) -> None:
    _set_policy(gov, "address", policy)
    assert validate_governance(gov) == []


def test_an_unknown_policy_is_refused_naming_file_key_and_value(gov: Path) -> None:
    _set_policy(gov, "birth_date", "tokenise")
    assert [str(problem) for problem in validate_governance(gov)] == [
        "governance/classification.yaml:classes[5].masking: input should be 'hash', 'partial', 'generalise', "
        "'redact' or 'drop' (got 'tokenise')"
    ]
