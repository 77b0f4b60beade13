"""Batch scoring: whatever version ``champion`` points at when the run starts, on the newest feature rows.

:func:`score` resolves the alias once (:func:`scrollintel.ml.registry.load_champion`), so a
promotion or rollback changes the next scoring run only, never rows of a run under way. It reads
the newest snapshot of the model's scoring table (``scoring.features_table`` in
``governance/models.yaml``: for churn ``marts.ml_churn_current_features``, every current subscriber's
features as of today, built by the same dbt macro as the training table) through COPY into Arrow,
scores it, and writes ``marts.<model>_scores`` (:func:`scrollintel.ml.tracking.scores_table`). Without
a scoring table it reads the training table's newest snapshot, whose label window has passed: rows
at least that old, which is why the churn model has one.

**The table.** One row per entity and scoring run: the entity key, the snapshot scored, the
score, the model version that produced it, ``scored_at`` and ``scoring_run_id``. It is created
when missing by the runtime role (the one dbt runs as), in the ``marts`` schema; dbt only
replaces the relations of its own models, so it never drops it. It is partitioned by scoring run
(one partition per run, no index): a run's rows are written without index maintenance, a retry
replaces its partition whole, and each run drops the partitions of all but the newest
``scoring.keep_runs`` runs (``governance/models.yaml``) in the same transaction.

**The write.** The scores go in as CSV that Arrow encodes from its columns batch by batch (no
Python object per row) straight into ``COPY ... FROM STDIN`` (see :func:`write_scores`), in one transaction: a
retried task replaces its rows, a killed one leaves none.
``bench/bench_score.py`` measures it against a raw COPY of the same bytes.
"""

from __future__ import annotations

import datetime as dt
import logging
import uuid
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from psycopg import sql

from scrollintel.exceptions import ScrollIntelError
from scrollintel.ml.tracking import SCORED, registered_model_name, scores_table

if TYPE_CHECKING:
    import psycopg
    import pyarrow as pa
    from mlflow.tracking import MlflowClient

    from scrollintel.config.models import ModelConfig
    from scrollintel.ml.promotion import RunContext

log = logging.getLogger(__name__)

SCORE_COLUMN = "score"
VERSION_COLUMN = "model_version"
SCORED_AT_COLUMN = "scored_at"
RUN_COLUMN = "scoring_run_id"
#: Rows Arrow encodes per batch written to the COPY stream.
BATCH_ROWS = 65_536
_RUN_NAMESPACE = uuid.UUID("0f4c3f5e-2b7b-4c1e-8f65-6c0b1f9e2a31")


class ScoringError(ScrollIntelError):
    """Scoring cannot run (no champion, no feature rows); the message says what is missing."""


@dataclass(frozen=True)
class ScoreResult:
    """One scoring run."""

    model: str
    version: str
    snapshot: str
    rows: int
    table: str
    scoring_run_id: str
    scored_at: str
    #: Older runs whose partitions this run dropped (beyond ``scoring.keep_runs``).
    dropped_runs: int = 0

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready (XCom, ledger)."""
        return dict(self.__dict__)


def scoring_run_id(model: str, context: RunContext | None) -> str:
    """The same id for every try of one DAG run (a retry replaces its rows); random outside Airflow."""
    if context is not None and context.dag_id and context.dag_run_id:
        return str(uuid.uuid5(_RUN_NAMESPACE, f"{model}\x00{context.dag_id}\x00{context.dag_run_id}"))
    return str(uuid.uuid4())


def _key_types(conn: psycopg.Connection[Any], model: ModelConfig) -> list[tuple[str, str]]:
    """(column, SQL type) of the model's entity key in its feature table."""
    rows = conn.execute(
        "SELECT attname, format_type(atttypid, atttypmod) FROM pg_attribute "
        "WHERE attrelid = %s::regclass AND attname = ANY(%s) AND NOT attisdropped",
        (model.features_table, list(model.entity_key)),
    ).fetchall()
    types = dict(rows)
    missing = [column for column in model.entity_key if column not in types]
    if missing:
        raise ScoringError(f"{model.features_table} has no entity key column(s) {', '.join(missing)}")
    return [(column, types[column]) for column in model.entity_key]


def ensure_table(conn: psycopg.Connection[Any], model: ModelConfig) -> tuple[str, str]:
    """Create ``marts.<model>_scores`` (partitioned by scoring run) when missing; returns (schema, table)."""
    schema, table = scores_table(model.name)
    keys = _key_types(conn, model)
    columns = sql.SQL(", ").join(
        [
            *(sql.SQL("{} {} NOT NULL").format(sql.Identifier(name), sql.SQL(kind)) for name, kind in keys),
            sql.SQL("{} date NOT NULL").format(sql.Identifier(model.snapshot_column)),
            sql.SQL("{} double precision NOT NULL").format(sql.Identifier(SCORE_COLUMN)),
            sql.SQL("{} integer NOT NULL").format(sql.Identifier(VERSION_COLUMN)),
            sql.SQL("{} timestamptz NOT NULL").format(sql.Identifier(SCORED_AT_COLUMN)),
            sql.SQL("{} uuid NOT NULL").format(sql.Identifier(RUN_COLUMN)),
        ]
    )
    conn.execute(
        sql.SQL("CREATE TABLE IF NOT EXISTS {} ({}) PARTITION BY LIST ({})").format(
            sql.Identifier(schema, table), columns, sql.Identifier(RUN_COLUMN)
        )
    )
    return schema, table


def partition_name(model: ModelConfig, run_id: str) -> str:
    """``<model>_scores_<run id hex>``: the partition holding one scoring run's rows."""
    return f"{scores_table(model.name)[1]}_{uuid.UUID(run_id).hex}"


def write_scores(url: str, model: ModelConfig, scores: pa.Table, run_id: str) -> tuple[int, int]:
    """Replace the run's partition of the scores table by ``scores`` (its columns in the table's order), by COPY.

    One transaction: an earlier try's partition is detached and dropped; a new table with the
    partition's CHECK constraint is filled by ``COPY ... FREEZE`` (created in this transaction, so
    its rows are written frozen, no index to maintain), then attached (the CHECK spares the scan).
    Readers see the old rows or the new ones. Arrow encodes the rows as CSV batch by batch straight
    into the COPY stream, so the server parses one batch while the next is encoded. Then the
    partitions of all but the newest ``scoring.keep_runs`` runs are dropped (:func:`drop_old_runs`).

    Returns:
        (rows written, older runs dropped)
    """
    import pyarrow as pa
    from pyarrow import csv

    from scrollintel.warehouse import connect

    with connect(url) as conn:
        schema, table = ensure_table(conn, model)
        parent = sql.Identifier(schema, table)
        part = sql.Identifier(schema, partition_name(model, run_id))
        found = conn.execute("SELECT to_regclass(%s)", (f"{schema}.{partition_name(model, run_id)}",)).fetchone()
        if found and found[0]:
            conn.execute(sql.SQL("ALTER TABLE {} DETACH PARTITION {}").format(parent, part))
            conn.execute(sql.SQL("DROP TABLE {}").format(part))
        conn.execute(
            sql.SQL("CREATE TABLE {} (LIKE {} INCLUDING ALL, CHECK ({} = {}))").format(
                part, parent, sql.Identifier(RUN_COLUMN), sql.Literal(run_id)
            )
        )
        names = sql.SQL(", ").join(sql.Identifier(name) for name in scores.column_names)
        copy = sql.SQL("COPY {} ({}) FROM STDIN (FORMAT csv, FREEZE true)").format(part, names)
        with conn.cursor() as cur, cur.copy(copy) as stream:
            sink = pa.PythonFile(_CopySink(stream), mode="w")
            options = csv.WriteOptions(include_header=False, batch_size=BATCH_ROWS)
            with csv.CSVWriter(sink, scores.schema, write_options=options) as writer:
                for batch in scores.to_batches(max_chunksize=BATCH_ROWS):
                    writer.write_batch(batch)
        conn.execute(
            sql.SQL("ALTER TABLE {} ATTACH PARTITION {} FOR VALUES IN ({})").format(parent, part, sql.Literal(run_id))
        )
        dropped = drop_old_runs(conn, schema, table, model.scoring.keep_runs)
    return scores.num_rows, dropped


def drop_old_runs(conn: psycopg.Connection[Any], schema: str, table: str, keep: int) -> int:
    """Drop the partitions of all but the ``keep`` newest runs (by ``scored_at``); returns how many went.

    A run's rows share one ``scored_at``, so one row of each partition dates it; an empty
    partition (a run that scored nothing) counts as the oldest.
    """
    parts = conn.execute(
        "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid WHERE i.inhparent = %s::regclass",
        (f"{schema}.{table}",),
    ).fetchall()
    dated = []
    for (name,) in parts:
        query = sql.SQL("SELECT {} FROM {} LIMIT 1").format(
            sql.Identifier(SCORED_AT_COLUMN), sql.Identifier(schema, name)
        )
        row = conn.execute(query).fetchone()
        dated.append((row[0] if row else None, name))
    dated.sort(key=lambda item: (item[0] is not None, item[0] or dt.datetime.min.replace(tzinfo=dt.UTC)))
    old = dated[: max(0, len(dated) - keep)]
    for _, name in old:
        conn.execute(sql.SQL("DROP TABLE {}").format(sql.Identifier(schema, name)))
    if old:
        log.info("dropped %d scoring run partition(s) of %s.%s (keeping the newest %d)", len(old), schema, table, keep)
    return len(old)


class _CopySink:
    """A write-only file object over a psycopg COPY stream (what Arrow's CSV writer writes to)."""

    closed = False

    def __init__(self, stream: Any) -> None:
        self.stream = stream

    def write(self, data: Any) -> int:
        self.stream.write(bytes(data))
        return len(data)

    def flush(self) -> None:
        """Nothing is buffered here: each write goes to the COPY stream."""

    def close(self) -> None:
        self.closed = True


def score_frame(estimator: Any, frame: Any, model: ModelConfig) -> Any:
    """Churn probabilities of ``frame``'s rows (numpy array)."""
    from scrollintel.ml.training import feature_frame

    return estimator.predict_proba(feature_frame(frame, model.features))[:, 1]


def scores_arrow(
    frame: Any, model: ModelConfig, scores: Any, *, version: str, scored_at: dt.datetime, run_id: str
) -> pa.Table:
    """The rows to write: key, snapshot, score, version, scored_at, run id (Arrow, no per-row objects)."""
    import pyarrow as pa

    n = len(frame)
    columns = {name: pa.array(frame[name].to_numpy()) for name in model.entity_key}
    columns[model.snapshot_column] = pa.array(frame[model.snapshot_column].to_numpy()).cast(pa.date32())
    columns[SCORE_COLUMN] = pa.array(scores, pa.float64())
    columns[VERSION_COLUMN] = pa.array([int(version)] * n, pa.int32()) if n else pa.array([], pa.int32())
    columns[SCORED_AT_COLUMN] = pa.repeat(pa.scalar(scored_at, pa.timestamp("us", tz="UTC")), n)
    columns[RUN_COLUMN] = pa.repeat(pa.scalar(run_id), n)
    return pa.table(columns)


def scoring_source(model: ModelConfig) -> ModelConfig:
    """``model`` reading the table scoring reads: ``scoring.features_table`` when set, else its training table."""
    table = model.scoring.features_table
    return model.model_copy(update={"features_table": table}) if table else model


def score(
    model: ModelConfig,
    warehouse_url: str,
    *,
    context: RunContext | None = None,
    mlflow_client: MlflowClient | None = None,
) -> ScoreResult:
    """Score the newest feature rows with the current champion and write them (see the module docstring).

    Raises:
        ScoringError: the feature table is empty.
        RegistryError: no version is champion, or it is refused.
    """
    from scrollintel import audit
    from scrollintel.ml import features, registry

    client = mlflow_client or registry.client()
    estimator, version = registry.load_champion(model.name, client)
    source = scoring_source(model)
    days = features.snapshots(warehouse_url, source)
    if not days:
        raise ScoringError(f"{source.features_table} is empty: nothing to score")
    newest = days[-1]
    frame = features.read_frame(
        warehouse_url, source, [newest], columns=[*model.entity_key, model.snapshot_column, *model.features]
    )
    run_id = scoring_run_id(model.name, context)
    scored_at = dt.datetime.now(dt.UTC)
    table = scores_arrow(
        frame, model, score_frame(estimator, frame, model), version=version, scored_at=scored_at, run_id=run_id
    )
    rows, dropped = write_scores(warehouse_url, model, table, run_id)
    schema, name = scores_table(model.name)
    result = ScoreResult(
        model=model.name,
        version=version,
        snapshot=str(newest),
        rows=rows,
        table=f"{schema}.{name}",
        scoring_run_id=run_id,
        scored_at=scored_at.isoformat(timespec="seconds"),
        dropped_runs=dropped,
    )
    details = {**result.as_dict(), **(context.as_details() if context else {})}
    audit.record(
        SCORED,
        f"model:{registered_model_name(model.name)}@v{version}",
        details,
        actor=f"dag:{context.dag_id}" if context and context.dag_id else "scrollintel",
        key=f"{SCORED}:{run_id}:{version}",
    )
    log.info("scored %d rows of %s snapshot %s with %s v%s", rows, source.features_table, newest, model.name, version)
    return result
