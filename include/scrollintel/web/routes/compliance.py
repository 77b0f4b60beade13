"""Compliance page: generated reports (GDPR Art. 30 record, erasure impact, SOC 2 evidence)."""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter, Request, Response
from pydantic import BaseModel

from scrollintel.web.deps import CurrentUser
from scrollintel.web.templating import render_page

router = APIRouter()

EMPTY_NOTICE = "No compliance reports yet — reports appear once the compliance capability generates them."


class ComplianceReport(BaseModel):
    """A generated report ready to download."""

    kind: str
    title: str
    generated_at: datetime
    download_href: str


class ComplianceState(BaseModel):
    """The generated reports; ``notice`` says why the list is empty when it is."""

    items: list[ComplianceReport]
    total_entries: int
    notice: str | None = None


def load_compliance() -> ComplianceState:
    """Return the generated reports; none exist yet."""
    return ComplianceState(items=[], total_entries=0, notice=EMPTY_NOTICE)


@router.get("/compliance", name="compliance_page", include_in_schema=False)
def compliance_page(request: Request, user: CurrentUser) -> Response:
    """Render the compliance page."""
    return render_page(request, "compliance", "compliance.html", user=user, state=load_compliance())


@router.get("/api/compliance", name="compliance_api")
def compliance_api() -> ComplianceState:
    """Return the generated reports as JSON."""
    return load_compliance()
