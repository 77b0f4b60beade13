"""The access review and DAG changes read from Airflow's API, in the shapes FAB and Airflow answer with."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from scrollintel.compliance import airflow_review

pytestmark = pytest.mark.unit

NOW = datetime(2026, 12, 7, 12, tzinfo=UTC)


def _user(username: str, roles: list[str], *, active: bool = True, last_login: str | None = None) -> dict[str, Any]:
    """A ``UserResponse`` of FAB's ``/auth/fab/v1/users`` (naive times, as FAB stores them)."""
    return {
        "username": username,
        "email": f"{username}@example.com",
        "first_name": "First",
        "last_name": "Last",
        "roles": [{"name": role} for role in roles],
        "active": active,
        "last_login": last_login,
        "login_count": 3 if last_login else None,
        "fail_login_count": 1,
        "created_on": "2026-01-05T09:00:00.000000",
        "changed_on": "2026-01-05T09:00:00.000000",
    }


USERS = [
    _user("admin", ["Admin"], last_login="2026-12-07T08:00:00.123456"),
    _user("dp-lead", ["User"], last_login="2026-06-01T08:00:00"),  # 189 days ago: a finding
    _user("an-analyst", ["User"]),  # never signed in: a finding
    _user("left-the-company", ["Op", "User"], active=False),  # inactive, still holds roles: a finding
    _user("scrollintel-audit", ["ScrollIntelAuditReader"], last_login="2026-12-07T11:50:00"),
]
ROLES = [
    {"name": "ScrollIntelAuditReader", "actions": [
        {"action": {"name": "can_read"}, "resource": {"name": "Audit Logs"}},
        {"action": {"name": "can_read"}, "resource": {"name": "DAGs"}},
    ]},
    {"name": "Admin", "actions": [{"action": {"name": "can_edit"}, "resource": {"name": "Users"}}]},
]  # fmt: skip
VERSIONS = [
    {"id": "01", "version_number": 1, "dag_id": "ingest_shop", "bundle_name": "dags-folder", "bundle_version": None,
     "created_at": "2026-11-30T23:59:59Z", "dag_display_name": "ingest_shop", "bundle_url": None},
    {"id": "02", "version_number": 2, "dag_id": "ingest_shop", "bundle_name": "dags-folder", "bundle_version": None,
     "created_at": "2026-12-01T00:00:00Z", "dag_display_name": "ingest_shop", "bundle_url": None},
    {"id": "03", "version_number": 1, "dag_id": "transform_warehouse", "bundle_name": "dags-folder",
     "bundle_version": "4f2a9c1", "created_at": "2026-12-03T10:15:00.5+00:00",
     "dag_display_name": "transform_warehouse", "bundle_url": None},
]  # fmt: skip


def _airflow(status: int = 200, page: int = 2) -> httpx.Client:
    """Airflow's API as it pages its lists (``limit``/``offset``, ``total_entries``); ``page`` items at most."""
    lists = {"/auth/fab/v1/users": ("users", USERS), "/auth/fab/v1/roles": ("roles", ROLES),
             "/api/v2/dags/~/dagVersions": ("dag_versions", VERSIONS)}  # fmt: skip

    def handle(request: httpx.Request) -> httpx.Response:
        if status != 200:
            return httpx.Response(status, json={"detail": "Forbidden"})
        key, items = lists[request.url.path]
        offset = int(request.url.params["offset"])
        return httpx.Response(200, json={key: items[offset : offset + page], "total_entries": len(items)})

    return httpx.Client(base_url="http://airflow.test", transport=httpx.MockTransport(handle))


def test_the_review_lists_every_account_with_roles_and_logins_and_no_contact_details() -> None:
    review = airflow_review.access_review(_airflow(), now=NOW)

    assert review["included"] is True
    assert [user["username"] for user in review["users"]] == sorted(user["username"] for user in USERS)
    admin = next(user for user in review["users"] if user["username"] == "admin")
    assert admin["roles"] == ["Admin"] and admin["last_login"] == "2026-12-07T08:00:00.123456+00:00"
    assert (admin["login_count"], admin["failed_login_count"]) == (3, 1)
    text = str(review)
    assert "example.com" not in text and "First" not in text and "Last" not in text
    assert [role["name"] for role in review["roles"]] == ["Admin", "ScrollIntelAuditReader"]
    assert review["roles"][1]["permissions"] == ["can_read on Audit Logs", "can_read on DAGs"]


def test_the_findings_are_stale_and_never_used_accounts_and_inactive_ones_holding_roles() -> None:
    findings = airflow_review.access_review(_airflow(), now=NOW)["findings"]

    assert findings == [
        "an-analyst: active, has never signed in (over 90 days): still needed?",
        "dp-lead: active, last signed in 2026-06-01 (over 90 days): still needed?",
        "left-the-company: inactive but still holds Op, User",
    ]


@pytest.mark.parametrize("status", [401, 403])
def test_an_account_that_may_not_read_users_gets_a_file_saying_so(status: int) -> None:
    review = airflow_review.access_review(_airflow(status), now=NOW)

    assert review == {
        "included": False,
        "reason": f"/auth/fab/v1/users: the account may not read it (HTTP {status}); reading users and roles "
        f"needs {airflow_review.READ_USERS}",
    }


def test_an_unreachable_airflow_is_named_not_raised() -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused", request=request)

    client = httpx.Client(base_url="http://airflow.test", transport=httpx.MockTransport(refuse))
    review = airflow_review.access_review(client, now=NOW)
    versions = airflow_review.dag_versions(client, NOW, NOW)

    assert review["included"] is False
    assert "Airflow did not answer /auth/fab/v1/users (ConnectError)" in review["reason"]
    assert versions["included"] is False and "(ConnectError)" in versions["reason"]
    assert "airflow.test" not in review["reason"] + versions["reason"]


@pytest.mark.parametrize(
    ("answer", "kind"),
    [
        (httpx.Response(200, text="<html>Sign in</html>", headers={"content-type": "text/html"}), "text/html"),
        (httpx.Response(200, json=["not", "an", "object"]), "application/json"),
        (httpx.Response(200, json={"users": "everyone"}), "application/json"),
    ],
    ids=["a-proxy-page", "a-list", "a-string"],
)
def test_an_answer_that_is_not_airflows_list_is_named_not_raised(answer: httpx.Response, kind: str) -> None:
    """A proxy in front of Airflow may answer 200 with a page of its own."""
    client = httpx.Client(base_url="http://airflow.test", transport=httpx.MockTransport(lambda request: answer))

    review = airflow_review.access_review(client, now=NOW)

    assert review["included"] is False
    assert review["reason"].startswith(f"/auth/fab/v1/users: the answer is not Airflow's list of users ({kind})")


def test_dag_versions_are_those_created_in_the_period_in_order() -> None:
    december = airflow_review.dag_versions(
        _airflow(), datetime(2026, 12, 1, tzinfo=UTC), datetime(2027, 1, 1, tzinfo=UTC)
    )

    assert december == {
        "included": True,
        "versions": [
            {"dag_id": "ingest_shop", "version_number": 2, "created_at": "2026-12-01T00:00:00+00:00",
             "bundle_name": "dags-folder", "bundle_version": None},
            {"dag_id": "transform_warehouse", "version_number": 1, "created_at": "2026-12-03T10:15:00.500000+00:00",
             "bundle_name": "dags-folder", "bundle_version": "4f2a9c1"},
        ],
    }  # fmt: skip
