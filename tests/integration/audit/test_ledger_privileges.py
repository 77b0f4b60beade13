"""Least privilege on the ledger: only the writer functions write it, and no platform login owns it.

The database is set up the way ``make run`` provisions the embedded server: a login role that
owns the warehouse and runs the migrations, a runtime login role, and the NOLOGIN ledger owner
the migrating role may ``SET ROLE`` into without inheriting it. Each attack of issue 14 is tried
as the role that would try it.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psycopg
import pytest
from sqlalchemy.engine import make_url

from scrollintel import audit, db, migrate
from scrollintel.audit import merkle, storage
from scrollintel.audit.anchor import LocalAnchorStore, anchor
from scrollintel.audit.canonical import GENESIS_HASH, entry_hash, from_time_us, to_time_us
from scrollintel.audit.query import ledger_status
from scrollintel.audit.verify import verify_ledger
from scrollintel.platform.provision import ensure_ledger_owner
from tests.integration.audit.conftest import bypass_triggers, connect

pytestmark = pytest.mark.integration

LEDGER_TABLES = ("audit_entry", "audit_tree_node", "audit_anchor", "audit_verification")
FORGED_ROWS = {
    "audit_verification": (
        "INSERT INTO governance.audit_verification (ok, tree_size, message, duration_ms) VALUES (true, 1, 'ok', 1)"
    ),
    "audit_anchor": (
        "INSERT INTO governance.audit_anchor (tree_size, root_hash, signed_at, key_id, document, location) "
        "VALUES (1, '\\x00', now(), 'k', '{}', 'x')"
    ),
    "audit_tree_node": "INSERT INTO governance.audit_tree_node (level, idx, hash) VALUES (4, 99, '\\x00')",
    "audit_entry": (
        "INSERT INTO governance.audit_entry (seq, recorded_at, actor, action, subject, details, prev_hash, entry_hash) "
        "VALUES (999, now(), 'a', 'b', 'c', '{}', '\\x00', '\\x00')"
    ),
}


@dataclass(frozen=True)
class Platform:
    """URLs of one database set up like the embedded platform's warehouse."""

    admin: str
    owner: str
    runtime: str
    owner_role: str
    runtime_role: str


def _role_url(url: str, role: str, password: str) -> str:
    return make_url(url).set(username=role, password=password).render_as_string(hide_password=False)


@pytest.fixture
def platform(pg_server: Any, audit_env: Path) -> Iterator[Platform]:
    """A warehouse owned by a login role that migrated it, with a separate runtime role."""
    suffix = secrets.token_hex(3)
    owner_role, runtime_role = f"wh_owner_{suffix}", f"wh_rt_{suffix}"
    owner_pw, runtime_pw = secrets.token_urlsafe(12), secrets.token_urlsafe(12)
    name = f"ledger_priv_{suffix}"
    with connect(pg_server.url("postgres"), autocommit=True) as conn:
        conn.execute(f"CREATE ROLE \"{owner_role}\" LOGIN PASSWORD '{owner_pw}'")
        conn.execute(f"CREATE ROLE \"{runtime_role}\" LOGIN PASSWORD '{runtime_pw}'")
        conn.execute(f'CREATE DATABASE "{name}" OWNER "{owner_role}"')
        conn.execute(f'REVOKE ALL ON DATABASE "{name}" FROM PUBLIC')
        conn.execute(f'GRANT CONNECT, TEMPORARY ON DATABASE "{name}" TO "{runtime_role}"')
        ensure_ledger_owner(conn, owner_role)
    pg_server.created.append(name)
    admin = pg_server.url(name)
    setup = Platform(
        admin=admin,
        owner=_role_url(admin, owner_role, owner_pw),
        runtime=_role_url(admin, runtime_role, runtime_pw),
        owner_role=owner_role,
        runtime_role=runtime_role,
    )
    migrate.upgrade(setup.owner, runtime_role=runtime_role)
    yield setup
    storage.dispose_engines()
    with connect(pg_server.url("postgres"), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        for role in (owner_role, runtime_role):
            conn.execute(f'DROP ROLE IF EXISTS "{role}"')


def _record(url: str, count: int) -> None:
    receipts = audit.record_many(
        [{"action": "test.event", "subject": f"s:{i}", "details": {"i": i}} for i in range(count)], url=url
    )
    assert [r.status for r in receipts] == ["written"] * count


def test_tables_are_owned_by_a_nologin_role(platform: Platform) -> None:
    with connect(platform.admin) as conn:
        owners = dict(
            conn.execute(
                "SELECT tablename, tableowner FROM pg_tables WHERE schemaname = 'governance' AND tablename = ANY(%s)",
                (list(LEDGER_TABLES),),
            ).fetchall()
        )
        login = conn.execute("SELECT rolcanlogin FROM pg_roles WHERE rolname = %s", (db.LEDGER_OWNER_ROLE,)).fetchone()
    assert owners == dict.fromkeys(LEDGER_TABLES, db.LEDGER_OWNER_ROLE)
    assert login == (False,)


@pytest.mark.parametrize("table", LEDGER_TABLES)
def test_runtime_role_cannot_insert_into_ledger_tables(platform: Platform, table: str) -> None:
    refused = pytest.raises(psycopg.errors.InsufficientPrivilege, match=f"permission denied for table {table}")
    with connect(platform.runtime, autocommit=True) as conn, refused:
        conn.execute(FORGED_ROWS[table])


@pytest.mark.parametrize("who", ["runtime", "owner"])
def test_runtime_and_owner_login_roles_cannot_disable_the_triggers(platform: Platform, who: str) -> None:
    with connect(getattr(platform, who), autocommit=True) as conn:
        for table in LEDGER_TABLES:
            with pytest.raises(psycopg.errors.InsufficientPrivilege, match=f"must be owner of table {table}"):
                conn.execute(f"ALTER TABLE governance.{table} DISABLE TRIGGER ALL")
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute("SET session_replication_role = replica")


def test_writer_functions_are_not_executable_by_public(platform: Platform, pg_server: Any) -> None:
    stranger, password = f"stranger_{secrets.token_hex(3)}", secrets.token_urlsafe(12)
    with connect(pg_server.url("postgres"), autocommit=True) as conn:
        conn.execute(f"CREATE ROLE \"{stranger}\" LOGIN PASSWORD '{password}'")
        conn.execute(f'GRANT CONNECT ON DATABASE "{make_url(platform.admin).database}" TO "{stranger}"')
    with connect(platform.admin, autocommit=True) as conn:
        conn.execute(f'GRANT USAGE ON SCHEMA governance TO "{stranger}"')
    try:
        with connect(_role_url(platform.admin, stranger, password), autocommit=True) as conn:
            for call in (
                "SELECT governance.audit_append('{}', '{}', '{}', '{}', '{}', '{}', '{}', '{}', '{}')",
                "SELECT governance.audit_add_anchor('{}', 'x')",
            ):
                with pytest.raises(psycopg.errors.InsufficientPrivilege, match="permission denied for function"):
                    conn.execute(call)
        with connect(platform.admin) as conn:
            configs = conn.execute(
                "SELECT proname, prosecdef, proconfig FROM pg_proc WHERE proname LIKE 'audit\\_%%' "
                "AND pronamespace = 'governance'::regnamespace AND prosecdef"
            ).fetchall()
        assert {name for name, _, _ in configs} == {"audit_append", "audit_add_anchor", "audit_add_verification"}
        assert all(config == ["search_path=pg_catalog, pg_temp"] for _, _, config in configs)
    finally:
        with connect(pg_server.url("postgres"), autocommit=True) as conn:
            conn.execute(f'REVOKE ALL ON DATABASE "{make_url(platform.admin).database}" FROM "{stranger}"')
        with connect(platform.admin, autocommit=True) as conn:
            conn.execute(f'REVOKE ALL ON SCHEMA governance FROM "{stranger}"')
        with connect(pg_server.url("postgres"), autocommit=True) as conn:
            conn.execute(f'DROP ROLE "{stranger}"')


def test_appends_anchoring_and_verification_work_through_the_writer_path(platform: Platform, audit_env: Path) -> None:
    store = LocalAnchorStore(audit_env / "anchors")
    _record(platform.runtime, 40)
    anchor(platform.runtime, store=store, notify=False)
    _record(platform.runtime, 3)
    report = verify_ledger(platform.runtime, store=store)
    assert report.ok and report.size == 43 and report.anchor_size == 40 and report.uncovered == 3

    status = ledger_status(platform.runtime)
    assert status.latest_verification is not None and status.latest_verification.ok
    assert status.latest_verification.tree_size == 43
    assert status.latest_anchor is not None and status.latest_anchor.tree_size == 40
    with connect(platform.admin) as conn:
        nodes = conn.execute("SELECT level, idx FROM governance.audit_tree_node ORDER BY level, idx").fetchall()
        signed = conn.execute("SELECT count(*) FROM governance.audit_verification WHERE signature IS NOT NULL")
        assert signed.fetchone() == (1,)
    assert nodes == [(4, 0), (4, 1), (5, 0)]


def test_the_writer_function_refuses_a_batch_that_does_not_extend_the_ledger(platform: Platform) -> None:
    _record(platform.runtime, 2)
    with connect(platform.runtime) as conn:
        last = storage.get_entry(conn, 1)
    assert last is not None
    moment = datetime(2026, 12, 1, tzinfo=UTC)
    good = entry_hash(2, to_time_us(moment), "a", "b", "c", "{}", last.entry_hash)
    cases = {
        "wrong seq": (5, last.entry_hash, entry_hash(5, to_time_us(moment), "a", "b", "c", "{}", last.entry_hash)),
        "prev_hash is not the previous entry_hash": (2, GENESIS_HASH, good),
        "entry_hash is not the hash of its fields": (2, last.entry_hash, bytes(32)),
    }
    for reason, (seq, prev, digest) in cases.items():
        refused = pytest.raises(psycopg.errors.IntegrityConstraintViolation, match=reason)
        with connect(platform.runtime) as conn, refused:
            conn.execute(storage.APPEND_SQL, ([seq], [moment], ["a"], ["b"], ["c"], ["{}"], [prev], [digest], [None]))
    with connect(platform.runtime) as conn:
        assert storage.ledger_size(conn) == 2


def test_a_forged_ok_verification_row_does_not_make_the_status_verified(platform: Platform, audit_env: Path) -> None:
    _record(platform.runtime, 20)
    assert verify_ledger(platform.runtime, use_anchors=False).ok
    with connect(platform.admin) as conn:
        bypass_triggers(conn)
        conn.execute("UPDATE governance.audit_entry SET details = '{\"i\":999}' WHERE seq = 7")
        conn.commit()
    failed = verify_ledger(platform.runtime, use_anchors=False)
    assert (failed.ok, failed.index, failed.kind) == (False, 7, "edited")
    with connect(platform.admin) as conn:
        # an unsigned "ok", and a copy of the genuine earlier "ok" result re-inserted as the newest row
        conn.execute(
            "INSERT INTO governance.audit_verification (verified_at, ok, tree_size, message, duration_ms) "
            "VALUES (now() + interval '1 hour', true, 20, 'OK', 1)"
        )
        conn.execute(
            "INSERT INTO governance.audit_verification "
            "(verified_at, ok, tree_size, message, duration_ms, key_id, document, signature) "
            "SELECT now() + interval '2 hours', ok, tree_size, message, duration_ms, key_id, document, signature "
            "FROM governance.audit_verification WHERE ok AND signature IS NOT NULL ORDER BY id LIMIT 1"
        )
        conn.commit()

    status = ledger_status(platform.runtime)

    assert status.latest_verification is not None
    assert (status.latest_verification.ok, status.latest_verification.bad_index) == (False, 7)
    assert status.ignored_verifications == 1


def test_a_bogus_anchor_row_no_longer_fails_every_verification(platform: Platform, audit_env: Path) -> None:
    store = LocalAnchorStore(audit_env / "anchors")
    _record(platform.runtime, 5)
    anchor(platform.runtime, store=store, notify=False)
    with connect(platform.admin) as conn:
        conn.execute(FORGED_ROWS["audit_anchor"])
        conn.commit()
    with connect(platform.runtime) as conn:
        for document, message in (
            ("not json", "not a tree head"),
            ('{"log": "x", "tree_size": 1}', "not a scrollintel-audit tree head"),
        ):
            with pytest.raises(psycopg.errors.InvalidParameterValue, match=message):
                conn.execute("SELECT governance.audit_add_anchor(%s, 'x')", (document,))
            conn.rollback()
        head = store.latest()
        assert head is not None
        bigger = head.to_document().replace('"tree_size":5', '"tree_size":6')
        with pytest.raises(psycopg.errors.InvalidParameterValue, match="tree head of 6 entries is larger"):
            conn.execute("SELECT governance.audit_add_anchor(%s, 'x')", (bigger,))
        conn.rollback()
        other_root = head.to_document().replace(head.root_hash.hex(), "ab" * 32)
        not_the_root = "root_hash of the tree head of 5 entries is not the ledger's root"
        with pytest.raises(psycopg.errors.InvalidParameterValue, match=not_the_root):
            conn.execute("SELECT governance.audit_add_anchor(%s, 'x')", (other_root,))
    with connect(platform.admin) as conn:
        for size in (1, 2, 3, 4, 5):  # every shape of the tree below 16 leaves, against the Python root
            assert conn.execute("SELECT governance.audit_root_at(%s)", (size,)).fetchone() == (
                storage.root_at(conn, size),
            )

    report = verify_ledger(platform.runtime, store=store)

    assert report.ok and report.anchor_size == 5, report.summary()
    assert any(note.startswith("ignored an anchor index row") for note in report.notes)


def test_migration_upgrades_an_existing_ledger(pg_server: Any, audit_env: Path) -> None:
    """A warm start: a ledger written at 0007 keeps verifying and appending after 0008 moves it to the new owner."""
    suffix = secrets.token_hex(3)
    owner_role, runtime_role, password = f"up_owner_{suffix}", f"up_rt_{suffix}", secrets.token_urlsafe(12)
    name = f"ledger_up_{suffix}"
    with connect(pg_server.url("postgres"), autocommit=True) as conn:
        conn.execute(f"CREATE ROLE \"{owner_role}\" LOGIN PASSWORD '{password}'")
        conn.execute(f"CREATE ROLE \"{runtime_role}\" LOGIN PASSWORD '{password}'")
        conn.execute(f'CREATE DATABASE "{name}" OWNER "{owner_role}"')
        conn.execute(f'GRANT CONNECT, TEMPORARY ON DATABASE "{name}" TO "{runtime_role}"')
    pg_server.created.append(name)
    owner = _role_url(pg_server.url(name), owner_role, password)
    runtime = _role_url(pg_server.url(name), runtime_role, password)
    try:
        migrate.upgrade(owner, "0007", runtime_role=runtime_role)
        # 20 entries written the 0007 way: INSERTs by the runtime role, nodes included
        moment = to_time_us(datetime(2026, 12, 1, tzinfo=UTC))
        prev, rows, leaves = GENESIS_HASH, [], []
        for seq in range(20):
            digest = entry_hash(seq, moment, "svc", "old.event", f"s:{seq}", "{}", prev)
            rows.append((seq, from_time_us(moment), "svc", "old.event", f"s:{seq}", "{}", prev, digest))
            leaves.append(digest)
            prev = digest
        with connect(runtime) as conn:
            conn.cursor().executemany(
                "INSERT INTO governance.audit_entry (seq, recorded_at, actor, action, subject, details, prev_hash, "
                "entry_hash) VALUES (%s, %s, %s, %s, %s, %s, %s, %s)",
                rows,
            )
            for level, idx, digest in merkle.iter_complete_nodes(leaves, merkle.STORED_MIN_LEVEL):
                conn.execute("INSERT INTO governance.audit_tree_node VALUES (%s, %s, %s)", (level, idx, digest))
            conn.commit()
        with connect(pg_server.url("postgres"), autocommit=True) as conn:
            ensure_ledger_owner(conn, owner_role)  # what `make run` provisions before it migrates

        migrate.upgrade(owner, runtime_role=runtime_role)

        assert migrate.current_revision(owner) == "0009"
        _record(runtime, 14)  # 34 entries: completes the node of leaves 16..31 and (5, 0)
        report = verify_ledger(runtime, store=LocalAnchorStore(audit_env / "anchors"))
        assert report.ok and report.size == 34, report.summary()
        with connect(runtime, autocommit=True) as conn, pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute(FORGED_ROWS["audit_tree_node"])
    finally:
        storage.dispose_engines()
        with connect(pg_server.url("postgres"), autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            for role in (owner_role, runtime_role):
                conn.execute(f'DROP ROLE IF EXISTS "{role}"')


def test_external_server_role_with_only_createdb_still_migrates_and_writes(pg_server: Any, audit_env: Path) -> None:
    """SCROLLINTEL_DATABASE_URL's role has CREATEDB only: it cannot use the ledger role, so it keeps the tables."""
    suffix = secrets.token_hex(3)
    role, password, name = f"ext_{suffix}", secrets.token_urlsafe(12), f"ledger_ext_{suffix}"
    with connect(pg_server.url("postgres"), autocommit=True) as conn:
        conn.execute(f"CREATE ROLE \"{role}\" LOGIN CREATEDB PASSWORD '{password}'")
    external = _role_url(pg_server.url("postgres"), role, password)
    with connect(external, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    pg_server.created.append(name)
    url = db.with_database(external, name)
    try:
        migrate.upgrade(url)  # no runtime role on an external server: the URL's role is everything
        store = LocalAnchorStore(audit_env / "anchors")
        _record(url, 20)
        anchor(url, store=store, notify=False)
        report = verify_ledger(url, store=store)
        assert report.ok and report.anchor_size == 20, report.summary()
        status = ledger_status(url)
        assert status.latest_verification is not None and status.latest_verification.ok
        with connect(pg_server.url(name)) as conn:
            owner = conn.execute("SELECT tableowner FROM pg_tables WHERE tablename = 'audit_entry'").fetchone()
        assert owner == (role,)
    finally:
        storage.dispose_engines()
        with connect(pg_server.url("postgres"), autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            conn.execute(f'DROP ROLE IF EXISTS "{role}"')
