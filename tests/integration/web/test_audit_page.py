"""The Audit page and its JSON API on a real, migrated ledger: filters, pages, proofs, exports, verification."""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import psycopg
import pytest

from scrollintel import audit, db
from scrollintel.audit.proof import check_inclusion_document
from scrollintel.web import URL_PREFIX
from scrollintel.web.deps import warehouse_url
from scrollintel.web.routes.audit import EMPTY_NOTICE

pytestmark = pytest.mark.integration

T0 = datetime(2026, 11, 1, 9, 0, tzinfo=UTC)
SIZE = 60
PAGE = f"{URL_PREFIX}/audit"
API = f"{URL_PREFIX}/api/audit"
#: What a browser sends with a form post or fetch from the platform's own pages.
SAME_ORIGIN = {"Sec-Fetch-Site": "same-origin"}


def _event(i: int) -> audit.AuditEvent:
    """Three kinds of event in turn, one minute apart."""
    if i % 3 == 0:
        return audit.AuditEvent(
            "airflow.trigger_dag_run", f"dag:platform_health/run:r{i}", {"i": i}, actor="admin", at=_at(i)
        )
    if i % 3 == 1:
        return audit.AuditEvent(
            "quality.gate_passed",
            f"dataset:marts.d{i % 4}",
            {"i": i, "suite": "orders"},
            actor="dag:quality",
            at=_at(i),
        )
    return audit.AuditEvent(
        "ingest.batch_loaded", f"dataset:raw.shop__t{i % 2}", {"i": i, "rows": i * 10}, actor="dag:ingest", at=_at(i)
    )


def _at(i: int) -> datetime:
    return T0 + timedelta(minutes=i)


@pytest.fixture
def ledger(new_ledger_url: Callable[[], str], ledger_state: Path) -> str:
    """A migrated ledger with 60 entries (seq 0..59), recorded through the audit package's public API."""
    url = new_ledger_url()
    receipts = audit.record_many([_event(i) for i in range(SIZE)], url=url)
    assert [r.seq for r in receipts] == list(range(SIZE))
    return url


@pytest.fixture
def point_at(web_app: Any) -> Iterator[Callable[[str], None]]:
    """Point the app's ``warehouse_url`` dependency at a database for the test."""

    def _point(url: str) -> None:
        web_app.dependency_overrides[warehouse_url] = lambda: url

    yield _point
    web_app.dependency_overrides.pop(warehouse_url, None)


@pytest.fixture
def client(
    ledger: str, point_at: Callable[[str], None], client_factory: Callable[..., Any], make_token: Callable[..., str]
) -> Any:
    """A signed-in operator's browser (the ``_token`` cookie; Op may run the verification) on the filled ledger."""
    point_at(ledger)
    return client_factory(cookie=make_token(role="op"))


def _seqs(html: str) -> list[int]:
    """Seq numbers of the table rows, in order."""
    return [int(s) for s in re.findall(r'<td class="si-num"><a href="[^"]+/audit/entries/\d+">(\d+)</a>', html)]


def _superuser_edit(url: str, seq: int) -> None:
    """What a superuser can do: switch the append-only triggers off and change one entry."""
    with psycopg.connect(url.replace(db.DRIVER, "postgresql")) as conn:
        conn.execute("SET session_replication_role = replica")
        conn.execute("UPDATE governance.audit_entry SET details = '{\"i\":999}' WHERE seq = %s", (seq,))
        conn.commit()


# -- the page -----------------------------------------------------------------------------------


def test_page_lists_the_newest_entries_with_the_ledger_status(client: Any) -> None:
    response = client.get(PAGE)

    html = response.text
    assert response.status_code == 200, html
    assert _seqs(html) == list(range(59, 9, -1))
    assert "Showing <strong>1\N{EN DASH}50</strong> of\n      <strong>60</strong> entries, newest first" in html
    assert ">Not verified yet<" in html and ">No anchor yet<" in html
    assert '<p class="si-status__figure">60</p>' in html
    # Filters offer what the ledger holds, plus action families.
    for actor in ("admin", "dag:ingest", "dag:quality"):
        assert f'<option value="{actor}">{actor}</option>' in html
    assert '<option value="airflow.*">airflow.* (all)</option>' in html
    assert '<option value="quality.gate_passed">quality.gate_passed</option>' in html
    row_59 = client.get(f"{API}/entries", params={"limit": 1}).json()["items"][0]
    assert f'title="{row_59["entry_hash"]}">{row_59["entry_hash"][:12]}</code>' in html
    assert "2026-11-01 09:59:00</time>" in html


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"actor": "admin"}, [i for i in range(SIZE) if i % 3 == 0]),
        ({"action": "quality.*"}, [i for i in range(SIZE) if i % 3 == 1]),
        ({"action": "ingest.batch_loaded"}, [i for i in range(SIZE) if i % 3 == 2]),
        ({"subject": "dataset:raw.*"}, [i for i in range(SIZE) if i % 3 == 2]),
        ({"subject": "dataset:marts.d1"}, [i for i in range(SIZE) if i % 3 == 1 and i % 4 == 1]),
        ({"since": "2026-11-01T09:10", "until": "2026-11-01T09:20"}, list(range(10, 20))),
        ({"since": "2026-11-01T10:10:00+01:00"}, list(range(10, SIZE))),
        ({"until": "2026-11-01"}, []),
        ({"actor": "dag:quality", "since": "2026-11-01T09:30"}, [i for i in range(30, SIZE) if i % 3 == 1]),
    ],
)
def test_filters_on_the_page_and_the_api(client: Any, params: dict[str, str], expected: list[int]) -> None:
    html = client.get(PAGE, params={**params, "per_page": 100}).text
    data = client.get(f"{API}/entries", params={**params, "limit": 500}).json()

    assert _seqs(html) == expected[::-1]
    assert [item["seq"] for item in data["items"]] == expected[::-1]
    assert data["total_entries"] == len(expected)
    if expected:
        assert f"<strong>{len(expected)}</strong> matching {'entry' if len(expected) == 1 else 'entries'}" in html
        # The form shows the filters back, and the export links carry them.
        ordered = [(k, params[k]) for k in ("since", "until", "actor", "action", "subject") if k in params]
        assert f'href="{API}/export.csv?{urlencode(ordered).replace("&", "&amp;")}" download' in html
    else:
        assert "No entries match these filters." in html
        assert data["notice"] == "No entries match these filters."


def test_pagination_keeps_the_filters(client: Any) -> None:
    second = client.get(PAGE, params={"action": "quality.*", "per_page": 25, "page": 2}).text
    beyond = client.get(PAGE, params={"per_page": 25, "page": 9}).text
    api = client.get(f"{API}/entries", params={"limit": 7, "offset": 50}).json()

    assert "Page 1 of 1" not in second  # 20 quality entries fit on one page of 25...
    assert _seqs(second) == []  # ...so page 2 is past the end
    assert "No entries on page 2: the last page is 1." in second
    assert 'href="/scrollintel/audit?action=quality.%2A&amp;page=1&amp;per_page=25"' in second
    assert "No entries on page 9: the last page is 3." in beyond
    assert [item["seq"] for item in api["items"]] == list(range(9, 2, -1))
    assert (api["total_entries"], api["limit"], api["offset"]) == (SIZE, 7, 50)

    middle = client.get(PAGE, params={"per_page": 25, "page": 2}).text
    assert _seqs(middle) == list(range(34, 9, -1))
    assert "Showing <strong>26\N{EN DASH}50</strong>" in middle and "Page 2 of 3" in middle
    assert 'href="/scrollintel/audit?page=1&amp;per_page=25" rel="prev"' in middle
    assert 'href="/scrollintel/audit?page=3&amp;per_page=25" rel="next"' in middle


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"since": "yesterday"}, "since: &#39;yesterday&#39; is not a date or time"),
        ({"until": "2026-13-01"}, "until: &#39;2026-13-01&#39; is not a date or time"),
        ({"since": "2026-11-02", "until": "2026-11-01"}, "since must be earlier than until"),
    ],
)
def test_bad_filters_are_named_not_a_500(client: Any, params: dict[str, str], message: str) -> None:
    page = client.get(PAGE, params=params)
    api = client.get(f"{API}/entries", params=params)
    export = client.get(f"{API}/export.csv", params=params)

    assert page.status_code == 400 and message in page.text
    assert "<table" not in page.text
    assert api.status_code == 400 and api.json()["detail"].startswith(message.replace("&#39;", "'"))
    assert export.status_code == 400


# -- one entry and its proof -------------------------------------------------------------------------


def test_entry_page_shows_canonical_details_and_the_proof(client: Any) -> None:
    html = client.get(f"{PAGE}/entries/17").text
    detail = client.get(f"{API}/entries/17").json()

    entry = detail["entry"]
    assert entry["details_json"] == '{"i":17,"rows":170}'
    assert "Entry 17 <span" in html and "ingest.batch_loaded" in html
    assert '<pre class="si-code">{&#34;i&#34;:17,&#34;rows&#34;:170}</pre>' in html  # the hashed text, as stored
    assert entry["entry_hash"] in html and entry["prev_hash"] in html
    assert detail["proof"]["tree_size"] == SIZE and detail["proof"]["tree_head"] is None
    assert "Proven against the current tree of 60 entries" in html
    assert "Checked on this page: the entry's fields hash to its entry hash" in html
    for node in detail["proof"]["inclusion_path"]:
        assert node in html
    assert 'href="/scrollintel/audit/entries/16" rel="prev"' in html
    assert 'href="/scrollintel/audit/entries/18" rel="next"' in html
    assert 'href="/scrollintel/api/audit/entries/17/proof" download' in html


def test_missing_entry_is_a_404_with_the_ledger_range(client: Any) -> None:
    page = client.get(f"{PAGE}/entries/60")
    api = client.get(f"{API}/entries/60")
    proof = client.get(f"{API}/entries/-1/proof")

    assert page.status_code == 404
    assert "No audit entry 60" in page.text and "The ledger has 60 entries (seq 0 to 59)." in page.text
    assert "Signed in as <strong>gov-viewer</strong>" in page.text
    assert api.status_code == 404 and api.json() == {"detail": "No audit entry 60"}
    assert proof.status_code == 404


def test_downloaded_proof_verifies_before_and_after_an_anchor(client: Any, ledger: str) -> None:
    from scrollintel.audit.anchor import anchor
    from scrollintel.audit.signing import trusted_public_keys

    unanchored = client.get(f"{API}/entries/5/proof")
    assert unanchored.status_code == 200
    assert unanchored.headers["content-type"] == "application/json"
    assert unanchored.headers["content-disposition"] == 'attachment; filename="audit-entry-5-proof.json"'
    document = unanchored.json()
    assert document["tree_head"] is None
    assert check_inclusion_document(document) == []

    anchor(ledger, notify=False)
    signed = client.get(f"{API}/entries/5/proof").json()
    html = client.get(f"{PAGE}/entries/5").text

    assert signed["tree_head"]["tree_size"] == SIZE
    assert check_inclusion_document(signed, trusted_public_keys()) == []
    assert "Proven against the signed tree head of 60 entries" in html
    assert signed["tree_head"]["key_id"] in html
    # A proof altered after download no longer verifies.
    forged = json.loads(json.dumps(signed))
    forged["entry"]["details"] = '{"i":6}'
    assert "entry fields do not hash to entry_hash" in check_inclusion_document(forged, trusted_public_keys())


# -- exports ------------------------------------------------------------------------------------------


def test_exports_stream_the_filtered_range_oldest_first(client: Any) -> None:
    params = {"actor": "admin", "since": "2026-11-01T09:30"}
    expected = [i for i in range(30, SIZE) if i % 3 == 0]

    csv_response = client.get(f"{API}/export.csv", params=params)
    json_response = client.get(f"{API}/export.json", params=params)
    page = client.get(PAGE, params=params).text

    assert csv_response.status_code == 200
    assert csv_response.headers["content-type"] == "text/csv; charset=utf-8"
    assert re.fullmatch(
        r'attachment; filename="audit-ledger-\d{8}T\d{6}Z\.csv"', csv_response.headers["content-disposition"]
    )
    assert csv_response.headers["x-total-count"] == str(len(expected))
    rows = list(csv.DictReader(io.StringIO(csv_response.text)))
    assert [int(r["seq"]) for r in rows] == expected
    assert rows[0]["details"] == '{"i":30}' and rows[0]["actor"] == "admin"
    assert list(rows[0]) == [
        "seq",
        "recorded_at",
        "actor",
        "action",
        "subject",
        "details",
        "prev_hash",
        "entry_hash",
        "appended_at",
    ]

    assert json_response.headers["content-type"] == "application/json"
    assert json_response.headers["content-disposition"].endswith('.json"')
    items = json_response.json()
    assert [item["seq"] for item in items] == expected
    assert [item["entry_hash"] for item in items] == [r["entry_hash"] for r in rows]
    api_hashes = {i["seq"]: i["entry_hash"] for i in client.get(f"{API}/entries", params=params).json()["items"]}
    assert {item["seq"]: item["entry_hash"] for item in items} == api_hashes

    assert 'href="/scrollintel/api/audit/export.csv?since=2026-11-01T09%3A30&amp;actor=admin" download' in page
    whole = client.get(f"{API}/export.csv").text.strip().splitlines()
    assert len(whole) == SIZE + 1


# -- verification status ---------------------------------------------------------------------------------


def test_verification_turns_red_at_the_edited_entry_after_a_superuser_update(client: Any, ledger: str) -> None:
    verified = client.post(f"{API}/verify", headers=SAME_ORIGIN)
    assert verified.status_code == 200, verified.text
    assert verified.json()["ok"] is True and verified.json()["size"] == SIZE
    green = client.get(PAGE).text
    assert "si-status__card--verified" in green and "Chain and Merkle tree of 60 entries check out" in green
    assert "No anchor was checked" in green

    _superuser_edit(ledger, 17)
    redirect = client.post(f"{PAGE}/verify?actor=admin", headers=SAME_ORIGIN, follow_redirects=False)
    assert redirect.status_code == 303
    assert redirect.headers["location"] == "/scrollintel/audit?actor=admin&verify=done#status"

    red = client.get(redirect.headers["location"]).text
    status = client.get(API).json()
    assert "Verification finished; the result is below." in red
    assert "si-status__card--failed" in red
    assert 'Failed\n      at entry\n      <a href="/scrollintel/audit/entries/17">17</a>' in red
    assert '<span class="si-kind">edited</span>' in red
    assert "entry 17 was edited: its fields no longer hash to its stored entry_hash" in red
    assert status["state"] == "failed"
    assert (status["verification"]["bad_index"], status["verification"]["kind"]) == (17, "edited")
    assert status["entries_since_verification"] == 0
    # The edited entry's own proof no longer checks out, on the page and for whoever downloads it.
    entry_page = client.get(f"{PAGE}/entries/17").text
    assert "Does not check out against the current tree of 60 entries" in entry_page
    assert "<li>entry fields do not hash to entry_hash</li>" in entry_page
    downloaded = client.get(f"{API}/entries/17/proof").json()
    assert check_inclusion_document(downloaded) == ["entry fields do not hash to entry_hash"]
    assert "Checked on this page" in client.get(f"{PAGE}/entries/16").text


def _forge_ok_row(url: str) -> None:
    """What a superuser (or, before migration 0008, the runtime role) could do: insert an "ok" result."""
    with psycopg.connect(url.replace(db.DRIVER, "postgresql")) as conn:
        conn.execute(
            "INSERT INTO governance.audit_verification (verified_at, ok, tree_size, message, duration_ms) "
            "VALUES (now() + interval '1 minute', true, 60, 'OK: 60 entries, chain and Merkle tree verified', 1)"
        )
        conn.commit()


def test_a_forged_ok_row_does_not_turn_the_page_green_while_an_entry_is_edited(client: Any, ledger: str) -> None:
    _superuser_edit(ledger, 17)
    assert client.post(f"{API}/verify", headers=SAME_ORIGIN).json()["ok"] is False
    _forge_ok_row(ledger)

    status = client.get(API).json()
    html = client.get(PAGE).text

    assert status["state"] == "failed"
    assert (status["verification"]["bad_index"], status["verification"]["kind"]) == (17, "edited")
    assert status["ignored_verifications"] == 1
    assert "si-status__card--failed" in html and "si-status__card--verified" not in html
    assert "1 newer verification record is\n      not signed by a trusted key and was ignored." in html


def test_a_forged_ok_row_alone_is_not_a_verification(client: Any, ledger: str) -> None:
    _superuser_edit(ledger, 3)
    _forge_ok_row(ledger)

    status = client.get(API).json()

    assert (status["state"], status["verification"], status["ignored_verifications"]) == ("not_verified", None, 1)
    assert "si-status__card--verified" not in client.get(PAGE).text


def test_verification_from_another_site_is_refused(client: Any) -> None:
    response = client.post(f"{PAGE}/verify", headers={"Sec-Fetch-Site": "cross-site"})
    api = client.post(f"{API}/verify", headers={"Sec-Fetch-Site": "same-site"})

    assert response.status_code == 403
    assert api.status_code == 403 and api.json()["detail"].startswith("Cross-site request refused")
    assert client.get(API).json()["verification"] is None


def test_status_reports_the_last_anchor(client: Any, ledger: str) -> None:
    from scrollintel.audit.anchor import anchor

    result = anchor(ledger, notify=False)
    audit.record("config.validated", "governance:sources", {"files": 3}, url=ledger)

    status = client.get(API).json()
    html = client.get(PAGE).text

    assert status["anchor"]["tree_size"] == SIZE
    assert status["anchor"]["root_hash"] == result.head.root_hash.hex()
    assert status["anchor"]["location"] == result.location and result.location.startswith("file://")
    assert status["entries_since_anchor"] == 1 and status["size"] == SIZE + 1
    assert result.head.root_hash.hex() in html and result.location in html
    newest = client.get(f"{API}/entries", params={"limit": 1}).json()["items"][0]
    assert (status["uncovered"], status["uncovered_since"]) == (1, newest["appended_at"])
    assert "<strong>1 entry not yet covered by a signed tree head</strong>, the oldest appended at" in html


def test_status_says_when_every_entry_is_covered_and_since_when_not(client: Any, ledger: str) -> None:
    from scrollintel.audit.anchor import anchor

    status = client.get(API).json()
    oldest = client.get(f"{API}/entries", params={"limit": 1, "offset": SIZE - 1}).json()["items"][0]
    assert (status["uncovered"], status["uncovered_since"]) == (SIZE, oldest["appended_at"])
    assert "<strong>60 entries not yet covered by a signed tree head</strong>, the oldest appended at" in (
        client.get(PAGE).text
    )

    anchor(ledger, notify=False)
    covered = client.get(API).json()
    assert (covered["uncovered"], covered["uncovered_since"]) == (0, None)
    assert "0 entries not yet covered by a signed tree head." in client.get(PAGE).text


# -- empty and missing ledgers ----------------------------------------------------------------------------


def test_empty_ledger_has_an_honest_empty_state(
    new_ledger_url: Callable[[], str],
    ledger_state: Path,
    point_at: Callable[[str], None],
    client_factory: Callable[..., Any],
    make_token: Callable[..., str],
) -> None:
    point_at(new_ledger_url())
    client = client_factory(cookie=make_token())

    page = client.get(PAGE)
    status = client.get(API).json()
    entries = client.get(f"{API}/entries").json()
    export = client.get(f"{API}/export.csv")

    assert page.status_code == 200
    assert EMPTY_NOTICE in page.text and "<table" not in page.text
    assert "No audit records yet" in status["notice"]
    assert (status["size"], status["state"], status["anchor"]) == (0, "not_verified", None)
    assert entries == {
        "items": [],
        "total_entries": 0,
        "limit": 100,
        "offset": 0,
        "filters": {"since": None, "until": None, "actor": None, "action": None, "subject": None},
        "notice": EMPTY_NOTICE,
    }
    assert export.text.strip() == "seq,recorded_at,actor,action,subject,details,prev_hash,entry_hash,appended_at"


def test_unmigrated_warehouse_shows_how_to_create_the_ledger(
    pg_server: Any, point_at: Callable[[str], None], client_factory: Callable[..., Any], make_token: Callable[..., str]
) -> None:
    point_at(pg_server.create_database())
    client = client_factory(cookie=make_token())

    page = client.get(PAGE)
    api = client.get(API)
    export = client.get(f"{API}/export.json")

    assert page.status_code == 503
    assert "The audit ledger does not exist yet" in page.text
    assert "Run <code>scrollintel db upgrade</code>" in page.text
    assert "Traceback" not in page.text
    assert api.status_code == 503
    assert api.json()["detail"].startswith("The audit ledger does not exist yet: The ledger tables")
    assert export.status_code == 503 and "content-disposition" not in export.headers


@pytest.mark.parametrize(("role", "shown"), [("viewer", False), ("user", False), ("op", True), ("admin", True)])
def test_the_verify_button_shows_only_to_roles_that_may_verify(
    client: Any, client_factory: Callable[..., Any], make_token: Callable[..., str], role: str, shown: bool
) -> None:
    """``client`` points the app at the filled ledger; the page is read as each role."""
    html = client_factory(cookie=make_token(username=f"page-{role}", role=role)).get(PAGE).text

    assert ("Verify now</button>" in html) is shown
    assert ('id="verify-needs"' in html) is not shown
