"""Evaluation, promotion, rejection and rollback against a real MLflow server and a migrated warehouse.

The warehouse is migrated with a runtime role (what the tasks connect as); the synthetic churn
feature table is created by that role and has a passing quality gate run. Two trainings on the
same data and seed give a champion (v1) and an equally good challenger (v2), which passes the
default margin (``min_auc_gain: 0.0``); tests that need a refusal tighten the policy.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import psycopg
import pytest

from scrollintel.config import load_governance
from scrollintel.config.models import ModelConfig
from scrollintel.demo.shop import libpq_url
from scrollintel.ml import promotion, query, registry, tracking
from scrollintel.ml.promotion import PromotionError, RunContext
from scrollintel.ml.training import train_and_register
from tests.integration.ml.conftest import FEATURE_ROWS, FEATURE_SEED, MlflowServer, unique_model
from tests.integration.warehouse import runtime_database

pytestmark = pytest.mark.integration

LINEAGE = "0190d0e0-0000-7000-8000-000000000017"
#: The churn model's scoring table (governance/models.yaml scoring.features_table).
CURRENT_FEATURES = "marts.ml_churn_current_features"


@dataclass
class Setup:
    url: str
    admin: str
    uri: str
    client: Any

    def rows(self, query: str, *args: Any) -> list[tuple[Any, ...]]:
        with psycopg.connect(libpq_url(self.admin)) as conn:
            return conn.execute(query, args).fetchall()

    def ledger(self, action: str, model: str) -> list[tuple[str, str, dict[str, Any]]]:
        found = self.rows(
            "SELECT actor, subject, details FROM governance.audit_entry WHERE action = %s AND subject LIKE %s "
            "ORDER BY seq",
            action,
            f"model:{model}@%",
        )
        return [(actor, subject, json.loads(details)) for actor, subject, details in found]

    def train(self, model: ModelConfig, run: str) -> str:
        result = train_and_register(model, self.url, tracking_uri=self.uri, lineage_run_id=LINEAGE, airflow_run=run)
        return result.version

    def aliases(self, model: ModelConfig) -> dict[str, str]:
        return {k: str(v) for k, v in self.client.get_registered_model(model.name).aliases.items()}


@pytest.fixture(scope="module")
def setup(pg_server: Any, mlflow_server: MlflowServer, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Setup]:
    from scrollintel.audit import settings as audit_settings
    from scrollintel.demo.churn_features import (
        create_feature_table,
        current_rows,
        generate_churn_features,
        snapshot_rows,
    )

    tmp = tmp_path_factory.mktemp("promotion")
    with runtime_database(pg_server, "promo") as database, pytest.MonkeyPatch.context() as patch:
        patch.setenv("SCROLLINTEL_HOME", str(tmp / "state"))
        patch.delenv("AIRFLOW_CTX_DAG_ID", raising=False)
        with psycopg.connect(libpq_url(database.url), autocommit=True) as conn:
            table = generate_churn_features(snapshot_rows(FEATURE_ROWS), seed=FEATURE_SEED)
            create_feature_table(conn, table)
            create_feature_table(conn, current_rows(table), name=CURRENT_FEATURES)  # what scoring reads
            conn.execute(f"DELETE FROM {CURRENT_FEATURES} WHERE customer_id % 5 = 0")  # not the training table's rows
        with psycopg.connect(libpq_url(database.admin_url), autocommit=True) as conn:
            conn.execute(
                "INSERT INTO governance.quality_run (gate_run_id, dag_id, run_id, task_id, dataset, suite_path, "
                "success, evaluated, failed, as_of, result_path, started_at) VALUES (gen_random_uuid(), "
                "'transform_warehouse', 'test', 'gate', 'marts.ml_churn_features', 'ml_churn_features.json', true, "
                "3, 0, now(), 'results/x.json', now())"
            )
        audit_settings.configure(database_url=database.url)
        try:
            yield Setup(database.url, database.admin_url, mlflow_server.uri, registry.client(mlflow_server.uri))
        finally:
            audit_settings.configure(database_url=None)


@pytest.fixture(scope="module")
def trained(setup: Setup) -> tuple[ModelConfig, str, str]:
    """Two trainings on the same data and seed: champion v1 and challenger v2 of one model."""
    model = unique_model(load_governance().models.model("churn"))
    return model, setup.train(model, "ml_churn_train/first"), setup.train(model, "ml_churn_retrain/second")


@pytest.fixture
def pair(setup: Setup, trained: tuple[ModelConfig, str, str]) -> tuple[ModelConfig, str, str]:
    """A fresh model with champion v1 and challenger v2: the two trained runs registered again under a name of
    its own, as ``registry.register_version`` registers them (source, run, lineage tags, logged model, alias)."""
    trained_model, *versions = trained
    model = unique_model(trained_model)
    registered = []
    for version in versions:
        source = setup.client.get_model_version(trained_model.name, version)
        registry.ensure_registered_model(setup.client, model.name, description=model.description)
        model_id = source.model_id or source.source.removeprefix("models:/")  # the logged model the source names
        copy = setup.client.create_model_version(
            model.name, source=source.source, run_id=source.run_id, tags=source.tags, model_id=model_id
        )
        registered.append(registry.assign_alias(setup.client, model.name, str(copy.version)).version)
    return model, registered[0], registered[1]


def context(run: str) -> RunContext:
    return RunContext("ml_churn_retrain", run, "evaluate", LINEAGE)


def test_an_equal_challenger_is_ready_with_its_row_artifacts_and_ledger_entry(setup: Setup, pair: Any) -> None:
    model, champion, challenger = pair
    outcome = promotion.evaluate(model, setup.url, challenger, context=context("manual__1"), trigger_reason="drift")
    again = promotion.evaluate(model, setup.url, challenger, context=context("manual__1"), trigger_reason="drift")

    assert outcome.ready, outcome.reasons
    assert (outcome.champion_version, outcome.challenger_version) == (champion, challenger)
    assert outcome.challenger_metrics["roc_auc"] == pytest.approx(outcome.champion_metrics["roc_auc"])
    assert outcome.fairness_rows > outcome.holdout_rows  # the holdout plus the purged snapshots
    assert "MLflow runs" not in outcome.summary_markdown  # no UI address given
    rows = setup.rows(
        "SELECT verdict, challenger_version, champion_version, trigger_reason FROM governance.model_evaluations "
        "WHERE model = %s",
        model.name,
    )
    assert rows == [("ready", int(challenger), int(champion), "drift")]  # the second try replaced the first
    assert again.evaluation_id == outcome.evaluation_id
    (stored,) = setup.rows("SELECT top_features FROM governance.model_evaluations WHERE model = %s", model.name)
    importances = query.shap_importances(stored[0])  # what the Model page reads
    assert [row.feature for row in importances] == [name for name, _ in outcome.top_features]
    assert query.shap_output(stored[0]) == outcome.shap_output
    artifacts = {item.path for item in setup.client.list_artifacts(outcome.challenger_run_id, "evaluation")}
    assert {tracking.ARTIFACT_FAIRNESS, tracking.ARTIFACT_SHAP_TABLE, tracking.ARTIFACT_SHAP_CHART} <= artifacts
    assert tracking.ARTIFACT_COMPARISON in artifacts
    entries = setup.ledger(tracking.EVALUATED, model.name)
    assert len(entries) == 1 and entries[0][2]["verdict"] == "ready"


def test_approve_moves_the_aliases_and_records_versions_approver_and_lineage(setup: Setup, pair: Any) -> None:
    model, champion, challenger = pair
    ctx = RunContext("ml_churn_retrain", "manual__p", "promote", LINEAGE)
    promotion.promote(model.name, challenger, "ml.lead", context=ctx)
    promotion.promote(model.name, challenger, "ml.lead", context=ctx)  # a retried task

    assert setup.aliases(model) == {tracking.CHAMPION: challenger, tracking.PREVIOUS_CHAMPION: champion}
    entries = setup.ledger(tracking.PROMOTED, model.name)
    assert len(entries) == 1
    actor, subject, details = entries[0]
    assert (actor, subject) == ("ml.lead", f"model:{model.name}@v{challenger}")
    assert (details["from_version"], details["to_version"], details["approved_by"]) == (champion, challenger, "ml.lead")
    assert details["lineage_run_id"] == LINEAGE and details["dag_run_id"] == "manual__p"


def test_reject_archives_the_challenger_and_leaves_the_champion(setup: Setup, pair: Any) -> None:
    model, champion, challenger = pair
    promotion.reject(model.name, challenger, "metrics not convincing", decided_by="ml.lead", context=context("m__r"))

    assert setup.aliases(model) == {tracking.CHAMPION: champion}
    tags = setup.client.get_model_version(model.name, challenger).tags
    assert tags[tracking.TAG_ARCHIVED] == "metrics not convincing"
    ((actor, _, details),) = setup.ledger(tracking.PROMOTION_REJECTED, model.name)
    assert actor == "ml.lead" and details["reason"] == "metrics not convincing" and details["version"] == challenger
    with pytest.raises(PromotionError, match=f"version {challenger} is archived"):
        promotion.promote(model.name, challenger, "ml.lead")


def test_rollback_restores_the_previous_champion_once(setup: Setup, pair: Any) -> None:
    model, champion, challenger = pair
    with pytest.raises(PromotionError, match="no previous-champion"):
        promotion.rollback(model.name, "ml.lead")
    promotion.promote(model.name, challenger, "ml.lead")
    ctx = RunContext("ml_churn_rollback", "manual__rb", "rollback")
    promotion.rollback(model.name, "ml.lead", expected_champion=challenger, context=ctx)
    promotion.rollback(model.name, "ml.lead", expected_champion=challenger, context=ctx)  # a retry: no swap back

    assert setup.aliases(model) == {tracking.CHAMPION: champion, tracking.PREVIOUS_CHAMPION: challenger}
    ((actor, _, details),) = setup.ledger(tracking.ROLLED_BACK, model.name)
    assert (actor, details["from_version"], details["to_version"]) == ("ml.lead", challenger, champion)
    with pytest.raises(
        PromotionError, match=f"approved for champion version 99, but champion is now version {champion}"
    ):
        promotion.rollback(model.name, "ml.lead", expected_champion="99")


def test_a_challenger_not_better_by_the_margin_is_refused_with_the_reason(setup: Setup, pair: Any) -> None:
    model, _, challenger = pair
    strict = model.model_copy(update={"promotion": model.promotion.model_copy(update={"min_auc_gain": 0.05})})
    outcome = promotion.evaluate(strict, setup.url, challenger, context=context("manual__m"))

    assert not outcome.ready
    assert outcome.reasons[0].startswith("auc_gain: not better than the champion by the required margin: roc_auc")
    ((_, _, details),) = setup.ledger(tracking.PROMOTION_REFUSED, model.name)
    assert details["reasons"] == outcome.reasons
    assert setup.rows("SELECT verdict FROM governance.model_evaluations WHERE model = %s", model.name) == [("refused",)]


def test_a_fairness_breach_is_refused_naming_the_attribute(setup: Setup, pair: Any) -> None:
    model, _, challenger = pair
    limits = {"max_demographic_parity_difference": 0.0, "max_equalized_odds_difference": 0.0}
    strict = model.model_copy(update={"fairness": model.fairness.model_copy(update=limits)})
    outcome = promotion.evaluate(strict, setup.url, challenger, context=context("manual__f"))

    assert not outcome.ready
    (reason,) = [reason for reason in outcome.reasons if reason.startswith("fairness:")]
    assert "demographic parity difference" in reason and "age_band" in reason


def test_a_version_without_signature_or_lineage_is_refused(setup: Setup, pair: Any) -> None:
    import mlflow
    from sklearn.ensemble import HistGradientBoostingClassifier

    from scrollintel.ml.training import feature_frame, read_training_frame

    model, _, _ = pair
    frame = read_training_frame(setup.url, model).tail(2000)
    estimator = HistGradientBoostingClassifier(max_iter=20, random_state=0)
    estimator.fit(feature_frame(frame, model.features), frame[model.label])
    with mlflow.start_run(experiment_id=registry.ensure_experiment(setup.client, model.name)) as run:
        info = mlflow.sklearn.log_model(
            estimator, name="model", serialization_format="skops", skops_trusted_types=registry.trusted_types(estimator)
        )
    bare = setup.client.create_model_version(
        model.name, source=info.model_uri, run_id=run.info.run_id, model_id=info.model_id
    )
    version = str(bare.version)
    setup.client.set_registered_model_alias(model.name, tracking.CHALLENGER, version)

    with pytest.raises(PromotionError, match="the model was logged without a signature"):
        promotion.promote(model.name, version, "ml.lead")
    outcome = promotion.evaluate(model, setup.url, version, context=context("manual__s"))
    failed = {check.name for check in outcome.verdict.failed}
    assert {"signature", "lineage", promotion.METADATA} <= failed
    assert any("its run has no tag scrollintel.dataset" in reason for reason in outcome.reasons)


def test_scoring_uses_the_champion_at_run_time(setup: Setup, pair: Any) -> None:
    from scrollintel.ml import scoring

    model, champion, challenger = pair
    first = scoring.score(model, setup.url, context=RunContext("ml_churn_score", "scheduled__1", "score"))
    promotion.promote(model.name, challenger, "ml.lead")
    second = scoring.score(model, setup.url, context=RunContext("ml_churn_score", "scheduled__2", "score"))
    again = scoring.score(model, setup.url, context=RunContext("ml_churn_score", "scheduled__2", "score"))

    assert (first.version, second.version) == (champion, challenger)
    assert again.scoring_run_id == second.scoring_run_id
    (current,) = setup.rows(f"SELECT count(*), max(snapshot_date)::text FROM {CURRENT_FEATURES}")
    assert (first.rows, first.snapshot) == current  # the scoring table (models.yaml), not the training table
    schema, table = scoring.scores_table(model.name)
    counts = setup.rows(
        "SELECT scoring_run_id::text, model_version, count(*), min(score) >= 0 AND max(score) <= 1 "
        f'FROM "{schema}"."{table}" GROUP BY 1, 2 ORDER BY min(scored_at)'
    )
    assert counts == [
        (first.scoring_run_id, int(champion), first.rows, True),
        (second.scoring_run_id, int(challenger), second.rows, True),  # the retry replaced its rows
    ]
    entries = setup.ledger(tracking.SCORED, model.name)
    assert [details["version"] for _, _, details in entries] == [champion, challenger]


def test_a_scoring_run_drops_the_partitions_of_runs_beyond_keep_runs(setup: Setup, pair: Any) -> None:
    from scrollintel.config.models import ScoringPolicy
    from scrollintel.ml import scoring

    model = pair[0].model_copy(update={"scoring": ScoringPolicy(keep_runs=2)})
    runs = [
        scoring.score(model, setup.url, context=RunContext("ml_churn_score", f"scheduled__keep{n}", "score"))
        for n in range(3)
    ]
    schema, table = scoring.scores_table(model.name)
    kept = setup.rows(f'SELECT DISTINCT scoring_run_id::text FROM "{schema}"."{table}"')
    partitions = setup.rows("SELECT count(*) FROM pg_inherits WHERE inhparent = %s::regclass", f"{schema}.{table}")

    assert {run_id for (run_id,) in kept} == {runs[1].scoring_run_id, runs[2].scoring_run_id}
    assert partitions == [(2,)]  # dropped, not only emptied
    assert runs[2].dropped_runs == 1
