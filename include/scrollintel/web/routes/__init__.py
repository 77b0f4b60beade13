"""Routers of the governance web app (one per page) and what they share: templates and error pages.

Every router here is included by :func:`scrollintel.web.create_app`, which applies Airflow's
authentication to all of them. A page module owns its HTML route, its JSON route
(``/api/<slug>``), the pydantic models of that JSON and one ``load_*`` function that both routes
read, so a capability that lands replaces only that function.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

from fastapi.exception_handlers import http_exception_handler
from fastapi.templating import Jinja2Templates

from scrollintel.web import PAGES, Page
from scrollintel.web.auth import display_name

if TYPE_CHECKING:
    from airflow.api_fastapi.auth.managers.models.base_user import BaseUser
    from fastapi import Request, Response
    from starlette.exceptions import HTTPException as StarletteHTTPException

WEB_DIR = Path(__file__).resolve().parent.parent
TEMPLATES_DIR = WEB_DIR / "templates"
STATIC_DIR = WEB_DIR / "static"

templates = Jinja2Templates(directory=TEMPLATES_DIR)

_ERROR_TITLES = {401: "Sign in to Airflow first", 403: "Not allowed", 404: "Page not found"}


def page(slug: str) -> Page:
    """Return the :class:`~scrollintel.web.Page` with ``slug``."""
    for candidate in PAGES:
        if candidate.slug == slug:
            return candidate
    raise KeyError(slug)


def render(
    request: Request,
    template: str,
    *,
    user: BaseUser | None,
    title: str,
    current: str | None = None,
    status_code: int = 200,
    headers: Mapping[str, str] | None = None,
    **context: Any,
) -> Response:
    """Render ``template`` inside the base layout with the nav and the signed-in user's name."""
    return templates.TemplateResponse(
        request,
        template,
        {
            "pages": PAGES,
            "current": current,
            "title": title,
            "user_name": display_name(user) if user is not None else None,
            **context,
        },
        status_code=status_code,
        headers=headers,
    )


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
