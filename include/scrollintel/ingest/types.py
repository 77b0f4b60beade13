"""Explicit mapping from source column types to warehouse (PostgreSQL) types.

One table per source dialect. Lengths of character types are dropped on purpose: the raw layer
keeps whatever text the source holds, and a source widening ``varchar(50)`` to ``varchar(100)``
is not drift worth failing a load for. Precision of numerics is kept: narrowing would lose data.
A type no table names maps to ``text`` (nothing is lost: the value lands as the source printed
it) and :func:`map_type` reports it through ``exact=False`` so callers can warn.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

POSTGRES: dict[str, str] = {
    "smallint": "smallint",
    "integer": "integer",
    "bigint": "bigint",
    "real": "real",
    "double precision": "double precision",
    "numeric": "numeric",
    "boolean": "boolean",
    "text": "text",
    "character varying": "text",
    "character": "text",
    "citext": "text",
    "name": "text",
    "uuid": "uuid",
    "date": "date",
    "time without time zone": "time",
    "time with time zone": "time with time zone",
    "timestamp without time zone": "timestamp",
    "timestamp with time zone": "timestamptz",
    "interval": "interval",
    "json": "jsonb",
    "jsonb": "jsonb",
    "bytea": "bytea",
    "inet": "inet",
    "cidr": "cidr",
    "money": "numeric(19,2)",
}

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

_PARAMS = re.compile(r"^(?P<base>[a-z ]+?)\s*\((?P<args>[0-9, ]+)\)(?P<rest>.*)$")
_ARROW_TIMESTAMP = re.compile(r"^timestamp\[(?:s|ms|us|ns)(?:, tz=(?P<tz>[^\]]+))?\]$")
_ARROW_DECIMAL = re.compile(r"^decimal(?:32|64|128|256)\((?P<p>\d+), (?P<s>\d+)\)$")


@dataclass(frozen=True)
class Mapped:
    """A warehouse type, and whether a mapping table named the source type (False: text fallback)."""

    pg_type: str
    exact: bool


def map_type(dialect: str, source_type: str) -> Mapped:
    """The warehouse type of ``source_type`` from ``dialect`` (postgres, mysql, json, arrow)."""
    table = DIALECTS.get(dialect)
    if table is None:
        raise ValueError(f"unknown type dialect {dialect!r} (known: {', '.join(sorted(DIALECTS))})")
    normalised = " ".join(source_type.strip().lower().split())
    if dialect == "arrow":
        return _map_arrow(normalised)
    if normalised.endswith("[]") and dialect == "postgres":
        return Mapped("jsonb", True)  # arrays land as JSON arrays: stable across element types
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
