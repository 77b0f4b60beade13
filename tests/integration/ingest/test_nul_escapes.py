"""A PostgreSQL source's ``\\u0000`` escapes: kept where the warehouse can hold them, quarantined where not.

A legal ``json`` value may hold the escape ``\\u0000``, which ``jsonb`` (and ``text``) cannot
store. A ``json`` column is kept as ``json``, so the value lands as it is; a composite column
lands as ``jsonb``, so a composite holding such a ``json`` value cannot land: its row goes to
quarantine with a reason naming the column, and every other row loads, on the binary and the
text path, on a first load and on an incremental one. It used to fail the source's query, the
table was read twice and the load died, every run.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from scrollintel.ingest.connectors.base import Chunk, CursorState, DiscoveredSchema
from scrollintel.ingest.connectors.postgres import PostgresConnector
from scrollintel.ingest.loader import load_resource
from scrollintel.ingest.spec import ResourceSpec
from tests.integration.ingest.helpers import connect, execute, postgres_source, scalar

pytestmark = pytest.mark.integration

SOURCE = "nuls"
NUL_JSON = '{"k": "a\\u0000b"}'


class CountingConnector(PostgresConnector):
    """Counts the source reads: a batch that does not fit is read once more, never more."""

    reads = 0

    def extract(
        self, resource: str, schema: DiscoveredSchema, state: CursorState, *, chunk_rows: int
    ) -> Iterator[Chunk]:
        self.reads += 1
        return super().extract(resource, schema, state, chunk_rows=chunk_rows)

    def extract_binary(
        self, resource: str, schema: DiscoveredSchema, state: CursorState, *, chunk_rows: int
    ) -> Iterator[Chunk]:
        self.reads += 1
        return super().extract_binary(resource, schema, state, chunk_rows=chunk_rows)


def _build(source_db: str, *, enum_array: bool) -> None:
    """Rows 1-4: clean, a json value with the escape (it fits), a composite holding one, an array of them."""
    execute(
        source_db,
        "CREATE TYPE mood AS ENUM ('sad', 'ok')",
        "CREATE TYPE pair AS (n int, j json)",
        "CREATE TABLE items (id bigint PRIMARY KEY, updated_at timestamptz NOT NULL, j json, p pair, "
        "ps pair[], tags text[]" + (", moods mood[]" if enum_array else "") + ")",
        f"""INSERT INTO items (id, updated_at, j, p, ps, tags) VALUES
            (1, '2026-01-01', '{{"k": 1}}', ROW(1, '[1]'), ARRAY[ROW(1, '{{}}')::pair], '{{a,"\\\\u0000"}}'),
            (2, '2026-01-02', '{NUL_JSON}', ROW(2, '{{}}'), NULL, '{{"\\\\u0000 as text"}}'),
            (3, '2026-01-03', '{{"k": 3}}', ROW(3, '{NUL_JSON}'), NULL, '{{c}}'),
            (4, '2026-01-04', NULL, NULL, ARRAY[ROW(4, '{NUL_JSON}')::pair, NULL], '{{d}}')""",
    )


def _quarantined(warehouse: str) -> list[tuple[int, str]]:
    with connect(warehouse) as conn:
        rows = conn.execute(
            f"SELECT (raw_row->>'id')::int, reason FROM raw_quarantine.{SOURCE}__items ORDER BY 1, 2"
        ).fetchall()
    return [(key, reason) for key, reason in rows]


def _landed(warehouse: str) -> dict[int, tuple[Any, ...]]:
    with connect(warehouse) as conn:
        rows = conn.execute(
            f"SELECT id, j::text, p::text, ps::text, tags::text FROM raw.{SOURCE}__items ORDER BY id"
        ).fetchall()
    return {row[0]: tuple(row[1:]) for row in rows}


@pytest.mark.parametrize("enum_array", [False, True], ids=["binary", "text"])
def test_values_with_nul_escapes_land_or_go_to_quarantine_naming_the_column(
    source_db: str, warehouse: str, *, enum_array: bool
) -> None:
    _build(source_db, enum_array=enum_array)
    source = postgres_source(SOURCE, [{"name": "items", "primary_key": ["id"], "cursor": "updated_at"}])
    connector = CountingConnector(source, source_db)
    spec = ResourceSpec.from_config(source, "items")

    first = load_resource(connector, spec, warehouse, run_id="r1")
    assert (first.source_rows, first.loaded_rows, first.quarantined_rows) == (4, 2, 2)
    assert connector.reads <= 2
    assert _quarantined(warehouse) == [(3, "p: not a valid jsonb"), (4, "ps: not a valid jsonb")]
    landed = _landed(warehouse)
    assert sorted(landed) == [1, 2]
    assert landed[2][0] == NUL_JSON  # json keeps the escape as the source has it
    assert landed[1][1:] == ('{"j": [1], "n": 1}', '[{"j": {}, "n": 1}]', '{a,"\\\\u0000"}')
    assert landed[2][3] == '{"\\\\u0000 as text"}'

    # incremental: a clean change, a row going bad, a bad row mended, a new bad one
    execute(
        source_db,
        "UPDATE items SET tags = '{changed}', updated_at = '2026-02-01' WHERE id = 1",
        f"UPDATE items SET p = ROW(2, '{NUL_JSON}'), updated_at = '2026-02-02' WHERE id = 2",
        "UPDATE items SET p = ROW(3, '{}'), updated_at = '2026-02-03' WHERE id = 3",
        f"INSERT INTO items (id, updated_at, j, p) VALUES (5, '2026-02-04', '{NUL_JSON}', ROW(5, '{NUL_JSON}'))",
        "INSERT INTO items (id, updated_at, j) VALUES (6, '2026-02-05', '[6]')",
    )
    connector.reads = 0
    second = load_resource(connector, spec, warehouse, run_id="r2")
    assert second.mode == "incremental"
    # 2 and 5, and 4 again (it has the last cursor value, read again); 2 keeps its last good version
    assert second.quarantined_rows == 3
    assert (second.inserted_rows, second.updated_rows) == (2, 1)  # 3 (mended) and 6 new, 1 changed
    assert connector.reads <= 2
    landed = _landed(warehouse)
    assert sorted(landed) == [1, 2, 3, 6]
    assert landed[1][3] == "{changed}" and landed[3][1] == '{"j": {}, "n": 3}'
    assert landed[2][1] == '{"j": {}, "n": 2}'  # its last good version
    assert (2, "p: not a valid jsonb") in _quarantined(warehouse)
    assert (5, "p: not a valid jsonb") in _quarantined(warehouse)

    connector.reads = 0
    third = load_resource(connector, spec, warehouse, run_id="r3")  # nothing new: the run goes through
    assert (third.inserted_rows, third.updated_rows) == (0, 0)
    assert connector.reads <= 2
    assert scalar(warehouse, "SELECT count(*) FROM governance.ingest_load_run WHERE status = 'succeeded'") == 3
