"""``governance/dag_policy.yaml``: what the Airflow cluster policy enforces on every DAG."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Literal

from pydantic import Field

from scrollintel.config.fields import GovernanceModel, Id
from scrollintel.warehouse import Sensitivity


class DagPolicy(GovernanceModel):
    """governance/dag_policy.yaml: what the Airflow cluster policy enforces on every DAG."""

    approved_tags: list[Id] = Field(min_length=1)
    classification_tags: list[Sensitivity] = Field(min_length=1)
    require_classification_tag: bool
    required_fields: list[Literal["owner", "tags", "doc_md", "description"]]

    def unapproved_tags(self, tags: Iterable[str]) -> list[str]:
        """The tags that are neither approved nor a classification tag, sorted."""
        allowed = set(self.approved_tags) | set(self.classification_tags)
        return sorted(set(tags) - allowed)

    def classification_of(self, tags: Iterable[str]) -> list[str]:
        """The classification tags among ``tags`` (a valid DAG carries exactly one)."""
        present = set(tags)
        return [tag for tag in self.classification_tags if tag in present]
