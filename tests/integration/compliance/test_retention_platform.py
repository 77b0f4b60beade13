"""Retention of the platform's own stores: quality results and folders of files (raw lineage events stay).

A fresh migrated database (the runtime role's grants are the real ones) and real files in a
temporary object store, state folder and Airflow log folder. Old rows and files go, new ones stay,
a dry run changes nothing, a legal hold keeps them, the ledger's counts match, and the ledger
itself is untouched.
"""

from __future__ import annotations

import hashlib
import json
import os
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import psycopg
import pytest

from scrollintel import warehouse
from scrollintel.compliance import retention
from scrollintel.config import load_governance
from tests.integration.warehouse import RuntimeDatabase, runtime_database

pytestmark = pytest.mark.integration

NOW = datetime(2026, 12, 1, tzinfo=UTC)  # platform-records and operational (task logs): P2Y, cutoff 2024-12-01
OLD_RECORD, NEW_RECORD = datetime(2024, 6, 1, tzinfo=UTC), datetime(2026, 11, 1, tzinfo=UTC)
OLD_LOG, NEW_LOG = datetime(2024, 11, 1, tzinfo=UTC), datetime(2026, 11, 20, tzinfo=UTC)
LATER = NOW + timedelta(days=31)  # after the holds end; the new rows and files are still within their classes


@pytest.fixture(scope="module")
def house(pg_server: Any) -> Iterator[tuple[RuntimeDatabase, str]]:
    """Quality runs (two results each), raw lineage events and a lineage graph row, old and new."""
    with runtime_database(pg_server, "retp") as database:
        from psycopg.conninfo import make_conninfo
        from sqlalchemy.engine import make_url

        url = make_url(database.admin_url)
        conninfo = make_conninfo(
            host=url.host, port=url.port, user=url.username, password=url.password, dbname=url.database
        )
        with psycopg.connect(conninfo, autocommit=True) as conn:
            for number, at in enumerate([OLD_RECORD, OLD_RECORD, OLD_RECORD, NEW_RECORD, NEW_RECORD]):
                run_id = conn.execute(
                    "INSERT INTO governance.quality_run (gate_run_id, run_id, dataset, suite_path, success, "
                    "evaluated, failed, as_of, result_path, started_at, finished_at) "
                    "VALUES (%s, 'r', %s, 's.json', true, 2, 0, %s, 'x.json', %s, %s) RETURNING id",
                    (uuid.uuid4(), f"raw.shop__t{number}", at, at, at),
                ).fetchone()[0]
                for position in (0, 1):
                    conn.execute(
                        "INSERT INTO governance.quality_result (quality_run_id, dataset, position, expectation_type, "
                        "kwargs, success, recorded_at) VALUES (%s, 'd', %s, 'expect_x', '{}'::jsonb, true, %s)",
                        (run_id, position, at),
                    )
            for number, at in enumerate([OLD_RECORD, OLD_RECORD, NEW_RECORD]):
                payload = json.dumps({"n": number})
                conn.execute(
                    "INSERT INTO governance.lineage_event (event_hash, kind, event_time, producer, payload, "
                    "received_by, received_at) VALUES (%s, 'run', %s, 'test', %s, 'test', %s)",
                    (hashlib.sha256(payload.encode()).hexdigest(), at, payload, at),
                )
            conn.execute(
                "INSERT INTO governance.lineage_namespace (name, created_at, updated_at) VALUES (%s, %s, %s)",
                ("postgres://w", OLD_RECORD, OLD_RECORD),
            )
        yield database, conninfo


def _file(path: Path, at: datetime) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("x\n", encoding="utf-8")
    os.utime(path, (at.timestamp(), at.timestamp()))
    return path


@pytest.fixture
def roots(tmp_path: Path) -> dict[str, Path]:
    """The three folder roots with old and new files, and symlinks to old files outside them."""
    found = {name: tmp_path / name for name in ("object_store", "state", "airflow_logs")}
    outside = tmp_path / "outside"
    _file(outside / "secret.json", OLD_RECORD)
    _file(outside / "dir" / "inner.log", OLD_RECORD)
    checkpoint = found["object_store"] / "quality" / "checkpoint" / "raw.shop__orders"
    _file(checkpoint / "old-1.json", OLD_RECORD)
    _file(checkpoint / "old-2.json", OLD_RECORD)
    _file(checkpoint / "new.json", NEW_RECORD)
    (checkpoint / "link.json").symlink_to(outside / "secret.json")
    _file(found["object_store"] / "landing" / "crm" / "contacts.csv", OLD_RECORD)  # not a platform folder
    docs = found["state"] / "quality" / "data-docs"
    _file(docs / "validations" / "raw" / "shop__orders" / "20240601T000000Z" / "page.html", OLD_RECORD)
    _file(docs / "index.html", OLD_RECORD)  # the site's index is outside the validations folder
    gx_store = found["state"] / "quality" / "gx-validations" / "raw" / "shop__orders" / "gate"
    _file(gx_store / "20240601T000000Z" / "batch.json", OLD_RECORD)
    _file(gx_store / "20261201T000000Z" / "batch.json", NEW_RECORD)
    logs = found["airflow_logs"]
    _file(logs / "dag_id=ingest_shop" / "run_id=old" / "task_id=load" / "attempt=1.log", OLD_LOG)
    _file(logs / "dag_id=ingest_shop" / "run_id=new" / "task_id=load" / "attempt=1.log", NEW_LOG)
    (logs / "dag_id=elsewhere").symlink_to(outside / "dir", target_is_directory=True)
    return found


def _counts(conninfo: str) -> dict[str, int]:
    tables = ("quality_run", "quality_result", "lineage_event", "lineage_namespace")
    with psycopg.connect(conninfo) as conn:
        return {t: conn.execute(f"SELECT count(*) FROM governance.{t}").fetchone()[0] for t in tables}


def _ledger(conninfo: str) -> list[tuple[Any, ...]]:
    with psycopg.connect(conninfo) as conn:
        return conn.execute(
            "SELECT seq, action, subject, details::text FROM governance.audit_entry ORDER BY seq"
        ).fetchall()


def _files(root: Path) -> set[str]:
    return {str(p.relative_to(root)) for p in root.rglob("*") if p.is_file() or p.is_symlink()}


def _run(
    house: tuple[RuntimeDatabase, str], roots: dict[str, Path], *, now: datetime, dry_run: bool, run_id: str
) -> dict[str, retention.Proof]:
    url = house[0].url
    with warehouse.connect(url, autocommit=True) as conn:
        proofs = retention.enforce(
            conn,
            load_governance(),
            now=now,
            dry_run=dry_run,
            files_root=roots["object_store"],
            folder_roots=roots,
            run_id=run_id,
        )
    retention.record(proofs, dry_run=dry_run, run_id=run_id, ledger_url=url)
    return {proof.table: proof for proof in proofs if not proof.table.startswith("raw")}


def test_platform_stores_dry_run_hold_then_purge_with_proof(
    house: tuple[RuntimeDatabase, str], roots: dict[str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SCROLLINTEL_HOME", str(tmp_path / "home"))
    conninfo = house[1]
    start, files_before = _counts(conninfo), {name: _files(root) for name, root in roots.items()}
    with warehouse.connect(house[0].url) as conn:
        assert "folder:airflow-task-logs" in retention.hold_targets(conn, load_governance())
        assert not any(name.startswith("governance.audit_") for name in retention.hold_targets(conn, load_governance()))

    # dry run: what would go, nothing changes
    dry = _run(house, roots, now=NOW, dry_run=True, run_id="p-dry")
    assert {name: (p.due, p.rows_before, p.unit) for name, p in dry.items()} == {
        "governance.quality_run": (3, 5, "rows"),
        "folder:quality-checkpoint-results": (2, 3, "files"),
        "folder:quality-data-docs": (1, 1, "files"),
        "folder:quality-gx-validations": (1, 2, "files"),
        "folder:airflow-task-logs": (1, 2, "files"),
    }
    assert dry["governance.quality_run"].includes == [
        {"table": "governance.quality_result", "due": 6, "changed": 0, "rows_before": 10, "rows_after": 10}
    ]
    assert all(p.changed == 0 and p.skipped == "dry run" for p in dry.values())
    assert _counts(conninfo) == start
    assert {name: _files(root) for name, root in roots.items()} == files_before

    # a hold on the quality results (the child table holds its parent) and on the task logs
    with warehouse.connect(house[0].url) as conn:
        for target in ("governance.quality_result", "folder:airflow-task-logs"):
            retention.add_hold(conn, target, NOW + timedelta(days=30), reason="case 7", approved_by="co-officer")
    ledger_before = _ledger(conninfo)
    done = _run(house, roots, now=NOW, dry_run=False, run_id="p-first")
    assert done["governance.quality_run"].skipped == "legal hold" and done["governance.quality_run"].changed == 0
    assert done["folder:airflow-task-logs"].skipped == "legal hold" and done["folder:airflow-task-logs"].changed == 0
    assert "governance.lineage_event" not in done  # append-only for the runtime role
    checkpoint = done["folder:quality-checkpoint-results"]
    assert (checkpoint.changed, checkpoint.rows_before, checkpoint.rows_after) == (2, 3, 1)
    assert done["folder:quality-data-docs"].changed == 1
    after = _counts(conninfo)
    assert after == start  # the raw lineage events and the lineage graph stay
    store = roots["object_store"]
    assert _files(store) == {
        "quality/checkpoint/raw.shop__orders/new.json",
        "quality/checkpoint/raw.shop__orders/link.json",  # a symlink is never followed nor removed
        "landing/crm/contacts.csv",
    }
    assert (tmp_path / "outside" / "secret.json").is_file()
    assert _files(roots["state"]) == {
        "quality/data-docs/index.html",
        "quality/gx-validations/raw/shop__orders/gate/20261201T000000Z/batch.json",  # GX's store, by age too
    }
    assert not (roots["state"] / "quality" / "data-docs" / "validations" / "raw").exists()  # emptied folders go
    assert _files(roots["airflow_logs"]) == files_before["airflow_logs"]

    # the ledger: the earlier entries untouched, one new entry whose counts match
    ledger = _ledger(conninfo)
    assert ledger[: len(ledger_before)] == ledger_before
    assert [row[1:3] for row in ledger[len(ledger_before) :]] == [
        ("compliance.retention_enforced", "retention_run:p-first")
    ]
    recorded = {t["table"]: t for t in json.loads(ledger[-1][3])["tables"]}
    counted = recorded["folder:quality-checkpoint-results"]
    assert (counted["due"], counted["changed"], counted["rows_before"], counted["rows_after"]) == (2, 2, 3, 1)
    assert recorded["folder:quality-checkpoint-results"]["unit"] == "files"
    assert recorded["governance.quality_run"]["held_until"].startswith("2026-12-31")

    # the holds ended: the old quality runs go with their results, the old log too; a re-run does nothing
    again = _run(house, roots, now=LATER, dry_run=False, run_id="p-second")
    runs = again["governance.quality_run"]
    assert (runs.changed, runs.rows_before, runs.rows_after) == (3, 5, 2)
    assert runs.includes == [
        {"table": "governance.quality_result", "due": 6, "changed": 6, "rows_before": 10, "rows_after": 4}
    ]
    assert again["folder:airflow-task-logs"].changed == 1
    assert _files(roots["airflow_logs"]) == {
        "dag_id=ingest_shop/run_id=new/task_id=load/attempt=1.log",
        "dag_id=elsewhere",
    }
    assert (tmp_path / "outside" / "dir" / "inner.log").is_file()
    assert _counts(conninfo) == {**start, "quality_run": 2, "quality_result": 4}
    third = _run(house, roots, now=LATER, dry_run=False, run_id="p-third")
    assert sum(p.changed for p in third.values()) == 0
    final = _ledger(conninfo)
    assert final[: len(ledger)] == ledger and len(final) == len(ledger) + 2


def test_the_runtime_role_may_delete_platform_records_but_not_rewrite_them_nor_touch_the_ledger(
    house: tuple[RuntimeDatabase, str],
) -> None:
    role = house[0].role
    with psycopg.connect(house[1]) as conn:
        granted = {
            (table, privilege): conn.execute(
                "SELECT has_table_privilege(%s, %s, %s)", (role, f"governance.{table}", privilege)
            ).fetchone()[0]
            for table in ("quality_run", "lineage_event", "audit_entry", "lineage_dataset")
            for privilege in ("DELETE", "UPDATE")
        }
    assert granted == {
        ("quality_run", "DELETE"): True,
        ("quality_run", "UPDATE"): False,
        ("lineage_event", "DELETE"): False,  # append-only (migration 0008)
        ("lineage_event", "UPDATE"): False,
        ("audit_entry", "DELETE"): False,
        ("audit_entry", "UPDATE"): False,
        ("lineage_dataset", "DELETE"): False,  # the graph derived from the events stays
        ("lineage_dataset", "UPDATE"): True,
    }
