"""The platform as a user meets it: `make run`'s start-up, a real login, platform_health green, MLflow."""

from __future__ import annotations

import json

import httpx
import pytest

from tests.e2e.conftest import RunningPlatform, wait_for_json

pytestmark = pytest.mark.e2e

NAV_PAGES = ("approvals", "audit", "lineage", "cost", "compliance")


def test_every_component_is_healthy(platform: RunningPlatform) -> None:
    health = httpx.get(f"{platform.url}/api/v2/monitor/health", timeout=10).json()
    assert {name: part["status"] for name, part in health.items()} == {
        "metadatabase": "healthy",
        "scheduler": "healthy",
        "dag_processor": "healthy",
        "triggerer": "healthy",
    }


def test_real_login_reaches_plugin_pages_and_anonymous_is_refused(platform: RunningPlatform) -> None:
    with platform.client() as client:
        for page in NAV_PAGES:
            response = client.get(f"/scrollintel/{page}")
            assert response.status_code == 200, (page, response.text[:300])
            assert platform.user in response.text
    for page in NAV_PAGES:
        anonymous = httpx.get(f"{platform.url}/scrollintel/{page}", timeout=10)
        assert anonymous.status_code == 401, page


def test_wrong_password_gets_no_token(platform: RunningPlatform) -> None:
    response = httpx.post(
        f"{platform.url}/auth/token", json={"username": platform.user, "password": "not-the-password"}, timeout=30
    )
    assert response.status_code in (401, 403)


def test_plugin_nav_entries_are_registered(platform: RunningPlatform) -> None:
    with platform.client() as client:
        plugins = client.get("/api/v2/plugins").json()["plugins"]
    ours = next(plugin for plugin in plugins if plugin["name"] == "scrollintel")
    names = {view["name"] for view in ours["external_views"]}
    assert names == {"Approvals", "Audit", "Quality", "Lineage", "Models", "Cost & ROI", "Compliance", "MLflow"}
    (mlflow,) = [view for view in ours["external_views"] if view["name"] == "MLflow"]
    assert mlflow["href"] == _mlflow_url(platform) and mlflow.get("url_route") is None


def test_platform_health_runs_green(platform: RunningPlatform) -> None:
    with platform.client() as client:
        wait_for_json(client, "/api/v2/dags/platform_health", lambda dag: dag.get("dag_id") == "platform_health")
        assert client.patch("/api/v2/dags/platform_health", json={"is_paused": False}).status_code == 200
        run = client.post("/api/v2/dags/platform_health/dagRuns", json={"logical_date": None})
        assert run.status_code == 200, run.text
        run_id = run.json()["dag_run_id"]
        final = wait_for_json(
            client,
            f"/api/v2/dags/platform_health/dagRuns/{run_id}",
            lambda r: r.get("state") in ("success", "failed"),
            timeout=300,
        )
        tasks = client.get(f"/api/v2/dags/platform_health/dagRuns/{run_id}/taskInstances").json()
        summary = {
            (t["task_id"], t.get("rendered_map_index") or t["map_index"]): t["state"] for t in tasks["task_instances"]
        }
        assert final["state"] == "success", summary
    checked = {label for (task_id, label) in summary if task_id == "check"}
    assert {"postgres_warehouse", "postgres_shop", "http_marketing", "fs_object_store", "mlflow_default"} <= checked


def test_a_viewer_sees_the_governance_nav_and_pages(platform: RunningPlatform) -> None:
    from scrollintel.platform import launcher

    password = "viewer-" + platform.password
    launcher._run(
        [
            launcher._bin("airflow"), "users", "create", "--username", "viewer", "--password", password,
            "--role", "Viewer", "--firstname", "Read", "--lastname", "Only", "--email", "viewer@scrollintel.invalid",
        ],
        launcher.child_env(launcher.layout()),
        "creating a Viewer user",
    )  # fmt: skip
    token = httpx.post(
        f"{platform.url}/auth/token", json={"username": "viewer", "password": password}, timeout=30
    ).json()["access_token"]
    with httpx.Client(base_url=platform.url, headers={"Authorization": f"Bearer {token}"}, timeout=30) as client:
        plugins = client.get("/api/v2/plugins")
        assert plugins.status_code == 200, plugins.text
        assert any(plugin["name"] == "scrollintel" for plugin in plugins.json()["plugins"])
        page = client.get("/scrollintel/audit")
        assert page.status_code == 200 and "viewer" in page.text


def _mlflow_url(platform: RunningPlatform) -> str:
    from scrollintel.platform import launcher

    return f"http://127.0.0.1:{launcher.platform_ports(launcher.Layout(platform.state))['mlflow']}"


def test_mlflow_runs_beside_airflow_on_loopback(platform: RunningPlatform) -> None:
    from scrollintel.platform import launcher

    url = _mlflow_url(platform)
    health = httpx.get(f"{url}/health", timeout=10)
    assert health.status_code == 200 and health.text.strip() == "OK"
    # the tracking API answers (its backend store, the mlflow database, is reachable)
    search = httpx.post(f"{url}/api/2.0/mlflow/experiments/search", json={"max_results": 5}, timeout=30)
    assert search.status_code == 200, search.text
    assert launcher.status()["mlflow"] == "running"
    (server,) = [p for p in launcher.managed_processes(launcher.Layout(platform.state)) if p.name == "mlflow"]
    assert server.command[server.command.index("--host") + 1] == "127.0.0.1"
    # the connection tasks use resolves to it (the Airflow CLI reads the platform's environment)
    output = launcher._run(
        [launcher._bin("airflow"), "connections", "get", "mlflow_default", "--output", "json"],
        launcher.child_env(launcher.layout()),
        "reading the mlflow_default connection",
    )
    (connection,) = json.loads(output.strip().splitlines()[-1])
    assert (connection["conn_type"], connection["host"]) == ("http", "127.0.0.1")
    assert str(connection["port"]) == url.rsplit(":", 1)[1]
