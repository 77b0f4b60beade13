"""``QualityGateOperator``: a GX checkpoint over warehouse datasets, failing the task on a failed gate.

A thin operator over :func:`scrollintel.quality.runner.run_quality_gate`. Because a failed gate
raises, the task fails and its ``outlets`` (the Assets it guards) get no asset event: downstream
DAGs scheduled on those Assets do not run on data that failed its checks::

    QualityGateOperator(
        task_id="quality_gate",
        datasets=["marts.customers", "marts.orders", "raw.shop__orders"],
        outlets=[Asset("postgres://warehouse/marts/customers"), ...],
        as_of="{{ var.value.get('scrollintel_as_of', '') }}",  # the instant dbt's models were built for
    )

Importing this module is cheap (GX is imported when the task runs).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from airflow.sdk import BaseOperator

from scrollintel.warehouse import WAREHOUSE_CONN_ID

if TYPE_CHECKING:
    from airflow.sdk import Context


class QualityGateOperator(BaseOperator):
    """Validate ``datasets`` (``"<schema>.<table>"``) against ``expectations/<dataset>.json``.

    ``as_of``: the instant freshness is measured against (ISO date or date-time; templated).
    Empty: ``$SCROLLINTEL_AS_OF``, else now. Pass the same instant the models were built for
    (dbt's ``scrollintel_as_of`` var) so a pinned demo or backfill is judged at its own date.

    Returns (XCom) the run summary: gate run id, per dataset outcome, counts and result files.
    Fails without retry (``AirflowFailException``: the data would fail the same way) naming each
    failing dataset and expectation, its observed value or unexpected rows, and the result file;
    a suite that cannot be read fails the same way, naming the file and key.
    """

    template_fields: Sequence[str] = ("datasets", "as_of")
    ui_color = "#fdf1d8"

    def __init__(
        self,
        *,
        datasets: Sequence[str],
        warehouse_conn_id: str = WAREHOUSE_CONN_ID,
        as_of: str | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        if isinstance(datasets, str) or not datasets:
            raise ValueError(
                f"{self.task_id}: datasets must be a non-empty list of '<schema>.<table>' names, got {datasets!r}"
            )
        self.datasets = list(datasets)
        self.warehouse_conn_id = warehouse_conn_id
        self.as_of = as_of

    def execute(self, context: Context) -> dict[str, Any]:
        from airflow.sdk.exceptions import AirflowFailException

        from scrollintel.db import connection_url
        from scrollintel.exceptions import ConfigError
        from scrollintel.quality.errors import QualityGateFailed
        from scrollintel.quality.outcome import GateContext
        from scrollintel.quality.runner import run_quality_gate

        ti = context["ti"]
        gate = GateContext(
            dag_id=ti.dag_id,
            run_id=ti.run_id,
            task_id=ti.task_id,
            try_number=int(ti.try_number or 1),
        )
        try:
            outcome = run_quality_gate(
                self.datasets,
                warehouse_url=connection_url(self.warehouse_conn_id),
                context=gate,
                as_of=self.as_of or None,
            )
        except (QualityGateFailed, ConfigError) as err:  # SuiteError is a ConfigError
            raise AirflowFailException(str(err)) from err
        self.log.info("%s", outcome.summary_line())
        return outcome.as_dict()
