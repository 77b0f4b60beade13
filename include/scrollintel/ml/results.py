"""What training produces: the split, the fitted model, the registered result.

Plain data, shared by :mod:`scrollintel.ml.training` (which makes them) and
:mod:`scrollintel.ml.registry` (which logs and registers them), so neither imports the other's
internals.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pandas as pd
    from sklearn.calibration import CalibratedClassifierCV


@dataclass(frozen=True)
class Split:
    """Which snapshots train the model and which one is held out."""

    train: tuple[dt.date, ...]
    holdout: dt.date
    #: Older than the holdout but left out: their label window reaches past the holdout's date.
    purged: tuple[dt.date, ...] = ()


@dataclass
class FittedModel:
    """A calibrated pipeline with what it was trained on and how it scored on the holdout."""

    estimator: CalibratedClassifierCV
    features: list[str]
    split: Split
    metrics: dict[str, float]
    params: dict[str, Any]
    search_results: list[dict[str, Any]]
    input_example: pd.DataFrame
    train_rows: int
    holdout_rows: int
    dataset_version: str
    #: Wall seconds of the search, the calibration and the holdout evaluation (not logged to MLflow:
    #: they differ between runs, the metrics do not).
    seconds: dict[str, float] = field(default_factory=dict)


@dataclass(frozen=True)
class TrainingResult:
    """What a training run produced: the MLflow run, the registered version and its alias."""

    run_id: str
    model_uri: str
    registered_model: str
    version: str
    alias: str
    metrics: dict[str, float] = field(default_factory=dict)
    dataset_version: str = ""
    train_snapshots: tuple[str, ...] = ()
    holdout_snapshot: str = ""
    reused: bool = False
    """True when an earlier try of the same Airflow run had already registered this version."""

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready (an Airflow XCom, an audit entry)."""
        return {
            "run_id": self.run_id,
            "model_uri": self.model_uri,
            "registered_model": self.registered_model,
            "version": self.version,
            "alias": self.alias,
            "metrics": self.metrics,
            "dataset_version": self.dataset_version,
            "train_snapshots": list(self.train_snapshots),
            "holdout_snapshot": self.holdout_snapshot,
            "reused": self.reused,
        }
