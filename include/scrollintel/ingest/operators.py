"""``IngestResourceOperator``: one resource of one declared source, loaded exactly once.

A thin operator over :func:`scrollintel.ingest.pipeline.ingest_resource`. Lineage goes through
Airflow's OpenLineage provider: :meth:`IngestResourceOperator.get_openlineage_facets_on_complete`
returns the datasets and facets of the load that just finished (see
:mod:`scrollintel.ingest.lineage`). Errors that a retry cannot fix (schema drift under the
contract, a failed batch gate, a YAML that does not match the source) fail the task without
retries.

Importing this module is cheap: the DAG factory does it at parse time.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from airflow.sdk import BaseOperator

from scrollintel.approvals.gate import ApprovalGate
from scrollintel.warehouse import WAREHOUSE_CONN_ID

if TYPE_CHECKING:
    from airflow.providers.openlineage.extractors import OperatorLineage
    from airflow.sdk import Context

    from scrollintel.ingest.pipeline import IngestOutcome


#: XCom key of a load's blocked, approvable schema change (read by :class:`SchemaChangeGate` and the rerun).
SCHEMA_CHANGE_XCOM = "schema_change"


class IngestResourceOperator(BaseOperator):
    """Load ``source_name``'s ``resource_name`` into ``raw.<source>__<resource>``, classify and gate it.

    Returns (XCom) the counts of the load: source = loaded + quarantined, checked before commit.
    """

    template_fields: Sequence[str] = ("source_name", "resource_name")
    ui_color = "#e3f1e8"

    def __init__(
        self,
        *,
        source_name: str,
        resource_name: str,
        warehouse_conn_id: str = WAREHOUSE_CONN_ID,
        chunk_rows: int | None = None,
        approved_change_of: str | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.source_name = source_name
        self.resource_name = resource_name
        self.warehouse_conn_id = warehouse_conn_id
        self.chunk_rows = chunk_rows
        #: The load task whose blocked schema change this task applies (after the gate approved it).
        self.approved_change_of = approved_change_of
        self._outcome: IngestOutcome | None = None

    def execute(self, context: Context) -> dict[str, Any]:
        from airflow.sdk.exceptions import AirflowFailException

        from scrollintel.ingest.errors import ConnectionNotDefined, ResourceConfigError, SchemaDriftError
        from scrollintel.ingest.loader import DEFAULT_CHUNK_ROWS
        from scrollintel.ingest.pipeline import ingest_resource, warehouse_url_from_airflow
        from scrollintel.quality.errors import QualityGateFailed

        approved = None
        if self.approved_change_of:
            request = context["ti"].xcom_pull(task_ids=self.approved_change_of, key=SCHEMA_CHANGE_XCOM)
            if not request:
                raise AirflowFailException(f"no schema change of {self.approved_change_of} to apply")
            approved = request["changes"]
        try:
            outcome = ingest_resource(
                self.source_name,
                self.resource_name,
                run_id=context["run_id"],
                warehouse_url=warehouse_url_from_airflow(self.warehouse_conn_id),
                chunk_rows=self.chunk_rows or DEFAULT_CHUNK_ROWS,
                approved_changes=approved,
            )
        except SchemaDriftError as err:
            if err.approvable:  # what the schema_change gate downstream shows its approvers
                context["ti"].xcom_push(
                    key=SCHEMA_CHANGE_XCOM,
                    value={
                        "source": self.source_name,
                        "resource": self.resource_name,
                        "contract_version": err.contract_version,
                        "changes": err.changes,
                    },
                )
            raise AirflowFailException(str(err)) from err  # a retry would fail the same way
        except (QualityGateFailed, ResourceConfigError, ConnectionNotDefined) as err:
            raise AirflowFailException(str(err)) from err  # a retry would fail the same way (minutes later)
        self._outcome = outcome
        load = outcome.load
        self.log.info(
            "%s: %s load (%s path): %d read = %d loaded (%d inserted, %d updated, %d unchanged) + %d quarantined; "
            "%d deleted; cursor %s -> %s",
            load.raw_table,
            load.mode,
            load.path,
            load.source_rows,
            load.loaded_rows,
            load.inserted_rows,
            load.updated_rows,
            load.unchanged_rows,
            load.quarantined_rows,
            load.deleted_rows,
            load.cursor_before,
            load.cursor_after,
        )
        return outcome.summary()

    def get_openlineage_facets_on_complete(self, task_instance: Any) -> OperatorLineage:
        """Datasets and facets of the completed load (schema, row counts, classification tags, source)."""
        from airflow.providers.openlineage.extractors import OperatorLineage

        from scrollintel.ingest.lineage import build_operator_lineage

        if self._outcome is None:
            return OperatorLineage()
        outcome = self._outcome
        return build_operator_lineage(
            outcome.load,
            source_namespace=outcome.source_namespace,
            source_name=outcome.source_name,
            source_columns=outcome.load.columns,
            classes=outcome.classes,
            sensitivity=outcome.sensitivity,
        )


class SchemaChangeGate(ApprovalGate):
    """The ``schema_change`` approval of a frozen resource whose load was blocked by drift.

    Runs only when the load failed (``all_failed``); when it failed for another reason than an
    approvable schema change it fails too, so the DAG run stays failed (the gate and the rerun are
    the run's last tasks, which decide its state). The request shows the
    column diff; on approval the rerun task applies exactly that diff from the unchanged cursor;
    on rejection or expiry the rerun is skipped and nothing changes.
    """

    def __init__(self, *, source_name: str, resource_name: str, load_task_id: str, **kwargs: Any) -> None:
        from airflow.task.trigger_rule import TriggerRule

        super().__init__(
            subject="schema_change",
            summary=f"{source_name}.{resource_name}: the source table's columns changed",
            trigger_rule=TriggerRule.ALL_FAILED,
            **kwargs,
        )
        self.source_name = source_name
        self.resource_name = resource_name
        self.load_task_id = load_task_id

    def execute(self, context: Context) -> Any:
        from airflow.sdk.exceptions import AirflowFailException

        if not self._read_request(context):
            raise AirflowFailException(
                f"{self.load_task_id} failed for another reason than a schema change an approval could let "
                "through: nothing to approve; see its log"
            )
        return super().execute(context)

    def execute_complete(self, context: Context, event: dict[str, Any]) -> Any:
        self._read_request(context)  # the resumed task is a new operator: the outcome message shows the diff too
        return super().execute_complete(context, event)

    def _read_request(self, context: Context) -> bool:
        """The blocked change the load left in XCom, as this request's details; False when there is none."""
        request = context["ti"].xcom_pull(task_ids=self.load_task_id, key=SCHEMA_CHANGE_XCOM)
        if not request:
            return False
        self.column_changes = list(request["changes"])
        self.details = {
            "table": f"{request['source']}.{request['resource']}",
            "contract version": request["contract_version"],
            **{change["column"]: describe_change(change) for change in request["changes"]},
        }
        return True


def describe_change(change: dict[str, Any]) -> str:
    """``added (text)``, ``removed (integer)``, ``integer -> bigint``: one column of a schema change."""
    if change["kind"] == "added":
        return f"added ({change['new_type']})"
    if change["kind"] == "removed":
        return f"removed ({change['old_type']})"
    return f"{change['old_type']} -> {change['new_type']}"
