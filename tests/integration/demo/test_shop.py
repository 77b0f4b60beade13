"""The shop demo database, seeded into a real PostgreSQL."""

from __future__ import annotations

import re
from pathlib import Path

import psycopg
import pytest
from click.testing import CliRunner

from scrollintel.checksums import iban_valid, luhn_valid
from scrollintel.demo.cli import demo_group
from scrollintel.demo.shop import SHOP_TABLES, generate_shop_tables, libpq_url, seed_shop
from scrollintel.exceptions import DatabaseError
from tests.integration.demo.helpers import PRIMARY_KEYS

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def shop(pg_server) -> tuple[str, dict[str, int]]:
    """One shop database at scale 1, seed 7, shared by the read-only tests below."""
    url = pg_server.create_database()
    return url, seed_shop(url, scale=1.0, seed=7)


def _rows(url: str, sql: str, params: tuple[object, ...] = ()) -> list[tuple]:
    with psycopg.connect(libpq_url(url)) as conn:
        return conn.execute(sql, params).fetchall()


def _scalar(url: str, sql: str) -> object:
    return _rows(url, sql)[0][0]


def _checksums(url: str) -> dict[str, str]:
    return {
        name: str(_scalar(url, f"SELECT md5(string_agg(t::text, '|' ORDER BY {pk})) FROM {name} t"))
        for name, pk in PRIMARY_KEYS.items()
    }


# -- reference checks written independently of the module under test ---------------------------


def _luhn(number: str) -> bool:
    digits = [int(c) for c in number]
    odd = digits[-1::-2]
    even = [sum(divmod(2 * d, 10)) for d in digits[-2::-2]]
    return (sum(odd) + sum(even)) % 10 == 0


def _iban(iban: str) -> bool:
    moved = iban[4:] + iban[:4]
    numeric = "".join(str(ord(c) - 55) if c.isalpha() else c for c in moved)
    return int(numeric) % 97 == 1


def test_check_helpers_agree_with_published_examples() -> None:
    assert luhn_valid("4242424242424242") and _luhn("4242424242424242")
    assert not luhn_valid("4242424242424241") and not _luhn("4242424242424241")
    assert iban_valid("GB82WEST12345698765432") and _iban("GB82WEST12345698765432")
    assert iban_valid("DE89 3704 0044 0532 0130 00")
    assert not iban_valid("GB83WEST12345698765432")
    assert not iban_valid("not an iban")


# -- shape and counts ---------------------------------------------------------------------------


def test_row_counts_at_scale_one(shop: tuple[str, dict[str, int]]) -> None:
    url, counts = shop
    assert list(counts) == list(SHOP_TABLES)
    for name, expected in counts.items():
        assert _scalar(url, f"SELECT count(*) FROM {name}") == expected, name
    assert counts["customers"] == 20_000
    assert counts["products"] == 500
    assert counts["orders"] == 120_000
    assert 2.3 * counts["orders"] < counts["order_items"] < 2.7 * counts["orders"]
    assert counts["orders"] <= counts["payments"] < 1.1 * counts["orders"]
    assert 0.5 * counts["customers"] < counts["subscriptions"] < 0.6 * counts["customers"]


def test_primary_and_foreign_keys_and_cursor_indexes_exist(shop: tuple[str, dict[str, int]]) -> None:
    url, _ = shop
    constraints = {
        (table, kind, columns)
        for table, kind, columns in _rows(
            url,
            """
            SELECT c.conrelid::regclass::text, c.contype::text,
                   string_agg(a.attname, ',' ORDER BY a.attnum)
            FROM pg_constraint c
            JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = ANY (c.conkey)
            WHERE c.connamespace = 'public'::regnamespace AND c.contype IN ('p', 'f')
            GROUP BY c.oid, c.conrelid, c.contype
            """,
        )
    }
    for table, pk in PRIMARY_KEYS.items():
        assert (table, "p", pk) in constraints
    for table, column in [
        ("orders", "customer_id"),
        ("order_items", "order_id"),
        ("order_items", "product_id"),
        ("payments", "order_id"),
        ("subscriptions", "customer_id"),
        ("subscription_events", "subscription_id"),
        ("subscription_events", "customer_id"),
    ]:
        assert (table, "f", column) in constraints, (table, column)
    indexed = {row[0] for row in _rows(url, "SELECT indexname FROM pg_indexes WHERE schemaname = 'public'")}
    for table in ("customers", "products", "orders", "payments", "subscriptions"):
        assert f"{table}_updated_at_idx" in indexed
    assert "subscription_events_occurred_at_idx" in indexed


def test_children_point_at_existing_parents(shop: tuple[str, dict[str, int]]) -> None:
    url, _ = shop
    orphans = _scalar(
        url,
        """
        SELECT (SELECT count(*) FROM orders o LEFT JOIN customers c USING (customer_id) WHERE c.customer_id IS NULL)
             + (SELECT count(*) FROM order_items i LEFT JOIN orders o USING (order_id) WHERE o.order_id IS NULL)
             + (SELECT count(*) FROM order_items i LEFT JOIN products p USING (product_id) WHERE p.product_id IS NULL)
             + (SELECT count(*) FROM payments p LEFT JOIN orders o USING (order_id) WHERE o.order_id IS NULL)
             + (SELECT count(*) FROM subscription_events e
                LEFT JOIN subscriptions s USING (subscription_id)
                WHERE s.subscription_id IS NULL OR s.customer_id <> e.customer_id)
        """,
    )
    assert orphans == 0
    childless = (
        "SELECT count(*) FROM orders o WHERE NOT EXISTS (SELECT FROM order_items i WHERE i.order_id = o.order_id)"
    )
    assert _scalar(url, childless) == 0
    assert (
        _scalar(
            url, "SELECT count(*) FROM orders o JOIN customers c USING (customer_id) WHERE o.ordered_at < c.signup_at"
        )
        == 0
    )


def test_order_totals_equal_the_sum_of_their_items(shop: tuple[str, dict[str, int]]) -> None:
    url, _ = shop
    mismatches = _scalar(
        url,
        """
        SELECT count(*) FROM orders o
        JOIN (SELECT order_id, round(sum(quantity * unit_price * (1 - discount)), 2) AS items_total
              FROM order_items GROUP BY order_id) i USING (order_id)
        WHERE o.total_amount <> i.items_total
        """,
    )
    assert mismatches == 0
    assert (
        _scalar(url, "SELECT count(*) FROM payments p JOIN orders o USING (order_id) WHERE p.amount <> o.total_amount")
        == 0
    )


def test_payment_instruments_are_checksum_valid_and_match_the_method(shop: tuple[str, dict[str, int]]) -> None:
    url, _ = shop
    rows = _rows(url, "SELECT method, card_number, iban FROM payments")
    cards = {card for method, card, _ in rows if method == "card"}
    ibans = {iban for method, _, iban in rows if method == "bank_transfer"}
    assert all(card is not None and iban is None for method, card, iban in rows if method == "card")
    assert all(card is None and iban is not None for method, card, iban in rows if method == "bank_transfer")
    assert all(card is None and iban is None for method, card, iban in rows if method == "wallet")
    assert len(cards) > 1000 and len(ibans) > 1000
    assert all(re.fullmatch(r"\d{15,16}", card) and _luhn(card) for card in cards)
    assert all(re.fullmatch(r"[A-Z]{2}\d{2}[A-Z0-9]{10,30}", iban) and _iban(iban) for iban in ibans)
    assert {iban[:2] for iban in ibans} == {"GB", "DE", "FR", "ES", "NL"}


def test_personal_data_looks_real_and_emails_are_unique(shop: tuple[str, dict[str, int]]) -> None:
    url, _ = shop
    rows = _rows(url, "SELECT email, phone, postal_code, country, birth_date FROM customers")
    emails = [row[0] for row in rows]
    assert len(set(emails)) == len(emails)
    assert all(re.fullmatch(r"[a-z._]+\d+@(example\.(com|net|org)|mail\.example)", e) for e in emails)
    assert all(re.fullmatch(r"\+[1-9]\d{9,13}", row[1]) for row in rows)
    assert all(re.fullmatch(r"\d{5}", row[2]) for row in rows if row[3] in {"US", "DE", "FR", "ES"})
    assert {row[3] for row in rows} == {"US", "GB", "DE", "FR", "ES", "NL"}
    adults = "SELECT min(age(DATE '2026-01-01', birth_date)) >= INTERVAL '18 years' FROM customers"
    assert _scalar(url, adults)
    assert _scalar(url, "SELECT max(age(DATE '2026-01-01', birth_date)) < INTERVAL '86 years' FROM customers")


def test_churn_rises_with_support_tickets_failed_payments_and_falling_orders(shop: tuple[str, dict[str, int]]) -> None:
    url, _ = shop
    by_tickets = dict(
        _rows(
            url,
            """
            WITH t AS (
                SELECT s.subscription_id, s.cancelled_at IS NOT NULL AS churned,
                       count(e.*) FILTER (WHERE e.event_type = 'support_ticket') AS tickets
                FROM subscriptions s LEFT JOIN subscription_events e USING (subscription_id)
                GROUP BY 1, 2)
            SELECT CASE WHEN tickets = 0 THEN 'none' WHEN tickets >= 2 THEN 'two+' ELSE 'one' END,
                   avg(churned::int)::float
            FROM t GROUP BY 1
            """,
        )
    )
    assert by_tickets["two+"] > 1.8 * by_tickets["none"], by_tickets
    by_failed = dict(
        _rows(
            url,
            """
            WITH t AS (
                SELECT s.subscription_id, s.cancelled_at IS NOT NULL AS churned,
                       bool_or(e.event_type = 'payment_failed') AS failed
                FROM subscriptions s JOIN subscription_events e USING (subscription_id)
                GROUP BY 1, 2)
            SELECT failed, avg(churned::int)::float FROM t GROUP BY 1
            """,
        )
    )
    assert by_failed[True] > 1.4 * by_failed[False], by_failed
    # Order rate in the 120 days before the end of observation, relative to the rate before it.
    trend = dict(
        _rows(
            url,
            """
            WITH s AS (
                SELECT s.customer_id, s.cancelled_at IS NOT NULL AS churned,
                       coalesce(s.cancelled_at, TIMESTAMPTZ '2026-01-01 00:00:00+00') - INTERVAL '120 days' AS cut,
                       c.signup_at
                FROM subscriptions s JOIN customers c USING (customer_id)),
            r AS (
                SELECT s.churned,
                       count(o.*) FILTER (WHERE o.ordered_at >= s.cut AND o.ordered_at < s.cut + INTERVAL '120 days')
                           / 120.0 AS recent_rate,
                       count(o.*) FILTER (WHERE o.ordered_at < s.cut)
                           / (extract(epoch FROM s.cut - s.signup_at) / 86400) AS early_rate
                FROM s LEFT JOIN orders o USING (customer_id)
                WHERE s.cut > s.signup_at + INTERVAL '120 days'
                GROUP BY s.customer_id, s.churned, s.cut, s.signup_at)
            SELECT churned, (sum(recent_rate) / sum(early_rate))::float FROM r GROUP BY 1
            """,
        )
    )
    assert trend[True] < 0.92 * trend[False], trend


def test_timestamps_stay_within_the_synthetic_history(shop: tuple[str, dict[str, int]]) -> None:
    url, _ = shop
    latest = _scalar(
        url,
        """
        SELECT greatest((SELECT max(updated_at) FROM customers), (SELECT max(updated_at) FROM orders),
                        (SELECT max(updated_at) FROM payments), (SELECT max(occurred_at) FROM subscription_events))
        """,
    )
    assert str(latest).startswith("2026-01-01 00:00:00")
    assert _scalar(url, "SELECT count(*) FROM subscriptions WHERE cancelled_at <= started_at") == 0
    assert _scalar(url, "SELECT count(*) FROM payments WHERE paid_at IS NULL AND status <> 'pending'") == 0


# -- determinism and idempotence -----------------------------------------------------------------


def test_same_seed_gives_identical_databases(pg_server, shop: tuple[str, dict[str, int]]) -> None:
    url, counts = shop
    other = pg_server.create_database()
    assert seed_shop(other, scale=1.0, seed=7) == counts
    assert _checksums(other) == _checksums(url)


def test_another_seed_gives_other_data() -> None:
    first = generate_shop_tables(scale=0.01, seed=7)
    again = generate_shop_tables(scale=0.01, seed=7)
    other = generate_shop_tables(scale=0.01, seed=8)
    assert all(first[name].equals(again[name]) for name in SHOP_TABLES)
    assert not first["customers"].equals(other["customers"])


def test_reseeding_skips_a_loaded_seed_and_reloads_on_change_or_force(pg_server) -> None:
    url = pg_server.create_database()
    steps: list[str] = []
    first = seed_shop(url, scale=0.02, seed=3)
    marker = _rows(url, "SELECT seeded_at FROM demo_meta")
    again = seed_shop(url, scale=0.02, seed=3, on_step=lambda step, _s, _r: steps.append(step))
    assert again == first
    assert steps == ["already loaded"]
    assert _rows(url, "SELECT seeded_at FROM demo_meta") == marker

    seed_shop(url, scale=0.02, seed=3, force=True)
    assert _rows(url, "SELECT seeded_at FROM demo_meta") != marker
    changed = seed_shop(url, scale=0.03, seed=3)
    assert changed["customers"] == 600
    assert _rows(url, "SELECT seed, scale FROM demo_meta") == [(3, 0.03)]

    # A marker without the data it describes is not trusted.
    with psycopg.connect(libpq_url(url)) as conn:
        conn.execute("DELETE FROM subscription_events")
    assert seed_shop(url, scale=0.03, seed=3)["subscription_events"] == changed["subscription_events"]


def test_unreachable_database_names_the_database(pg_server) -> None:
    url = pg_server.url("no_such_shop_db")
    with pytest.raises(DatabaseError, match="no_such_shop_db"):
        seed_shop(url, scale=0.01)


def test_cli_seed_loads_the_shop_and_writes_the_files(pg_server, tmp_path: Path) -> None:
    url = pg_server.create_database()
    result = CliRunner().invoke(
        demo_group, ["seed", "--scale", "0.02", "--seed", "5", "--shop-url", url, "--files-dir", str(tmp_path)]
    )
    assert result.exit_code == 0, result.output
    assert "load orders" in result.output
    assert "shop: " in result.output
    assert _scalar(url, "SELECT count(*) FROM orders") == 2400
    assert (tmp_path / "landing" / "stores" / "stores.csv").is_file()
    assert len(list((tmp_path / "landing" / "inventory").glob("snapshot_date=*/inventory.parquet"))) == 14

    rerun = CliRunner().invoke(
        demo_group, ["seed", "--scale", "0.02", "--seed", "5", "--shop-url", url, "--files-dir", str(tmp_path)]
    )
    assert rerun.exit_code == 0, rerun.output
    assert "already loaded" in rerun.output


def test_cli_seed_reports_a_bad_scale() -> None:
    result = CliRunner().invoke(demo_group, ["seed", "--scale", "-1", "--shop-url", "postgresql://unused/shop"])
    assert result.exit_code == 1
    assert "demo scale must be a positive number, got -1.0" in result.output
