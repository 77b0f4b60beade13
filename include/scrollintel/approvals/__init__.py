"""Approval gates: one governed gate for every decision, answered from Slack or the Airflow UI.

A gate is an Airflow human-in-the-loop task (:mod:`airflow.providers.standard.operators.hitl`):
Airflow keeps the request, the assigned approvers, the answer and who gave it, and resumes the
waiting task. This package adds what a governed decision needs around it: the policy of
``governance/approvals.yaml`` resolved to Airflow users (:mod:`~scrollintel.approvals.policy`),
the gate operator that applies it and records every request, answer and expiry in the audit
ledger (:mod:`~scrollintel.approvals.gate`), and the Slack messages and answers
(:mod:`~scrollintel.approvals.slack`). Importing it is cheap (no Airflow, no database).
"""
