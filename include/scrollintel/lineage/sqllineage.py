"""Column lineage of a SQL job from its ``sql`` facet, for events that carry no ``columnLineage`` facet.

openlineage-sql (the parser Airflow's SQL extractors use) gives, for each output column, the
input columns it is computed from. Its tables (``raw.shop__customers``) are matched to the
event's own input and output datasets (``warehouse.raw.shop__customers``) by their trailing
name parts; a table the event does not name, or one that matches two datasets, is skipped
rather than guessed.

sqlglot then reads the outermost SELECT list to say *how* each output column is made, in the
vocabulary of the OpenLineage column lineage facet:

========================================  ================  ==========  ========
output expression                          type / subtype    masking     example
========================================  ================  ==========  ========
a column, or a cast of one                 DIRECT/IDENTITY   false       ``email``
contains a hash function                   DIRECT/TRANSF.    true        ``sha256(email)``
contains an aggregate                      DIRECT/AGGREG.    unknown     ``count(*)``
anything else                              DIRECT/TRANSF.    unknown     ``upper(name)``
========================================  ================  ==========  ========

``masking`` feeds the PII rule of :mod:`scrollintel.lineage.pii`: ``false`` (a plain copy) is never
treated as anonymising, ``true`` always is, unknown is decided by the masking policy.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from scrollintel.lineage.openlineage_events import DatasetPart

log = logging.getLogger(__name__)

#: sqlglot expression classes (upper-cased names) and SQL function names that hash their input.
HASH_EXPRESSIONS = frozenset({"SHA", "SHA2", "SHA1DIGEST", "SHA2DIGEST", "MD5", "MD5DIGEST", "STANDARDHASH"})
HASH_FUNCTIONS = frozenset({"digest", "hmac", "crypt", "sha224", "sha256", "sha384", "sha512", "md5", "sha1"})


@dataclass(frozen=True)
class ColumnEdge:
    """One output column computed from one input column, and how."""

    source: tuple[str, str, str]
    target: tuple[str, str, str]
    transformation_type: str | None = None
    transformation_subtype: str | None = None
    description: str | None = None
    masking: bool | None = None


def column_edges_from_sql(
    query: str, inputs: Sequence[DatasetPart], outputs: Sequence[DatasetPart], dialect: str | None = None
) -> list[ColumnEdge]:
    """Column edges of ``query`` between the event's datasets (empty when it cannot be parsed)."""
    import openlineage_sql

    try:
        meta = openlineage_sql.parse([query], dialect=_dialect(dialect))
    except RuntimeError as err:  # what openlineage-sql raises for SQL it cannot parse
        log.warning("lineage: could not parse the sql facet for column lineage: %s", type(err).__name__)
        return []
    if meta is None:
        return []
    out_tables = list(meta.out_tables)
    if out_tables:
        target = _match(out_tables[0], outputs) if len(out_tables) == 1 else None
    else:
        target = outputs[0] if len(outputs) == 1 else None
    if target is None:
        return []
    how = _projections(query, dialect)
    edges: list[ColumnEdge] = []
    for item in meta.column_lineage:
        column = item.descendant.name
        if how and column not in how:
            continue  # a column of a subquery, not of the output
        kind, subtype, masking = how.get(column, ("DIRECT", None, None))
        for origin in item.lineage:
            source = _match(origin.origin, inputs) if origin.origin is not None else None
            if source is None:
                continue
            edges.append(
                ColumnEdge(
                    source=(source.namespace, source.name, origin.name),
                    target=(target.namespace, target.name, column),
                    transformation_type=kind,
                    transformation_subtype=subtype,
                    description="from the job's sql facet",
                    masking=masking,
                )
            )
    return edges


def _dialect(dialect: str | None) -> str:
    known = {"postgresql": "postgres", "postgres": "postgres", "mysql": "mysql", "snowflake": "snowflake"}
    return known.get((dialect or "postgres").lower(), "generic")


def _match(table: Any, datasets: Sequence[DatasetPart]) -> DatasetPart | None:
    """The one dataset whose name ends with the table's ``[database.]schema.name``."""
    parts = [part.lower() for part in (table.database, table.schema, table.name) if part]
    found = [item for item in datasets if item.name.lower().split(".")[-len(parts) :] == parts]
    if not found and len(parts) > 1:
        found = [item for item in datasets if item.name.lower().split(".")[-len(parts[1:]) :] == parts[1:]]
    return found[0] if len(found) == 1 else None


def _projections(query: str, dialect: str | None) -> dict[str, tuple[str, str | None, bool | None]]:
    """Output column -> (type, subtype, masking) from the outermost SELECT list (empty if unparsable)."""
    import sqlglot
    from sqlglot import exp

    try:
        tree = sqlglot.parse_one(query, read=_dialect(dialect) if dialect != "generic" else None)
    except sqlglot.errors.ParseError:
        return {}
    select = tree if isinstance(tree, exp.Select) else tree.find(exp.Select)
    if select is None:
        return {}
    result: dict[str, tuple[str, str | None, bool | None]] = {}
    for projection in select.expressions:
        name = projection.alias_or_name
        if name and name != "*":
            result[name] = _classify(projection.unalias())
    return result


def _classify(node: Any) -> tuple[str, str | None, bool | None]:
    from sqlglot import exp

    if isinstance(node, exp.Column) or (isinstance(node, exp.Cast) and isinstance(node.this, exp.Column)):
        return "DIRECT", "IDENTITY", False
    for func in node.find_all(exp.Func):
        anonymous = isinstance(func, exp.Anonymous) and str(func.this).lower() in HASH_FUNCTIONS
        if anonymous or type(func).__name__.upper() in HASH_EXPRESSIONS:
            return "DIRECT", "TRANSFORMATION", True
    if any(True for _ in node.find_all(exp.AggFunc)):
        return "DIRECT", "AGGREGATION", None
    return "DIRECT", "TRANSFORMATION", None
