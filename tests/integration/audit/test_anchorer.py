"""The anchorer closes the unanchored tail: within seconds of an append a signed head covers it.

Before it, entries after the newest (hourly) head could be edited and re-hashed, forged at the
last index or cut off by a superuser, and ``verify`` passed. These tests run the anchorer in a
thread against a real PostgreSQL, tamper with the tail as a superuser once it is covered, and
show ``verify`` catching each change; they also check the uncovered count and racing anchorers.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import psycopg
import pytest
from click.testing import CliRunner

from scrollintel import audit
from scrollintel.audit import storage
from scrollintel.audit.anchor import LocalAnchorStore, TreeHead, anchor, anchor_if_grown
from scrollintel.audit.anchorer import Anchorer, AnchorerSettings, max_delay_seconds
from scrollintel.audit.canonical import entry_hash, from_time_us
from scrollintel.audit.cli import audit_group
from scrollintel.audit.signing import load_signing_key, trusted_public_keys
from scrollintel.audit.verify import verify_ledger
from tests.integration.audit.conftest import bypass_triggers, connect

pytestmark = pytest.mark.integration

#: Fast settings for tests; the platform's defaults are in AnchorerSettings.
FAST = AnchorerSettings(settle=0.05, min_interval=0.2, poll=1.0)
#: Slack for a loaded 2-core machine on top of the designed bound.
SLACK_S = 5.0


class Running:
    """An anchorer running in a thread, and its store."""

    def __init__(self, url: str, store: LocalAnchorStore) -> None:
        self.store = store
        self.anchorer = Anchorer(url, store=store, settings=FAST, notify=False)
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self.anchorer.run, args=(self.stop,), daemon=True)

    def wait_covered(self, size: int) -> float:
        """Seconds until the newest head covers ``size`` entries; fails after the bound plus slack."""
        started = time.monotonic()
        deadline = started + max_delay_seconds(FAST) + SLACK_S
        while time.monotonic() < deadline:
            head = self.store.latest()
            if head is not None and head.tree_size >= size:
                return time.monotonic() - started
            time.sleep(0.02)
        raise AssertionError(f"no signed head covers {size} entries after {deadline - started:.1f} s")

    def halt(self) -> None:
        self.stop.set()
        self.thread.join(timeout=10)
        assert not self.thread.is_alive(), "the anchorer did not stop"


@pytest.fixture
def running(ledger_url: str, audit_env: Path) -> Iterator[Running]:
    run = Running(ledger_url, LocalAnchorStore(audit_env / "anchors"))
    run.thread.start()
    yield run
    run.halt()


def _record(url: str, count: int, start: int = 0) -> None:
    receipts = audit.record_many(
        [{"action": "test.event", "subject": f"s:{i}", "details": {"i": i}} for i in range(start, start + count)],
        url=url,
    )
    assert all(r.status == "written" for r in receipts)


def _edit_and_rehash_last(conn: psycopg.Connection, seq: int) -> None:
    """Change the last entry's details and recompute its hash: nothing after it chains to it."""
    row = storage.get_entry(conn, seq)
    assert row is not None
    details = '{"i":"forged"}'
    digest = entry_hash(seq, row.time_us, row.actor, row.action, row.subject, details, row.prev_hash)
    conn.execute(
        f"UPDATE {storage.ENTRY_TABLE} SET details = %s, entry_hash = %s WHERE seq = %s", (details, digest, seq)
    )


def _forge_insert_at_last(conn: psycopg.Connection, seq: int) -> None:
    """Insert a forged entry at ``seq`` and move the real last entry to ``seq + 1``, re-chained and re-hashed."""
    real = storage.get_entry(conn, seq)
    assert real is not None
    forged_hash = entry_hash(seq, real.time_us, "admin", "approval.granted", "model:churn@v9", "{}", real.prev_hash)
    moved_hash = entry_hash(seq + 1, real.time_us, real.actor, real.action, real.subject, real.details, forged_hash)
    conn.execute(f"DELETE FROM {storage.ENTRY_TABLE} WHERE seq = %s", (seq,))
    columns = "seq, recorded_at, actor, action, subject, details, prev_hash, entry_hash"
    insert = f"INSERT INTO {storage.ENTRY_TABLE} ({columns}) VALUES (%s, %s, %s, %s, %s, %s, %s, %s)"
    moment = from_time_us(real.time_us)
    conn.execute(
        insert, (seq, moment, "admin", "approval.granted", "model:churn@v9", "{}", real.prev_hash, forged_hash)
    )
    conn.execute(
        insert, (seq + 1, moment, real.actor, real.action, real.subject, real.details, forged_hash, moved_hash)
    )


def _delete_tail(conn: psycopg.Connection, seq: int) -> None:
    conn.execute(f"DELETE FROM {storage.ENTRY_TABLE} WHERE seq >= %s", (seq,))


@pytest.mark.parametrize(
    ("tamper", "kinds"),
    [
        (_edit_and_rehash_last, {"rewritten"}),
        (_forge_insert_at_last, {"rewritten", "inserted"}),
        (_delete_tail, {"truncated"}),
    ],
    ids=["edit-last", "forged-insert-at-last", "delete-tail"],
)
def test_a_covered_tail_cannot_be_changed_unnoticed(
    running: Running, ledger_url: str, tamper: Any, kinds: set[str]
) -> None:
    # Two appends, each covered by its own head; entry 20 completes no stored Merkle node (those
    # cover 16 leaves), so only a head protects it. verify locates the change after the last
    # head that still matches (16).
    _record(ledger_url, 16)
    running.wait_covered(16)
    _record(ledger_url, 5, start=16)
    running.wait_covered(21)
    running.halt()
    with connect(ledger_url) as conn:
        bypass_triggers(conn)
        tamper(conn, 20)
        conn.commit()

    report = verify_ledger(ledger_url, store=running.store, record_result=False)

    assert not report.ok
    assert report.kind in kinds and report.index is not None and 16 <= report.index <= 20, report.summary()


def test_without_a_head_the_same_edit_passes_verify(ledger_url: str, audit_env: Path) -> None:
    """Why the anchorer exists: the unanchored tail is protected by nothing but the chain."""
    _record(ledger_url, 21)
    with connect(ledger_url) as conn:
        bypass_triggers(conn)
        _edit_and_rehash_last(conn, 20)
        conn.commit()
    report = verify_ledger(ledger_url, store=LocalAnchorStore(audit_env / "none"), record_result=False)
    assert report.ok and report.uncovered == 21


def test_every_append_is_covered_within_the_bound(running: Running, ledger_url: str) -> None:
    delays = []
    for batch in range(5):
        _record(ledger_url, 3, start=batch * 3)
        delays.append(running.wait_covered((batch + 1) * 3))
    assert max(delays) < max_delay_seconds(FAST) + SLACK_S
    # one head per append burst (a few at most): the anchorer signs only when the ledger grew
    assert len(running.store.names()) == 5
    head = running.store.latest()
    assert head is not None and head.verify_signature(trusted_public_keys()) is None


def test_uncovered_entries_are_counted_with_the_oldest_append_time(ledger_url: str, audit_env: Path) -> None:
    store = LocalAnchorStore(audit_env / "anchors")
    _record(ledger_url, 5)
    with connect(ledger_url) as conn:
        oldest = storage.appended_at(conn, 0)
    assert oldest is not None

    before = verify_ledger(ledger_url, store=store, record_result=False)
    assert (before.uncovered, before.uncovered_since) == (5, oldest.isoformat().replace("+00:00", "Z"))
    assert before.coverage().startswith("5 entries not yet covered by a signed tree head, the oldest appended at 20")

    anchor(ledger_url, store=store, notify=False)
    _record(ledger_url, 2, start=5)
    with connect(ledger_url) as conn:
        sixth = storage.appended_at(conn, 5)
    after = verify_ledger(ledger_url, store=store, record_result=False)
    assert after.ok and (after.uncovered, after.anchor_size) == (2, 5)
    assert after.uncovered_since is not None and after.uncovered_since.startswith(sixth.strftime("%Y-%m-%dT%H:%M"))

    anchor(ledger_url, store=store, notify=False)
    covered = verify_ledger(ledger_url, store=store, record_result=False)
    assert (covered.uncovered, covered.uncovered_since) == (0, None)
    assert covered.coverage() == "0 entries not yet covered by a signed tree head"


def test_cli_verify_states_the_uncovered_tail(ledger_url: str, audit_env: Path) -> None:
    _record(ledger_url, 3)
    result = CliRunner().invoke(audit_group, ["verify", "--url", ledger_url])
    assert result.exit_code == 0, result.output
    assert "3 entries not yet covered by a signed tree head, the oldest appended at " in result.output

    once = CliRunner().invoke(audit_group, ["anchorer", "--once", "--no-notify", "--url", ledger_url])
    assert once.exit_code == 0 and "anchored size 3" in once.output
    again = CliRunner().invoke(audit_group, ["anchorer", "--once", "--no-notify", "--url", ledger_url])
    assert again.exit_code == 0 and "nothing new to anchor" in again.output
    result = CliRunner().invoke(audit_group, ["verify", "--url", ledger_url])
    assert "0 entries not yet covered by a signed tree head" in result.output


def test_racing_anchorers_never_fail_nor_store_a_smaller_head_after_a_larger(ledger_url: str, audit_env: Path) -> None:
    store = LocalAnchorStore(audit_env / "anchors")
    key = load_signing_key()
    stop = threading.Event()

    def appender() -> None:
        for i in range(40):
            _record(ledger_url, 1, start=i)
        stop.set()

    def racer(always: bool) -> int:
        signed = 0
        while not stop.is_set():
            if always:
                anchor(ledger_url, store=store, key=key, notify=False)
                signed += 1
            elif anchor_if_grown(ledger_url, store=store, key=key, notify=False) is not None:
                signed += 1
        return signed

    with ThreadPoolExecutor(max_workers=5) as pool:
        racers = [pool.submit(racer, i == 0) for i in range(4)]
        pool.submit(appender).result(timeout=120)
        signed = [r.result(timeout=60) for r in racers]  # any exception of a racer is raised here

    assert sum(signed) > 0
    anchor_if_grown(ledger_url, store=store, key=key, notify=False)
    heads = [TreeHead.from_document((store.root / name).read_bytes(), name) for name in store.names()]
    sizes = [h.tree_size for h in heads]
    assert sizes == sorted(sizes), "a head sorted after a larger one"
    assert sizes[-1] == 40
    trusted = trusted_public_keys(key)
    assert all(h.verify_signature(trusted) is None for h in heads)
    report = verify_ledger(ledger_url, store=store, record_result=False)
    assert report.ok and report.anchored and report.uncovered == 0


def test_anchorer_refuses_to_cover_a_truncated_ledger_and_keeps_running(
    running: Running, ledger_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    _record(ledger_url, 4)
    running.wait_covered(4)
    heads = len(running.store.names())
    with connect(ledger_url) as conn:
        bypass_triggers(conn)
        _delete_tail(conn, 2)
        conn.commit()
    _record(ledger_url, 1, start=100)  # notifies; the anchorer must not paper over the cut
    time.sleep(max_delay_seconds(FAST))
    assert len(running.store.names()) == heads
    assert running.thread.is_alive()
    assert any("truncated" in r.getMessage() for r in caplog.records)
