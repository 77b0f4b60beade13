"""The masking salt: validated, appended to PGOPTIONS, injected into a cosmos operator at run time only."""

from __future__ import annotations

import json

import pytest

from scrollintel.exceptions import ConfigError
from scrollintel.transform.session import MASKING_SALT_CONN_ID, inject_masking_salt, session_options

pytestmark = pytest.mark.unit

SALT = "0123456789abcdef0123456789abcdef"


def test_the_salt_becomes_a_session_setting_after_existing_options() -> None:
    assert session_options(SALT) == f"-c scrollintel.masking_salt={SALT}"
    assert session_options(SALT, " -c statement_timeout=5min ") == (
        f"-c statement_timeout=5min -c scrollintel.masking_salt={SALT}"
    )


@pytest.mark.parametrize("salt", [None, "", "short-salt", "has a space in the salt", "back\\slash-0123456789"])
def test_an_unusable_salt_is_refused_without_being_named(salt: str | None) -> None:
    with pytest.raises(ConfigError) as refused:
        session_options(salt)
    message = str(refused.value)
    assert message == (
        "connection warehouse_masking_salt: the masking salt (its password) must be at least 16 characters "
        "without spaces or backslashes"
    )
    assert not salt or salt not in message


@pytest.fixture
def run_task(monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    """A cosmos dbt run task as the DAG builds it, with the salt connection in the environment."""
    from cosmos.operators.local import DbtRunLocalOperator

    from scrollintel.transform.dagspec import TransformSpec, cosmos_configs
    from scrollintel.transform.project import project_dir

    monkeypatch.setenv(
        f"AIRFLOW_CONN_{MASKING_SALT_CONN_ID.upper()}", json.dumps({"conn_type": "generic", "password": SALT})
    )
    monkeypatch.setenv("PGOPTIONS", "-c application_name=dbt")
    spec = TransformSpec(manifest=project_dir(), raw_sources=(), marts=(), owner="analytics", classification="internal")
    configs = cosmos_configs(spec)
    shared_env = {"DBT_LOG_FORMAT": "text"}
    return DbtRunLocalOperator(
        task_id="run",
        project_dir=str(project_dir()),
        profile_config=configs["profile_config"],
        env=shared_env,
        **configs["operator_args"],
    ), shared_env


def test_the_interceptor_adds_the_salt_to_the_dbt_environment_only(run_task) -> None:  # type: ignore[no-untyped-def]
    operator, shared_env = run_task
    assert operator.interceptors == [inject_masking_salt]
    operator.invoke_interceptors({})
    assert operator.env == {
        "DBT_LOG_FORMAT": "text",
        "PGOPTIONS": f"-c application_name=dbt -c scrollintel.masking_salt={SALT}",
    }
    assert shared_env == {"DBT_LOG_FORMAT": "text"}  # the dict every task of the group shares is untouched
