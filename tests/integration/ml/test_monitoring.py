"""Drift and decay monitoring of the churn champion (scrollintel.ml.monitoring) on a real warehouse and MLflow store.

The warehouse is migrated with a runtime role holding only what the migrations grant; the mart is
owned by that role (as dbt leaves it) and monitoring connects as it. The champion is a real
pipeline in a local MLflow store (see monitoring_fixtures). Each test puts the newest snapshot it
needs in place first.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import psycopg
import pytest

from scrollintel.config import load_governance
from scrollintel.demo.shop import libpq_url
from scrollintel.ml import monitoring, tracking
from scrollintel.ml.monitoring import ChampionReference, MonitoringError, RunContext
from tests.integration.ml.monitoring_fixtures import (
    HOLDOUT,
    NEWEST,
    SHIFTED,
    TRAIN,
    Champion,
    base_frames,
    create_mart,
    register_champion,
    replace_snapshot,
    snapshot_frame,
    tracking_store,
)
from tests.integration.warehouse import runtime_database

pytestmark = pytest.mark.integration

MODEL = load_governance().model("churn")


@dataclass
class Setup:
    url: str
    admin: str
    uri: str
    champion: Champion
    objects: Path

    def client(self) -> Any:
        from mlflow import MlflowClient

        return MlflowClient(tracking_uri=self.uri, registry_uri=self.uri)

    def reference(self) -> ChampionReference:
        found = monitoring.champion_reference(self.client(), MODEL)
        assert found is not None
        return found

    def newest(self, **kwargs: Any) -> None:
        """Replace the newest snapshot with a fresh sample (``shift=`` / ``invert_labels=`` as snapshot_frame)."""
        with psycopg.connect(libpq_url(self.url), autocommit=True) as conn:
            replace_snapshot(conn, snapshot_frame(NEWEST, seed=kwargs.pop("seed", 101), **kwargs))

    def rows(self, query: str, *args: Any) -> list[tuple[Any, ...]]:
        with psycopg.connect(libpq_url(self.admin)) as conn:
            return conn.execute(query, args).fetchall()


@pytest.fixture(scope="module")
def setup(pg_server: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Setup]:
    import pandas as pd

    from scrollintel.audit import settings as audit_settings

    tmp = tmp_path_factory.mktemp("monitoring")
    frames = base_frames()
    with runtime_database(pg_server, "mon") as database, pytest.MonkeyPatch.context() as patch:
        patch.setenv("SCROLLINTEL_OBJECT_STORE", str(tmp / "objects"))
        patch.setenv("SCROLLINTEL_HOME", str(tmp / "state"))
        patch.delenv("AIRFLOW_CTX_DAG_ID", raising=False)
        uri = tracking_store(tmp / "mlflow")
        patch.setenv(tracking.TRACKING_URI_ENV, uri)
        with psycopg.connect(libpq_url(database.url), autocommit=True) as conn:
            create_mart(conn, frames)
        train = pd.concat([frame for frame in frames if frame["snapshot_date"].iloc[0] in TRAIN])
        holdout = next(frame for frame in frames if frame["snapshot_date"].iloc[0] == HOLDOUT)
        champion = register_champion(uri, tmp / "mlflow", MODEL, train, holdout)
        audit_settings.configure(database_url=database.url)
        try:
            yield Setup(database.url, database.admin_url, uri, champion, tmp / "objects")
        finally:
            audit_settings.configure(database_url=None)


def run(setup: Setup, dag_run: str | None = None, **options: Any) -> monitoring.MonitoringResult:
    context = RunContext(dag_id="ml_churn_monitor", dag_run_id=dag_run, task_id="monitor") if dag_run else None
    return monitoring.monitor(setup.url, MODEL, setup.reference(), context=context, **options)


# --------------------------------------------------------------------------- the champion


def test_champion_reference_is_the_alias_version_with_its_training_snapshots_and_holdout_auc(setup: Setup) -> None:
    found = setup.reference()
    assert found.version == setup.champion.version
    assert found.run_id == setup.champion.run_id
    assert found.reference_snapshots == TRAIN
    assert found.holdout_snapshot == HOLDOUT
    assert found.holdout_roc_auc == pytest.approx(setup.champion.holdout_roc_auc)
    assert 0.6 < found.holdout_roc_auc < 0.95  # the fixture's process is learnable, not trivial
    assert ChampionReference.from_dict(found.as_dict()) == found


def test_without_a_champion_there_is_no_reference(setup: Setup) -> None:
    client = setup.client()
    assert monitoring.champion_reference(client, MODEL.model_copy(update={"name": "never-registered"})) is None
    client.create_registered_model("registered-without-alias")
    assert monitoring.champion_reference(client, MODEL.model_copy(update={"name": "registered-without-alias"})) is None


def test_a_champion_run_without_training_snapshots_is_refused_naming_the_run(setup: Setup, tmp_path: Path) -> None:
    import pandas as pd

    other = MODEL.model_copy(update={"name": "tagless"})
    frames = [snapshot_frame(day, seed) for seed, day in enumerate((*TRAIN, HOLDOUT), start=1)]
    logged = register_champion(
        setup.uri, tmp_path, other, pd.concat(frames[:-1]), frames[-1], tags={tracking.TAG_TRAIN_SNAPSHOTS: " "}
    )
    with pytest.raises(MonitoringError) as raised:
        monitoring.champion_reference(setup.client(), other)
    assert str(raised.value) == (
        f"the run {logged.run_id} of model tagless version 1 (champion) has no tag scrollintel.train_snapshots "
        "(the snapshots it was trained on): drift monitoring has no reference data"
    )


def test_the_logged_holdout_is_the_reference_one_snapshot_apart_not_the_training_years(
    setup: Setup, tmp_path: Path
) -> None:
    """Training logs its holdout rows with the run; monitoring compares the newest snapshot with them as they were."""
    import pandas as pd

    other = MODEL.model_copy(update={"name": "referenced"})
    frames = base_frames()
    train = pd.concat([frame for frame in frames if frame["snapshot_date"].iloc[0] in TRAIN])
    holdout = next(frame for frame in frames if frame["snapshot_date"].iloc[0] == HOLDOUT)
    register_champion(setup.uri, tmp_path, other, train, holdout, reference=holdout)
    found = monitoring.champion_reference(setup.client(), other)
    assert found is not None and found.reference_artifact == tracking.REFERENCE_ARTIFACT
    assert ChampionReference.from_dict(found.as_dict()) == found

    setup.newest(seed=606, shift=SHIFTED)
    drifted = monitoring.monitor(setup.url, other, found, scorer=lambda frame: frame["tenure_days"].to_numpy() * 0.0)
    setup.newest(seed=607)
    steady = monitoring.monitor(setup.url, other, found, scorer=lambda frame: frame["tenure_days"].to_numpy() * 0.0)

    assert drifted.champion.reference_snapshots == (HOLDOUT,) and drifted.drift.reference_rows == len(holdout)
    assert {item.feature for item in drifted.drift.drifted} == set(SHIFTED)
    assert steady.drift.drifted == []


# --------------------------------------------------------------------------- drift


def test_injected_drift_is_drift_naming_the_shifted_features(setup: Setup) -> None:
    setup.newest(shift=SHIFTED)
    result = run(setup)
    assert result.verdict == "drift" and result.retrain
    drift = result.drift
    assert {item.feature for item in drift.drifted} == set(SHIFTED)
    assert drift.dataset_drifted and drift.share == pytest.approx(5 / 13)
    assert (drift.reference_rows, drift.current_rows) == (6 * 1500, 1500)
    for item in drift.features:
        assert (item.method, item.threshold) == ("wasserstein", MODEL.monitoring.feature_threshold)
        assert item.drifted == (item.statistic >= item.threshold)
    assert min(item.statistic for item in drift.drifted) > 0.5  # a one-sd shift
    assert max(item.statistic for item in drift.features if not item.drifted) < 0.1
    names = ", ".join(item.feature for item in drift.drifted)
    assert result.reason.startswith(f"5 of 13 features drifted (38% ≥ 30%): {names}; ROC AUC on 1,500 newly labelled")
    assert not result.decay.decayed


def test_a_new_sample_of_the_same_process_does_not_drift(setup: Setup) -> None:
    setup.newest(seed=202)
    result = run(setup)
    assert result.verdict == "ok" and not result.retrain
    assert result.drift.drifted == [] and not result.drift.dataset_drifted
    assert result.drift.share == 0
    assert re.fullmatch(
        r"no drift or decay past its threshold: 0 of 13 features drifted \(0% < 30%\); "
        r"ROC AUC on 1,500 newly labelled rows 0\.\d\d, 0\.0\d (below|above) the champion's 0\.\d\d \(limit 0\.05\)",
        result.reason,
    ), result.reason


# --------------------------------------------------------------------------- decay


def test_labels_the_champion_predicts_badly_are_decay(setup: Setup) -> None:
    setup.newest(seed=303, invert_labels=True)
    result = run(setup)
    decay = result.decay
    assert result.verdict == "decay" and not result.drift.dataset_drifted
    assert decay.labelled_snapshots == (NEWEST,) and decay.rows == 1500
    assert decay.roc_auc is not None and decay.roc_auc < 0.5
    assert decay.drop is not None and decay.drop > MODEL.monitoring.max_auc_drop
    assert result.reason.startswith(
        f"ROC AUC on 1,500 newly labelled rows {decay.roc_auc:.2f}, {decay.drop:.2f} below the champion's "
        f"{setup.champion.holdout_roc_auc:.2f} (limit 0.05); 0 of 13 features drifted (0% < 30%)"
    )


def test_scores_are_the_champions_own(setup: Setup) -> None:
    """The default scorer loads the champion version from the registry: same ROC AUC as the fitted pipeline."""
    import mlflow.sklearn
    from sklearn.metrics import roc_auc_score

    setup.newest(seed=404)
    result = run(setup)
    frame = snapshot_frame(NEWEST, seed=404)
    model = mlflow.sklearn.load_model(f"models:/churn/{setup.champion.version}")
    expected = roc_auc_score(frame["churn_label"], model.predict_proba(frame[MODEL.features].astype("float64"))[:, 1])
    assert result.decay.roc_auc == pytest.approx(expected, abs=1e-9)


def test_decay_is_not_measured_without_rows_labelled_after_the_holdout(setup: Setup) -> None:
    setup.newest(seed=505)
    champion = replace(setup.reference(), holdout_snapshot=NEWEST)
    result = monitoring.monitor(setup.url, MODEL, champion, scorer=_no_scoring)
    assert result.decay.rows == 0 and result.decay.roc_auc is None and not result.decay.decayed
    assert result.reason == (
        "no drift or decay past its threshold: 0 of 13 features drifted (0% < 30%); decay not measured: "
        "no row labelled after the champion's holdout snapshot 2025-08-01"
    )


def _no_scoring(frame: Any) -> Any:
    raise AssertionError("nothing should be scored")


def test_monitoring_without_the_reference_snapshots_says_what_the_table_holds(setup: Setup) -> None:
    champion = replace(setup.reference(), reference_snapshots=(dt.date(2024, 1, 1), dt.date(2024, 2, 1)))
    with pytest.raises(MonitoringError) as raised:
        monitoring.monitor(setup.url, MODEL, champion, scorer=_no_scoring)
    held = ", ".join(day.isoformat() for day in (*TRAIN, HOLDOUT, NEWEST))
    assert str(raised.value) == (
        "none of the champion's training snapshots (2024-01-01, 2024-02-01) is in marts.ml_churn_features any more "
        f"(it holds {held}): drift monitoring has no reference data"
    )


def test_an_empty_feature_table_is_an_error(setup: Setup) -> None:
    empty = MODEL.model_copy(update={"features_table": "marts.no_rows"})
    with psycopg.connect(libpq_url(setup.url), autocommit=True) as conn:
        conn.execute("CREATE TABLE marts.no_rows (LIKE marts.ml_churn_features)")
    with pytest.raises(MonitoringError, match=r"^marts\.no_rows has no rows: nothing to monitor$"):
        monitoring.monitor(setup.url, empty, setup.reference(), scorer=_no_scoring)


# --------------------------------------------------------------------------- storage and the report


def test_results_are_stored_with_the_report_and_a_rerun_of_the_dag_run_replaces_them(setup: Setup) -> None:
    setup.newest(seed=606, shift=SHIFTED)
    first = run(setup, dag_run="scheduled__2026-01-02")
    monitoring.store_result(setup.url, first)
    path = setup.objects / "models" / "churn" / "monitoring" / f"{first.run_id}.html"
    assert first.report_uri == path.as_uri() and path.is_file()
    page = path.read_text()
    assert "Data drift: the newest snapshot against the champion" in page
    assert "Performance on rows labelled after the holdout" in page
    [(verdict, reason, drifted, uri, version, current, reference, labelled)] = setup.rows(
        "SELECT verdict, reason, drifted_features, report_uri, champion_version, current_snapshot, "
        "reference_snapshots, labelled_snapshots FROM governance.model_monitoring_runs WHERE id = %s",
        first.run_id,
    )
    assert (verdict, reason, drifted, uri) == ("drift", first.reason, 5, first.report_uri)
    assert (version, current, reference, labelled) == (setup.champion.version, NEWEST, list(TRAIN), [NEWEST])
    stored = setup.rows(
        "SELECT feature, method, statistic, threshold, drifted FROM governance.model_feature_drift "
        "WHERE run_id = %s ORDER BY position",
        first.run_id,
    )
    assert [row[0] for row in stored] == MODEL.features
    assert {row[0] for row in stored if row[4]} == set(SHIFTED)

    # the same DAG run again (a retry, or a cleared task) on data that no longer drifts: same id, rows replaced
    setup.newest(seed=607)
    again = run(setup, dag_run="scheduled__2026-01-02")
    assert again.run_id == first.run_id
    monitoring.store_result(setup.url, again)
    runs = setup.rows(
        "SELECT id, verdict, drifted_features FROM governance.model_monitoring_runs "
        "WHERE dag_id = 'ml_churn_monitor' AND dag_run_id = 'scheduled__2026-01-02'"
    )
    assert [(str(run_id), verdict, drifted) for run_id, verdict, drifted in runs] == [(first.run_id, "ok", 0)]
    assert setup.rows("SELECT count(*) FROM governance.model_feature_drift WHERE run_id = %s", first.run_id) == [(13,)]
    assert "Data drift" in path.read_text()  # the page was replaced, not added
    assert len(list(path.parent.glob(f"*{first.run_id}*"))) == 1

    # another DAG run is another monitoring run
    other = run(setup, dag_run="scheduled__2026-01-03")
    monitoring.store_result(setup.url, other)
    assert other.run_id != first.run_id
    both = setup.rows("SELECT 1 FROM governance.model_monitoring_runs WHERE id = ANY(%s)", [first.run_id, other.run_id])
    assert len(both) == 2


def test_a_retraining_request_is_asked_once_per_champion_and_snapshot_and_recorded_in_the_ledger(setup: Setup) -> None:
    with psycopg.connect(libpq_url(setup.url), autocommit=True) as conn:
        conn.execute("DELETE FROM governance.model_monitoring_runs")  # what earlier tests stored
    setup.newest(seed=707, shift=SHIFTED)
    first = monitoring.monitor_and_store(
        setup.url, MODEL, setup.reference(), RunContext("ml_churn_monitor", "manual__a", "monitor", "lineage-a")
    )
    assert first["retrain"] and first["already_requested_by"] is None
    monitoring.record_retrain_request(first)
    monitoring.record_retrain_request(first)  # a retried task records nothing twice
    later = monitoring.monitor_and_store(
        setup.url, MODEL, setup.reference(), RunContext("ml_churn_monitor", "manual__b", "monitor")
    )
    assert later["retrain"] and later["already_requested_by"] == first["monitoring_run_id"]
    entries = setup.rows(
        "SELECT actor, subject, details FROM governance.audit_entry WHERE action = 'model.retrain_requested' "
        "AND details LIKE %s",
        f"%{first['monitoring_run_id']}%",
    )
    assert len(entries) == 1
    actor, subject, details = entries[0]
    assert (actor, subject) == ("dag:ml_churn_monitor", f"model:churn@v{setup.champion.version}")
    for expected in ('"reason":', '"verdict":"drift"', '"lineage_run_id":"lineage-a"', '"dag_run_id":"manual__a"'):
        assert expected in details
