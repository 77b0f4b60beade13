"""Answers are recorded as the named Airflow user: the token the app mints for them, and the HITL path."""

from __future__ import annotations

from typing import Any

import pytest

from scrollintel.approvals.decisions import Target, UnknownUser, token_for
from tests.conftest import TEST_USER

pytestmark = pytest.mark.unit


def test_the_token_minted_for_an_answer_is_the_named_users(auth_manager: Any) -> None:
    token = token_for(TEST_USER)
    claims = auth_manager._get_token_validator().validated_claims(token)  # type: ignore[attr-defined]

    assert claims["sub"] == TEST_USER
    assert claims["exp"] - claims["iat"] <= 60  # short-lived: one answer


def test_no_token_for_a_name_airflow_does_not_know(auth_manager: Any) -> None:
    with pytest.raises(UnknownUser):
        token_for("nobody-here")


def test_the_hitl_path_quotes_every_part_of_the_target() -> None:
    target = Target("ingest_shop", "manual__2026-12-07T10:00:00+00:00", "gate.approval_1", -1)

    assert target.path == (
        "/api/v2/dags/ingest_shop/dagRuns/manual__2026-12-07T10%3A00%3A00%2B00%3A00"
        "/taskInstances/gate.approval_1/-1/hitlDetails"
    )
