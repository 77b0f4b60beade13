"""Home page: what each governance page is for, with links; and the JSON index of the pages."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from pydantic import BaseModel

from scrollintel.web.deps import CurrentUser
from scrollintel.web.pages import PAGES
from scrollintel.web.templating import display_name, render

router = APIRouter()


class PageLink(BaseModel):
    """Where a governance page and its JSON live."""

    slug: str
    title: str
    summary: str
    href: str
    api_href: str


class Index(BaseModel):
    """The signed-in user and the governance pages."""

    user: str
    pages: list[PageLink]


@router.get("/", name="home", include_in_schema=False)
def home_page(request: Request, user: CurrentUser) -> Response:
    """Render the home page with one card per governance page."""
    return render(request, "home.html", user=user, title="Governance")


@router.get("/api", name="index_api")
def index_api(request: Request, user: CurrentUser) -> Index:
    """List the governance pages and their JSON endpoints for the signed-in user."""
    return Index(
        user=display_name(user),
        pages=[
            PageLink(
                slug=p.slug,
                title=p.title,
                summary=p.summary,
                href=request.url_for(f"{p.slug}_page").path,
                api_href=request.url_for(f"{p.slug}_api").path,
            )
            for p in PAGES
        ],
    )
