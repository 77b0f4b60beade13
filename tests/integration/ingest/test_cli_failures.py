"""``scrollintel ingest run`` and ``validate`` when a connection is missing or a backend is killed mid-COPY.

Each failure is one line naming the source, the resource and what to do; the CLI goes on with
the other resources and exits 1 listing the failed ones. The kill is deterministic: the source
table is locked so that both COPYs are open and waiting when the test terminates one backend.
"""

from __future__ import annotations

import shutil
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner

from scrollintel.cli import main
from scrollintel.settings import ENV_GOVERNANCE_DIR, governance_dir
from tests.integration.ingest.helpers import connect, execute, scalar

pytestmark = pytest.mark.integration

SOURCE = "flaky"
CONN_ID = "postgres_flaky"
#: Guards the poll for the blocked COPY: a hang becomes a failure, never a timing assert.
POLL_LIMIT = 600


@pytest.fixture
def governance(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, source_db: str) -> Path:
    """The project's governance files plus a two-table PostgreSQL source ``flaky``."""
    folder = tmp_path / "governance"
    shutil.copytree(governance_dir(), folder)
    shop = yaml.safe_load((folder / "sources" / "shop.yaml").read_text())
    shop.update(name=SOURCE, connection_id=CONN_ID, description="Two tables for failure tests.")
    shop["tables"] = [{"name": name, "primary_key": ["id"], "cursor": "updated_at"} for name in ("a", "b")]
    shop.pop("classification", None)
    (folder / "sources" / f"{SOURCE}.yaml").write_text(yaml.safe_dump(shop))
    monkeypatch.setenv(ENV_GOVERNANCE_DIR, str(folder))
    monkeypatch.delenv(f"AIRFLOW_CONN_{CONN_ID.upper()}", raising=False)
    execute(
        source_db,
        *(
            f"CREATE TABLE {name} AS SELECT g AS id, now() AS updated_at FROM generate_series(1, 50) g"
            for name in ("a", "b")
        ),
    )
    return folder


def ingest(*args: str) -> Any:
    return CliRunner().invoke(main, ["ingest", "run", SOURCE, *args, "--no-quality", "--no-classify"])


def test_a_missing_connection_is_one_line_per_resource_and_validate_names_it(
    governance: Path, warehouse: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    result = ingest("--warehouse-url", warehouse)
    assert result.exit_code == 1
    assert result.exception is None or isinstance(result.exception, SystemExit)
    lines = result.output.splitlines()
    for name in ("a", "b"):
        line = next(line for line in lines if line.startswith(f"{SOURCE}.{name}: "))
        assert f"connection {CONN_ID!r} is not defined" in line
        assert f"AIRFLOW_CONN_{CONN_ID.upper()}" in line and "airflow connections add" in line
        assert "--source-url" in line
    assert lines[-1].startswith(f"2 of 2 resource(s) of {SOURCE} failed: a, b")
    assert "Traceback" not in result.output

    monkeypatch.setenv("AIRFLOW_CONN_SOME_OTHER", "postgres://u:p@localhost/db")  # connections are visible
    checked = CliRunner().invoke(main, ["validate"])
    assert checked.exit_code == 1
    assert f"sources/{SOURCE}.yaml:connection_id: the Airflow connection {CONN_ID!r} is not defined" in checked.output


def test_validate_says_when_it_cannot_check_connections(monkeypatch: pytest.MonkeyPatch) -> None:
    import os

    for name in [name for name in os.environ if name.startswith("AIRFLOW_CONN_")]:
        monkeypatch.delenv(name)
    for name in ("AIRFLOW__SECRETS__BACKEND", "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"):
        monkeypatch.delenv(name, raising=False)
    result = CliRunner().invoke(main, ["validate"])
    assert result.exit_code == 0
    assert result.output.startswith("connections not checked: no Airflow connections are visible here")


@pytest.fixture
def locked_source(source_db: str) -> Iterator[Any]:
    """Table ``a`` of the source locked: its extraction's COPY waits until the lock is released."""
    with connect(source_db) as holder:
        holder.execute("LOCK TABLE a IN ACCESS EXCLUSIVE MODE")
        yield holder
        holder.rollback()


def terminate_when_copying(url: str, holder: Any) -> threading.Thread:
    """Terminate the backend of ``url``'s database running a COPY, then release ``holder``'s lock."""

    def run() -> None:
        database = url.rsplit("/", 1)[1]
        with connect(url, autocommit=True) as admin:
            for _ in range(POLL_LIMIT):
                row = admin.execute(
                    "SELECT pid FROM pg_stat_activity WHERE datname = %s AND query LIKE 'COPY %%' "
                    "AND state = 'active' AND pid <> pg_backend_pid()",
                    (database,),
                ).fetchone()
                if row:
                    admin.execute("SELECT pg_terminate_backend(%s, 10000)", (row[0],))
                    break
                threading.Event().wait(0.1)
        holder.rollback()

    thread = threading.Thread(target=run, name="terminate-copy", daemon=True)
    thread.start()
    return thread


@pytest.mark.parametrize("side", ["warehouse", "source"])
def test_a_backend_killed_during_copy_fails_that_resource_and_the_others_load(
    governance: Path, warehouse: str, source_db: str, locked_source: Any, side: str
) -> None:
    killer = terminate_when_copying(warehouse if side == "warehouse" else source_db, locked_source)
    result = ingest("--warehouse-url", warehouse, "--source-url", source_db)
    killer.join()
    assert result.exit_code == 1, result.output
    assert "Traceback" not in result.output
    lines = result.output.splitlines()
    failed = next(line for line in lines if line.startswith(f"{SOURCE}.a: "))
    assert f"the connection to the {side} was lost during the load" in failed
    assert "nothing was committed" in failed and "run the load again" in failed
    assert any(line.startswith(f"raw.{SOURCE}__b: initial") for line in lines)
    assert lines[-1].startswith(f"1 of 2 resource(s) of {SOURCE} failed: a")
    assert scalar(warehouse, f"SELECT to_regclass('raw.{SOURCE}__a')") is None

    again = ingest("--warehouse-url", warehouse, "--source-url", source_db)
    assert again.exit_code == 0, again.output
    assert scalar(warehouse, f"SELECT count(*) FROM raw.{SOURCE}__a") == 50
    assert scalar(warehouse, f"SELECT count(*) FROM raw.{SOURCE}__b") == 50
