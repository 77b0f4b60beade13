"""`make run` against a user's PostgreSQL: no embedded server, databases created on theirs."""

from __future__ import annotations

from pathlib import Path

import psycopg
import pytest

from scrollintel import db
from scrollintel.platform import launcher

pytestmark = pytest.mark.integration

PLATFORM_DATABASES = ("airflow", "warehouse", "mlflow", "shop")


def _existing(admin: str) -> set[str]:
    with psycopg.connect(admin.replace(db.DRIVER, "postgresql")) as conn:
        return {row[0] for row in conn.execute("SELECT datname FROM pg_database")}


@pytest.fixture
def external(pg_server, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    admin = pg_server.url("postgres")
    before = _existing(admin)
    monkeypatch.setenv("SCROLLINTEL_HOME", str(tmp_path))
    monkeypatch.setenv("SCROLLINTEL_DATABASE_URL", admin)
    yield admin
    with psycopg.connect(admin.replace(db.DRIVER, "postgresql"), autocommit=True) as conn:
        for name in set(PLATFORM_DATABASES) - before:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def test_external_server_gets_the_databases_and_no_embedded_server(external: str, tmp_path: Path) -> None:
    lines: list[str] = []
    lay = launcher.layout()
    launcher.start_database(lay, lines.append)
    assert set(PLATFORM_DATABASES) <= _existing(external)
    assert not (tmp_path / "postgres").exists()
    assert any("external PostgreSQL" in line for line in lines)
    env = launcher.airflow_env(lay)
    assert env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"] == db.with_database(external, "airflow")
    assert env["AIRFLOW_CONN_POSTGRES_WAREHOUSE"].endswith("/warehouse")
    assert "SCROLLINTEL_EMBEDDED_DATABASE" not in env
    launcher.start_database(lay, lines.append)  # twice is safe


def _unset(monkeypatch: pytest.MonkeyPatch, *names: str) -> None:
    """Unset names so that monkeypatch restores them afterwards (the code under test sets them)."""
    for name in names:
        monkeypatch.setenv(name, "")
        monkeypatch.delenv(name)


def test_airflow_setting_is_adopted_as_the_external_server(monkeypatch: pytest.MonkeyPatch) -> None:
    _unset(monkeypatch, "SCROLLINTEL_DATABASE_URL", "SCROLLINTEL_EMBEDDED_DATABASE", "SCROLLINTEL_AIRFLOW_DATABASE_URL")
    monkeypatch.setenv("AIRFLOW__DATABASE__SQL_ALCHEMY_CONN", "postgresql://af:pw@db.internal:5432/airflow_meta")
    launcher.adopt_airflow_database_setting()
    assert db.database_url("warehouse") == "postgresql+psycopg://af:pw@db.internal:5432/warehouse"
    assert launcher.os.environ["SCROLLINTEL_AIRFLOW_DATABASE_URL"].endswith("/airflow_meta")


def test_a_shell_that_sourced_platform_env_is_not_mistaken_for_external(monkeypatch: pytest.MonkeyPatch) -> None:
    _unset(monkeypatch, "SCROLLINTEL_DATABASE_URL", "SCROLLINTEL_AIRFLOW_DATABASE_URL")
    monkeypatch.setenv("SCROLLINTEL_EMBEDDED_DATABASE", "1")
    monkeypatch.setenv("AIRFLOW__DATABASE__SQL_ALCHEMY_CONN", "postgresql://airflow:pw@127.0.0.1:5999/airflow")
    launcher.adopt_airflow_database_setting()
    assert "SCROLLINTEL_DATABASE_URL" not in launcher.os.environ
