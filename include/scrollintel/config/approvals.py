"""``governance/approvals.yaml``: who approves each kind of change, how many, and how long they have."""

from __future__ import annotations

from typing import Annotated

from pydantic import AfterValidator, Field

from scrollintel.config.duration import Duration, fixed_length
from scrollintel.config.fields import GovernanceModel, Id, Role, SubjectKind, Text


class Approver(GovernanceModel):
    """Who may approve: a team, optionally narrowed to one role."""

    team: Id
    role: Role | None = None


class ApprovalPolicy(GovernanceModel):
    """How one kind of change is approved."""

    subject: SubjectKind
    description: Text
    approvers: list[Approver] = Field(min_length=1)
    min_approvals: int = Field(ge=1, le=10)
    timeout: Annotated[Duration, AfterValidator(fixed_length)]
    separation_of_duties: bool


class ApprovalsConfig(GovernanceModel):
    """governance/approvals.yaml."""

    policies: list[ApprovalPolicy] = Field(min_length=1)
