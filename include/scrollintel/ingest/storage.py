"""Where a raw table's rows are kept: the raw table, its one partition in ``raw_storage``, swaps.

A raw table ``raw.<source>__<resource>`` is partitioned (migration 0007) and holds no rows
itself: they are in its one DEFAULT partition, a table in ``raw_storage`` that carries the
primary key and that a load rewriting the table replaces while the raw table keeps its identity
(the dbt views over it stay valid). Raw tables created before 0007 are plain tables. See
``governance/adr/0006-ingestion-loader.md``.
"""

from __future__ import annotations

import itertools
from typing import TYPE_CHECKING, Any

from scrollintel.ingest.errors import IngestError
from scrollintel.ingest.sqltypes import MAX_IDENTIFIER, SORTS_BY_CODE_POINT, ident, type_sql
from scrollintel.warehouse import RAW_SCHEMA

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

    import psycopg
    from psycopg import sql

    from scrollintel.ingest import registry
    from scrollintel.ingest.connectors.base import SourceColumn, TableStatistics

#: Where the rows of a raw table are kept: its one partition (migration 0007).
STORAGE_SCHEMA = "raw_storage"

#: ``ANALYZE ONLY`` (the partitioned table, not its partitions) and ``pg_restore_attribute_stats``
#: arrived in PostgreSQL 18.
ANALYZE_ONLY_VERSION = 180_000

#: One column's statistics restored (``inherited``: as the raw table's, else as its partition's).
#: NULL fields are left unset; a field that does not fit the column's type is a warning and False.
_RESTORE_STATISTICS = """
SELECT pg_restore_attribute_stats(
    'schemaname', %(schema)s::text, 'relname', %(table)s::text, 'attname', %(column)s::text,
    'inherited', %(inherited)s::boolean, 'null_frac', %(null_frac)s::real, 'avg_width', %(avg_width)s::integer,
    'n_distinct', %(n_distinct)s::real, 'most_common_vals', %(most_common_vals)s::text,
    'most_common_freqs', %(most_common_freqs)s::real[], 'histogram_bounds', %(histogram_bounds)s::text,
    'correlation', %(correlation)s::real, 'most_common_elems', %(most_common_elems)s::text,
    'most_common_elem_freqs', %(most_common_elem_freqs)s::real[],
    'elem_count_histogram', %(elem_count_histogram)s::real[],
    'range_length_histogram', %(range_length_histogram)s::text, 'range_empty_frac', %(range_empty_frac)s::real,
    'range_bounds_histogram', %(range_bounds_histogram)s::text)
"""
#: The loader's own columns after a first load: one load time and one run for every row.
_CONSTANT_COLUMN_STATISTICS = """
SELECT pg_restore_attribute_stats(
    'schemaname', %(schema)s::text, 'relname', %(table)s::text, 'attname', %(column)s::text,
    'inherited', %(inherited)s::boolean, 'null_frac', 0::real, 'avg_width', %(width)s::integer, 'n_distinct', 1::real,
    'most_common_vals', %(value)s::text, 'most_common_freqs', '{1}'::real[], 'correlation', 1::real)
"""
#: The raw table's row estimate (a partitioned table's, which only ANALYZE sets otherwise).
_RESTORE_ROWS = "SELECT pg_restore_relation_stats('schemaname', %s::text, 'relname', %s::text, 'reltuples', %s::real)"

#: The statistics of a partitioned table (inherited) written as its partition's own.
_COPY_STATISTICS = """
SELECT count(pg_restore_attribute_stats(
    'schemaname', %s::text, 'relname', %s::text, 'attname', s.attname::text, 'inherited', false,
    'null_frac', s.null_frac, 'avg_width', s.avg_width, 'n_distinct', s.n_distinct,
    'most_common_vals', s.most_common_vals::text, 'most_common_freqs', s.most_common_freqs,
    'histogram_bounds', s.histogram_bounds::text, 'correlation', s.correlation,
    'most_common_elems', s.most_common_elems::text, 'most_common_elem_freqs', s.most_common_elem_freqs,
    'elem_count_histogram', s.elem_count_histogram,
    'range_length_histogram', s.range_length_histogram::text, 'range_empty_frac', s.range_empty_frac,
    'range_bounds_histogram', s.range_bounds_histogram::text))
FROM pg_stats s WHERE s.schemaname = %s AND s.tablename = %s AND s.inherited AND s.attname = ANY(%s)
"""

#: Whether the warehouse database sorts text by code point.
_SORTS_BY_CODE_POINT = f"SELECT {SORTS_BY_CODE_POINT} FROM pg_database WHERE datname = current_database()"

#: The oid of a table named by a (schema, name) pair, in the catalog queries below.
_REGCLASS = "to_regclass(format('%%I.%%I', %s::text, %s::text))"

#: The statistics target of a raw column whose values are documents or collections (see
#: :func:`statistics_target`): 300 x 10 = 3,000 sampled rows instead of the default 30,000.
DOCUMENT_STATISTICS_TARGET = 10
#: Warehouse types whose values are documents rather than keys, filters or groups. Their
#: statistics serve the planner for a column's width and null fraction (json, xml and the
#: geometric types have no ordering to build a histogram from, and PostgreSQL estimates
#: geometric operators with constants), or for containment tests from their most common
#: elements (jsonb, tsvector; arrays, matched by their ``[]``).
_DOCUMENT_TYPES = frozenset(
    {"json", "jsonb", "xml", "bytea", "tsvector", "point", "line", "lseg", "box", "path", "polygon", "circle"}
)

#: Each column of a table with its statistics target in effect (its own, else the session's
#: default, as ANALYZE reads it; -1 meant the default before PostgreSQL 17, NULL since).
_STATISTICS_TARGETS = f"""
SELECT a.attname, coalesce(nullif(a.attstattarget::integer, -1), current_setting('default_statistics_target')::integer)
FROM pg_attribute a WHERE a.attrelid = {_REGCLASS} AND a.attnum > 0 AND NOT a.attisdropped ORDER BY a.attnum
"""

#: Whether a table has extended statistics (CREATE STATISTICS): ANALYZE builds one only when it
#: analyzes every column the object names.
_HAS_EXTENDED_STATISTICS = f"SELECT EXISTS (SELECT FROM pg_statistic_ext WHERE stxrelid = {_REGCLASS})"


def statistics_target(pg_type: str) -> int | None:
    """The statistics target a raw column of warehouse type ``pg_type`` is given; None for the default.

    ANALYZE samples 300 rows per unit of the greatest target of the columns it analyzes, then
    reads every sampled value of every column: fetching a column from a row walks the row's
    columns before it, so a wide table's ANALYZE costs about columns² x sampled rows. A column
    of a document type (:data:`_DOCUMENT_TYPES`, arrays) gets
    :data:`DOCUMENT_STATISTICS_TARGET`: 3,000 sampled rows estimate its width and null fraction
    within a few percent and find its frequent elements, and such a column is not what a query
    joins, groups or range-filters on. Every other column keeps the default, since any of them
    may be a key, a join column or a filter. The loader analyzes each target's columns with a
    sample of their own size (:meth:`RawTable.analyze`).
    """
    if pg_type.endswith("[]") or pg_type in _DOCUMENT_TYPES:
        return DOCUMENT_STATISTICS_TARGET
    return None


def sorts_by_code_point(conn: psycopg.Connection[Any]) -> bool:
    """Whether the warehouse's default collation sorts text by code point (see :data:`_SORTS_BY_CODE_POINT`)."""
    return conn.execute(_SORTS_BY_CODE_POINT).fetchone() == (True,)


class RawTable:
    """One raw table during one load: its shape in the catalog and the tables that hold its rows."""

    def __init__(self, table: str, primary_key: tuple[str, ...], *, run_id: str, batch_id: str) -> None:
        self.table = table
        self.primary_key = primary_key
        self.run_id = run_id
        self.batch_id = batch_id
        #: Partitioned (its rows in one partition in raw_storage), as every raw table created since
        #: migration 0007 is; older ones are plain tables, rewritten by TRUNCATE and one INSERT.
        self.partitioned = True
        self._storage_seq = itertools.count(1)

    @property
    def name(self) -> tuple[str, str]:
        """``("raw", "<source>__<resource>")``."""
        return (RAW_SCHEMA, self.table)

    @property
    def qualified(self) -> str:
        """``raw.<source>__<resource>`` as text, for messages."""
        return f"{RAW_SCHEMA}.{self.table}"

    def relkind(self, conn: psycopg.Connection[Any]) -> str | None:
        """``p`` (partitioned), ``r`` (plain), or None when the raw table does not exist yet."""
        row = conn.execute(f"SELECT relkind FROM pg_class WHERE oid = {_REGCLASS}", self.name).fetchone()
        return None if row is None else str(row[0])

    def create(self, conn: psycopg.Connection[Any], columns: Sequence[SourceColumn]) -> None:
        """The raw table, partitioned, with no partition yet.

        Its rows go to its one DEFAULT partition (:meth:`new_storage`, :meth:`swap_in`).
        Partitioned by ``_loaded_at``, a column of the loader's own: PostgreSQL refuses to retype
        a partition key column, and a key on the partitioned table would have to include it (a
        key column widened at the source, ``integer`` to ``bigint``, must stay possible).
        """
        from psycopg import sql

        parts: list[sql.Composable] = [sql.SQL("{} {}").format(ident(c.name), type_sql(c.pg_type)) for c in columns]
        parts.append(sql.SQL("_loaded_at timestamptz NOT NULL DEFAULT now()"))
        parts.append(sql.SQL("_run_id text NOT NULL"))
        conn.execute(
            sql.SQL("CREATE TABLE {} ({}) PARTITION BY RANGE (_loaded_at)").format(
                ident(*self.name), sql.SQL(", ").join(parts)
            )
        )
        targets = {c.name: target for c in columns if (target := statistics_target(c.pg_type)) is not None}
        _set_statistics(conn, self.name, targets)

    def add_key(self, conn: psycopg.Connection[Any], table: tuple[str, str] | None = None) -> None:
        """The primary key of ``table`` (a partition being built), or of a plain raw table."""
        from psycopg import sql

        schema, name = table or self.name
        conn.execute(
            sql.SQL("ALTER TABLE {} ADD CONSTRAINT {} PRIMARY KEY ({})").format(
                ident(schema, name),
                ident(f"{name[: MAX_IDENTIFIER - 5]}_pkey"),
                sql.SQL(", ").join(ident(key) for key in self.primary_key),
            )
        )

    def new_storage(self, conn: psycopg.Connection[Any]) -> tuple[str, str]:
        """A new table shaped like the raw table, in raw_storage, to become its partition.

        Named after the raw table and this load. Rows COPYed into it without ``_loaded_at`` and
        ``_run_id`` get now() and this run (the default is dropped when it is attached). Its key
        columns are NOT NULL from the start: COPY checks each row as it writes it, where the
        primary key built afterwards would scan the whole table once more to check them (a null
        key fails either way, a data error: the batch is read again through the validating path).
        It takes the raw table's statistics targets (``LIKE`` copies none), so that autovacuum's
        ANALYZE of the partition follows them too.
        """
        from psycopg import sql

        table = (STORAGE_SCHEMA, f"{self.table[:40]}__{self.batch_id[:12]}_{next(self._storage_seq)}")
        conn.execute(sql.SQL("CREATE TABLE {} (LIKE {} INCLUDING DEFAULTS)").format(ident(*table), ident(*self.name)))
        changes = [sql.SQL("ALTER COLUMN _run_id SET DEFAULT {}").format(sql.Literal(self.run_id))]
        changes += [sql.SQL("ALTER COLUMN {} SET NOT NULL").format(ident(key)) for key in self.primary_key]
        conn.execute(sql.SQL("ALTER TABLE {} {}").format(ident(*table), sql.SQL(", ").join(changes)))
        _set_statistics(conn, table, self.own_statistics_targets(conn))
        return table

    def own_statistics_targets(self, conn: psycopg.Connection[Any]) -> dict[str, int]:
        """The columns of the raw table that have a statistics target of their own, and that target."""
        rows = conn.execute(
            f"SELECT attname, attstattarget FROM pg_attribute WHERE attrelid = {_REGCLASS} "
            "AND attnum > 0 AND NOT attisdropped AND attstattarget >= 0 ORDER BY attnum",
            self.name,
        ).fetchall()
        return {row[0]: int(row[1]) for row in rows}

    def partitions(self, conn: psycopg.Connection[Any]) -> list[tuple[str, str]]:
        """The raw table's partitions, as (schema, name)."""
        rows = conn.execute(
            "SELECT n.nspname, c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
            f"JOIN pg_namespace n ON n.oid = c.relnamespace WHERE i.inhparent = {_REGCLASS}",
            self.name,
        ).fetchall()
        return [(row[0], row[1]) for row in rows]

    def swap_in(
        self, conn: psycopg.Connection[Any], table: tuple[str, str], statistics: TableStatistics | None = None
    ) -> set[str]:
        """Make ``table`` the raw table's partition: key built, the previous partition detached and
        dropped, statistics gathered (``statistics``: a first load's source statistics, see
        :meth:`restore_statistics`); returns the columns whose statistics were taken from them.

        In the load's transaction: readers of the raw table wait for the commit (DETACH takes
        an ACCESS EXCLUSIVE lock, as TRUNCATE would) and then see the new rows.
        """
        from psycopg import sql

        raw = ident(*self.name)
        conn.execute(sql.SQL("ALTER TABLE {} ALTER COLUMN _run_id DROP DEFAULT").format(ident(*table)))
        self.add_key(conn, table)
        for old in self.partitions(conn):
            conn.execute(sql.SQL("ALTER TABLE {} DETACH PARTITION {}").format(raw, ident(*old)))
            conn.execute(sql.SQL("DROP TABLE {}").format(ident(*old)))
        conn.execute(sql.SQL("ALTER TABLE {} ATTACH PARTITION {} DEFAULT").format(raw, ident(*table)))
        # statistics of the raw table itself (and of its new partition): autovacuum never analyzes a
        # partitioned table, and without them the planner guesses 200 distinct values per column
        # for any query that reads it (a dbt model's join would be planned for millions of rows)
        restored = self.restore_statistics(conn, table, statistics) if statistics is not None else set()
        self.analyze(conn, table, skip=restored)
        return restored

    def restore_statistics(
        self, conn: psycopg.Connection[Any], partition: tuple[str, str], statistics: TableStatistics
    ) -> set[str]:
        """A first load's statistics taken from its source table instead of sampled: the columns done.

        The new partition holds exactly the source table's rows (as of the copy), so the source's
        own statistics describe it, as ``pg_dump --statistics`` carries a table's to a restored
        copy; sampling the copied rows again was most of what a wide table's first load did after
        its COPY. Taken only on PostgreSQL 18 (``pg_restore_attribute_stats``) and when the rows
        copied are within the source's freshness margin of its row estimate; each column is written
        as the raw table's and as its partition's. The loader's ``_loaded_at`` and ``_run_id`` hold
        one value each. Columns not done here (no source statistics, or a value that does not fit)
        are left to :meth:`analyze`.
        """
        from psycopg import sql

        if conn.info.server_version < ANALYZE_ONLY_VERSION or not statistics.columns:
            return set()
        (copied,) = conn.execute(  # type: ignore[misc]
            f"SELECT reltuples FROM pg_class WHERE oid = {_REGCLASS}", partition
        ).fetchone() or (0,)
        if not statistics.describes(float(copied)):
            return set()
        done: set[str] = set()
        for column, fields in statistics.columns.items():
            restored = [
                conn.execute(
                    _RESTORE_STATISTICS,
                    {"schema": schema, "table": table, "column": column, "inherited": inherited, **fields},
                ).fetchone()
                == (True,)
                for schema, table, inherited in ((*self.name, True), (*partition, False))
            ]
            if all(restored):
                done.add(column)
        row = conn.execute(
            sql.SQL(
                "SELECT ARRAY[_loaded_at]::text, ARRAY[_run_id]::text, octet_length(_run_id) FROM {} LIMIT 1"
            ).format(ident(*partition))
        ).fetchone()
        if row is not None:
            loaded_at, run_id, run_id_bytes = row
            for column, value, width in (("_loaded_at", loaded_at, 8), ("_run_id", run_id, run_id_bytes + 1)):
                for schema, table, inherited in ((*self.name, True), (*partition, False)):
                    params = {"schema": schema, "table": table, "column": column, "inherited": inherited}
                    conn.execute(_CONSTANT_COLUMN_STATISTICS, {**params, "value": value, "width": width})
                done.add(column)
        conn.execute(_RESTORE_ROWS, (*self.name, float(copied)))
        return done

    def analyze(self, conn: psycopg.Connection[Any], partition: tuple[str, str], skip: set[str] | None = None) -> None:
        """Statistics of the raw table and of its one partition, from one sample of its rows per target.

        ANALYZE of a partitioned table also analyzes each partition: the same rows sampled twice,
        a fifth of a wide table's first load. From PostgreSQL 18 the table alone is analyzed
        (``ONLY``) and its statistics are written as the partition's, which holds the same rows
        (``pg_restore_attribute_stats``, as ``pg_dump --statistics`` does; its row count is known
        from the key build).

        One ANALYZE samples as many rows as the greatest target of its columns asks, for every
        column: the columns are analyzed in groups of the same target (:func:`statistics_target`),
        each with a sample of its own size, the default target's last (its sample, the largest,
        gives the table's row estimate). A table with extended statistics is analyzed whole, as
        ANALYZE builds those only with all their columns.
        """
        from psycopg import sql

        only = sql.SQL("ONLY ") if conn.info.server_version >= ANALYZE_ONLY_VERSION else sql.SQL("")
        groups, analyzed = self._analyze_groups(conn, skip or set())
        for group in groups:
            columns = sql.SQL(" ({})").format(sql.SQL(", ").join(ident(c) for c in group)) if group else sql.SQL("")
            conn.execute(sql.SQL("ANALYZE {}{}{}").format(only, ident(*self.name), columns))
        if groups and conn.info.server_version >= ANALYZE_ONLY_VERSION:
            conn.execute(_COPY_STATISTICS, (*partition, *self.name, analyzed))

    def _analyze_groups(self, conn: psycopg.Connection[Any], skip: set[str]) -> tuple[list[list[str]], list[str]]:
        """The raw table's columns not in ``skip`` by statistics target, smallest target first
        (``[[]]``: the whole table at once, when one target serves every column and none is
        skipped, or the table has extended statistics), and the names of the columns analyzed."""
        targets: dict[int, list[str]] = {}
        every: list[str] = []
        for name, target in conn.execute(_STATISTICS_TARGETS, self.name).fetchall():
            if target:  # 0: never analyzed
                every.append(name)
                if name not in skip:
                    targets.setdefault(int(target), []).append(name)
        if conn.execute(_HAS_EXTENDED_STATISTICS, self.name).fetchone() == (True,):
            return [[]], every
        if not targets:
            return [], []
        if len(targets) == 1 and not skip:
            return [[]], every
        return [targets[target] for target in sorted(targets)], [name for group in targets.values() for name in group]

    def target(self, conn: psycopg.Connection[Any]) -> tuple[str, str]:
        """The table rows are written to: the raw table's partition (or the raw table, when plain).

        Upserts go to the partition: it holds the primary key (``ON CONFLICT``'s arbiter), and
        ``RETURNING xmax`` is refused on a partitioned table.
        """
        if not self.partitioned:
            return self.name
        partitions = self.partitions(conn)
        if len(partitions) != 1:
            raise IngestError(
                f"{self.qualified} should have one partition in {STORAGE_SCHEMA}, it has {len(partitions)} "
                f"({', '.join('.'.join(p) for p in partitions) or 'none'}); it was changed by hand"
            )
        return partitions[0]

    def estimated_rows(self, conn: psycopg.Connection[Any]) -> float:
        """Rows in the raw table as the planner believes (kept up to date by loads and autovacuum).

        Read from its partition: a partitioned table has no row count of its own.
        """
        row = conn.execute(f"SELECT reltuples FROM pg_class WHERE oid = {_REGCLASS}", self.target(conn)).fetchone()
        return max(float(row[0]), 0.0) if row and row[0] is not None else 0.0

    def columns(self, conn: psycopg.Connection[Any]) -> list[str]:
        """Every column of the raw table in order (columns removed at the source stay in it)."""
        rows = conn.execute(
            f"SELECT attname FROM pg_attribute WHERE attrelid = {_REGCLASS} "
            "AND attnum > 0 AND NOT attisdropped ORDER BY attnum",
            self.name,
        ).fetchall()
        return [row[0] for row in rows]

    def max_text(self, conn: psycopg.Connection[Any], column: str) -> str | None:
        """The greatest value of ``column`` in the raw table, as text."""
        from psycopg import sql

        row = conn.execute(sql.SQL("SELECT max({})::text FROM {}").format(ident(column), ident(*self.name))).fetchone()
        return row[0] if row else None

    def key_constraint(self, conn: psycopg.Connection[Any]) -> str | None:
        """The name of a plain raw table's primary key constraint, if it has one."""
        row = conn.execute(
            f"SELECT conname FROM pg_constraint WHERE conrelid = {_REGCLASS} AND contype = 'p'", self.name
        ).fetchone()
        return None if row is None else str(row[0])

    def empty(self, conn: psycopg.Connection[Any], key: str | None) -> None:
        """A plain raw table emptied and its primary key ``key`` dropped, to be refilled in one INSERT."""
        from psycopg import sql

        table = ident(*self.name)
        conn.execute(sql.SQL("TRUNCATE {}").format(table))
        if key:
            conn.execute(sql.SQL("ALTER TABLE {} DROP CONSTRAINT {}").format(table, ident(key)))

    def evolve(self, conn: psycopg.Connection[Any], diff: registry.SchemaDiff) -> None:
        """Apply compatible changes to the raw table (new columns, widened types)."""
        from psycopg import sql

        table = ident(*self.name)
        targets: dict[str, int | None] = {}
        for change in diff.changes:
            if change.kind == "added" and change.new_type:
                conn.execute(
                    sql.SQL("ALTER TABLE {} ADD COLUMN IF NOT EXISTS {} {}").format(
                        table, ident(change.column), type_sql(change.new_type)
                    )
                )
                if (target := statistics_target(change.new_type)) is not None:
                    targets[change.column] = target
            elif change.kind == "retyped" and change.new_type:
                new_type = type_sql(change.new_type)
                conn.execute(
                    sql.SQL("ALTER TABLE {0} ALTER COLUMN {1} TYPE {2} USING {1}::{2}").format(
                        table, ident(change.column), new_type
                    )
                )
                # the rule follows the type; a target the rule did not set stays
                old, new = statistics_target(change.old_type or ""), statistics_target(change.new_type)
                if new != old:
                    targets[change.column] = new
            # removed: the raw column stays (history); new and changed rows leave it untouched
        _set_statistics(conn, self.name, targets)


def _set_statistics(conn: psycopg.Connection[Any], table: tuple[str, str], targets: Mapping[str, int | None]) -> None:
    """``ALTER TABLE ... ALTER COLUMN ... SET STATISTICS`` for each column of ``targets`` (None: the default).

    On a partitioned table it applies to its partition too.
    """
    from psycopg import sql

    if not targets:
        return
    changes = [  # -1: the default, spelt as PostgreSQL 16 knows it (DEFAULT arrived in 17)
        sql.SQL("ALTER COLUMN {} SET STATISTICS {}").format(ident(name), sql.Literal(-1 if target is None else target))
        for name, target in targets.items()
    ]
    conn.execute(sql.SQL("ALTER TABLE {} {}").format(ident(*table), sql.SQL(", ").join(changes)))
