"""Shared dependencies of the governance web app: who is asking, what they may do, which database.

Each dependency is a function here with an ``Annotated`` alias for route signatures
(``user: PageUser``, ``url: DatabaseUrl``), as in the full-stack FastAPI template's ``api/deps.py``.
This module imports Airflow's API security module (about two seconds of imports outside the
api-server), so only :func:`scrollintel.web.create_app` and the routers import it.

**Who is asking.** Airflow mounts plugin apps without authenticating them, so
:func:`route_dependencies` is applied to the whole app by :func:`scrollintel.web.create_app`: no
route can be added without it. The user comes from Airflow's ``get_user``, exactly as for
``/api/v2``:

* an ``Authorization: Bearer <jwt>`` header when the request has one (API clients, scripts);
* otherwise the ``_token`` cookie the Airflow UI sets at login (browsers, and the pages the UI
  shows in its iframe, which only carry the cookie). In the api-server, Airflow's
  ``JWTRefreshMiddleware`` has already validated that cookie and refreshes it when needed.

A missing or expired token answers 401; a token that does not verify (forged, revoked, unknown
user) answers 403 (Airflow's choice for an invalid JWT); a valid user the auth manager does not
allow to use the Airflow web UI answers 403.

**What they may do.** Each Airflow permission a route checks is a ``requires_*`` function returning
the ``Depends`` for a route's or router's ``dependencies`` (:func:`requires_website_access`, which
every route carries). Writing lineage is :func:`lineage_writer` (an Airflow user who may trigger DAG
runs, or the lineage API key). A state-changing route also calls :func:`refuse_cross_site`.

**Which database.** The pages reading the warehouse take :data:`DatabaseUrl` (:func:`warehouse_url`,
kept on the request for their problem panels); the lineage store's page and API take
:data:`StoreUrl` (:func:`lineage_store_url`, cached for the ingest path). Both are the
``postgres_warehouse`` connection as the api-server resolves it; tests point the app at their own
database by overriding :func:`warehouse_url` or :func:`lineage_store_url` in
``app.dependency_overrides``.
"""

from __future__ import annotations

import inspect
import time
from typing import Annotated
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from airflow.api_fastapi.auth.managers.models.base_user import BaseUser
from airflow.api_fastapi.auth.managers.models.resource_details import AccessView
from airflow.api_fastapi.core_api.security import get_user, requires_access_view
from fastapi import Depends, HTTPException, Request, params, status
from fastapi.concurrency import run_in_threadpool
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from scrollintel.exceptions import DatabaseError
from scrollintel.web.problems import PageProblem

#: Seconds to wait for the warehouse before a page says it cannot be reached.
CONNECT_TIMEOUT_S = 5
#: Seconds a resolved store URL is reused: every ingest request needs it, the connection rarely changes.
URL_CACHE_SECONDS = 30.0

# -- who is asking ------------------------------------------------------------------------------

CurrentUser = Annotated[BaseUser, Depends(get_user)]
"""The authenticated Airflow user; FastAPI resolves it once per request, shared with the app-level check."""


def page_user(request: Request, user: CurrentUser) -> BaseUser:
    """The signed-in user, kept on the request so a problem panel still shows the page header."""
    request.state.page_user = user
    return user


PageUser = Annotated[BaseUser, Depends(page_user)]


# -- what they may do -----------------------------------------------------------------------------


def requires_website_access() -> params.Depends:
    """Airflow's check that the caller may use the Airflow web UI at all.

    ``requires_access_view(AccessView.WEBSITE)`` authenticates the caller through ``get_user``
    (bearer header or ``_token`` cookie) and then asks the configured auth manager whether the
    user may use the Airflow web UI (FAB: the "Website" permission every built-in role but Public
    has).
    """
    return Depends(requires_access_view(AccessView.WEBSITE))


def route_dependencies() -> list[params.Depends]:
    """Return the dependencies every route of the app carries: :func:`requires_website_access`.

    Page-specific permissions come with each page's data.
    """
    return [requires_website_access()]


bearer_scheme = HTTPBearer(auto_error=False)


async def lineage_writer(
    request: Request,
    bearer: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer_scheme)],
) -> str:
    """Who is writing lineage: ``api-key:scrollintel_lineage`` or ``user:<name>``.

    A bearer that is the API key of the Airflow connection ``scrollintel_lineage`` is a producer.
    Any other bearer is checked as an Airflow token by Airflow's own ``get_user`` (401 missing or
    expired, 403 invalid); the user then needs the right to trigger DAG runs (403).
    """
    from airflow.api_fastapi.app import get_auth_manager
    from airflow.api_fastapi.auth.managers.models.resource_details import DagAccessEntity

    from scrollintel.lineage import apikey

    if bearer is not None and bearer.scheme.lower() == "bearer":
        fresh = apikey.is_cached()  # a cached key is compared right here; a lookup may do I/O
        key_matches = (
            apikey.matches(bearer.credentials) if fresh else await run_in_threadpool(apikey.matches, bearer.credentials)
        )
        if key_matches:
            return apikey.API_KEY_WRITER
    user = await get_user(request, None, bearer)
    allowed = get_auth_manager().is_authorized_dag(method="POST", access_entity=DagAccessEntity.RUN, user=user)
    if not allowed:
        raise HTTPException(status.HTTP_403_FORBIDDEN, "Forbidden: posting lineage needs the right to trigger DAG runs")
    return f"user:{user.get_name()}"


LineageWriter = Annotated[str, Depends(lineage_writer)]


def refuse_cross_site(request: Request) -> None:
    """Refuse a state-changing request a browser marks as coming from another site.

    Airflow's ``_token`` cookie is SameSite=Lax, so browsers do not send it with a cross-site
    POST anyway; this is the belt to that pair of braces.
    """
    if request.headers.get("sec-fetch-site", "same-origin") not in ("same-origin", "none"):
        raise HTTPException(status.HTTP_403_FORBIDDEN, "Cross-site request refused")


# -- which database ---------------------------------------------------------------------------------


def with_connect_timeout(url: str, seconds: int = CONNECT_TIMEOUT_S) -> str:
    """``url`` with a libpq ``connect_timeout`` unless it sets one: a dead host fails fast, not in minutes."""
    parts = urlsplit(url)
    query = parse_qsl(parts.query, keep_blank_values=True)
    if any(key == "connect_timeout" for key, _ in query):
        return url
    return urlunsplit(parts._replace(query=urlencode([*query, ("connect_timeout", str(seconds))])))


def warehouse_url() -> str:
    """The pages' database: the ``postgres_warehouse`` connection as the api-server resolves it.

    Uses :func:`scrollintel.warehouse.server_warehouse_url` (Airflow's secrets backends, else the local
    platform's warehouse); a missing connection is a :class:`~scrollintel.web.problems.PageProblem`.
    """
    from scrollintel.warehouse import server_warehouse_url

    try:
        url = server_warehouse_url()
    except DatabaseError as err:
        raise PageProblem(
            "The warehouse is not configured",
            str(err),
            hint="Define the Airflow connection `postgres_warehouse`, or start the local platform with `make run`.",
        ) from err
    return with_connect_timeout(url)


def database_url(request: Request, url: Annotated[str, Depends(warehouse_url)]) -> str:
    """The warehouse URL, kept on the request so a problem can say where the database is."""
    request.state.database_url = url
    return url


DatabaseUrl = Annotated[str, Depends(database_url)]

_url_cache: dict[str, tuple[float, str]] = {}


def _resolve_store_url() -> str:
    from scrollintel.warehouse import server_warehouse_url

    try:
        url = with_connect_timeout(server_warehouse_url())
    except DatabaseError as err:
        raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, f"The lineage store is not configured: {err}") from err
    _url_cache["url"] = (time.monotonic(), url)
    return url


async def lineage_store_url() -> str:
    """The lineage store's database: the ``postgres_warehouse`` connection as the api-server resolves it.

    Resolved through Airflow's secrets backends (in a worker thread: a backend may do I/O) at most
    every :data:`URL_CACHE_SECONDS`; a missing connection answers 503.
    """
    cached = _url_cache.get("url")
    if cached is not None and time.monotonic() - cached[0] < URL_CACHE_SECONDS:
        return cached[1]
    return await run_in_threadpool(_resolve_store_url)


StoreUrl = Annotated[str, Depends(lineage_store_url)]


async def request_store_url(request: Request) -> str:
    """:func:`lineage_store_url`, or what the app's ``dependency_overrides`` put in its place.

    For endpoints that skip FastAPI's dependency solving (the single-event lineage POST).
    """
    overrides = getattr(request.app, "dependency_overrides", {})
    url = overrides.get(lineage_store_url, lineage_store_url)()
    return str(await url if inspect.isawaitable(url) else url)
