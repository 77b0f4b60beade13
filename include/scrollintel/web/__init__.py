"""The governance web app: server-rendered pages and a JSON API, mounted in the Airflow api-server.

``plugins/scrollintel_plugin.py`` mounts :func:`create_app` under :data:`URL_PREFIX` and adds one
Airflow UI nav entry per page of :data:`scrollintel.web.pages.PAGES`. Importing this module is
cheap (no FastAPI, no Airflow API modules, no database): Airflow imports the plugin in every
process, including each task. :func:`create_app` imports the routers and Airflow's API security
module; it opens no connection either.

Inside the package: :mod:`~scrollintel.web.deps` holds the shared dependencies (who asks, what
they may do, which database), :mod:`~scrollintel.web.templating` the Jinja environment and what
templates share, :mod:`~scrollintel.web.problems` how failures are answered, and
:mod:`scrollintel.web.routes` one router per page. Routers import those modules, never each other.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from scrollintel.settings import WEB_URL_PREFIX

if TYPE_CHECKING:
    from fastapi import FastAPI
    from starlette.routing import Router
    from starlette.types import ASGIApp, Message, Receive, Scope, Send

log = logging.getLogger(__name__)

URL_PREFIX = WEB_URL_PREFIX
"""Where the api-server mounts the app; pages live at ``/scrollintel/<slug>``, data at ``/scrollintel/api/<slug>``."""

# The pages are framed by the Airflow UI (same origin) and draw charts with vendored, same-origin
# scripts only; nothing is loaded from elsewhere.
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
    "connect-src 'self'; object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'self'"
)


class SecurityHeadersMiddleware:
    """Add the content security policy and related headers to every response of the app."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Pass the request through and add the headers when the response starts.

        A response that sets its own content security policy keeps it (only the Model page's
        Evidently report does: a sandboxed policy of its own, see ``routes/model.py``).
        """
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                if not any(name.lower() == b"content-security-policy" for name, _ in headers):
                    headers.append((b"content-security-policy", CONTENT_SECURITY_POLICY.encode()))
                headers += [
                    (b"x-content-type-options", b"nosniff"),
                    (b"referrer-policy", b"same-origin"),
                ]
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, send_with_headers)


def relative_slash_redirects(router: Router) -> None:
    """Redirect a path that only matches with (or without) a trailing slash to a relative ``Location``.

    Starlette's own redirect builds an absolute URL from the request's ``Host`` header, so a
    forged ``Host: evil.example`` came back as ``Location: http://evil.example/...``. This one
    answers with the path alone (``/scrollintel/audit``), which the browser resolves against the
    address it asked, whatever proxy or host header is in between.
    """
    from urllib.parse import quote

    from starlette.responses import RedirectResponse
    from starlette.routing import Match, get_route_path

    router.redirect_slashes = False
    fallback = router.default

    async def redirect_or_fallback(scope: Scope, receive: Receive, send: Send) -> None:
        route_path = get_route_path(scope) if scope["type"] == "http" else ""
        if route_path not in ("", "/"):
            path = scope["path"]
            other = {**scope, "path": path.rstrip("/") if route_path.endswith("/") else f"{path}/"}
            # ``quote`` escapes a backslash too: "/\\evil.example" must not become a host for the browser.
            location = quote(other["path"], safe="/")
            if not location.startswith("//") and any(
                route.matches(other)[0] is not Match.NONE for route in router.routes
            ):
                query = scope.get("query_string", b"").decode("latin-1")
                response = RedirectResponse(f"{location}?{query}" if query else location)
                await response(scope, receive, send)
                return
        await fallback(scope, receive, send)

    router.default = redirect_or_fallback


def create_app() -> FastAPI:
    """Build the governance FastAPI app; every route requires an authenticated Airflow user, or Slack's signature.

    Airflow does not authenticate plugin apps, so the app carries Airflow's own security
    dependency (see :mod:`scrollintel.web.deps`) at app level: each route added to any router
    included here inherits it, with the parameter checks and the permission of state-changing
    routes; building the app fails when such a route has no permission. The one exception is the
    small Slack app at ``/slack`` (:mod:`scrollintel.web.routes.slack`), whose route verifies Slack's
    request signature instead (``SLACK_SIGNATURE`` in the table). The interactive docs and
    OpenAPI routes FastAPI would add without that dependency are switched off. Redirects never
    carry the request's ``Host`` (:func:`relative_slash_redirects`). No database connection is
    opened here.
    """
    from fastapi import FastAPI
    from starlette.exceptions import HTTPException as StarletteHTTPException
    from starlette.routing import Mount, Router

    from scrollintel.web.deps import check_route_permissions, route_dependencies
    from scrollintel.web.problems import handle_http_exception
    from scrollintel.web.routes import (
        approvals,
        audit,
        compliance,
        cost,
        home,
        lineage,
        lineage_api,
        model,
        quality,
        slack,
        static,
    )

    app = FastAPI(
        title="ScrollIntel governance",
        summary="Approvals, audit, quality, lineage, model, cost and compliance pages for the Airflow UI.",
        dependencies=route_dependencies(),
        docs_url=None,
        redoc_url=None,
        openapi_url=None,
    )
    for module in (home, approvals, audit, quality, lineage, model, cost, compliance, static):
        app.include_router(module.router)
    lineage_api.install(app)  # the lineage store's API: /api/lineage/* and the Marquez-compatible /api/v1
    slack.install(app)  # /slack/interactivity: authenticated by Slack's signature, not by Airflow login
    check_route_permissions(app.routes)  # every state-changing route names its permission
    relative_slash_redirects(app.router)
    for route in app.routes:
        inner = getattr(route.app, "router", route.app) if isinstance(route, Mount) else None
        if isinstance(inner, Router):
            relative_slash_redirects(inner)
    app.add_exception_handler(StarletteHTTPException, handle_http_exception)
    app.add_middleware(SecurityHeadersMiddleware)
    log.debug("Governance web app created with %d routes", len(app.routes))
    return app
