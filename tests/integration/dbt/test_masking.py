"""PII masking by policy: no raw personal value reaches staging or marts; new PII columns are masked.

The masking is driven by the classification ingestion stores (governance.column_classification),
so these tests run the ingestion classifier itself and never edit SQL.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest

from tests.integration.warehouse import Warehouse, classify, failures

pytestmark = pytest.mark.integration

STRING_TYPES = ("text", "character varying", "character")
HEX_SHA256 = re.compile(r"[0-9a-f]{64}")


def _columns(conn: Any, types: tuple[str, ...]) -> list[tuple[str, str, str]]:
    return conn.execute(
        "SELECT table_schema, table_name, column_name FROM information_schema.columns "
        "WHERE table_schema IN ('staging', 'marts') AND data_type = ANY(%s) ORDER BY 1, 2, 3",
        (list(types),),
    ).fetchall()


def _load_seeded(conn: Any, house: Warehouse) -> int:
    conn.execute("CREATE TEMPORARY TABLE seeded_pii (origin text NOT NULL, value text NOT NULL)")
    with conn.cursor().copy("COPY seeded_pii (origin, value) FROM STDIN") as copy:
        for origin, values in house.seeded_pii.items():
            for value in values:
                copy.write_row((origin, value))
    conn.execute("CREATE INDEX ON seeded_pii (lower(value))")
    conn.execute("ANALYZE seeded_pii")
    return conn.execute("SELECT count(*) FROM seeded_pii").fetchone()[0]


def test_no_seeded_personal_value_in_any_staging_or_mart_string_column(built: Warehouse) -> None:
    with built.connect() as conn:
        seeded = _load_seeded(conn, built)
        assert seeded > 5_000  # names, e-mails, phones, addresses, postcodes, birth dates, cards, IBANs
        # the scan finds what is there: every seeded e-mail address in the raw table
        control = conn.execute(
            "SELECT count(*) FROM raw.shop__customers AS scanned "
            "JOIN seeded_pii ON lower(seeded_pii.value) = lower(scanned.email)"
        ).fetchone()[0]
        assert control == len(built.seeded_pii["shop__customers.email"])
        string_columns = _columns(conn, STRING_TYPES)
        assert len(string_columns) > 40
        leaks = []
        for schema, table, column in string_columns:
            # every row of every string column, case-insensitive, against every seeded value
            found = conn.execute(
                f'SELECT seeded_pii.origin, count(*) FROM "{schema}"."{table}" AS scanned '
                f'JOIN seeded_pii ON lower(seeded_pii.value) = lower(cast(scanned."{column}" AS text)) '
                "GROUP BY seeded_pii.origin"
            ).fetchall()
            leaks += [f"{schema}.{table}.{column}: {count} value(s) of raw {origin}" for origin, count in found]
        # birth dates are dates: no date column may hold one either
        for schema, table, column in _columns(conn, ("date",)):
            found = conn.execute(
                f'SELECT count(*) FROM "{schema}"."{table}" AS scanned JOIN seeded_pii '
                f"ON seeded_pii.origin = 'shop__customers.birth_date' "
                f'AND seeded_pii.value = cast(scanned."{column}" AS text)'
            ).fetchone()[0]
            if found:
                leaks.append(f"{schema}.{table}.{column}: {found} birth date(s)")
    assert leaks == []


def test_masked_columns_follow_the_policy(built: Warehouse) -> None:
    with built.connect() as conn:
        row = conn.execute(
            "SELECT email, first_name, phone, street_address, postal_code, birth_year "
            "FROM staging.stg_shop__customers ORDER BY customer_id LIMIT 1"
        ).fetchone()
        raw = conn.execute(
            "SELECT phone, postal_code, birth_date FROM raw.shop__customers ORDER BY customer_id LIMIT 1"
        ).fetchone()
        cards = conn.execute(
            "SELECT count(*) FILTER (WHERE card_number !~ '^[*]+[0-9]{4}$'), "
            "count(*) FILTER (WHERE iban !~ '^[A-Z]{2}[*]+[0-9A-Z]{4}$') FROM staging.stg_shop__payments"
        ).fetchone()
    email, first_name, phone, street_address, postal_code, birth_year = row
    assert HEX_SHA256.fullmatch(email) and HEX_SHA256.fullmatch(first_name)  # hash
    assert phone == "*" * (len(raw[0]) - 4) + raw[0][-4:]  # partial: last 4 digits
    assert street_address is None  # generalise: a street line alone names no city
    assert raw[1].startswith(postal_code) and len(postal_code) < len(raw[1])  # generalise: postcode area
    assert birth_year == raw[2].year  # generalise: birth date to the year
    assert cards == (0, 0)


def test_hashes_are_keyed_and_joinable(built: Warehouse) -> None:
    with built.connect() as conn:
        unkeyed, distinct, total = conn.execute(
            "SELECT count(*) FILTER (WHERE stg.email = encode(sha256(convert_to(raw.email, 'UTF8')), 'hex')), "
            "count(DISTINCT stg.email), count(*) FROM staging.stg_shop__customers AS stg "
            "JOIN raw.shop__customers AS raw USING (customer_id)"
        ).fetchone()
    assert unkeyed == 0  # a plain SHA-256 of the address would be reversible by guessing
    assert distinct == total  # deterministic and collision-free: still a join key


def test_salt_is_in_no_compiled_file_or_log(built: Warehouse) -> None:
    written = [path for path in built.tmp.rglob("*") if path.is_file() and path.suffix in (".sql", ".json", ".log")]
    assert written
    assert [str(path) for path in written if built.salt in path.read_text(errors="replace")] == []


def test_build_refuses_to_run_without_a_masking_salt(built: Warehouse) -> None:
    result = built.dbt("run", "--select", "stg_shop__customers", env={"PGOPTIONS": ""})
    assert not result.success
    assert "scrollintel.masking_salt is not set" in "\n".join(failures(result))


@pytest.fixture
def customers_column(built: Warehouse) -> Iterator[str]:
    """Adds a column to raw.shop__customers for one test; removes it and rebuilds the view after."""
    name = "recovery_contact"
    yield name
    with built.connect() as conn:
        conn.execute(f"ALTER TABLE raw.shop__customers DROP COLUMN IF EXISTS {name} CASCADE")
        classify(conn, "shop", "customers")
    result = built.dbt("run", "--select", "stg_shop__customers")
    assert result.success, failures(result)


def test_new_pii_column_found_at_ingestion_is_masked_in_staging_without_sql_edit(
    built: Warehouse, customers_column: str
) -> None:
    with built.connect() as conn:
        # a column the source started sending: its name says nothing, its values are e-mail addresses
        conn.execute(f"ALTER TABLE raw.shop__customers ADD COLUMN {customers_column} text")
        conn.execute(
            f"UPDATE raw.shop__customers SET {customers_column} = 'backup.' || customer_id || '.' || email "
            "WHERE customer_id % 3 <> 0"
        )
        classes = classify(conn, "shop", "customers")
        assert classes[customers_column] == "email"  # found by the ingestion classifier on its values
        raw_values = {value for (value,) in conn.execute(f"SELECT {customers_column} FROM raw.shop__customers")}

    result = built.dbt("run", "--select", "stg_shop__customers")
    assert result.success, failures(result)

    with built.connect() as conn:
        staged = [value for (value,) in conn.execute(f"SELECT {customers_column} FROM staging.stg_shop__customers")]
    present = [value for value in staged if value is not None]
    assert len(present) == len([value for value in raw_values if value is not None]) > 0
    assert all(HEX_SHA256.fullmatch(value) for value in present)
    assert not set(present) & raw_values


def test_unclassified_raw_column_fails_staging_instead_of_leaking(built: Warehouse, customers_column: str) -> None:
    with built.connect() as conn:
        conn.execute(f"ALTER TABLE raw.shop__customers ADD COLUMN {customers_column} text")
    result = built.dbt("run", "--select", "stg_shop__customers")
    assert not result.success
    messages = "\n".join(failures(result))
    assert f"column {customers_column} of " in messages
    assert "has no stored PII classification" in messages


@pytest.mark.parametrize(
    ("address", "generalised"),
    [
        ("12 Main St, Springfield, IL 62704", "Springfield, IL"),
        ("Hauptstrasse 5, 10115 Berlin", "Berlin"),
        ("4 Rue de la Paix,  Paris 2e ,  Ile-de-France", "Paris, Ile-de-France"),
        ("7 Rue de la Paix", None),
        ("Flat 3, 221B", None),
        ("", None),
        (None, None),
    ],
)
def test_generalised_address_keeps_the_city_and_region_part_only(
    built: Warehouse, address: str | None, generalised: str | None
) -> None:
    literal = "null" if address is None else "'" + address.replace("'", "''") + "'"
    result = built.dbt("show", "--inline", f'select {{{{ scrollintel_generalise_address("{literal}") }}}} as city')
    assert result.success, failures(result)
    assert [tuple(row) for row in result.result.results[0].agate_table.rows] == [(generalised,)]


@pytest.fixture
def reclassified_customers(built: Warehouse) -> Iterator[None]:
    """A test may change the stored policies of raw.shop__customers; ingestion's are restored after."""
    yield
    with built.connect() as conn:
        classify(conn, "shop", "customers")
    result = built.dbt("run", "--select", "stg_shop__customers")
    assert result.success, failures(result)


def _set_policy(house: Warehouse, column: str, masking: str) -> None:
    with house.connect() as conn:
        updated = conn.execute(
            "UPDATE governance.column_classification SET masking = %s "
            "WHERE source = 'shop' AND resource = 'customers' AND column_name = %s",
            (masking, column),
        ).rowcount
    assert updated == 1


def test_drop_policy_leaves_the_column_out_of_staging(built: Warehouse, reclassified_customers: None) -> None:
    _set_policy(built, "street_address", "drop")
    result = built.dbt("run", "--select", "stg_shop__customers")
    assert result.success, failures(result)
    with built.connect() as conn:
        columns = [
            name
            for (name,) in conn.execute(
                "SELECT column_name FROM information_schema.columns "
                "WHERE table_schema = 'staging' AND table_name = 'stg_shop__customers'"
            )
        ]
    assert "street_address" not in columns
    assert {"customer_id", "city", "region", "email", "birth_year"} <= set(columns)


def test_unknown_stored_policy_fails_the_model_naming_column_and_class(
    built: Warehouse, reclassified_customers: None
) -> None:
    _set_policy(built, "email", "tokenise")
    result = built.dbt("run", "--select", "stg_shop__customers")
    assert not result.success
    assert (
        "unknown masking policy 'tokenise' for column email (class email): "
        "expected hash, partial, generalise, redact or drop"
    ) in "\n".join(failures(result))
