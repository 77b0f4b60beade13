"""How the app answers what goes wrong: HTTP errors, and the problems of the pages reading the warehouse.

:func:`handle_http_exception` answers HTTP errors (401, 403, 404, ...) as a small HTML page to
browsers and as Airflow-style JSON to everyone else.

A page that reads the warehouse describes what it reads in a :class:`PageData` and builds its
router with ``APIRouter(route_class=problem_route(ITS_DATA))``. A database failure, in a
dependency or in the endpoint, is then never a 500 stack: :func:`explain` says what happened and
what to do (no credentials) as a :class:`PageProblem`, which a page shows in ``problem.html`` and
an ``/api`` route answers as JSON ``{"detail": "<title>: <message>"}``, 503 unless the problem
says otherwise. A route may raise a :class:`PageProblem` itself (an unknown entry is a 404
panel). The :data:`~scrollintel.web.deps.PageUser` and :data:`~scrollintel.web.deps.DatabaseUrl`
dependencies keep the user and the URL on the request, so the panel still shows the page header
and the server's log says where the database is.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, cast
from urllib.parse import urlsplit

from fastapi import Request, Response
from fastapi.exception_handlers import http_exception_handler
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute

from scrollintel.exceptions import DatabaseError, ScrollIntelError
from scrollintel.web.pages import nav_page
from scrollintel.web.templating import code_spans, render

if TYPE_CHECKING:
    from starlette.exceptions import HTTPException as StarletteHTTPException

log = logging.getLogger(__name__)

MIGRATE_HINT = "Run `scrollintel db upgrade` (`make run` does it) to create the governance schema."


class PageProblem(ScrollIntelError):
    """A page cannot show its data; ``title`` and ``hint`` say why and what to do."""

    def __init__(self, title: str, message: str, *, hint: str = "", status_code: int = 503) -> None:
        super().__init__(message)
        self.title = title
        self.message = message
        self.hint = hint
        self.status_code = status_code


@dataclass(frozen=True)
class PageData:
    """What a page reads from the warehouse, in the words of its problems (see :func:`explain`).

    For the Audit page: "Not allowed to read *the audit ledger*", "*The ledger tables (…)* are not
    in …", "The database role … may not read *the ledger* in …".
    """

    slug: str
    """The page (its breadcrumb, its "Back to" link and its log lines)."""
    data: str
    """What it reads: ``the audit ledger``."""
    missing: str
    """The title when its tables are not there: ``The audit ledger does not exist yet``."""
    tables: str
    """Its tables, as a subject: ``The ledger tables (governance.audit_entry and its companions)``."""
    readable: str
    """What a role without the grant may not read: ``the ledger``."""
    grant: str
    """Where the runtime role gets its grant: ``the governance migrations grant it SELECT on the ledger``."""
    migrate_hint: str = MIGRATE_HINT
    own_problem: Callable[[BaseException], PageProblem | None] | None = None
    """The page's own failures worth a panel (asked first), e.g. a corrupted ledger; None for others."""


# -- database errors as problems ---------------------------------------------------------------


def database_errors(*more: type[BaseException]) -> tuple[type[BaseException], ...]:
    """What reading the warehouse may raise (imported when first needed), and ``more``."""
    import psycopg
    from sqlalchemy.exc import DBAPIError

    return (psycopg.Error, DBAPIError, DatabaseError, *more)


def _where(url: str) -> str:
    """``host:port/database`` of ``url``, never its credentials: for the server's log, never a response."""
    parts = urlsplit(url)
    port = f":{parts.port}" if parts.port else ""
    return f"{parts.hostname or 'localhost'}{port}{parts.path}"


#: What a failed connection says, by the words of libpq's message, without its host or port.
_CONNECTION_REASONS = (
    (("connection refused",), "connection refused"),
    (("timeout expired", "timed out"), "the connection timed out"),
    (
        ("resolve host", "translate host name", "name or service not known", "nodename nor servname"),
        "the host name does not resolve",
    ),
    (("no route to host", "network is unreachable"), "the network cannot reach the server"),
    (("server closed the connection",), "the server closed the connection"),
    (("starting up",), "the database system is starting up"),
    (("shutting down",), "the database system is shutting down"),
    (("too many clients", "too many connections"), "the server has too many connections"),
    (("ssl",), "the TLS handshake failed"),
)


def connection_failure(err: BaseException) -> str:
    """Why a connection to the warehouse failed, in a few words that never name its host, port or user.

    libpq's messages quote the server's address (``connection to server at "10.0.3.7", port 5432
    failed: ...``), which a response must not show; the full message goes to the server's log.
    """
    text = str(err).lower()
    for needles, reason in _CONNECTION_REASONS:
        if any(needle in text for needle in needles):
            return reason
    return "the connection failed"


def explain(err: BaseException, url: str | None, about: PageData) -> PageProblem:
    """What the page reading ``about`` says about database error ``err`` (no credentials, no stack).

    The messages name the Airflow connection, never the database's host, port or name: those are
    internal, and ``url`` (its ``host:port/database``) only goes to the log by :func:`problem_of`.
    """
    import psycopg
    from sqlalchemy.exc import DBAPIError

    original = err.orig if isinstance(err, DBAPIError) and err.orig is not None else err
    state = getattr(original, "sqlstate", None) if isinstance(original, psycopg.Error) else None
    if state in ("42P01", "3F000"):  # undefined_table, invalid_schema_name
        return PageProblem(about.missing, f"{about.tables} are not in the warehouse database.", hint=about.migrate_hint)
    if state == "42501":  # insufficient_privilege
        return PageProblem(
            f"Not allowed to read {about.data}",
            f"The database role of the postgres_warehouse connection may not read {about.readable}.",
            hint=f"Use the platform's runtime role; {about.grant}.",
        )
    if state is not None and state.startswith("28"):  # invalid_authorization_specification, invalid_password
        return PageProblem(
            "The warehouse refused the login",
            f"The warehouse did not accept the credentials of the postgres_warehouse connection (SQLSTATE {state}).",
            hint="Check the login and password of the Airflow connection `postgres_warehouse`.",
        )
    if state == "3D000":  # invalid_catalog_name
        return PageProblem(
            "The warehouse database does not exist",
            "The database of the postgres_warehouse connection is not there.",
            hint="Check the schema (database name) of the Airflow connection `postgres_warehouse`.",
        )
    if isinstance(original, psycopg.OperationalError) and (state is None or state.startswith(("08", "57P"))):
        return PageProblem(
            "The warehouse cannot be reached",
            f"Could not connect to the database of the postgres_warehouse connection: {connection_failure(original)}.",
            hint="Check that PostgreSQL is running (`make status`) and the `postgres_warehouse` connection.",
        )
    if isinstance(original, DatabaseError):
        return PageProblem("The warehouse is not configured", str(original))
    code = f" (SQLSTATE {state})" if state else ""
    return PageProblem(
        f"{about.data[:1].upper()}{about.data[1:]} could not be read",
        f"The query failed{code}: {type(original).__name__}.",
        hint="See the api-server log for details.",
    )


def problem_of(err: BaseException, url: str | None, about: PageData) -> PageProblem | None:
    """``err`` as a problem of the page reading ``about``, logged with where the database is (no credentials).

    None when ``err`` is neither one of the page's own failures nor a database error.
    """
    problem = about.own_problem(err) if about.own_problem else None
    if problem is None and isinstance(err, database_errors()):
        problem = explain(err, url, about)
    if problem is not None:
        where = _where(url) if url else "the warehouse"
        log.warning("%s page: %s (%s on %s)", about.slug, problem.title, type(err).__name__, where)
    return problem


def problem_route(about: PageData) -> type[APIRoute]:
    """A route class for the router of the page reading ``about``: problems become a panel or JSON.

    Covers the dependencies and the endpoint alike: a :class:`PageProblem` raised by either, and
    the errors :func:`problem_of` knows, are caught around the whole request handler. Pages get
    ``problem.html``; routes under ``/api`` get ``{"detail": "<title>: <message>"}``.
    """

    class ProblemRoute(APIRoute):
        def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
            """Wrap FastAPI's handler for this route."""
            handler = super().get_route_handler()
            is_api = self.path.startswith("/api")

            async def guarded(request: Request) -> Response:
                try:
                    return await handler(request)
                except PageProblem as err:
                    problem = err
                except Exception as err:
                    found = problem_of(err, getattr(request.state, "database_url", None), about)
                    if found is None:
                        raise
                    problem = found
                if is_api:
                    detail = f"{problem.title}: {problem.message}"
                    return JSONResponse({"detail": detail}, status_code=problem.status_code)
                return _problem_page(request, problem, about.slug)

            return guarded

    return ProblemRoute


def _problem_page(request: Request, problem: PageProblem, slug: str) -> Response:
    this = nav_page(slug)
    return render(
        request,
        "problem.html",
        user=getattr(request.state, "page_user", None),
        title=this.title,
        current=this.slug,
        status_code=problem.status_code,
        problem=problem,
        page_href=request.url_for(f"{slug}_page").path,
        code_spans=code_spans,
    )


# -- HTTP errors -------------------------------------------------------------------------------

_ERROR_TITLES = {401: "Sign in to Airflow first", 403: "Not allowed", 404: "Page not found"}


def _wants_html(request: Request) -> bool:
    api_root = f"{request.scope.get('root_path', '')}/api"
    is_api = request.url.path == api_root or request.url.path.startswith(f"{api_root}/")
    return not is_api and "text/html" in request.headers.get("accept", "")


async def handle_http_exception(request: Request, exc: Exception) -> Response:
    """Answer HTTP errors as a small HTML page to browsers and as Airflow-style JSON to everyone else.

    The status code and headers (``WWW-Authenticate``) are kept, so a refused page is still a 401
    or 403 whatever the client asked for.
    """
    # Registered for StarletteHTTPException only, which FastAPI's HTTPException subclasses.
    http_exc = cast("StarletteHTTPException", exc)
    if not _wants_html(request):
        return await http_exception_handler(request, http_exc)
    return render(
        request,
        "error.html",
        user=None,
        title=_ERROR_TITLES.get(http_exc.status_code, "Something went wrong"),
        status_code=http_exc.status_code,
        headers=http_exc.headers,
        detail=http_exc.detail,
        error_code=http_exc.status_code,
        airflow_home=f"{request.scope.get('app_root_path', '')}/",
    )
