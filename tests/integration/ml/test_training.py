"""Training against a real MLflow server and PostgreSQL: registration and aliases, reproducibility,
signature, input example, lineage, loading back, retries, and what the registry refuses."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from scrollintel.config import load_governance
from scrollintel.config.models import ModelConfig
from scrollintel.ml import registry
from scrollintel.ml.tracking import (
    CHALLENGER,
    CHAMPION,
    TAG_AIRFLOW_RUN,
    TAG_DATASET,
    TAG_DATASET_NAMESPACE,
    TAG_DATASET_VERSION,
    TAG_HOLDOUT_SNAPSHOT,
    TAG_LINEAGE_RUN_ID,
    TAG_TRAIN_SNAPSHOTS,
)
from scrollintel.ml.training import TrainingResult, read_training_frame, train_and_register
from tests.integration.ml.conftest import FeatureTable, MlflowServer, unique_model

pytestmark = pytest.mark.integration

LINEAGE_RUN_ID = str(uuid.UUID(int=0x0190_0000_0000_7000_8000_0000_0000_0017))


@dataclass(frozen=True)
class TwoRuns:
    model: ModelConfig
    first: TrainingResult
    second: TrainingResult


@pytest.fixture(scope="module")
def trained(mlflow_server: MlflowServer, churn_features: FeatureTable) -> TwoRuns:
    """The same model trained twice on the same data and seed, as two Airflow runs would."""
    model = unique_model(load_governance().models.model("churn"))
    first = train_and_register(
        model,
        churn_features.url,
        tracking_uri=mlflow_server.uri,
        lineage_run_id=LINEAGE_RUN_ID,
        airflow_run="ml_churn_train/bootstrap",
    )
    second = train_and_register(
        model, churn_features.url, tracking_uri=mlflow_server.uri, airflow_run="ml_churn_train/manual__1"
    )
    return TwoRuns(model, first, second)


@pytest.fixture(scope="module")
def client(mlflow_server: MlflowServer) -> Any:
    return registry.client(mlflow_server.uri)


def test_the_first_run_registers_version_1_as_champion(trained: TwoRuns, client: Any) -> None:
    assert (trained.first.version, trained.first.alias, trained.first.reused) == ("1", CHAMPION, False)
    champion = registry.champion_version(client, trained.model.name)
    assert champion is not None and str(champion.version) == "1"
    assert champion.run_id == trained.first.run_id


def test_the_second_run_registers_a_challenger_and_leaves_the_champion(trained: TwoRuns, client: Any) -> None:
    assert (trained.second.version, trained.second.alias) == ("2", CHALLENGER)
    registered = client.get_registered_model(trained.model.name)
    assert registered.aliases == {CHAMPION: "1", CHALLENGER: "2"}


def test_the_same_data_and_seed_give_the_same_metrics(trained: TwoRuns, client: Any) -> None:
    assert trained.first.metrics == trained.second.metrics
    assert trained.first.dataset_version == trained.second.dataset_version
    logged = [client.get_run(result.run_id).data.metrics for result in (trained.first, trained.second)]
    assert logged[0] == logged[1]
    for name in ("roc_auc", "pr_auc", "brier", "log_loss", "recall_at_threshold", "precision_at_threshold"):
        assert name in logged[0], name
    assert logged[0]["roc_auc"] > 0.75  # the synthetic table's signal is learnt
    assert logged[0]["cv_roc_auc"] > 0.7


def test_the_search_stays_within_its_budget(trained: TwoRuns, client: Any) -> None:
    import json
    import tempfile

    run = client.get_run(trained.first.run_id)
    assert run.data.params["search_budget"] == str(trained.model.training.search_budget)
    assert run.data.params["search"] == "RandomizedSearchCV"
    assert run.data.params["calibration"] == "sigmoid"
    with tempfile.TemporaryDirectory() as folder:
        path = client.download_artifacts(trained.first.run_id, "search/candidates.json", folder)
        with open(path, encoding="utf-8") as handle:
            candidates = json.load(handle)["candidates"]
    assert len(candidates) == trained.model.training.search_budget
    assert candidates[0]["rank"] == 1 and candidates[0]["mean_roc_auc"] == run.data.metrics["cv_roc_auc"]


def test_the_model_has_a_signature_and_an_input_example(trained: TwoRuns, client: Any) -> None:
    from mlflow.models import get_model_info

    info = get_model_info(f"models:/{trained.model.name}/1")
    inputs = info.signature.inputs.to_dict()
    assert [column["name"] for column in inputs] == trained.model.features
    assert {column["type"] for column in inputs} == {"double"}
    assert info.signature.outputs is not None
    assert info.saved_input_example_info is not None
    assert info.flavors["python_function"]["predict_fn"] == "predict_proba"
    assert registry.missing_metadata(client, trained.model.name, "1") == []


def test_the_run_names_its_data_as_openlineage_does(trained: TwoRuns, client: Any) -> None:
    run = client.get_run(trained.first.run_id)

    (dataset,) = registry.run_datasets(run)
    assert dataset == {
        "name": "warehouse.marts.ml_churn_features",
        "digest": trained.first.dataset_version,
        "source_type": "openlineage",
        "source": {
            "namespace": "postgres://warehouse:5432",
            "name": "warehouse.marts.ml_churn_features",
            "uri": "postgres://warehouse:5432/warehouse.marts.ml_churn_features",
        },
        "context": "training",
    }
    tags = run.data.tags
    assert tags[TAG_DATASET] == "marts.ml_churn_features"
    assert tags[TAG_DATASET_NAMESPACE] == "postgres://warehouse:5432"
    assert tags[TAG_DATASET_VERSION] == trained.first.dataset_version
    assert tags[TAG_HOLDOUT_SNAPSHOT] == "2025-10-01" == trained.first.holdout_snapshot
    train_snapshots = tags[TAG_TRAIN_SNAPSHOTS].split(",")
    assert train_snapshots[0] == "2023-02-01" and train_snapshots[-1] == "2025-07-01" and len(train_snapshots) == 30
    assert tags[TAG_LINEAGE_RUN_ID] == LINEAGE_RUN_ID
    assert tags[TAG_AIRFLOW_RUN] == "ml_churn_train/bootstrap"
    lineage = registry.run_lineage(run)
    assert lineage.missing == [] and lineage.openlineage_name == "warehouse.marts.ml_churn_features"
    # the registered version carries the same lineage
    assert client.get_model_version(trained.model.name, "1").tags[TAG_DATASET_VERSION] == trained.first.dataset_version
    # a run outside Airflow has no lineage run id, and that is not missing lineage
    assert TAG_LINEAGE_RUN_ID not in client.get_run(trained.second.run_id).data.tags


def test_the_run_keeps_its_holdout_rows_as_monitoring_reference(trained: TwoRuns, client: Any, tmp_path: Path) -> None:
    import pandas as pd

    from scrollintel.ml.tracking import REFERENCE_ARTIFACT, TAG_REFERENCE

    run = client.get_run(trained.first.run_id)
    assert run.data.tags[TAG_REFERENCE] == REFERENCE_ARTIFACT
    rows = pd.read_parquet(client.download_artifacts(trained.first.run_id, REFERENCE_ARTIFACT, str(tmp_path)))
    assert len(rows) == run.data.metrics["holdout_rows"]
    assert {str(day) for day in rows["snapshot_date"]} == {trained.first.holdout_snapshot}
    assert [*trained.model.features, trained.model.label] == list(rows.columns)[-len(trained.model.features) - 1 :]


def test_the_champion_loads_back_and_scores_as_logged(
    trained: TwoRuns, client: Any, churn_features: FeatureTable
) -> None:
    import mlflow.pyfunc

    from scrollintel.ml.training import evaluate, feature_frame

    frame = read_training_frame(churn_features.url, trained.model)
    holdout = frame[frame["snapshot_date"].astype(str) == trained.first.holdout_snapshot]

    model, version = registry.load_champion(trained.model.name, client)
    proba = model.predict_proba(feature_frame(holdout, trained.model.features))[:, 1]
    metrics = evaluate(holdout["churn_label"], proba, trained.model.training.operating_threshold)

    assert version == "1"
    assert ((proba >= 0) & (proba <= 1)).all()
    assert metrics["roc_auc"] == pytest.approx(trained.first.metrics["roc_auc"], abs=1e-12)
    pyfunc = mlflow.pyfunc.load_model(f"models:/{trained.model.name}@{CHAMPION}")
    scored = pyfunc.predict(feature_frame(holdout.head(20), trained.model.features))
    assert scored.shape == (20, 2)


def test_a_retry_of_the_same_airflow_run_reuses_its_version(
    trained: TwoRuns, client: Any, mlflow_server: MlflowServer, churn_features: FeatureTable
) -> None:
    again = train_and_register(
        trained.model, churn_features.url, tracking_uri=mlflow_server.uri, airflow_run="ml_churn_train/manual__1"
    )

    assert again.reused is True
    assert (again.run_id, again.version, again.alias) == (trained.second.run_id, "2", CHALLENGER)
    assert len(client.search_model_versions(f"name = '{trained.model.name}'")) == 2


def _log_bare_model(client: Any, name: str, **log_kwargs: Any) -> str:
    """A model logged the careless way (no lineage; whatever ``log_kwargs`` say), registered; returns the version."""
    import mlflow
    import mlflow.sklearn
    from sklearn.linear_model import LogisticRegression

    estimator = LogisticRegression().fit([[0.0], [1.0], [2.0], [3.0]], [0, 0, 1, 1])
    experiment = registry.ensure_experiment(client, name)
    with mlflow.start_run(experiment_id=experiment) as run:
        info = mlflow.sklearn.log_model(
            estimator, name="model", serialization_format="skops", pip_requirements=["scikit-learn"], **log_kwargs
        )
    registry.ensure_registered_model(client, name)
    version = client.create_model_version(name, source=info.model_uri, run_id=run.info.run_id, model_id=info.model_id)
    return str(version.version)


def test_a_model_without_signature_or_lineage_is_reported(client: Any) -> None:
    name = f"careless_{uuid.uuid4().hex[:6]}"
    version = _log_bare_model(client, name)

    assert registry.missing_metadata(client, name, version) == [
        "the model was logged without a signature",
        "the model was logged without an input example",
        f"its run has no tag {TAG_DATASET}",
        f"its run has no tag {TAG_DATASET_NAMESPACE}",
        f"its run has no tag {TAG_DATASET_VERSION}",
        f"its run has no tag {TAG_TRAIN_SNAPSHOTS}",
        f"its run has no tag {TAG_HOLDOUT_SNAPSHOT}",
        "its run logged no training dataset",
    ]


def test_a_model_trusting_foreign_types_is_not_loaded(client: Any) -> None:
    name = f"foreign_{uuid.uuid4().hex[:6]}"
    version = _log_bare_model(client, name, skops_trusted_types=["builtins.eval", "sklearn.linear_model.Foo"])

    with pytest.raises(registry.RegistryError, match=r"trusts types outside sklearn\.: builtins\.eval; refused"):
        registry.load_version(name, version)


def test_no_champion_is_a_clear_error(client: Any) -> None:
    name = f"untrained_{uuid.uuid4().hex[:6]}"
    assert registry.champion_version(client, name) is None
    registry.ensure_registered_model(client, name)
    assert registry.champion_version(client, name) is None

    with pytest.raises(registry.RegistryError, match=rf"registered model {name} has no champion version"):
        registry.load_champion(name, client)


def test_the_demo_mart_built_by_dbt_trains(
    built: Any, mlflow_server: MlflowServer, client: Any, pg_server: Any
) -> None:
    """The real ``marts.ml_churn_features`` (dbt on the demo shop, scale 0.05), as the runtime role reads it."""
    from tests.integration.warehouse import database_copy, with_database

    model = unique_model(load_governance().models.model("churn"), "demo")
    with database_copy(pg_server, built.built_template, "mltrain") as name:
        result = train_and_register(model, with_database(built.url, name), tracking_uri=mlflow_server.uri)

    assert (result.version, result.alias) == ("1", CHAMPION)
    assert result.holdout_snapshot == "2025-10-01"
    assert result.metrics["roc_auc"] > 0.55, result.metrics  # a small holdout (scale 0.05), better than chance
    assert registry.missing_metadata(client, model.name, "1") == []


def test_a_feature_table_dbt_has_not_built_yet_is_a_training_error_saying_what_builds_it(pg_server: Any) -> None:
    """The first training of a fresh platform may start before dbt built the mart: one clear failure, not three."""
    from scrollintel.ml.training import TrainingError, read_training_frame

    model = load_governance().models.model("churn")
    with pytest.raises(
        TrainingError, match=r"marts\.ml_churn_features does not exist yet: transform_warehouse builds it"
    ):
        read_training_frame(pg_server.create_database(), model)
