"""Regenerates the GDPR Art. 30 record of processing every day; what changed is a ledger entry."""

from __future__ import annotations

from typing import Any

from airflow.sdk import dag, task

from scrollintel.dag_defaults import START_DATE, default_args

#: Where the record is kept in the object store (the last record.json is what the next run diffs with).
FOLDER = "compliance/art30"

DOC = f"""
### Record of processing activities (GDPR Art. 30)
One activity per source resource: controller team, purpose, categories of personal data (the stored
classification), data subjects, recipients (staging and marts built from it, models), retention class
and legal basis, safeguards (masking per column). Written to `<object store>/{FOLDER}/` as
`record.xlsx`, `record.pdf` and `record.json`; the activities added, changed or removed since the last
run, with the files' SHA-256, are the ledger entry `compliance.record_generated`.
"""


@dag(
    schedule="@daily",
    start_date=START_DATE,
    catchup=False,
    max_active_runs=1,
    default_args=default_args("compliance"),
    tags=["compliance", "reporting", "internal"],
    doc_md=DOC,
)
def compliance_record() -> None:
    @task
    def generate_record() -> dict[str, Any]:
        """Write the record and record what changed."""
        from datetime import UTC, datetime

        from scrollintel import warehouse
        from scrollintel.audit import writer
        from scrollintel.compliance import record
        from scrollintel.config import load_governance
        from scrollintel.db import connection_url
        from scrollintel.settings import object_store_dir

        with warehouse.connect(connection_url(warehouse.WAREHOUSE_CONN_ID)) as conn:
            result = record.generate(
                load_governance(),
                object_store_dir() / FOLDER,
                conn=conn,
                generated_at=datetime.now(UTC).isoformat(timespec="seconds"),
            )
        writer.record("compliance.record_generated", "report:art30", result)
        return result

    generate_record()


compliance_record()
