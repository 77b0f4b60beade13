"""The Jinja environment of the governance pages and what every template shares.

:func:`render` draws a template inside ``base.html`` with the nav and the signed-in user's name.
:func:`render_page` does so for a page of the nav, under the title the nav gives it.
The helpers below are handed to templates in their context: :func:`code_spans` shows
`backticked` text as code, :func:`format_time` and :func:`time_ago` show moments in UTC.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from fastapi.templating import Jinja2Templates
from markupsafe import Markup

from scrollintel.web.pages import PAGES, nav_page

if TYPE_CHECKING:
    from airflow.api_fastapi.auth.managers.models.base_user import BaseUser
    from fastapi import Request, Response

TEMPLATES_DIR = Path(__file__).resolve().parent / "templates"

templates = Jinja2Templates(directory=TEMPLATES_DIR)


def display_name(user: BaseUser) -> str:
    """Return the name to show in the page header for ``user``."""
    return user.get_name()


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


def render_page(request: Request, slug: str, template: str, *, user: BaseUser | None, **context: Any) -> Response:
    """Render the nav page ``slug`` from ``template``: titled as in the nav, and marked current there."""
    page = nav_page(slug)
    return render(request, template, user=user, title=page.title, current=page.slug, **context)


@functools.cache
def _markdown() -> Any:
    from markdown_it import MarkdownIt

    # CommonMark with tables; raw HTML in the text is escaped, never passed through
    return MarkdownIt("commonmark", {"html": False}).enable("table")


def markdown(text: str) -> Markup:
    """``text`` (Markdown, e.g. an approval request's body) as safe HTML: tags written in it are escaped."""
    return Markup(_markdown().render(text))  # noqa: S704 - markdown-it escapes the text (html=False)


def code_spans(text: str) -> Markup:
    """Escape ``text`` and show its `backticked` parts as code."""
    code = Markup("<code>{}</code>")
    return Markup("").join(code.format(part) if index % 2 else part for index, part in enumerate(text.split("`")))


def format_time(value: datetime | None, *, zone: bool = True) -> str:
    """``2026-11-22 10:04:05 UTC`` (without `` UTC`` when ``zone`` is false; empty for None)."""
    if value is None:
        return ""
    return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S" + (" UTC" if zone else ""))


def time_ago(value: datetime | None, now: datetime | None = None) -> str:
    """A rough age: ``just now``, ``5 minutes ago``, ``3 hours ago``, ``2 days ago``."""
    if value is None:
        return ""
    seconds = int(((now or datetime.now(UTC)) - value).total_seconds())
    if seconds < 0:
        return "in the future"
    for unit, size in (("day", 86400), ("hour", 3600), ("minute", 60)):
        if seconds >= size:
            count = seconds // size
            return f"{count} {unit}{'s' if count != 1 else ''} ago"
    return "just now"
