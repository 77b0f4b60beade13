"""Approval gates: governed decisions (``governance/approvals.yaml``) answered from Slack or the Airflow UI.

A gate is an Airflow human-in-the-loop task whose approvers come from ``governance/teams.yaml``;
every request, answer and expiry is written to the audit ledger. :mod:`~scrollintel.approvals.slack`
holds the Slack side: the Block Kit messages, the notifier posting them through the Airflow Slack
connection, and the verification and parsing of Slack's signed interactivity requests.
"""
