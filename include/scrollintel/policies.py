"""Airflow cluster policies: every DAG must say who owns it, what it is and how sensitive its data is.

Registered through the ``airflow.policy`` entry point (pyproject.toml), so every Airflow process
that has the package installed enforces them; no ``airflow_local_settings.py`` to copy around.
Rules come from ``governance/dag_policy.yaml`` (tags) and ``governance/teams.yaml`` (owners).
A violating DAG fails to load; its import error names the rule and what to change.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from airflow.policies import hookimpl

if TYPE_CHECKING:
    from airflow.sdk import DAG
    from airflow.sdk.types import Operator

    from scrollintel.config.dag_policy import DagPolicy


def _policy() -> tuple[DagPolicy, frozenset[str]]:
    from airflow.exceptions import AirflowClusterPolicyViolation

    from scrollintel.config import load_governance
    from scrollintel.exceptions import ConfigError

    try:
        governance = load_governance()
    except ConfigError as err:
        raise AirflowClusterPolicyViolation(f"[rule governance-config] governance config is invalid: {err}") from err
    return governance.dag_policy, governance.team_ids


def dag_violations(dag: DAG) -> list[str]:
    """Every way ``dag`` breaks the DAG policy (empty when it complies)."""
    policy, teams = _policy()
    problems: list[str] = []
    tags = sorted(dag.tags or [])
    if "tags" in policy.required_fields and not tags:
        problems.append(
            f"[rule tags] DAG {dag.dag_id!r} has no tags; add approved tags from governance/dag_policy.yaml"
        )
    unapproved = policy.unapproved_tags(tags)
    if unapproved:
        problems.append(
            f"[rule approved-tags] DAG {dag.dag_id!r} has tags not in governance/dag_policy.yaml: "
            f"{', '.join(unapproved)} (approved: {', '.join(policy.approved_tags)})"
        )
    classes = policy.classification_of(tags)
    if policy.require_classification_tag and len(classes) != 1:
        problems.append(
            f"[rule classification-tag] DAG {dag.dag_id!r} needs exactly one data classification tag "
            f"({' | '.join(policy.classification_tags)}); it has {len(classes)}"
            + (f": {', '.join(classes)}" if classes else "")
        )
    if "doc_md" in policy.required_fields and not (dag.doc_md or "").strip():
        problems.append(f"[rule doc_md] DAG {dag.dag_id!r} has no doc_md saying why it exists")
    if "description" in policy.required_fields and not (dag.description or "").strip():
        problems.append(f"[rule description] DAG {dag.dag_id!r} has no description")
    if "owner" in policy.required_fields:
        for task in dag.tasks:
            problem = _owner_violation(task, teams)
            if problem:
                problems.append(problem)
    return problems


def _owner_violation(task: Operator, teams: frozenset[str]) -> str | None:
    if task.owner in teams:
        return None
    return (
        f"[rule owner] task {task.dag_id}.{task.task_id} has owner {task.owner!r}, which is not a team "
        f"in governance/teams.yaml (known: {', '.join(sorted(teams))}); set default_args['owner']"
    )


@hookimpl
def dag_policy(dag: DAG) -> None:
    """Reject a DAG that breaks the governance DAG policy, naming every rule it breaks."""
    from airflow.exceptions import AirflowClusterPolicyViolation

    problems = dag_violations(dag)
    if problems:
        raise AirflowClusterPolicyViolation("; ".join(problems))
