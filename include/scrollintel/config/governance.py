"""All governance files of one folder as one validated model, and the names of those files."""

from __future__ import annotations

from pathlib import Path

from scrollintel.config.approvals import ApprovalPolicy, ApprovalsConfig
from scrollintel.config.budgets import Budget, BudgetsConfig
from scrollintel.config.classification import ClassificationConfig
from scrollintel.config.dag_policy import DagPolicy
from scrollintel.config.fields import GovernanceModel
from scrollintel.config.models import ModelConfig, ModelsConfig
from scrollintel.config.retention import RetentionClass, RetentionConfig
from scrollintel.config.roi import RoiConfig
from scrollintel.config.sources import Source, SourceConfig
from scrollintel.config.teams import Team, TeamsConfig
from scrollintel.warehouse import SENSITIVITY_LEVELS

#: The policy files every governance folder must hold.
TEAMS_FILE = "teams.yaml"
DAG_POLICY_FILE = "dag_policy.yaml"
CLASSIFICATION_FILE = "classification.yaml"
RETENTION_FILE = "retention.yaml"
BUDGETS_FILE = "budgets.yaml"
ROI_FILE = "roi.yaml"
APPROVALS_FILE = "approvals.yaml"
MODELS_FILE = "models.yaml"
SOURCES_DIR = "sources"
#: Assumed sensitivity of a source before its columns are classified.
DEFAULT_SENSITIVITY = "confidential"


class Governance(GovernanceModel):
    """Every governance file of one folder, validated and cross-checked."""

    directory: Path
    teams: TeamsConfig
    dag_policy: DagPolicy
    classification: ClassificationConfig
    retention: RetentionConfig
    budgets: BudgetsConfig
    roi: RoiConfig
    approvals: ApprovalsConfig
    models: ModelsConfig
    sources: dict[str, Source]

    @property
    def team_ids(self) -> frozenset[str]:
        """Ids of all declared teams."""
        return frozenset(team.id for team in self.teams.teams)

    def team(self, team_id: str) -> Team:
        """The team ``team_id``; KeyError when unknown."""
        for team in self.teams.teams:
            if team.id == team_id:
                return team
        raise KeyError(team_id)

    def source(self, name: str) -> SourceConfig:
        """The source ``name``; KeyError when unknown."""
        return self.sources[name]

    def retention_class(self, class_id: str) -> RetentionClass:
        """The retention class ``class_id``; KeyError when unknown."""
        for item in self.retention.classes:
            if item.id == class_id:
                return item
        raise KeyError(class_id)

    def approval_policy(self, subject: str) -> ApprovalPolicy:
        """The approval policy for a subject kind; KeyError when unknown."""
        for policy in self.approvals.policies:
            if policy.subject == subject:
                return policy
        raise KeyError(subject)

    def eligible_approvers(self, subject: str) -> list[str]:
        """Member ids who may approve ``subject`` (before separation of duties), sorted."""
        ids: set[str] = set()
        for approver in self.approval_policy(subject).approvers:
            ids.update(member.id for member in self.team(approver.team).members_with(approver.role))
        return sorted(ids)

    def source_sensitivity(self, source: SourceConfig) -> str:
        """The sensitivity a source is assumed to hold before its columns are classified.

        The highest among the classes its YAML assigns explicitly and ``confidential``: at parse
        time any source may hold personal data. This is its ingestion DAG's classification tag.
        """
        levels = [DEFAULT_SENSITIVITY]
        for class_id in source.declared_classes():
            levels.append(self.classification.get(class_id).sensitivity)
        return max(levels, key=SENSITIVITY_LEVELS.index)

    def budget(self, team_id: str) -> Budget | None:
        """The team's monthly budget, or None when it has none."""
        return next((item for item in self.budgets.budgets if item.team == team_id), None)

    def model(self, name: str) -> ModelConfig:
        """The model called ``name`` in models.yaml; KeyError when unknown."""
        return self.models.model(name)
