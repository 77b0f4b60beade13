"""Run a quality gate: one GX checkpoint over a list of warehouse datasets, stored, documented, enforced.

:func:`run_quality_gate` does, in order:

1. load and check the suite of each dataset (``expectations/<dataset>.json``; a bad file fails
   here naming the file and key, before any query);
2. read what the bounds need from the warehouse: the table's columns (a missing table fails the
   gate), its row count, and the row counts of its recent successful runs;
3. fill in the run-time bounds (volume against history, freshness against the as-of; see
   :mod:`scrollintel.quality.bounds`);
4. run one GX 1.x ``Checkpoint`` with one ``ValidationDefinition`` per dataset (a table asset of
   a Postgres data source on the warehouse) in an ephemeral context;
5. write each dataset's full result to the object store, rebuild the data docs;
6. store every expectation result in ``governance.quality_run`` / ``quality_result`` (one
   transaction) and record the outcome per dataset in the audit ledger;
7. raise :class:`~scrollintel.quality.errors.QualityGateFailed` when a dataset failed, naming
   each failing dataset and expectation, the observed value or unexpected rows, and the files.

Data docs and the audit record are observers: when they fail, the gate logs a warning and its
verdict stands.

:func:`validate_rows` is the lighter check of a batch of rows (what one ingestion load landed)
against a suite's row-level expectations: no history, no stored results, no docs; its caller
judges the outcome (:mod:`scrollintel.ingest.quality`).
"""

from __future__ import annotations

import json
import logging
import os
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from scrollintel.db import normalise_url
from scrollintel.exceptions import ConfigError, ScrollIntelError
from scrollintel.quality import docs, store
from scrollintel.quality.bounds import Reference, resolve_suite
from scrollintel.quality.errors import QualityGateFailed
from scrollintel.quality.outcome import DatasetOutcome, ExpectationOutcome, GateContext, GateOutcome, safe_name
from scrollintel.quality.suites import Suite, check_with_gx, load_suites
from scrollintel.settings import ENV_AS_OF

log = logging.getLogger(__name__)

DATASOURCE = "warehouse"
BATCH_DEFINITION = "whole table"
#: The batch definition of :func:`validate_rows`: the rows one load landed (every row its query selects).
ROWS_BATCH_DEFINITION = "landed"


@dataclass(frozen=True)
class DatasetFacts:
    """What the warehouse says about a dataset before it is validated."""

    row_count: int
    column_types: dict[str, str]
    history: list[int]


def resolve_as_of(value: datetime | str | None) -> datetime:
    """The as-of instant: ``value``, else ``$SCROLLINTEL_AS_OF``, else now (UTC; a date means its midnight).

    Raises:
        ConfigError: the value is not an ISO date or date-time (the message says where it came from).
    """
    origin = "as_of"
    if value is None or value == "":
        value, origin = os.environ.get(ENV_AS_OF) or None, ENV_AS_OF
    if value is None:
        return datetime.now(UTC)
    if isinstance(value, datetime):
        moment = value
    else:
        try:
            moment = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
        except ValueError as err:
            raise ConfigError(
                f"{origin}={value!r} is not an ISO date or date-time (e.g. 2026-01-01 or 2026-01-01T00:00:00Z)"
            ) from err
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def run_quality_gate(
    datasets: Sequence[str],
    *,
    warehouse_url: str,
    context: GateContext | None = None,
    as_of: datetime | str | None = None,
    suite_root: Path | None = None,
    audit: bool = True,
) -> GateOutcome:
    """Validate ``datasets`` (``schema.table``) against their suites; store, document and enforce the result.

    Returns the outcome when every dataset passed.

    Raises:
        SuiteError: a suite is missing or invalid (names the file and key); nothing ran.
        ConfigError: ``as_of`` is not a date or time.
        QualityGateFailed: a dataset is missing from the warehouse, or failed an expectation
            (after the results were stored and documented).
    """
    gate = context or GateContext.manual()
    suites = load_suites(list(datasets), suite_root)
    for suite in suites:
        check_with_gx(suite)
    reference = Reference(as_of=resolve_as_of(as_of), now=datetime.now(UTC))
    facts = _read_facts(warehouse_url, suites)
    outcome = GateOutcome(gate_run_id=str(uuid.uuid4()), context=gate, as_of=reference.as_of)
    outcome.datasets, outcome.docs_index = _run_checkpoint(warehouse_url, suites, facts, reference, gate)
    with store.connect(warehouse_url) as conn:
        store.record_gate_run(
            conn, gate_run_id=outcome.gate_run_id, context=gate, as_of=outcome.as_of, datasets=outcome.datasets
        )
    if audit:
        _record_in_ledger(outcome, warehouse_url)
    if not outcome.success:
        raise QualityGateFailed(outcome.failure_message())
    log.info("%s (run %s)", outcome.summary_line(), gate.label)
    return outcome


def _read_facts(url: str, suites: list[Suite]) -> dict[str, DatasetFacts]:
    facts: dict[str, DatasetFacts] = {}
    missing: list[str] = []
    with store.connect(url) as conn:
        for suite in suites:
            types = store.column_types(conn, suite.dataset)
            if types is None:
                missing.append(suite.dataset)
                continue
            depth = max((spec.rules.volume.history for spec in suite.expectations if spec.rules.volume), default=0)
            facts[suite.dataset] = DatasetFacts(
                row_count=store.count_rows(conn, suite.dataset),
                column_types=types,
                history=store.recent_row_counts(conn, suite.dataset, depth) if depth else [],
            )
    if missing:
        raise QualityGateFailed(
            f"quality gate failed: {', '.join(missing)} not found in the warehouse (no such table or view); "
            "nothing was validated. Did the model or load that builds it run?"
        )
    return facts


def schema_url(url: str, schema: str) -> str:
    """The warehouse URL with ``schema`` as the session's search path (GX 1.x wants the schema there)."""
    from sqlalchemy.engine import make_url

    return (
        make_url(normalise_url(url))
        .update_query_dict({"options": f"-csearch_path={schema}"})
        .render_as_string(hide_password=False)
    )


def _run_checkpoint(
    url: str, suites: list[Suite], facts: dict[str, DatasetFacts], reference: Reference, gate: GateContext
) -> tuple[list[DatasetOutcome], str | None]:
    """One GX checkpoint over every dataset; full results written, data docs rebuilt."""
    from scrollintel.quality.gxutil import RESULT_FORMAT, import_gx, make_context

    gx = import_gx()
    context = make_context()
    sources: dict[str, Any] = {}
    definitions = []
    for suite in suites:
        schema, table = suite.dataset.split(".", 1)
        if schema not in sources:
            sources[schema] = context.data_sources.add_postgres(
                name=f"{DATASOURCE}.{schema}", connection_string=schema_url(url, schema)
            )
        batch = sources[schema].add_table_asset(name=suite.dataset, table_name=table)
        expectations = resolve_suite(
            suite,
            history=facts[suite.dataset].history,
            column_types=facts[suite.dataset].column_types,
            reference=reference,
        )
        gx_suite = context.suites.add(
            gx.ExpectationSuite(name=suite.dataset, expectations=expectations, meta=suite.document.meta)
        )
        definitions.append(
            context.validation_definitions.add(
                gx.ValidationDefinition(
                    name=suite.dataset,
                    data=batch.add_batch_definition_whole_table(BATCH_DEFINITION),
                    suite=gx_suite,
                )
            )
        )
    checkpoint = context.checkpoints.add(
        gx.Checkpoint(name="quality_gate", validation_definitions=definitions, actions=[], result_format=RESULT_FORMAT)
    )
    started = datetime.now(UTC)
    result = checkpoint.run(run_id=gx.RunIdentifier(run_name=gate.file_stem(), run_time=started))
    finished = datetime.now(UTC)

    validated = {key.expectation_suite_identifier.name: (key, value) for key, value in result.run_results.items()}
    outcomes = []
    for suite in suites:
        _key, validation = validated[suite.dataset]
        payload = validation.to_json_dict()
        target = docs.results_dir() / suite.dataset / f"{gate.file_stem()}.json"
        _write_result(target, payload)
        outcomes.append(
            DatasetOutcome(
                dataset=suite.dataset,
                suite_path=str(suite.path),
                success=bool(payload.get("success")),
                row_count=facts[suite.dataset].row_count,
                results=[ExpectationOutcome.from_gx(i, item) for i, item in enumerate(payload.get("results") or [])],
                result_path=str(target),
                started_at=started,
                finished_at=finished,
            )
        )
    docs_index = _build_docs(context, validated, outcomes)
    return outcomes, docs_index


def _write_result(target: Path, payload: dict[str, Any]) -> None:
    """Write one dataset's full GX result (its JSON dict) to ``target``."""
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(json.dumps(payload, indent=2, default=str), encoding="utf-8")


def validate_rows(suite: Suite, *, warehouse_url: str, query: str, row_count: int, result_path: Path) -> DatasetOutcome:
    """Validate the rows ``query`` selects from ``suite.dataset`` against the suite's row-level expectations.

    The table-scoped expectations (volume, freshness, cross-table checks) are left to
    :func:`run_quality_gate`. ``row_count`` is how many rows the query selects (the caller has
    counted them). The full result is written to ``result_path``; nothing is stored, documented
    or raised: the caller judges the returned outcome.
    """
    from scrollintel.quality.gxutil import RESULT_FORMAT, import_gx, make_context

    gx = import_gx()
    context = make_context()
    source = context.data_sources.add_postgres(name=DATASOURCE, connection_string=normalise_url(warehouse_url))
    table = suite.dataset.split(".", 1)[1]
    asset = source.add_query_asset(name=f"{table}_batch", query=query)
    batch = asset.add_batch_definition_whole_table(ROWS_BATCH_DEFINITION).get_batch()
    expectations = gx.ExpectationSuite(
        name=suite.dataset, expectations=suite.batch_expectations(), meta=suite.document.meta
    )
    started = datetime.now(UTC)
    validation = batch.validate(expectations, result_format=RESULT_FORMAT)
    finished = datetime.now(UTC)
    payload = validation.to_json_dict()
    _write_result(result_path, payload)
    return DatasetOutcome(
        dataset=suite.dataset,
        suite_path=str(suite.path),
        success=bool(payload.get("success")),
        row_count=row_count,
        results=[ExpectationOutcome.from_gx(i, item) for i, item in enumerate(payload.get("results") or [])],
        result_path=str(result_path),
        started_at=started,
        finished_at=finished,
    )


def _build_docs(run_context: Any, validated: dict[str, tuple[Any, Any]], outcomes: list[DatasetOutcome]) -> str | None:
    """Store this run's suites and results in the docs stores, rebuild their pages and the index.

    Sets each outcome's ``docs_path``; returns the index page, or None when the docs could not be
    built (logged: the docs are an observer of the gate, not part of its verdict).
    """
    from great_expectations.data_context.types.resource_identifiers import ExpectationSuiteIdentifier

    from scrollintel.quality.gxutil import DOCS_SITE, make_context

    try:
        with docs.gates_lock():  # one gate at a time writes the stores and the site on this machine
            docs.prune_validations()
            context = make_context(
                validations_dir=docs.validations_dir(), suites_dir=docs.suites_store_dir(), docs_dir=docs.docs_dir()
            )
            identifiers: list[Any] = []
            for name, (key, validation) in validated.items():
                context.validation_results_store.set(key, validation)
                context.suites.add_or_update(run_context.suites.get(name))
                identifiers += [key, ExpectationSuiteIdentifier(name=name)]
            context.build_data_docs(site_names=[DOCS_SITE], resource_identifiers=identifiers)
            docs.make_pages_self_contained()
        for item in outcomes:
            key, _ = validated[item.dataset]
            urls = context.get_docs_sites_urls(resource_identifier=key, site_name=DOCS_SITE)
            item.docs_path = docs.relative_docs_path(urls[0]["site_url"]) if urls else None
    except Exception as err:  # an observer: the verdict and the stored results stand without the docs
        log.warning("data docs not built: %s: %s", type(err).__name__, err)
        return None
    return "index.html"


def _record_in_ledger(outcome: GateOutcome, url: str) -> None:
    """``quality.gate_passed`` / ``quality.gate_failed`` per dataset; never fails the gate."""
    from scrollintel import audit

    gate = outcome.context
    events = [
        audit.AuditEvent(
            action="quality.gate_passed" if item.success else "quality.gate_failed",
            subject=f"dataset:{item.dataset}",
            details={
                "gate_run_id": outcome.gate_run_id,
                "dag_id": gate.dag_id,
                "run_id": gate.run_id,
                "task_id": gate.task_id,
                "try_number": gate.try_number,
                "as_of": outcome.as_of.isoformat(),
                "row_count": item.row_count,
                "evaluated": item.evaluated,
                "failed": len(item.failures),
                "failed_expectations": [
                    {"type": failure.expectation_type, "column": failure.column, "unexpected": failure.unexpected_count}
                    for failure in item.failures
                ],
                "result_path": item.result_path,
            },
            key=f"quality:{outcome.gate_run_id}:{item.dataset}",
        )
        for item in outcome.datasets
    ]
    try:
        audit.record_many(events, url=url)
    except ScrollIntelError as err:  # record_many queues when the ledger is down; this is a rejected event
        log.warning("quality gate outcome not recorded in the audit ledger: %s: %s", type(err).__name__, err)


__all__ = ["ENV_AS_OF", "GateContext", "resolve_as_of", "run_quality_gate", "safe_name", "validate_rows"]
