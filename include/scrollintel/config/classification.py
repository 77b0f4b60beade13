"""``governance/classification.yaml``: the kinds of personal or sensitive data the classifier looks for."""

from __future__ import annotations

import re
from typing import Any

from pydantic import Field, PrivateAttr

from scrollintel.config.fields import GovernanceModel, Id, MaskingPolicy, Regex, Text, ValueValidator
from scrollintel.warehouse import Sensitivity

#: A classification override that marks a column as holding no personal data.
NOT_PERSONAL = "none"


class ClassificationClass(GovernanceModel):
    """One kind of personal or sensitive data the classifier looks for."""

    id: Id
    description: Text
    sensitivity: Sensitivity
    masking: MaskingPolicy
    column_patterns: list[Regex] = Field(min_length=1)
    validators: list[ValueValidator] = Field(default_factory=list)
    match_threshold: float | None = Field(default=None, gt=0, le=1)

    _compiled: list[re.Pattern[str]] = PrivateAttr(default_factory=list)

    def model_post_init(self, context: Any, /) -> None:
        self._compiled = [re.compile(pattern, re.IGNORECASE) for pattern in self.column_patterns]

    def matches_column(self, column: str) -> bool:
        """True when a column name matches one of the patterns (case-insensitive search)."""
        return any(pattern.search(column) for pattern in self._compiled)


class ClassificationConfig(GovernanceModel):
    """governance/classification.yaml."""

    sample_size: int = Field(gt=0, le=1_000_000)
    match_threshold: float = Field(gt=0, le=1)
    classes: list[ClassificationClass] = Field(min_length=1)

    def get(self, class_id: str) -> ClassificationClass:
        """The class named ``class_id``; KeyError when unknown."""
        for item in self.classes:
            if item.id == class_id:
                return item
        raise KeyError(class_id)

    def threshold_for(self, class_id: str) -> float:
        """The class's own match threshold or the default one."""
        own = self.get(class_id).match_threshold
        return own if own is not None else self.match_threshold
