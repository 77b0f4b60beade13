"""A PII column added at the source flows through the real ingestion and is masked in staging, no SQL edit.

The shop's PostgreSQL ``customers`` table gets a ``secondary_email`` column holding e-mail
addresses. The real pipeline (:func:`scrollintel.ingest.pipeline.ingest_resource`, schema policy
``evolve``) lands it in ``raw.shop__customers`` and classifies it; ``dbt run`` of the unchanged
staging model then exposes it only as keyed hashes. Ingestion and dbt both run as the runtime role.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest

from scrollintel.config import Governance, load_governance
from scrollintel.demo.shop import libpq_url, seed_shop
from scrollintel.ingest.pipeline import ingest_resource
from tests.integration.warehouse import Warehouse, failures, runtime_database

pytestmark = pytest.mark.integration

SHOP_SCALE = 0.01
COLUMN = "secondary_email"
HEX_SHA256 = re.compile(r"[0-9a-f]{64}")


@pytest.fixture
def isolated_state(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Audit outbox, object store and local state in a temporary folder (as the ingestion tests do)."""
    monkeypatch.setenv("SCROLLINTEL_HOME", str(tmp_path / "state"))
    monkeypatch.setenv("SCROLLINTEL_OBJECT_STORE", str(tmp_path / "object-store"))
    monkeypatch.setenv("SCROLLINTEL_AUDIT_SIGNING_KEY", "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=")
    for name in ("SCROLLINTEL_AUDIT_DATABASE_URL", "AIRFLOW_CTX_DAG_ID", "AIRFLOW_CONN_POSTGRES_WAREHOUSE"):
        monkeypatch.delenv(name, raising=False)
    return tmp_path


@pytest.fixture
def shop_and_warehouse(pg_server: Any, isolated_state: Path) -> Iterator[tuple[str, Warehouse]]:
    """A seeded demo shop (its own database) and an empty migrated warehouse with a runtime role."""
    shop_url = pg_server.create_database(f"pii_shop_{secrets.token_hex(4)}")
    seed_shop(shop_url, scale=SHOP_SCALE)
    with runtime_database(pg_server, "pii") as database:
        yield (
            shop_url,
            Warehouse(
                url=database.url,
                conninfo=libpq_url(database.admin_url),
                role=database.role,
                tmp=isolated_state,
                salt=secrets.token_hex(16),
            ),
        )


def evolving_shop() -> Governance:
    """The repository's governance config with the shop source on ``schema_policy: evolve``."""
    governance = load_governance()
    shop = governance.sources["shop"].model_copy(update={"schema_policy": "evolve"})
    return governance.model_copy(update={"sources": {**governance.sources, "shop": shop}})


def _ingest_customers(shop_url: str, house: Warehouse, governance: Governance, run_id: str) -> Any:
    # the batch quality gate has its own tests; here the load and the classification matter
    return ingest_resource(
        "shop",
        "customers",
        run_id=run_id,
        warehouse_url=house.url,
        source_conn=shop_url,
        governance=governance,
        quality=False,
    )


def test_secondary_email_added_at_the_source_is_hashed_in_staging(shop_and_warehouse: tuple[str, Warehouse]) -> None:
    shop_url, house = shop_and_warehouse
    governance = evolving_shop()
    _ingest_customers(shop_url, house, governance, "r1")
    result = house.dbt("run", "--select", "stg_shop__customers")
    assert result.success, failures(result)

    with psycopg.connect(libpq_url(shop_url), autocommit=True) as shop:
        shop.execute(f"ALTER TABLE customers ADD COLUMN {COLUMN} text")
        # updated_at moves, as an application writing the new column would: the cursor picks the rows up
        shop.execute(
            f"UPDATE customers SET {COLUMN} = 'alt.' || customer_id || '@mail.example.org', updated_at = now() "
            "WHERE customer_id % 4 <> 0"
        )
        source_values = {value for (value,) in shop.execute(f"SELECT {COLUMN} FROM customers") if value}

    outcome = _ingest_customers(shop_url, house, governance, "r2")
    assert outcome.summary()["classified"][COLUMN] == "email"
    with house.connect() as conn:
        drift = conn.execute(
            "SELECT outcome, changes::text FROM governance.ingest_drift_event WHERE resource = 'customers'"
        ).fetchall()
        raw_values = {value for (value,) in conn.execute(f"SELECT {COLUMN} FROM raw.shop__customers") if value}
    assert [outcome for outcome, _ in drift] == ["applied"] and COLUMN in drift[0][1]
    assert raw_values == source_values and len(raw_values) > 50

    result = house.dbt("run", "--select", "stg_shop__customers")  # the same SQL as before
    assert result.success, failures(result)
    with house.connect() as conn:
        staged = [value for (value,) in conn.execute(f"SELECT {COLUMN} FROM staging.stg_shop__customers") if value]
        masking = conn.execute(
            "SELECT class_id, masking FROM governance.column_classification "
            "WHERE source = 'shop' AND resource = 'customers' AND column_name = %s",
            (COLUMN,),
        ).fetchone()
    assert masking == ("email", "hash")
    assert len(staged) == len(raw_values)
    assert all(HEX_SHA256.fullmatch(value) for value in staged)
    assert not set(staged) & raw_values
