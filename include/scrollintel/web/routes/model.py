"""Model page: each governed model's champion and challenger, drift, fairness, explanations and promotions.

Pages (HTML, server-rendered; the charts are inline SVG, so they need no script)::

    GET /model                          per model of governance/models.yaml: the versions the
                                        registry aliases name (with their run metrics), the latest
                                        monitoring verdict and the drift trend per feature, the
                                        latest challenger evaluation (metrics side by side, fairness
                                        table, SHAP importance chart), the lifecycle history from
                                        the ledger; pending promotions with a link to Approvals
    GET /model/reports/{run_id}         a monitoring run's Evidently HTML report (sandboxed)

JSON API::

    GET /api/model                      the same data
    GET /api/model/export.csv           one table as CSV: ?model=&table=drift|history|fairness|shap|metrics

Sources: ``governance.model_monitoring_runs`` / ``model_feature_drift`` and ``model_evaluations``
through :mod:`scrollintel.ml.query`; the audit ledger through :mod:`scrollintel.audit.query`;
Airflow's human-in-the-loop records through :mod:`scrollintel.approvals.requests`; the MLflow
registry over its REST API (:mod:`scrollintel.ml.registry_api`, short timeout). The warehouse is
required (its problems are a panel and a 503, as on the other pages); MLflow is not: unreachable
or not configured, the page still shows everything else with a notice saying so.

The Evidently report is a file in the object store, served only when the run's ``report_uri``
resolves inside ``<object store>/models/<model>/monitoring``. It is Evidently's own page with
inline scripts, which the app's content security policy forbids, so it is answered with its own
policy: a ``sandbox`` without ``allow-same-origin`` (an opaque origin: its scripts run but can
reach neither the Airflow UI's cookies nor its pages), nothing loaded from anywhere.
"""

from __future__ import annotations

import csv
import io
import logging
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Annotated, Any, Literal
from urllib.parse import quote, urlencode

from fastapi import APIRouter, HTTPException, Path, Query, Request, Response, status
from fastapi.responses import FileResponse
from pydantic import BaseModel, Field

from scrollintel.exceptions import ConfigError
from scrollintel.ml import tracking
from scrollintel.ml.query import (
    DEFAULT_RUNS,
    Evaluation,
    FairnessGroup,
    FairnessRow,
    Importance,
    MonitoringRun,
)
from scrollintel.web.deps import CurrentUser, DatabaseUrl, PageUser
from scrollintel.web.problems import PageData, PageProblem, problem_route
from scrollintel.web.templating import code_spans, format_time, render_page, time_ago

if TYPE_CHECKING:
    from scrollintel.config.models import ModelConfig
    from scrollintel.ml.registry_api import RegistryState

log = logging.getLogger(__name__)

EMPTY_NOTICE = (
    "No model results yet — train the first model: trigger the `ml_churn_train` DAG. Monitoring runs, "
    "challenger evaluations and promotions appear here as they happen."
)
NO_PENDING = "No promotion is waiting for a decision."
HISTORY_LIMIT = 50
MAX_RUNS = 60
#: The lifecycle's ledger actions (ml.tracking) as the history names them.
ACTION_LABELS = {
    tracking.RETRAIN_REQUESTED: "Retraining requested",
    tracking.EVALUATED: "Challenger evaluated",
    tracking.PROMOTION_REFUSED: "Promotion refused",
    tracking.PROMOTED: "Promoted",
    tracking.PROMOTION_REJECTED: "Promotion rejected",
    tracking.ROLLED_BACK: "Rolled back",
    tracking.SCORED: "Scored",
}
#: Metrics shown side by side (others are in the JSON and the CSV), and whether lower is better.
METRICS = (
    ("roc_auc", "ROC AUC", False),
    ("pr_auc", "PR AUC", False),
    ("brier", "Brier score", True),
    ("log_loss", "Log loss", True),
    ("recall_at_threshold", "Recall at threshold", False),
    ("precision_at_threshold", "Precision at threshold", False),
)
#: The approval gate's title of a model promotion request (scrollintel.approvals.gate.TITLES).
PROMOTION_SUBJECT = "model_promotion"


def _config_problem(err: BaseException) -> PageProblem | None:
    if not isinstance(err, ConfigError):
        return None
    hint = "Run `scrollintel validate`."
    return PageProblem("The model configuration is invalid", str(err), hint=hint, status_code=500)


MODELS = PageData(
    "model",
    data="the model results",
    missing="The model results tables do not exist yet",
    tables="governance.model_monitoring_runs, governance.model_evaluations and the audit ledger",
    readable="the model tables",
    grant="the governance migrations grant it SELECT on them",
    own_problem=_config_problem,
)

Runs = Annotated[int, Query(ge=1, le=MAX_RUNS, description="monitoring runs in the drift trend")]
router = APIRouter(route_class=problem_route(MODELS))


# -- data ----------------------------------------------------------------------------------------


class VersionCard(BaseModel):
    """A registry alias and the version it names, with its run's metrics and links into MLflow."""

    alias: str
    version: int
    run_id: str | None
    status: str | None
    created_at: datetime | None
    metrics: dict[str, float]
    archived: str | None = None
    version_href: str | None = Field(default=None, description="the version in the MLflow UI")
    run_href: str | None = Field(default=None, description="its run in the MLflow UI")


class RegistryView(BaseModel):
    """What MLflow's registry says; ``notice`` says why it could not be asked, or why it is empty."""

    available: bool
    registered: bool
    versions: list[VersionCard]
    notice: str | None = None
    ui_href: str | None = Field(default=None, description="the MLflow UI, when its address is configured")


class HistoryItem(BaseModel):
    """One lifecycle entry of the ledger, linked to its page on the Audit page."""

    seq: int
    recorded_at: datetime
    action: str
    label: str
    actor: str
    subject: str
    summary: str
    href: str


class MetricRow(BaseModel):
    """One metric of the latest evaluation: champion and challenger on the same holdout."""

    key: str
    label: str
    champion: float | None
    challenger: float | None
    lower_is_better: bool

    @property
    def better(self) -> bool | None:
        """Whether the challenger is better (None when either side is missing or they tie)."""
        if self.champion is None or self.challenger is None or self.champion == self.challenger:
            return None
        return (self.challenger < self.champion) == self.lower_is_better


class ModelView(BaseModel):
    """One governed model on the page."""

    name: str
    description: str
    registry: RegistryView
    monitoring: list[MonitoringRun] = Field(description="newest runs, oldest first")
    report_href: str | None = Field(description="the latest run's Evidently report")
    evaluation: Evaluation | None
    metrics: list[MetricRow]
    fairness: list[FairnessRow]
    fairness_groups: list[FairnessGroup]
    fairness_breaches: list[str]
    importances: list[Importance]
    shap_output: str | None
    history: list[HistoryItem]
    history_href: str = Field(description="the same entries on the Audit page")
    notice: str | None = None


class PendingPromotion(BaseModel):
    """A model promotion waiting at the approval gate."""

    dag_id: str
    run_id: str
    task_id: str
    title: str
    requested_at: datetime
    deadline: datetime | None
    approvers: list[str]
    href: str = Field(description="the request on the Approvals page")


class ModelOverview(BaseModel):
    """What the Model page shows."""

    models: list[ModelView]
    pending: list[PendingPromotion]
    approvals_href: str
    notice: str | None = None


def _configured_models() -> list[ModelConfig]:
    from scrollintel.config import load_governance

    return list(load_governance().models.models)


def _registry(model: str) -> RegistryView:
    from scrollintel.ml.registry_api import RegistryUnavailable, registry_state, run_href, ui_url, version_href

    ui = ui_url()
    try:
        state: RegistryState = registry_state(model)
    except RegistryUnavailable as err:
        return RegistryView(
            available=False,
            registered=False,
            versions=[],
            notice=f"{err}. Versions and their metrics are not shown; everything else below is from the warehouse.",
            ui_href=ui,
        )

    def link(experiment_id: str | None, run_id: str | None) -> str | None:
        return run_href(ui, experiment_id, run_id) if ui and experiment_id and run_id else None

    cards = [
        VersionCard(
            alias=item.alias,
            version=item.version,
            run_id=item.run_id,
            status=item.status,
            created_at=item.created_at,
            metrics=item.metrics,
            archived=item.archived,
            version_href=version_href(ui, tracking.registered_model_name(model), item.version) if ui else None,
            run_href=link(item.experiment_id, item.run_id),
        )
        for item in state.versions
    ]
    notice = None
    if state.alias(tracking.CHAMPION) is None:
        notice = f"No champion yet — train the first model: trigger the `ml_{model}_train` DAG."
    return RegistryView(available=True, registered=state.registered, versions=cards, notice=notice, ui_href=ui)


def _number(value: Any) -> float | None:
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None


def _metric_rows(evaluation: Evaluation | None) -> list[MetricRow]:
    if evaluation is None:
        return []
    champion = evaluation.champion_metrics or {}
    rows = [
        MetricRow(
            key=key,
            label=label,
            champion=_number(champion.get(key)),
            challenger=_number(evaluation.challenger_metrics.get(key)),
            lower_is_better=lower,
        )
        for key, label, lower in METRICS
    ]
    return [row for row in rows if row.champion is not None or row.challenger is not None]


def _belongs_to(subject: str, model: str) -> bool:
    """``model:<name>``, ``model:<name>@v3``, ``model:<name>/...``: entries about ``model``."""
    prefix = f"model:{model}"
    return subject == prefix or subject.startswith((f"{prefix}@", f"{prefix}/", f"{prefix}:"))


def _version(value: Any) -> str:
    return f"v{value}" if value is not None and str(value) != "" else "?"


def summarize(action: str, details: dict[str, Any]) -> str:
    """A line about a lifecycle entry from its details (what the ledger recorded, in words)."""
    get = details.get
    if action == tracking.RETRAIN_REQUESTED:
        return str(get("reason") or "")
    if action == tracking.EVALUATED:
        verdict = get("verdict")
        against = f" against champion {_version(get('champion_version'))}" if get("champion_version") else ""
        return f"challenger {_version(get('challenger_version') or get('version'))}{against}" + (
            f": {verdict}" if verdict else ""
        )
    if action == tracking.PROMOTION_REFUSED:
        reasons = get("reasons")
        return "; ".join(str(item) for item in reasons) if isinstance(reasons, list) else str(get("reason") or "")
    if action in (tracking.PROMOTED, tracking.ROLLED_BACK):
        moved = f"champion {_version(get('from_version'))} → {_version(get('to_version') or get('version'))}"
        by = get("approved_by")
        return moved + (f", approved by {by}" if by else "")
    if action == tracking.PROMOTION_REJECTED:
        version = _version(get("version") or get("challenger_version"))
        return f"challenger {version} archived" + (f": {get('reason')}" if get("reason") else "")
    if action == tracking.SCORED:
        rows = get("rows")
        return f"{_version(get('version'))} scored " + (f"{rows:,} rows" if isinstance(rows, int) else "")
    return ""


def _history(request: Request, url: str, model: str) -> list[HistoryItem]:
    from scrollintel.audit.query import EntryFilter, search_entries

    page = search_entries(url, EntryFilter(action="model.*", subject=f"model:{model}*"), limit=HISTORY_LIMIT * 2)
    items = []
    for entry in page.items:
        if entry.action not in ACTION_LABELS or not _belongs_to(entry.subject, model):
            continue
        items.append(
            HistoryItem(
                seq=entry.seq,
                recorded_at=entry.recorded_at,
                action=entry.action,
                label=ACTION_LABELS[entry.action],
                actor=entry.actor,
                subject=entry.subject,
                summary=summarize(entry.action, entry.details),
                href=str(request.url_for("audit_entry_page", seq=entry.seq).path),
            )
        )
    return items[:HISTORY_LIMIT]


def _pending(request: Request, user: Any) -> list[PendingPromotion]:
    from airflow.api_fastapi.app import get_auth_manager

    from scrollintel.approvals.gate import TITLES
    from scrollintel.approvals.requests import list_requests

    title = f"{TITLES[PROMOTION_SUBJECT]}:"
    dag_ids = get_auth_manager().get_authorized_dag_ids(user=user, method="GET")
    approvals = str(request.url_for("approvals_page").path)
    return [
        PendingPromotion(
            dag_id=item.dag_id,
            run_id=item.run_id,
            task_id=item.task_id,
            title=item.title,
            requested_at=item.requested_at,
            deadline=item.deadline,
            approvers=list(item.approvers),
            href=f"{approvals}?{urlencode({'subject': item.title[:200]})}",
        )
        for item in list_requests(dag_ids=dag_ids, pending=True)
        if item.title.startswith(title)
    ]


def load_model(request: Request, url: str, config: ModelConfig, runs: int = DEFAULT_RUNS) -> ModelView:
    """Read one model's page section: registry, monitoring, latest evaluation, history."""
    from scrollintel.ml.query import fairness_rows, latest_evaluation, monitoring_history, shap_importances, shap_output

    name = config.name
    monitoring = monitoring_history(url, name, runs=runs)
    evaluation = latest_evaluation(url, name)
    fairness, groups, breaches = fairness_rows(evaluation.fairness if evaluation else None)
    latest = monitoring[-1] if monitoring else None
    report = request.url_for("model_report", run_id=latest.id).path if latest and latest.has_report else None
    ledger = urlencode({"action": "model.*", "subject": f"model:{name}*"})
    history = _history(request, url, name)
    registry = _registry(name)
    nothing = not (monitoring or evaluation or history or registry.versions)
    return ModelView(
        name=name,
        description=config.description,
        registry=registry,
        monitoring=monitoring,
        report_href=report,
        evaluation=evaluation,
        metrics=_metric_rows(evaluation),
        fairness=fairness,
        fairness_groups=groups,
        fairness_breaches=breaches,
        importances=shap_importances(evaluation.top_features if evaluation else None),
        shap_output=shap_output(evaluation.top_features) if evaluation else None,
        history=history,
        history_href=f"{request.url_for('audit_page').path}?{ledger}",
        notice=EMPTY_NOTICE.replace("ml_churn_train", f"ml_{name}_train") if nothing else None,
    )


def load_overview(request: Request, url: str, user: Any, runs: int = DEFAULT_RUNS) -> ModelOverview:
    """Every configured model's section, and the pending promotions."""
    models = [load_model(request, url, config, runs) for config in _configured_models()]
    pending = _pending(request, user)
    empty = all(model.notice for model in models) and not pending
    return ModelOverview(
        models=models,
        pending=pending,
        approvals_href=f"{request.url_for('approvals_page').path}?{urlencode({'subject': 'Model promotion'})}",
        notice=(models[0].notice if len(models) == 1 else EMPTY_NOTICE) if empty else None,
    )


# -- charts --------------------------------------------------------------------------------------


class HeatCell(BaseModel):
    """One feature in one monitoring run."""

    x: float
    y: float
    width: float
    height: float
    opacity: float
    drifted: bool
    text: str
    label: str


class HeatColumn(BaseModel):
    """One monitoring run: its label below the grid and its verdict above."""

    x: float
    label: str
    verdict: str
    title: str


class DriftHeatmap(BaseModel):
    """Geometry of the drift chart: one row per feature, one column per run, statistic / threshold as shade."""

    width: int
    height: int
    left: float
    top: float
    features: list[tuple[float, str]]
    columns: list[HeatColumn]
    cells: list[HeatCell]
    show_values: bool


def drift_heatmap(runs: list[MonitoringRun], *, width: int = 960, row_height: int = 22) -> DriftHeatmap | None:
    """Each feature's drift statistic against its threshold in each run (oldest left); None without runs.

    Shade: the statistic as a share of its threshold (full at twice the threshold); drifted cells
    are drawn in the "bad" colour, the others in the "ok" one.
    """
    if not runs:
        return None
    order: list[str] = []
    for run in reversed(runs):  # the newest run's order first, then features only older runs tested
        order += [item.feature for item in run.features if item.feature not in order]
    left, top, right, bottom = 190.0, 26.0, 12.0, 26.0
    slot = (width - left - right) / len(runs)
    cells, columns = [], []
    for index, run in enumerate(runs):
        x = left + index * slot
        columns.append(
            HeatColumn(
                x=round(x + slot / 2, 2),
                label=run.current_snapshot.strftime("%b %d"),
                verdict=run.verdict,
                title=f"{run.current_snapshot.isoformat()} (run {format_time(run.created_at)}): {run.reason}",
            )
        )
        by_feature = {item.feature: item for item in run.features}
        for row, feature in enumerate(order):
            item = by_feature.get(feature)
            if item is None:
                continue
            ratio = item.statistic / item.threshold if item.threshold > 0 else 0.0
            sign = "≥" if item.drifted else "<"
            cells.append(
                HeatCell(
                    x=round(x + 1, 2),
                    y=top + row * row_height + 1,
                    width=round(max(1.0, slot - 2), 2),
                    height=row_height - 2,
                    opacity=round(0.12 + 0.88 * min(ratio, 2.0) / 2.0, 3),
                    drifted=item.drifted,
                    text=f"{item.statistic:.2f}",
                    label=(
                        f"{feature}, {run.current_snapshot.isoformat()}: {item.method} {item.statistic:.3f} {sign} "
                        f"threshold {item.threshold:.3f}" + (" (drifted)" if item.drifted else "")
                    ),
                )
            )
    features = [(top + row * row_height + row_height / 2 + 4, feature) for row, feature in enumerate(order)]
    return DriftHeatmap(
        width=width,
        height=int(top + len(order) * row_height + bottom),
        left=left,
        top=top,
        features=features,
        columns=columns,
        cells=cells,
        show_values=slot >= 40,
    )


class ImportanceBar(BaseModel):
    """One feature's bar in the SHAP chart."""

    y: float
    width: float
    feature: str
    value: str
    label: str


class ImportanceChart(BaseModel):
    """Geometry of the SHAP importance chart (horizontal bars, most important on top)."""

    width: int
    height: int
    left: float
    bar_height: float
    bars: list[ImportanceBar]


def importance_chart(importances: list[Importance], *, width: int = 720, top_n: int = 15) -> ImportanceChart | None:
    """Horizontal bars of mean |SHAP value|, the ``top_n`` most important features; None without any."""
    shown = importances[:top_n]
    if not shown:
        return None
    left, right, row = 190.0, 70.0, 22.0
    peak = max(item.mean_abs_shap for item in shown) or 1.0
    bars = [
        ImportanceBar(
            y=round(4 + index * row, 2),
            width=round(max(1.0, (width - left - right) * item.mean_abs_shap / peak), 2),
            feature=item.feature,
            value=f"{item.mean_abs_shap:.3f}",
            label=f"{item.feature}: mean |SHAP| {item.mean_abs_shap:.4f}"
            + (f" ({item.share:.0%} of the total)" if item.share is not None else ""),
        )
        for index, item in enumerate(shown)
    ]
    return ImportanceChart(width=width, height=int(8 + len(shown) * row), left=left, bar_height=row - 6, bars=bars)


# -- routes --------------------------------------------------------------------------------------


@router.get("/model", name="model_page", include_in_schema=False)
def model_page(request: Request, user: PageUser, url: DatabaseUrl, runs: Runs = DEFAULT_RUNS) -> Response:
    """Render every configured model's section and the pending promotions."""
    overview = load_overview(request, url, user, runs)
    return render_page(
        request,
        "model",
        "model.html",
        user=user,
        overview=overview,
        heatmaps={model.name: drift_heatmap(model.monitoring) for model in overview.models},
        shap_charts={model.name: importance_chart(model.importances) for model in overview.models},
        metric_labels={key: label for key, label, _ in METRICS},
        no_pending=NO_PENDING,
        code_spans=code_spans,
        format_time=format_time,
        time_ago=time_ago,
        export_href=lambda model, table: (
            f"{request.url_for('model_export_csv').path}?{urlencode({'model': model, 'table': table})}"
        ),
    )


@router.get("/api/model", name="model_api")
def model_api(request: Request, user: CurrentUser, url: DatabaseUrl, runs: Runs = DEFAULT_RUNS) -> ModelOverview:
    """Each configured model: registry versions, monitoring runs, latest evaluation, history; pending promotions."""
    return load_overview(request, url, user, runs)


Table = Literal["drift", "history", "fairness", "shap", "metrics"]
EXPORT_COLUMNS: dict[str, list[str]] = {
    "drift": [
        "monitoring_run_id",
        "created_at",
        "current_snapshot",
        "champion_version",
        "verdict",
        "feature",
        "method",
        "statistic",
        "threshold",
        "drifted",
    ],
    "history": ["seq", "recorded_at", "action", "subject", "actor", "summary"],
    "fairness": [
        "evaluation_id",
        "challenger_version",
        "attribute",
        "group",
        "rows",
        "positives",
        "selection_rate",
        "true_positive_rate",
        "false_positive_rate",
        "note",
    ],
    "shap": ["evaluation_id", "challenger_version", "rank", "feature", "mean_abs_shap", "share"],
    "metrics": ["evaluation_id", "metric", "champion_version", "champion", "challenger_version", "challenger"],
}


def export_rows(view: ModelView, table: Table) -> list[dict[str, Any]]:
    """The rows of one table of ``view`` for the CSV export."""
    evaluation = view.evaluation
    if table == "drift":
        return [
            {
                "monitoring_run_id": run.id,
                "created_at": run.created_at.isoformat(),
                "current_snapshot": run.current_snapshot.isoformat(),
                "champion_version": run.champion_version,
                "verdict": run.verdict,
                "feature": item.feature,
                "method": item.method,
                "statistic": item.statistic,
                "threshold": item.threshold,
                "drifted": item.drifted,
            }
            for run in view.monitoring
            for item in run.features
        ]
    if table == "history":
        return [
            {
                "seq": item.seq,
                "recorded_at": item.recorded_at.isoformat(),
                "action": item.action,
                "subject": item.subject,
                "actor": item.actor,
                "summary": item.summary,
            }
            for item in view.history
        ]
    if evaluation is None:
        return []
    if table == "fairness":
        return [
            {"evaluation_id": evaluation.id, "challenger_version": evaluation.challenger_version, **group.model_dump()}
            for group in view.fairness_groups
        ]
    if table == "shap":
        return [
            {
                "evaluation_id": evaluation.id,
                "challenger_version": evaluation.challenger_version,
                "rank": rank,
                **item.model_dump(),
            }
            for rank, item in enumerate(view.importances, start=1)
        ]
    keys = sorted({*evaluation.challenger_metrics, *(evaluation.champion_metrics or {})})
    return [
        {
            "evaluation_id": evaluation.id,
            "metric": key,
            "champion_version": evaluation.champion_version,
            "champion": (evaluation.champion_metrics or {}).get(key),
            "challenger_version": evaluation.challenger_version,
            "challenger": evaluation.challenger_metrics.get(key),
        }
        for key in keys
    ]


def _safe_cell(value: Any) -> Any:
    """A text cell a spreadsheet would run as a formula (=, +, -, @ first) is prefixed with a quote."""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value


@router.get("/api/model/export.csv", name="model_export_csv")
def model_export_csv(
    request: Request,
    url: DatabaseUrl,
    model: Annotated[str, Query(max_length=100, description="a model of governance/models.yaml")] = "",
    table: Table = "drift",
    runs: Annotated[int, Query(ge=1, le=200, description="monitoring runs in the drift table")] = 50,
) -> Response:
    """One table of a model's page as CSV: drift per feature and run, lifecycle history, fairness, SHAP, metrics."""
    configs = _configured_models()
    config = next((item for item in configs if item.name == model), None) if model else configs[0]
    if config is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"No model {model[:100]!r} in governance/models.yaml")
    view = load_model(request, url, config, runs)
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=EXPORT_COLUMNS[table], extrasaction="ignore")
    writer.writeheader()
    for row in export_rows(view, table):
        writer.writerow({key: _safe_cell(value) for key, value in row.items()})
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    filename = f"model-{quote(config.name, safe='')}-{table}-{stamp}.csv"
    return Response(
        buffer.getvalue(),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{filename}"', "Cache-Control": "no-store"},
    )


#: The report's own policy: Evidently's inline scripts run in an opaque origin and load nothing.
REPORT_POLICY = (
    "sandbox allow-scripts; default-src 'none'; script-src 'unsafe-inline' 'unsafe-eval'; "
    "style-src 'unsafe-inline'; img-src data: blob:; font-src data:; frame-ancestors 'self'"
)


@router.get("/model/reports/{run_id}", name="model_report", include_in_schema=False)
def model_report(url: DatabaseUrl, run_id: Annotated[str, Path(max_length=64)]) -> Response:
    """The Evidently HTML report of monitoring run ``run_id``; 404 unless it is a report file in the object store."""
    from scrollintel.ml.query import monitoring_report

    found = monitoring_report(url, run_id)
    if found is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"No monitoring report for run {run_id[:64]!r}")
    return FileResponse(
        found,
        media_type="text/html; charset=utf-8",
        headers={"Content-Security-Policy": REPORT_POLICY, "Cache-Control": "private, max-age=60"},
    )
