"""Column lineage from a job's SQL when the event has no columnLineage facet (no database)."""

from __future__ import annotations

import pytest

from scrollintel.lineage.openlineage_events import DatasetPart
from scrollintel.lineage.sqllineage import column_edges_from_sql

pytestmark = pytest.mark.unit

RAW = DatasetPart("postgres://warehouse:5432", "warehouse.raw.shop__customers")
PAYMENTS = DatasetPart("postgres://warehouse:5432", "warehouse.raw.shop__payments")
STAGING = DatasetPart("postgres://warehouse:5432", "warehouse.staging.stg_shop__customers")


def edges(sql: str, inputs: list[DatasetPart] | None = None) -> dict[str, tuple[str, str | None, bool | None]]:
    found = column_edges_from_sql(sql, inputs or [RAW], [STAGING], "postgres")
    return {
        f"{e.source[1].split('.')[-1]}.{e.source[2]}->{e.target[2]}": (
            e.transformation_type,
            e.transformation_subtype,
            e.masking,
        )
        for e in found
    }


def test_each_output_column_is_traced_to_its_input_columns_and_classified() -> None:
    sql = """
        create view staging.stg_shop__customers as
        select customer_id,
               cast(signup_at as date) as signup_day,
               encode(sha256(convert_to(email, 'UTF8')), 'hex') as email,
               md5(first_name) as first_name,
               upper(city) as city,
               count(*) over () as n
        from raw.shop__customers
    """

    assert edges(sql) == {
        "shop__customers.customer_id->customer_id": ("DIRECT", "IDENTITY", False),
        "shop__customers.signup_at->signup_day": ("DIRECT", "IDENTITY", False),
        "shop__customers.email->email": ("DIRECT", "TRANSFORMATION", True),
        "shop__customers.first_name->first_name": ("DIRECT", "TRANSFORMATION", True),
        "shop__customers.city->city": ("DIRECT", "TRANSFORMATION", None),
    }


def test_a_redacted_column_has_no_edge_and_joins_map_to_each_input() -> None:
    sql = """
        insert into staging.stg_shop__customers
        select c.customer_id, cast(null as text) as street, p.amount
        from raw.shop__customers c join raw.shop__payments p on p.customer_id = c.customer_id
    """

    assert edges(sql, [RAW, PAYMENTS]) == {
        "shop__customers.customer_id->customer_id": ("DIRECT", "IDENTITY", False),
        "shop__payments.amount->amount": ("DIRECT", "IDENTITY", False),
    }


def test_tables_the_event_does_not_name_and_unparsable_sql_give_no_edges() -> None:
    assert edges("select x from somewhere.else") == {}
    assert edges(";;;") == {}
    assert column_edges_from_sql("select a from raw.shop__customers", [RAW], [STAGING, RAW]) == []
