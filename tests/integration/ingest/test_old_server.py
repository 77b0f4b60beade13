"""A warehouse older than PostgreSQL 16 is refused with a message saying why (a real PostgreSQL 15)."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from scrollintel.ingest.errors import UnsupportedServerError
from scrollintel.ingest.loader import load_resource
from scrollintel.platform.postgres import ADMIN_ROLE, EmbeddedPostgres
from tests.integration.ingest.helpers import CsvConnector, csv_spec

pytestmark = pytest.mark.integration


def _old_bin_dir() -> Path | None:
    """A folder with PostgreSQL < 16 server binaries on this machine, if any."""
    candidates = sorted(Path("/usr/lib/postgresql").glob("*/bin")) if Path("/usr/lib/postgresql").is_dir() else []
    for folder in candidates:
        if folder.parent.name.isdigit() and int(folder.parent.name) < 16 and (folder / "pg_ctl").exists():
            return folder
    return None


@pytest.fixture
def old_server(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    folder = _old_bin_dir()
    if folder is None:
        pytest.skip("no PostgreSQL < 16 binaries on this machine (looked in /usr/lib/postgresql/*/bin)")
    monkeypatch.setenv("SCROLLINTEL_PG_BIN", str(folder))
    server = EmbeddedPostgres(tmp_path / "pg15")
    try:
        port = server.start()
    except (OSError, subprocess.SubprocessError) as err:
        pytest.skip(f"PostgreSQL from {folder} did not start: {err}")
    password = server.read_state()["passwords"][ADMIN_ROLE]  # type: ignore[index]
    try:
        yield f"postgresql://{ADMIN_ROLE}:{password}@127.0.0.1:{port}/postgres"
    finally:
        server.destroy()
        shutil.rmtree(tmp_path / "pg15", ignore_errors=True)


def test_the_loader_refuses_postgresql_15_naming_the_version_and_the_reason(old_server: str) -> None:
    connector = CsvConnector([("id", "bigint")], ["1"])
    with pytest.raises(UnsupportedServerError) as failure:
        load_resource(connector, csv_spec("old"), old_server, run_id="r1")
    message = str(failure.value)
    assert message.startswith("the warehouse runs PostgreSQL 15.")
    assert "needs PostgreSQL 16 or newer" in message and "pg_input_is_valid" in message
