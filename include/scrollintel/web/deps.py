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

**What they may do.** Every route carries :func:`requires_website_access` (Airflow's own check that
the caller may use the UI). Every state-changing route (any method but GET, HEAD, OPTIONS) needs the
:class:`Permission` that :data:`ROUTE_PERMISSIONS` names for its method and path: the app-level
:func:`check_route_permission` looks it up, so a route added without a line there is refused (403),
and :func:`check_route_permissions` makes :func:`scrollintel.web.create_app` fail on it first. A
permission is a question to the configured Airflow auth manager (``is_authorized_*``, the calls
Airflow's ``requires_access_*`` dependencies make), so FAB roles, Keycloak or the SimpleAuthManager
decide, not this app. Writing lineage is :func:`lineage_writer`: the lineage API key, or an Airflow
user with :data:`LINEAGE_WRITE`.

**Cross-site requests.** A state-changing request authenticated by the UI's ``_token`` cookie must
come from the platform's own pages (:func:`refuse_cross_site`): ``Sec-Fetch-Site: same-origin``, or
an ``Origin`` (without one, a ``Referer``) equal to :func:`own_origin`. Bearer-token calls carry no
ambient credential and are not checked.

**Parameter values.** :func:`check_parameters` refuses, for every route, query and path parameter
values a handler must never see: a NUL byte (PostgreSQL and the file system refuse it), and whole
numbers outside PostgreSQL's ``bigint`` for integer parameters (400, naming the parameter).

**Which database.** The pages reading the warehouse take :data:`DatabaseUrl` (:func:`warehouse_url`,
kept on the request for their problem panels); the lineage store's page and API take
:data:`StoreUrl` (:func:`lineage_store_url`, cached for the ingest path). Both are the
``postgres_warehouse`` connection as the api-server resolves it; tests point the app at their own
database by overriding :func:`warehouse_url` or :func:`lineage_store_url` in
``app.dependency_overrides``.
"""

from __future__ import annotations

import inspect
import re
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from types import MappingProxyType, UnionType
from typing import TYPE_CHECKING, Annotated, Union, get_args, get_origin
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from airflow.api_fastapi.auth.managers.models.base_user import BaseUser
from airflow.api_fastapi.auth.managers.models.resource_details import AccessView
from airflow.api_fastapi.core_api.security import get_user, requires_access_view
from fastapi import Depends, HTTPException, Request, params, status
from fastapi.concurrency import run_in_threadpool
from fastapi.routing import APIRoute
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from scrollintel.exceptions import DatabaseError
from scrollintel.warehouse import WAREHOUSE_CONN_ID
from scrollintel.web.problems import PageProblem

if TYPE_CHECKING:
    from airflow.api_fastapi.auth.managers.base_auth_manager import BaseAuthManager
    from starlette.routing import BaseRoute

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
    """Return the dependencies every route of the app carries, in the order they run.

    :func:`requires_website_access` (who is asking, and may they use the UI at all), then
    :func:`check_parameters` (no NUL bytes, no integers past ``bigint``), then
    :func:`check_route_permission` (the permission and same-origin check of a state-changing
    route). Page-specific reads come with each page's data.
    """
    return [requires_website_access(), Depends(check_parameters), Depends(check_route_permission)]


# -- what they may do: the permission of each state-changing route ------------------------------

#: Methods that change nothing; every other method needs a line in :data:`ROUTE_PERMISSIONS`.
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


@dataclass(frozen=True)
class Permission:
    """An Airflow permission a state-changing route needs, asked of the configured auth manager.

    ``action`` and ``needs`` make the refusal: "Forbidden: <action> needs <needs>".
    """

    name: str
    """Short stable name (``audit:verify``): the table, tests and docs use it."""
    action: str
    """What the route does, as the subject of the refusal: ``running the audit ledger verification``."""
    needs: str
    """The Airflow permission in words, with the FAB roles that have it by default."""
    is_authorized: Callable[[BaseAuthManager, BaseUser], bool]
    """Ask the auth manager (``is_authorized_*``, as Airflow's ``requires_access_*`` do)."""
    airflow_user: bool = True
    """False for a route called by another system that signs its requests (:data:`SLACK_SIGNATURE`): no
    Airflow login, no auth manager question; the route verifies the signature itself."""


def _may_edit_warehouse_connection(manager: BaseAuthManager, user: BaseUser) -> bool:
    from airflow.api_fastapi.auth.managers.models.resource_details import ConnectionDetails

    return manager.is_authorized_connection(
        method="PUT", details=ConnectionDetails(conn_id=WAREHOUSE_CONN_ID), user=user
    )


def _may_trigger_dag_runs(manager: BaseAuthManager, user: BaseUser) -> bool:
    from airflow.api_fastapi.auth.managers.models.resource_details import DagAccessEntity

    return manager.is_authorized_dag(method="POST", access_entity=DagAccessEntity.RUN, user=user)


AUDIT_VERIFY = Permission(
    "audit:verify",
    action="running the audit ledger verification",
    needs=f"the right to edit the Airflow connection {WAREHOUSE_CONN_ID} (roles Op and Admin)",
    is_authorized=_may_edit_warehouse_connection,
)
"""Verify the ledger now: it reads every entry and stores the outcome in the warehouse.

Airflow has no right to write its audit log (FAB's roles only read it, Admin alone), so the
check is the operator's right over the database holding the ledger: editing its connection.
"""

LINEAGE_WRITE = Permission(
    "lineage:write",
    action="posting lineage",
    needs="the right to trigger DAG runs (roles User, Op and Admin), or the lineage API key",
    is_authorized=_may_trigger_dag_runs,
)
"""Post OpenLineage events as an Airflow user (producers send the lineage API key instead)."""


def _may_answer_hitl(manager: BaseAuthManager, user: BaseUser) -> bool:
    from airflow.api_fastapi.auth.managers.models.resource_details import DagAccessEntity

    return manager.is_authorized_dag(method="PUT", access_entity=DagAccessEntity.HITL_DETAIL, user=user)


APPROVALS_ANSWER = Permission(
    "approvals:answer",
    action="answering an approval request",
    needs="the right to answer human-in-the-loop tasks (roles User, Op and Admin) and being an assigned approver",
    is_authorized=_may_answer_hitl,
)
"""Approve or reject on the Approvals page. Airflow's own HITL API then checks the user is assigned
(403 otherwise: the requester under separation of duties) and that nobody answered first (409)."""


def _no_airflow_user(manager: BaseAuthManager, user: BaseUser) -> bool:
    return False


SLACK_SIGNATURE = Permission(
    "slack:signature",
    action="answering an approval from Slack",
    needs="a request signed with the Slack app's signing secret (Slack signature, not an Airflow login)",
    is_authorized=_no_airflow_user,
    airflow_user=False,
)
"""Slack signature: Slack's interactivity requests carry no Airflow credential; the route checks Slack's
``X-Slack-Signature`` (401 otherwise) and acts as the Airflow user the Slack user is mapped to
(:mod:`scrollintel.web.routes.slack`). No Airflow user is ever granted this line."""

#: The DAG a subject request on the Compliance page starts (``dags/compliance_erasure.py``).
ERASURE_DAG_ID = "compliance_erasure"


def _may_handle_subjects(manager: BaseAuthManager, user: BaseUser) -> bool:
    from airflow.api_fastapi.auth.managers.models.resource_details import DagAccessEntity, DagDetails

    return _may_edit_warehouse_connection(manager, user) and manager.is_authorized_dag(
        method="POST", access_entity=DagAccessEntity.RUN, details=DagDetails(id=ERASURE_DAG_ID), user=user
    )


COMPLIANCE_SUBJECT = Permission(
    "compliance:subject",
    action="finding a data subject or opening a subject request",
    needs=(
        f"the rights to edit the Airflow connection {WAREHOUSE_CONN_ID} and to trigger runs of the DAG "
        f"{ERASURE_DAG_ID} (roles Op and Admin)"
    ),
    is_authorized=_may_handle_subjects,
)
"""Find a subject, export their data, open an erasure request. A find changes nothing but shows where a
person's data is, so it is a POST under this permission: the operator's right over the warehouse (who may
edit its connection may read it all already) and the right to start the erasure DAG."""

COMPLIANCE_EVIDENCE = Permission(
    "compliance:evidence",
    action="building a SOC 2 evidence pack",
    needs=f"the right to edit the Airflow connection {WAREHOUSE_CONN_ID} (roles Op and Admin)",
    is_authorized=_may_edit_warehouse_connection,
)
"""Build an evidence pack: it reads the ledger, approvals and retention proofs, signs them with the ledger's
key and records the pack in the ledger (the same right as :data:`AUDIT_VERIFY`)."""

ROUTE_PERMISSIONS: Mapping[tuple[str, str], Permission] = MappingProxyType(
    {
        ("POST", "/audit/verify"): AUDIT_VERIFY,
        ("POST", "/api/audit/verify"): AUDIT_VERIFY,
        ("POST", "/approvals/answer"): APPROVALS_ANSWER,
        ("POST", "/compliance/find"): COMPLIANCE_SUBJECT,
        ("POST", "/compliance/requests"): COMPLIANCE_SUBJECT,
        ("POST", "/compliance/evidence"): COMPLIANCE_EVIDENCE,
        ("POST", "/api/v1/lineage"): LINEAGE_WRITE,
        ("POST", "/api/v1/lineage/batch"): LINEAGE_WRITE,
        # Marquez's deprecated resource writes: a lineage writer is told (405) to post OpenLineage instead.
        ("PUT", "/api/v1/namespaces/{path:path}"): LINEAGE_WRITE,
        ("POST", "/api/v1/namespaces/{path:path}"): LINEAGE_WRITE,
        ("PUT", "/api/v1/sources/{path:path}"): LINEAGE_WRITE,
        ("PUT", "/api/v1/tags/{path:path}"): LINEAGE_WRITE,
        ("POST", "/api/v1/jobs/runs/{path:path}"): LINEAGE_WRITE,
        # A separate small app at /slack, without the app-level Airflow login: Slack signs its requests.
        ("POST", "/slack/interactivity"): SLACK_SIGNATURE,
    }
)
"""``(method, path inside the app) -> Permission`` for every state-changing route, and only those.

Paths are route templates as the app declares them (``/audit/entries/{seq}``), mounted apps'
routes with their mount path. The lineage writes are enforced by :func:`lineage_writer` (which
also accepts the API key), the Slack interactivity endpoint by Slack's signature
(:data:`SLACK_SIGNATURE`); all others by :func:`check_route_permission`.
"""


def may(user: BaseUser, permission: Permission) -> bool:
    """Whether ``user`` has ``permission`` (a page shows an action only to those who may use it)."""
    from airflow.api_fastapi.app import get_auth_manager

    return permission.is_authorized(get_auth_manager(), user)


def authorize(request: Request, user: BaseUser, permission: Permission) -> None:
    """Refuse (403) unless ``user`` has ``permission`` and the request is not a cross-site cookie post."""
    if not may(user, permission):
        raise HTTPException(status.HTTP_403_FORBIDDEN, f"Forbidden: {permission.action} needs {permission.needs}")
    refuse_cross_site(request)


def _route_template(request: Request) -> str | None:
    route = request.scope.get("route")
    return getattr(route, "path_format", None) or getattr(route, "path", None)


async def check_route_permission(request: Request, user: CurrentUser) -> None:
    """The app-level permission check: nothing for a safe method, else the route's line of :data:`ROUTE_PERMISSIONS`.

    A state-changing route without a line is refused (403): a forgotten permission fails closed.
    The auth manager is asked in a worker thread (FAB's may read its database), as FastAPI runs
    Airflow's own sync ``requires_access_*`` dependencies; safe methods never leave the event loop.
    """
    if request.method in SAFE_METHODS:
        return
    template = _route_template(request)
    permission = ROUTE_PERMISSIONS.get((request.method, template or ""))
    if permission is None:
        raise HTTPException(
            status.HTTP_403_FORBIDDEN,
            f"Forbidden: {request.method} {template} names no permission in scrollintel.web.deps.ROUTE_PERMISSIONS",
        )
    await run_in_threadpool(authorize, request, user, permission)


def state_changing_routes(routes: list[BaseRoute], prefix: str = "") -> Iterator[tuple[str, str]]:
    """``(method, path)`` of every route in ``routes`` (mounted apps included) that is not a safe method."""
    from starlette.routing import Mount, Route

    for route in routes:
        if isinstance(route, Mount):
            yield from state_changing_routes(getattr(route.app, "routes", []), prefix + route.path)
        elif isinstance(route, Route):
            for method in sorted((route.methods or set()) - SAFE_METHODS):
                yield method, prefix + route.path


def check_route_permissions(routes: list[BaseRoute]) -> None:
    """Raise ``RuntimeError`` naming each state-changing route that has no line in :data:`ROUTE_PERMISSIONS`."""
    missing = [
        f"{method} {path}" for method, path in state_changing_routes(routes) if (method, path) not in ROUTE_PERMISSIONS
    ]
    if missing:
        raise RuntimeError(
            "state-changing routes without a permission in scrollintel.web.deps.ROUTE_PERMISSIONS: "
            + ", ".join(missing)
        )


bearer_scheme = HTTPBearer(auto_error=False)


async def lineage_writer(
    request: Request,
    bearer: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer_scheme)],
) -> str:
    """Who is writing lineage: ``api-key:scrollintel_lineage`` or ``user:<name>``.

    A bearer that is the API key of the Airflow connection ``scrollintel_lineage`` is a producer.
    Any other bearer, or the UI cookie without one, is checked as an Airflow token by Airflow's own
    ``get_user`` (401 missing or expired, 403 invalid); the user then needs :data:`LINEAGE_WRITE`
    and, when signed in by cookie, a same-origin request (403).
    """
    from scrollintel.lineage import apikey

    if bearer is not None and bearer.scheme.lower() == "bearer":
        fresh = apikey.is_cached()  # a cached key is compared right here; a lookup may do I/O
        key_matches = (
            apikey.matches(bearer.credentials) if fresh else await run_in_threadpool(apikey.matches, bearer.credentials)
        )
        if key_matches:
            return apikey.API_KEY_WRITER
    user = await get_user(request, None, bearer)
    authorize(request, user, LINEAGE_WRITE)
    return f"user:{user.get_name()}"


LineageWriter = Annotated[str, Depends(lineage_writer)]


# -- cross-site requests ------------------------------------------------------------------------------

_DEFAULT_PORTS = {"http": 80, "https": 443}


def _origin(url: str) -> str | None:
    """``scheme://host[:port]`` of ``url``, lower case, without a default port; None when it has none."""
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError:
        return None
    scheme = parts.scheme.lower()
    if scheme not in _DEFAULT_PORTS or not parts.hostname:
        return None
    host = f"[{parts.hostname}]" if ":" in parts.hostname else parts.hostname
    return f"{scheme}://{host}" + (f":{port}" if port and port != _DEFAULT_PORTS[scheme] else "")


def configured_base_url() -> str:
    """Airflow's ``[api] base_url`` (empty when not set)."""
    from airflow.configuration import conf

    return conf.get("api", "base_url", fallback="") or ""


def own_origin(request: Request) -> str | None:
    """The platform's own origin: that of ``[api] base_url`` when set, else the request's scheme and host.

    The base URL is what a browser behind a proxy sees. Without it the request's ``Host`` is used,
    which a forged cross-site request cannot change: the victim's browser sets it.
    """
    base = configured_base_url()
    return _origin(base) if base else _origin(f"{request.url.scheme}://{request.headers.get('host', '')}/")


def is_cookie_authenticated(request: Request) -> bool:
    """Whether Airflow's ``get_user`` takes this request's user from the UI cookie (no bearer header)."""
    scheme, _, credentials = request.headers.get("authorization", "").partition(" ")
    return not (scheme.lower() == "bearer" and credentials.strip())


def cross_site_reason(request: Request) -> str | None:
    """Why a cookie-authenticated request is not from the platform's own pages, or None when it is."""
    fetch_site = request.headers.get("sec-fetch-site")
    if fetch_site is not None:
        if fetch_site.strip().lower() == "same-origin":
            return None
        return f"the browser marks it Sec-Fetch-Site: {fetch_site}"
    ours = own_origin(request)
    for header in ("origin", "referer"):
        given = request.headers.get(header)
        if given is None:
            continue
        theirs = _origin(given)
        if theirs is not None and theirs == ours:
            return None
        return f"its {header.capitalize()} {given[:200]!r} is not this site ({ours})"
    return "it carries none of Sec-Fetch-Site, Origin or Referer"


def refuse_cross_site(request: Request) -> None:
    """Refuse (403) a state-changing request signed in by the UI cookie that is not from the platform's own pages.

    It must carry ``Sec-Fetch-Site: same-origin``, or an ``Origin`` (without one, a ``Referer``)
    equal to :func:`own_origin`. Airflow's ``_token`` cookie is SameSite=Lax, but a browser that
    sends no Sec-Fetch-Site may still attach it; bearer-token calls carry no ambient credential.
    """
    if not is_cookie_authenticated(request):
        return
    reason = cross_site_reason(request)
    if reason is not None:
        raise HTTPException(
            status.HTTP_403_FORBIDDEN,
            f"Cross-site request refused: {reason}. Use the platform's own pages, "
            "or send API calls with an Authorization: Bearer token.",
        )


# -- parameter values -----------------------------------------------------------------------------------

#: PostgreSQL's bigint: no integer parameter (seq, offset, limit, depth...) can mean anything beyond it.
MAX_BIGINT = 2**63 - 1
_WHOLE_NUMBER = re.compile(r"\s*[+-]?\d+\s*")


def _is_integer(annotation: object) -> bool:
    if annotation is int:
        return True
    if get_origin(annotation) in (Union, UnionType):
        return any(_is_integer(arg) for arg in get_args(annotation))
    return False


_integer_names: dict[int, tuple[APIRoute, frozenset[str]]] = {}


def _integer_parameters(route: APIRoute) -> frozenset[str]:
    """Names (aliases) of the query and path parameters of ``route`` and its dependencies declared as ``int``.

    Worked out once per route (routes are not hashable: the cache is keyed by identity and keeps the route).
    """
    from fastapi.dependencies.utils import get_flat_dependant

    cached = _integer_names.get(id(route))
    if cached is not None and cached[0] is route:
        return cached[1]
    flat = get_flat_dependant(route.dependant)
    names = frozenset(
        field.alias for field in (*flat.query_params, *flat.path_params) if _is_integer(field.field_info.annotation)
    )
    _integer_names[id(route)] = (route, names)
    return names


def check_parameters(request: Request) -> None:
    """Refuse (400, naming the parameter) a query or path value with a NUL byte, or an integer beyond ``bigint``.

    Runs for every route before its handler and its own parameter validation; FastAPI's
    validation then applies each route's bounds (422).
    """
    route = request.scope.get("route")
    integers = _integer_parameters(route) if isinstance(route, APIRoute) else frozenset()
    for kind, items in (("query", request.query_params.multi_items()), ("path", request.path_params.items())):
        for name, raw in items:
            value = str(raw)
            if "\x00" in name or "\x00" in value:
                raise HTTPException(status.HTTP_400_BAD_REQUEST, f"The {kind} parameter {name!r} contains a NUL byte")
            if name in integers and _WHOLE_NUMBER.fullmatch(value):
                digits = value.strip().lstrip("+-").lstrip("0")
                if len(digits) > len(str(MAX_BIGINT)) or (digits and int(digits) > MAX_BIGINT):
                    raise HTTPException(
                        status.HTTP_400_BAD_REQUEST,
                        f"The {kind} parameter {name!r} is out of range: whole numbers here are at most {MAX_BIGINT}",
                    )


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
