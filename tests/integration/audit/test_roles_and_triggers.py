"""The runtime role can append to the ledger but never change or empty it; triggers stop everyone else."""

from __future__ import annotations

import secrets
from typing import Any

import psycopg
import pytest
from sqlalchemy.engine import make_url

from scrollintel import audit, migrate
from scrollintel.audit import storage
from scrollintel.audit.airflow_log import SOURCE
from scrollintel.audit.anchor import LocalAnchorStore, anchor
from scrollintel.audit.verify import verify_ledger
from tests.integration.audit.conftest import connect

pytestmark = pytest.mark.integration

#: Each append-only table and a column to try to change.
LEDGER_TABLES = {
    "audit_entry": "details",
    "audit_tree_node": "hash",
    "audit_anchor": "location",
    "audit_verification": "message",
}


@pytest.fixture
def runtime(pg_server: Any, audit_env: Any) -> tuple[str, str]:
    """A fresh database migrated with a new login role as the runtime role: (owner url, runtime url)."""
    role = f"audit_rt_{secrets.token_hex(3)}"
    password = secrets.token_urlsafe(12)
    with connect(pg_server.url("postgres"), autocommit=True) as conn:
        conn.execute(f"CREATE ROLE \"{role}\" LOGIN PASSWORD '{password}'")
    owner_url = pg_server.create_database()
    migrate.upgrade(owner_url, runtime_role=role)
    runtime_url = make_url(owner_url).set(username=role, password=password).render_as_string(hide_password=False)
    yield owner_url, runtime_url
    storage.dispose_engines()
    with connect(pg_server.url("postgres"), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{make_url(owner_url).database}" WITH (FORCE)')
        conn.execute(f'DROP ROLE IF EXISTS "{role}"')


def test_runtime_role_appends_but_cannot_update_delete_or_truncate(runtime: tuple[str, str], tmp_path: Any) -> None:
    _, runtime_url = runtime
    receipts = audit.record_many(
        [{"action": "a.b", "subject": f"s:{i}", "details": {"i": i}} for i in range(40)], url=runtime_url
    )
    assert [r.status for r in receipts] == ["written"] * 40
    anchor(runtime_url, store=LocalAnchorStore(tmp_path / "anchors"), notify=False)
    assert verify_ledger(runtime_url, store=LocalAnchorStore(tmp_path / "anchors")).ok
    with connect(runtime_url, autocommit=True) as conn:
        assert conn.execute("SELECT count(*) FROM governance.audit_entry").fetchone() == (40,)
        for table, column in LEDGER_TABLES.items():
            for statement in (
                f"UPDATE governance.{table} SET {column} = NULL",
                f"DELETE FROM governance.{table}",
                f"TRUNCATE governance.{table}",
            ):
                with pytest.raises(psycopg.errors.InsufficientPrivilege, match="permission denied"):
                    conn.execute(statement)
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute("DROP TABLE governance.audit_entry")
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute("ALTER TABLE governance.audit_entry DISABLE TRIGGER ALL")
        # the import cursor is the one table it may update
        conn.execute(
            "INSERT INTO governance.audit_import_cursor (source, last_event_id) VALUES (%s, 1) "
            "ON CONFLICT (source) DO UPDATE SET last_event_id = 2",
            (SOURCE,),
        )
        conn.execute(
            "INSERT INTO governance.audit_import_cursor (source, last_event_id) VALUES (%s, 1) "
            "ON CONFLICT (source) DO UPDATE SET last_event_id = 2",
            (SOURCE,),
        )
        assert conn.execute("SELECT last_event_id FROM governance.audit_import_cursor").fetchone() == (2,)


def test_triggers_refuse_changes_even_for_the_owner(runtime: tuple[str, str]) -> None:
    owner_url, _ = runtime
    audit.record("a.b", "s:1", url=owner_url)
    with connect(owner_url, autocommit=True) as conn:
        for statement, op in (
            ("UPDATE governance.audit_entry SET actor = 'x'", "UPDATE"),
            ("DELETE FROM governance.audit_entry", "DELETE"),
            ("TRUNCATE governance.audit_entry", "TRUNCATE"),
            ("DELETE FROM governance.audit_tree_node", "DELETE"),
            ("TRUNCATE governance.audit_anchor", "TRUNCATE"),
        ):
            with pytest.raises(
                psycopg.errors.RaiseException, match=f"governance.audit_\\w+ is append-only: {op} refused"
            ):
                conn.execute(statement)
        assert conn.execute("SELECT count(*) FROM governance.audit_entry").fetchone() == (1,)
