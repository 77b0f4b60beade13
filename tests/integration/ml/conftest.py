"""Fixtures of the model tests: a real MLflow tracking server and a churn feature table, once per session.

- ``mlflow_server``: ``mlflow server`` as `make run` starts it (the launcher's own command and
  environment, :mod:`scrollintel.platform.mlflow_service`): backend store a fresh PostgreSQL
  database of the test server, artifacts proxied into a temporary folder, a free loopback port.
  MLflow's client in this process points at it (``MLFLOW_TRACKING_URI``).
- ``churn_features``: a warehouse database holding ``marts.ml_churn_features``, synthetic
  (:mod:`scrollintel.demo.churn_features`) with the demo mart's snapshot profile scaled to
  :data:`FEATURE_ROWS` rows and a learnable churn signal.

Tests that register models use a model name of their own (:func:`unique_model`): the server is
shared by every module of the session.
"""

from __future__ import annotations

import os
import secrets
import signal
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from scrollintel.config.models import ModelConfig

#: Rows of the test feature table (33 monthly snapshots, growing like the demo's).
FEATURE_ROWS = 6_000
FEATURE_SEED = 11
#: Candidates of the hyperparameter search in tests. governance/models.yaml asks for 16; the search,
#: its logging and its reproducibility are the same with 4, at a quarter of the fits (bench_train
#: measures the configured budget).
TEST_SEARCH_BUDGET = 4


@dataclass(frozen=True)
class MlflowServer:
    """A running tracking server."""

    uri: str
    port: int
    artifacts: Path
    log_file: Path


@pytest.fixture(scope="session")
def mlflow_server(pg_server: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[MlflowServer]:
    """``mlflow server`` on a PostgreSQL backend store, artifacts in a temporary folder; stopped at the end."""
    from scrollintel.platform import mlflow_service
    from scrollintel.platform.postgres import HOST, free_port

    backend = pg_server.create_database(f"mlflow_{secrets.token_hex(4)}")
    folder = tmp_path_factory.mktemp("mlflow")
    artifacts = folder / "artifacts"
    log_file = folder / "server.log"
    port = free_port()
    env = {**os.environ, **mlflow_service.server_env(backend)}
    with open(log_file, "ab") as out:
        process = subprocess.Popen(
            mlflow_service.server_command(HOST, port, str(artifacts)),
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env=env,
            start_new_session=True,
        )
    uri = f"http://{HOST}:{port}"
    saved = {key: os.environ.get(key) for key in ("MLFLOW_TRACKING_URI", *mlflow_service.CLIENT_ENV)}
    try:
        mlflow_service.wait_ready(
            mlflow_service.health_url(HOST, port), alive=lambda: process.poll() is None, log_file=log_file
        )
        os.environ.update({"MLFLOW_TRACKING_URI": uri, **mlflow_service.CLIENT_ENV})
        yield MlflowServer(uri=uri, port=port, artifacts=artifacts, log_file=log_file)
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait(timeout=10)


@dataclass(frozen=True)
class FeatureTable:
    """A warehouse database with ``marts.ml_churn_features``."""

    url: str
    rows: int


@pytest.fixture(scope="session")
def churn_features(pg_server: Any) -> FeatureTable:
    """A warehouse database with a synthetic ``marts.ml_churn_features`` (dropped with the test server's databases)."""
    import psycopg

    from scrollintel.db import libpq_url
    from scrollintel.demo.churn_features import create_feature_table, generate_churn_features, snapshot_rows

    url = pg_server.create_database(f"mlwh_{secrets.token_hex(4)}")
    table = generate_churn_features(snapshot_rows(FEATURE_ROWS), seed=FEATURE_SEED)
    with psycopg.connect(libpq_url(url)) as conn:
        rows = create_feature_table(conn, table)
    return FeatureTable(url=url, rows=rows)


def unique_model(base: ModelConfig, prefix: str | None = None) -> ModelConfig:
    """``base`` under a name no other test uses (its registered model and experiment are its own), searching
    :data:`TEST_SEARCH_BUDGET` candidates."""
    training = base.training.model_copy(update={"search_budget": TEST_SEARCH_BUDGET})
    return base.model_copy(update={"name": f"{prefix or base.name}_{secrets.token_hex(3)}", "training": training})


@pytest.fixture(scope="session")
def test_governance(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of governance/ whose models search :data:`TEST_SEARCH_BUDGET` candidates, for DAG runs in a
    child process (``SCROLLINTEL_GOVERNANCE_DIR``); validated as `scrollintel validate` would."""
    import re
    import shutil

    from scrollintel.config import load_governance
    from scrollintel.settings import governance_dir

    folder = tmp_path_factory.mktemp("governance") / "governance"
    shutil.copytree(governance_dir(), folder)
    models = folder / "models.yaml"
    text, count = re.subn(r"(?m)^(\s*search_budget:\s*)\d+", rf"\g<1>{TEST_SEARCH_BUDGET}", models.read_text())
    assert count, f"no search_budget in {models}"
    models.write_text(text, encoding="utf-8")
    assert all(m.training.search_budget == TEST_SEARCH_BUDGET for m in load_governance(folder).models.models)
    return folder
