"""Migration 0011: the monitoring tables, what the runtime role may do with them, and the downgrade."""

from __future__ import annotations

import uuid
from typing import Any

import psycopg
import pytest

from scrollintel import migrate
from scrollintel.demo.shop import libpq_url
from tests.integration.warehouse import runtime_database

pytestmark = pytest.mark.integration

TABLES = ["model_feature_drift", "model_monitoring_runs"]
RUN = (
    "INSERT INTO governance.model_monitoring_runs (id, model, champion_version, champion_run_id, reference_snapshots, "
    "current_snapshot, reference_rows, current_rows, features, drifted_features, drift_share, drift_share_limit, "
    "dataset_drifted, labelled_snapshots, labelled_rows, max_auc_drop, verdict, reason, dag_id, dag_run_id) "
    "VALUES (%s, 'churn', 1, 'abc', ARRAY['2025-01-01'::date], '2025-08-01', 10, 5, 2, 1, 0.5, 0.3, true, "
    "ARRAY[]::date[], 0, 0.05, %s, 'why', 'ml_churn_monitor', %s)"
)
FEATURE = (
    "INSERT INTO governance.model_feature_drift (run_id, position, feature, method, statistic, threshold, drifted) "
    "VALUES (%s, %s, %s, 'wasserstein', 0.2, 0.1, true)"
)


def _downgrade(url: str, role: str, revision: str) -> None:
    from alembic import command

    command.downgrade(migrate.alembic_config(url, role), revision)  # type: ignore[arg-type]


def _tables(url: str) -> list[str]:
    with psycopg.connect(libpq_url(url)) as conn:
        return [
            name
            for (name,) in conn.execute(
                "SELECT tablename FROM pg_tables WHERE schemaname = 'governance' AND tablename = ANY(%s) ORDER BY 1",
                (TABLES,),
            )
        ]


def test_upgrade_creates_the_tables_and_downgrade_removes_them(pg_server: Any) -> None:
    with runtime_database(pg_server, "monmig") as database:
        assert _tables(database.admin_url) == TABLES
        _downgrade(database.admin_url, database.role, "0010")
        assert _tables(database.admin_url) == []
        migrate.upgrade(database.admin_url, runtime_role=database.role)
        assert _tables(database.admin_url) == TABLES


def test_the_runtime_role_appends_and_replaces_its_runs_but_never_rewrites_them(pg_server: Any) -> None:
    with (
        runtime_database(pg_server, "monmig") as database,
        psycopg.connect(libpq_url(database.url), autocommit=True) as runtime,
    ):
        run = str(uuid.uuid4())
        runtime.execute(RUN, (run, "drift", "scheduled__1"))
        runtime.execute(FEATURE, (run, 0, "revenue_90d"))
        runtime.execute(FEATURE, (run, 1, "orders_90d"))
        for statement in (
            "UPDATE governance.model_monitoring_runs SET verdict = 'ok'",
            "UPDATE governance.model_feature_drift SET drifted = false",
            "DELETE FROM governance.model_feature_drift",
            "TRUNCATE governance.model_monitoring_runs CASCADE",
        ):
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                runtime.execute(statement)
        # the ledger stays append-only through its writer function
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            runtime.execute("DELETE FROM governance.audit_entry")
        # a retry replaces its run: deleting the run row takes its features with it
        runtime.execute("DELETE FROM governance.model_monitoring_runs WHERE id = %s", (run,))
        assert runtime.execute("SELECT count(*) FROM governance.model_feature_drift").fetchone() == (0,)
        # one row per DAG run and model; verdicts and shares are checked
        runtime.execute(RUN, (run, "drift", "scheduled__1"))
        with pytest.raises(psycopg.errors.UniqueViolation):
            runtime.execute(RUN, (str(uuid.uuid4()), "ok", "scheduled__1"))
        with pytest.raises(psycopg.errors.CheckViolation, match="verdict_known"):
            runtime.execute(RUN, (str(uuid.uuid4()), "fine", "scheduled__2"))
        with pytest.raises(psycopg.errors.ForeignKeyViolation):
            runtime.execute(FEATURE, (str(uuid.uuid4()), 0, "revenue_90d"))
