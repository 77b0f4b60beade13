"""Subject access and erasure on the built demo warehouse (see conftest: subject A and B in every layer)."""

from __future__ import annotations

import hashlib
import json
import uuid
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from scrollintel import warehouse
from scrollintel.approvals.outcome import GateDecision
from scrollintel.compliance import erasure, requests, subjects, workflow
from scrollintel.compliance.evidence import NO_AIRFLOW
from scrollintel.compliance.subjects import Identifiers
from tests.integration.compliance.conftest import ComplianceHouse, SeededSubject

pytestmark = pytest.mark.integration

#: Locations every find of A must report, whatever else the demo holds.
MUST = {
    "raw.shop__customers",
    "raw.shop__orders",
    "raw.shop__payments",
    "raw.shop__order_items",
    "raw.shop__subscriptions",
    "raw_quarantine.shop__customers",
    "staging.stg_shop__customers",
    "marts.customers",
    "marts.orders",
    "marts.churn_scores",
    "marts.crm_contacts",
    "landing/crm/contacts.csv",
    "landing/crm/events.jsonl",
}


@pytest.fixture(autouse=True)
def isolated_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The ledger's outbox and keys under the test's folder."""
    monkeypatch.setenv("SCROLLINTEL_HOME", str(tmp_path))


def expected_locations(house: ComplianceHouse, who: SeededSubject) -> dict[str, int]:
    """A's rows counted independently: by customer_id, by A's order ids, plus the seeded extras."""
    found: dict[str, int] = {}
    with house.connect() as conn:
        orders = [
            row[0]
            for row in conn.execute("SELECT order_id FROM raw.shop__orders WHERE customer_id = %s", (who.customer_id,))
        ]
        relations = conn.execute(
            "SELECT table_schema, table_name, bool_or(column_name = 'customer_id'), bool_or(column_name = 'order_id') "
            "FROM information_schema.columns WHERE table_schema IN ('raw', 'staging', 'marts') "
            "AND table_name NOT LIKE '%%_stage_%%' GROUP BY 1, 2"
        ).fetchall()
        for schema, table, has_customer, has_order in relations:
            if has_customer:
                query, value = f'SELECT count(*) FROM {schema}."{table}" WHERE customer_id = %s', who.customer_id
            elif has_order:
                query, value = f'SELECT count(*) FROM {schema}."{table}" WHERE order_id = ANY(%s)', orders
            else:
                continue
            count = conn.execute(query, (value,)).fetchone()[0]
            if count:
                found[f"{schema}.{table}"] = count
    found["raw_quarantine.shop__customers"] = 1
    found["marts.crm_contacts"] = 1
    found["landing/crm/contacts.csv"] = 1
    found["landing/crm/events.jsonl"] = 1
    return found


def locate(house: ComplianceHouse, identifiers: Identifiers) -> tuple[subjects.Findings, subjects.Subject]:
    with warehouse.connect(house.url) as conn:
        return subjects.find(conn, identifiers, files_root=house.files_root)


def test_find_reaches_every_copy_hashed_ones_included_and_nothing_of_another_subject(house: ComplianceHouse) -> None:
    a = house.a
    by_email, subject = locate(house, Identifiers.of(email=a.email))
    by_id, _ = locate(house, Identifiers.of(customer_id=str(a.customer_id)))
    found = {location.target: location.rows for location in by_email.locations}
    assert by_email.hashed_search
    assert found == expected_locations(house, a)
    assert set(found) >= MUST
    assert {loc.target: loc.rows for loc in by_id.locations} == found
    # both identifiers resolved, and the hashed form is the masking macro's
    assert subject.keys == {str(a.customer_id)} and subject.emails == {a.email}
    assert subject.hashes == {hashlib.sha256(f"{house.salt}:{a.email}".encode()).hexdigest()}
    matched = {location.target: location.matched_by for location in by_email.locations}
    assert matched["marts.crm_contacts"] == ["email (hashed)"]
    assert matched["raw.shop__payments"] == ["order_id (linked)"]
    # B is nowhere in A's export
    with warehouse.connect(house.url) as conn:
        export = subjects.export_rows(conn, by_email, subject, house.files_root)
    text = json.dumps(export, default=str)
    assert house.b.email not in text and house.b.email.split("@")[0] not in text
    ids = {row["customer_id"] for loc in export["locations"] for row in loc["data"] if "customer_id" in row}
    assert ids == {a.customer_id, str(a.customer_id)}


def test_cli_find_exports_every_row_and_records_the_request_without_the_subject(
    house: ComplianceHouse, tmp_path: Path
) -> None:
    from scrollintel.cli import main

    b = house.b
    out = tmp_path / "export.json"
    args = [
        "subject",
        "find",
        "--email",
        b.email,
        "--export",
        str(out),
        "--url",
        house.url,
        "--files-root",
        str(house.files_root),
    ]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output
    assert b.email not in result.output
    assert "marts.crm_contacts" in result.output and "landing/crm/contacts.csv" in result.output
    export = json.loads(out.read_text())
    request_id = export["request_id"]
    rows = {loc["target"]: len(loc["data"]) for loc in export["locations"]}
    assert rows == expected_locations(house, b)
    with house.connect() as conn:
        ledger = conn.execute(
            "SELECT action, details FROM governance.audit_entry WHERE subject = %s ORDER BY seq",
            (f"subject_request:{request_id}",),
        ).fetchall()
        request = conn.execute(
            "SELECT status, identifiers FROM governance.subject_requests WHERE id = %s", (request_id,)
        ).fetchone()
    assert [action for action, _ in ledger] == ["compliance.subject_request_opened", "compliance.access_exported"]
    assert b.email not in str(ledger) and str(b.customer_id) not in str([d for _, d in ledger])
    assert request == ("executed", None)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ([], "name the subject with --email or --customer-id"),
        (["--email", "not-an-address"], "--email: not an e-mail address"),
        (["--customer-id", "12a"], "--customer-id: not a customer id"),
    ],
)
def test_cli_find_refuses_unusable_identifiers_naming_the_option(args: list[str], message: str) -> None:
    from scrollintel.cli import main

    result = CliRunner().invoke(main, ["subject", "find", *args, "--url", "postgresql://nobody@127.0.0.1:1/x"])
    assert result.exit_code == 2
    assert message in result.output and "not-an-address" not in result.output and "Traceback" not in result.output


def _snapshot(house: ComplianceHouse, who: SeededSubject) -> dict[str, int]:
    findings, _ = locate(house, Identifiers.of(customer_id=str(who.customer_id)))
    return {location.target: location.rows for location in findings.locations}


def _ledger(house: ComplianceHouse, request_id: uuid.UUID) -> list[tuple[str, Any]]:
    with house.connect() as conn:
        return conn.execute(
            "SELECT action, details FROM governance.audit_entry WHERE subject = %s ORDER BY seq",
            (f"subject_request:{request_id}",),
        ).fetchall()


GRANTED = GateDecision("granted", "co-officer")


def test_erasure_plan_then_nothing_changes_without_approval_and_after_approval_zero_rows_remain(
    house: ComplianceHouse,
) -> None:
    a, b = house.a, house.b
    before_a, before_b = _snapshot(house, a), _snapshot(house, b)
    identifiers = Identifiers.of(email=a.email)

    # plan
    request_id = workflow.open_request(house.url, "erasure", identifiers, "co-privacy", ledger_url=house.url)
    steps = {
        step.target: step
        for step in workflow.plan(house.url, request_id, files_root=house.files_root, ledger_url=house.url)
    }
    actions = {target: step.action for target, step in steps.items()}
    assert actions["raw.shop__customers"] == "delete"
    assert actions["raw.shop__subscriptions"] == "delete"
    assert actions["raw_quarantine.shop__customers"] == "delete"
    assert actions["raw.shop__orders"] == "keep" and actions["raw.shop__order_items"] == "keep"
    assert actions["raw.shop__payments"] == "redact" and steps["raw.shop__payments"].columns == ["card_number", "iban"]
    assert "legal obligation" in steps["raw.shop__orders"].legal_basis
    assert actions["staging.stg_shop__customers"] == "follows"
    assert actions["marts.customers"] == actions["marts.churn_scores"] == actions["marts.crm_contacts"] == "delete"
    assert actions["marts.orders"] == "keep"
    assert actions["landing/crm/contacts.csv"] == "delete"
    assert actions["source system shop"] == "manual"

    # rejected: nothing changes, the request is closed
    with pytest.raises(erasure.ErasureRefused, match="not approved \\(rejected\\); nothing was changed"):
        workflow.execute(
            house.url,
            request_id,
            GateDecision("rejected", "dp-lead"),
            files_root=house.files_root,
            ledger_url=house.url,
        )
    assert _snapshot(house, a) == before_a
    with house.connect() as conn:
        assert conn.execute(
            "SELECT status, identifiers FROM governance.subject_requests WHERE id = %s", (request_id,)
        ).fetchone() == ("rejected", None)

    # approved: a new request, executed and proven
    request_id = workflow.open_request(house.url, "erasure", identifiers, "co-privacy", ledger_url=house.url)
    workflow.plan(house.url, request_id, files_root=house.files_root, ledger_url=house.url)
    result = workflow.execute(house.url, request_id, GRANTED, files_root=house.files_root, ledger_url=house.url)
    assert result["rescan"]["ok"] and result["rescan"]["violations"] == []
    assert result["changed"]["raw.shop__customers"] == 1
    assert result["changed"]["raw.shop__payments"] == before_a["raw.shop__payments"]
    after = _snapshot(house, a)
    kept = {
        "raw.shop__orders",
        "raw.shop__order_items",
        "raw.shop__payments",
        "marts.orders",
        "marts.order_items",
        "staging.stg_shop__orders",
        "staging.stg_shop__order_items",
        "staging.stg_shop__payments",
    }
    assert set(after) <= kept  # only rows with a legal basis remain
    assert after["raw.shop__orders"] == before_a["raw.shop__orders"]
    cid = a.customer_id
    assert house.scalar("SELECT count(*) FROM raw.shop__customers WHERE customer_id = %s", (cid,)) == 0
    assert (
        house.scalar(
            "SELECT count(*) FROM marts.crm_contacts WHERE email = %s", (subjects.masked_hash(house.salt, a.email),)
        )
        == 0
    )
    assert (
        house.scalar(
            "SELECT count(*) FROM raw.shop__payments p JOIN raw.shop__orders o USING (order_id) "
            "WHERE o.customer_id = %s AND (p.card_number IS NOT NULL OR p.iban IS NOT NULL)",
            (cid,),
        )
        == 0
    )
    assert (
        house.scalar(
            "SELECT count(*) FROM raw.shop__payments p JOIN raw.shop__orders o USING (order_id) "
            "WHERE o.customer_id = %s AND p.amount IS NOT NULL",
            (cid,),
        )
        == before_a["raw.shop__payments"]
    )
    contacts = (house.files_root / "landing/crm/contacts.csv").read_text()
    assert a.email not in contacts and b.email in contacts
    assert _snapshot(house, b) == before_b  # B untouched
    # suppression: A's key, hashed; the request keeps no identifier
    with house.connect() as conn:
        listed = conn.execute(
            "SELECT column_name FROM governance.subject_suppression WHERE source = 'shop' AND resource = 'customers' "
            "AND value_sha256 = %s",
            (subjects.value_sha256(str(cid)),),
        ).fetchall()
        request = requests.get(conn, request_id)
    assert listed == [("customer_id",)]
    assert request.status == "executed" and request.identifiers is None
    ledger = _ledger(house, request_id)
    assert [action for action, _ in ledger] == [
        "compliance.subject_request_opened",
        "compliance.erasure_planned",
        "compliance.erasure_executed",
        "compliance.erasure_verified",
    ]
    leaked = [(action, details) for action, details in ledger if a.email in str(details) or a.email in action]
    assert leaked == []


def test_a_re_ingestion_does_not_bring_a_suppressed_subject_back(house: ComplianceHouse) -> None:
    from scrollintel.ingest.connectors.base import Connector  # noqa: F401  (the loader's interface)
    from scrollintel.ingest.loader import load_resource
    from tests.integration.ingest.helpers import CsvConnector, csv_spec

    columns = [("customer_id", "bigint"), ("email", "text"), ("points", "integer")]
    spec = csv_spec("crm", key="customer_id")
    erased, other = 900001, 900002
    with warehouse.connect(house.url) as conn:
        request_id = requests.create(conn, "erasure", Identifiers.of(customer_id=str(erased)), "co-officer")
        conn.execute(
            "INSERT INTO governance.subject_suppression (source, resource, column_name, value_sha256, request_id) "
            "VALUES ('crm', 'items', 'customer_id', %s, %s)",
            (subjects.value_sha256(str(erased)), request_id),
        )
    rows = [f"{erased},gone@example.org,1", f"{other},kept@example.org,1"]
    first = load_resource(CsvConnector(columns, rows), spec, house.url, run_id="first", audit=False)  # direct COPY
    again = [f"{erased},gone@example.org,5", f"{other},kept@example.org,2", "900003,new@example.org,1"]
    second = load_resource(CsvConnector(columns, again), spec, house.url, run_id="second", audit=False)  # staged
    assert first.path.startswith("direct") and second.path.startswith("staged")
    with house.connect() as conn:
        landed = conn.execute("SELECT customer_id, points FROM raw.crm__items ORDER BY 1").fetchall()
    assert landed == [(other, 2), (900003, 1)]
    assert second.source_rows == second.loaded_rows + second.quarantined_rows == 3


def test_the_compliance_page_lists_requests_retention_runs_and_holds_without_naming_anyone(
    house: ComplianceHouse,
    *,
    web_app: Any,
    client_factory: Any,
    make_token: Any,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from datetime import UTC, datetime, timedelta

    from scrollintel.compliance import retention
    from scrollintel.config import load_governance
    from scrollintel.web import URL_PREFIX
    from scrollintel.web.deps import warehouse_url

    with warehouse.connect(house.url, autocommit=True) as conn:
        proofs = retention.enforce(conn, load_governance(), now=datetime.now(UTC), dry_run=True, run_id="page-dry")
        retention.add_hold(
            conn, "raw.shop__orders", datetime.now(UTC) + timedelta(days=9), reason="case 7", approved_by="co-officer"
        )
    retention.record(proofs, dry_run=True, run_id="page-dry", ledger_url=house.url)
    from scrollintel.compliance import record

    monkeypatch.setenv("SCROLLINTEL_OBJECT_STORE", str(tmp_path))
    web_app.dependency_overrides[warehouse_url] = lambda: house.url
    try:
        client = client_factory(cookie=make_token())
        missing = client.get(f"{URL_PREFIX}/compliance/record.xlsx")
        record.generate(load_governance(), tmp_path / "compliance" / "art30", generated_at="now")
        download = client.get(f"{URL_PREFIX}/compliance/record.pdf")
        page = client.get(f"{URL_PREFIX}/compliance")
        api = client.get(f"{URL_PREFIX}/api/compliance").json()
        anonymous = client_factory().get(f"{URL_PREFIX}/api/compliance")
    finally:
        web_app.dependency_overrides.pop(warehouse_url, None)
    assert missing.status_code == 404 and "compliance_record DAG" in missing.text
    assert download.status_code == 200 and download.content.startswith(b"%PDF")
    assert [item["format"] for item in api["record"]] == ["xlsx", "pdf"]
    assert page.status_code == 200, page.text
    assert "download>Download XLSX</a>" in page.text
    assert anonymous.status_code == 401
    kinds = {(item["kind"], item["status"]) for item in api["requests"]}
    assert {("erasure", "executed"), ("erasure", "rejected"), ("access", "executed")} <= kinds
    executed = next(item for item in api["requests"] if item["status"] == "executed" and item["kind"] == "erasure")
    assert executed["rescan_ok"] is True and executed["actions"]["delete"] >= 5
    assert api["retention_runs"][0]["run"] == "page-dry" and api["retention_runs"][0]["dry_run"] is True
    assert [hold["target"] for hold in api["holds"]] == ["raw.shop__orders"]
    assert "0 rows left where deletion was planned" in page.text and "case 7" in page.text
    for text in (page.text, json.dumps(api)):
        assert house.a.email not in text and house.b.email not in text


TEST_SIGNING_KEY = "ZmFrZS10ZXN0LWtleS1mb3Itc2Nyb2xsaW50ZWwtMDE="


def test_the_art30_record_and_an_evidence_pack_are_generated_and_a_changed_byte_fails_verification(
    house: ComplianceHouse, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import zipfile
    from datetime import UTC, datetime

    from openpyxl import load_workbook

    from scrollintel.cli import main

    monkeypatch.setenv("SCROLLINTEL_AUDIT_SIGNING_KEY", TEST_SIGNING_KEY)
    runner = CliRunner()
    out = tmp_path / "art30"
    first = runner.invoke(main, ["compliance", "record", "--out", str(out), "--url", house.url])
    again = runner.invoke(main, ["compliance", "record", "--out", str(out), "--url", house.url])
    assert first.exit_code == 0 and again.exit_code == 0, first.output + again.output
    assert "11 activities" in first.output and "11 added" in first.output
    assert "0 added, 0 changed, 0 removed" in again.output
    sheet = load_workbook(out / "record.xlsx")["Record of processing"]
    rows = {row[0]: row for row in sheet.iter_rows(min_row=2, values_only=True)}
    customers = rows["shop.customers"]
    assert "email" in customers[3] and "customers" in customers[4] and "email: hash" in customers[8]
    assert "staging.stg_shop__customers" in customers[5] and "customer-data: P3Y" in customers[6]
    assert rows["shop.products"][4] == "none (no personal data)"
    assert (out / "record.pdf").read_bytes().startswith(b"%PDF")

    month = datetime.now(UTC).strftime("%Y-%m")
    pack = tmp_path / "evidence.zip"
    built = runner.invoke(
        main,
        ["compliance", "evidence", "--period", month, "--out", str(pack), "--url", house.url, "--without-airflow"],
    )
    assert built.exit_code == 0, built.output
    verified = runner.invoke(main, ["compliance", "verify", str(pack)])
    assert verified.exit_code == 0 and "intact" in verified.output, verified.output
    with zipfile.ZipFile(pack) as original:
        names = original.namelist()
        requests_listed = json.loads(original.read("subject_requests.json"))
        contents = {name: original.read(name) for name in names}
    assert {"approvals.json", "retention_runs.json", "record_of_processing.xlsx", "manifest.json"} <= set(names)
    assert requests_listed and all("identifiers" not in item for item in requests_listed)
    assert json.loads(contents["access_review.json"]) == json.loads(contents["dag_versions.json"]) == NO_AIRFLOW
    assert house.a.email.encode() not in b"".join(contents.values())
    tampered = tmp_path / "tampered.zip"
    with zipfile.ZipFile(tampered, "w") as out_zip:
        for name, data in contents.items():
            out_zip.writestr(
                name,
                data.replace(b"compliance.retention", b"compliance.retentioN")
                if name == "retention_runs.json"
                else data,
            )
    failed = runner.invoke(main, ["compliance", "verify", str(tampered)])
    assert failed.exit_code == 1
    assert "retention_runs.json: SHA-256 differs from the manifest" in failed.output
    bad = runner.invoke(main, ["compliance", "evidence", "--period", "2026-Q5", "--url", house.url])
    assert bad.exit_code == 2 and "--period '2026-Q5': expected a quarter (2026-Q4) or a month" in bad.output
