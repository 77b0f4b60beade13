"""The approval gate: an Airflow ``ApprovalOperator`` that applies a policy of ``governance/approvals.yaml``.

Airflow's human-in-the-loop operator keeps the request, the assigned users, the answer and who
gave it (``responded_by``), refuses answers from anyone not assigned (403) and a second answer
(409), shows the request in the UI's Required Actions, and resumes the waiting task. The gate adds
the governance around it:

- the approvers are the policy's teams and roles, resolved to Airflow users when the task runs
  (:mod:`scrollintel.approvals.policy`); with separation of duties the requester (an explicit
  ``requester``, else whoever triggered the DAG run) is not assigned, so Airflow refuses their
  answer;
- the response timeout is the policy's, and an unanswered request is rejected (``defaults``);
- every request, answer and expiry is an entry of the audit ledger with its context;
- ``min_approvals`` > 1 is a chain of gates (:func:`approval_gate`), each assigned to the
  approvers who have not approved an earlier step, so the approvals come from distinct people
  (ADR 0010: a human-in-the-loop task takes one answer).

A rejection, or an expiry, skips what follows the gate (``ApprovalOperator``); the gate itself
succeeds, because a "no" is an answer, not a failure.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from airflow.providers.standard.operators.hitl import ApprovalOperator
from airflow.sdk import Param
from airflow.sdk.bases.notifier import BaseNotifier

from scrollintel.approvals.decisions import PARKING_XCOM
from scrollintel.approvals.policy import ResolvedPolicy, resolve

if TYPE_CHECKING:
    from airflow.sdk import Context, TaskGroup

log = logging.getLogger(__name__)

#: The HITL parameter a decision's comment is written to (Slack, the Approvals page, Required Actions).
COMMENT_PARAM = "comment"
#: Outcomes as the ledger records them (``approval.<outcome>``).
GRANTED, REJECTED, EXPIRED, REQUESTED, NOTIFIED = "granted", "rejected", "expired", "requested", "notified"
#: Outcomes as the Slack message shows them.
SLACK_OUTCOMES = {GRANTED: "approved", REJECTED: "rejected", EXPIRED: "expired"}
#: XCom key of the Slack messages a request posted ([channel, ts] pairs), updated with the outcome.
SLACK_XCOM = "slack_messages"
#: XCom key of the request's deadline (shown again in the outcome message).
DEADLINE_XCOM = "deadline"
#: Title of each subject's request, before the summary.
TITLES = {
    "model_promotion": "Model promotion",
    "schema_change": "Schema change",
    "pii_access": "Access to personal data",
    "retention_override": "Retention override",
    "budget_increase": "Budget increase",
    "erasure": "Erasure of a data subject",
}


class ApprovalGate(ApprovalOperator):
    """One governed decision (see the module docstring).

    ``subject``: the kind of change, a policy of ``governance/approvals.yaml``; ``summary``: one
    line saying what is asked; ``details``: what an approver needs to decide, as a mapping (shown
    as a table) or text (Jinja-templated, so it may pull an upstream task's result); ``requester``:
    who asks (default: the user who triggered the DAG run); ``step``/``steps``: the position of
    this gate in a chain of distinct approvals (:func:`approval_gate` sets them).
    """

    template_fields: Sequence[str] = ("subject", "body", "summary", "details", "requester")
    ui_color = "#fde68a"

    def __init__(
        self,
        *,
        subject: str,
        summary: str,
        details: Mapping[str, Any] | str | None = None,
        requester: str | None = None,
        step: int = 1,
        steps: int = 1,
        earlier_steps: Sequence[str] = (),
        **kwargs: Any,
    ) -> None:
        if subject not in TITLES:
            raise ValueError(f"unknown approval subject {subject!r} (known: {', '.join(TITLES)})")
        self.decision = subject
        self.summary = summary
        self.details = details
        self.requester = requester
        self.step, self.steps = step, steps
        self.earlier_steps = tuple(earlier_steps)
        #: A schema change's columns (``SchemaDiff.as_dicts()``), shown as a table in Slack.
        self.column_changes: list[dict[str, Any]] = []
        title = f"{TITLES[subject]}: {summary}" + (f" (approval {step} of {steps})" if steps > 1 else "")
        kwargs.setdefault("params", {COMMENT_PARAM: Param("", type=["string", "null"], title="Comment")})
        # the policy's timeout from the start (the UI shows it); execute() reads the policy again
        kwargs.setdefault("response_timeout", resolve(subject).timeout)
        super().__init__(subject=title, defaults=["Reject"], **kwargs)

    # -- request ----------------------------------------------------------------------------------

    def execute(self, context: Context) -> Any:
        """Resolve the approvers, record the request, then wait (Airflow parks the task)."""
        policy = resolve(self.decision)
        requester = self.requester or _triggering_user(context)
        excluded = _earlier_approvers(context, self.earlier_steps)
        approvers = policy.approvers_for(requester, excluded=excluded)
        self.assigned_users = [{"id": user, "name": user} for user in approvers]
        self.response_timeout = policy.timeout
        details = _details(self.details)
        self.body = render_body(policy, self.summary, details, requester=requester, approvers=approvers)
        deadline = datetime.now(UTC) + policy.timeout  # Airflow's own is set when the task parks, a moment later
        context["ti"].xcom_push(key=DEADLINE_XCOM, value=deadline.isoformat(timespec="seconds"))
        self._record(
            context,
            REQUESTED,
            actor=requester,
            extra={
                "summary": self.summary,
                "details": details,
                "requester": requester,
                "approvers": list(approvers),
                "deadline": deadline.isoformat(timespec="seconds"),
            },
        )
        message = self._slack_message(context, requester, deadline, details)
        # posted once Airflow holds the request: a button pressed at once finds it
        self.notifiers = [*self.notifiers, SlackRequestNotifier(self, policy.channels, message)]
        return super().execute(context)

    def _slack_message(
        self, context: Context, requester: str | None, deadline: datetime, details: Mapping[str, Any] | str | None
    ) -> Any:
        from scrollintel.approvals import slack
        from scrollintel.approvals.decisions import api_base_url

        ti = context["ti"]
        map_index = ti.map_index if ti.map_index is not None else -1
        identity = slack.RequestIdentity(ti.dag_id, context["run_id"], ti.task_id, map_index)
        text = None
        if isinstance(details, Mapping):
            text = "\n".join(f"{key}: {_cell(value)}" for key, value in details.items())
        elif isinstance(details, str):
            text = details
        base = api_base_url()
        return slack.ApprovalMessage(
            identity=identity,
            subject=self.decision,
            summary=self.summary,
            requested_by=requester or "the schedule",
            deadline=deadline,
            task_url=slack.task_url(base, identity),
            approvals_url=slack.approvals_url(base),
            details=text or None,
            column_changes=self.column_changes,
        )

    # -- answer -------------------------------------------------------------------------------------

    def execute_complete(self, context: Context, event: dict[str, Any]) -> Any:
        """Record the answer (or the expiry), then let ``ApprovalOperator`` go on or skip what follows."""
        if "error" not in event:
            chosen = list(event.get("chosen_options") or [])
            expired = bool(event.get("timedout")) or event.get("responded_by_user") is None
            outcome = EXPIRED if expired else GRANTED if chosen == [self.APPROVE] else REJECTED
            responder = event.get("responded_by_user") or {}
            comment = (event.get("params_input") or {}).get(COMMENT_PARAM) or None
            # the user's name, as teams.yaml and the assigned users spell it (FAB's id is a database number)
            responded_by = responder.get("name") or responder.get("id") if responder else None
            self._record(
                context,
                outcome,
                actor=responded_by,
                extra={"comment": comment, "chosen_options": chosen, "responded_by": responded_by},
            )
            self._update_slack(context, outcome, responded_by, comment)
        return super().execute_complete(context, event)

    def _update_slack(self, context: Context, outcome: str, decided_by: str | None, comment: str | None) -> None:
        """Replace the request's Slack messages by the outcome (who decided, when, comment)."""
        from scrollintel.approvals import slack

        posted = context["ti"].xcom_pull(task_ids=context["ti"].task_id, key=SLACK_XCOM) or []
        if not posted:
            return
        ti = context["ti"]
        deadline = ti.xcom_pull(task_ids=ti.task_id, key=DEADLINE_XCOM)
        message = self._slack_message(
            context,
            self.requester or _triggering_user(context),
            datetime.fromisoformat(deadline) if deadline else datetime.now(UTC),
            _details(self.details),
        )
        notifier = slack.SlackNotifier()
        for channel, ts in posted:
            try:
                notifier.post_outcome(
                    slack.PostedMessage(channel, ts),
                    message,
                    SLACK_OUTCOMES[outcome],  # type: ignore[arg-type]
                    decided_by=decided_by,
                    comment=comment,
                )
            except Exception as err:  # Slack is a notification: the decision stands without it
                self.log.warning("Slack message %s in %s not updated: %s", ts, channel, type(err).__name__)

    # -- ledger ---------------------------------------------------------------------------------------

    def _record(self, context: Context, outcome: str, *, actor: str | None, extra: Mapping[str, Any]) -> None:
        from scrollintel import audit

        ti = context["ti"]
        run_id = context["run_id"]
        audit.record(
            f"approval.{outcome}",
            f"approval:{self.decision}",
            {
                "subject": self.decision,
                "dag_id": ti.dag_id,
                "run_id": run_id,
                "task_id": ti.task_id,
                "map_index": ti.map_index,
                "try_number": ti.try_number,
                "step": self.step,
                "steps": self.steps,
                "lineage_run_id": _lineage_run_id(ti),
                **extra,
            },
            actor=actor or f"dag:{ti.dag_id}",
            key=f"approval.{outcome}:{ti.dag_id}:{run_id}:{ti.task_id}:{ti.map_index}:{ti.try_number}",
        )


def approval_gate(
    *,
    task_id: str,
    subject: str,
    summary: str,
    details: Mapping[str, Any] | str | None = None,
    requester: str | None = None,
    **kwargs: Any,
) -> ApprovalGate | TaskGroup:
    """The gate for ``subject``: one :class:`ApprovalGate`, or a task group chaining ``min_approvals`` of them.

    Each step of a chain is assigned to the approvers who have not approved an earlier step, so
    ``min_approvals`` distinct people approve; a rejection or an expiry at any step skips the rest.
    """
    from airflow.sdk import TaskGroup

    needed = resolve(subject).min_approvals
    if needed == 1:
        return ApprovalGate(
            task_id=task_id, subject=subject, summary=summary, details=details, requester=requester, **kwargs
        )
    with TaskGroup(group_id=task_id) as group:
        earlier: list[str] = []
        previous: ApprovalGate | None = None
        for step in range(1, needed + 1):
            gate = ApprovalGate(
                task_id=f"approval_{step}",
                subject=subject,
                summary=summary,
                details=details,
                requester=requester,
                step=step,
                steps=needed,
                earlier_steps=list(earlier),
                **kwargs,
            )
            earlier.append(gate.task_id)
            if previous is not None:
                previous >> gate
            previous = gate
    return group


# --------------------------------------------------------------------------- helpers


def render_body(
    policy: ResolvedPolicy,
    summary: str,
    details: Mapping[str, Any] | str | None,
    *,
    requester: str | None,
    approvers: Sequence[str],
) -> str:
    """The request as Markdown (Airflow's Required Actions view shows it)."""
    lines = [f"**{summary}**", "", policy.description, ""]
    if isinstance(details, Mapping) and details:
        lines += ["| | |", "| --- | --- |"]
        lines += [f"| {key} | {_cell(value)} |" for key, value in details.items()]
        lines.append("")
    elif isinstance(details, str) and details.strip():
        lines += [details.strip(), ""]
    lines.append(f"Requested by: {requester or 'the schedule'}. Approvers: {', '.join(approvers)}.")
    lines.append(f"Unanswered after {_duration(policy.timeout)} the request is rejected.")
    return "\n".join(lines)


def _duration(value: timedelta) -> str:
    """``2 days``, ``24 hours``, ``90 minutes``: a policy timeout as people say it."""
    seconds = int(value.total_seconds())
    for unit, size in (("day", 86400), ("hour", 3600), ("minute", 60)):
        if seconds % size == 0 and seconds >= size:
            count = seconds // size
            return f"{count} {unit}{'s' if count != 1 else ''}"
    return f"{seconds} seconds"


def _cell(value: Any) -> str:
    text = value if isinstance(value, str) else json.dumps(value, default=str)
    return text.replace("|", "\\|").replace("\n", " ")


def _details(value: Mapping[str, Any] | str | None) -> Mapping[str, Any] | str | None:
    """Rendered details: a JSON object given as text (a template pulling an upstream result) as a mapping."""
    if isinstance(value, str) and value.lstrip().startswith("{"):
        try:
            parsed = json.loads(value)
        except ValueError:
            return value
        return parsed if isinstance(parsed, dict) else value
    return value


class SlackRequestNotifier(BaseNotifier):
    """Posts the request to the approver teams' channels, as Airflow's HITL ``notifiers`` run: after the
    request is stored, before the task waits. Where the messages landed goes to XCom (:data:`SLACK_XCOM`)
    for the outcome. Slack is optional: without its connection, or when it fails, the request stands
    in Airflow and on the Approvals page."""

    def __init__(self, gate: ApprovalGate, channels: Sequence[str], message: Any) -> None:
        super().__init__()
        self.gate = gate
        self.channels = tuple(channels)
        self.message = message

    def notify(self, context: Context) -> None:
        try:
            self._post(context)
        finally:  # the last step before the task parks: answers settle from here (decisions.wait_until_parked)
            context["ti"].xcom_push(key=PARKING_XCOM, value=datetime.now(UTC).isoformat())

    def _post(self, context: Context) -> None:
        from scrollintel.approvals import slack

        try:
            notifier = slack.SlackNotifier()
            notifier.client  # noqa: B018 - the connection is looked up here: no connection, no Slack
        except Exception as err:
            log.info("no Slack notification (%s: the %s connection)", type(err).__name__, slack.SLACK_CONN_ID)
            return
        posted = []
        for channel in self.channels:
            try:
                posted.append(notifier.post_request(channel, self.message))
            except Exception as err:  # one channel failing costs the others nothing
                log.warning("approval request not posted to %s: %s", channel, type(err).__name__)
        if posted:
            messages = [[item.channel, item.ts] for item in posted]
            context["ti"].xcom_push(key=SLACK_XCOM, value=messages)
            # where the request was posted: the reminders (scrollintel.approvals.reminders) go in its threads
            self.gate._record(context, NOTIFIED, actor=None, extra={"messages": messages})


def _triggering_user(context: Context) -> str | None:
    dag_run = context.get("dag_run")
    return getattr(dag_run, "triggering_user_name", None) or None


def _earlier_approvers(context: Context, steps: Sequence[str]) -> list[str]:
    """Who approved the earlier steps of this chain (their ``responded_by_user`` ids)."""
    if not steps:
        return []
    ti = context["ti"]
    approvers = []
    for result in ti.xcom_pull(task_ids=list(steps)) or []:
        user = (result or {}).get("responded_by_user") or {}
        if user.get("id"):
            approvers.append(str(user["id"]))
    return approvers


def _lineage_run_id(ti: Any) -> str | None:
    """The OpenLineage run id of the task instance (what its lineage events carry), when the provider is there."""
    try:
        from airflow.providers.openlineage.plugins.macros import lineage_run_id
    except ImportError:
        return None
    try:
        return str(lineage_run_id(ti))
    except Exception:  # an observer: the request stands without the id
        return None
