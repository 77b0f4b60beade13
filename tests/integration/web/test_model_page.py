"""The Model page and its JSON API on a real, migrated warehouse, with a small stand-in for MLflow's REST API.

The warehouse holds what the lifecycle writes: monitoring runs (features drifting more with each
run), a challenger evaluation with fairness and SHAP importances, ledger entries appended through
the audit writer. MLflow is a local HTTP server answering the three read endpoints the page calls
(``registered-models/get``, ``model-versions/get``, ``runs/get``) as MLflow 3 does. Pending
promotions are Airflow's HITL records; here :func:`scrollintel.approvals.requests.list_requests`
is replaced (the Approvals page tests and the e2e approval flow read the real records).
"""

from __future__ import annotations

import csv
import io
import json
import threading
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from markupsafe import escape

from scrollintel import audit
from scrollintel.approvals.requests import ApprovalRequest
from scrollintel.ml import tracking
from scrollintel.warehouse import connect
from scrollintel.web import URL_PREFIX
from scrollintel.web.deps import warehouse_url

pytestmark = pytest.mark.integration

PAGE = f"{URL_PREFIX}/model"
API = f"{URL_PREFIX}/api/model"
EXPORT = f"{URL_PREFIX}/api/model/export.csv"
UI = "https://mlflow.example.test"
FEATURES = ["tenure_days", "failed_payments_90d", "revenue_90d", "orders_90d"]
T0 = datetime(2026, 11, 1, 6, 0, tzinfo=UTC)


# -- MLflow's REST API, as far as the page reads it -------------------------------------------------

REGISTRY: dict[str, Any] = {
    "name": "churn",
    "aliases": [{"alias": "champion", "version": "3"}, {"alias": "challenger", "version": "4"}],
}
VERSIONS = {
    "3": {
        "name": "churn",
        "version": "3",
        "run_id": "run-champion",
        "status": "READY",
        "creation_timestamp": 1_790_000_000_000,
    },
    "4": {
        "name": "churn",
        "version": "4",
        "run_id": "run-challenger",
        "status": "READY",
        "creation_timestamp": 1_791_000_000_000,
    },
}
RUNS = {
    "run-champion": {"roc_auc": 0.781, "pr_auc": 0.214, "brier": 0.051},
    "run-challenger": {"roc_auc": 0.812, "pr_auc": 0.251, "brier": 0.048},
}


class _MlflowHandler(BaseHTTPRequestHandler):
    registered = True

    def log_message(self, *args: Any) -> None:  # quiet
        return

    def _send(self, code: int, body: dict[str, Any]) -> None:
        data = json.dumps(body).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self) -> None:
        parts = urlsplit(self.path)
        query = {key: values[0] for key, values in parse_qs(parts.query).items()}
        missing = {"error_code": "RESOURCE_DOES_NOT_EXIST", "message": "not found"}
        if parts.path == "/api/2.0/mlflow/registered-models/get":
            if not type(self).registered or query.get("name") != "churn":
                return self._send(404, missing)
            return self._send(200, {"registered_model": REGISTRY})
        if parts.path == "/api/2.0/mlflow/model-versions/get":
            found = VERSIONS.get(query.get("version", ""))
            return self._send(200, {"model_version": found}) if found else self._send(404, missing)
        if parts.path == "/api/2.0/mlflow/runs/get":
            metrics = RUNS.get(query.get("run_id", ""))
            if metrics is None:
                return self._send(404, missing)
            run = {
                "info": {"run_id": query["run_id"], "experiment_id": "7"},
                "data": {"metrics": [{"key": k, "value": v, "step": 0} for k, v in metrics.items()]},
            }
            return self._send(200, {"run": run})
        return self._send(404, {"error_code": "ENDPOINT_NOT_FOUND"})


@pytest.fixture
def mlflow(monkeypatch: pytest.MonkeyPatch) -> Iterator[type[_MlflowHandler]]:
    """A local stand-in for the tracking server; MLFLOW_TRACKING_URI and the UI address point at it."""
    handler = type("Handler", (_MlflowHandler,), {"registered": True})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    monkeypatch.setenv(tracking.TRACKING_URI_ENV, f"http://127.0.0.1:{server.server_port}")
    monkeypatch.setenv("SCROLLINTEL_MLFLOW_URL", UI)
    yield handler
    server.shutdown()
    server.server_close()


# -- the warehouse -----------------------------------------------------------------------------


def _monitoring_run(url: str, index: int, object_store: Path) -> str:
    """Run ``index`` (0 = oldest): revenue and orders drift more with each run; the last run drifts."""
    run_id = str(uuid.uuid4())
    statistics = {
        "tenure_days": 0.02,
        "failed_payments_90d": 0.03 + 0.01 * index,
        "revenue_90d": 0.04 + 0.05 * index,
        "orders_90d": 0.03 + 0.04 * index,
    }
    drifted = [name for name, value in statistics.items() if value >= 0.1]
    share = len(drifted) / len(FEATURES)
    verdict = "drift" if share >= 0.3 else "ok"
    reason = (
        f"{len(drifted)} of 4 features drifted ({share:.0%} ≥ 30%): " + ", ".join(drifted)
        if verdict == "drift"
        else f"no drift or decay past its threshold: {len(drifted)} of 4 features drifted"
    )
    report = object_store / "models" / "churn" / "monitoring" / f"{run_id}.html"
    report.parent.mkdir(parents=True, exist_ok=True)
    report.write_text("<html><script>document.title='evidently'</script><p>Evidently drift report</p></html>")
    snapshot = date(2026, 6 + index, 1)
    with connect(url) as conn:
        conn.execute(
            "INSERT INTO governance.model_monitoring_runs (id, model, champion_version, champion_run_id, "
            "reference_snapshots, current_snapshot, reference_rows, current_rows, features, drifted_features, "
            "drift_share, drift_share_limit, feature_threshold, dataset_drifted, labelled_snapshots, labelled_rows, "
            "roc_auc, champion_roc_auc, max_auc_drop, decayed, verdict, reason, report_uri, dag_id, dag_run_id, "
            "created_at) VALUES (%s, 'churn', 3, 'run-champion', %s, %s, 48000, 6100, 4, %s, %s, 0.3, 0.1, %s, "
            "'{}', 0, NULL, 0.781, 0.05, NULL, %s, %s, %s, 'ml_churn_monitor', %s, %s)",
            (
                run_id,
                [date(2026, 1, 1), date(2026, 2, 1)],
                snapshot,
                len(drifted),
                share,
                verdict == "drift",
                verdict,
                reason,
                report.as_uri(),
                f"scheduled__{snapshot.isoformat()}",
                T0 + timedelta(days=30 * index),
            ),
        )
        for position, name in enumerate(FEATURES):
            conn.execute(
                "INSERT INTO governance.model_feature_drift (run_id, position, feature, method, statistic, threshold, "
                "drifted) VALUES (%s, %s, %s, 'wasserstein', %s, 0.1, %s)",
                (run_id, position, name, statistics[name], statistics[name] >= 0.1),
            )
    return run_id


FAIRNESS = {
    "threshold": 0.15,
    "max_demographic_parity_difference": 0.2,
    "max_equalized_odds_difference": 0.25,
    "min_rows": 50,
    "min_per_label": 20,
    "rows": 6100,
    "attributes": [
        {
            "attribute": "age_band",
            "groups": [
                {
                    "attribute": "age_band",
                    "group": "18-29",
                    "rows": 1200,
                    "positives": 90,
                    "selection_rate": 0.21,
                    "true_positive_rate": 0.71,
                    "false_positive_rate": 0.17,
                    "judged_parity": True,
                    "judged_odds": True,
                    "note": "",
                },
                {
                    "attribute": "age_band",
                    "group": "60+",
                    "rows": 900,
                    "positives": 40,
                    "selection_rate": 0.12,
                    "true_positive_rate": 0.58,
                    "false_positive_rate": 0.09,
                    "judged_parity": True,
                    "judged_odds": True,
                    "note": "",
                },
            ],
            "parity": {
                "metric": "demographic_parity_difference",
                "value": 0.09,
                "rate": "selection_rate",
                "high_group": "18-29",
                "high": 0.21,
                "low_group": "60+",
                "low": 0.12,
            },
            "odds": {
                "metric": "equalized_odds_difference",
                "value": 0.13,
                "rate": "true_positive_rate",
                "high_group": "18-29",
                "high": 0.71,
                "low_group": "60+",
                "low": 0.58,
            },
        },
        {
            "attribute": "region",
            "groups": [
                {
                    "attribute": "region",
                    "group": "north",
                    "rows": 3000,
                    "positives": 200,
                    "selection_rate": 0.3,
                    "true_positive_rate": 0.82,
                    "false_positive_rate": 0.25,
                    "judged_parity": True,
                    "judged_odds": True,
                    "note": "",
                },
                {
                    "attribute": "region",
                    "group": "south",
                    "rows": 3050,
                    "positives": 180,
                    "selection_rate": 0.12,
                    "true_positive_rate": 0.51,
                    "false_positive_rate": 0.08,
                    "judged_parity": True,
                    "judged_odds": True,
                    "note": "",
                },
                {
                    "attribute": "region",
                    "group": "islands",
                    "rows": 50,
                    "positives": 3,
                    "selection_rate": 0.1,
                    "true_positive_rate": None,
                    "false_positive_rate": 0.1,
                    "judged_parity": True,
                    "judged_odds": False,
                    "note": "3 positives < 20",
                },
            ],
            "parity": {
                "metric": "demographic_parity_difference",
                "value": 0.18,
                "rate": "selection_rate",
                "high_group": "north",
                "high": 0.3,
                "low_group": "south",
                "low": 0.12,
            },
            "odds": {
                "metric": "equalized_odds_difference",
                "value": 0.31,
                "rate": "true_positive_rate",
                "high_group": "north",
                "high": 0.82,
                "low_group": "south",
                "low": 0.51,
            },
        },
    ],
    "breaches": [
        {
            "attribute": "region",
            "metric": "equalized_odds_difference",
            "value": 0.31,
            "limit": 0.25,
            "reason": "region: equalized odds difference 0.31 > 0.25 (groups north 0.82 TPR vs south 0.51)",
        }
    ],
}
TOP_FEATURES = {
    "method": "tree",
    "output": "log-odds of the trees, before calibration",
    "rows": 2000,
    "seed": 42,
    "seconds": 1.2,
    "importance": [
        {"feature": "failed_payments_90d", "mean_abs_shap": 0.412, "mean_shap": 0.01, "share": 0.41, "rank": 1},
        {"feature": "tenure_days", "mean_abs_shap": 0.2, "mean_shap": -0.02, "share": 0.2, "rank": 2},
        {"feature": "revenue_90d", "mean_abs_shap": 0.15, "mean_shap": 0.0, "share": 0.15, "rank": 3},
    ],
    "segments": [],
}


def _evaluation(url: str) -> None:
    with connect(url) as conn:
        conn.execute(
            "INSERT INTO governance.model_evaluations (id, model, challenger_version, challenger_run_id, "
            "champion_version, champion_run_id, holdout_snapshot, holdout_rows, challenger_metrics, champion_metrics, "
            "fairness, top_features, verdict, reasons, trigger_reason, dag_id, dag_run_id) VALUES (%s, 'churn', 4, "
            "'run-challenger', 3, 'run-champion', '2026-09-01', 6100, %s, %s, %s, %s, 'refused', %s, %s, "
            "'ml_churn_retrain', 'asset_triggered__1')",
            (
                str(uuid.uuid4()),
                json.dumps({"roc_auc": 0.812, "pr_auc": 0.251, "brier": 0.048}),
                json.dumps({"roc_auc": 0.781, "pr_auc": 0.214, "brier": 0.051}),
                json.dumps(FAIRNESS),
                json.dumps(TOP_FEATURES),
                [FAIRNESS["breaches"][0]["reason"]],  # type: ignore[index]
                "2 of 4 features drifted (50% ≥ 30%): revenue_90d, orders_90d",
            ),
        )


def _ledger(url: str) -> None:
    audit.record_many(
        [
            audit.AuditEvent(
                tracking.PROMOTED,
                "model:churn@v3",
                {"from_version": 2, "to_version": 3, "approved_by": "ml-lead"},
                actor="ml-lead",
                at=T0 - timedelta(days=10),
            ),
            audit.AuditEvent(
                tracking.RETRAIN_REQUESTED,
                "model:churn@v3",
                {"reason": "2 of 4 features drifted (50% ≥ 30%): revenue_90d, orders_90d"},
                actor="dag:ml_churn_monitor",
                at=T0 + timedelta(days=120),
            ),
            audit.AuditEvent(
                tracking.PROMOTION_REFUSED,
                "model:churn@v4",
                {"reasons": ["region: equalized odds difference 0.31 > 0.25"]},
                actor="dag:ml_churn_retrain",
                at=T0 + timedelta(days=121),
            ),
            audit.AuditEvent("quality.gate_passed", "dataset:marts.orders", {}, actor="dag:quality", at=T0),
            audit.AuditEvent(tracking.SCORED, "model:churnish@v1", {"version": 1, "rows": 5}, actor="x", at=T0),
        ],
        url=url,
    )


@pytest.fixture
def pending(monkeypatch: pytest.MonkeyPatch) -> list[ApprovalRequest]:
    """Airflow's HITL records as the Approvals page reads them: one model promotion, one schema change."""
    requests = [
        ApprovalRequest(
            dag_id="ml_churn_retrain",
            run_id="asset_triggered__2",
            task_id="approve_promotion",
            map_index=-1,
            title="Model promotion: churn v5 (ROC AUC 0.781 → 0.820)",
            body="",
            state="pending",
            requested_at=datetime.now(UTC) - timedelta(hours=2),
            deadline=datetime.now(UTC) + timedelta(days=2),
            requester=None,
            approvers=("ml-lead",),
        ),
        ApprovalRequest(
            dag_id="ingest_shop",
            run_id="r",
            task_id="approve",
            map_index=-1,
            title="Schema change: shop.customers",
            body="",
            state="pending",
            requested_at=datetime.now(UTC),
            deadline=None,
            requester=None,
        ),
    ]
    monkeypatch.setattr(
        "scrollintel.approvals.requests.list_requests",
        lambda *, dag_ids, pending, limit=100: list(requests) if pending else [],
    )
    return requests


@pytest.fixture
def client(
    new_ledger_url: Callable[[], str],
    ledger_state: Path,
    web_app: Any,
    client_factory: Callable[..., Any],
    make_token: Callable[..., str],
) -> Iterator[tuple[Any, str, Path]]:
    """A signed-in browser on a fresh migrated warehouse, its URL and the object store."""
    url = new_ledger_url()
    web_app.dependency_overrides[warehouse_url] = lambda: url
    yield client_factory(cookie=make_token()), url, ledger_state / "objects"
    web_app.dependency_overrides.pop(warehouse_url, None)


@pytest.fixture
def seeded(client: tuple[Any, str, Path], monkeypatch: pytest.MonkeyPatch) -> tuple[Any, str, list[str]]:
    browser, url, _ = client
    store = Path(str(client[2]))
    monkeypatch.setenv("SCROLLINTEL_OBJECT_STORE", str(store))
    runs = [_monitoring_run(url, index, store) for index in range(4)]
    _evaluation(url)
    _ledger(url)
    return browser, url, runs


# -- tests ---------------------------------------------------------------------------------------


def test_versions_drift_fairness_shap_history_and_pending_promotion(
    seeded: tuple[Any, str, list[str]], mlflow: Any, pending: list[ApprovalRequest]
) -> None:
    browser, _url, runs = seeded

    response = browser.get(PAGE)
    data = browser.get(API).json()
    html = response.text

    assert response.status_code == 200, html
    (churn,) = data["models"]
    # versions and their run metrics, from MLflow, with links into its UI
    cards = {card["alias"]: card for card in churn["registry"]["versions"]}
    assert (cards["champion"]["version"], cards["challenger"]["version"]) == (3, 4)
    assert cards["challenger"]["metrics"]["roc_auc"] == 0.812
    assert cards["champion"]["version_href"] == f"{UI}/#/models/churn/versions/3"
    assert cards["challenger"]["run_href"] == f"{UI}/#/experiments/7/runs/run-challenger"
    assert churn["registry"]["notice"] is None and data["notice"] is None
    assert "v3" in html and "v4" in html and f'href="{UI}/#/models/churn/versions/4"' in html
    assert "0.812" in html
    # drift: the latest verdict with its report, and the trend per feature over the four runs
    assert [run["verdict"] for run in churn["monitoring"]] == ["ok", "ok", "drift", "drift"]
    assert churn["monitoring"][-1]["id"] == runs[-1]
    assert churn["report_href"] == f"{URL_PREFIX}/model/reports/{runs[-1]}"
    assert str(escape("2 of 4 features drifted (50% ≥ 30%): revenue_90d, orders_90d")) in html
    assert '<svg class="si-heatmap"' in html
    for feature in FEATURES:
        assert f">{feature}</text>" in html
    assert html.count('class="si-heatmap__drift"') == 4  # revenue and orders in the last two runs
    assert html.count('class="si-heatmap__ok"') == 12
    assert "revenue_90d, 2026-09-01: wasserstein 0.190 ≥ threshold 0.100 (drifted)" in html
    # the latest evaluation: metrics side by side, the fairness table, the SHAP chart
    assert churn["evaluation"]["verdict"] == "refused"
    assert [row["key"] for row in churn["metrics"]] == ["roc_auc", "pr_auc", "brier"]
    assert "refused before approval" in html
    fairness = {row["attribute"]: row for row in churn["fairness"]}
    assert fairness["region"]["breach"] and not fairness["age_band"]["breach"]
    assert fairness["region"]["equalized_odds_difference"] == 0.31
    assert fairness["region"]["odds_between"] == "north 0.82 TPR vs south 0.51"
    assert "<code>age_band</code>" in html and "<code>region</code>" in html
    assert "Breach" in html and "Within limits" in html and "3 positives &lt; 20" in html
    assert [item["feature"] for item in churn["importances"]] == ["failed_payments_90d", "tenure_days", "revenue_90d"]
    assert '<svg class="si-bars"' in html and html.count('class="si-bars__bar"') == 3
    # the history: lifecycle entries of this model only, newest first, each linked to its ledger entry
    history = churn["history"]
    assert [item["action"] for item in history] == [
        tracking.PROMOTION_REFUSED,
        tracking.RETRAIN_REQUESTED,
        tracking.PROMOTED,
    ]
    assert history[2]["summary"] == "champion v2 → v3, approved by ml-lead"
    for item in history:
        assert item["href"] == f"{URL_PREFIX}/audit/entries/{item['seq']}"
        assert f'href="{item["href"]}"' in html
    assert browser.get(history[0]["href"]).status_code == 200
    # the pending promotion, linked to the Approvals page (the schema change is not a promotion)
    assert [item["title"] for item in data["pending"]] == ["Model promotion: churn v5 (ROC AUC 0.781 → 0.820)"]
    assert data["pending"][0]["href"].startswith(f"{URL_PREFIX}/approvals?subject=Model+promotion")
    assert "Decide on the Approvals page" in html and "Schema change" not in html


def test_the_csv_export_of_each_table(seeded: tuple[Any, str, list[str]], mlflow: Any, pending: Any) -> None:
    browser, _url, runs = seeded

    def table(name: str) -> list[dict[str, str]]:
        response = browser.get(EXPORT, params={"model": "churn", "table": name})
        assert response.status_code == 200, response.text
        assert response.headers["content-type"].startswith("text/csv")
        assert f'filename="model-churn-{name}-' in response.headers["content-disposition"]
        return list(csv.DictReader(io.StringIO(response.text)))

    drift = table("drift")
    assert len(drift) == 16
    assert {row["monitoring_run_id"] for row in drift} == set(runs)
    assert [row["drifted"] for row in drift if row["feature"] == "revenue_90d"] == ["False", "False", "True", "True"]
    assert next(row["action"] for row in table("history")) == tracking.PROMOTION_REFUSED
    assert {row["group"] for row in table("fairness")} == {"18-29", "60+", "north", "south", "islands"}
    assert next(row["feature"] for row in table("shap")) == "failed_payments_90d"
    assert {row["metric"]: row["challenger"] for row in table("metrics")}["roc_auc"] == "0.812"
    assert browser.get(EXPORT, params={"model": "nope"}).status_code == 404


def test_the_evidently_report_is_served_sandboxed_and_only_from_the_object_store(
    seeded: tuple[Any, str, list[str]], mlflow: Any, pending: Any
) -> None:
    browser, url, runs = seeded

    report = browser.get(f"{URL_PREFIX}/model/reports/{runs[-1]}")

    assert report.status_code == 200
    assert "Evidently drift report" in report.text
    policy = report.headers["content-security-policy"]
    assert policy.startswith("sandbox allow-scripts;") and "allow-same-origin" not in policy
    assert report.headers.get_list("content-security-policy") == [policy]
    # a run whose report_uri points outside the object store's report folder is not served
    with connect(url) as conn:
        conn.execute(
            "UPDATE governance.model_monitoring_runs SET report_uri = 'file:///etc/passwd' WHERE id = %s", (runs[0],)
        )
    for probe in (runs[0], "not-a-uuid", str(uuid.uuid4()), "..%2F..%2Fetc%2Fpasswd"):
        response = browser.get(f"{URL_PREFIX}/model/reports/{probe}")
        assert response.status_code == 404, probe
        assert "root:" not in response.text
    # the other pages keep the app's own policy
    assert browser.get(PAGE).headers["content-security-policy"].startswith("default-src 'self'")


def test_mlflow_down_the_page_still_shows_everything_else(
    seeded: tuple[Any, str, list[str]], monkeypatch: pytest.MonkeyPatch, pending: Any
) -> None:
    browser, _url, _runs = seeded
    monkeypatch.setenv(tracking.TRACKING_URI_ENV, "http://127.0.0.1:9")  # nothing listens there

    response = browser.get(PAGE)
    data = browser.get(API).json()

    assert response.status_code == 200
    registry = data["models"][0]["registry"]
    assert registry["available"] is False and registry["versions"] == []
    assert registry["notice"].startswith("MLflow cannot be reached.")
    assert "MLflow cannot be reached." in response.text
    assert "127.0.0.1:9" not in response.text and ":9/" not in response.text
    assert '<svg class="si-heatmap"' in response.text and "<code>region</code>" in response.text


def test_mlflow_not_configured_and_no_results_yet(
    client: tuple[Any, str, Path], monkeypatch: pytest.MonkeyPatch, pending: Any
) -> None:
    browser, _url, _store = client
    monkeypatch.delenv(tracking.TRACKING_URI_ENV, raising=False)
    monkeypatch.delenv("AIRFLOW_CONN_MLFLOW_DEFAULT", raising=False)
    pending.clear()

    html = browser.get(PAGE).text
    data = browser.get(API).json()

    assert "MLflow is not configured" in data["models"][0]["registry"]["notice"]
    assert data["notice"].startswith("No model results yet — train the first model: trigger the `ml_churn_train` DAG")
    assert "<code>ml_churn_train</code>" in html
    assert html.count("No model results yet") == 1  # said once, not again in the model's section
    assert "si-heatmap" not in html and "si-bars" not in html
    assert "No promotion is waiting for a decision." in html


def test_a_registered_model_without_a_champion_says_what_to_do(
    client: tuple[Any, str, Path], mlflow: Any, pending: Any
) -> None:
    browser, _url, _store = client
    mlflow.registered = False

    data = browser.get(API).json()
    html = browser.get(PAGE).text

    registry = data["models"][0]["registry"]
    assert registry["available"] and not registry["registered"]
    assert registry["notice"] == "No champion yet — train the first model: trigger the `ml_churn_train` DAG."
    assert html.count("trigger the <code>ml_churn_train</code> DAG") == 1  # once, not per notice


def test_anonymous_requests_are_refused(client_factory: Callable[..., Any]) -> None:
    anonymous = client_factory()

    for path in (PAGE, API, EXPORT, f"{URL_PREFIX}/model/reports/{uuid.uuid4()}"):
        assert anonymous.get(path).status_code == 401, path
