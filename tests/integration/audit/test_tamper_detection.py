"""Tampering with a 100,000-entry ledger is detected at the exact index, with the right kind.

The ledger is built once for the module in PostgreSQL. Per kind (edit, delete, insert, swap)
20 random positions are tried on copies of the rows read from the database (fast), and a few
positions by real SQL run as a superuser with the append-only triggers switched off, inside a
transaction that is rolled back. Truncation and a full rewrite are shown to pass unnoticed
without an anchor and to be caught with one: that is why anchors exist.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psycopg
import pytest

from scrollintel.audit import storage
from scrollintel.audit.anchor import LocalAnchorStore, anchor
from scrollintel.audit.canonical import GENESIS_HASH, entry_hash, from_time_us, to_time_us
from scrollintel.audit.signing import load_signing_key, trusted_public_keys
from scrollintel.audit.storage import NewEntry
from scrollintel.audit.verify import verify_connection, verify_rows
from tests.integration.audit.conftest import TEST_KEY, bypass_triggers, connect
from tests.unit.audit import ledger_helpers as lh

pytestmark = pytest.mark.integration

N = 100_000
TRIALS = 20
SEED = 1122


class Ledger:
    """The module's ledger: its URL, the rows and nodes as stored, and its anchor store."""

    def __init__(self, url: str, store: LocalAnchorStore) -> None:
        self.url = url
        self.store = store
        with connect(url) as conn:
            self.rows: list[lh.Row] = [tuple(r) for r in storage.iter_rows(conn)]  # type: ignore[misc]
            self.nodes = storage.all_stored_nodes(conn)


@pytest.fixture(scope="module")
def ledger(pg_server: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Ledger]:
    from scrollintel import migrate

    monkey = pytest.MonkeyPatch()
    monkey.setenv("SCROLLINTEL_AUDIT_SIGNING_KEY", TEST_KEY)
    url = pg_server.create_database()
    migrate.upgrade(url)
    base = to_time_us(datetime(2026, 11, 1, tzinfo=UTC))
    entries = [
        NewEntry(base + i * 1000, f"svc{i % 7}", "test.event", f"dataset:d{i % 97}", f'{{"i":{i},"ok":true}}')
        for i in range(N)
    ]
    with storage.connection(url) as conn:
        for start in range(0, N, 10_000):
            with conn.transaction():
                storage.append_entries(conn, entries[start : start + 10_000])
    store = LocalAnchorStore(tmp_path_factory.mktemp("anchors"))
    anchor(url, store=store, notify=False)
    yield Ledger(url, store)
    storage.dispose_engines()
    monkey.undo()


def positions(kind: str, upper: int) -> list[int]:
    rng = random.Random(f"{SEED}-{kind}")
    return [rng.randrange(upper) for _ in range(TRIALS)]


def test_the_built_ledger_verifies(ledger: Ledger) -> None:
    report = verify_rows(ledger.rows, nodes=ledger.nodes)
    assert report.ok and report.size == N
    assert report.nodes_checked == len(ledger.nodes) > N // 16


@pytest.mark.parametrize(
    ("kind", "mutate", "expected"),
    [
        ("edit", lh.edit, "edited"),
        ("edit-rehash", lh.edit_and_rehash, "edited"),
        ("delete", lh.delete, "deleted"),
        ("delete-renumber", lambda rows, i: lh.delete(rows, i, renumbered=True), "deleted"),
        ("insert", lh.insert, "inserted"),
        ("insert-bad-link", lambda rows, i: lh.insert(rows, i, valid_link=False), "inserted"),
        ("swap", lh.swap, "reordered"),
    ],
)
def test_20_random_trials_each_are_detected_at_the_exact_index(
    ledger: Ledger, kind: str, mutate: Any, expected: str
) -> None:
    upper = N - 1  # the last entry has no successor: changing it is a truncation/rewrite (anchor tests)
    for i in positions(kind, upper):
        report = verify_rows(mutate(ledger.rows, i), nodes=ledger.nodes)
        assert (report.ok, report.kind, report.index) == (False, expected, i), (kind, i, report.message)


# -- the same through SQL, as a superuser -----------------------------------------------------


@pytest.fixture
def superuser(ledger: Ledger) -> Iterator[psycopg.Connection]:
    """A superuser session with triggers off, inside a transaction that is rolled back."""
    with connect(ledger.url) as conn:
        bypass_triggers(conn)
        yield conn
        conn.rollback()


def sql_verify(conn: psycopg.Connection, ledger: Ledger, *, anchored: bool = False) -> Any:
    if not anchored:
        return verify_connection(conn, use_anchors=False)
    return verify_connection(conn, store=ledger.store, trusted=trusted_public_keys(load_signing_key()))


def _rolled_back(ledger: Ledger, mutate: Any) -> Any:
    with connect(ledger.url) as conn:
        bypass_triggers(conn)
        mutate(conn)
        report = sql_verify(conn, ledger)
        conn.rollback()
    return report


@pytest.mark.parametrize("i", positions("sql", N - 1)[:3])
def test_sql_edit_delete_swap_are_detected(ledger: Ledger, i: int) -> None:
    table = storage.ENTRY_TABLE
    edit = _rolled_back(ledger, lambda c: c.execute(f"UPDATE {table} SET details = '{{}}' WHERE seq = %s", (i,)))
    assert (edit.kind, edit.index) == ("edited", i)
    delete = _rolled_back(ledger, lambda c: c.execute(f"DELETE FROM {table} WHERE seq = %s", (i,)))
    assert (delete.kind, delete.index) == ("deleted", i)
    swap_sql = (
        f"UPDATE {table} a SET recorded_at = b.recorded_at, actor = b.actor, action = b.action, subject = b.subject, "
        f"details = b.details, prev_hash = b.prev_hash, entry_hash = b.entry_hash FROM {table} b "
        "WHERE (a.seq = %(i)s AND b.seq = %(i)s + 1) OR (a.seq = %(i)s + 1 AND b.seq = %(i)s)"
    )
    swap = _rolled_back(ledger, lambda c: c.execute(swap_sql, {"i": i}))
    assert (swap.kind, swap.index) == ("reordered", i)


def test_sql_insert_with_renumbering_is_detected(ledger: Ledger) -> None:
    i = positions("sql-insert", N - 1)[0]
    table = storage.ENTRY_TABLE

    def insert(conn: psycopg.Connection) -> None:
        # shift past the end first so the primary key never collides, then back to seq + 1
        conn.execute(f"UPDATE {table} SET seq = seq + %s WHERE seq >= %s", (N + 1, i))
        conn.execute(f"UPDATE {table} SET seq = seq - %s WHERE seq > %s", (N, N))
        prev = ledger.rows[i - 1][7] if i else GENESIS_HASH
        time_us = ledger.rows[i][1]
        digest = entry_hash(i, time_us, "intruder", "forged.event", "dataset:x", "{}", prev)
        conn.execute(
            f"INSERT INTO {table} (seq, recorded_at, actor, action, subject, details, prev_hash, entry_hash) "
            "VALUES (%s, to_timestamp(%s / 1e6), 'intruder', 'forged.event', 'dataset:x', '{}', %s, %s)",
            (i, time_us, prev, digest),
        )

    report = _rolled_back(ledger, insert)
    assert (report.kind, report.index) == ("inserted", i), report.message


def test_a_committed_superuser_update_fails_verify_with_the_index(ledger: Ledger) -> None:
    """The issue's scenario, end to end through the database: UPDATE ... then verify."""
    i = 31_337
    with connect(ledger.url) as conn:
        bypass_triggers(conn)
        conn.execute(f"UPDATE {storage.ENTRY_TABLE} SET actor = 'someone-else' WHERE seq = %s", (i,))
        report = sql_verify(conn, ledger, anchored=True)
        conn.rollback()
    assert not report.ok
    assert report.summary().startswith(f"FAILED at index {i} (edited)")


# -- truncation and rewrite: only an anchor sees them ------------------------------------------


def _truncate(conn: psycopg.Connection, keep: int) -> None:
    conn.execute(f"DELETE FROM {storage.ENTRY_TABLE} WHERE seq >= %s", (keep,))
    conn.execute(f"DELETE FROM {storage.NODE_TABLE} WHERE (idx + 1) * (1::bigint << level) > %s", (keep,))
    conn.execute("DELETE FROM governance.audit_anchor")  # the careful attacker removes the index too


def test_truncation_passes_without_an_anchor_and_is_caught_with_one(
    superuser: psycopg.Connection, ledger: Ledger
) -> None:
    _truncate(superuser, 90_000)
    without = sql_verify(superuser, ledger)
    assert without.ok and without.size == 90_000 and not without.anchored
    with_anchor = sql_verify(superuser, ledger, anchored=True)
    assert (with_anchor.kind, with_anchor.index) == ("truncated", 90_000)
    assert f"but {N} were anchored" in with_anchor.message


def test_full_rewrite_passes_without_an_anchor_and_is_caught_with_one(
    superuser: psycopg.Connection, ledger: Ledger
) -> None:
    superuser.execute(f"TRUNCATE {storage.ENTRY_TABLE}, {storage.NODE_TABLE}, governance.audit_anchor")
    forged = [NewEntry(r[1], r[2], r[3], r[4], r[5].replace("true", "false")) for r in ledger.rows]
    for start in range(0, N, 20_000):
        storage.append_entries(superuser, forged[start : start + 20_000])
    without = sql_verify(superuser, ledger)
    assert without.ok and without.size == N
    with_anchor = sql_verify(superuser, ledger, anchored=True)
    assert (with_anchor.kind, with_anchor.index) == ("rewritten", 0)


def test_anchor_refuses_to_paper_over_a_truncation(ledger: Ledger, tmp_path: Path) -> None:
    from scrollintel.audit.errors import AnchorError

    with connect(ledger.url) as conn:
        bypass_triggers(conn)
        _truncate(conn, 50_000)
        conn.commit()
    try:
        with pytest.raises(AnchorError, match=f"ledger has 50000 entries but was anchored at {N}"):
            anchor(ledger.url, store=ledger.store, notify=False)
    finally:
        # restore the module's ledger for any later test
        with connect(ledger.url) as conn:
            bypass_triggers(conn)
            with (
                conn.cursor() as cur,
                cur.copy(
                    f"COPY {storage.ENTRY_TABLE} "
                    "(seq, recorded_at, actor, action, subject, details, prev_hash, entry_hash) FROM STDIN"
                ) as copy,
            ):
                for row in ledger.rows[50_000:]:
                    copy.write_row((row[0], from_time_us(row[1]), *row[2:]))
            with conn.cursor() as cur, cur.copy(f"COPY {storage.NODE_TABLE} (level, idx, hash) FROM STDIN") as copy:
                for (level, idx), digest in ledger.nodes.items():
                    if (idx + 1) << level > 50_000:
                        copy.write_row((level, idx, digest))
            conn.commit()
    with connect(ledger.url) as conn:
        assert verify_connection(conn, use_anchors=False).ok
