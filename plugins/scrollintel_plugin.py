"""Airflow plugin: mounts the ScrollIntel governance web app and adds its pages to the UI nav.

The app answers at ``<api base path>/scrollintel`` on the api-server. Each nav entry has a
``url_route``, so the Airflow UI shows the page inside its own layout (an iframe at
``/plugin/scrollintel-<page>``) instead of opening a new tab; the entries sit in a "Governance"
group of the UI's Plugins menu.

Airflow imports this file in every process that loads plugins (scheduler, dag-processor,
triggerer, each task), but only the api-server reads ``fastapi_apps``: the app is built on that
first read, so the other processes never import FastAPI routers or Airflow's API security.

The group also links to the MLflow UI (``SCROLLINTEL_MLFLOW_URL``, set by `make run`; absent, no
link). That entry has no ``url_route``: MLflow is a separate server on its own port, so the UI
opens it as a link rather than in a frame (MLflow forbids being framed by another origin).
"""

from __future__ import annotations

import os
from typing import Any
from urllib.parse import urlsplit

from airflow.configuration import conf
from airflow.plugins_manager import AirflowPlugin

from scrollintel.web import URL_PREFIX
from scrollintel.web.pages import PAGES

NAV_CATEGORY = "Governance"
#: The MLflow UI's address as a browser reaches it (scrollintel.platform.mlflow_service.ENV_UI_URL;
#: spelled out here so that loading the plugin imports nothing of the platform package).
ENV_MLFLOW_URL = "SCROLLINTEL_MLFLOW_URL"


def _base_path() -> str:
    """Path part of ``[api] base_url`` (empty when Airflow is served at the root)."""
    return urlsplit(conf.get("api", "base_url", fallback="") or "").path.rstrip("/")


def nav_entries() -> list[dict[str, Any]]:
    """Return one ``external_views`` entry per governance page, shown inside the Airflow UI, and the MLflow link."""
    base = _base_path()
    pages = [
        {
            "name": page.title,
            "href": f"{base}{URL_PREFIX}{page.path}",
            "destination": "nav",
            "category": NAV_CATEGORY,
            "url_route": f"scrollintel-{page.slug}",
        }
        for page in PAGES
    ]
    return pages + mlflow_entries()


def mlflow_entries() -> list[dict[str, Any]]:
    """A nav link to the MLflow UI when its address is configured (no ``url_route``: a link, not a frame)."""
    url = os.environ.get(ENV_MLFLOW_URL)
    if not url:
        return []
    return [{"name": "MLflow", "href": url, "destination": "nav", "category": NAV_CATEGORY}]


class ScrollIntelPlugin(AirflowPlugin):
    """Governance pages (approvals, audit, lineage, cost & ROI, compliance) for the Airflow UI."""

    name = "scrollintel"
    external_views = nav_entries()

    _fastapi_apps: list[dict[str, Any]] | None = None

    @property
    def fastapi_apps(self) -> list[Any]:
        """The governance app, built the first time the api-server asks for it."""
        if self._fastapi_apps is None:
            from scrollintel.web import create_app

            self._fastapi_apps = [{"name": "scrollintel", "app": create_app(), "url_prefix": URL_PREFIX}]
        return self._fastapi_apps

    @fastapi_apps.setter
    def fastapi_apps(self, value: list[Any]) -> None:
        self._fastapi_apps = value
