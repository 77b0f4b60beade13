"""The audit DAGs' task callables, run against a real ledger (wiring, not Airflow's scheduling)."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from scrollintel import audit
from scrollintel.audit import outbox
from scrollintel.audit.errors import LedgerTampered
from scrollintel.settings import project_root
from tests.integration.audit.conftest import bypass_triggers, connect

pytestmark = pytest.mark.integration


def load(name: str) -> ModuleType:
    path = project_root() / "dags" / f"{name}.py"
    spec = importlib.util.spec_from_file_location(f"audit_dag_{name}", path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def callable_of(module: ModuleType, dag_id: str, task_id: str) -> Any:
    dag = getattr(module, dag_id)()
    return dag.task_dict[task_id].python_callable


@pytest.fixture
def in_task(audit_env: Path, ledger_url: str, monkeypatch: pytest.MonkeyPatch) -> str:
    """The environment a task of the platform sees: the warehouse connection as an env variable."""
    monkeypatch.setenv("AIRFLOW_CONN_POSTGRES_WAREHOUSE", "postgres://" + ledger_url.split("://", 1)[1])
    return ledger_url


def test_anchor_dag_flushes_the_outbox_then_anchors(in_task: str) -> None:
    module = load("audit_anchor")
    audit.record("a.b", "s:queued", url="postgresql+psycopg://x:y@127.0.0.1:9/none")
    assert callable_of(module, "audit_anchor", "flush_outbox")() == 1
    assert not outbox.pending()
    result = callable_of(module, "audit_anchor", "anchor")()
    assert result["tree_size"] == 1 and str(result["location"]).startswith("file://")


def test_verify_dag_fails_loudly_with_index_and_kind(in_task: str) -> None:
    module = load("audit_verify")
    audit.record_many([{"action": "a.b", "subject": f"s:{i}"} for i in range(30)])
    verify = callable_of(module, "audit_verify", "verify")
    assert verify()["size"] == 30
    with connect(in_task) as conn:
        bypass_triggers(conn)
        conn.execute("DELETE FROM governance.audit_entry WHERE seq = 12")
        conn.commit()
    with pytest.raises(LedgerTampered, match=r"FAILED at index 12 \(deleted\)"):
        verify()


def test_import_dag_needs_its_connection(in_task: str) -> None:
    from scrollintel.exceptions import ConfigError

    module = load("audit_import_airflow_log")
    with pytest.raises(ConfigError, match="Airflow REST API URL unknown"):
        callable_of(module, "audit_import_airflow_log", "import_event_log")()
