"""The Helm values against the official Airflow chart's own values schema (helm/vendor/airflow-chart/).

Helm validates the chart defaults merged with the override files; so do these tests, with
jsonschema and with Helm itself (helm-python-sdk, Helm 4 as a library) on a chart made of the
vendored schema and defaults. Rendering the real templates needs the chart, which cannot be
downloaded here: SCROLLINTEL_AIRFLOW_CHART names an unpacked chart folder (helm pull
apache-airflow/airflow --untar).
"""

from __future__ import annotations

import copy
import functools
import json
import os
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.deploy.conftest import HELM_DIR, REPO

pytestmark = pytest.mark.unit

VENDOR = HELM_DIR / "vendor" / "airflow-chart"
ENV_CHART = "SCROLLINTEL_AIRFLOW_CHART"
# Each deployable combination, in the order Helm's -f flags take them.
COMBINATIONS = {
    "default": ["values.yaml"],
    "production": ["values.yaml", "values-production.yaml"],
    "production-kubernetes-executor": ["values.yaml", "values-production.yaml", "values-kubernetes-executor.yaml"],
}


def merge(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    """Helm's coalescing of values: maps merge key by key, anything else is replaced."""
    out = copy.deepcopy(base)
    for key, value in override.items():
        out[key] = merge(out[key], value) if isinstance(value, dict) and isinstance(out.get(key), dict) else value
    return out


def overrides(files: list[str]) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for name in files:
        values = merge(values, yaml.safe_load((HELM_DIR / name).read_text()))
    return values


def chart_values(files: list[str]) -> dict[str, Any]:
    return merge(yaml.safe_load((VENDOR / "values.yaml").read_text()), overrides(files))


@functools.cache
def _validator() -> Any:
    from jsonschema import Draft202012Validator

    return Draft202012Validator(json.loads((VENDOR / "values.schema.json").read_text()))


def schema_errors(values: dict[str, Any]) -> list[str]:
    """``key.path: message`` for every value the chart's schema refuses."""
    return [f"{'.'.join(str(p) for p in err.absolute_path)}: {err.message}" for err in _validator().iter_errors(values)]


def test_the_vendored_chart_files_carry_their_licence() -> None:
    assert "Apache License" in (VENDOR / "LICENSE").read_text()
    assert "The Apache Software Foundation" in (VENDOR / "NOTICE").read_text()
    assert "c920f22d72b910f998554b26377da399b5ba12e9" in (VENDOR / "README.md").read_text()


@pytest.mark.parametrize("combination", sorted(COMBINATIONS))
def test_values_validate_against_the_official_schema(combination: str) -> None:
    assert schema_errors(chart_values(COMBINATIONS[combination])) == []


@pytest.mark.parametrize(
    ("path", "bad", "expected"),
    [
        ("scheduler.replicas", "two", "scheduler.replicas: 'two' is not of type 'integer'"),
        ("executor", "CeleryExecutr", "executor: 'CeleryExecutr' does not match"),
        ("workers.celery.keda.enabled", "yes", "workers.celery.keda.enabled: 'yes' is not of type 'boolean'"),
        # an unknown key is named in its parent's error
        ("pgbouncer.maxClientConnz", 10, "pgbouncer: Additional properties are not allowed ('maxClientConnz' was"),
    ],
)
def test_a_wrong_value_fails_naming_the_key(path: str, bad: Any, expected: str) -> None:
    values = chart_values(COMBINATIONS["production"])
    *parents, last = path.split(".")
    node = values
    for key in parents:
        node = node[key]
    node[last] = bad
    errors = schema_errors(values)
    assert any(err.startswith(expected) for err in errors), errors


def test_helm_itself_validates_the_values(tmp_path: Path) -> None:
    """Helm 4's own schema validation (helm-python-sdk) on a chart of the vendored schema and defaults."""
    helm = pytest.importorskip("helm_python", reason="helm-python-sdk is not installed: Helm's validation did NOT run")
    for name in ("values.yaml", "values.schema.json"):
        (tmp_path / name).write_bytes((VENDOR / name).read_bytes())
    (tmp_path / "Chart.yaml").write_text("apiVersion: v2\nname: airflow\nversion: 0.0.0-vendored-schema\n")
    chart = helm.Chart.load(tmp_path)
    for files in COMBINATIONS.values():
        chart.validate_schema(overrides(files))
    wrong = overrides(COMBINATIONS["production"])
    wrong["scheduler"]["replicas"] = "two"
    with pytest.raises(helm.HelmValuesError, match=r"/scheduler/replicas.*want integer"):
        chart.validate_schema(wrong)


def test_values_say_what_the_platform_needs() -> None:
    prod = chart_values(COMBINATIONS["production"])
    assert prod["executor"] == "CeleryExecutor" and prod["workers"]["celery"]["keda"]["enabled"] is True
    assert [s["queue"] for s in prod["workers"]["celery"]["sets"]] == ["heavy"]
    assert prod["postgresql"]["enabled"] is False and prod["pgbouncer"]["enabled"] is True
    assert prod["data"]["metadataSecretName"] and prod["data"]["metadataConnection"]["pass"] == "postgres"  # unused
    assert prod["networkPolicies"]["enabled"] is True
    for component in ("scheduler", "apiServer", "pgbouncer"):
        assert prod[component]["podDisruptionBudget"]["enabled"] is True
    assert prod["workers"]["celery"]["podDisruptionBudget"]["enabled"] is True
    assert prod["config"]["secrets"]["backend"].endswith("SecretsManagerBackend")
    assert json.loads(prod["config"]["secrets"]["backend_kwargs"])["connections_prefix"] == "airflow/connections"
    assert prod["config"]["logging"]["remote_base_log_folder"].startswith("s3://")
    assert prod["createUserJob"]["enabled"] is False
    # Slack: only where to post is in the values; token and signing secret are a connection
    env = {e["name"]: e["value"] for e in prod["env"]}
    assert env["SCROLLINTEL_AUDIT_SLACK_CONN_ID"] == "slack_api_default"
    assert [s["envName"] for s in prod["secret"]] == ["AIRFLOW__OPENLINEAGE__TRANSPORT"]
    # the image is the platform's, for the Airflow version pinned in pyproject.toml
    pin = next(d for d in _dependencies() if d.startswith("apache-airflow=="))
    assert prod["airflowVersion"] == pin.split("==")[1]
    assert prod["images"]["airflow"]["repository"].endswith("/scrollintel-dataops")
    kube = chart_values(COMBINATIONS["production-kubernetes-executor"])
    assert kube["executor"] == "KubernetesExecutor" and kube["redis"]["enabled"] is False


def test_no_secret_value_in_any_values_file() -> None:
    for path in sorted(HELM_DIR.glob("values*.yaml")):
        text = path.read_text().lower()
        for marker in ("xoxb-", "password:", "aws_secret_access_key", "fernetkey:", "-----begin"):
            assert marker not in text, f"{path.name} contains {marker!r}"


def test_every_service_account_role_is_one_terraform_makes() -> None:
    roles = {
        line.split("role/")[1].strip()
        for path in HELM_DIR.glob("**/*.yaml")
        for line in path.read_text().splitlines()
        if "eks.amazonaws.com/role-arn" in line
    }
    main_tf = (REPO / "terraform" / "environments" / "dev" / "main.tf").read_text()
    assert roles
    for role in roles:
        component = role.removeprefix("scrollintel-prod-")
        assert f"    {component} = {{" in main_tf, f"{role}: no such IRSA role in terraform/environments/dev"


@pytest.mark.parametrize(
    ("manifest", "kinds", "command"),
    [
        ("mlflow.yaml", ["Deployment", "NetworkPolicy", "PodDisruptionBudget", "Service", "ServiceAccount"], "mlflow"),
        ("audit-anchorer.yaml", ["Deployment", "ServiceAccount"], "scrollintel"),
    ],
)
def test_extra_manifests_run_as_non_root_with_requests(manifest: str, kinds: list[str], command: str) -> None:
    docs = [d for d in yaml.safe_load_all((HELM_DIR / "extra" / manifest).read_text()) if d]
    assert sorted(d["kind"] for d in docs) == kinds
    pod = next(d for d in docs if d["kind"] == "Deployment")["spec"]["template"]["spec"]
    assert pod["securityContext"]["runAsNonRoot"] is True
    container = pod["containers"][0]
    assert container["command"][0] == command and container["resources"]["requests"]["memory"]
    assert container["securityContext"]["allowPrivilegeEscalation"] is False
    account = next(d for d in docs if d["kind"] == "ServiceAccount")
    assert pod["serviceAccountName"] == account["metadata"]["name"]


def _dependencies() -> list[str]:
    import tomllib

    deps: list[str] = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["dependencies"]
    return deps


def test_render_with_the_official_chart() -> None:
    """Render the real chart's templates offline with our values (needs the chart: SCROLLINTEL_AIRFLOW_CHART)."""
    chart_dir = os.environ.get(ENV_CHART)
    if not chart_dir or not Path(chart_dir, "Chart.yaml").is_file():
        pytest.skip(
            f"NO AIRFLOW CHART: set {ENV_CHART} to an unpacked apache-airflow/airflow chart (helm pull "
            "apache-airflow/airflow --untar); the render test did NOT run (the chart cannot be downloaded here)"
        )
    helm = pytest.importorskip("helm_python", reason="helm-python-sdk is not installed: the render did NOT run")
    chart = helm.Chart.load(chart_dir)
    manifests = chart.render(
        overrides(COMBINATIONS["production"]), name="scrollintel", namespace="scrollintel", is_install=True
    )
    rendered = [doc for text in manifests.values() for doc in yaml.safe_load_all(text) if doc]
    kinds = {doc["kind"] for doc in rendered}
    assert {"ScaledObject", "PodDisruptionBudget", "NetworkPolicy"} <= kinds
    images = {
        c["image"]
        for doc in rendered
        if doc["kind"] in {"Deployment", "StatefulSet"}
        for c in doc["spec"]["template"]["spec"]["containers"]
    }
    assert any("scrollintel-dataops" in image for image in images), images
