"""Schema drift: what changed and what `evolve` may apply (no database)."""

from __future__ import annotations

import pytest

from scrollintel.ingest.connectors.base import DiscoveredSchema, SourceColumn
from scrollintel.ingest.registry import Contract, compare, fingerprint, is_widening

pytestmark = pytest.mark.unit


def _contract(*columns: tuple[str, str], key: tuple[str, ...] = ("id",)) -> Contract:
    cols = tuple(SourceColumn(name, pg_type, pg_type) for name, pg_type in columns)
    return Contract(version=3, columns=cols, primary_key=key, fingerprint=fingerprint(cols))


def _schema(*columns: tuple[str, str]) -> DiscoveredSchema:
    return DiscoveredSchema("t", tuple(SourceColumn(name, pg_type, pg_type) for name, pg_type in columns))


def test_no_drift_when_only_the_source_type_text_changes() -> None:
    contract = _contract(("id", "bigint"), ("name", "text"))
    schema = DiscoveredSchema(
        "t", (SourceColumn("id", "bigint", "bigint"), SourceColumn("name", "character varying(200)", "text"))
    )
    assert not compare(contract, schema)


def test_added_removed_and_retyped_columns() -> None:
    contract = _contract(("id", "integer"), ("name", "text"), ("score", "real"), ("code", "bigint"))
    diff = compare(
        contract, _schema(("id", "bigint"), ("score", "double precision"), ("code", "integer"), ("tier", "text"))
    )
    assert diff.describe().splitlines() == [
        "~ id: integer -> bigint (widening)",
        "~ score: real -> double precision (widening)",
        "~ code: bigint -> integer (not a widening: values could be lost)",
        "+ tier (text)",
        "- name (text)",
    ]
    assert not diff.compatible
    assert [c.column for c in diff.of_kind("retyped") if c.compatible] == ["id", "score"]


def test_removing_a_key_column_is_never_compatible() -> None:
    diff = compare(_contract(("id", "bigint"), ("x", "text")), _schema(("x", "text")))
    assert [(c.kind, c.column, c.compatible) for c in diff.changes] == [("removed", "id", False)]


@pytest.mark.parametrize(
    ("old", "new", "widening"),
    [
        ("smallint", "integer", True),
        ("integer", "bigint", True),
        ("bigint", "integer", False),
        ("integer", "numeric", True),
        ("integer", "numeric(12,2)", True),
        ("bigint", "numeric(12,2)", False),
        ("numeric(10,2)", "numeric(12,2)", True),
        ("numeric(10,2)", "numeric(10,3)", False),
        ("numeric(10,2)", "numeric(12,3)", True),
        ("numeric(10,2)", "numeric", True),
        ("real", "double precision", True),
        ("double precision", "real", False),
        ("date", "text", True),
        ("text", "date", False),
        ("timestamp", "timestamptz", False),
    ],
)
def test_widening(old: str, new: str, widening: bool) -> None:
    assert is_widening(old, new) is widening


def test_fingerprint_depends_on_names_types_and_order() -> None:
    a = (SourceColumn("a", "int", "integer"), SourceColumn("b", "text", "text"))
    assert fingerprint(a) == fingerprint(tuple(a))
    assert fingerprint(a) != fingerprint(tuple(reversed(a)))
    assert fingerprint(a) != fingerprint((SourceColumn("a", "int", "bigint"), a[1]))


def test_new_enum_labels_are_compatible_drift() -> None:
    enum = '"raw_types"."s__mood"'
    contract = Contract(
        version=1,
        columns=(SourceColumn("id", "bigint", "bigint"), SourceColumn("m", "mood", enum, labels=("ok", "sad"))),
        primary_key=("id",),
        fingerprint="",
    )
    schema = DiscoveredSchema(
        "t", (SourceColumn("id", "bigint", "bigint"), SourceColumn("m", "mood", enum, labels=("ok", "meh", "sad")))
    )
    diff = compare(contract, schema)
    assert diff.compatible and diff.describe() == "~ m: enum labels (ok, sad) -> (ok, meh, sad)"


def test_a_type_an_older_release_landed_as_text_or_jsonb_may_be_kept_now() -> None:
    contract = _contract(("id", "bigint"))
    before = (
        SourceColumn("v", "tsvector", "text"),
        SourceColumn("j", "json", "jsonb"),
        SourceColumn("a", "int[]", "jsonb"),
    )
    contract = Contract(3, contract.columns + before, ("id",), "")
    now = (
        SourceColumn("v", "tsvector", "tsvector"),
        SourceColumn("j", "json", "json"),
        SourceColumn("a", "int[]", "int[]"),
    )
    diff = compare(contract, DiscoveredSchema("t", (SourceColumn("id", "bigint", "bigint"), *now)))
    assert {change.column: change.compatible for change in diff.changes} == {"v": True, "j": True, "a": False}
