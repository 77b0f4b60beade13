"""The governance pages: one nav entry, HTML page and JSON endpoint each.

Cheap to import (no FastAPI, no Airflow API modules): the plugin reads :data:`PAGES` in every
Airflow process to build its nav entries.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Page:
    """One governance page: a nav entry, an HTML page and a JSON endpoint."""

    slug: str
    title: str
    summary: str

    @property
    def path(self) -> str:
        """Path of the HTML page inside the app."""
        return f"/{self.slug}"

    @property
    def api_path(self) -> str:
        """Path of the page's JSON endpoint inside the app."""
        return f"/api/{self.slug}"


PAGES: tuple[Page, ...] = (
    Page(
        "approvals",
        "Approvals",
        "Model promotions and other gated changes waiting for a decision, and who decided.",
    ),
    Page("audit", "Audit", "The hash-chained audit ledger: every decision, load and deletion, verifiable."),
    Page("quality", "Quality", "Data quality gates per dataset: latest status, failures over time, data docs."),
    Page("lineage", "Lineage", "Datasets and jobs from OpenLineage events: upstream, downstream and impact."),
    Page(
        "model",
        "Models",
        "Champion and challenger, drift per feature, fairness, explanations, promotions and rollbacks.",
    ),
    Page("cost", "Cost & ROI", "Cost by DAG, team and dataset; budgets, forecast and return on investment."),
    Page("compliance", "Compliance", "GDPR Art. 30 record, erasure impact and SOC 2 evidence to download."),
)


def nav_page(slug: str) -> Page:
    """Return the :class:`Page` whose nav entry has ``slug``."""
    for candidate in PAGES:
        if candidate.slug == slug:
            return candidate
    raise KeyError(slug)
