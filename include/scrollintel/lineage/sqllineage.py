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

**Dialects.** The facet's ``dialect`` is whatever the producer writes (dbt: its adapter, ``spark``,
``bigquery``, ``sqlserver``; others ``BigQuery``, ``hive``, ``ansi``). :func:`sqlglot_dialect` maps it,
case-insensitively, to sqlglot's names; a name sqlglot does not know reads as sqlglot's default
dialect. A facet without a dialect is read in the dialect of the output's namespace scheme
(``hive://``, ``spark://``, ``bigquery``...), else as PostgreSQL (the warehouse's). When the named
dialect cannot read the SQL, the default dialect tries once more.

**SQL that cannot be parsed** never fails the event: :func:`sql_column_lineage` says so
(``parsed`` false, with the reason) and gives no edges; the store then keeps the event and its
dataset/job lineage without column edges from SQL, and counts the run (see
:data:`scrollintel.lineage.store.SQL_FACET`).
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


#: ``dialect`` of the sql facet (lower-cased) -> sqlglot dialect, where the names differ.
DIALECT_ALIASES = {
    "postgresql": "postgres",
    "pg": "postgres",
    "sqlserver": "tsql",
    "mssql": "tsql",
    "azuresql": "tsql",
    "synapse": "tsql",
    "sparksql": "spark",
    "spark_sql": "spark",
    "spark3": "spark",
    "glue": "spark",  # dbt-glue runs Spark SQL
    "hiveql": "hive",
    "mariadb": "mysql",
    "awsathena": "athena",
    "googlesql": "bigquery",
    "bq": "bigquery",
    "presto": "presto",
    "timescaledb": "postgres",
}
#: Names that mean "no particular dialect": sqlglot's default one reads them.
DEFAULT_DIALECT_NAMES = frozenset({"", "ansi", "generic", "sql", "standard", "default"})
#: Dataset namespace scheme -> dialect, for sql facets that name none (Hive and Spark send none).
NAMESPACE_DIALECTS = {
    "postgres": "postgres",
    "postgresql": "postgres",
    "redshift": "redshift",
    "mysql": "mysql",
    "snowflake": "snowflake",
    "bigquery": "bigquery",
    "hive": "hive",
    "spark": "spark",
    "databricks": "databricks",
    "trino": "trino",
    "presto": "presto",
    "awsathena": "athena",
    "mssql": "tsql",
    "sqlserver": "tsql",
    "oracle": "oracle",
    "sqlite": "sqlite",
    "duckdb": "duckdb",
    "clickhouse": "clickhouse",
    "teradata": "teradata",
}
#: The dialect of SQL without one (and of namespaces that say nothing): the warehouse's.
WAREHOUSE_DIALECT = "postgres"
#: openlineage-sql's names, where they differ from sqlglot's (it reads an unknown name as generic SQL).
OPENLINEAGE_SQL_NAMES = {"tsql": "mssql", "spark": "hive", "databricks": "hive", "athena": "trino"}


@dataclass(frozen=True)
class ColumnEdge:
    """One output column computed from one input column, and how."""

    source: tuple[str, str, str]
    target: tuple[str, str, str]
    transformation_type: str | None = None
    transformation_subtype: str | None = None
    description: str | None = None
    masking: bool | None = None


@dataclass(frozen=True)
class SqlLineage:
    """What the ``sql`` facet gave: column edges, or why there are none.

    ``parsed`` is false when the SQL could not be read (``problem`` says how, without the SQL,
    which may hold literal values); ``dialect`` is the sqlglot dialect it was read in
    (``None``: sqlglot's default).
    """

    edges: list[ColumnEdge]
    parsed: bool
    dialect: str | None
    problem: str | None = None


def sqlglot_dialect(name: str | None) -> str | None:
    """sqlglot's name for the sql facet's ``dialect`` (any case); ``None`` (the default dialect) when unknown."""
    from sqlglot.dialects.dialect import Dialect

    key = (name or "").strip().lower().replace(" ", "").replace("-", "")
    if key in DEFAULT_DIALECT_NAMES:
        return None
    key = DIALECT_ALIASES.get(key, key)
    return key if key in Dialect.classes else None


def facet_dialect(name: str | None, outputs: Sequence[DatasetPart] = ()) -> str | None:
    """The sqlglot dialect to read a facet in: its own ``dialect``, else the outputs' namespace scheme's."""
    if name is not None and name.strip():
        return sqlglot_dialect(name)
    for part in outputs:
        scheme = part.namespace.split("://", 1)[0].lower() if part.namespace else ""
        if scheme in NAMESPACE_DIALECTS:
            return NAMESPACE_DIALECTS[scheme]
    return WAREHOUSE_DIALECT


def column_edges_from_sql(
    query: str, inputs: Sequence[DatasetPart], outputs: Sequence[DatasetPart], dialect: str | None = None
) -> list[ColumnEdge]:
    """Column edges of ``query`` between the event's datasets (empty when it cannot be parsed)."""
    return sql_column_lineage(query, inputs, outputs, dialect).edges


def sql_column_lineage(
    query: str, inputs: Sequence[DatasetPart], outputs: Sequence[DatasetPart], dialect: str | None = None
) -> SqlLineage:
    """Column lineage of ``query`` between the event's datasets, read in ``dialect`` (the facet's, any name).

    Never raises for SQL it cannot read: the result says ``parsed`` false and why.
    """
    read_as = facet_dialect(dialect, outputs)
    meta, problem = _parse_tables(query, read_as)
    if meta is None and read_as is not None:
        meta, _ = _parse_tables(query, None)  # sqlglot's default dialect: the fallback for any name
    if meta is None:
        log.info("lineage: the sql facet (dialect %r) could not be parsed: %s", dialect, problem)
        return SqlLineage([], False, read_as, problem)
    out_tables = list(meta.out_tables)
    if out_tables:
        target = _match(out_tables[0], outputs) if len(out_tables) == 1 else None
    else:
        target = outputs[0] if len(outputs) == 1 else None
    if target is None:
        return SqlLineage([], True, read_as)
    how = _projections(query, read_as)
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
    return SqlLineage(edges, True, read_as)


def _parse_tables(query: str, dialect: str | None) -> tuple[Any, str | None]:
    """openlineage-sql's tables and column lineage of ``query``, or ``None`` and why it could not read it.

    SQL some of whose statements fail still counts as read when the others give column lineage.
    """
    import openlineage_sql

    name = OPENLINEAGE_SQL_NAMES.get(dialect, dialect) if dialect else "generic"
    try:
        meta = openlineage_sql.parse([query], dialect=name)
    except RuntimeError as err:  # what openlineage-sql raises for SQL it cannot parse
        return None, f"openlineage-sql could not read it as {name} SQL ({type(err).__name__})"
    if meta is None:
        return None, f"openlineage-sql found no statement in it (read as {name} SQL)"
    if meta.errors and not meta.column_lineage:
        return None, f"openlineage-sql could not read it as {name} SQL ({len(meta.errors)} statement(s) failed)"
    return meta, None


def _match(table: Any, datasets: Sequence[DatasetPart]) -> DatasetPart | None:
    """The one dataset whose name ends with the table's ``[database.]schema.name``."""
    parts = [part.lower() for part in (table.database, table.schema, table.name) if part]
    found = [item for item in datasets if item.name.lower().split(".")[-len(parts) :] == parts]
    if not found and len(parts) > 1:
        found = [item for item in datasets if item.name.lower().split(".")[-len(parts[1:]) :] == parts[1:]]
    return found[0] if len(found) == 1 else None


def _projections(query: str, dialect: str | None) -> dict[str, tuple[str, str | None, bool | None]]:
    """Output column -> (type, subtype, masking) from the outermost SELECT list (empty if unparsable).

    ``dialect`` is a sqlglot dialect name or ``None`` (sqlglot's default, also the fallback).
    """
    import sqlglot
    from sqlglot import exp

    tree = None
    for read in dict.fromkeys((dialect, None)):
        try:
            tree = sqlglot.parse_one(query, read=read)
            break
        except (sqlglot.errors.SqlglotError, RecursionError):  # RecursionError: SQL nested past the stack
            continue
    if tree is None:
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
