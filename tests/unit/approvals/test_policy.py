"""Approval policies resolved to Airflow users, from the repository's governance files."""

from __future__ import annotations

from datetime import timedelta

import pytest

from scrollintel.approvals.policy import NoApprover, resolve

pytestmark = pytest.mark.unit


def test_a_policy_names_the_members_of_its_teams_with_the_role_it_asks_for() -> None:
    policy = resolve("schema_change")

    assert policy.approvers == ("dp-lead", "an-lead")
    assert policy.channels == ("#data-platform", "#analytics")
    assert policy.timeout == timedelta(hours=24)
    assert policy.min_approvals == 1


def test_a_team_without_a_role_counts_every_member() -> None:
    assert resolve("budget_increase").approvers == ("fi-controller", "fi-analyst")


def test_separation_of_duties_leaves_the_requester_out() -> None:
    policy = resolve("schema_change")

    assert policy.approvers_for("dp-lead") == ("an-lead",)
    assert policy.approvers_for("dp-engineer") == ("dp-lead", "an-lead")
    assert policy.approvers_for(None) == ("dp-lead", "an-lead")


def test_earlier_approvers_of_the_same_request_are_left_out_of_the_next_step() -> None:
    policy = resolve("retention_override")

    assert policy.approvers_for("co-officer", excluded=["co-privacy"]) == ("dp-lead",)


def test_a_request_nobody_may_answer_is_refused_with_the_reason() -> None:
    policy = resolve("schema_change")

    with pytest.raises(NoApprover, match="the requester may not approve their own request"):
        policy.approvers_for("dp-lead", excluded=["an-lead"])


def test_an_unknown_subject_names_the_known_ones() -> None:
    with pytest.raises(NoApprover, match="known: model_promotion, schema_change"):
        resolve("coffee_order")
