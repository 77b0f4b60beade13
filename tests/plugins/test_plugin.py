"""The ScrollIntel plugin loads the way Airflow loads plugins and shows its pages inside the Airflow UI."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from scrollintel.web import URL_PREFIX
from scrollintel.web.pages import PAGES

pytestmark = pytest.mark.unit

PLUGINS_DIR = Path(__file__).resolve().parents[2] / "plugins"

NAV_NAMES = ["Approvals", "Audit", "Quality", "Lineage", "Models", "Cost & ROI", "Compliance"]


def _load_plugin_directory() -> list[Any]:
    from airflow._shared.plugins_manager import _load_plugins_from_plugin_directory

    plugins, import_errors = _load_plugins_from_plugin_directory(plugins_folder=str(PLUGINS_DIR))
    assert import_errors == {}
    return plugins


@pytest.fixture
def plugins_manager(airflow_env: dict[str, str]) -> Iterator[Any]:
    """Airflow's plugins manager with fresh caches, reading this repository's plugins folder."""
    from airflow import plugins_manager as manager

    caches: list[Any] = [
        manager._get_plugins,
        manager._get_ui_plugins,
        manager.get_fastapi_plugins,
        manager.get_flask_plugins,
        manager._get_extra_operators_links_plugins,
    ]
    for cached in caches:
        cached.cache_clear()
    yield manager
    for cached in caches:
        cached.cache_clear()


def test_plugin_directory_holds_one_plugin_named_scrollintel(airflow_env: dict[str, str]) -> None:
    plugins = _load_plugin_directory()

    assert [p.name for p in plugins] == ["scrollintel"]


def test_plugin_mounts_the_governance_app(auth_manager: Any) -> None:
    from fastapi import FastAPI

    (plugin,) = _load_plugin_directory()
    (app_entry,) = plugin.fastapi_apps

    assert app_entry["name"] == "scrollintel"
    assert app_entry["url_prefix"] == URL_PREFIX
    assert isinstance(app_entry["app"], FastAPI)
    assert plugin.fastapi_apps is plugin.fastapi_apps  # built once per plugin instance


def test_nav_entries_open_inside_the_airflow_ui(airflow_env: dict[str, str]) -> None:
    (plugin,) = _load_plugin_directory()

    assert plugin.external_views == [
        {
            "name": name,
            "href": f"{URL_PREFIX}/{page.slug}",
            "destination": "nav",
            "category": "Governance",
            "url_route": f"scrollintel-{page.slug}",
        }
        for name, page in zip(NAV_NAMES, PAGES, strict=True)
    ]


def test_nav_hrefs_follow_the_api_base_url(airflow_env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AIRFLOW__API__BASE_URL", "https://airflow.example.com/team-a/")
    _load_plugin_directory()
    plugin_module = sys.modules["scrollintel_plugin"]

    hrefs = [entry["href"] for entry in plugin_module.nav_entries()]

    assert hrefs == [f"/team-a{URL_PREFIX}/{p.slug}" for p in PAGES]


def test_the_mlflow_ui_is_a_link_in_the_governance_group(
    airflow_env: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    _load_plugin_directory()
    plugin_module = sys.modules["scrollintel_plugin"]

    monkeypatch.delenv("SCROLLINTEL_MLFLOW_URL", raising=False)
    assert [entry["name"] for entry in plugin_module.nav_entries()] == NAV_NAMES
    monkeypatch.setenv("SCROLLINTEL_MLFLOW_URL", "http://127.0.0.1:5000")
    entries = plugin_module.nav_entries()

    assert [entry["name"] for entry in entries] == [*NAV_NAMES, "MLflow"]
    # no url_route: the UI opens it as a link (a separate server MLflow does not let others frame)
    assert entries[-1] == {
        "name": "MLflow",
        "href": "http://127.0.0.1:5000",
        "destination": "nav",
        "category": "Governance",
    }


def test_plugins_manager_serves_the_nav_entries_to_the_ui(plugins_manager: Any, auth_manager: Any) -> None:
    from airflow.api_fastapi.core_api.datamodels.plugins import PluginResponse

    (info,) = [p for p in plugins_manager.get_plugin_info() if p["name"] == "scrollintel"]
    response = PluginResponse.model_validate(info)  # the model /api/v2/plugins answers the UI with
    ui_views, _ = plugins_manager._get_ui_plugins()
    apps, _ = plugins_manager.get_fastapi_plugins()

    assert [v.name for v in response.external_views] == NAV_NAMES
    assert {v.destination for v in response.external_views} == {"nav"}
    assert [v["name"] for v in ui_views if v["url_route"].startswith("scrollintel-")] == NAV_NAMES
    assert [a["url_prefix"] for a in apps if a["name"] == "scrollintel"] == [URL_PREFIX]


def test_api_server_mounts_the_app_behind_airflow_auth(
    plugins_manager: Any, make_token: Callable[..., str], auth_manager: Any
) -> None:
    """Airflow's own api-server app (with its cookie-refresh middleware) serves the pages and the nav."""
    from airflow.api_fastapi.app import create_app
    from fastapi.testclient import TestClient

    token = make_token(username="gov-viewer")
    api_server = create_app(apps="core")

    with TestClient(api_server) as browser, TestClient(api_server) as anonymous:
        browser.cookies.set("_token", token)
        page = browser.get(f"{URL_PREFIX}/approvals")
        refused = anonymous.get(f"{URL_PREFIX}/approvals")
        plugins = browser.get("/api/v2/plugins", headers={"Authorization": f"Bearer {token}"})

    assert page.status_code == 200, page.text
    assert "Signed in as <strong>gov-viewer</strong>" in page.text
    assert refused.status_code == 401
    assert plugins.status_code == 200, plugins.text
    (ours,) = [p for p in plugins.json()["plugins"] if p["name"] == "scrollintel"]
    assert [(v["name"], v["url_route"]) for v in ours["external_views"]] == [
        (name, f"scrollintel-{p.slug}") for name, p in zip(NAV_NAMES, PAGES, strict=True)
    ]


def test_loading_the_plugin_does_not_build_the_app(airflow_env: dict[str, str]) -> None:
    """Every Airflow process (each task too) imports the plugin; only the api-server builds the app."""
    script = textwrap.dedent(
        f"""
        import sys
        from airflow._shared.plugins_manager import _load_plugins_from_plugin_directory

        plugins, errors = _load_plugins_from_plugin_directory(plugins_folder={str(PLUGINS_DIR)!r})
        assert not errors, errors
        assert [p.name for p in plugins] == ["scrollintel"], plugins
        assert len(plugins[0].external_views) == 7
        heavy = [
            m for m in ("airflow.api_fastapi.core_api.security", "scrollintel.web.deps", "scrollintel.web.routes")
            if m in sys.modules
        ]
        assert not heavy, heavy
        """
    )
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120, check=False)

    assert result.returncode == 0, result.stderr[-2000:]
