"""The statistics a load leaves on a raw table: every column's at commit, documents' from a smaller sample.

A first load (and every rewrite) analyzes the raw table in its transaction: queries over it,
dbt's first, plan with statistics of every column. A first load from a PostgreSQL table whose
own ANALYZE is fresh takes that table's statistics instead, for every column of the same type
that sorts the same in the warehouse (``pg_restore_attribute_stats``), and analyzes the others.
Columns of document types (json, jsonb, arrays, tsvector, bytea, geometric types) carry a
statistics target of 10 set when the column is created, on the raw table and its partition, and
are analyzed with a sample of that size; every other column keeps the default target and its
full sample (``scrollintel.ingest.storage``).
"""

from __future__ import annotations

from typing import Any

import pytest

from scrollintel.ingest import loader
from scrollintel.ingest.connectors.postgres import PostgresConnector
from scrollintel.ingest.loader import load_resource
from scrollintel.ingest.spec import ResourceSpec
from scrollintel.ingest.storage import DOCUMENT_STATISTICS_TARGET
from tests.integration.ingest.helpers import STRATEGIES, connect, execute, postgres_source

pytestmark = pytest.mark.integration

ROWS = 2_000
#: (column, type, value for row g): documents first, then columns a query filters, joins or groups on.
COLUMNS = [
    ("payload", "json", "json_build_object('id', g, 'note', md5(g::text))"),
    ("attrs", "jsonb", "jsonb_build_object('k', g)"),
    ("tags", "text[]", "ARRAY['t' || g % 5, 't' || g % 7]"),
    ("counts", "integer[]", "ARRAY[g % 3, g % 4]"),
    ("words", "tsvector", "to_tsvector('simple', 'item ' || g % 13)"),
    ("blob", "bytea", "decode(md5(g::text), 'hex')"),
    ("pos", "point", "point(g, -g)"),
    ("kind", "text", "'k' || g % 3"),
    ("amount", "numeric(12,2)", "g / 100.0"),
    ("during", "int4range", "int4range(g, g + 10)"),
    ("updated_at", "timestamptz", "timestamptz '2026-01-01' + g * interval '1 minute'"),
]
DOCUMENTS = {"payload", "attrs", "tags", "counts", "words", "blob", "pos"}


def _source(source_db: str, *extra: str) -> Any:
    """The source table, never analyzed (autovacuum off for it) unless ``extra`` statements do."""
    execute(
        source_db,
        "CREATE TABLE s (id bigint PRIMARY KEY, " + ", ".join(f"{name} {kind}" for name, kind, _ in COLUMNS) + ") "
        "WITH (autovacuum_enabled = false)",
        f"INSERT INTO s SELECT g, {', '.join(value for _, _, value in COLUMNS)} FROM generate_series(1, {ROWS}) g",
    )
    if extra:  # in a session of its own: the rows inserted are counted (at the end of their session) before
        execute(source_db, *extra)
    return postgres_source("st", [{"name": "s", "primary_key": ["id"], "cursor": "updated_at"}], policy="evolve")


def _load(source: Any, source_db: str, warehouse: str, run_id: str) -> None:
    load_resource(PostgresConnector(source, source_db), ResourceSpec.from_config(source, "s"), warehouse, run_id=run_id)


def _partition(conn: Any) -> tuple[str, str]:
    (partition,) = conn.execute(
        "SELECT n.nspname, c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
        "JOIN pg_namespace n ON n.oid = c.relnamespace WHERE i.inhparent = 'raw.st__s'::regclass"
    ).fetchall()
    return partition[0], partition[1]


def _targets(conn: Any, schema: str, table: str) -> dict[str, int | None]:
    """Each column's own statistics target (None: the default)."""
    rows = conn.execute(
        "SELECT attname, nullif(attstattarget::integer, -1) FROM pg_attribute "
        "WHERE attrelid = format('%%I.%%I', %s::text, %s::text)::regclass AND attnum > 0 AND NOT attisdropped",
        (schema, table),
    ).fetchall()
    return {name: target for name, target in rows}


def test_a_first_load_gives_document_columns_a_low_target_and_leaves_statistics_for_every_column(
    source_db: str, warehouse: str
) -> None:
    _load(_source(source_db), source_db, warehouse, "first")
    low = {name: DOCUMENT_STATISTICS_TARGET for name in DOCUMENTS}
    with connect(warehouse) as conn:
        partition = _partition(conn)
        for table in (("raw", "st__s"), partition):
            targets = _targets(conn, *table)
            assert {name: target for name, target in targets.items() if target is not None} == low, table
        analyzed = {
            (row[0], row[1])
            for row in conn.execute(
                "SELECT attname, inherited FROM pg_stats WHERE (schemaname, tablename) IN (('raw', 'st__s'), (%s, %s))",
                partition,
            ).fetchall()
        }
        # the key's statistics: every value distinct, and a histogram of the default target's 101 bounds
        key = conn.execute(
            "SELECT n_distinct, cardinality(histogram_bounds::text::bigint[]) FROM pg_stats "
            "WHERE schemaname = 'raw' AND tablename = 'st__s' AND attname = 'id'"
        ).fetchone()
        # a document column's statistics at its own target: a histogram of 11 bounds
        document = conn.execute(
            "SELECT cardinality(histogram_bounds::text::jsonb[]) FROM pg_stats "
            "WHERE schemaname = 'raw' AND tablename = 'st__s' AND attname = 'attrs'"
        ).fetchone()
    every = {"id", "_loaded_at", "_run_id", *(name for name, _, _ in COLUMNS)}
    assert analyzed == {(name, inherited) for name in every for inherited in (True, False)}
    assert key == (-1, 101)
    assert document == (DOCUMENT_STATISTICS_TARGET + 1,)


def test_a_document_column_added_under_evolve_gets_the_low_target_on_the_raw_table_and_its_partition(
    source_db: str, warehouse: str
) -> None:
    source = _source(source_db)
    _load(source, source_db, warehouse, "first")
    execute(
        source_db,
        "ALTER TABLE s ADD COLUMN extra jsonb, ADD COLUMN note text",
        "UPDATE s SET extra = '{\"a\": 1}', note = 'n', updated_at = updated_at + interval '1 year' WHERE id <= 10",
    )
    _load(source, source_db, warehouse, "evolved")
    with connect(warehouse) as conn:
        for table in (("raw", "st__s"), _partition(conn)):
            targets = _targets(conn, *table)
            assert (targets["extra"], targets["note"]) == (DOCUMENT_STATISTICS_TARGET, None), table


def test_a_raw_table_with_extended_statistics_is_analyzed_whole_so_they_are_built(
    source_db: str, warehouse: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Extended statistics over a document and another column need both in one ANALYZE."""
    source = _source(source_db)
    _load(source, source_db, warehouse, "first")
    execute(warehouse, "CREATE STATISTICS raw.st__s_kind_attrs (ndistinct) ON kind, attrs FROM raw.st__s")
    execute(source_db, "UPDATE s SET amount = amount + 1, updated_at = updated_at + interval '1 month'")
    for name, value in STRATEGIES["join-rewrite"].items():
        monkeypatch.setattr(loader, name, value)
    _load(source, source_db, warehouse, "rewrite")
    with connect(warehouse) as conn:
        built = conn.execute(
            "SELECT n_distinct IS NOT NULL FROM pg_stats_ext "
            "WHERE schemaname = 'raw' AND statistics_name = 'st__s_kind_attrs' AND inherited"
        ).fetchall()
        histogram = conn.execute(
            "SELECT cardinality(histogram_bounds::text::bigint[]) FROM pg_stats "
            "WHERE schemaname = 'raw' AND tablename = 'st__s' AND attname = 'id' AND inherited"
        ).fetchone()
    assert built == [(True,)]
    assert histogram == (101,)


#: The source's own ANALYZE at a target no load uses (histograms of 6 bounds, not 101 or 11).
SOURCE_TARGET = 5
ANALYZED_AT_SOURCE_TARGET = (
    "ALTER TABLE s "
    + ", ".join(f"ALTER COLUMN {name} SET STATISTICS {SOURCE_TARGET}" for name in ("id", "kind", "amount")),
    "ANALYZE s",
)
_FIELDS = (
    "null_frac, avg_width, n_distinct, most_common_vals::text, most_common_freqs, histogram_bounds::text, correlation"
)


def _stats(conn: Any, schema: str, table: str, inherited: bool) -> dict[str, tuple[Any, ...]]:
    rows = conn.execute(
        f"SELECT attname, {_FIELDS} FROM pg_stats WHERE schemaname = %s AND tablename = %s AND inherited = %s",
        (schema, table, inherited),
    ).fetchall()
    return {row[0]: tuple(row[1:]) for row in rows}


def _bounds(conn: Any, column: str, *, partition: bool = False) -> int | None:
    """How many bounds the histogram of ``column`` has on the raw table (or its partition)."""
    schema, table = _partition(conn) if partition else ("raw", "st__s")
    (bounds,) = conn.execute(
        "SELECT cardinality(histogram_bounds::text::text[]) FROM pg_stats "
        "WHERE schemaname = %s AND tablename = %s AND attname = %s AND inherited = %s",
        (schema, table, column, not partition),
    ).fetchone()
    return bounds  # type: ignore[no-any-return]


def test_a_first_load_takes_the_fresh_statistics_of_the_source_table_instead_of_sampling(
    source_db: str, warehouse: str
) -> None:
    _load(_source(source_db, *ANALYZED_AT_SOURCE_TARGET), source_db, warehouse, "first")
    with connect(source_db) as conn:
        source = _stats(conn, "public", "s", False)
    with connect(warehouse) as conn:
        partition = _partition(conn)
        raw, own = _stats(conn, "raw", "st__s", True), _stats(conn, *partition, False)
        loaded_at = conn.execute(
            "SELECT n_distinct, most_common_freqs FROM pg_stats "
            "WHERE schemaname = 'raw' AND tablename = 'st__s' AND attname = '_loaded_at' AND inherited"
        ).fetchone()
        (rows,) = conn.execute("SELECT reltuples FROM pg_class WHERE oid = 'raw.st__s'::regclass").fetchone()
        ids = _bounds(conn, "id"), _bounds(conn, "id", partition=True)
    assert set(source) == {"id", *(name for name, _, _ in COLUMNS)}
    # every source column's statistics, exactly, on the raw table and its partition
    assert {name: raw[name] for name in source} == source == {name: own[name] for name in source}
    assert ids == (SOURCE_TARGET + 1, SOURCE_TARGET + 1)  # the source's histogram, not a new sample's 101 bounds
    assert loaded_at == (1, [1.0])  # one load time for every row of a first load
    assert rows == ROWS


@pytest.mark.parametrize(
    "history",
    [
        pytest.param((), id="never-analyzed"),
        # analyzed, then grown by half: more changed rows than autovacuum would leave unanalyzed
        pytest.param(
            (
                *ANALYZED_AT_SOURCE_TARGET,
                f"INSERT INTO s (id, kind, updated_at) SELECT g, 'new', now() "
                f"FROM generate_series({ROWS + 1}, {ROWS + ROWS // 2}) g",
            ),
            id="stale",
        ),
    ],
)
def test_a_first_load_samples_its_rows_when_the_source_statistics_are_missing_or_stale(
    source_db: str, warehouse: str, history: tuple[str, ...]
) -> None:
    _load(_source(source_db, *history), source_db, warehouse, "first")
    with connect(warehouse) as conn:
        assert (_bounds(conn, "id"), _bounds(conn, "id", partition=True)) == (101, 101)


def test_a_table_with_erased_subjects_is_sampled_not_given_the_source_statistics(
    source_db: str, warehouse: str
) -> None:
    """The source's histograms may hold an erased subject's key: the loader keeps those out of the warehouse."""
    request = "00000000-0000-4000-8000-000000000007"
    execute(
        warehouse,
        "INSERT INTO governance.subject_requests (id, kind, status, identifiers_sha256, requested_by) "
        f"VALUES ('{request}', 'erasure', 'executed', 'x', 'co-officer')",
        "INSERT INTO governance.subject_suppression (source, resource, column_name, value_sha256, request_id) "
        f"VALUES ('st', 's', 'id', encode(sha256('7'::bytea), 'hex'), '{request}')",
    )
    _load(_source(source_db, *ANALYZED_AT_SOURCE_TARGET), source_db, warehouse, "first")
    with connect(warehouse) as conn:
        rows = conn.execute("SELECT count(*) FROM raw.st__s WHERE id = 7").fetchone()
        assert (_bounds(conn, "id"), _bounds(conn, "id", partition=True)) == (101, 101)
    assert rows == (0,)  # the erased subject's row is not loaded either


def test_a_column_of_another_type_in_the_warehouse_is_analyzed_the_others_taken(source_db: str, warehouse: str) -> None:
    """A domain lands as its base type: its statistics are sampled in the warehouse."""
    source = _source(
        source_db,
        "CREATE DOMAIN positive AS numeric CHECK (VALUE >= 0)",
        "ALTER TABLE s ADD COLUMN price positive",
        "UPDATE s SET price = id",
        "ALTER TABLE s ALTER COLUMN price SET STATISTICS 5",
    )
    execute(source_db, *ANALYZED_AT_SOURCE_TARGET)  # after the update's session counted its changes
    _load(source, source_db, warehouse, "first")
    with connect(warehouse) as conn:
        assert (_bounds(conn, "id"), _bounds(conn, "price")) == (SOURCE_TARGET + 1, 101)


def test_text_statistics_are_taken_only_when_both_sides_sort_by_code_point(source_db: str) -> None:
    """A histogram of text is in its collation's order: a warehouse that sorts by a language's rules
    (``byte_order=False``) gets no text column's statistics from a source sorting by code point."""
    source = _source(source_db, *ANALYZED_AT_SOURCE_TARGET)
    connector = PostgresConnector(source, source_db)
    schema = connector.discover("s")

    same = connector.table_statistics("s", schema, byte_order=True)
    other = connector.table_statistics("s", schema, byte_order=False)

    assert same is not None and other is not None
    assert {"id", "amount", "kind", "tags"} <= set(same.columns)
    assert set(same.columns) - set(other.columns) == {"kind", "tags"}  # text, and an array of text


def test_a_null_key_in_a_first_load_is_still_quarantined_with_its_reason(source_db: str, warehouse: str) -> None:
    """The partition's key columns are NOT NULL before COPY: a null key fails it, and the batch is read again."""
    execute(
        source_db,
        "CREATE TABLE s (id bigint, kind text, updated_at timestamptz)",
        "INSERT INTO s VALUES (1, 'a', '2026-01-01'), (NULL, 'b', '2026-01-02'), (3, 'c', '2026-01-03')",
    )
    source = postgres_source("st", [{"name": "s", "primary_key": ["id"], "cursor": "updated_at"}])
    result = load_resource(
        PostgresConnector(source, source_db), ResourceSpec.from_config(source, "s"), warehouse, run_id="r"
    )
    assert (result.loaded_rows, result.quarantine_reasons) == (2, {"id: null primary key": 1})
