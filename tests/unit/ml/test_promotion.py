"""The promotion module's pure parts: the approval's answer, the evaluation id, the metadata check."""

from __future__ import annotations

import pytest

from scrollintel.approvals.outcome import GateDecision
from scrollintel.ml import promotion
from scrollintel.ml.promotion import RunContext

pytestmark = pytest.mark.unit


def test_the_gate_answer_is_granted_rejected_expired_or_absent() -> None:
    approved = {"chosen_options": ["Approve"], "params_input": {}, "responded_by_user": {"id": "7", "name": "ml.lead"}}
    rejected = {
        "chosen_options": ["Reject"],
        "params_input": {"comment": "fairness too close"},
        "responded_by_user": {"id": "7", "name": "ml.lead"},
    }
    expired = {"chosen_options": ["Reject"], "params_input": {}, "responded_by_user": None}

    assert GateDecision.from_result(approved) == GateDecision("granted", "ml.lead", None)
    assert GateDecision.from_result(rejected) == GateDecision("rejected", "ml.lead", "fairness too close")
    assert (
        GateDecision.from_result(rejected).describe("promotion") == "promotion rejected by ml.lead: fairness too close"
    )  # type: ignore[union-attr]
    assert GateDecision.from_result(expired) == GateDecision("expired", None, None)
    assert GateDecision.from_result(expired).describe("promotion") == "the promotion request expired without an answer"  # type: ignore[union-attr]
    assert GateDecision.from_result(None) is None and GateDecision.from_result({}) is None


def test_an_evaluation_id_is_stable_per_dag_run_and_model() -> None:
    one = RunContext("ml_churn_retrain", "manual__1").evaluation_id("churn")
    assert one == RunContext("ml_churn_retrain", "manual__1", "other").evaluation_id("churn")
    assert one != RunContext("ml_churn_retrain", "manual__2").evaluation_id("churn")
    assert RunContext().evaluation_id("churn") != RunContext().evaluation_id("churn")


def test_the_metadata_check_leaves_the_signature_to_its_own_check() -> None:
    only_signature = promotion._metadata_check(["the model was logged without a signature"])
    more = promotion._metadata_check(["the model was logged without a signature", "its run has no tag x"])

    assert only_signature.passed
    assert not more.passed and more.reason == "its run has no tag x"
