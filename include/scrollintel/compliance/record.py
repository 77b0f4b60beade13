"""The record of processing activities (GDPR Art. 30), generated from what the platform already knows.

One *activity* per source resource (a table, endpoint or file the platform ingests): its
controller team, purpose (the source's description), the categories of personal data (the
classes ingestion stored for its columns in ``governance.column_classification``, else the ones
its YAML declares), the category of data subjects (customers, where the data holds the customer
key or a personal class), recipients (the staging and mart tables built from it, found by name
and by the catalogue, and the models reading a mart), the retention class with its duration,
action and legal basis, and the safeguards (each classified column's masking policy).

Exports: XLSX (openpyxl: one sheet of activities, one of columns) and PDF (reportlab). The
record as JSON is what two versions are compared by (:func:`diff`); the difference is a ledger
entry (``compliance.record_generated``).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import psycopg

    from scrollintel.config.governance import Governance

SUBJECT_CATEGORY = "customers of the web shop"
NO_SUBJECTS = "none (no personal data)"


@dataclass
class Activity:
    """One processing activity: a source resource and everything Art. 30(1) asks about it."""

    activity: str
    controller_team: str
    purpose: str
    personal_data: list[str]
    data_subjects: str
    recipients: list[str]
    retention: str
    legal_basis: str
    safeguards: list[str] = field(default_factory=list)


def build(gov: Governance, conn: psycopg.Connection[Any] | None = None) -> list[Activity]:
    """The record: one activity per source resource (stored classification and catalogue when ``conn`` is given)."""
    stored: dict[tuple[str, str], dict[str, tuple[str, str | None]]] = {}
    relations: list[str] = []
    keyed: set[str] = set()
    if conn is not None:
        from scrollintel.compliance.subjects import SUBJECT_KEY, catalogue

        keyed = {r.name for r in catalogue(conn, ("raw",)) if SUBJECT_KEY in r.columns}

        rows = conn.execute(
            "SELECT source, resource, column_name, class_id, masking FROM governance.column_classification "
            "WHERE class_id IS NOT NULL"
        ).fetchall()
        for source, resource, column, class_id, masking in rows:
            stored.setdefault((source, resource), {})[column] = (class_id, masking)
        relations = [r.qualified for r in catalogue(conn, ("staging", "marts"))]
    models = {
        table: model.name
        for model in gov.models.models
        for table in (model.features_table, model.scoring.features_table)
        if table is not None
    }
    activities: list[Activity] = []
    for source in sorted(gov.sources.values(), key=lambda s: s.name):
        team = gov.team(source.owner).name
        for resource in source.resources:
            columns = stored.get((source.name, resource.name))
            if columns is None:
                declared = {
                    column: class_id
                    for column, class_id in source.classification_overrides(resource.name).items()
                    if class_id != "none"
                }
                columns = {c: (k, _masking(gov, k)) for c, k in declared.items()}
            classes = sorted({class_id for class_id, _ in columns.values()})
            personal = [f"{c} ({gov.classification.get(c).description.rstrip('.')})" for c in classes]
            if f"{source.name}__{resource.name}" in keyed:
                personal.append("customer id (pseudonymous key, customer_id)")
            retention = gov.retention_class(source.retention_class_of(resource.name))
            recipients = [
                name for name in relations if name.endswith(f"__{resource.name}") or name == f"marts.{resource.name}"
            ]
            recipients += [f"model {models[name]} ({name})" for name in relations if name in models and personal]
            activities.append(
                Activity(
                    activity=f"{source.name}.{resource.name}",
                    controller_team=team,
                    purpose=source.description or "",
                    personal_data=personal,
                    data_subjects=SUBJECT_CATEGORY if personal else NO_SUBJECTS,
                    recipients=recipients,
                    retention=f"{retention.id}: {retention.duration} then {retention.action}",
                    legal_basis=retention.legal_basis,
                    safeguards=[f"{column}: {masking or 'none'}" for column, (_, masking) in sorted(columns.items())],
                )
            )
    return activities


def _masking(gov: Governance, class_id: str) -> str | None:
    try:
        return gov.classification.get(class_id).masking
    except KeyError:
        return None


def as_json(activities: list[Activity]) -> str:
    """The canonical form two versions are compared by."""
    return json.dumps([asdict(a) for a in activities], sort_keys=True, indent=1)


def diff(previous: list[dict[str, Any]] | None, current: list[Activity]) -> dict[str, list[str]]:
    """Activities added, removed and changed since ``previous`` (None: everything is added)."""
    before = {item["activity"]: item for item in previous or []}
    after = {a.activity: asdict(a) for a in current}
    return {
        "added": sorted(set(after) - set(before)),
        "removed": sorted(set(before) - set(after)),
        "changed": sorted(name for name in set(after) & set(before) if after[name] != before[name]),
    }


HEADERS = (
    "Activity",
    "Controller (team)",
    "Purpose",
    "Personal data",
    "Data subjects",
    "Recipients",
    "Retention",
    "Legal basis",
    "Safeguards (masking)",
)


def _cells(activity: Activity) -> list[str]:
    return [
        activity.activity,
        activity.controller_team,
        activity.purpose,
        "; ".join(activity.personal_data) or "none",
        activity.data_subjects,
        "; ".join(activity.recipients) or "none",
        activity.retention,
        activity.legal_basis,
        "; ".join(activity.safeguards) or "none",
    ]


def write_xlsx(activities: list[Activity], path: Path) -> Path:
    """The record as an Excel workbook (sheet ``Record of processing``)."""
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font

    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = "Record of processing"
    sheet.append(list(HEADERS))
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    for activity in activities:
        sheet.append(_cells(activity))
    for column in sheet.columns:
        sheet.column_dimensions[column[0].column_letter].width = 36
        for cell in column:
            cell.alignment = Alignment(wrap_text=True, vertical="top")
    book.save(path)
    return path


def write_pdf(activities: list[Activity], path: Path, *, generated_at: str) -> Path:
    """The record as a PDF document (landscape A4, one table)."""
    from reportlab.lib import colors
    from reportlab.lib.pagesizes import A4, landscape
    from reportlab.lib.styles import getSampleStyleSheet
    from reportlab.platypus import Paragraph, SimpleDocTemplate, Table, TableStyle

    styles = getSampleStyleSheet()
    small = styles["BodyText"].clone("small", fontSize=6.5, leading=8)
    doc = SimpleDocTemplate(str(path), pagesize=landscape(A4), title="Record of processing activities (GDPR Art. 30)")
    rows = [[Paragraph(f"<b>{h}</b>", small) for h in HEADERS]]
    rows += [[Paragraph(_escape(cell), small) for cell in _cells(a)] for a in activities]
    table = Table(rows, repeatRows=1, colWidths=[70, 55, 95, 95, 55, 95, 70, 110, 100])
    table.setStyle(TableStyle([("GRID", (0, 0), (-1, -1), 0.25, colors.grey), ("VALIGN", (0, 0), (-1, -1), "TOP")]))
    heading = Paragraph(f"Record of processing activities (GDPR Art. 30), generated {generated_at}", styles["Title"])
    doc.build([heading, table])
    return path


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def generate(
    gov: Governance, out_dir: Path, *, conn: psycopg.Connection[Any] | None = None, generated_at: str
) -> dict[str, Any]:
    """Write ``record.json``, ``record.xlsx`` and ``record.pdf`` under ``out_dir``; diffed with the last record.json.

    Returns ``{"files": {name: sha256}, "diff": {...}}`` (what the ledger entry holds).
    """
    activities = build(gov, conn)
    out_dir.mkdir(parents=True, exist_ok=True)
    latest = out_dir / "record.json"
    previous = json.loads(latest.read_text(encoding="utf-8")) if latest.exists() else None
    changes = diff(previous, activities)
    latest.write_text(as_json(activities), encoding="utf-8")
    write_xlsx(activities, out_dir / "record.xlsx")
    write_pdf(activities, out_dir / "record.pdf", generated_at=generated_at)
    files = {
        name: hashlib.sha256((out_dir / name).read_bytes()).hexdigest()
        for name in ("record.json", "record.xlsx", "record.pdf")
    }
    return {"activities": len(activities), "files": files, "diff": changes}
