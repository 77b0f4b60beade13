"""Event validation (errors a caller can hit) and the durable outbox file, without a database."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest

from scrollintel.audit import outbox
from scrollintel.audit.errors import AuditInputError
from scrollintel.audit.ledger_events import AuditEvent
from scrollintel.audit.storage import NewEntry
from scrollintel.audit.writer import default_actor, prepare

pytestmark = pytest.mark.unit


@pytest.fixture(autouse=True)
def state(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("SCROLLINTEL_HOME", str(tmp_path))
    monkeypatch.delenv("AIRFLOW_CTX_DAG_ID", raising=False)
    return tmp_path


def test_importing_the_package_is_cheap() -> None:
    code = (
        "import sys, scrollintel.audit as a; "
        "heavy = [m for m in ('psycopg', 'sqlalchemy', 'airflow', 'cryptography', 'boto3') if m in sys.modules]; "
        "print(heavy)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_prepare_canonicalises_and_defaults() -> None:
    moment = datetime(2026, 11, 22, 10, 0, tzinfo=UTC)
    entry = prepare(AuditEvent("quality.gate_failed", "dataset:marts.orders", {"b": 1, "a": [2]}, at=moment))
    assert entry.details == '{"a":[2],"b":1}'
    assert entry.actor == "scrollintel"
    assert entry.time_us == 1_795_341_600_000_000
    assert entry.event_key and entry.event_key.startswith("auto:")
    assert prepare(AuditEvent("a.b", "s", key="run-1")).event_key == "run-1"


def test_actor_defaults_to_the_dag_inside_a_task(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AIRFLOW_CTX_DAG_ID", "retention_enforce")
    assert default_actor() == "dag:retention_enforce"
    assert prepare(AuditEvent("a.b", "s")).actor == "dag:retention_enforce"
    assert prepare(AuditEvent("a.b", "s", actor="co-officer")).actor == "co-officer"


@pytest.mark.parametrize(
    ("event", "message"),
    [
        (AuditEvent("", "s"), "action must be a non-empty string"),
        (AuditEvent("drop table;", "s"), "action 'drop table;': use letters, digits"),
        (AuditEvent("a.b", ""), "subject must be a non-empty string"),
        (AuditEvent("a.b", "x" * 501), "subject is 501 characters; at most 500"),
        (AuditEvent("a.b", "line\nbreak"), "subject must not contain control characters"),
        (AuditEvent("a.b", "s", details=[1, 2]), "details must be a JSON object \\(dict\\), got list"),  # type: ignore[arg-type]
        (AuditEvent("a.b", "s", {"when": datetime(2026, 1, 1, tzinfo=UTC)}), "details.when: datetime is not a JSON"),
        (AuditEvent("a.b", "s", {"blob": "x" * 70_000}), "details of 'a.b' are 70011 bytes; at most 65536"),
        (AuditEvent("a.b", "s", key="auto:123"), "key must not start with 'auto:'"),
        (AuditEvent("a.b", "s", at=datetime(2026, 1, 1)), "time must be timezone-aware"),
    ],
)
def test_invalid_events_raise_with_the_field(event: AuditEvent, message: str) -> None:
    with pytest.raises(AuditInputError, match=message):
        prepare(event)


def test_record_many_refuses_unknown_fields() -> None:
    from scrollintel.audit.writer import record_many

    with pytest.raises(AuditInputError, match="unknown event field\\(s\\) who; use action, subject"):
        record_many([{"action": "a.b", "subject": "s", "who": "x"}])
    with pytest.raises(AuditInputError, match="an event must be an AuditEvent or a dict, got str"):
        record_many(["a.b"])  # type: ignore[list-item]


def test_personal_data_is_removed_before_anything_is_kept(caplog: pytest.LogCaptureFixture) -> None:
    canary = "canary.7f3a@example.org"
    with caplog.at_level(logging.WARNING):
        entry = prepare(AuditEvent("a.b", f"customer {canary}", {"note": f"from {canary}"}, actor=canary))
    assert canary not in repr(entry)
    assert canary not in caplog.text
    assert entry.subject == "[redacted:email]" and entry.actor == "[redacted:email]"
    assert json.loads(entry.details)["_redacted"] == ["actor", "details.note", "subject"]
    assert "personal data removed from audit event a.b at actor, details.note, subject" in caplog.text


# -- outbox ----------------------------------------------------------------------------------


def _entry(n: int, key: str | None = None) -> NewEntry:
    return NewEntry(1_000_000 + n, "svc", "a.b", f"s:{n}", f'{{"n":{n}}}', key or f"k-{n}")


def test_outbox_keeps_order_survives_reopen_and_is_private(state: Path) -> None:
    assert not outbox.pending()
    outbox.enqueue([_entry(1), _entry(2)])
    outbox.enqueue([_entry(3)])
    assert outbox.pending()
    assert [e.subject for e in outbox.read_all()] == ["s:1", "s:2", "s:3"]
    path = state / "audit-outbox" / "outbox.jsonl"
    assert oct(path.stat().st_mode & 0o777) == "0o600"
    assert all(json.loads(line)["v"] == 1 for line in path.read_text().splitlines())


def test_draining_empties_only_when_the_block_succeeds() -> None:
    outbox.enqueue([_entry(1), _entry(2)])
    with pytest.raises(RuntimeError), outbox.draining() as queued:
        assert len(queued) == 2
        raise RuntimeError("database went away")
    assert len(outbox.read_all()) == 2
    with outbox.draining() as queued:
        assert [e.event_key for e in queued] == ["k-1", "k-2"]
    assert not outbox.pending()
    with outbox.draining() as queued:
        assert queued == []


def test_a_torn_line_is_quarantined_not_dropped(state: Path, caplog: pytest.LogCaptureFixture) -> None:
    outbox.enqueue([_entry(1)])
    with open(state / "audit-outbox" / "outbox.jsonl", "a", encoding="utf-8") as handle:
        handle.write('{"v":1,"key":"k-2","time_us":')  # a crash mid-write
    with caplog.at_level(logging.WARNING), outbox.draining() as queued:
        assert [e.event_key for e in queued] == ["k-1"]
    rejected = list((state / "audit-outbox").glob("rejected-*.jsonl"))
    assert len(rejected) == 1
    assert rejected[0].read_text().startswith('{"v":1,"key":"k-2"')
    assert "1 unreadable audit outbox line(s) moved to" in caplog.text
    assert not outbox.pending()


def test_outbox_writes_are_fsynced(monkeypatch: pytest.MonkeyPatch) -> None:
    synced: list[int] = []
    real = os.fsync
    monkeypatch.setattr(os, "fsync", lambda fd: (synced.append(fd), real(fd))[1])
    outbox.enqueue([_entry(1)])
    assert synced
