"""The model registry as MLflow's REST API shows it: which version each alias names, and its run's metrics.

For processes that must not import MLflow (the api-server, where the Model page runs): plain
HTTP with httpx and a short timeout, read-only. Endpoints used (MLflow 2.x and 3.x)::

    GET /api/2.0/mlflow/registered-models/get?name=<model>       the aliases
    GET /api/2.0/mlflow/model-versions/get?name=<model>&version=N the version's run and status
    GET /api/2.0/mlflow/runs/get?run_id=<run>                     the run's experiment and metrics

Where MLflow is: ``MLFLOW_TRACKING_URI`` when set (as MLflow itself reads it), else the Airflow
connection :data:`~scrollintel.ml.tracking.MLFLOW_CONN_ID` through Airflow's secrets backends
(the api-server has no task context). The MLflow UI as a browser reaches it is
``SCROLLINTEL_MLFLOW_URL`` (set by ``make run``, the address of the nav link); without it the
page shows no links into MLflow. Failures are :class:`RegistryUnavailable` with a reason that
never names the server's host or port.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from scrollintel.exceptions import ScrollIntelError
from scrollintel.ml import tracking

if TYPE_CHECKING:
    import httpx

log = logging.getLogger(__name__)

#: The MLflow UI's address as a browser reaches it (scrollintel.platform.mlflow_service sets it for
#: `make run`; spelled out here: the web process does not import the platform package).
ENV_UI_URL = "SCROLLINTEL_MLFLOW_URL"
#: Seconds per request: a page waits this long at most for each of its few calls.
TIMEOUT_S = 3.0
#: The aliases a page shows, in this order.
ALIASES = (tracking.CHAMPION, tracking.CHALLENGER, tracking.PREVIOUS_CHAMPION)


class RegistryUnavailable(ScrollIntelError):
    """MLflow could not be asked: not configured, unreachable, or it answered with an error."""


@dataclass(frozen=True)
class AliasedVersion:
    """A registered model version that an alias points at, with its run's metrics."""

    alias: str
    version: int
    run_id: str | None
    status: str | None
    created_at: datetime | None
    experiment_id: str | None = None
    metrics: dict[str, float] = field(default_factory=dict)
    archived: str | None = None
    """The reason it was archived (version tag :data:`~scrollintel.ml.tracking.TAG_ARCHIVED`)."""


@dataclass(frozen=True)
class RegistryState:
    """What the registry says about one model: registered or not, and the versions its aliases name."""

    model: str
    registered: bool
    versions: list[AliasedVersion]

    def alias(self, name: str) -> AliasedVersion | None:
        """The version ``name`` points at, or None."""
        return next((item for item in self.versions if item.alias == name), None)


def tracking_server() -> tuple[str, tuple[str, str] | None] | None:
    """(base URL, basic auth or None) of the tracking server for a server process; None when not configured."""
    configured = os.environ.get(tracking.TRACKING_URI_ENV)
    if configured:
        return (configured.rstrip("/"), None) if configured.startswith(("http://", "https://")) else None
    try:
        from airflow.exceptions import AirflowNotFoundException
        from airflow.models.connection import Connection
    except ImportError:
        return None
    try:
        conn = Connection.get_connection_from_secrets(tracking.MLFLOW_CONN_ID)
    except AirflowNotFoundException:
        return None
    if not conn.host:
        return None
    scheme = conn.schema if conn.schema in ("http", "https") else "http"
    host = conn.host if "://" not in conn.host else conn.host.split("://", 1)[1]
    port = f":{conn.port}" if conn.port else ""
    auth = (conn.login, conn.password or "") if conn.login else None
    return f"{scheme}://{host.rstrip('/')}{port}", auth


def ui_url() -> str | None:
    """The MLflow UI's address for links (``SCROLLINTEL_MLFLOW_URL``), without a trailing slash; None when unset."""
    url = os.environ.get(ENV_UI_URL, "").strip()
    return url.rstrip("/") if url.startswith(("http://", "https://")) else None


def version_href(ui: str, model: str, version: int) -> str:
    """The MLflow UI page of a registered model version."""
    return f"{ui}/#/models/{quote(model, safe='')}/versions/{version}"


def run_href(ui: str, experiment_id: str, run_id: str) -> str:
    """The MLflow UI page of a run."""
    return f"{ui}/#/experiments/{quote(experiment_id, safe='')}/runs/{quote(run_id, safe='')}"


def registry_state(
    model: str,
    *,
    server: tuple[str, tuple[str, str] | None] | None = None,
    timeout: float = TIMEOUT_S,
) -> RegistryState:
    """The versions :data:`ALIASES` point at for governance model ``model`` (registry name from tracking).

    Raises:
        RegistryUnavailable: MLflow is not configured, cannot be reached, or answered with an error.
    """
    import httpx

    server = server or tracking_server()
    if server is None:
        raise RegistryUnavailable(
            f"MLflow is not configured: define the Airflow connection `{tracking.MLFLOW_CONN_ID}` "
            "(or start the platform with `make run`)"
        )
    base, auth = server
    name = tracking.registered_model_name(model)
    with httpx.Client(base_url=base, timeout=timeout, auth=auth, follow_redirects=False) as client:
        found = _get(client, "registered-models/get", {"name": name})
        if found is None:
            return RegistryState(model=model, registered=False, versions=[])
        registered = found.get("registered_model") or {}
        pointed = {item.get("alias"): item.get("version") for item in registered.get("aliases") or []}
        versions = []
        for alias in ALIASES:
            if pointed.get(alias) is None:
                continue
            versions.append(_version(client, name, alias, int(pointed[alias])))
    return RegistryState(model=model, registered=True, versions=versions)


def _version(client: httpx.Client, name: str, alias: str, version: int) -> AliasedVersion:
    body = _get(client, "model-versions/get", {"name": name, "version": str(version)}) or {}
    found = body.get("model_version") or {}
    run_id = found.get("run_id") or None
    tags = {item.get("key"): item.get("value") for item in found.get("tags") or []}
    experiment_id, metrics = None, {}
    if run_id:
        run = (_get(client, "runs/get", {"run_id": run_id}) or {}).get("run") or {}
        experiment_id = (run.get("info") or {}).get("experiment_id")
        for item in (run.get("data") or {}).get("metrics") or []:
            if isinstance(item.get("value"), (int, float)) and item.get("key"):
                metrics[str(item["key"])] = float(item["value"])
    created = found.get("creation_timestamp")
    return AliasedVersion(
        alias=alias,
        version=version,
        run_id=run_id,
        status=found.get("status"),
        created_at=datetime.fromtimestamp(int(created) / 1000, tz=UTC) if created else None,
        experiment_id=str(experiment_id) if experiment_id is not None else None,
        metrics=dict(sorted(metrics.items())),
        archived=tags.get(tracking.TAG_ARCHIVED),
    )


def _get(client: httpx.Client, endpoint: str, params: dict[str, str]) -> dict[str, Any] | None:
    """GET ``/api/2.0/mlflow/<endpoint>``: the JSON body, or None when MLflow says the resource does not exist."""
    import httpx

    try:
        response = client.get(f"/api/2.0/mlflow/{endpoint}", params=params)
    except httpx.TimeoutException as err:
        log.warning("MLflow %s timed out: %s", endpoint, err)
        raise RegistryUnavailable("MLflow did not answer in time") from err
    except httpx.HTTPError as err:
        log.warning("MLflow %s failed: %s", endpoint, err)
        raise RegistryUnavailable("MLflow cannot be reached") from err
    if response.status_code == 404:
        try:
            code = response.json().get("error_code")
        except ValueError:
            code = None
        if code == "RESOURCE_DOES_NOT_EXIST":
            return None
    if response.status_code != 200:
        log.warning("MLflow %s answered HTTP %s", endpoint, response.status_code)
        raise RegistryUnavailable(f"MLflow answered HTTP {response.status_code}")
    try:
        body = response.json()
    except ValueError as err:
        raise RegistryUnavailable("MLflow answered something that is not JSON") from err
    if not isinstance(body, dict):
        raise RegistryUnavailable("MLflow answered something unexpected")
    return body
