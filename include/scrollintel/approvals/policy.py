"""Who may answer an approval request: the policy of ``governance/approvals.yaml`` resolved to Airflow users.

An approver entry names a team of ``governance/teams.yaml``, optionally narrowed to a role; its
members are Airflow user ids. With separation of duties the requester (whoever triggered the
DAG run or opened the request) is left out of the approvers, so Airflow itself refuses their
answer (403). A request nobody could answer is refused before it is opened.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING

from scrollintel.exceptions import ScrollIntelError

if TYPE_CHECKING:
    from scrollintel.config.governance import Governance


class NoApprover(ScrollIntelError):
    """A policy leaves nobody who may answer the request (or fewer than it needs)."""


@dataclass(frozen=True)
class ResolvedPolicy:
    """One subject's policy with its approvers as Airflow user ids (in teams.yaml order)."""

    subject: str
    description: str
    approvers: tuple[str, ...]
    min_approvals: int
    timeout: timedelta
    separation_of_duties: bool
    channels: tuple[str, ...]
    """Slack channels of the approver teams, where the request is announced."""

    def approvers_for(self, requester: str | None, *, excluded: Iterable[str] = ()) -> tuple[str, ...]:
        """Who may answer a request of ``requester``: the approvers minus the requester (separation of
        duties) and minus ``excluded`` (those who already approved an earlier step of the same request).

        Raises :class:`NoApprover` when nobody is left.
        """
        left_out = set(excluded)
        if self.separation_of_duties and requester:
            left_out.add(requester)
        eligible = tuple(user for user in self.approvers if user not in left_out)
        if not eligible:
            reason = " (the requester may not approve their own request)" if requester in self.approvers else ""
            raise NoApprover(
                f"nobody may answer this {self.subject} request{reason}: approvers are "
                f"{', '.join(self.approvers)}; add members to the approver teams in governance/teams.yaml"
            )
        return eligible


def resolve(subject: str, governance: Governance | None = None) -> ResolvedPolicy:
    """The policy for ``subject`` with its approvers resolved; :class:`NoApprover` when it names nobody."""
    from scrollintel.config import load_governance

    config = governance or load_governance()
    policy = next((item for item in config.approvals.policies if item.subject == subject), None)
    if policy is None:
        known = ", ".join(item.subject for item in config.approvals.policies)
        raise NoApprover(f"no approval policy for subject {subject!r} in governance/approvals.yaml (known: {known})")
    approvers: list[str] = []
    channels: list[str] = []
    for approver in policy.approvers:
        team = config.team(approver.team)
        if team.slack_channel not in channels:
            channels.append(team.slack_channel)
        approvers.extend(member.id for member in team.members_with(approver.role) if member.id not in approvers)
    if len(approvers) < policy.min_approvals:
        raise NoApprover(
            f"the {subject} policy needs {policy.min_approvals} approval(s) but names {len(approvers)} approver(s)"
        )
    return ResolvedPolicy(
        subject=subject,
        description=policy.description,
        approvers=tuple(approvers),
        min_approvals=policy.min_approvals,
        timeout=policy.timeout.to_timedelta(),
        separation_of_duties=policy.separation_of_duties,
        channels=tuple(channels),
    )
