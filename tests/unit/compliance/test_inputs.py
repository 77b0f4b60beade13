"""What a person types into a subject request or a legal hold: refused with a message naming the field."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from scrollintel.approvals.outcome import GateDecision
from scrollintel.compliance.retention import HoldRequest
from scrollintel.compliance.subjects import Identifiers, SubjectInputError

pytestmark = pytest.mark.unit

NOW = datetime(2026, 12, 1, tzinfo=UTC)
KNOWN = {"raw.shop__orders", "raw.shop__customers"}


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"table": "raw.nope", "until": "2027-01-01", "reason": "x"}, "params.table: 'raw.nope' is not a table"),
        ({"table": "raw.shop__orders", "until": "soon", "reason": "x"}, "params.until: 'soon' is not a date"),
        (
            {"table": "raw.shop__orders", "until": "2026-01-01", "reason": "x"},
            "params.until: 2026-01-01 is not in the future",
        ),
        ({"table": "raw.shop__orders", "until": "2027-01-01", "reason": " "}, "params.reason: say why"),
    ],
)
def test_a_hold_request_names_the_bad_param(params: dict[str, str], message: str) -> None:
    with pytest.raises(ValueError, match=message.replace("(", r"\(")):
        HoldRequest.parse(params, KNOWN, now=NOW)


def test_a_hold_request_round_trips_through_xcom() -> None:
    hold = HoldRequest.parse({"table": "raw.shop__orders", "until": "2027-06-30", "reason": "case 7"}, KNOWN, now=NOW)
    assert HoldRequest.from_dict(hold.as_dict()) == hold


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({}, "name the subject with --email or --customer-id"),
        ({"email": "someone"}, "--email: not an e-mail address"),
        ({"customer_id": "4x"}, "--customer-id: not a customer id"),
    ],
)
def test_identifiers_are_checked_without_repeating_the_value(kwargs: dict[str, str], message: str) -> None:
    with pytest.raises(SubjectInputError) as caught:
        Identifiers.of(**kwargs)
    assert message in str(caught.value)
    assert all(value not in str(caught.value) for value in kwargs.values())


def test_identifiers_never_show_their_values() -> None:
    identifiers = Identifiers.of(email=" a.b@example.org ", customer_id=" 42 ")
    assert identifiers.emails == ("a.b@example.org",) and identifiers.keys == ("42",)
    assert "example" not in repr(identifiers) and "42" not in repr(identifiers)
    assert Identifiers.from_json(identifiers.as_json()).sha256() == identifiers.sha256()


@pytest.mark.parametrize(
    ("result", "expected"),
    [
        (None, None),
        ({"chosen_options": ["Approve"], "responded_by_user": {"name": "co-officer"}}, ("granted", "co-officer")),
        ({"chosen_options": ["Reject"], "responded_by_user": {"id": "co-privacy"}}, ("rejected", "co-privacy")),
        ({"chosen_options": ["Reject"], "responded_by_user": None}, ("expired", None)),
    ],
)
def test_the_gate_answer_becomes_a_decision(
    result: dict[str, object] | None, expected: tuple[str, str | None] | None
) -> None:
    decision = GateDecision.from_result(result)
    assert (decision.outcome, decision.decided_by) == expected if decision else expected is None
