"""What Airflow itself knows for a SOC 2 review: who may do what, and which DAGs changed.

Read through Airflow's REST API with the token of whoever builds the evidence pack, so Airflow
decides what they may see (an account that cannot read users gets a pack that says so, never a
failed pack):

- **access review** (``access_review.json``): the FAB auth manager's users (``/auth/fab/v1/users``:
  user name, roles, active, last login, login and failed-login counts, created and changed) and its
  roles with their permissions (``/auth/fab/v1/roles``). No e-mail addresses or names: a review asks
  who holds which access, not how to reach them. Findings a reviewer acts on are listed: active
  accounts that never signed in or not within :data:`STALE_DAYS` days, and inactive accounts that
  still hold roles;
- **DAG changes** (``dag_versions.json``): every DAG version Airflow registered in the period
  (``/api/v2/dags/~/dagVersions``; Airflow 3 makes a new version when a DAG's structure changes):
  DAG, version number, when, bundle and bundle version.

People's actions in Airflow (triggers, pauses, clears, answers) are in the ledger already
(``airflow.*`` entries, imported by ``audit_import_airflow_log``), which the pack's ledger status
covers and ``scrollintel audit`` reads.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import httpx

#: An active account without a sign-in for this many days is a finding of the access review.
STALE_DAYS = 90
#: Page size of the list calls.
PAGE = 100
#: What a user needs to read users and roles (FAB's permission names; Admin has them by default).
READ_USERS = "can_read on Users and Roles (FAB; the Admin role has it)"


class NotReadable(Exception):
    """Airflow refused or could not answer a read (the message says which and why)."""


def _pages(client: httpx.Client, path: str, key: str) -> list[dict[str, Any]]:
    """Every item of a paginated list endpoint."""
    import httpx

    items: list[dict[str, Any]] = []
    while True:
        try:
            response = client.get(path, params={"limit": PAGE, "offset": len(items)})
        except httpx.HTTPError as err:
            raise NotReadable(f"Airflow did not answer {path} ({type(err).__name__})") from err
        if response.status_code in (401, 403):
            raise NotReadable(f"{path}: the account may not read it (HTTP {response.status_code})")
        if response.status_code != 200:
            raise NotReadable(f"{path}: Airflow answered HTTP {response.status_code}")
        try:  # a proxy in front of Airflow (a sign-in page, an error page) may answer 200 with HTML
            body = response.json()
        except ValueError:
            body = None
        batch = body.get(key) if isinstance(body, dict) else None
        if not isinstance(batch, list) or not all(isinstance(item, dict) for item in batch):
            kind = response.headers.get("content-type", "no content type").split(";")[0]
            raise NotReadable(f"{path}: the answer is not Airflow's list of {key} ({kind})")
        items.extend(batch)
        total = body.get("total_entries")  # type: ignore[union-attr]
        if not batch or not isinstance(total, int) or len(items) >= total:
            return items


def _when(value: object) -> datetime | None:
    if not value:
        return None
    moment = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def access_review(client: httpx.Client, *, now: datetime) -> dict[str, Any]:
    """Users, roles and the review's findings; ``included: false`` with the reason when they cannot be read."""
    try:
        users = _pages(client, "/auth/fab/v1/users", "users")
        roles = _pages(client, "/auth/fab/v1/roles", "roles")
    except NotReadable as err:
        return {"included": False, "reason": f"{err}; reading users and roles needs {READ_USERS}"}
    accounts = []
    findings = []
    for user in sorted(users, key=lambda item: str(item.get("username"))):
        names = sorted(str(role.get("name")) for role in user.get("roles") or [])
        last = _when(user.get("last_login"))
        accounts.append(
            {
                "username": user.get("username"),
                "roles": names,
                "active": user.get("active"),
                "last_login": last.isoformat() if last else None,
                "login_count": user.get("login_count"),
                "failed_login_count": user.get("fail_login_count"),
                "created_on": user.get("created_on"),
                "changed_on": user.get("changed_on"),
            }
        )
        if user.get("active") and (last is None or now - last > timedelta(days=STALE_DAYS)):
            never = "has never signed in" if last is None else f"last signed in {last.date().isoformat()}"
            findings.append(f"{user.get('username')}: active, {never} (over {STALE_DAYS} days): still needed?")
        if not user.get("active") and names:
            findings.append(f"{user.get('username')}: inactive but still holds {', '.join(names)}")
    return {
        "included": True,
        "as_of": now.isoformat(timespec="seconds"),
        "users": accounts,
        "roles": [
            {
                "name": role.get("name"),
                "permissions": sorted(
                    f"{action.get('action', {}).get('name')} on {action.get('resource', {}).get('name')}"
                    for action in role.get("actions") or role.get("permissions") or []
                ),
            }
            for role in sorted(roles, key=lambda item: str(item.get("name")))
        ],
        "findings": findings,
    }


def dag_versions(client: httpx.Client, start: datetime, end: datetime) -> dict[str, Any]:
    """The DAG versions created in ``[start, end)``; ``included: false`` with the reason when they cannot be read."""
    try:
        versions = _pages(client, "/api/v2/dags/~/dagVersions", "dag_versions")
    except NotReadable as err:
        return {"included": False, "reason": f"{err}; reading DAG versions needs can_read on DAG Versions"}
    changed = []
    for version in versions:
        created = _when(version.get("created_at"))
        if created is not None and start <= created < end:
            changed.append(
                {
                    "dag_id": version.get("dag_id"),
                    "version_number": version.get("version_number"),
                    "created_at": created.isoformat(),
                    "bundle_name": version.get("bundle_name"),
                    "bundle_version": version.get("bundle_version"),
                }
            )
    changed.sort(key=lambda item: (item["created_at"], str(item["dag_id"]), int(item["version_number"] or 0)))
    return {"included": True, "versions": changed}
