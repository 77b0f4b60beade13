"""``scrollintel audit ...`` commands and the Audit page's query functions, on a real ledger."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner

from scrollintel import audit
from scrollintel.audit import outbox, query
from scrollintel.audit.cli import audit_group
from scrollintel.audit.proof import check_inclusion_document
from scrollintel.audit.signing import trusted_public_keys
from tests.integration.audit.conftest import bypass_triggers, connect

pytestmark = pytest.mark.integration

T0 = datetime(2026, 11, 1, 9, 0, tzinfo=UTC)


@pytest.fixture
def filled(audit_env: Path, ledger_url: str) -> str:
    events = [
        audit.AuditEvent(
            action="airflow.trigger_dag_run" if i % 3 == 0 else "quality.gate_passed",
            subject=f"dag:platform_health/run:r{i}" if i % 3 == 0 else f"dataset:marts.d{i % 4}",
            details={"i": i},
            actor="admin" if i % 3 == 0 else "dag:quality",
            at=T0 + timedelta(minutes=i),
        )
        for i in range(60)
    ]
    audit.record_many(events, url=ledger_url)
    return ledger_url


def run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(audit_group, list(args))
    return result.exit_code, result.output


def test_verify_anchor_and_the_superuser_update_scenario(filled: str) -> None:
    code, out = run("verify", "--url", filled)
    assert code == 0 and "OK: 60 entries" in out and "NOT anchored" in out
    assert "note: no anchor yet: run `scrollintel audit anchor`" in out
    code, out = run("anchor", "--url", filled)
    assert code == 0 and out.startswith("anchored size 60, root ")
    code, out = run("verify", "--url", filled)
    assert code == 0 and "matches the tree head of size 60" in out
    with connect(filled) as conn:
        bypass_triggers(conn)
        conn.execute("UPDATE governance.audit_entry SET details = '{\"i\":999}' WHERE seq = 17")
        conn.commit()
    code, out = run("verify", "--url", filled)
    assert code == 1
    assert out.startswith("FAILED at index 17 (edited): entry 17 was edited")
    code, out = run("verify", "--url", filled, "--json")
    assert code == 1 and json.loads(out)["index"] == 17
    status = query.ledger_status(filled)
    assert status.latest_verification is not None and not status.latest_verification.ok
    assert status.latest_verification.bad_index == 17


def test_proof_command_prints_a_checkable_document(filled: str, tmp_path: Path) -> None:
    run("anchor", "--url", filled)
    audit.record("late.event", "s:late", url=filled)
    code, out = run("proof", "12", "--url", filled)
    assert code == 0
    document = json.loads(out)
    assert document["tree_size"] == 60 and document["tree_head"]["tree_size"] == 60
    assert check_inclusion_document(document, trusted_public_keys()) == []
    code, out = run("proof", "60", "--url", filled)  # newer than the anchor: proven against the current tree
    assert code == 0 and json.loads(out)["tree_head"] is None and json.loads(out)["tree_size"] == 61
    target = tmp_path / "proof.json"
    code, out = run("proof", "3", "--url", filled, "-o", str(target))
    assert code == 0 and "written to" in out and json.loads(target.read_text())["leaf_index"] == 3
    code, out = run("proof", "500", "--url", filled)
    assert code == 2 and "error: no entry 500: the ledger has 61 entries (0..60)" in out


def test_flush_outbox_and_import_errors(filled: str) -> None:
    audit.record("a.b", "s:queued", url="postgresql+psycopg://x:y@127.0.0.1:9/none")
    code, out = run("flush-outbox", "--url", filled)
    assert (code, out.strip()) == (0, "flushed 1 event(s) from the outbox")
    code, out = run("flush-outbox", "--url", filled)
    assert (code, out.strip()) == (0, "flushed 0 event(s) from the outbox")
    code, out = run("import-airflow-log", "--url", filled)
    assert code == 2 and "error: Airflow REST API URL unknown: set SCROLLINTEL_API_URL" in out
    down = "postgresql+psycopg://x:y@127.0.0.1:9/none"
    audit.record("a.b", "s:queued-again", url=down)
    for command in (["verify"], ["anchor"], ["proof", "1"], ["flush-outbox"]):
        code, out = run(*command, "--url", down)
        assert code == 2 and "error: ledger database unreachable (OperationalError); check --url or `make run`" in out
    assert [e.subject for e in outbox.read_all()] == ["s:queued-again"]


def test_search_filters_paginate_newest_first(filled: str) -> None:
    page = query.search_entries(filled, limit=10)
    assert page.total == 60 and [e.seq for e in page.items] == list(range(59, 49, -1))
    page = query.search_entries(filled, query.EntryFilter(actor="admin"), limit=5, offset=5)
    assert page.total == 20 and all(e.actor == "admin" for e in page.items) and page.items[0].seq == 42
    assert query.search_entries(filled, query.EntryFilter(action="airflow.*")).total == 20
    assert query.search_entries(filled, query.EntryFilter(subject="dataset:marts.d1")).total == 10
    window = query.EntryFilter(since=T0 + timedelta(minutes=10), until=T0 + timedelta(minutes=20))
    assert [e.seq for e in query.search_entries(filled, window).items] == list(range(19, 9, -1))
    assert query.search_entries(filled, query.EntryFilter(subject="dataset:%")).total == 0  # no LIKE injection
    assert query.search_entries(filled, limit=10_000).limit == query.MAX_PAGE
    assert query.distinct_values(filled, "actor") == ["admin", "dag:quality"]


def test_detail_status_and_exports(filled: str) -> None:
    run("anchor", "--url", filled)
    detail = query.entry_detail(filled, 5)
    assert detail is not None and detail.entry.details == {"i": 5}
    assert check_inclusion_document(detail.proof, trusted_public_keys()) == []
    assert query.entry_detail(filled, 999) is None
    status = query.ledger_status(filled)
    assert status.size == 60 and status.latest_anchor is not None and status.latest_anchor.tree_size == 60
    csv_text = "".join(query.export_csv(filled, query.EntryFilter(actor="admin")))
    lines = csv_text.strip().splitlines()
    assert lines[0] == ",".join(query.EXPORT_COLUMNS) and len(lines) == 21
    exported = json.loads("".join(query.export_json(filled)))
    assert [row["seq"] for row in exported] == list(range(60))
    assert exported[0]["details"] == '{"i":0}'
    assert json.loads("".join(query.export_json(filled, query.EntryFilter(actor="nobody")))) == []
