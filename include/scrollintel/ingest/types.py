"""Explicit mapping from source column types to warehouse (PostgreSQL) types.

One table per source dialect. A PostgreSQL source keeps its built-in types as they are
(``json`` stays ``json``, arrays stay arrays, ranges, geometric and text-search types too); the
few it maps say why in :attr:`Mapped.reason`, which the schema registry records. Lengths of
character types are dropped on purpose: the raw layer keeps whatever text the source holds, and
a source widening ``varchar(50)`` to ``varchar(100)`` is not drift worth failing a load for.
Precision of numerics is kept: narrowing would lose data. A type no table names maps to
``text`` (nothing is lost: the value lands as the source printed it) and :func:`map_type`
reports it through ``exact=False`` so callers can warn.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass

from scrollintel.ingest.sqltypes import MAX_IDENTIFIER, user_type

POSTGRES: dict[str, str] = {
    "character varying": "text",
    "character": "text",
    '"char"': "text",
    "citext": "text",
    "name": "text",
    "time without time zone": "time",
    "timestamp without time zone": "timestamp",
    "timestamp with time zone": "timestamptz",
    # money's text and binary forms depend on the server's lc_monetary (currency symbol, and how
    # many digits the stored integer has after the point): the source prints it as numeric
    "money": "numeric(19,2)",
}

#: PostgreSQL built-in types the warehouse keeps as they are (``format_type``'s spelling; the
#: parameters of ``numeric``, ``bit`` and ``bit varying`` are kept too).
POSTGRES_KEPT = frozenset(
    {
        "smallint", "integer", "bigint", "real", "double precision", "numeric", "boolean", "text",
        "uuid", "date", "time with time zone", "interval", "json", "jsonb", "xml", "bytea",
        "inet", "cidr", "macaddr", "macaddr8", "pg_lsn", "bit", "bit varying",
        "tsvector", "tsquery", "point", "line", "lseg", "box", "path", "polygon", "circle",
        "int4range", "int8range", "numrange", "tsrange", "tstzrange", "daterange",
        "int4multirange", "int8multirange", "nummultirange", "tsmultirange", "tstzmultirange", "datemultirange",
    }
)  # fmt: skip

#: Why a PostgreSQL type lands as another one (recorded in the schema registry, see ``Mapped.reason``).
POSTGRES_REASONS: dict[str, str] = {
    "character varying": "length dropped: the raw layer keeps any text the source holds",
    "character": "length dropped: the raw layer keeps any text the source holds (padding kept)",
    '"char"': "single-byte internal type kept as its text",
    "citext": "case-insensitive text kept as text (no extension needed in the warehouse)",
    "name": "identifier type kept as text",
    "money": "its text and binary forms depend on lc_monetary; read as numeric",
}
_POSTGRES_PRECISION_DROPPED = "precision dropped: the source already rounded the values, the wider type keeps them"
MYSQL: dict[str, str] = {
    "tinyint(1)": "boolean",
    "bit(1)": "boolean",
    "bool": "boolean",
    "boolean": "boolean",
    "tinyint": "smallint",
    "tinyint unsigned": "smallint",
    "smallint": "smallint",
    "smallint unsigned": "integer",
    "mediumint": "integer",
    "mediumint unsigned": "integer",
    "int": "integer",
    "integer": "integer",
    "int unsigned": "bigint",
    "bigint": "bigint",
    "bigint unsigned": "numeric(20,0)",
    "float": "real",
    "double": "double precision",
    "decimal": "numeric",
    "char": "text",
    "varchar": "text",
    "tinytext": "text",
    "text": "text",
    "mediumtext": "text",
    "longtext": "text",
    "enum": "text",
    "set": "text",
    "date": "date",
    "datetime": "timestamp",
    "timestamp": "timestamptz",
    "time": "time",
    "year": "smallint",
    "json": "jsonb",
    "binary": "bytea",
    "varbinary": "bytea",
    "tinyblob": "bytea",
    "blob": "bytea",
    "mediumblob": "bytea",
    "longblob": "bytea",
}

#: Types inferred from JSON values (REST/GraphQL): ``json:<kind>``.
JSON: dict[str, str] = {
    "json:string": "text",
    "json:integer": "bigint",
    "json:number": "double precision",
    "json:boolean": "boolean",
    "json:datetime": "timestamptz",
    "json:date": "date",
    "json:object": "jsonb",
    "json:array": "jsonb",
    "json:null": "text",
}

#: Arrow types (Parquet files, CSV read with pyarrow), by ``str(pyarrow type)``.
ARROW: dict[str, str] = {
    "bool": "boolean",
    "int8": "smallint",
    "int16": "smallint",
    "int32": "integer",
    "int64": "bigint",
    "uint8": "smallint",
    "uint16": "integer",
    "uint32": "bigint",
    "uint64": "numeric(20,0)",
    "halffloat": "real",
    "float": "real",
    "double": "double precision",
    "string": "text",
    "large_string": "text",
    "string_view": "text",
    "date32[day]": "date",
    "date64[ms]": "date",
    "time32[s]": "time",
    "time32[ms]": "time",
    "time64[us]": "time",
    "time64[ns]": "time",
    "binary": "bytea",
    "large_binary": "bytea",
    "null": "text",
}

DIALECTS: dict[str, dict[str, str]] = {"postgres": POSTGRES, "mysql": MYSQL, "json": JSON, "arrow": ARROW}

#: Where the enums of sources are created (migration 0010).
TYPES_SCHEMA = "raw_types"


def warehouse_enum(source: str, source_schema: str, type_schema: str, name: str) -> str:
    """The warehouse type (as ``SourceColumn.pg_type`` spells it) of the enum ``type_schema.name`` of ``source``.

    ``<source>__<type>``, or ``<source>__<schema>__<type>`` when the type is not in the source's
    schema; a name longer than PostgreSQL keeps ends in a hash of the whole.
    """
    wanted = f"{source}__{name}" if type_schema == source_schema else f"{source}__{type_schema}__{name}"
    if len(wanted.encode()) > MAX_IDENTIFIER:
        digest = hashlib.sha256(wanted.encode()).hexdigest()[:8]
        wanted = wanted.encode()[: MAX_IDENTIFIER - 9].decode(errors="ignore") + "_" + digest
    return user_type(TYPES_SCHEMA, wanted)


_PARAMS = re.compile(r"^(?P<base>[a-z ]+?)\s*\((?P<args>[0-9, ]+)\)(?P<rest>.*)$")
_ARROW_TIMESTAMP = re.compile(r"^timestamp\[(?:s|ms|us|ns)(?:, tz=(?P<tz>[^\]]+))?\]$")
_ARROW_DECIMAL = re.compile(r"^decimal(?:32|64|128|256)\((?P<p>\d+), (?P<s>\d+)\)$")


@dataclass(frozen=True)
class Mapped:
    """A warehouse type, and whether a mapping table named the source type (False: text fallback)."""

    pg_type: str
    exact: bool
    reason: str = ""
    """Why the warehouse type differs from the source's (empty: kept as it is, or not a PostgreSQL source)."""


def map_type(dialect: str, source_type: str) -> Mapped:
    """The warehouse type of ``source_type`` from ``dialect`` (postgres, mysql, json, arrow)."""
    table = DIALECTS.get(dialect)
    if table is None:
        raise ValueError(f"unknown type dialect {dialect!r} (known: {', '.join(sorted(DIALECTS))})")
    normalised = " ".join(source_type.strip().lower().split())
    if dialect == "arrow":
        return _map_arrow(normalised)
    if dialect == "postgres":
        return _map_postgres(normalised)
    if normalised in table:
        return Mapped(table[normalised], True)
    if dialect == "mysql" and normalised.startswith(("enum(", "set(")):
        return Mapped("text", True)
    params = _PARAMS.match(normalised)
    if params:
        base, args, rest = params["base"].strip(), params["args"].replace(" ", ""), params["rest"].strip()
        unparameterised = f"{base} {rest}".strip()
        if base in ("numeric", "decimal"):
            return Mapped(f"numeric({args})", True)
        if unparameterised in table:
            return Mapped(table[unparameterised], True)
        if base in table:
            return Mapped(table[base], True)
    return Mapped("text", False)


def _map_postgres(normalised: str) -> Mapped:
    """A built-in PostgreSQL type (``format_type``'s spelling): kept, or mapped with a reason.

    An array keeps its element's mapping (``integer[]``, ``text[]`` for ``varchar(n)[]``);
    ``format_type`` spells every array with one ``[]`` whatever its dimensions, and the value's
    text carries its dimensions and lower bounds. User types (enums, domains, composites) are
    the connector's: it reads them from the catalog.
    """
    if normalised.endswith("[]"):
        element = _map_postgres(normalised[:-2])
        if not element.exact:
            return Mapped("text", False, "array of a type the warehouse does not have: kept as its text")
        return Mapped(f"{element.pg_type}[]", True, element.reason)
    if normalised in POSTGRES_KEPT:
        return Mapped(normalised, True)
    if normalised in POSTGRES:
        return Mapped(POSTGRES[normalised], True, POSTGRES_REASONS.get(normalised, ""))
    if normalised.startswith("interval "):  # interval day to second(3), interval year to month
        return Mapped("interval", True, "fields and precision dropped: interval keeps every value they allow")
    params = _PARAMS.match(normalised)
    if params:
        base, args, rest = params["base"].strip(), params["args"].replace(" ", ""), params["rest"].strip()
        if base in ("numeric", "bit", "bit varying") and not rest:
            return Mapped(f"{base}({args})", True)
        unparameterised = f"{base} {rest}".strip()
        if unparameterised in POSTGRES_REASONS:  # varchar(n), character(n): the length policy
            return Mapped(POSTGRES[unparameterised], True, POSTGRES_REASONS[unparameterised])
        if unparameterised in POSTGRES_KEPT:
            return Mapped(unparameterised, True, _POSTGRES_PRECISION_DROPPED)
        if unparameterised in POSTGRES:
            return Mapped(POSTGRES[unparameterised], True, _POSTGRES_PRECISION_DROPPED)
    return Mapped("text", False, "no warehouse equivalent: lands as the source prints it")


def _map_arrow(normalised: str) -> Mapped:
    if normalised in ARROW:
        return Mapped(ARROW[normalised], True)
    timestamp = _ARROW_TIMESTAMP.match(normalised)
    if timestamp:
        return Mapped("timestamptz" if timestamp["tz"] else "timestamp", True)
    decimal = _ARROW_DECIMAL.match(normalised)
    if decimal:
        return Mapped(f"numeric({decimal['p']},{decimal['s']})", True)
    if normalised.startswith(("list<", "large_list<", "struct<", "map<")):
        return Mapped("jsonb", True)
    if normalised.startswith("dictionary<values=string"):
        return Mapped("text", True)
    return Mapped("text", False)
