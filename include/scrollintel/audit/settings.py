"""Runtime settings of the audit ledger, from the environment and Airflow connections, read when called.

Platform settings come from environment variables (the launcher and the Helm values set
them); secrets only from Airflow connections, or from an environment variable outside
Airflow. Airflow is imported only inside a running task, or when the connection is given as
an ``AIRFLOW_CONN_<ID>`` variable, so the CLI and ``record()`` stay cheap.

Variables (default in brackets):

- ``SCROLLINTEL_AUDIT_DATABASE_URL``: ledger (warehouse) database URL [Airflow connection
  ``postgres_warehouse``, else the platform's warehouse];
- ``SCROLLINTEL_AUDIT_SIGNING_KEY``: Ed25519 private key outside Airflow, base64 raw 32 bytes or
  PEM [Airflow connection ``audit_signing`` (password), else a local key in the state folder];
- ``SCROLLINTEL_AUDIT_TRUSTED_KEYS``: extra trusted public keys after a rotation, base64 raw,
  comma-separated [none];
- ``SCROLLINTEL_AUDIT_ANCHOR_BUCKET``: S3 bucket with Object Lock for signed tree heads [unset:
  local folder ``<object store>/audit-anchors``]; ``SCROLLINTEL_AUDIT_ANCHOR_PREFIX`` its key
  prefix [``audit-anchors``]; ``SCROLLINTEL_AUDIT_AWS_CONN_ID`` the Airflow connection for S3
  [``aws_default``]; ``SCROLLINTEL_AUDIT_S3_ENDPOINT_URL`` an S3 endpoint outside Airflow (MinIO,
  moto) [AWS]; ``SCROLLINTEL_AUDIT_RETENTION_DAYS`` the COMPLIANCE retention [2557, 7 years];
- ``SCROLLINTEL_AUDIT_SLACK_CHANNEL``: post each tree head there [unset: no post], with the bot
  token of the Airflow connection ``SCROLLINTEL_AUDIT_SLACK_CONN_ID`` [``slack_api_default``] or,
  outside Airflow, ``SCROLLINTEL_AUDIT_SLACK_TOKEN``; ``SCROLLINTEL_SLACK_BASE_URL`` the Web API
  base URL [``https://slack.com/api/``];
- ``SCROLLINTEL_API_URL``: Airflow REST API base URL, set by the launcher [none]; the service user
  from the Airflow connection ``airflow_api``, or outside Airflow ``SCROLLINTEL_AIRFLOW_API_USER``
  and ``SCROLLINTEL_AIRFLOW_API_PASSWORD``.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import quote

from scrollintel import settings as platform_settings
from scrollintel.warehouse import WAREHOUSE_CONN_ID

if TYPE_CHECKING:
    from airflow.sdk import Connection

ENV_DATABASE_URL = "SCROLLINTEL_AUDIT_DATABASE_URL"
ENV_SIGNING_KEY = "SCROLLINTEL_AUDIT_SIGNING_KEY"
ENV_TRUSTED_KEYS = "SCROLLINTEL_AUDIT_TRUSTED_KEYS"
ENV_ANCHOR_BUCKET = "SCROLLINTEL_AUDIT_ANCHOR_BUCKET"
ENV_ANCHOR_PREFIX = "SCROLLINTEL_AUDIT_ANCHOR_PREFIX"
ENV_AWS_CONN_ID = "SCROLLINTEL_AUDIT_AWS_CONN_ID"
ENV_S3_ENDPOINT = "SCROLLINTEL_AUDIT_S3_ENDPOINT_URL"
ENV_RETENTION_DAYS = "SCROLLINTEL_AUDIT_RETENTION_DAYS"
ENV_SLACK_CHANNEL = "SCROLLINTEL_AUDIT_SLACK_CHANNEL"
ENV_SLACK_CONN_ID = "SCROLLINTEL_AUDIT_SLACK_CONN_ID"
ENV_SLACK_TOKEN = "SCROLLINTEL_AUDIT_SLACK_TOKEN"  # noqa: S105 - the variable's name, not a secret
ENV_SLACK_BASE_URL = "SCROLLINTEL_SLACK_BASE_URL"
ENV_API_URL = "SCROLLINTEL_API_URL"
ENV_API_USER = "SCROLLINTEL_AIRFLOW_API_USER"
ENV_API_PASSWORD = "SCROLLINTEL_AIRFLOW_API_PASSWORD"  # noqa: S105 - the variable's name, not a secret

SIGNING_CONN_ID = "audit_signing"
API_CONN_ID = "airflow_api"
DEFAULT_AWS_CONN_ID = "aws_default"
DEFAULT_SLACK_CONN_ID = "slack_api_default"
DEFAULT_ANCHOR_PREFIX = "audit-anchors"
DEFAULT_RETENTION_DAYS = 2557


def in_airflow_task() -> bool:
    """True inside a running Airflow task (the task runner exports ``AIRFLOW_CTX_*``)."""
    return "AIRFLOW_CTX_DAG_ID" in os.environ


def _conn_env(conn_id: str) -> str:
    return f"AIRFLOW_CONN_{conn_id.upper()}"


def airflow_connection(conn_id: str) -> Connection | None:
    """The Airflow connection ``conn_id``, or None when it is not defined.

    Only looked up inside a task or when ``AIRFLOW_CONN_<ID>`` is set, so code outside Airflow
    never pays for importing it.
    """
    if not (in_airflow_task() or os.environ.get(_conn_env(conn_id))):
        return _server_connection(conn_id)
    from airflow.sdk import BaseHook
    from airflow.sdk.exceptions import AirflowNotFoundException

    try:
        return BaseHook.get_connection(conn_id)
    except AirflowNotFoundException:
        return None


def _server_connection(conn_id: str) -> Connection | None:
    """In an Airflow server process (api-server: the Audit page), the connection via its secrets backends.

    Only when Airflow's connection model is already loaded, i.e. inside Airflow itself: the CLI
    and plain scripts never import Airflow for this.
    """
    import sys

    if "airflow.models.connection" not in sys.modules:
        return None
    from airflow.exceptions import AirflowNotFoundException
    from airflow.models.connection import Connection as ServerConnection

    try:
        return ServerConnection.get_connection_from_secrets(conn_id)  # type: ignore[return-value]
    except AirflowNotFoundException:
        return None


def _url_from_conn_env(value: str) -> str:
    """SQLAlchemy URL of an ``AIRFLOW_CONN_*`` value (URI or JSON) without importing Airflow."""
    from scrollintel.db import normalise_url

    if not value.lstrip().startswith("{"):
        return normalise_url(value)
    data = json.loads(value)
    auth = ""
    if data.get("login"):
        auth = quote(str(data["login"]), safe="")
        if data.get("password"):
            auth += ":" + quote(str(data["password"]), safe="")
        auth += "@"
    port = f":{data['port']}" if data.get("port") else ""
    return normalise_url(f"postgresql://{auth}{data.get('host') or 'localhost'}{port}/{data.get('schema') or ''}")


_configured_url: str | None = None


def configure(*, database_url: str | None) -> None:
    """Point ``record()`` and the ledger helpers at ``database_url`` (tests, the web app); None resets."""
    global _configured_url  # noqa: PLW0603 - one process-wide override, by design
    _configured_url = database_url


def ledger_url() -> str:
    """URL of the database holding the ledger (see the module docstring for the order)."""
    if _configured_url:
        return _configured_url
    explicit = os.environ.get(ENV_DATABASE_URL)
    if explicit:
        return explicit
    from_env = os.environ.get(_conn_env(WAREHOUSE_CONN_ID))
    if from_env:
        return _url_from_conn_env(from_env)
    if in_airflow_task():
        from scrollintel.db import connection_url

        return connection_url(WAREHOUSE_CONN_ID)
    from scrollintel.db import warehouse_url

    return warehouse_url()


def outbox_dir() -> Path:
    """Folder of the durable outbox (events that could not be written yet)."""
    return platform_settings.state_dir() / "audit-outbox"


def local_anchor_dir() -> Path:
    """Folder of signed tree heads when no S3 bucket is configured."""
    return platform_settings.object_store_dir() / "audit-anchors"


def local_key_path() -> Path:
    """Development signing key, generated on first use (mode 0600, git-ignored state folder)."""
    return platform_settings.state_dir() / "audit" / "signing-key.pem"


def anchor_bucket() -> str | None:
    """S3 bucket for tree heads, or None for the local folder."""
    return os.environ.get(ENV_ANCHOR_BUCKET) or None


def anchor_prefix() -> str:
    """Key prefix of tree heads in the bucket."""
    return (os.environ.get(ENV_ANCHOR_PREFIX) or DEFAULT_ANCHOR_PREFIX).strip("/")


def aws_conn_id() -> str:
    """Airflow connection used for S3."""
    return os.environ.get(ENV_AWS_CONN_ID) or DEFAULT_AWS_CONN_ID


def s3_endpoint_url() -> str | None:
    """S3 endpoint outside Airflow (None: AWS)."""
    return os.environ.get(ENV_S3_ENDPOINT) or None


def retention_days() -> int:
    """Object Lock retention of each tree head, in days."""
    from scrollintel.exceptions import ConfigError

    raw = os.environ.get(ENV_RETENTION_DAYS) or str(DEFAULT_RETENTION_DAYS)
    try:
        days = int(raw)
    except ValueError as err:
        raise ConfigError(f"{ENV_RETENTION_DAYS}={raw!r}: expected a whole number of days") from err
    if days < 1:
        raise ConfigError(f"{ENV_RETENTION_DAYS}={raw!r}: must be at least 1")
    return days


def slack_channel() -> str | None:
    """Slack channel that receives each tree head, or None."""
    return os.environ.get(ENV_SLACK_CHANNEL) or None


def slack_conn_id() -> str:
    """Airflow connection holding the Slack bot token."""
    return os.environ.get(ENV_SLACK_CONN_ID) or DEFAULT_SLACK_CONN_ID


def slack_base_url() -> str:
    """Slack Web API base URL (a local server in tests)."""
    url = os.environ.get(ENV_SLACK_BASE_URL) or "https://slack.com/api/"
    return url if url.endswith("/") else url + "/"


def api_url() -> str | None:
    """Base URL of Airflow's REST API (``http://host:port``), or None."""
    url = os.environ.get(ENV_API_URL)
    return url.rstrip("/") if url else None
