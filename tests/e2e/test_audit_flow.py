"""The audit ledger on the running platform: a UI action reaches the ledger; tampering is caught."""

from __future__ import annotations

import json
import subprocess
import zipfile
from datetime import UTC, datetime
from pathlib import Path

import psycopg
import pytest

from scrollintel import db
from scrollintel.platform import launcher
from tests.e2e.conftest import RunningPlatform, wait_for_json

pytestmark = pytest.mark.e2e


def _scrollintel(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [launcher._bin("scrollintel"), *args],
        env=launcher.child_env(launcher.layout()),
        capture_output=True,
        text=True,
        check=False,
    )


def test_a_manual_trigger_lands_in_the_ledger_through_the_import_dag(platform: RunningPlatform) -> None:
    from scrollintel.audit.query import EntryFilter, search_entries

    with platform.client() as client:
        wait_for_json(client, "/api/v2/dags/audit_import_airflow_log", lambda d: d.get("dag_id") is not None)
        trigger = client.post("/api/v2/dags/platform_health/dagRuns", json={"logical_date": None})
        assert trigger.status_code == 200, trigger.text
        run = client.post("/api/v2/dags/audit_import_airflow_log/dagRuns", json={"logical_date": None}).json()
        final = wait_for_json(
            client,
            f"/api/v2/dags/audit_import_airflow_log/dagRuns/{run['dag_run_id']}",
            lambda r: r.get("state") in ("success", "failed"),
            timeout=300,
        )
        assert final["state"] == "success"
    found = search_entries(
        db.warehouse_url(),
        EntryFilter(action="airflow.trigger_dag_run", actor=platform.user, subject="dag:platform_health"),
    )
    assert found.total >= 1, "the admin's manual trigger is in the ledger"


def test_verify_passes_then_names_the_index_a_superuser_edited(platform: RunningPlatform) -> None:
    assert _scrollintel("audit", "anchor").returncode == 0
    ok = _scrollintel("audit", "verify")
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert ok.stdout.startswith("OK:")
    admin = db.admin_url("warehouse").replace(db.DRIVER, "postgresql")
    with psycopg.connect(admin, autocommit=True) as conn:
        seq, actor = conn.execute(
            "SELECT seq, actor FROM governance.audit_entry ORDER BY seq LIMIT 1 OFFSET 2"
        ).fetchone()  # type: ignore[misc]
        # A superuser can get past the append-only triggers; verification is what catches it.
        conn.execute("SET session_replication_role = replica")
        conn.execute("UPDATE governance.audit_entry SET actor = 'someone-else' WHERE seq = %s", (seq,))
        try:
            bad = _scrollintel("audit", "verify")
            assert bad.returncode == 1
            assert f"FAILED at index {seq} (edited)" in bad.stdout, bad.stdout
        finally:
            conn.execute("UPDATE governance.audit_entry SET actor = %s WHERE seq = %s", (actor, seq))
    assert _scrollintel("audit", "verify").returncode == 0


def test_the_anchorer_covers_a_new_entry_within_seconds(platform: RunningPlatform) -> None:
    import time

    from scrollintel import audit

    assert launcher.status()["audit-anchorer"] == "running"
    receipt = audit.record("e2e.anchorer_probe", "dag:platform_health", {"probe": 1}, url=db.warehouse_url())
    assert receipt.status == "written"
    deadline = time.monotonic() + 30
    report = _scrollintel("audit", "verify")
    while "0 entries not yet covered by a signed tree head" not in report.stdout and time.monotonic() < deadline:
        time.sleep(1)
        report = _scrollintel("audit", "verify")
    assert report.returncode == 0, report.stdout + report.stderr
    assert "0 entries not yet covered by a signed tree head" in report.stdout, report.stdout


def test_the_evidence_pack_reviews_airflows_accounts_and_dag_versions(
    platform: RunningPlatform, tmp_path: Path
) -> None:
    """`scrollintel compliance evidence` signs in as the admin and reads FAB's users and roles and the DAG versions."""
    month = datetime.now(UTC).strftime("%Y-%m")
    pack = tmp_path / "evidence.zip"
    built = _scrollintel("compliance", "evidence", "--period", month, "--out", str(pack))
    assert built.returncode == 0, built.stdout + built.stderr
    with zipfile.ZipFile(pack) as opened:
        review = json.loads(opened.read("access_review.json"))
        versions = json.loads(opened.read("dag_versions.json"))

    assert review["included"] is True, review
    users = {user["username"]: user for user in review["users"]}
    assert users["admin"]["roles"] == ["Admin"] and users["admin"]["last_login"] is not None  # it just signed in
    assert users[launcher.AUDIT_SERVICE_USER]["roles"] == [launcher.AUDIT_READER_ROLE]
    assert set(launcher.team_users()) <= set(users)
    (reader,) = [role for role in review["roles"] if role["name"] == launcher.AUDIT_READER_ROLE]
    assert "can_read on Audit Logs" in reader["permissions"]
    assert "co-auditor: active, has never signed in (over 90 days): still needed?" in review["findings"]
    assert versions["included"] is True, versions
    assert {"ingest_shop", "platform_health"} <= {version["dag_id"] for version in versions["versions"]}
    assert "@" not in json.dumps(review)  # no e-mail address in the review
