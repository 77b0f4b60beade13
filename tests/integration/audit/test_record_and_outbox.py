"""record(): written to PostgreSQL, or kept in the outbox while the database is down, and flushed in order.

Also the canary test: a personal-data value passed in an event never reaches the ledger, the
outbox, the anchors or the logs.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import pytest

from scrollintel import audit
from scrollintel.audit import outbox, settings, storage, writer
from scrollintel.audit.anchor import anchor
from scrollintel.audit.verify import verify_ledger
from tests.integration.audit.conftest import connect

pytestmark = pytest.mark.integration

#: A port nothing listens on: connecting is refused at once.
DOWN_URL = "postgresql+psycopg://nobody:nothing@127.0.0.1:9/warehouse"


def ledger_rows(url: str) -> list[tuple[Any, ...]]:
    with connect(url) as conn:
        return conn.execute("SELECT seq, action, subject, details FROM governance.audit_entry ORDER BY seq").fetchall()


def test_record_writes_and_is_idempotent_with_a_key(audit_env: Path, ledger_url: str) -> None:
    settings.configure(database_url=ledger_url)
    first = audit.record("retention.deleted", "dataset:raw.shop__orders", {"rows": 120}, key="retention:2026-11-22")
    again = audit.record("retention.deleted", "dataset:raw.shop__orders", {"rows": 120}, key="retention:2026-11-22")
    assert (first.status, first.seq) == ("written", 0)
    assert (again.status, again.seq) == ("duplicate", 0)
    many = audit.record_many(
        [audit.AuditEvent("quality.gate_passed", f"dataset:d{i}", {"checks": i}) for i in range(5)], actor="dag:quality"
    )
    assert [r.seq for r in many] == [1, 2, 3, 4, 5]
    assert len(ledger_rows(ledger_url)) == 6
    assert verify_ledger(ledger_url, use_anchors=False).ok


def test_database_down_queues_without_raising_and_the_next_write_flushes_in_order(
    audit_env: Path, ledger_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, logger="scrollintel.audit"):
        queued = [audit.record("config.changed", f"policy:p{i}", {"version": i}, url=DOWN_URL) for i in range(3)]
    assert [r.status for r in queued] == ["queued"] * 3
    assert [e.subject for e in outbox.read_all()] == ["policy:p0", "policy:p1", "policy:p2"]
    assert "audit ledger unavailable (OperationalError): 1 event(s) (config.changed) kept in the outbox" in caplog.text
    assert "nobody" not in caplog.text and "nothing" not in caplog.text  # no credentials in logs

    written = audit.record("config.changed", "policy:p3", {"version": 3}, url=ledger_url)
    assert (written.status, written.seq) == ("written", 3)
    assert not outbox.pending()
    assert [(seq, subject) for seq, _, subject, _ in ledger_rows(ledger_url)] == [
        (0, "policy:p0"),
        (1, "policy:p1"),
        (2, "policy:p2"),
        (3, "policy:p3"),
    ]
    assert verify_ledger(ledger_url, use_anchors=False).ok


def test_a_ledger_that_is_not_migrated_also_queues(audit_env: Path, pg_server: Any) -> None:
    empty = pg_server.create_database()
    receipt = audit.record("a.b", "s:1", url=empty)
    assert receipt.queued and outbox.pending()


def test_flush_after_a_crash_between_commit_and_truncate_adds_nothing_twice(audit_env: Path, ledger_url: str) -> None:
    audit.record_many([{"action": "a.b", "subject": f"s:{i}"} for i in range(4)], url=DOWN_URL)
    queued = outbox.read_all()
    with storage.connection(ledger_url) as conn, conn.transaction():
        storage.append_entries(conn, queued[:2])  # committed, then the process died
    assert audit.flush_outbox(ledger_url) == 2
    assert [subject for _, _, subject, _ in ledger_rows(ledger_url)] == ["s:0", "s:1", "s:2", "s:3"]
    assert audit.flush_outbox(ledger_url) == 0


def test_flush_keeps_the_outbox_when_the_database_is_still_down(audit_env: Path) -> None:
    import psycopg

    audit.record("a.b", "s:1", url=DOWN_URL)
    with pytest.raises(psycopg.OperationalError):
        writer.flush_outbox(DOWN_URL)
    assert len(outbox.read_all()) == 1


def test_concurrent_appenders_never_fork_the_chain(audit_env: Path, ledger_url: str) -> None:
    from concurrent.futures import ThreadPoolExecutor

    def work(worker: int) -> None:
        for batch in range(5):
            audit.record_many(
                [{"action": "load.batch", "subject": f"w{worker}:b{batch}:{i}"} for i in range(20)], url=ledger_url
            )
            audit.record("load.done", f"w{worker}:b{batch}", url=ledger_url)

    with ThreadPoolExecutor(max_workers=4) as pool:
        list(pool.map(work, range(4)))
    report = verify_ledger(ledger_url, use_anchors=False)
    assert report.ok and report.size == 4 * 5 * 21


def test_a_canary_personal_value_never_appears_anywhere(
    audit_env: Path, ledger_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    canary_email = "canary-5d1e@example.org"
    canary_phone = "+44 20 7946 0123"
    with caplog.at_level(logging.DEBUG):
        audit.record(
            "erasure.requested",
            f"customer {canary_email}",
            {"customer_id": 77, "email": canary_email, "comment": f"call {canary_phone}"},
            actor=canary_email,
            url=ledger_url,
        )
        audit.record_many(
            [{"action": "export.sent", "subject": "report:r1", "details": {"to": [canary_email]}}], url=DOWN_URL
        )
        audit.record("export.checked", "report:r1", {"contact": {"phone": canary_phone}}, url=ledger_url)
        anchor(ledger_url, notify=False)
        verify_ledger(ledger_url)
    dumps: list[str] = []
    with connect(ledger_url) as conn:
        for table in ("audit_entry", "audit_tree_node", "audit_anchor", "audit_verification", "audit_import_cursor"):
            dumps.extend(str(row) for row in conn.execute(f"SELECT t::text FROM governance.{table} t"))
    dumps.extend(p.read_text(errors="replace") for p in audit_env.rglob("*") if p.is_file() and p.suffix != ".pem")
    everything = "\n".join([*dumps, caplog.text])
    assert len(dumps) > 5
    for canary in (canary_email, canary_phone, "canary-5d1e"):
        assert canary not in everything
    details = [d for *_, d in ledger_rows(ledger_url)]
    assert any('"_redacted"' in d for d in details)
