"""The governance app as the Airflow api-server serves it, for uvicorn in a child process of the coverage test.

``uvicorn --factory tests.integration.lineage.lineage_server:app``: the app is mounted at
``/scrollintel`` after Airflow's auth manager is created, as in the api-server; the lineage store is
the ``postgres_warehouse`` connection and the API key the ``scrollintel_lineage`` connection of
the environment. Never imported by pytest.
"""

from __future__ import annotations

from typing import Any


def app() -> Any:
    from airflow.api_fastapi.app import create_auth_manager
    from starlette.applications import Starlette
    from starlette.routing import Mount

    from scrollintel.web import URL_PREFIX, create_app

    create_auth_manager()
    return Starlette(routes=[Mount(URL_PREFIX, app=create_app())])
