"""ASGI apps for bench_lineage.py, served by uvicorn on loopback (``uvicorn --factory bench._lineage_app:<name>``).

``governance``: the governance app mounted at ``/scrollintel`` exactly as the Airflow api-server
mounts the plugin (the store is the ``postgres_warehouse`` connection of the environment, writes
authenticate with the ``scrollintel_lineage`` connection's API key). ``receiver``: the baseline, a
plain HTTP endpoint that parses the JSON body and answers 201 without storing anything.
"""

from __future__ import annotations

import json
from typing import Any


def governance() -> Any:
    from airflow.api_fastapi.app import create_auth_manager
    from starlette.applications import Starlette
    from starlette.routing import Mount

    from scrollintel.web import URL_PREFIX, create_app

    create_auth_manager()  # what the api-server does before serving plugin apps
    return Starlette(routes=[Mount(URL_PREFIX, app=create_app())])


def receiver() -> Any:
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import JSONResponse
    from starlette.routing import Route

    async def receive(request: Request) -> JSONResponse:
        body = json.loads(await request.body())
        count = len(body) if isinstance(body, list) else 1
        return JSONResponse({"received": count}, status_code=201)

    return Starlette(
        routes=[
            Route("/scrollintel/api/v1/lineage", receive, methods=["POST"]),
            Route("/scrollintel/api/v1/lineage/batch", receive, methods=["POST"]),
        ]
    )
