"""The Compliance page's actions on the seeded warehouse (see conftest: subject C is this page's).

Find, access export, erasure request, request status and the evidence pack, through the app as the
plugin mounts it (Airflow's own auth, SimpleAuthManager roles): who may, cross-site posts, bad
input named on the page, and nothing personal in a URL, a header or a log line.
"""

from __future__ import annotations

import io
import json
import logging
import re
import urllib.parse
import uuid
import zipfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from scrollintel import warehouse
from scrollintel.approvals.outcome import GateDecision
from scrollintel.compliance import requests, workflow
from scrollintel.web import URL_PREFIX
from scrollintel.web.deps import COMPLIANCE_EVIDENCE, COMPLIANCE_SUBJECT, warehouse_url
from scrollintel.web.routes.compliance import erasure_trigger
from tests.integration.compliance.conftest import ComplianceHouse

pytestmark = pytest.mark.integration

PAGE = f"{URL_PREFIX}/compliance"
SAME_ORIGIN = {"Sec-Fetch-Site": "same-origin"}
TEST_SIGNING_KEY = "ZmFrZS10ZXN0LWtleS1mb3Itc2Nyb2xsaW50ZWwtMDE="


class Triggers:
    """The erasure runs the page started: ``(request_id, username)``; raises ``fail`` instead when set."""

    def __init__(self) -> None:
        self.calls: list[tuple[uuid.UUID, str]] = []
        self.fail: Exception | None = None

    def __call__(self, request_id: uuid.UUID, username: str) -> str:
        if self.fail is not None:
            raise self.fail
        self.calls.append((request_id, username))
        return f"manual__page_{len(self.calls)}"


@pytest.fixture
def triggers(
    house: ComplianceHouse, web_app: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Triggers]:
    """The app reads the seeded house; runs are recorded, not sent to an api-server."""
    monkeypatch.setenv("SCROLLINTEL_HOME", str(tmp_path))
    monkeypatch.setenv("SCROLLINTEL_OBJECT_STORE", str(house.files_root))
    monkeypatch.setenv("SCROLLINTEL_AUDIT_SIGNING_KEY", TEST_SIGNING_KEY)
    started = Triggers()
    web_app.dependency_overrides[warehouse_url] = lambda: house.url
    web_app.dependency_overrides[erasure_trigger] = lambda: started
    yield started
    web_app.dependency_overrides.pop(warehouse_url, None)
    web_app.dependency_overrides.pop(erasure_trigger, None)


@pytest.fixture
def officer(client_factory: Callable[..., Any], make_token: Callable[..., str], triggers: Triggers) -> Any:
    """A signed-in Op (who has compliance:subject and compliance:evidence)."""
    return client_factory(cookie=make_token(username="co-op", role="op"))


def _personal(house: ComplianceHouse) -> list[str]:
    who = house.c
    return [who.email, who.email.split("@")[0], str(who.customer_id)]


def _assert_nothing_personal_outside_the_body(house: ComplianceHouse, response: Any, logs: str) -> None:
    shown = " ".join(
        [str(r.url) for r in [*response.history, response]] + [f"{k}: {v}" for k, v in response.headers.items()]
    )
    for value in _personal(house)[:2]:
        assert value not in shown and value not in logs
    assert f"={house.c.customer_id}" not in shown


def test_find_lists_every_copy_hashed_ones_included_and_keeps_the_subject_out_of_urls_headers_and_logs(
    house: ComplianceHouse, officer: Any, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    response = officer.post(f"{PAGE}/find", data={"email": house.c.email}, headers=SAME_ORIGIN)

    assert response.status_code == 200, response.text
    html = response.text
    for target in (
        "raw.shop__customers",
        "raw.shop__orders",
        "raw_quarantine.shop__customers",
        "staging.stg_shop__customers",
        "marts.customers",
        "marts.churn_scores",
        "marts.crm_contacts",
        "landing/crm/contacts.csv",
    ):
        assert f"<code>{target}</code>" in html, target
    assert "email (hashed)" in html  # the masked copies, found by the salted hash
    assert response.headers["cache-control"] == "no-store"
    _assert_nothing_personal_outside_the_body(house, response, caplog.text)
    assert house.a.email not in html and house.b.email not in html
    with house.connect() as conn:
        actor, subject, details = conn.execute(
            "SELECT actor, subject, details FROM governance.audit_entry "
            "WHERE action = 'compliance.subject_searched' ORDER BY seq DESC LIMIT 1"
        ).fetchone()
    assert actor == "co-op" and subject.startswith("subject_search:")
    recorded = json.loads(details)  # counts only: nothing names the subject
    assert set(recorded) == {"locations", "total_rows"} and recorded["locations"] >= 13
    # the same locations as the CLI's code, by customer id too
    by_id = officer.post(f"{PAGE}/find", data={"customer_id": str(house.c.customer_id)}, headers=SAME_ORIGIN)
    assert by_id.status_code == 200 and "marts.crm_contacts" in by_id.text


@pytest.mark.parametrize(
    ("form", "message"),
    [
        ({}, "name the subject with E-mail or Customer id"),
        ({"email": "   ", "customer_id": ""}, "name the subject with E-mail or Customer id"),
        ({"email": "not-an-address"}, "E-mail: not an e-mail address (expected name@domain.tld)"),
        ({"customer_id": "12ab"}, "Customer id: not a customer id (expected a whole number)"),
        ({"email": "x" * 300 + "@example.org"}, "E-mail: longer than 254 characters"),
    ],
)
def test_unusable_identifiers_are_named_on_the_page(officer: Any, form: dict[str, str], message: str) -> None:
    response = officer.post(f"{PAGE}/find", data=form, headers=SAME_ORIGIN)

    assert response.status_code == 400
    assert f"<p>{message}</p>" in response.text and 'id="compliance-error"' in response.text
    assert "Traceback" not in response.text


def test_a_request_of_an_unknown_kind_is_named_and_opens_nothing(house: ComplianceHouse, officer: Any) -> None:
    with warehouse.connect(house.url) as conn:
        before = len(requests.recent(conn, 1000))
    response = officer.post(
        f"{PAGE}/requests", data={"kind": "delete-all", "email": house.c.email}, headers=SAME_ORIGIN
    )

    assert response.status_code == 400
    assert "Request kind: expected one of access, erasure" in response.text
    with warehouse.connect(house.url) as conn:
        assert len(requests.recent(conn, 1000)) == before


@pytest.mark.parametrize(
    ("path", "status", "message"),
    [
        (f"/requests/{uuid.UUID(int=7)}", 404, f"no subject request {uuid.UUID(int=7)}"),
        ("/requests/not-an-id", 400, "Request id: request id &#39;not-an-id&#39; is not a UUID"),
        (f"/status?request_id={uuid.UUID(int=8)}", 404, f"no subject request {uuid.UUID(int=8)}"),
        ("/status?request_id=", 400, "is not a UUID"),
    ],
)
def test_an_unknown_or_malformed_request_id_is_a_message_not_a_5xx(
    officer: Any, path: str, status: int, message: str
) -> None:
    response = officer.get(f"{PAGE}{path}")

    assert response.status_code == status
    assert message in response.text and "Traceback" not in response.text


@pytest.mark.parametrize(("role", "allowed"), [("viewer", False), ("user", False), ("op", True), ("admin", True)])
def test_only_roles_with_the_permissions_see_the_forms_and_may_post(
    house: ComplianceHouse,
    *,
    triggers: Triggers,
    client_factory: Callable[..., Any],
    make_token: Callable[..., str],
    role: str,
    allowed: bool,
) -> None:
    client = client_factory(cookie=make_token(username=f"co-{role}", role=role))

    page = client.get(PAGE).text
    find = client.post(f"{PAGE}/find", data={"email": house.c.email}, headers=SAME_ORIGIN)
    pack = client.post(f"{PAGE}/evidence", data={"period": "2026-Q5"}, headers=SAME_ORIGIN)

    assert ("Find every copy</button>" in page) is allowed
    assert ('id="subject-needs"' in page) is not allowed
    assert ("Download evidence pack</button>" in page) is allowed
    if allowed:
        assert find.status_code == 200 and pack.status_code == 400
    else:
        assert find.status_code == pack.status_code == 403
        assert find.json()["detail"] == f"Forbidden: {COMPLIANCE_SUBJECT.action} needs {COMPLIANCE_SUBJECT.needs}"
        assert pack.json()["detail"] == f"Forbidden: {COMPLIANCE_EVIDENCE.action} needs {COMPLIANCE_EVIDENCE.needs}"
        assert house.c.email not in find.text


@pytest.mark.parametrize("site", ["cross-site", "same-site"])
def test_cross_site_posts_are_refused(house: ComplianceHouse, officer: Any, site: str) -> None:
    for path, form in (
        ("/find", {"email": house.c.email}),
        ("/requests", {"kind": "erasure", "email": house.c.email}),
        ("/evidence", {"period": "2026-Q4"}),
    ):
        response = officer.post(f"{PAGE}{path}", data=form, headers={"Sec-Fetch-Site": site})
        assert response.status_code == 403, path
        assert response.json()["detail"].startswith("Cross-site request refused")
    evil = officer.post(f"{PAGE}/find", data={"email": house.c.email}, headers={"Origin": "https://evil.example"})
    assert evil.status_code == 403


def test_an_access_request_downloads_every_row_and_is_recorded_by_id(
    house: ComplianceHouse, officer: Any, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    response = officer.post(f"{PAGE}/requests", data={"kind": "access", "email": house.c.email}, headers=SAME_ORIGIN)

    assert response.status_code == 200, response.text
    export = response.json()
    request_id = uuid.UUID(export["request_id"])
    assert response.headers["content-disposition"] == f'attachment; filename="access-{request_id}.json"'
    customers = next(loc for loc in export["locations"] if loc["target"] == "raw.shop__customers")
    assert house.c.email in json.dumps(customers["data"])  # the Art. 15 export holds the rows themselves
    _assert_nothing_personal_outside_the_body(house, response, caplog.text)
    with warehouse.connect(house.url) as conn:
        stored = requests.get(conn, request_id)
    assert (stored.kind, stored.status, stored.requested_by, stored.identifiers) == (
        "access",
        "executed",
        "co-op",
        None,
    )
    assert [step["action"] for step in workflow.steps(house.url, request_id)] == [
        "compliance.subject_request_opened",
        "compliance.access_exported",
    ]


def test_an_erasure_request_whose_run_cannot_start_says_so_and_how(
    house: ComplianceHouse, officer: Any, triggers: Triggers
) -> None:
    triggers.fail = workflow.TriggerFailed("Airflow did not answer (ConnectError); trigger compliance_erasure with …")
    response = officer.post(
        f"{PAGE}/requests",
        data={"kind": "erasure", "customer_id": str(house.c.customer_id)},
        headers=SAME_ORIGIN,
        follow_redirects=False,
    )

    assert response.status_code == 303
    location = response.headers["location"]
    path, _, query = location.partition("?")
    request_id = uuid.UUID(path.split("/requests/")[1])  # the request by its id, never the subject's
    assert not re.search(rf"\b{house.c.customer_id}\b", urllib.parse.unquote_plus(query))
    page = officer.get(location)
    assert "its run did not start: Airflow did not answer (ConnectError)" in page.text
    with warehouse.connect(house.url) as conn:
        stored = requests.get(conn, request_id)
    assert stored.status == "awaiting_approval" and stored.plan  # planned, nothing erased
    workflow.reject(house.url, request_id, GateDecision("rejected", "co-officer"), ledger_url=house.url)


def test_the_evidence_pack_downloads_and_verifies_and_a_bad_period_is_named(
    house: ComplianceHouse, officer: Any, tmp_path: Path
) -> None:
    from scrollintel.compliance import evidence

    response = officer.post(f"{PAGE}/evidence", data={"period": "2026-Q4"}, headers=SAME_ORIGIN)
    bad = officer.post(f"{PAGE}/evidence", data={"period": "2026-Q5"}, headers=SAME_ORIGIN)

    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/zip"
    assert 'filename="evidence-2026-Q4.zip"' in response.headers["content-disposition"]
    pack = tmp_path / "pack.zip"
    pack.write_bytes(response.content)
    assert evidence.verify(pack).ok
    with zipfile.ZipFile(io.BytesIO(response.content)) as opened:
        assert {"manifest.json", "subject_requests.json", "record_of_processing.xlsx"} <= set(opened.namelist())
    assert bad.status_code == 400
    assert "Evidence pack: Period &#39;2026-Q5&#39;: expected a quarter (2026-Q4) or a month (2026-11)" in bad.text
    assert not list(Path(evidence.tempfile.gettempdir()).glob("scrollintel-evidence-*/evidence-2026-Q5.zip"))


def test_the_marts_dbt_builds_are_indexed_on_the_subject_key(house: ComplianceHouse) -> None:
    """``config: indexes`` in the marts' YAML: subject find and erasure look customers up by key, not by scan."""
    with house.connect() as conn:
        indexed = {
            table
            for table, definition in conn.execute(
                "SELECT tablename, indexdef FROM pg_indexes WHERE schemaname = 'marts'"
            ).fetchall()
            if definition.endswith("(customer_id)")
        }
    assert {"customers", "orders", "order_items", "marketing_attribution", "ml_churn_features"} <= indexed
