"""Downloads of the Cost & ROI page: CSV and XLSX tables, and a PDF executive summary (reportlab).

Text cells a spreadsheet would run as a formula (``=``, ``+``, ``-``, ``@`` first) are prefixed
with a quote, in the CSV and in the workbook.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    from scrollintel.cost.query import CostReport

Table = Literal["daily", "teams", "dags", "datasets", "roi", "budgets", "anomalies"]
TABLES: tuple[str, ...] = ("daily", "teams", "dags", "datasets", "budgets", "roi", "anomalies")
COLUMNS: dict[str, list[str]] = {
    "daily": ["day", "kind", "amount", "currency"],
    "teams": ["team", "amount", "share", "currency"],
    "dags": ["dag_id", "amount", "share", "currency"],
    "datasets": ["dataset", "amount", "share", "currency"],
    "budgets": [
        "team",
        "month",
        "budget",
        "configured_budget",
        "approved_increases",
        "actual_to_date",
        "forecast",
        "forecast_low_90",
        "forecast_high_90",
        "method",
        "status",
        "alerts",
        "currency",
    ],
    "roi": ["value_id", "team", "kind", "value", "cost", "roi", "days", "inputs", "currency"],
    "anomalies": ["scope", "name", "day", "amount", "trailing_median", "robust_z"],
}


def safe_cell(value: Any) -> Any:
    """A text cell starting like a formula is prefixed with a quote."""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value


def rows(report: CostReport, table: str) -> Iterator[dict[str, Any]]:
    """The rows of one table of ``report``."""
    currency = report.currency or ""
    if table == "daily":
        for point in report.daily:
            for kind, amount in sorted(point.by_kind.items()):
                yield {"day": point.day.isoformat(), "kind": kind, "amount": amount, "currency": currency}
    elif table in ("teams", "dags", "datasets"):
        key = {"teams": "team", "dags": "dag_id", "datasets": "dataset"}[table]
        totals = {"teams": report.by_team, "dags": report.by_dag, "datasets": report.by_dataset}[table]
        for item in totals:
            yield {key: item.key, "amount": item.amount, "share": round(item.share, 6), "currency": currency}
    elif table == "budgets":
        for budget in report.budgets:
            yield {
                "team": budget.team,
                "month": budget.month,
                "budget": budget.budget,
                "configured_budget": budget.configured,
                "approved_increases": "; ".join(
                    f"{item.amount} ({item.approval_id}, {item.approved_by})" for item in budget.increases
                ),
                "actual_to_date": budget.actual_to_date,
                "forecast": budget.expected,
                "forecast_low_90": budget.lower,
                "forecast_high_90": budget.upper,
                "method": budget.method,
                "status": budget.status,
                "alerts": "; ".join(budget.alerts),
                "currency": budget.currency,
            }
    elif table == "roi":
        for line in report.roi:
            described = "; ".join(f"{key}={value}" for key, value in line.inputs.items())
            yield {
                "value_id": line.value_id,
                "team": line.team,
                "kind": line.kind,
                "value": line.value,
                "cost": line.cost,
                "roi": line.roi,
                "days": line.days,
                "inputs": described,
                "currency": line.currency,
            }
    elif table == "anomalies":
        for anomaly in report.anomalies:
            yield {
                "scope": anomaly.scope,
                "name": anomaly.name,
                "day": anomaly.day.isoformat(),
                "amount": anomaly.amount,
                "trailing_median": anomaly.median,
                "robust_z": anomaly.z,
            }


def to_csv(report: CostReport, table: str) -> str:
    """One table as CSV text."""
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=COLUMNS[table], extrasaction="ignore")
    writer.writeheader()
    for row in rows(report, table):
        writer.writerow({key: safe_cell(value) for key, value in row.items()})
    return buffer.getvalue()


def _cell(value: Any) -> Any:
    if isinstance(value, Decimal):
        return float(value)
    return safe_cell(value)


def to_xlsx(report: CostReport) -> bytes:
    """A workbook: a summary sheet, then one sheet per table."""
    from openpyxl import Workbook

    book = Workbook()
    summary = book.active
    summary.title = "summary"
    summary.append(["Cost & ROI", ""])
    summary.append(["period", f"{report.start} .. {report.end}"])
    summary.append(["total", _cell(report.total)])
    summary.append(["currency", report.currency or ""])
    summary.append(["demo data", "yes" if report.demo else "no"])
    summary.append(["query time (pg_stat_statements)", report.query_time])
    for table in TABLES:
        sheet = book.create_sheet(table)
        sheet.append(COLUMNS[table])
        for row in rows(report, table):
            sheet.append([_cell(row.get(column)) for column in COLUMNS[table]])
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def _money(value: Any, currency: str) -> str:
    return f"{float(value):,.2f} {currency}"


def to_pdf(report: CostReport) -> bytes:
    """A one- or two-page executive summary: totals, budgets with forecasts, top DAGs and datasets, ROI."""
    from xml.sax.saxutils import escape

    from reportlab.lib import colors
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.styles import getSampleStyleSheet
    from reportlab.lib.units import mm
    from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

    styles = getSampleStyleSheet()
    currency = report.currency or ""
    buffer = io.BytesIO()
    doc = SimpleDocTemplate(
        buffer,
        pagesize=A4,
        title="Cost & ROI summary",
        leftMargin=18 * mm,
        rightMargin=18 * mm,
        topMargin=16 * mm,
        bottomMargin=16 * mm,
    )
    grid = TableStyle(
        [
            ("FONTSIZE", (0, 0), (-1, -1), 8),
            ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#eef1f5")),
            ("GRID", (0, 0), (-1, -1), 0.25, colors.HexColor("#c8ccd2")),
            ("ALIGN", (1, 1), (-1, -1), "RIGHT"),
            ("VALIGN", (0, 0), (-1, -1), "TOP"),
        ]
    )

    def table(header: list[str], body: list[list[Any]], widths: list[float] | None = None) -> Table:
        item = Table([header, *body], colWidths=widths, repeatRows=1)
        item.setStyle(grid)
        return item

    story: list[Any] = [
        Paragraph("Cost &amp; ROI — executive summary", styles["Title"]),
        Paragraph(
            escape(
                f"Period {report.start} to {report.end} ({report.days} days, UTC). "
                f"Total {_money(report.total, currency)}."
            )
            + (" <b>Includes demo data.</b>" if report.demo else ""),
            styles["Normal"],
        ),
        Spacer(1, 4 * mm),
        Paragraph("Budgets this month", styles["Heading2"]),
        table(
            ["Team", "Budget", "Actual to date", "Month-end forecast (90 % interval)", "Status"],
            [
                [
                    b.team,
                    _money(b.budget, b.currency)
                    + (f" (incl. +{b.budget - b.configured:,.2f} approved)" if b.increases else ""),
                    _money(b.actual_to_date, b.currency),
                    f"{b.expected:,.2f} ({b.lower:,.2f} to {b.upper:,.2f}) {b.currency}",
                    b.status,
                ]
                for b in report.budgets
            ],
        ),
        Spacer(1, 4 * mm),
        Paragraph("Cost by team", styles["Heading2"]),
        table(
            ["Team", "Cost", "Share"], [[t.key, _money(t.amount, currency), f"{t.share:.1%}"] for t in report.by_team]
        ),
        Spacer(1, 4 * mm),
        Paragraph("Top DAGs", styles["Heading2"]),
        table(
            ["DAG", "Cost", "Share"],
            [[t.key, _money(t.amount, currency), f"{t.share:.1%}"] for t in report.by_dag[:10]],
        ),
        Spacer(1, 4 * mm),
        Paragraph("Top datasets", styles["Heading2"]),
        table(
            ["Dataset", "Cost", "Share"],
            [[t.key, _money(t.amount, currency), f"{t.share:.1%}"] for t in report.by_dataset[:10]],
        ),
        Spacer(1, 4 * mm),
        Paragraph("Return on investment: (value - cost) / cost", styles["Heading2"]),
        table(
            ["Data product", "Value", "Cost", "ROI", "Inputs"],
            [
                [
                    line.value_id,
                    _money(line.value, line.currency),
                    _money(line.cost, line.currency),
                    "—" if line.roi is None else f"{float(line.roi):.1%}",
                    Paragraph(escape("; ".join(f"{k}={v}" for k, v in line.inputs.items())), styles["Normal"]),
                ]
                for line in report.roi
            ],
            widths=[32 * mm, 24 * mm, 24 * mm, 16 * mm, 78 * mm],
        ),
    ]
    if report.anomalies:
        story += [
            Spacer(1, 4 * mm),
            Paragraph("Anomalies (robust z-score ≥ 3.5)", styles["Heading2"]),
            table(
                ["Day", "Scope", "Name", "Cost", "Trailing median", "z"],
                [
                    [a.day.isoformat(), a.scope, a.name, f"{a.amount:,.2f}", f"{a.median:,.2f}", f"{a.z:.1f}"]
                    for a in report.anomalies[:15]
                ],
            ),
        ]
    doc.build(story)
    return buffer.getvalue()
