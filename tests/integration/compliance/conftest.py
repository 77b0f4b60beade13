"""One copy of the built demo warehouse per directory, with a known subject seeded into every layer.

The subject (``A``) is a demo customer with orders, payments and a subscription; another customer
(``B``) is seeded the same way, so a test can check that nothing of B is found or erased; ``C`` and
``D``, seeded the same way, are the Compliance page's subjects (its route tests use C, its browser
test erases D). What
the demo does not have is added: a quarantined row, a score, a derived table holding only the
hashed e-mail, and object-store files (CSV and JSON lines).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psycopg
import pytest
from psycopg.conninfo import conninfo_to_dict, make_conninfo

from scrollintel.compliance.subjects import masked_hash
from tests.integration.warehouse import Warehouse, create_copy, drop_database, with_database

_PICK = """
SELECT c.customer_id, c.email FROM raw.shop__customers c
WHERE EXISTS (SELECT 1 FROM raw.shop__orders o JOIN raw.shop__payments p ON p.order_id = o.order_id
              WHERE o.customer_id = c.customer_id AND p.card_number IS NOT NULL)
  AND EXISTS (SELECT 1 FROM raw.shop__subscriptions s WHERE s.customer_id = c.customer_id)
ORDER BY c.customer_id LIMIT 4
"""


@dataclass(repr=False)
class SeededSubject:
    customer_id: int
    email: str


@dataclass(repr=False)
class ComplianceHouse:
    """The copy: runtime URL (what the platform uses), superuser conninfo, files root, subjects A to D."""

    url: str
    conninfo: str
    files_root: Path
    salt: str
    a: SeededSubject
    b: SeededSubject
    c: SeededSubject
    d: SeededSubject
    seeded: dict[str, Any] = field(default_factory=dict)

    def __repr__(self) -> str:
        return "ComplianceHouse()"

    def connect(self) -> psycopg.Connection[Any]:
        return psycopg.connect(self.conninfo, autocommit=True)

    def scalar(self, query: str, params: Any = None) -> Any:
        with self.connect() as conn:
            row = conn.execute(query, params).fetchone()
        return row[0] if row else None


def _seed(conn: psycopg.Connection[Any], role: str, salt: str, subjects: list[SeededSubject], root: Path) -> None:
    from scrollintel.ingest import quarantine

    conn.execute(f'SET ROLE "{role}"')
    quarantine.ensure_table(conn, "shop__customers")
    conn.execute("CREATE TABLE marts.churn_scores (customer_id bigint NOT NULL, churn_probability double precision)")
    conn.execute("CREATE TABLE marts.crm_contacts (email text NOT NULL, segment text)")
    for number, subject in enumerate(subjects):
        row = {"customer_id": str(subject.customer_id), "email": subject.email, "birth_date": "not a date"}
        conn.execute(
            "INSERT INTO raw_quarantine.shop__customers (run_id, batch_id, reason, raw_row, row_hash) "
            "VALUES ('seed', 'seed', 'birth_date: not a valid date', %s::jsonb, md5(%s))",
            (json.dumps(row), json.dumps(row)),
        )
        conn.execute("INSERT INTO marts.churn_scores VALUES (%s, 0.25)", (subject.customer_id,))
        # a derived table holding only the hashed e-mail, as staging exposes it
        conn.execute(
            "INSERT INTO marts.crm_contacts SELECT email, %s FROM staging.stg_shop__customers WHERE customer_id = %s",
            (f"segment-{number}", subject.customer_id),
        )
        assert (
            masked_hash(salt, subject.email)
            == conn.execute(
                "SELECT email FROM marts.crm_contacts WHERE segment = %s", (f"segment-{number}",)
            ).fetchone()[0]
        )
    conn.execute("RESET ROLE")
    landing = root / "landing" / "crm"
    landing.mkdir(parents=True)
    lines = ["customer_id,email,note"] + [f"{s.customer_id},{s.email},newsletter" for s in subjects]
    (landing / "contacts.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    records = [json.dumps({"contact": s.email, "event": "open"}) for s in subjects]
    (landing / "events.jsonl").write_text("\n".join(records) + "\n", encoding="utf-8")


@pytest.fixture(scope="package")
def house(pg_server: Any, built: Warehouse, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ComplianceHouse]:
    """A copy of the built warehouse with A, B, C and D seeded everywhere (dropped at the end)."""
    assert built.built_template
    name = create_copy(pg_server, built.built_template, "compl")
    try:
        conninfo = make_conninfo(**{**conninfo_to_dict(built.conninfo), "dbname": name})
        root = tmp_path_factory.mktemp("object-store")
        with psycopg.connect(conninfo, autocommit=True) as conn:
            picked = conn.execute(_PICK).fetchall()
            assert len(picked) == 4
            subjects = [SeededSubject(int(cid), str(email)) for cid, email in picked]
            _seed(conn, built.role, built.salt, subjects, root)
        yield ComplianceHouse(
            url=with_database(built.url, name),
            conninfo=conninfo,
            files_root=root,
            salt=built.salt,
            a=subjects[0],
            b=subjects[1],
            c=subjects[2],
            d=subjects[3],
        )
    finally:
        drop_database(pg_server, name)
