"""``governance/teams.yaml``: teams, their members and which team owns each platform area."""

from __future__ import annotations

from pydantic import Field

from scrollintel.config.fields import GovernanceModel, Id, Role, SlackChannel, Text


class Member(GovernanceModel):
    """A team member: the Airflow user id and a role, nothing else personal."""

    id: Id
    role: Role


class Team(GovernanceModel):
    """A team that owns sources and DAGs, approves changes and carries a budget."""

    id: Id
    name: Text
    slack_channel: SlackChannel
    members: list[Member] = Field(min_length=1)

    def members_with(self, role: str | None = None) -> list[Member]:
        """Members holding ``role`` (all members when None)."""
        return [member for member in self.members if role is None or member.role == role]


class Owners(GovernanceModel):
    """Which team answers for each platform area (alerts and default DAG owner)."""

    ingestion: Id
    transform: Id
    quality: Id
    ml: Id
    lineage: Id
    audit: Id
    approvals: Id
    cost: Id
    compliance: Id
    platform: Id


class TeamsConfig(GovernanceModel):
    """governance/teams.yaml."""

    teams: list[Team] = Field(min_length=1)
    owners: Owners
