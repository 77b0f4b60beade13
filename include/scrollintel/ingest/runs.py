"""Run bookkeeping of a load: the next cursor state, ``governance.ingest_load_run`` rows, drift and events.

The state and the run row are written in the load's transaction, so they commit with the rows
or not at all; drift and quarantine events go to the audit ledger and the notification hooks
after the commit (observers).
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from scrollintel.ingest import quarantine, registry
from scrollintel.ingest.connectors.base import CursorState
from scrollintel.ingest.notifications import IngestEvent, emit

if TYPE_CHECKING:
    import psycopg

    from scrollintel.ingest.spec import LoadResult, ResourceSpec


class DriftBlocked(Exception):
    """The schema drifted and the policy forbids applying it: the load is rolled back."""

    def __init__(
        self,
        diff: registry.SchemaDiff,
        contract: registry.Contract,
        *,
        approved: Sequence[Mapping[str, Any]] | None = None,
    ) -> None:
        super().__init__(diff.describe())
        self.diff = diff
        self.contract = contract
        #: The change an approval let through, when the load ran with one (and it is not this drift).
        self.approved = approved


def next_state(
    spec: ResourceSpec,
    before: CursorState,
    *,
    cursor_max: str | None,
    token: str | None,
    files: dict[str, str],
) -> CursorState:
    """The cursor state after a load that read up to ``cursor_max``, ``token`` and ``files``.

    A full refresh carries nothing over from ``before``; an incremental load keeps the previous
    token when the source gave none and adds the files it read to those read before.
    """
    return CursorState(
        value=cursor_max if spec.cursor else None,
        token=token if token is not None else (before.token if spec.incremental else None),
        files={**(dict(before.files) if spec.incremental else {}), **files},
    )


class RunBook:
    """The records of one load: its ``governance.ingest_load_run`` row, blocked drift, events."""

    def __init__(self, spec: ResourceSpec, url: str, *, run_id: str, batch_id: str, audit: bool) -> None:
        self.spec = spec
        self.url = url
        self.run_id = run_id
        self.batch_id = batch_id
        self.audit = audit
        self.started = datetime.now(UTC)
        self.clock = time.monotonic()

    def elapsed(self) -> float:
        """Seconds since the load started, rounded to milliseconds."""
        return round(time.monotonic() - self.clock, 3)

    def record_run(
        self, conn: psycopg.Connection[Any], result: LoadResult | None, *, status: str, error: str | None = None
    ) -> None:
        """A ``governance.ingest_load_run`` row (``result`` None: the load got no counts)."""
        r = result
        conn.execute(
            "INSERT INTO governance.ingest_load_run (source, resource, run_id, batch_id, mode, status, source_rows, "
            "loaded_rows, inserted_rows, updated_rows, unchanged_rows, deleted_rows, quarantined_rows, "
            "cursor_before, cursor_after, schema_version, seconds, error, started_at) "
            "VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
            (
                self.spec.source,
                self.spec.resource,
                self.run_id,
                self.batch_id,
                r.mode if r else "unknown",
                status,
                r.source_rows if r else None,
                r.loaded_rows if r else None,
                r.inserted_rows if r else None,
                r.updated_rows if r else None,
                r.unchanged_rows if r else None,
                r.deleted_rows if r else None,
                r.quarantined_rows if r else None,
                r.cursor_before if r else None,
                r.cursor_after if r else None,
                r.schema_version if r else None,
                self.elapsed(),
                error,
                self.started,
            ),
        )

    def record_blocked(self, conn: psycopg.Connection[Any], blocked: DriftBlocked) -> None:
        """After the rollback: the blocked drift and a ``blocked`` run row, then the drift event."""
        spec = self.spec
        with conn.transaction():
            registry.record_drift(
                conn,
                spec.source,
                spec.resource,
                blocked.diff,
                policy=spec.schema_policy,
                outcome="blocked",
                run_id=self.run_id,
                batch_id=self.batch_id,
                from_version=blocked.contract.version,
                to_version=None,
            )
            self.record_run(conn, None, status="blocked", error=blocked.diff.describe())
        if self.audit:
            emit(self._drift_event(blocked.diff, "blocked", blocked.contract.version, None), audit_url=self.url)

    def blocked_message(self, blocked: DriftBlocked) -> str:
        """What drifted, why it was not applied and what to do: the message of the load's failure."""
        spec = self.spec
        if not blocked.diff.compatible:
            why = "some changes cannot be applied without losing data"
        elif blocked.approved is not None:
            why = "the source changed again since the change that was approved; it needs a new approval"
        else:
            why = f"schema_policy is 'freeze' in governance/sources/{spec.source}.yaml"
        return (
            f"schema drift in {spec.source}.{spec.resource} against contract version {blocked.contract.version} "
            f"({why}); nothing was loaded and the cursor is unchanged:\n{blocked.diff.describe()}\n"
            f"Review the change: approve it at the schema_change gate of the DAG run, set schema_policy: evolve, "
            f"or adapt the source. "
            f"History: governance.ingest_drift_event."
        )

    def emit_after_commit(self, result: LoadResult, applied: registry.SchemaDiff | None) -> None:
        """Drift applied and rows quarantined, to the audit ledger and the notification hooks."""
        if not self.audit:
            return
        if applied:
            emit(
                self._drift_event(applied, "applied", result.schema_version - 1, result.schema_version),
                audit_url=self.url,
            )
        if result.quarantined_rows:
            emit(
                IngestEvent(
                    kind="rows_quarantined",
                    source=self.spec.source,
                    resource=self.spec.resource,
                    run_id=self.run_id,
                    details={
                        "rows": result.quarantined_rows,
                        "reasons": [
                            {"reason": reason, "rows": count}
                            for reason, count in sorted(result.quarantine_reasons.items())
                        ],
                        "quarantine_table": f"{quarantine.SCHEMA}.{self.spec.table}",
                        "batch_id": self.batch_id,
                    },
                ),
                audit_url=self.url,
            )

    def _drift_event(
        self, diff: registry.SchemaDiff, outcome: str, from_version: int, to_version: int | None
    ) -> IngestEvent:
        return IngestEvent(
            kind="schema_drift",
            source=self.spec.source,
            resource=self.spec.resource,
            run_id=self.run_id,
            details={
                "policy": self.spec.schema_policy,
                "outcome": outcome,
                "from_version": from_version,
                "to_version": to_version,
                "changes": diff.as_dicts(),
                "batch_id": self.batch_id,
            },
        )
