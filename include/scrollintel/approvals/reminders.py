"""Reminders before an approval request expires, in the thread of its Slack messages.

A waiting gate has no process of its own (Airflow parks it), so reminders are the job of the
``approval_reminders`` DAG. It reads the ledger, the record of every request: a request
(``approval.requested``) that was posted to Slack (``approval.notified``), has no outcome yet
(``approval.granted`` / ``rejected`` / ``expired``) and has not been reminded
(``approval.reminded``) is due when what is left before its deadline is at most a quarter of its
timeout, and at most :data:`MAX_LEAD` (a two-day request is reminded six hours before, a
one-hour request fifteen minutes before). One reminder per request and try: the
``approval.reminded`` entry is written with an idempotency key, so a rerun reminds nobody twice.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from scrollintel.warehouse import GOVERNANCE_SCHEMA

if TYPE_CHECKING:
    from scrollintel.approvals.slack import SlackNotifier

log = logging.getLogger(__name__)

#: Remind when this share of a request's time is left ...
LEAD_FRACTION = 0.25
#: ... but never earlier than this before the deadline.
MAX_LEAD = timedelta(hours=6)
_KEY = ("dag_id", "run_id", "task_id", "map_index", "try_number")

_WAITING_SQL = f"""
WITH entries AS (
    SELECT action, recorded_at, details::jsonb AS d
    FROM {GOVERNANCE_SCHEMA}.audit_entry
    WHERE action IN ('approval.requested', 'approval.notified', 'approval.granted', 'approval.rejected',
                     'approval.expired', 'approval.reminded')
)
SELECT r.recorded_at, r.d, n.d -> 'messages'
FROM entries r
JOIN entries n ON n.action = 'approval.notified'
  AND {" AND ".join(f"n.d -> '{key}' = r.d -> '{key}'" for key in _KEY)}
WHERE r.action = 'approval.requested'
  AND (r.d ->> 'deadline')::timestamptz > %s
  AND NOT EXISTS (
      SELECT 1 FROM entries e
      WHERE e.action IN ('approval.granted', 'approval.rejected', 'approval.expired', 'approval.reminded')
        AND {" AND ".join(f"e.d -> '{key}' = r.d -> '{key}'" for key in _KEY)}
  )
ORDER BY r.recorded_at
"""


@dataclass(frozen=True)
class Waiting:
    """A request posted to Slack and not answered yet."""

    requested_at: datetime
    details: Mapping[str, Any]
    messages: tuple[tuple[str, str], ...]

    @property
    def deadline(self) -> datetime:
        return datetime.fromisoformat(str(self.details["deadline"]))

    def due(self, now: datetime) -> bool:
        """Whether the reminder is due at ``now`` (see the module docstring)."""
        lead = min((self.deadline - self.requested_at) * LEAD_FRACTION, MAX_LEAD)
        return now >= self.deadline - lead


def waiting(conn: Any, now: datetime) -> list[Waiting]:
    """Requests posted to Slack, not answered, not reminded, before their deadline (oldest first)."""
    rows = conn.execute(_WAITING_SQL, (now,)).fetchall()
    return [
        Waiting(recorded_at, _mapping(details), tuple((str(c), str(ts)) for c, ts in _mapping_list(messages)))
        for recorded_at, details, messages in rows
    ]


def send_reminders(url: str, *, notifier: SlackNotifier | None = None, now: datetime | None = None) -> int:
    """Post the due reminders to the requests' Slack threads and record each; returns how many were sent."""
    from scrollintel import audit
    from scrollintel.approvals import slack
    from scrollintel.warehouse import connect

    moment = now or datetime.now(UTC)
    with connect(url, autocommit=True) as conn:
        due = [item for item in waiting(conn, moment) if item.due(moment)]
    sender = notifier or slack.SlackNotifier()
    sent = 0
    for item in due:
        message = reminder_message(item)
        posted = []
        for channel, ts in item.messages:
            try:
                posted.append(sender.post_reminder(slack.PostedMessage(channel, ts), message))
            except Exception as err:  # one channel failing costs the others nothing
                log.warning("reminder not posted to %s: %s", channel, type(err).__name__)
        if not posted:
            continue
        details = item.details
        audit.record(
            "approval.reminded",
            f"approval:{details['subject']}",
            {
                **{key: details[key] for key in _KEY},
                "subject": details["subject"],
                "deadline": details["deadline"],
                "messages": [[p.channel, p.ts] for p in posted],
            },
            actor="dag:approval_reminders",
            key="approval.reminded:" + ":".join(str(details[key]) for key in _KEY),
        )
        sent += 1
    return sent


def reminder_message(item: Waiting) -> Any:
    """The request's message, rebuilt from its ledger entry (what the reminder repeats)."""
    from scrollintel.approvals import slack
    from scrollintel.approvals.decisions import api_base_url

    details = item.details
    identity = slack.RequestIdentity(
        str(details["dag_id"]), str(details["run_id"]), str(details["task_id"]), int(details["map_index"])
    )
    base = api_base_url()
    return slack.ApprovalMessage(
        identity=identity,
        subject=str(details["subject"]),
        summary=str(details.get("summary") or ""),
        requested_by=str(details.get("requester") or "the schedule"),
        deadline=item.deadline,
        task_url=slack.task_url(base, identity),
        approvals_url=slack.approvals_url(base),
    )


def _mapping(value: Any) -> Mapping[str, Any]:
    parsed = json.loads(value) if isinstance(value, str) else value
    return parsed if isinstance(parsed, Mapping) else {}


def _mapping_list(value: Any) -> list[list[Any]]:
    parsed = json.loads(value) if isinstance(value, str) else value
    return [list(item) for item in parsed or () if isinstance(item, list | tuple) and len(item) == 2]
