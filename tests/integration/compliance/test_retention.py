"""Retention enforcement on a small warehouse: old rows go by class, new ones stay; dry runs and holds keep them."""

from __future__ import annotations

import json
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

NOW = datetime(2026, 12, 1, tzinfo=UTC)
OLD_EVENT, NEW_EVENT = "2025-01-01", "2026-11-01"  # marketing-events: P13M, by occurred_at
OLD_LOAD, NEW_LOAD = "2023-01-01", "2026-11-01"  # customer-data: P3Y, by _loaded_at
OLD_ORDER = "2015-01-01"  # financial-records: P10Y


@pytest.fixture(scope="module")
def small(pg_server: Any) -> Iterator[tuple[RuntimeDatabase, str]]:
    """Raw tables of three classes and a quarantine table, each with rows past and within their cutoff."""
    with runtime_database(pg_server, "ret") as database:
        from psycopg.conninfo import make_conninfo
        from sqlalchemy.engine import make_url

        url = make_url(database.admin_url)
        conninfo = make_conninfo(
            host=url.host, port=url.port, user=url.username, password=url.password, dbname=url.database
        )
        with psycopg.connect(conninfo, autocommit=True) as conn:
            conn.execute(
                "INSERT INTO governance.column_classification "
                "(source, resource, column_name, class_id, sensitivity, masking, method, sampled, run_id) "
                "VALUES ('shop', 'customers', 'email', 'email', 'confidential', 'hash', 'name', 0, 'seed')"
            )
            conn.execute(f'SET ROLE "{database.role}"')
            conn.execute(
                "CREATE TABLE raw.marketing__events (event_id bigint PRIMARY KEY, occurred_at timestamptz, "
                "_loaded_at timestamptz DEFAULT now())"
            )
            conn.execute(
                "CREATE TABLE raw.shop__customers (customer_id bigint PRIMARY KEY, email text, city text, "
                "_loaded_at timestamptz)"
            )
            conn.execute(
                "CREATE TABLE raw.shop__orders (order_id bigint PRIMARY KEY, total numeric, _loaded_at timestamptz)"
            )
            conn.execute("CREATE TABLE raw.unknown__things (id bigint, _loaded_at timestamptz)")
            from scrollintel.ingest import quarantine

            quarantine.ensure_table(conn, "shop__orders")
            events = [(1, OLD_EVENT), (2, OLD_EVENT), (3, OLD_EVENT), (4, NEW_EVENT), (5, NEW_EVENT)]
            for event_id, at in events:
                conn.execute(
                    "INSERT INTO raw.marketing__events (event_id, occurred_at) VALUES (%s, %s)", (event_id, at)
                )
            for cid, at in [(1, OLD_LOAD), (2, OLD_LOAD), (3, NEW_LOAD)]:
                conn.execute(
                    "INSERT INTO raw.shop__customers VALUES (%s, %s, 'Lyon', %s)", (cid, f"c{cid}@example.org", at)
                )
            for oid, at in [(1, OLD_ORDER), (2, OLD_ORDER), (3, NEW_LOAD), (4, NEW_LOAD)]:
                conn.execute("INSERT INTO raw.shop__orders VALUES (%s, 10.5, %s)", (oid, at))
            conn.execute("INSERT INTO raw.unknown__things VALUES (1, '2000-01-01')")
            for number, at in [(1, "2026-01-01"), (2, "2026-11-30")]:
                conn.execute(
                    "INSERT INTO raw_quarantine.shop__orders "
                    "(run_id, batch_id, reason, raw_row, row_hash, quarantined_at) "
                    "VALUES ('r', 'b', 'bad', '{}'::jsonb, %s, %s)",
                    (str(number), at),
                )
        yield database, conninfo


def _counts(conninfo: str) -> dict[str, Any]:
    with psycopg.connect(conninfo) as conn:
        return {
            "events": conn.execute("SELECT count(*) FROM raw.marketing__events").fetchone()[0],
            "emails": conn.execute("SELECT count(email) FROM raw.shop__customers").fetchone()[0],
            "customers": conn.execute("SELECT count(*) FROM raw.shop__customers").fetchone()[0],
            "orders": conn.execute("SELECT count(*) FROM raw.shop__orders").fetchone()[0],
            "quarantine": conn.execute("SELECT count(*) FROM raw_quarantine.shop__orders").fetchone()[0],
            "things": conn.execute("SELECT count(*) FROM raw.unknown__things").fetchone()[0],
        }


def _run(
    small: tuple[RuntimeDatabase, str], *, now: datetime, dry_run: bool, root: Path, run_id: str
) -> dict[str, retention.Proof]:
    url = small[0].url
    with warehouse.connect(url, autocommit=True) as conn:
        proofs = retention.enforce(conn, load_governance(), now=now, dry_run=dry_run, files_root=root, run_id=run_id)
    retention.record(proofs, dry_run=dry_run, run_id=run_id, ledger_url=url)
    return {proof.table: proof for proof in proofs}


def test_dry_run_then_hold_then_enforcement_with_proof_in_the_ledger(
    small: tuple[RuntimeDatabase, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SCROLLINTEL_HOME", str(tmp_path))
    conninfo = small[1]
    start = _counts(conninfo)

    # dry run: what would go, nothing changes
    dry = _run(small, now=NOW, dry_run=True, root=tmp_path, run_id="dry")
    assert {table: proof.due for table, proof in dry.items()} == {
        "raw.marketing__events": 3,
        "raw.shop__customers": 2,
        "raw.shop__orders": 2,
        "raw_quarantine.shop__orders": 1,
        "governance.quality_run": 0,  # the platform's own tables are targets too (empty here)
    }
    assert all(proof.changed == 0 and proof.skipped == "dry run" for proof in dry.values())
    assert _counts(conninfo) == start

    # a legal hold on the orders; the rest is enforced
    with warehouse.connect(small[0].url) as conn:
        retention.add_hold(
            conn, "raw.shop__orders", NOW + timedelta(days=30), reason="case 42", approved_by="co-officer"
        )
    done = _run(small, now=NOW, dry_run=False, root=tmp_path, run_id="first")
    assert done["raw.shop__orders"].skipped == "legal hold" and done["raw.shop__orders"].changed == 0
    assert (done["raw.marketing__events"].changed, done["raw.marketing__events"].rows_after) == (3, 2)
    assert done["raw.shop__customers"].action == "anonymise" and done["raw.shop__customers"].changed == 2
    assert (done["raw_quarantine.shop__orders"].changed, done["raw_quarantine.shop__orders"].rows_after) == (1, 1)
    after = _counts(conninfo)
    assert after == {"events": 2, "emails": 1, "customers": 3, "orders": 4, "quarantine": 1, "things": 1}
    with psycopg.connect(conninfo) as conn:
        assert conn.execute("SELECT count(*) FROM raw.shop__customers WHERE city = 'Lyon'").fetchone()[0] == 3
        ledger = conn.execute(
            "SELECT action, details FROM governance.audit_entry WHERE subject LIKE 'retention_run:%%' ORDER BY seq"
        ).fetchall()
    assert [action for action, _ in ledger] == ["compliance.retention_dry_run", "compliance.retention_enforced"]
    recorded = {t["table"]: t for t in json.loads(ledger[1][1])["tables"]}
    assert (
        recorded["raw.marketing__events"]["rows_before"] == 5 and recorded["raw.marketing__events"]["rows_after"] == 2
    )
    assert recorded["raw.shop__orders"]["held_until"].startswith("2026-12-31")

    # the hold ended: the old orders are archived to the object store, then purged; a re-run does nothing
    later = NOW + timedelta(days=31)
    again = _run(small, now=later, dry_run=False, root=tmp_path, run_id="second")
    orders = again["raw.shop__orders"]
    assert (orders.action, orders.changed, orders.rows_after) == ("archive", 2, 2)
    archived = Path(orders.archived_to or "").read_text().splitlines()
    assert sorted(json.loads(line)["order_id"] for line in archived) == [1, 2]
    third = _run(small, now=later, dry_run=False, root=tmp_path, run_id="third")
    assert sum(proof.changed for proof in third.values()) == 0
