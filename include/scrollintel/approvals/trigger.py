"""Asking for something that goes through a gate: a DAG run triggered through Airflow's REST API as a person.

The command line (``scrollintel model rollback``, ``cost budget request``, ``demo drift-schema``)
signs in as the team member asking (``POST /auth/token``) and triggers the DAG with their token,
so Airflow checks their right to trigger it and names them as who triggered the run; the gate's
separation of duties then keeps them from approving their own request. (The web pages, running in
the api-server, mint the token instead: :func:`scrollintel.approvals.decisions.token_for`.)
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from scrollintel.exceptions import ScrollIntelError

if TYPE_CHECKING:
    import httpx

#: Seconds allowed for the sign-in and for the trigger.
TIMEOUT_S = 30.0
#: Airflow keeps a run's note up to this many characters.
NOTE_CHARS = 1000


class TriggerRefused(ScrollIntelError):
    """Airflow could not be reached, refused the sign-in or refused the trigger (the message says which)."""


def sign_in(api_url: str, username: str, password: str) -> str:
    """``username``'s token from Airflow's ``POST /auth/token`` at ``api_url``.

    Raises:
        TriggerRefused: Airflow is not reachable or refused the sign-in (with the HTTP status).
    """
    import httpx

    base = api_url.rstrip("/")
    try:
        token = httpx.post(f"{base}/auth/token", json={"username": username, "password": password}, timeout=TIMEOUT_S)
    except httpx.HTTPError as err:
        raise TriggerRefused(f"cannot reach Airflow at {base} ({type(err).__name__}): is the platform up?") from err
    if token.status_code not in {200, 201}:
        raise TriggerRefused(f"cannot sign in to Airflow at {base} as {username} (HTTP {token.status_code})")
    return str(token.json()["access_token"])


def api_client(api_url: str, token: str) -> httpx.Client:
    """A client of Airflow's REST API at ``api_url`` carrying ``token`` (from :func:`sign_in`, or minted)."""
    import httpx

    return httpx.Client(base_url=api_url.rstrip("/"), headers={"Authorization": f"Bearer {token}"}, timeout=TIMEOUT_S)


def trigger_as(
    api_url: str,
    username: str,
    password: str,
    dag_id: str,
    *,
    conf: Mapping[str, Any] | None = None,
    note: str | None = None,
) -> str:
    """Trigger ``dag_id`` (now, with ``conf`` and ``note``) as ``username``; returns the run id.

    Raises:
        TriggerRefused: Airflow is not reachable, or refused the sign-in or the trigger (with the HTTP status).
    """
    import httpx

    base = api_url.rstrip("/")
    token = sign_in(base, username, password)
    body: dict[str, Any] = {"logical_date": None, "conf": dict(conf or {})}
    if note:
        body["note"] = note[:NOTE_CHARS]
    try:
        response = httpx.post(
            f"{base}/api/v2/dags/{dag_id}/dagRuns",
            json=body,
            headers={"Authorization": f"Bearer {token}"},
            timeout=TIMEOUT_S,
        )
    except httpx.HTTPError as err:
        raise TriggerRefused(f"cannot reach Airflow at {base} ({type(err).__name__}): is the platform up?") from err
    if response.status_code != 200:
        raise TriggerRefused(f"cannot trigger {dag_id} (HTTP {response.status_code}): {response.text[:300]}")
    return str(response.json()["dag_run_id"])
