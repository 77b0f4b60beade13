"""The governance web app: server-rendered pages and a JSON API, mounted in the Airflow api-server.

``plugins/scrollintel_plugin.py`` mounts :func:`create_app` under :data:`URL_PREFIX` and adds one
Airflow UI nav entry per :data:`PAGES` item. Importing this module is cheap (no FastAPI, no
Airflow API modules, no database): Airflow imports the plugin in every process, including each
task. :func:`create_app` imports the routers and Airflow's API security module; it opens no
connection either.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from fastapi import FastAPI
    from starlette.types import ASGIApp, Message, Receive, Scope, Send

log = logging.getLogger(__name__)

URL_PREFIX = "/scrollintel"
"""Where the api-server mounts the app; pages live at ``/scrollintel/<slug>``, data at ``/scrollintel/api/<slug>``."""

# The pages are framed by the Airflow UI (same origin) and draw charts with vendored, same-origin
# scripts only; nothing is loaded from elsewhere.
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
    "connect-src 'self'; object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'self'"
)


@dataclass(frozen=True)
class Page:
    """One governance page: a nav entry, an HTML page and a JSON endpoint."""

    slug: str
    title: str
    summary: str

    @property
    def path(self) -> str:
        """Path of the HTML page inside the app."""
        return f"/{self.slug}"

    @property
    def api_path(self) -> str:
        """Path of the page's JSON endpoint inside the app."""
        return f"/api/{self.slug}"


PAGES: tuple[Page, ...] = (
    Page(
        "approvals",
        "Approvals",
        "Model promotions and other gated changes waiting for a decision, and who decided.",
    ),
    Page("audit", "Audit", "The hash-chained audit ledger: every decision, load and deletion, verifiable."),
    Page("quality", "Quality", "Data quality gates per dataset: latest status, failures over time, data docs."),
    Page("lineage", "Lineage", "Datasets and jobs from OpenLineage events: upstream, downstream and impact."),
    Page("cost", "Cost & ROI", "Cost by DAG, team and dataset; budgets, forecast and return on investment."),
    Page("compliance", "Compliance", "GDPR Art. 30 record, erasure impact and SOC 2 evidence to download."),
)


class SecurityHeadersMiddleware:
    """Add the content security policy and related headers to every response of the app."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Pass the request through and add the headers when the response starts."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                headers += [
                    (b"content-security-policy", CONTENT_SECURITY_POLICY.encode()),
                    (b"x-content-type-options", b"nosniff"),
                    (b"referrer-policy", b"same-origin"),
                ]
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, send_with_headers)


def create_app() -> FastAPI:
    """Build the governance FastAPI app; every route requires an authenticated Airflow user.

    Airflow does not authenticate plugin apps, so the app carries Airflow's own security
    dependency (see :mod:`scrollintel.web.auth`) at app level: each route added to any router
    included here inherits it. The interactive docs and OpenAPI routes FastAPI would add without
    that dependency are switched off. No database connection is opened here.
    """
    from fastapi import FastAPI
    from starlette.exceptions import HTTPException as StarletteHTTPException

    from scrollintel.web.auth import route_dependencies
    from scrollintel.web.routes import (
        approvals,
        audit,
        compliance,
        cost,
        handle_http_exception,
        home,
        lineage,
        lineage_api,
        quality,
        static,
    )

    app = FastAPI(
        title="ScrollIntel governance",
        summary="Approvals, audit, lineage, cost and compliance pages for the Airflow UI.",
        dependencies=route_dependencies(),
        docs_url=None,
        redoc_url=None,
        openapi_url=None,
    )
    for module in (home, approvals, audit, quality, lineage, cost, compliance, static):
        app.include_router(module.router)
    lineage_api.install(app)  # the lineage store's API: /api/lineage/* and the Marquez-compatible /api/v1
    app.add_exception_handler(StarletteHTTPException, handle_http_exception)
    app.add_middleware(SecurityHeadersMiddleware)
    log.debug("Governance web app created with %d routes", len(app.routes))
    return app
