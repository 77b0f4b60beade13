"""The Audit page without a database: authentication, the error panels, filter parsing and page arithmetic.

The page's data (filters, pages, proofs, exports, verification) is tested on a real ledger in
tests/integration/web/test_audit_page.py.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta, timezone
from typing import TYPE_CHECKING, Any

import pytest

from scrollintel.web import URL_PREFIX
from scrollintel.web.deps import warehouse_url, with_connect_timeout
from scrollintel.web.routes import audit as audit_routes
from scrollintel.web.routes.audit import FilterError, FilterInput, Pager, count_entries, parse_time, to_entry_filter
from scrollintel.web.templating import code_spans, format_time, time_ago
from tests.unit.web.helpers import HTML, REFUSED, UNREACHABLE

if TYPE_CHECKING:
    from fastapi import FastAPI

pytestmark = pytest.mark.unit

ROUTES = [
    ("GET", "/audit"),
    ("GET", "/audit/entries/3"),
    ("POST", "/audit/verify"),
    ("GET", "/api/audit"),
    ("GET", "/api/audit/entries"),
    ("GET", "/api/audit/entries/3"),
    ("GET", "/api/audit/entries/3/proof"),
    ("GET", "/api/audit/export.csv"),
    ("GET", "/api/audit/export.json"),
    ("POST", "/api/audit/verify"),
]


@pytest.fixture
def override(web_app: FastAPI) -> Iterator[Callable[[Callable[[], str]], None]]:
    """Replace the ``warehouse_url`` dependency for one test."""

    def _set(provider: Callable[[], str]) -> None:
        web_app.dependency_overrides[warehouse_url] = provider

    yield _set
    web_app.dependency_overrides.pop(warehouse_url, None)


@pytest.fixture
def unreachable(
    override: Callable[[Callable[[], str]], None], client_factory: Callable[..., Any], make_token: Callable[..., str]
) -> Any:
    """A signed-in browser (an operator, who may run the verification) whose warehouse refuses connections."""
    override(lambda: UNREACHABLE)
    client = client_factory(cookie=make_token(role="op"))
    client.headers["Sec-Fetch-Site"] = "same-origin"  # what a browser sends from the platform's own pages
    return client


@pytest.mark.parametrize(("method", "path"), ROUTES)
def test_every_audit_route_refuses_an_anonymous_request(
    override: Callable[[Callable[[], str]], None], client_factory: Callable[..., Any], method: str, path: str
) -> None:
    override(lambda: UNREACHABLE)  # the refusal must not depend on the database
    client = client_factory()

    api = client.request(method, f"{URL_PREFIX}{path}")
    page = client.request(method, f"{URL_PREFIX}{path}", headers=HTML)

    assert api.status_code == 401
    assert api.json() == {"detail": "Not authenticated"}
    if not path.startswith("/api"):
        assert page.status_code == 401 and "Sign in to Airflow first" in page.text


@pytest.mark.parametrize("path", ["/audit", "/audit/entries/3"])
def test_unreachable_warehouse_is_a_clear_panel_not_a_stack(unreachable: Any, path: str) -> None:
    response = unreachable.get(f"{URL_PREFIX}{path}", headers=HTML)

    html = response.text
    assert response.status_code == 503
    assert '<h1 id="problem-heading">The warehouse cannot be reached</h1>' in html
    assert REFUSED in html
    assert "127.0.0.1" not in html and ":9" not in html  # no internal host or port
    assert "Check that PostgreSQL is running (<code>make status</code>)" in html
    assert "Signed in as <strong>gov-viewer</strong>" in html
    assert 'aria-current="page">Audit</a>' in html
    assert "s3cret-pw" not in html and "Traceback" not in html


@pytest.mark.parametrize(("method", "path"), [route for route in ROUTES if route[1].startswith("/api")], ids=str)
def test_unreachable_warehouse_is_a_503_in_the_api(unreachable: Any, method: str, path: str) -> None:
    response = unreachable.request(method, f"{URL_PREFIX}{path}")

    assert response.status_code == 503
    detail = response.json()["detail"]
    assert detail == "The warehouse cannot be reached: " + REFUSED
    assert "s3cret-pw" not in detail
    assert "content-disposition" not in response.headers  # no half-written download


def test_verify_now_on_an_unreachable_warehouse_shows_the_panel(unreachable: Any) -> None:
    response = unreachable.post(f"{URL_PREFIX}/audit/verify", headers=HTML, follow_redirects=False)

    assert response.status_code == 503
    assert "The warehouse cannot be reached" in response.text


def test_cross_site_verification_is_refused_before_any_work(unreachable: Any) -> None:
    for path in ("/audit/verify", "/api/audit/verify"):
        response = unreachable.post(f"{URL_PREFIX}{path}", headers={"Sec-Fetch-Site": "cross-site"})
        assert response.status_code == 403, path


def test_unconfigured_warehouse_says_where_to_configure_it(
    monkeypatch: pytest.MonkeyPatch, client_factory: Callable[..., Any], make_token: Callable[..., str]
) -> None:
    from scrollintel import warehouse
    from scrollintel.exceptions import DatabaseError

    def missing() -> str:
        raise DatabaseError("no database configured: set SCROLLINTEL_DATABASE_URL or start the embedded server")

    monkeypatch.setattr(warehouse, "server_warehouse_url", missing)
    client = client_factory(cookie=make_token())

    page = client.get(f"{URL_PREFIX}/audit")
    api = client.get(f"{URL_PREFIX}/api/audit/entries")

    assert page.status_code == 503
    assert "The warehouse is not configured" in page.text
    assert "Define the Airflow connection <code>postgres_warehouse</code>" in page.text
    assert api.status_code == 503
    assert api.json() == {
        "detail": "The warehouse is not configured: no database configured: set SCROLLINTEL_DATABASE_URL or start "
        "the embedded server"
    }


def test_warehouse_url_comes_from_the_server_connection_with_a_connect_timeout(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from scrollintel import warehouse

    monkeypatch.setattr(
        warehouse, "server_warehouse_url", lambda: "postgresql+psycopg://u:p@wh:5432/warehouse?sslmode=require"
    )

    assert warehouse_url() == "postgresql+psycopg://u:p@wh:5432/warehouse?sslmode=require&connect_timeout=5"
    assert with_connect_timeout("postgresql://h/db?connect_timeout=30") == "postgresql://h/db?connect_timeout=30"


# -- filters and helpers ---------------------------------------------------------------------------


def test_times_without_an_offset_are_utc() -> None:
    assert parse_time("2026-11-22", "since") == datetime(2026, 11, 22, tzinfo=UTC)
    assert parse_time("2026-11-22T10:30", "since") == datetime(2026, 11, 22, 10, 30, tzinfo=UTC)
    assert parse_time("2026-11-22T10:30:00+02:00", "since") == datetime(2026, 11, 22, 8, 30, tzinfo=UTC)
    assert parse_time("2026-11-22T10:30:00Z", "since").utcoffset() == timedelta(0)


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        (FilterInput(since="last week"), "since: 'last week' is not a date or time; use e.g. 2026-11-22"),
        (FilterInput(until="2026-02-30"), "until: '2026-02-30' is not a date or time"),
        (FilterInput(since="2026-11-22", until="2026-11-22"), "since must be earlier than until"),
    ],
)
def test_bad_filters_name_the_parameter(raw: FilterInput, message: str) -> None:
    with pytest.raises(FilterError) as caught:
        to_entry_filter(raw)
    assert str(caught.value).startswith(message)


def test_blank_filters_do_not_filter() -> None:
    parsed = to_entry_filter(FilterInput(actor="admin", action="airflow.*", subject=""))

    assert parsed.model_dump() == {
        "since": None,
        "until": None,
        "actor": "admin",
        "action": "airflow.*",
        "subject": None,
    }
    assert FilterInput(actor="admin", subject="").params() == {"actor": "admin"}


def test_action_options_offer_each_family_and_keep_the_current_value() -> None:
    options = audit_routes._action_options(["airflow.trigger", "quality.gate_failed", "startup"], "custom.*")

    assert options == [
        ("custom.*", "custom.*"),
        ("airflow.*", "airflow.* (all)"),
        ("quality.*", "quality.* (all)"),
        ("airflow.trigger", "airflow.trigger"),
        ("quality.gate_failed", "quality.gate_failed"),
        ("startup", "startup"),
    ]


def test_pager_arithmetic() -> None:
    pager = Pager(number=2, size=25, total=60)

    assert (pager.offset, pager.pages, pager.first_item, pager.last_item) == (25, 3, 26, 50)
    assert pager.has_newer and pager.has_older
    assert not Pager(number=3, size=25, total=60).has_older
    assert Pager(number=1, size=50, total=0).pages == 1


def test_times_are_shown_in_utc_with_a_rough_age() -> None:
    moment = datetime(2026, 11, 22, 11, 4, 5, tzinfo=timezone(timedelta(hours=1)))
    now = datetime(2026, 11, 22, 13, 4, 5, tzinfo=UTC)

    assert format_time(moment) == "2026-11-22 10:04:05 UTC"
    assert format_time(moment, zone=False) == "2026-11-22 10:04:05"
    assert time_ago(moment, now) == "3 hours ago"
    assert time_ago(now - timedelta(seconds=20), now) == "just now"
    assert time_ago(now - timedelta(minutes=1), now) == "1 minute ago"
    assert time_ago(now - timedelta(days=2, hours=5), now) == "2 days ago"
    assert time_ago(None) == format_time(None) == ""
    assert (count_entries(1), count_entries(1234)) == ("1 entry", "1,234 entries")


def test_hints_escape_html_and_show_backticks_as_code() -> None:
    assert str(code_spans("Run `scrollintel db upgrade` <now>")) == (
        "Run <code>scrollintel db upgrade</code> &lt;now&gt;"
    )
    assert str(code_spans("`<script>`")) == "<code>&lt;script&gt;</code>"
