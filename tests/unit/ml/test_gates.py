"""Promotion checks: each fails with its reason and passes when fine; the approval request's Markdown renders."""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np
import pytest

from scrollintel.config.loader import load_governance
from scrollintel.ml.fairness import FairnessResult, assess_fairness
from scrollintel.ml.gates import (
    AUC_GAIN,
    FAIRNESS,
    LINEAGE,
    SIGNATURE,
    UPSTREAM_QUALITY,
    Evaluation,
    PromotionRefused,
    check_auc_gain,
    check_fairness,
    check_lineage,
    check_signature,
    check_upstream_quality,
    promotion_summary,
    promotion_verdict,
    run_url,
)
from scrollintel.ml.tracking import TAG_DATASET, TAG_DATASET_VERSION
from scrollintel.quality.query import LatestOutcome

pytestmark = pytest.mark.unit

MODEL = load_governance().model("churn")
TABLE = MODEL.features_table
HOLDOUT = f"{TABLE}@2025-10-01#3f9a"
MARGIN = MODEL.promotion.model_copy(update={"min_auc_gain": 0.01})
READ_AT = datetime(2026, 1, 2, 6, 0, tzinfo=UTC)
TAGS = {TAG_DATASET: TABLE, TAG_DATASET_VERSION: "3f9a"}


def _evaluation(auc: float | None, holdout: str = HOLDOUT, version: str = "2") -> Evaluation:
    return Evaluation(
        metrics={"roc_auc": auc, "pr_auc": 0.41, "brier": 0.05},
        holdout=holdout,
        version=version,
        run_id=f"run{version}",
        run_url=run_url("http://127.0.0.1:5000/", "7", f"run{version}"),
    )


def _fairness(biased: bool) -> FairnessResult:
    rng = np.random.default_rng(0)
    region = np.array(["north"] * 400 + ["south"] * 400)
    labels = (rng.random(800) < 0.4).astype(int)
    scores = np.where(labels == 1, 0.9, 0.1)
    if biased:
        scores = np.where((region == "south") & (rng.random(800) < 0.8), 0.0, scores)
    return assess_fairness(labels, scores, {"region": region}, MODEL.fairness, 0.5)


def _quality(success: bool = True, at: datetime = datetime(2026, 1, 2, 7, 0, tzinfo=UTC)) -> list[LatestOutcome]:
    return [LatestOutcome(dataset=TABLE, success=success, checked_at=at)]


# -- one check at a time ----------------------------------------------------------------------


def test_a_challenger_worse_than_the_champion_fails_the_auc_gain() -> None:
    check = check_auc_gain(_evaluation(0.80, version="1"), _evaluation(0.78), MARGIN)

    assert (check.name, check.passed) == (AUC_GAIN, False)
    assert check.reason == (
        f"worse than the champion: roc_auc 0.7800 vs champion 0.8000 on {HOLDOUT}: -0.0200 (needs at least +0.0100)"
    )


def test_a_challenger_better_by_less_than_the_margin_fails_and_by_the_margin_passes() -> None:
    short = check_auc_gain(_evaluation(0.80, version="1"), _evaluation(0.805), MARGIN)
    enough = check_auc_gain(_evaluation(0.80, version="1"), _evaluation(0.815), MARGIN)

    assert not short.passed
    assert short.reason.startswith("not better than the champion by the required margin: roc_auc 0.8050 vs champion")
    assert short.reason.endswith(": +0.0050 < +0.0100")
    assert enough.passed and "+0.0150" in enough.reason


def test_auc_gain_needs_the_same_holdout_and_a_metric_and_passes_without_a_champion() -> None:
    other = check_auc_gain(_evaluation(0.70, holdout=f"{TABLE}@2025-09-01#aa", version="1"), _evaluation(0.9), MARGIN)
    missing = check_auc_gain(_evaluation(0.80, version="1"), _evaluation(None), MARGIN)
    first = check_auc_gain(None, _evaluation(0.75), MARGIN)

    assert not other.passed and "were not evaluated on the same holdout" in other.reason
    assert (missing.passed, missing.reason) == (False, "the challenger has no roc_auc to compare")
    assert first.passed and first.reason == "no champion yet: the challenger's roc_auc is 0.7500"


def test_a_fairness_breach_fails_with_the_breach_and_a_fair_model_passes() -> None:
    breach = check_fairness(_fairness(biased=True))
    fair = check_fairness(_fairness(biased=False))
    none = check_fairness(None)

    assert (breach.name, breach.passed) == (FAIRNESS, False)
    assert breach.reason.startswith("region: demographic parity difference ")
    assert "region: equalized odds difference " in breach.reason and "(groups north 1.00 TPR vs south " in breach.reason
    assert fair.passed and fair.reason == "within the policy's limits for region"
    assert (none.passed, none.reason) == (False, "no fairness assessment was made for the challenger")


def test_a_model_logged_without_signature_fails() -> None:
    check = check_signature(False)

    assert (check.name, check.passed) == (SIGNATURE, False)
    assert check.reason.startswith("the model was logged without a signature")
    assert check_signature(True).passed


def test_a_run_without_dataset_lineage_or_on_another_table_fails() -> None:
    bare = check_lineage({TAG_DATASET: TABLE, TAG_DATASET_VERSION: " "}, TABLE)
    none = check_lineage({}, TABLE)
    elsewhere = check_lineage({TAG_DATASET: "marts.customers", TAG_DATASET_VERSION: "1"}, TABLE)

    assert (bare.name, bare.passed) == (LINEAGE, False)
    assert bare.reason.startswith(f"the run has no dataset lineage tag(s) {TAG_DATASET_VERSION}:")
    assert f"{TAG_DATASET}, {TAG_DATASET_VERSION}" in none.reason
    assert elsewhere.reason == f"the run was trained on marts.customers, but the model's feature table is {TABLE}"
    assert check_lineage(TAGS, TABLE).reason == f"trained on {TABLE} version 3f9a"


def test_a_failed_missing_or_stale_upstream_quality_gate_fails() -> None:
    failed = check_upstream_quality(_quality(success=False), [TABLE])
    never = check_upstream_quality([], [TABLE])
    stale = check_upstream_quality(_quality(at=datetime(2026, 1, 1, tzinfo=UTC)), [TABLE], not_before=READ_AT)
    fine = check_upstream_quality(_quality(), [TABLE], not_before=READ_AT)

    assert (failed.name, failed.passed) == (UPSTREAM_QUALITY, False)
    assert failed.reason == f"{TABLE} failed its latest quality gate (2026-01-02 07:00 UTC)"
    assert never.reason == f"{TABLE} has never been checked by a quality gate"
    assert stale.reason == (
        f"{TABLE} was last checked 2026-01-01 00:00 UTC, before the training data was read (2026-01-02 06:00 UTC)"
    )
    assert fine.passed and fine.reason == f"latest quality gate passed for {TABLE}"


# -- all together ---------------------------------------------------------------------------------


def test_the_verdict_lists_every_failed_check_and_refuses_promotion() -> None:
    verdict = promotion_verdict(
        MODEL,
        champion=_evaluation(0.80, version="1"),
        challenger=_evaluation(0.78),
        fairness=_fairness(biased=True),
        has_signature=False,
        run_tags={},
        quality=_quality(success=False),
    )

    assert not verdict.passed
    assert [check.name for check in verdict.failed] == [AUC_GAIN, FAIRNESS, SIGNATURE, LINEAGE, UPSTREAM_QUALITY]
    refused = r"^the challenger failed 5 promotion check\(s\): auc_gain: worse than"
    with pytest.raises(PromotionRefused, match=refused) as err:
        verdict.raise_if_failed()
    assert err.value.verdict is verdict
    assert f"upstream_quality: {TABLE} failed its latest quality gate" in str(err.value)


def test_a_challenger_that_passes_every_check_is_not_refused() -> None:
    verdict = promotion_verdict(
        MODEL,
        champion=_evaluation(0.80, version="1"),
        challenger=_evaluation(0.82),
        fairness=_fairness(biased=False),
        has_signature=True,
        run_tags=TAGS,
        quality=_quality(),
        data_read_at=READ_AT,
    )

    verdict.raise_if_failed()
    assert verdict.passed and verdict.message().startswith("the challenger passed every promotion check")
    assert type(verdict).from_dict(verdict.as_dict()) == verdict


def test_the_approval_summary_renders_metrics_checks_fairness_features_and_links() -> None:
    from scrollintel.web.templating import markdown

    champion, challenger = _evaluation(0.80, version="1"), _evaluation(0.82)
    fairness = _fairness(biased=True)
    verdict = promotion_verdict(
        MODEL,
        champion=champion,
        challenger=challenger,
        fairness=fairness,
        has_signature=True,
        run_tags=TAGS,
        quality=_quality(),
    )

    text = promotion_summary(
        MODEL,
        champion=champion,
        challenger=challenger,
        verdict=verdict,
        fairness=fairness,
        top_features=[("failed_payments_90d", 0.412), ("tenure_days", 0.1)],
        drift_reason="3 of 13 features drifted (share 0.23 >= 0.3 | orders_90d, revenue_90d)",
    )
    html = str(markdown(text))

    assert text.startswith("Model **churn**: challenger v2 against champion v1.")
    assert "| ROC AUC | 0.8000 | 0.8200 | +0.0200 |" in text
    assert "**FAILED** fairness: region: demographic parity difference" in text
    assert "**Top features** (mean \\|SHAP\\|): failed_payments_90d (0.412), tenure_days (0.100)" in text
    assert html.count("<table>") == 2
    assert "<strong>Why retrained:</strong> 3 of 13 features drifted (share 0.23 &gt;= 0.3 | orders_90d" in html
    assert '<a href="http://127.0.0.1:5000/#/experiments/7/runs/run1">champion v1</a>' in html
    assert '<a href="http://127.0.0.1:5000/#/experiments/7/runs/run2">challenger v2</a>' in html
    assert "<td>region</td>" in html and "<strong>0.28 (groups north 0.36 selection rate vs south 0.08)" in html


def test_the_summary_of_a_first_version_without_fairness_or_features() -> None:
    challenger = Evaluation(metrics={"roc_auc": 0.7, "log_loss": 0.2, "flagged_share": 0.125}, holdout=HOLDOUT)
    verdict = promotion_verdict(
        MODEL,
        champion=None,
        challenger=challenger,
        fairness=None,
        has_signature=True,
        run_tags=TAGS,
        quality=_quality(),
    )

    text = promotion_summary(MODEL, champion=None, challenger=challenger, verdict=verdict)

    assert text.startswith("Model **churn**: challenger against no champion (first version).")
    assert "| log loss (lower is better) | - | 0.2000 | - |" in text
    assert text.index("| log loss") < text.index("| flagged_share | - | 0.1250 | - |")  # known metrics first
    assert "Fairness" not in text and "MLflow runs" not in text and "Why retrained" not in text
    assert "**FAILED** fairness: no fairness assessment was made" in text
