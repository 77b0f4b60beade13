"""``governance/teams.yaml``: teams, their members and which team owns each platform area."""

from __future__ import annotations

from pydantic import Field, model_validator

from scrollintel.config.fields import GovernanceModel, Id, Role, SlackChannel, SlackUserId, Text


class Member(GovernanceModel):
    """A team member: the Airflow user id, a role and optionally the Slack user id, nothing else personal."""

    id: Id
    role: Role
    slack_user: SlackUserId | None = None
    """The member's Slack user id (``U024BE7LH``): a button pressed in Slack by that user acts as ``id``."""


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

    @model_validator(mode="after")
    def _one_airflow_user_per_slack_user(self) -> TeamsConfig:
        """A Slack user id names one Airflow user wherever it appears (a member may be in several teams)."""
        seen: dict[str, str] = {}
        for team in self.teams:
            for member in team.members:
                if member.slack_user is None:
                    continue
                other = seen.setdefault(member.slack_user, member.id)
                if other != member.id:
                    raise ValueError(
                        f"Slack user {member.slack_user} is mapped to both {other!r} and {member.id!r}; "
                        "a Slack user acts as one Airflow user"
                    )
        return self

    def member_for_slack_user(self, slack_user_id: str) -> str | None:
        """The Airflow user id mapped to ``slack_user_id``, or None when no member carries it."""
        for team in self.teams:
            for member in team.members:
                if member.slack_user == slack_user_id:
                    return member.id
        return None
