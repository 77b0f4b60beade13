"""The embedded server and provisioning, on a real throwaway server in a temporary state folder."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from scrollintel import db
from scrollintel.platform.postgres import EmbeddedPostgres, port_is_open
from scrollintel.platform.provision import provision_embedded

pytestmark = pytest.mark.integration


@pytest.fixture
def embedded(monkeypatch: pytest.MonkeyPatch) -> Iterator[EmbeddedPostgres]:
    # Not under pytest's tmp_path: pytest resets /tmp/pytest-of-<user> to mode 0700 whenever a
    # session starts, which locks the server's unprivileged user out of its data folder.
    home = Path(tempfile.mkdtemp(prefix="scrollintel-pgtest-"))
    monkeypatch.setenv("SCROLLINTEL_HOME", str(home))
    monkeypatch.delenv("SCROLLINTEL_DATABASE_URL", raising=False)
    server = EmbeddedPostgres(home / "postgres")
    yield server
    server.destroy()
    shutil.rmtree(home, ignore_errors=True)


def _connect(url: str) -> psycopg.Connection:
    return psycopg.connect(url.replace(db.DRIVER, "postgresql"), autocommit=True)


def test_start_is_idempotent_and_listens_on_loopback(embedded: EmbeddedPostgres) -> None:
    port = embedded.start()
    assert port_is_open(port)
    assert embedded.start() == port
    state = (embedded.root / "server.json").stat()
    assert oct(state.st_mode & 0o777) == "0o600"
    assert embedded.stop() is True
    assert embedded.stop() is False
    assert embedded.start() in (port, embedded.read_state()["port"])


def test_password_is_required(embedded: EmbeddedPostgres) -> None:
    port = embedded.start()
    with pytest.raises(psycopg.OperationalError, match="password"):
        psycopg.connect(host="127.0.0.1", port=port, user="scrollintel_admin", password="wrong", dbname="postgres")


def test_provisioning_gives_each_role_only_its_database(embedded: EmbeddedPostgres) -> None:
    embedded.start()
    provision_embedded(embedded)
    provision_embedded(embedded)  # twice is safe
    with _connect(db.database_url("shop")) as shop:
        shop.execute("CREATE TABLE customers (id int primary key, email text)")
        shop.execute("INSERT INTO customers VALUES (1, 'a@example.invalid')")
    with _connect(db.database_url("shop", role="shop_reader")) as reader:
        assert reader.execute("SELECT count(*) FROM customers").fetchone() == (1,)
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            reader.execute("INSERT INTO customers VALUES (2, 'b@example.invalid')")
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            reader.execute("CREATE TABLE stolen (id int)")
    with pytest.raises(psycopg.OperationalError, match="permission denied"):
        _connect(db.database_url("warehouse", role="airflow"))
    with pytest.raises(psycopg.OperationalError, match="permission denied"):
        _connect(db.database_url("airflow", role="shop_reader"))
    with _connect(db.warehouse_url()) as warehouse:
        assert warehouse.execute("SELECT current_user").fetchone() == ("scrollintel",)
        # The runtime role cannot create schemas in the warehouse (migrations do), but may stage
        # batches in temporary tables.
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            warehouse.execute("CREATE SCHEMA sneaky")
        warehouse.execute("CREATE TEMP TABLE staged (id int)")


def test_migrations_run_as_owner_and_grant_the_runtime_role(embedded: EmbeddedPostgres) -> None:
    from scrollintel import migrate

    embedded.start()
    provision_embedded(embedded)
    migrate.upgrade()
    migrate.upgrade()  # idempotent
    assert migrate.current_revision() is not None
    with _connect(db.warehouse_url()) as warehouse:
        warehouse.execute(
            "INSERT INTO governance.health_check (run_id, check_name, kind, ok, latency_ms, detail) "
            "VALUES ('r', 'c', 'postgres', true, 1.0, '')"
        )
        assert warehouse.execute("SELECT count(*) FROM governance.health_check").fetchone() == (1,)
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            warehouse.execute("DROP TABLE governance.health_check")


def test_missing_state_names_the_fix(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from scrollintel.exceptions import DatabaseError

    monkeypatch.setenv("SCROLLINTEL_HOME", str(tmp_path))
    monkeypatch.delenv("SCROLLINTEL_DATABASE_URL", raising=False)
    with pytest.raises(
        DatabaseError, match="set SCROLLINTEL_DATABASE_URL or start the embedded server with `make run`"
    ):
        db.warehouse_url()


def test_external_url_is_used_for_every_database(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SCROLLINTEL_DATABASE_URL", "postgres://u:p@db.internal:5433/postgres")
    assert db.database_url("warehouse") == "postgresql+psycopg://u:p@db.internal:5433/warehouse"
    assert db.admin_url() == "postgresql+psycopg://u:p@db.internal:5433/postgres"


def test_non_postgres_url_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    from scrollintel.exceptions import DatabaseError

    monkeypatch.setenv("SCROLLINTEL_DATABASE_URL", "mysql://u:p@db/x")
    with pytest.raises(DatabaseError, match="not a PostgreSQL URL \\(scheme 'mysql'\\)"):
        db.warehouse_url()
