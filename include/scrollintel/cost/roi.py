"""Return on investment per value definition of ``governance/roi.yaml``, computed with each daily rollup.

``ROI = (value - cost) / cost`` for one definition and day, stored with every input in
``governance.cost_roi`` so the page never shows a bare number:

- **cost**: the day's facts attributed to the definition's datasets or DAGs (a fact matching
  both is counted once);
- **value** by kind: ``fixed_per_run`` amount x successful DAG runs that wrote the datasets (or ran
  the DAGs) that day; ``per_row`` amount x rows inserted or updated in the datasets by successful
  ingestion loads that day; ``metric_sql`` amount x the number the ``sql`` query returns, run
  read-only with a statement timeout (an error is kept as the input ``error``, the value is 0).

No cost (nothing attributed that day) gives no ROI (``null``), never a division by zero.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from scrollintel.config.governance import Governance
    from scrollintel.config.roi import ValueDefinition

log = logging.getLogger(__name__)

SQL_TIMEOUT_MS = 30_000


@dataclass(frozen=True)
class RoiLine:
    """One definition's value against its cost for one day, with the inputs both came from."""

    day: date
    value_id: str
    team: str
    value: Decimal
    cost: Decimal
    currency: str
    inputs: dict[str, Any] = field(default_factory=dict)

    @property
    def roi(self) -> Decimal | None:
        """``(value - cost) / cost``; None without cost."""
        return roi_ratio(self.value, self.cost)


def roi_ratio(value: Decimal, cost: Decimal) -> Decimal | None:
    """``(value - cost) / cost`` at 4 decimals; None when nothing was spent."""
    return None if cost == 0 else ((value - cost) / cost).quantize(Decimal("0.0001"))


def attributed_cost(conn: Any, day: date, definition: ValueDefinition) -> Decimal:
    """The day's facts attributed to the definition's datasets or DAGs."""
    row = conn.execute(
        "SELECT coalesce(sum(amount), 0) FROM governance.cost_facts "
        "WHERE day = %s AND (dataset = ANY(%s) OR dag_id = ANY(%s))",
        (day, list(definition.applies_to.datasets), list(definition.applies_to.dags)),
    ).fetchone()
    return Decimal(row[0])


def successful_runs(conn: Any, day: date, definition: ValueDefinition) -> int:
    """Distinct DAG runs with a successful task that wrote the datasets (or belong to the DAGs) that day."""
    row = conn.execute(
        """
        SELECT count(DISTINCT (f.dag_id, f.run_id))
        FROM governance.cost_facts f
        JOIN governance.cost_task_runs t
          ON (t.dag_id, t.run_id, t.task_id, t.map_index, t.try_number)
           = (f.dag_id, f.run_id, f.task_id, f.map_index, f.try_number)
        WHERE f.day = %s AND f.kind = 'compute' AND t.state = 'success'
          AND (f.dataset = ANY(%s) OR f.dag_id = ANY(%s))
        """,
        (day, list(definition.applies_to.datasets), list(definition.applies_to.dags)),
    ).fetchone()
    return int(row[0])


def rows_changed(conn: Any, day: date, definition: ValueDefinition) -> int:
    """Rows inserted or updated in the datasets by successful ingestion loads that finished that day."""
    from scrollintel.cost.sources import day_bounds

    start, end = day_bounds(day)
    row = conn.execute(
        """
        SELECT coalesce(sum(coalesce(inserted_rows, 0) + coalesce(updated_rows, 0)), 0)
        FROM governance.ingest_load_run
        WHERE status = 'succeeded' AND finished_at >= %s AND finished_at < %s
          AND 'raw.' || source || '__' || resource = ANY(%s)
        """,
        (start, end, list(definition.applies_to.datasets)),
    ).fetchone()
    return int(row[0])


def metric(url: str, sql: str) -> tuple[Decimal | None, str | None]:
    """The number ``sql`` returns, in its own read-only, time-limited transaction; or None and the error."""
    import psycopg

    from scrollintel.warehouse import connect

    try:
        with connect(url) as conn:
            conn.execute("SET TRANSACTION READ ONLY")
            conn.execute(f"SET LOCAL statement_timeout = {SQL_TIMEOUT_MS}")
            row = conn.execute(sql).fetchone()
            conn.rollback()
    except psycopg.Error as err:
        return None, str(err).strip().splitlines()[0][:300]
    if row is None or len(row) != 1:
        return None, "the query must return one row with one number"
    try:
        return Decimal(str(row[0] if row[0] is not None else 0)), None
    except ArithmeticError:
        return None, f"the query returned {str(row[0])[:40]!r}, not a number"


def value_of(conn: Any, url: str, day: date, definition: ValueDefinition) -> tuple[Decimal, dict[str, Any]]:
    """The definition's value that day and its inputs."""
    inputs: dict[str, Any] = {"kind": definition.kind, "amount": str(definition.amount)}
    if definition.kind == "fixed_per_run":
        count = successful_runs(conn, day, definition)
        inputs["successful_runs"] = count
        return definition.amount * count, inputs
    if definition.kind == "per_row":
        count = rows_changed(conn, day, definition)
        inputs["rows_changed"] = count
        return definition.amount * count, inputs
    number, error = metric(url, definition.sql or "")
    if error is not None:
        log.warning("roi.yaml value %s: its sql failed: %s", definition.id, error)
        inputs["error"] = f"governance/roi.yaml values[{definition.id}].sql: {error}"
        return Decimal(0), inputs
    inputs["metric"] = str(number)
    return definition.amount * (number or Decimal(0)), inputs


def compute_roi(url: str, day: date, governance: Governance | None = None) -> list[RoiLine]:
    """Value and cost of every definition for ``day``; replaces the day's ``cost_roi`` rows."""
    from scrollintel.config import load_governance
    from scrollintel.warehouse import connect

    governance = governance or load_governance()
    lines: list[RoiLine] = []
    with connect(url) as conn:
        for definition in governance.roi.values:
            value, inputs = value_of(conn, url, day, definition)
            cost = attributed_cost(conn, day, definition)
            inputs["datasets"] = list(definition.applies_to.datasets)
            inputs["dags"] = list(definition.applies_to.dags)
            lines.append(RoiLine(day, definition.id, definition.team, value, cost, definition.currency, inputs))
        conn.execute("DELETE FROM governance.cost_roi WHERE day = %s", (day,))
        with conn.cursor() as cur:
            cur.executemany(
                "INSERT INTO governance.cost_roi (day, value_id, team, value, cost, currency, inputs) "
                "VALUES (%s, %s, %s, %s, %s, %s, %s::jsonb)",
                [
                    (line.day, line.value_id, line.team, line.value, line.cost, line.currency, json.dumps(line.inputs))
                    for line in lines
                ],
            )
    return lines
