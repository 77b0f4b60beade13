"""The SQL that brings a staged batch into its raw table: one ``gen_*`` function per strategy.

The loader (:mod:`scrollintel.ingest.loader`) picks the strategy and runs the statements in its
transaction; these functions only write them. A batch small next to the table is upserted row
by row (:func:`gen_upsert_sql`). A large one is first compared with the whole table in one join
(:func:`gen_compare_sql`) into ``_scrollintel_kept``, the stored rows that stay; then either
the table is rewritten from the kept and changed rows (:func:`gen_rewrite_sql`) or only the
changed rows are upserted (:func:`gen_changes_sql`). A full refresh also deletes the keys absent
from the batch (:func:`gen_delete_absent_sql`, :func:`gen_delete_absent_kept_sql`). Same rows
and counts whichever is picked; see ``governance/adr/0006-ingestion-loader.md`` for the figures.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from scrollintel.ingest.sqltypes import cast, column_list, comparable, ident

if TYPE_CHECKING:
    from psycopg import sql

    from scrollintel.ingest.connectors.base import SourceColumn

KEPT = "_scrollintel_kept"
#: Soft delete detection's column of the raw table (:mod:`scrollintel.ingest.deletes`): when the
#: source deleted the row. A row of a batch is not deleted, so every strategy clears it.
DELETED_AT = "_deleted_at"
#: work_mem of the join that compares a large batch with the table.
COMPARE_WORK_MEM = "256MB"


@dataclass(frozen=True)
class Batch:
    """What every strategy's SQL is about: a staged batch and the raw table it goes to."""

    raw: tuple[str, str]
    """The raw table, (schema, name)."""
    stage: tuple[str, str]
    """The batch's stage, (schema, name): text columns or the warehouse types."""
    columns: Sequence[SourceColumn]
    """The source's columns (the raw table may also hold columns removed at the source)."""
    primary_key: tuple[str, ...]
    run_id: str
    deleted_at: bool = False
    """The raw table has :data:`DELETED_AT`: a stored row marked deleted is changed by the batch even
    when its values are the same (it came back), and the batch's rows are written unmarked."""

    def key_match(self, left: str, right: str) -> sql.Composable:
        """SQL: rows ``left`` and ``right`` (aliases of the statement) have the same primary key value."""
        from psycopg import sql

        return sql.SQL(" AND ").join(
            sql.SQL(f"{left}.{{0}} = {right}.{{0}}").format(ident(name)) for name in self.primary_key
        )

    def keys(self) -> sql.Composable:
        """The primary key columns, comma separated."""
        from psycopg import sql

        return sql.SQL(", ").join(ident(name) for name in self.primary_key)

    def stage_casts(self) -> sql.Composable:
        """The stage's columns cast to the warehouse types (a value that does not fit raises a data error)."""
        from psycopg import sql

        return sql.SQL(", ").join(
            sql.SQL("{} AS {}").format(cast(col.name, col.pg_type), ident(col.name)) for col in self.columns
        )

    def same(self, stored: str, staged: str) -> sql.Composable:
        """SQL: the non-key values of rows ``stored`` and ``staged`` are the same (nulls equal), and
        the stored row is not marked deleted."""
        from psycopg import sql

        data = [col for col in self.columns if col.name not in self.primary_key]
        parts: list[sql.Composable] = []
        if data:
            parts.append(
                sql.SQL("({}) IS NOT DISTINCT FROM ({})").format(
                    sql.SQL(", ").join(comparable(stored, col.name, col.pg_type) for col in data),
                    sql.SQL(", ").join(comparable(staged, col.name, col.pg_type) for col in data),
                )
            )
        if self.deleted_at:
            parts.append(sql.SQL("{}.{} IS NULL").format(sql.Identifier(stored), ident(DELETED_AT)))
        return sql.SQL(" AND ").join(parts) if parts else sql.SQL("true")


def gen_upsert_sql(batch: Batch, target: tuple[str, str]) -> sql.Composed:
    """Upsert the stage into ``target`` (the raw table's partition); returns (inserted, inserted + updated).

    A stored row is only rewritten when a value differs, so unchanged rows keep their
    ``_loaded_at`` and ``_run_id``.
    """
    from psycopg import sql

    keys = set(batch.primary_key)
    data = [col for col in batch.columns if col.name not in keys]
    casts = sql.SQL(", ").join(cast(col.name, col.pg_type) for col in batch.columns)
    if data or batch.deleted_at:
        assignments = [sql.SQL("{0} = EXCLUDED.{0}").format(ident(col.name)) for col in data]
        if batch.deleted_at:  # a marked row came back: unmark it, even when its values are the same
            assignments.append(sql.SQL("{} = NULL").format(ident(DELETED_AT)))
        action: sql.Composable = sql.SQL(
            "DO UPDATE SET {}, _loaded_at = EXCLUDED._loaded_at, _run_id = EXCLUDED._run_id WHERE NOT ({})"
        ).format(sql.SQL(", ").join(assignments), batch.same("t", "excluded"))
    else:
        action = sql.SQL("DO NOTHING")
    return sql.SQL(
        "WITH merged AS (INSERT INTO {table} AS t ({columns}, _loaded_at, _run_id) "
        "SELECT {casts}, now(), {run} FROM {stage} "
        "ON CONFLICT ({keys}) {action} RETURNING (xmax = 0) AS inserted) "
        "SELECT count(*) FILTER (WHERE inserted), count(*) FROM merged"
    ).format(
        table=ident(*target),
        columns=column_list(batch.columns),
        casts=casts,
        stage=ident(*batch.stage),
        keys=batch.keys(),
        action=action,
        run=sql.Literal(batch.run_id),
    )


def gen_delete_absent_sql(batch: Batch, target: tuple[str, str]) -> sql.Composed:
    """Full refresh after an upsert: delete rows of ``target`` whose key is not in the (valid part of the) batch."""
    from psycopg import sql

    types = {col.name: col.pg_type for col in batch.columns}
    match = sql.SQL(" AND ").join(
        sql.SQL("{} = t.{}").format(cast(name, types[name]), ident(name)) for name in batch.primary_key
    )
    return sql.SQL("DELETE FROM {} AS t WHERE NOT EXISTS (SELECT 1 FROM {} WHERE {})").format(
        ident(*target), ident(*batch.stage), match
    )


def gen_compare_sql(batch: Batch, *, removed_columns: bool) -> list[sql.Composed]:
    """Join the raw table with the stage into ``_scrollintel_kept``: the stored rows that stay.

    Kept are the rows the batch leaves as they are: ``unchanged`` (same values: they keep their
    ``_loaded_at`` and ``_run_id``, as the upsert would) and ``absent`` (key not in the batch),
    flagged ``_in_batch`` and ``_same``. The changed rows are not copied: they are the stage's
    rows without a kept match (:func:`gen_changed_rows_sql`). When a batch changes every row,
    the join writes nothing. (Only when the table holds ``removed_columns``, columns removed at
    the source, are all its rows kept, since updated rows keep their values of those columns.)

    The statements in order; :func:`gen_compare_counts_sql` then counts what the join found.
    """
    from psycopg import sql

    same = batch.same("t", "s")
    only_kept = sql.SQL("") if removed_columns else sql.SQL(" WHERE s._present IS NULL OR {}").format(same)
    return [
        sql.SQL("DROP TABLE IF EXISTS {}").format(ident(KEPT)),
        # the hash of the stage fits in memory (a few hundred MB for millions of rows) instead of
        # spilling to disk in batches; for the rest of this transaction only
        sql.SQL("SET LOCAL work_mem = {}").format(sql.Literal(COMPARE_WORK_MEM)),
        sql.SQL(
            "CREATE TEMP TABLE {kept} ON COMMIT DROP AS "
            "SELECT t.*, s._present IS NOT NULL AS _in_batch, s._present IS NOT NULL AND {same} AS _same "
            "FROM {table} AS t LEFT JOIN (SELECT true AS _present, {casts} FROM {stage}) AS s ON {match}{only_kept}"
        ).format(
            kept=ident(KEPT),
            same=same,
            table=ident(*batch.raw),
            casts=batch.stage_casts(),
            stage=ident(*batch.stage),
            match=batch.key_match("s", "t"),
            only_kept=only_kept,
        ),
    ]


def gen_compare_counts_sql(batch: Batch) -> sql.Composed:
    """After :func:`gen_compare_sql`: (unchanged, absent from the batch, rows stored in the raw table)."""
    from psycopg import sql

    return sql.SQL(
        "SELECT count(*) FILTER (WHERE _same), count(*) FILTER (WHERE NOT _in_batch), "
        "(SELECT count(*) FROM {table}) FROM {kept}"
    ).format(kept=ident(KEPT), table=ident(*batch.raw))


def gen_analyze_kept_sql() -> sql.Composed:
    """Statistics of ``_scrollintel_kept`` for the joins that read it (a temporary table has none)."""
    from psycopg import sql

    return sql.SQL("ANALYZE {}").format(ident(KEPT))


def gen_changed_rows_sql(batch: Batch, raw_columns: Sequence[str], *, matched: bool) -> sql.Composable:
    """SELECT of the batch's new and changed rows, in the raw table's column order ``raw_columns``.

    ``matched``: some kept rows are rows of the batch (unchanged, or all stored rows when
    columns were removed at the source), so the stage is joined with them; else every stage
    row is new or changed and the stage is read alone.
    """
    from psycopg import sql

    ours = {col.name for col in batch.columns}
    picks: list[sql.Composable] = []
    for name in raw_columns:
        if name in ours:
            picks.append(sql.SQL("s.{}").format(ident(name)))
        elif name == "_loaded_at":
            picks.append(sql.SQL("now()"))
        elif name == "_run_id":
            picks.append(sql.Literal(batch.run_id))
        elif name == DELETED_AT and batch.deleted_at:
            picks.append(sql.SQL("NULL::timestamptz"))
        else:  # removed at the source: new rows have none, updated ones keep theirs
            picks.append(sql.SQL("k.{}").format(ident(name)))
    if not matched:
        return sql.SQL("SELECT {picks} FROM (SELECT {casts} FROM {stage}) AS s").format(
            picks=sql.SQL(", ").join(picks), casts=batch.stage_casts(), stage=ident(*batch.stage)
        )
    return sql.SQL(
        "SELECT {picks} FROM (SELECT {casts} FROM {stage}) AS s "
        "LEFT JOIN {kept} AS k ON k._in_batch AND {match} WHERE k._same IS NOT TRUE"
    ).format(
        picks=sql.SQL(", ").join(picks),
        casts=batch.stage_casts(),
        stage=ident(*batch.stage),
        kept=ident(KEPT),
        # keys are unique in the stage by now (duplicates are quarantined first): one kept row each
        match=batch.key_match("k", "s"),
    )


def gen_keep_absent_sql(into: tuple[str, str], raw_columns: Sequence[str]) -> sql.Composed:
    """Rewrite into the stage itself: add the stored rows absent from the batch to it (``into``).

    For a batch whose rows are all new or changed, staged in a table shaped like the raw table:
    the stage then becomes the new partition, so the batch's rows are written once.
    """
    from psycopg import sql

    columns = sql.SQL(", ").join(ident(name) for name in raw_columns)
    return sql.SQL("INSERT INTO {} ({columns}) SELECT {columns} FROM {} WHERE NOT _in_batch").format(
        ident(*into), ident(KEPT), columns=columns
    )


def gen_rewrite_sql(
    into: tuple[str, str], raw_columns: Sequence[str], changed: sql.Composable, *, full_refresh: bool
) -> sql.Composed:
    """Rewrite: the kept rows and the ``changed`` rows (:func:`gen_changed_rows_sql`), written once into ``into``.

    ``into`` is a new partition, or a plain raw table just emptied; its key is built afterwards.
    A full refresh keeps only the unchanged rows, else the rows absent from the batch stay too.
    """
    from psycopg import sql

    columns = sql.SQL(", ").join(ident(name) for name in raw_columns)
    keep = sql.SQL("_same") if full_refresh else sql.SQL("_same OR NOT _in_batch")
    return sql.SQL("INSERT INTO {} ({columns}) SELECT {columns} FROM {} WHERE {} UNION ALL {}").format(
        ident(*into), ident(KEPT), keep, changed, columns=columns
    )


def gen_changes_sql(
    batch: Batch, target: tuple[str, str], raw_columns: Sequence[str], changed: sql.Composable
) -> sql.Composed:
    """Upsert only the ``changed`` rows (:func:`gen_changed_rows_sql`) into ``target``."""
    from psycopg import sql

    names = [name for name in raw_columns if name not in batch.primary_key]
    return sql.SQL(
        "INSERT INTO {table} AS t ({columns}) {changed} ON CONFLICT ({keys}) DO UPDATE SET {assignments}"
    ).format(
        table=ident(*target),
        columns=sql.SQL(", ").join(ident(name) for name in raw_columns),
        changed=changed,
        keys=batch.keys(),
        assignments=sql.SQL(", ").join(sql.SQL("{0} = EXCLUDED.{0}").format(ident(name)) for name in names),
    )


def gen_delete_absent_kept_sql(batch: Batch, target: tuple[str, str]) -> sql.Composed:
    """Full refresh after :func:`gen_changes_sql`: delete the stored rows the compare found absent from the batch."""
    from psycopg import sql

    return sql.SQL("DELETE FROM {table} AS t USING {kept} AS k WHERE NOT k._in_batch AND {match}").format(
        table=ident(*target), kept=ident(KEPT), match=batch.key_match("k", "t")
    )
