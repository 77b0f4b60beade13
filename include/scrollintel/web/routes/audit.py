"""Audit page: the hash-chained audit ledger and whether its chain verifies."""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter, Request, Response
from pydantic import BaseModel, Field

from scrollintel.web.auth import CurrentUser
from scrollintel.web.routes import page, render

router = APIRouter()

EMPTY_NOTICE = "No audit records yet — the hash-chained ledger starts recording when the audit capability lands."


class AuditRecord(BaseModel):
    """One entry of the audit ledger."""

    sequence: int
    recorded_at: datetime
    actor: str
    action: str
    subject: str
    record_hash: str
    previous_hash: str | None = None


class AuditState(BaseModel):
    """The newest ledger entries and the chain check; ``notice`` says why the list is empty."""

    items: list[AuditRecord]
    total_entries: int
    chain_verified: bool | None = Field(
        default=None, description="True or False once verified; null when there is nothing to verify."
    )
    notice: str | None = None


def load_audit() -> AuditState:
    """Return the newest audit records; the ledger does not exist yet."""
    return AuditState(items=[], total_entries=0, chain_verified=None, notice=EMPTY_NOTICE)


@router.get("/audit", name="audit_page", include_in_schema=False)
def audit_page(request: Request, user: CurrentUser) -> Response:
    """Render the audit page."""
    this = page("audit")
    return render(request, "audit.html", user=user, title=this.title, current=this.slug, state=load_audit())


@router.get("/api/audit", name="audit_api")
def audit_api() -> AuditState:
    """Return the newest audit records as JSON."""
    return load_audit()
