"""``governance/models.yaml``: the models the platform trains, monitors and promotes."""

from __future__ import annotations

from pydantic import Field, model_validator

from scrollintel.config.fields import ColumnName, Dataset, GovernanceModel, Id, Text


class TrainingPolicy(GovernanceModel):
    """How a model is trained: the seed, the search budget and the operating threshold."""

    seed: int = Field(ge=0)
    search_budget: int = Field(ge=1, le=500)
    operating_threshold: float = Field(gt=0, lt=1)


class MonitoringPolicy(GovernanceModel):
    """When drift or decay calls for retraining."""

    feature_threshold: float = Field(gt=0, lt=1)
    drift_share: float = Field(gt=0, le=1)
    max_auc_drop: float = Field(gt=0, lt=1)


class PromotionPolicy(GovernanceModel):
    """What a challenger must show before it may be put to the approval gate."""

    min_auc_gain: float = Field(ge=0, lt=1)


class FairnessPolicy(GovernanceModel):
    """The largest allowed gaps between groups of each protected attribute."""

    max_demographic_parity_difference: float = Field(gt=0, le=1)
    max_equalized_odds_difference: float = Field(gt=0, le=1)


class ScoringPolicy(GovernanceModel):
    """What scoring reads, and how many scoring runs the scores table keeps (a partition each; older ones go)."""

    #: The table of current feature rows scoring reads (its newest snapshot): the training table's
    #: features and key, as of now. Unset: the training table's newest snapshot, whose label window
    #: has passed, i.e. features at least that old.
    features_table: Dataset | None = None
    keep_runs: int = Field(default=30, ge=1, le=1000)


class ModelConfig(GovernanceModel):
    """One model: its feature table, features, label, and the policies it is held to."""

    name: Id
    description: Text
    team: Id
    features_table: Dataset
    entity_key: list[ColumnName] = Field(min_length=1)
    snapshot_column: ColumnName
    label: ColumnName
    features: list[ColumnName] = Field(min_length=1)
    protected_attributes: list[ColumnName] = Field(default_factory=list)
    training: TrainingPolicy
    monitoring: MonitoringPolicy
    promotion: PromotionPolicy
    fairness: FairnessPolicy
    scoring: ScoringPolicy = Field(default_factory=ScoringPolicy)

    @model_validator(mode="after")
    def _distinct_columns(self) -> ModelConfig:
        roles = {
            "entity_key": self.entity_key,
            "snapshot_column": [self.snapshot_column],
            "label": [self.label],
            "features": self.features,
            "protected_attributes": self.protected_attributes,
        }
        seen: dict[str, str] = {}
        for role, columns in roles.items():
            for column in columns:
                if column in seen:
                    raise ValueError(f"column {column!r} is listed both in {seen[column]} and in {role}")
                seen[column] = role
        return self

    @property
    def columns(self) -> list[str]:
        """Every column the model reads from its feature table, in a stable order."""
        return [
            *self.entity_key,
            self.snapshot_column,
            *self.features,
            *self.protected_attributes,
            self.label,
        ]


class ModelsConfig(GovernanceModel):
    """governance/models.yaml."""

    models: list[ModelConfig] = Field(min_length=1)

    def model(self, name: str) -> ModelConfig:
        """The model called ``name``; KeyError when none is."""
        for model in self.models:
            if model.name == name:
                return model
        raise KeyError(name)
