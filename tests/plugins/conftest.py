"""Fixtures for the plugin and governance web app tests: Airflow's own auth, no running services.

Tokens are made and checked by Airflow itself: the SimpleAuthManager (the FAB auth manager the
platform runs needs FAB's user tables; both sign and verify with the same ``JWTGenerator`` /
``JWTValidator`` and ``[api_auth] jwt_secret``). Verifying a token also asks the metadata
database whether it was revoked, so each test module points Airflow's ORM at a throwaway SQLite
file holding just the ``revoked_token`` table, and puts the previous configuration back
afterwards (module scope, so tests elsewhere in the session never see it).
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from airflow.api_fastapi.auth.managers.base_auth_manager import BaseAuthManager
    from fastapi import FastAPI
    from starlette.applications import Starlette

REPO_ROOT = Path(__file__).resolve().parents[2]
PLUGINS_DIR = REPO_ROOT / "plugins"
SIMPLE_AUTH_MANAGER = "airflow.api_fastapi.auth.managers.simple.simple_auth_manager.SimpleAuthManager"
TEST_USER = "gov-viewer"


@pytest.fixture(scope="module")
def airflow_env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    """Configure Airflow for the test module: SimpleAuthManager, a known JWT secret, a tiny SQLite metadata DB."""
    from airflow import settings

    home = tmp_path_factory.mktemp("airflow-home")
    env = {
        "AIRFLOW_HOME": str(home),  # for Airflow subprocesses; this process has read it already
        "AIRFLOW__CORE__AUTH_MANAGER": SIMPLE_AUTH_MANAGER,
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS": f"{TEST_USER}:viewer",
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE": str(home / "passwords.json"),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__CORE__PLUGINS_FOLDER": str(PLUGINS_DIR),
        "AIRFLOW__API_AUTH__JWT_SECRET": secrets.token_urlsafe(64),
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{home / 'airflow.db'}",
    }
    saved = {
        name: getattr(settings, name)
        for name in ("SQL_ALCHEMY_CONN", "SQL_ALCHEMY_CONN_ASYNC", "DAGS_FOLDER", "PLUGINS_FOLDER")
    }
    with pytest.MonkeyPatch.context() as mp:
        for key, value in env.items():
            mp.setenv(key, value)
        mp.delenv("AIRFLOW__API__BASE_URL", raising=False)
        settings.configure_vars()
        settings.reconfigure_orm()
        from airflow.models.revoked_token import RevokedToken

        RevokedToken.__table__.create(settings.engine, checkfirst=True)  # type: ignore[attr-defined]
        try:
            yield env
        finally:
            settings.dispose_orm()
    for name, value in saved.items():
        setattr(settings, name, value)
    settings.configure_orm()


def _reset_auth_manager() -> None:
    from airflow.api_fastapi.app import purge_cached_app
    from airflow.api_fastapi.auth.managers.simple.simple_auth_manager import SimpleAuthManager

    purge_cached_app()
    # The token signer and validator (secret, audience) are cached per auth manager class.
    SimpleAuthManager._get_token_signer.cache_clear()  # type: ignore[attr-defined]
    SimpleAuthManager._get_token_validator.cache_clear()  # type: ignore[attr-defined]


@pytest.fixture(scope="module")
def auth_manager(airflow_env: dict[str, str]) -> Iterator[BaseAuthManager]:
    """The auth manager Airflow's ``get_user`` consults, created the way the api-server creates it."""
    from airflow.api_fastapi.app import create_auth_manager

    _reset_auth_manager()
    yield create_auth_manager()
    _reset_auth_manager()


@pytest.fixture(scope="module")
def make_token(auth_manager: BaseAuthManager) -> Callable[..., str]:
    """Return a factory of JWTs signed by the auth manager, as Airflow's login does."""
    from airflow.api_fastapi.auth.managers.simple.user import SimpleAuthManagerUser

    def _make(username: str = TEST_USER, role: str | None = "viewer", expires_in: int = 300) -> str:
        user = SimpleAuthManagerUser(username=username, role=role)
        return auth_manager.generate_jwt(user, expiration_time_in_seconds=expires_in)  # type: ignore[arg-type]

    return _make


@pytest.fixture(scope="module")
def web_app(auth_manager: BaseAuthManager) -> FastAPI:
    """The governance app as the plugin registers it."""
    from scrollintel.web import create_app

    return create_app()


@pytest.fixture(scope="module")
def mounted_app(web_app: FastAPI) -> Starlette:
    """The governance app mounted at its url prefix, as the api-server mounts plugin apps."""
    from starlette.applications import Starlette
    from starlette.routing import Mount

    from scrollintel.web import URL_PREFIX

    return Starlette(routes=[Mount(URL_PREFIX, app=web_app)])


@pytest.fixture
def client_factory(mounted_app: Starlette) -> Iterator[Callable[..., Any]]:
    """Return a factory of test clients, optionally carrying a bearer header or the ``_token`` cookie."""
    from fastapi.testclient import TestClient

    clients: list[TestClient] = []

    def _make(*, bearer: str | None = None, cookie: str | None = None) -> TestClient:
        client = TestClient(mounted_app)
        if bearer is not None:
            client.headers["Authorization"] = f"Bearer {bearer}"
        if cookie is not None:
            client.cookies.set("_token", cookie)
        clients.append(client)
        return client

    yield _make
    for client in clients:
        client.close()
