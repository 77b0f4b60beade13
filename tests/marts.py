"""The marts the dbt project builds, as the tests expect them (one list: a new mart is added here once)."""

from __future__ import annotations

#: Model names of the dbt project's marts (schema ``marts``), sorted.
MARTS = (
    "customers",
    "daily_revenue",
    "marketing_attribution",
    "ml_churn_current_features",
    "ml_churn_features",
    "order_items",
    "orders",
)
#: The same as datasets (``marts.<model>``): what the quality gate checks and its suites are named after.
MART_DATASETS = tuple(f"marts.{name}" for name in MARTS)
