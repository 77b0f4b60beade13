"""PostgreSQL to PostgreSQL: every value and every type of a type-rich table lands as the source has it.

The source table has a column of every kind of type (built-in scalars at their extremes, json
with duplicate keys, arrays with lower bounds and NULL elements, ranges, geometric and
text-search types, an enum and an array of it, a domain, a composite, money, a generated column,
names with spaces, capitals and keywords). After a first load and after an incremental load of
changed rows, each raw value's text equals the source's, and each raw column's type is the
source's (``format_type`` on both sides), but for the mappings the README documents.
"""

from __future__ import annotations

import logging
from typing import Any

import pytest

from scrollintel.ingest import loader
from scrollintel.ingest.connectors.base import DiscoveredSchema, SourceColumn
from scrollintel.ingest.connectors.postgres import PostgresConnector
from scrollintel.ingest.loader import load_resource
from scrollintel.ingest.registry import drift_events
from scrollintel.ingest.spec import ResourceSpec
from tests.integration.ingest.helpers import connect, execute, postgres_source, scalar

pytestmark = pytest.mark.integration

SOURCE = "fid"
MEGABYTE_TEXT = "repeat(md5('x') || E'\\n\"quoted\", comma \\\\ é', 26000)"

#: (column, type, SQL literal of the value in rows 1, 2 and 3); row 4 is NULL everywhere it can be.
COLUMNS: list[tuple[str, str, tuple[str, str, str]]] = [
    ("Updated At", "timestamptz NOT NULL", ("'2026-01-01 10:00+05:45'", "'2026-01-01 10:00-09:30'", "'2026-01-02'")),
    ("select", "integer", ("2147483647", "-2147483648", "0")),
    ("small", "smallint", ("32767", "-32768", "0")),
    ("num", "numeric", ("'NaN'", "'Infinity'", "'-123456789012345678901234567890.000000000000000000001'")),
    ("num_p", "numeric(38,10)", ("1234567890123456789012345678.0123456789", "-0.0000000001", "0")),
    ("r", "real", ("'NaN'", "'-0'", "3.4028235e38")),
    ("d", "double precision", ("'-Infinity'", "'-0'", "4.9e-324")),
    ("flag", "boolean", ("true", "false", "true")),
    ("big_text", "text", (MEGABYTE_TEXT, "''", "E'tab\\there, line\\nbreak, \\\\N, \"q\"'")),
    ("vc", "varchar(20)", ("'abc'", "''", "'  spaced  '")),
    ("ch", "char(5)", ("'ab'", "'abcde'", "' '")),
    ("uid", "uuid", ("'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11'", "gen_random_uuid()", "gen_random_uuid()")),
    ("day", "date", ("'infinity'", "'4713-01-01 BC'", "'2024-02-29'")),
    ("clock", "time", ("'23:59:59.999999'", "'00:00'", "'12:00'")),
    ("clock_tz", "time with time zone", ("'10:00+05:45'", "'23:00-09:30'", "'00:00:00.5+14'")),
    ("local", "timestamp(3)", ("'2026-01-01 10:00:00.123'", "'-infinity'", "'1999-12-31 23:59:59'")),
    ("at", "timestamptz", ("'2026-06-01 00:00+05:45'", "'1901-01-01 00:00-09:30'", "'infinity'")),
    ("span", "interval", ("'1 year 2 mons 3 days 04:05:06.789'", "'-1 day +02:00'", "'24 hours'")),
    ("doc", "json", ('\'{"a": 1, "a": 2,   "b" : [ 1 ,2 ]}\'', "'[]'", "'\"\\\\u00e9 text\"'")),
    ("docb", "jsonb", ('\'{"a": 1, "a": 2, "n": 1.50}\'', "'null'", "'[{\"k\": {}}]'")),
    ("blob", "bytea", ("'\\x00ff10'", "''", "decode(repeat('ab', 1000), 'hex')")),
    ("ip", "inet", ("'192.168.0.1/24'", "'::1'", "'10.0.0.1'")),
    ("net", "cidr", ("'10.0.0.0/8'", "'2001:db8::/32'", "'192.168.1.0/24'")),
    ("mac", "macaddr", ("'08:00:2b:01:02:03'", "'00:00:00:00:00:00'", "'ff:ff:ff:ff:ff:ff'")),
    ("mac8", "macaddr8", ("'08:00:2b:01:02:03:04:05'", "'00:00:00:00:00:00:00:00'", "'08:00:2b:01:02:03'")),
    ("lsn", "pg_lsn", ("'16/B374D848'", "'0/0'", "'FFFFFFFF/FFFFFFFF'")),
    ("bits", "bit(4)", ("B'1010'", "B'0000'", "B'1111'")),
    ("vbits", "bit varying(10)", ("B'101'", "B''", "B'1111111111'")),
    ("tsv", "tsvector", ("'a:1A fat:2B,4C cat:5D'", "''", "to_tsvector('simple', 'the quick fox')")),
    ("tsq", "tsquery", ("'fat & (rat | cat)'", "'!x'", "'a <-> b'")),
    ("i4r", "int4range", ("'[1,5)'", "'empty'", "'(,10]'")),
    ("tsr", "tstzrange", ("'[2026-01-01 00:00+05:45,infinity)'", "'empty'", "'(,2026-01-01)'")),
    ("nmr", "nummultirange", ("'{[1.5,2), [3,4]}'", "'{}'", "'{(,0)}'")),
    ("pt", "point", ("'(1.5,-2)'", "'(0,-0)'", "'(1e300,NaN)'")),
    ("ln", "line", ("'{1,-1,0}'", "'{0,1,2}'", "'{1,0,3}'")),
    ("seg", "lseg", ("'[(0,0),(1,1)]'", "'[(1,1),(1,1)]'", "'[(-1,2),(3,4)]'")),
    ("bx", "box", ("'(1,1),(0,0)'", "'(2,2),(1,1)'", "'(0,0),(0,0)'")),
    ("pth", "path", ("'[(0,0),(1,1),(2,0)]'", "'((0,0),(1,1))'", "'[(1,2)]'")),
    ("poly", "polygon", ("'((0,0),(1,1),(1,0))'", "'((0,0))'", "'((1,1),(2,2),(3,1),(1,1))'")),
    ("circ", "circle", ("'<(0,0),1>'", "'<(1,1),0>'", "'<(1.5,2.5),3.25>'")),
    ("ints", "integer[]", ("'[0:2]={1,NULL,3}'", "'{}'", "'[-5:-4][2:3]={{1,2},{3,4}}'")),
    ("words", "text[]", ('\'{{a,"b c"},{NULL,"\\\\\\\\"}}\'', "'{\"\"}'", "ARRAY['x,y', 'z\"']")),
    ("codes", "varchar(5)[]", ("'{ab,NULL}'", "'[3:3]={x}'", "'{}'")),
    ("docs", "json[]", ('ARRAY[\'{"a":1,"a":2}\'::json]', "'{}'", "ARRAY[NULL::json]")),
    ("Mood", "mood", ("'sad'", "'happy'", "'ok'")),
    ("pos", "posint", ("1", "2147483647", "7")),
    ("pair", "pair", ("ROW(1, 'x, \"y\"')", "ROW(NULL, NULL)", "ROW(-1, '')")),
    ("price", "money", ("'12.34'", "'-92233720368547758.08'", "'0'")),
    ("order", "text", ("'keyword'", "'ordér'", "'x'")),
]
#: Only on a server built with libxml (the embedded one is not).
XML_COLUMN = ("page", "xml", ("'<a x=\"1\">t &amp; u</a>'", "'text only'", "'<b/>'"))
#: The documented mappings (README, "PostgreSQL source types"): warehouse type where it differs.
MAPPED = {
    "vc": "text",
    "ch": "text",
    "local": "timestamp without time zone",
    "codes": "text[]",
    "Mood": f"raw_types.{SOURCE}__mood",
    "moods": f"raw_types.{SOURCE}__mood[]",
    "pos": "integer",
    "pair": "jsonb",
    "price": "numeric(19,2)",
}
#: How a mapped column's source value reads as the warehouse stores it.
AS_LANDED = {"pair": "to_jsonb({})", "price": "{}::numeric"}


def _build(url: str, *, enum_array: bool) -> list[str]:
    """The source table ``rich`` (rows 1-4) and its column names in order."""
    columns = list(COLUMNS)
    if _has_xml(url):
        columns.append(XML_COLUMN)
    if enum_array:
        columns.append(("moods", "mood[]", ("'{sad,NULL,happy}'", "'{}'", "'[2:2]={ok}'")))
    defs = ", ".join(f'"{name}" {pg_type}' for name, pg_type, _ in columns)
    names = ", ".join(f'"{name}"' for name, _, _ in columns)
    rows = [f"({index}, {', '.join(values[index - 1] for _, _, values in columns)})" for index in (1, 2, 3)]
    execute(
        url,
        "CREATE TYPE mood AS ENUM ('sad', 'ok', 'happy')",
        "CREATE DOMAIN posint AS integer CHECK (VALUE > 0)",
        "CREATE TYPE pair AS (a integer, b text)",
        f"CREATE TABLE rich (id bigint PRIMARY KEY, {defs}, gen bigint GENERATED ALWAYS AS (id * 2) STORED)",
        f"INSERT INTO rich (id, {names}) VALUES {', '.join(rows)}",
        "INSERT INTO rich (id, \"Updated At\") VALUES (4, '2026-01-03 00:00-09:30')",
    )
    assert len(columns) + 2 >= 40
    return ["id", *(name for name, _, _ in columns), "gen"]


def _has_xml(url: str) -> bool:
    import psycopg

    try:
        scalar(url, "SELECT '<a/>'::xml")
    except psycopg.errors.FeatureNotSupported:
        return False
    return True


def _values(url: str, table: str, names: list[str], *, source: bool) -> dict[Any, tuple[str | None, ...]]:
    """Every row's values as their types print them (``format('%s')`` keeps char(n) padding)."""
    picks = []
    for name in names:
        column = f'"{name}"'
        if source and name in AS_LANDED:
            column = AS_LANDED[name].format(column)
        picks.append(f"CASE WHEN {column} IS NULL THEN NULL ELSE format('%s', {column}) END")
    with connect(url) as conn:
        rows = conn.execute(f"SELECT id, {', '.join(picks)} FROM {table}").fetchall()  # type: ignore[arg-type]
    return {row[0]: tuple(row[1:]) for row in rows}


def _types(url: str, schema: str, table: str) -> dict[str, str]:
    with connect(url) as conn:
        rows = conn.execute(
            "SELECT attname, format_type(atttypid, atttypmod) FROM pg_attribute "
            "WHERE attrelid = to_regclass(format('%%I.%%I', %s::text, %s::text)) AND attnum > 0 AND NOT attisdropped",
            (schema, table),
        ).fetchall()
    return dict(rows)  # type: ignore[arg-type]


def _assert_faithful(source_db: str, warehouse: str, names: list[str]) -> None:
    expected = _values(source_db, "rich", names, source=True)
    landed = _values(warehouse, f"raw.{SOURCE}__rich", names, source=False)
    assert landed.keys() == expected.keys()
    for key, row in expected.items():
        different = {name: (want, got) for name, want, got in zip(names, row, landed[key], strict=True) if want != got}
        assert not different, f"row {key}: {different}"
    source_types = _types(source_db, "public", "rich")
    raw_types = _types(warehouse, "raw", f"{SOURCE}__rich")
    want = {name: MAPPED.get(name, source_types[name]) for name in names}
    assert {name: raw_types[name] for name in names} == want


@pytest.mark.parametrize("enum_array", [False, True], ids=["binary", "csv"])
@pytest.mark.parametrize("strategy", ["upsert", "join"])
def test_every_value_and_type_lands_as_the_source_has_it(
    source_db: str,
    warehouse: str,
    *,
    enum_array: bool,
    strategy: str,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    if strategy == "join":  # a staged batch compared with the table in one join, changed rows applied
        monkeypatch.setattr(loader, "LARGE_BATCH_ROWS", 0)
        monkeypatch.setattr(loader, "LARGE_BATCH_FRACTION", 0.0)
        monkeypatch.setattr(loader, "REWRITE_FRACTION", 1e9)
    names = _build(source_db, enum_array=enum_array)
    source = postgres_source(SOURCE, [{"name": "rich", "primary_key": ["id"], "cursor": "Updated At"}], policy="evolve")
    connector = PostgresConnector(source, source_db)
    spec = ResourceSpec.from_config(source, "rich")

    with caplog.at_level(logging.WARNING, logger="scrollintel.ingest"):
        first = load_resource(connector, spec, warehouse, run_id="r1")
    assert first.path == ("direct" if enum_array else "direct-binary") and first.quarantined_rows == 0
    _assert_faithful(source_db, warehouse, names)
    warned = [record.getMessage() for record in caplog.records if "not kept as their source type" in record.message]
    assert len(warned) == 1 and "price (money -> numeric(19,2)" in warned[0] and "doc " not in warned[0]

    # changed rows, json rewritten only in its whitespace and key order, a new label at the source
    execute(
        source_db,
        "ALTER TYPE mood ADD VALUE 'meh' BEFORE 'ok'",
        'UPDATE rich SET doc = \'{"b" : [ 1 ,2 ], "a": 1, "a": 2}\', bx = \'(2,2),(0,0)\', "Mood" = \'meh\', '
        "ints = '[1:3]={1,NULL,3}', pt = '(1.5,-2.5)', \"Updated At\" = '2026-02-01 00:00+05:45' WHERE id = 1",
        "UPDATE rich SET circ = '<(9,9),1>', nmr = '{[1,2)}', \"Updated At\" = '2026-02-01 00:00-09:30' WHERE id = 2",
        'INSERT INTO rich (id, "Updated At", doc, "Mood") VALUES (5, \'2026-02-02\', \'{"a":1,"a":1}\', \'meh\')',
    )
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="scrollintel.ingest"):
        second = load_resource(connector, spec, warehouse, run_id="r2")
    assert second.mode == "incremental" and second.quarantined_rows == 0
    assert (second.inserted_rows, second.updated_rows) == (1, 2)  # row 3 has the last cursor: re-read, unchanged
    _assert_faithful(source_db, warehouse, names)
    labels = scalar(warehouse, f"SELECT enum_range(NULL::raw_types.{SOURCE}__mood)::text")
    assert labels == "{sad,meh,ok,happy}"
    with connect(warehouse) as conn:
        (drift,) = drift_events(conn, SOURCE, "rich")
    assert drift["changes"][0]["kind"] == "relabelled" and drift["outcome"] == "applied"
    assert len([r for r in caplog.records if "not kept as their source type" in r.message]) == 1  # new version

    third = load_resource(connector, spec, warehouse, run_id="r3")
    assert third.updated_rows == 0 and third.inserted_rows == 0  # replay: nothing rewritten


def test_the_registry_says_what_each_column_became(source_db: str, warehouse: str) -> None:
    _build(source_db, enum_array=True)
    source = postgres_source(SOURCE, [{"name": "rich", "primary_key": ["id"], "cursor": "Updated At"}])
    load_resource(PostgresConnector(source, source_db), ResourceSpec.from_config(source, "rich"), warehouse, run_id="r")
    with connect(warehouse) as conn:
        (columns,) = conn.execute(
            "SELECT columns FROM governance.ingest_schema_version WHERE source = %s", (SOURCE,)
        ).fetchone()  # type: ignore[misc]
    mapping = {col["name"]: col["mapping"] for col in columns}
    assert mapping["doc"] == mapping["ints"] == mapping["tsv"] == mapping["gen"] == "kept"
    assert mapping["Mood"] == mapping["moods"] == f'created enum "raw_types"."{SOURCE}__mood"'
    assert mapping["pos"].startswith("mapped: domain public.posint lands as its base type")
    assert mapping["pair"].startswith("mapped: composite type public.pair lands as jsonb")
    assert mapping["vc"].startswith("mapped: length dropped") and "lc_monetary" in mapping["price"]
    assert {col["name"]: col.get("labels") for col in columns}["Mood"] == ["sad", "ok", "happy"]


class _OlderRelease(PostgresConnector):
    """The mapping of releases before types were kept: json as jsonb, enums and tsvector as text."""

    def discover(self, resource: str) -> DiscoveredSchema:
        older = {"json": "jsonb", "tsvector": "text", "mood": "text"}
        schema = super().discover(resource)
        columns = tuple(
            SourceColumn(col.name, col.source_type, older[col.source_type], col.nullable)
            if col.source_type in older
            else col
            for col in schema.columns
        )
        return DiscoveredSchema(resource, columns)


def test_a_raw_table_of_an_older_release_takes_the_kept_types_under_evolve(source_db: str, warehouse: str) -> None:
    execute(
        source_db,
        "CREATE TYPE mood AS ENUM ('sad', 'ok')",
        "CREATE TABLE t (id integer PRIMARY KEY, j json, v tsvector, m mood, at timestamptz)",
        "INSERT INTO t VALUES (1, '{\"a\": 1,  \"a\": 2}', 'b a', 'ok', '2026-01-01')",
    )
    source = postgres_source("leg", [{"name": "t", "primary_key": ["id"], "cursor": "at"}], policy="evolve")
    spec = ResourceSpec.from_config(source, "t")
    load_resource(_OlderRelease(source, source_db), spec, warehouse, run_id="old")
    assert _types(warehouse, "raw", "leg__t")["j"] == "jsonb"
    execute(source_db, "INSERT INTO t VALUES (2, '{\"b\" : 1}', 'c', 'sad', '2026-01-02')")
    result = load_resource(PostgresConnector(source, source_db), spec, warehouse, run_id="new")
    assert {change["column"] for change in result.drift} == {"j", "v", "m"}
    landed = _types(warehouse, "raw", "leg__t")
    assert (landed["j"], landed["v"], landed["m"]) == ("json", "tsvector", "raw_types.leg__mood")
    assert scalar(warehouse, "SELECT j::text FROM raw.leg__t WHERE id = 2") == '{"b" : 1}'
    assert scalar(warehouse, "SELECT m FROM raw.leg__t WHERE id = 1") == "ok"


def test_the_partition_has_the_statistics_of_the_raw_table_after_a_load(source_db: str, warehouse: str) -> None:
    execute(
        source_db,
        "CREATE TABLE s (id integer PRIMARY KEY, kind text, tags text[], span int4range)",
        "INSERT INTO s SELECT g, 'k' || g % 3, ARRAY['t' || g % 5], int4range(g, g + 2) FROM generate_series(1, 500) g",
    )
    source = postgres_source("st", [{"name": "s", "primary_key": ["id"], "cursor": None}])
    load_resource(PostgresConnector(source, source_db), ResourceSpec.from_config(source, "s"), warehouse, run_id="r")
    stats = (
        "SELECT attname, null_frac, n_distinct, most_common_vals::text, histogram_bounds::text, "
        "most_common_elems::text, range_bounds_histogram::text FROM pg_stats "
        "WHERE schemaname = %s AND tablename = %s AND inherited = %s ORDER BY attname"
    )
    with connect(warehouse) as conn:
        (partition,) = conn.execute(
            "SELECT n.nspname, c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
            "JOIN pg_namespace n ON n.oid = c.relnamespace WHERE i.inhparent = 'raw.st__s'::regclass"
        ).fetchall()
        table = conn.execute(stats, ("raw", "st__s", True)).fetchall()
        own = conn.execute(stats, (*partition, False)).fetchall()
    assert len(table) == 6 and own == table
