"""MySQL extraction SQL: identifiers, per-type select expressions, cursor parameters."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from scrollintel.config.sources import MysqlSource
from scrollintel.ingest.connectors.base import CursorState, DiscoveredSchema, SourceColumn
from scrollintel.ingest.connectors.errors import SourceError
from scrollintel.ingest.connectors.mysql import MysqlConnector, cursor_parameter, quote, select_expression

pytestmark = pytest.mark.unit


def test_quote_doubles_backticks() -> None:
    assert quote("a`b") == "`a``b`"


@pytest.mark.parametrize(
    ("source_type", "pg_type", "expression"),
    [
        ("varbinary(16)", "bytea", "CONCAT(CHAR(92 USING ascii), 'x', LOWER(HEX(`c`)))"),
        ("longblob", "bytea", "CONCAT(CHAR(92 USING ascii), 'x', LOWER(HEX(`c`)))"),
        ("bit(1)", "boolean", "(`c` + 0)"),
        ("bit(12)", "text", "(`c` + 0)"),
        ("timestamp(3)", "timestamptz", "CONCAT(`c`, '+00')"),
        ("point", "text", "ST_AsText(`c`)"),
        ("datetime(6)", "timestamp", "`c`"),
        ("decimal(12,2)", "numeric(12,2)", "`c`"),
        ("json", "jsonb", "`c`"),
    ],
)
def test_select_expression(source_type: str, pg_type: str, expression: str) -> None:
    assert select_expression(SourceColumn("c", source_type, pg_type)) == expression


def test_cursor_parameter_normalises_date_times_to_naive_utc() -> None:
    naive = datetime(2024, 1, 2, 3, 4, 5, 123000)
    assert cursor_parameter("2024-01-02 03:04:05.123+00", "timestamp(3)") == naive
    assert cursor_parameter("2024-01-02T05:04:05.123+02:00", "datetime(3)") == naive
    assert cursor_parameter(naive.replace(tzinfo=UTC).astimezone(timezone(timedelta(hours=-5))), "timestamp") == naive
    assert cursor_parameter(naive, "datetime") == naive
    assert cursor_parameter("not a date", "datetime") == "not a date"
    assert cursor_parameter(41, "int(11)") == 41
    assert cursor_parameter("41", "bigint") == "41"


def _connector(cursor: str | None) -> MysqlConnector:
    source = MysqlSource.model_validate(
        {
            "name": "legacy",
            "type": "mysql",
            "connection_id": "mysql_legacy",
            "owner": "data-platform",
            "schedule": "@daily",
            "retention_class": "operational",
            "schema_policy": "freeze",
            "schema": "shop",
            "tables": [{"name": "orders", "primary_key": ["id"], "cursor": cursor}],
        }
    )
    return MysqlConnector(source, connection=None)  # type: ignore[arg-type]


SCHEMA = DiscoveredSchema(
    "orders",
    (
        SourceColumn("id", "int(11)", "integer", False),
        SourceColumn("payload", "blob", "bytea"),
        SourceColumn("updated_at", "timestamp", "timestamptz"),
    ),
)


def test_incremental_query_filters_and_orders_by_the_cursor() -> None:
    sql, params = _connector("updated_at").query("orders", SCHEMA, CursorState(value="2024-01-01 00:00:00+00"))
    assert sql == (
        "SELECT `id`, CONCAT(CHAR(92 USING ascii), 'x', LOWER(HEX(`payload`))), CONCAT(`updated_at`, '+00') "
        "FROM `shop`.`orders` WHERE `updated_at` > %s ORDER BY `updated_at`"
    )
    assert params == (datetime(2024, 1, 1),)
    first, none = _connector("updated_at").query("orders", SCHEMA, CursorState())
    assert first.endswith("FROM `shop`.`orders` ORDER BY `updated_at`") and none == ()


def test_full_refresh_query_has_no_order() -> None:
    sql, params = _connector(None).query("orders", SCHEMA, CursorState(value=5))
    assert sql.endswith("FROM `shop`.`orders`") and params == ()


def test_cursor_must_be_in_the_schema() -> None:
    with pytest.raises(SourceError, match="cursor column 'changed' is not in the schema"):
        _connector("changed").query("orders", SCHEMA, CursorState())


def test_unknown_table() -> None:
    with pytest.raises(SourceError, match=r"source 'legacy' has no table 'refunds' \(it has: orders\)"):
        _connector(None).query("refunds", SCHEMA, CursorState())
