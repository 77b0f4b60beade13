"""Migration 0012: model evaluations, what the runtime role may do with them, and the downgrade."""

from __future__ import annotations

import json
import uuid
from typing import Any

import psycopg
import pytest

from scrollintel import migrate
from scrollintel.demo.shop import libpq_url
from tests.integration.warehouse import runtime_database

pytestmark = pytest.mark.integration

EVALUATION = (
    "INSERT INTO governance.model_evaluations (id, model, challenger_version, challenger_run_id, holdout_snapshot, "
    "holdout_rows, challenger_metrics, verdict, reasons, dag_id, dag_run_id) "
    "VALUES (%s, 'churn', 2, 'run2', '2025-08-01', 372, %s, %s, %s, 'ml_churn_retrain', %s)"
)


def _exists(url: str) -> bool:
    with psycopg.connect(libpq_url(url)) as conn:
        return conn.execute("SELECT to_regclass('governance.model_evaluations') IS NOT NULL").fetchone() == (True,)


def test_upgrade_creates_the_table_and_downgrade_removes_it(pg_server: Any) -> None:
    from alembic import command

    with runtime_database(pg_server, "evalmig") as database:
        assert _exists(database.admin_url)
        command.downgrade(migrate.alembic_config(database.admin_url, database.role), "0011")  # type: ignore[arg-type]
        assert not _exists(database.admin_url)
        migrate.upgrade(database.admin_url, runtime_role=database.role)
        assert _exists(database.admin_url)


def test_the_runtime_role_appends_and_replaces_evaluations_but_never_rewrites_them(pg_server: Any) -> None:
    metrics = json.dumps({"roc_auc": 0.81})
    with (
        runtime_database(pg_server, "evalmig") as database,
        psycopg.connect(libpq_url(database.url), autocommit=True) as runtime,
    ):
        first = str(uuid.uuid4())
        runtime.execute(EVALUATION, (first, metrics, "ready", [], "manual__1"))
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            runtime.execute("UPDATE governance.model_evaluations SET verdict = 'refused'")
        with pytest.raises(psycopg.errors.CheckViolation):  # a refusal says why
            runtime.execute(EVALUATION, (str(uuid.uuid4()), metrics, "refused", [], "manual__2"))
        with pytest.raises(psycopg.errors.UniqueViolation):  # one evaluation per DAG run and model
            runtime.execute(EVALUATION, (str(uuid.uuid4()), metrics, "ready", [], "manual__1"))
        runtime.execute("DELETE FROM governance.model_evaluations WHERE id = %s", (first,))  # a retry replaces it
        runtime.execute(
            EVALUATION, (str(uuid.uuid4()), metrics, "refused", ["fairness: region gap 0.31 > 0.25"], "manual__1")
        )
        assert runtime.execute("SELECT verdict, reasons FROM governance.model_evaluations").fetchall() == [
            ("refused", ["fairness: region gap 0.31 > 0.25"])
        ]
