"""Import of Airflow's own audit log (``GET /api/v2/eventLogs``) into the ledger.

Airflow keeps UI and API actions (trigger, clear, mark success, connection and variable
edits, ...) in its ``log`` table, which ``airflow db clean`` purges and anyone with database
access can edit. Imported here, they become hash-chained, anchored entries:

- ``actor``: the Airflow user name (``owner``), or ``airflow`` for system events;
- ``action``: ``airflow.<event>`` (e.g. ``airflow.trigger_dag_run``);
- ``subject``: ``dag:<dag_id>[/run:<run_id>][/task:<task_id>]``, or ``airflow``;
- ``details``: ids only (event log id, dag/run/task ids, map index, try number, logical date)
  and the *names* of the fields in Airflow's ``extra`` — never its values, which can hold
  request bodies with personal data (a DAG run's ``conf``, a connection's login);
- ``key``: ``airflow-event-log:<event_log_id>``, so importing twice adds nothing.

Incremental: the cursor (``governance.audit_import_cursor``, source ``airflow-event-log``)
remembers the newest imported event id and time. Each run asks for events after that time
minus a look-back window, ordered by id, because ids are allocated before commit and an
event may become visible after a higher one; the keys make the overlap harmless.

Credentials: the Airflow connection ``airflow_api`` (login/password of a service user whose
role may read Audit Logs) or, outside Airflow, ``SCROLLINTEL_AIRFLOW_API_USER`` /
``SCROLLINTEL_AIRFLOW_API_PASSWORD``; base URL from ``SCROLLINTEL_API_URL`` or the connection's
host. The token comes from ``POST /auth/token``. Other readers of the API (the cost rollup) use
the same client as a service user of their own (:class:`ServiceAccount`), each role reading only
what its reader needs.
"""

from __future__ import annotations

import json
import logging
import os
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from scrollintel.audit import settings
from scrollintel.audit.ledger_events import AuditEvent
from scrollintel.exceptions import ConfigError, ScrollIntelError

if TYPE_CHECKING:
    import httpx

log = logging.getLogger(__name__)

SOURCE = "airflow-event-log"
KEY_PREFIX = "airflow-event-log:"
PAGE_SIZE = 100
LOOKBACK = timedelta(minutes=10)
MAX_EVENTS_PER_RUN = 20_000
TIMEOUT_S = 30.0


class AirflowApiError(ScrollIntelError):
    """The Airflow REST API refused or failed a request; the message names the call and status."""


@dataclass(frozen=True)
class ServiceAccount:
    """A service user the platform reads Airflow's REST API as: the Airflow connection holding its
    login, the environment variables that do outside Airflow, and what its role may read (named in
    the message of a 403)."""

    conn_id: str
    env_user: str
    env_password: str
    reads: str


#: The audit log import's service user.
AUDIT_ACCOUNT = ServiceAccount(settings.API_CONN_ID, settings.ENV_API_USER, settings.ENV_API_PASSWORD, "Audit Logs")


@dataclass(frozen=True)
class ApiCredentials:
    """Where the REST API is and the service user that reads it (the password is never logged)."""

    base_url: str
    username: str
    password: str
    account: ServiceAccount = AUDIT_ACCOUNT

    def __repr__(self) -> str:
        return f"ApiCredentials(base_url={self.base_url!r}, username={self.username!r}, password='***')"


def api_credentials(account: ServiceAccount = AUDIT_ACCOUNT) -> ApiCredentials:
    """Credentials of ``account`` from its Airflow connection or the environment (see module docstring)."""
    base = settings.api_url()
    conn = settings.airflow_connection(account.conn_id)
    if conn is not None:
        if not base and conn.host:
            scheme = conn.schema or "http"
            base = f"{scheme}://{conn.host}" + (f":{conn.port}" if conn.port else "")
        username, password = conn.login or "", conn.password or ""
        source = f"Airflow connection {account.conn_id!r}"
    else:
        username = os.environ.get(account.env_user, "")
        password = os.environ.get(account.env_password, "")
        source = f"{account.env_user}/{account.env_password}"
    if not base:
        where = f"set {settings.ENV_API_URL} or the host of {account.conn_id!r}"
        raise ConfigError(f"Airflow REST API URL unknown: {where}")
    if not username or not password:
        raise ConfigError(f"no Airflow API service user: set the login and password of {source}")
    return ApiCredentials(base.rstrip("/"), username, password, account)


class AirflowApi:
    """A minimal client of Airflow 3's REST API: a JWT from ``/auth/token``, then ``/api/v2``."""

    def __init__(self, credentials: ApiCredentials, client: httpx.Client | None = None) -> None:
        import httpx

        self.credentials = credentials
        self.client = client or httpx.Client(base_url=credentials.base_url, timeout=TIMEOUT_S)
        self._token: str | None = None

    def _login(self) -> str:
        import httpx

        try:
            response = self.client.post(
                "/auth/token",
                json={"username": self.credentials.username, "password": self.credentials.password},
            )
        except httpx.HTTPError as err:
            raise AirflowApiError(f"POST {self.credentials.base_url}/auth/token failed: {type(err).__name__}") from err
        if response.status_code not in (200, 201):
            raise AirflowApiError(
                f"POST /auth/token as {self.credentials.username!r}: HTTP {response.status_code} "
                f"(check the {self.credentials.account.conn_id} connection's login and password)"
            )
        token = response.json().get("access_token")
        if not token:
            raise AirflowApiError("POST /auth/token answered without an access_token")
        return str(token)

    def get(self, path: str, params: Mapping[str, Any]) -> dict[str, Any]:
        """GET a JSON object, logging in first and once more if the token expired."""
        import httpx

        for attempt in (1, 2):
            if self._token is None:
                self._token = self._login()
            try:
                response = self.client.get(path, params=params, headers={"Authorization": f"Bearer {self._token}"})
            except httpx.HTTPError as err:
                raise AirflowApiError(f"GET {path} failed: {type(err).__name__}") from err
            if response.status_code == 401 and attempt == 1:
                self._token = None
                continue
            if response.status_code == 403:
                raise AirflowApiError(
                    f"GET {path}: HTTP 403, user {self.credentials.username!r} may not read it "
                    f"(its role needs 'can read on {self.credentials.account.reads}')"
                )
            if response.status_code != 200:
                raise AirflowApiError(f"GET {path}: HTTP {response.status_code}")
            data = response.json()
            if not isinstance(data, dict):
                raise AirflowApiError(f"GET {path}: expected a JSON object")
            return data
        raise AirflowApiError(f"GET {path}: HTTP 401 after logging in again")

    def event_logs(self, after: datetime | None, limit: int = MAX_EVENTS_PER_RUN) -> Iterator[dict[str, Any]]:
        """Event log entries (oldest id first) with ``when`` after ``after``, at most ``limit``."""
        offset = 0
        while offset < limit:
            params: dict[str, Any] = {"order_by": "event_log_id", "limit": PAGE_SIZE, "offset": offset}
            if after is not None:
                params["after"] = after.isoformat()
            page = self.get("/api/v2/eventLogs", params)
            items = page.get("event_logs") or []
            yield from items[: limit - offset]
            if len(items) < PAGE_SIZE:
                return
            offset += len(items)

    def close(self) -> None:
        """Close the HTTP client."""
        self.client.close()


_ACTION_CHARS = re.compile(r"[^A-Za-z0-9_.:/-]")


def _parse_time(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def _extra_field_names(extra: object) -> list[str]:
    """Names (never values) of the fields in Airflow's ``extra`` text, when it is a JSON object."""
    if not isinstance(extra, str) or not extra:
        return []
    try:
        data = json.loads(extra)
    except json.JSONDecodeError:
        return []
    return sorted(str(key) for key in data)[:50] if isinstance(data, dict) else []


def to_event(item: Mapping[str, Any]) -> AuditEvent:
    """The ledger event for one ``EventLogResponse``."""
    event_id = int(item["event_log_id"])
    name = _ACTION_CHARS.sub("_", str(item.get("event") or "unknown"))[:180]
    subject = "airflow"
    if item.get("dag_id"):
        subject = f"dag:{item['dag_id']}"
        if item.get("run_id"):
            subject += f"/run:{item['run_id']}"
        if item.get("task_id"):
            subject += f"/task:{item['task_id']}"
    details = {
        "event_log_id": event_id,
        "event": item.get("event"),
        "dag_id": item.get("dag_id"),
        "run_id": item.get("run_id"),
        "task_id": item.get("task_id"),
        "map_index": item.get("map_index"),
        "try_number": item.get("try_number"),
        "logical_date": item.get("logical_date"),
        "extra_fields": _extra_field_names(item.get("extra")),
    }
    return AuditEvent(
        action=f"airflow.{name}",
        subject=subject[:500],
        details={key: value for key, value in details.items() if value not in (None, [])},
        actor=str(item.get("owner") or "airflow")[:200],
        key=f"{KEY_PREFIX}{event_id}",
        at=_parse_time(str(item["when"])),
    )


@dataclass(frozen=True)
class ImportResult:
    """What one import run did."""

    fetched: int
    imported: int
    skipped: int
    last_event_id: int | None


def read_cursor(conn: Any) -> tuple[int | None, datetime | None]:
    """``(last_event_id, last_event_time)`` of the Airflow log import, or Nones before the first run."""
    row = conn.execute(
        "SELECT last_event_id, last_event_time FROM governance.audit_import_cursor WHERE source = %s", (SOURCE,)
    ).fetchone()
    return (None, None) if row is None else (int(row[0]), row[1])


def import_event_log(url: str | None = None, api: AirflowApi | None = None) -> ImportResult:
    """Import new Airflow event log entries; idempotent, raises when the API or database fails."""
    from scrollintel.audit import storage
    from scrollintel.audit.writer import prepare

    url = url or settings.ledger_url()
    with storage.connection(url) as conn:
        _, last_time = read_cursor(conn)
    own_api = api is None
    api = api or AirflowApi(api_credentials())
    try:
        items = list(api.event_logs(last_time - LOOKBACK if last_time else None))
    finally:
        if own_api:
            api.close()
    items.sort(key=lambda item: int(item["event_log_id"]))
    events = [to_event(item) for item in items]
    entries = [prepare(event) for event in events]
    with storage.connection(url) as conn, conn.transaction():
        result = storage.append_entries(conn, entries)
        if items:
            newest_id = max(int(item["event_log_id"]) for item in items)
            newest_time = max(event.at for event in events if event.at is not None)
            conn.execute(
                "INSERT INTO governance.audit_import_cursor (source, last_event_id, last_event_time, imported_total) "
                "VALUES (%s, %s, %s, %s) ON CONFLICT (source) DO UPDATE SET "
                "last_event_id = GREATEST(audit_import_cursor.last_event_id, EXCLUDED.last_event_id), "
                "last_event_time = GREATEST(audit_import_cursor.last_event_time, EXCLUDED.last_event_time), "
                "imported_total = audit_import_cursor.imported_total + EXCLUDED.imported_total, updated_at = now()",
                (SOURCE, newest_id, newest_time, result.appended),
            )
    last_id = max((int(item["event_log_id"]) for item in items), default=None)
    log.info("imported %d Airflow event log entries (%d already in the ledger)", result.appended, result.skipped)
    return ImportResult(fetched=len(items), imported=result.appended, skipped=result.skipped, last_event_id=last_id)
