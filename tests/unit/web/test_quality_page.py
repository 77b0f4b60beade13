"""The Quality page without a database: authentication, error panels, the data docs files, the trend chart.

The page's data (latest status, trend, failures, links) is tested on a real warehouse in
tests/integration/web/test_quality_page.py.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import date, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from scrollintel.quality.docs import resolve_docs_file
from scrollintel.quality.query import TrendPoint
from scrollintel.web import URL_PREFIX
from scrollintel.web.deps import warehouse_url
from scrollintel.web.routes.quality import airflow_run_href, trend_chart
from tests.unit.web.helpers import HTML, REFUSED, UNREACHABLE

if TYPE_CHECKING:
    from fastapi import FastAPI

pytestmark = pytest.mark.unit

ROUTES = [
    "/quality",
    "/api/quality",
    "/quality/docs",
    "/quality/docs/",
    "/quality/docs/index.html",
    "/quality/docs/x.html",
]


@pytest.fixture
def unreachable(web_app: FastAPI) -> Iterator[None]:
    web_app.dependency_overrides[warehouse_url] = lambda: UNREACHABLE
    yield
    web_app.dependency_overrides.pop(warehouse_url, None)


@pytest.fixture
def site(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A data docs site in the platform's state folder, and a secret file next to it."""
    monkeypatch.setenv("SCROLLINTEL_HOME", str(tmp_path / "state"))
    root = tmp_path / "state" / "quality" / "data-docs"
    (root / "validations" / "marts" / "orders").mkdir(parents=True)
    (root / "index.html").write_text("<h1>Data docs index</h1>", encoding="utf-8")
    (root / "validations" / "marts" / "orders" / "run.html").write_text("<p>orders run</p>", encoding="utf-8")
    (root / "static").mkdir()
    (root / "static" / "style.css").write_text("p { color: red; }", encoding="utf-8")
    (root / ".hidden").write_text("no", encoding="utf-8")
    (tmp_path / "state" / "secrets.json").write_text('{"password": "x"}', encoding="utf-8")
    (root / "escape").symlink_to(tmp_path / "state")
    return root


@pytest.mark.parametrize("path", ROUTES)
def test_anonymous_requests_are_refused(client_factory: Callable[..., Any], path: str) -> None:
    response = client_factory().get(f"{URL_PREFIX}{path}", follow_redirects=False)

    assert response.status_code == 401


def test_page_shows_a_clear_panel_when_the_warehouse_is_unreachable(
    client_factory: Callable[..., Any], make_token: Callable[..., str], unreachable: None
) -> None:
    client = client_factory(cookie=make_token())

    page = client.get(f"{URL_PREFIX}/quality", headers=HTML)
    api = client.get(f"{URL_PREFIX}/api/quality")

    assert page.status_code == 503
    assert "The warehouse cannot be reached" in page.text
    assert REFUSED in page.text
    assert "127.0.0.1" not in page.text
    assert "s3cret-pw" not in page.text and "s3cret-pw" not in api.text
    assert 'aria-current="page">Quality</a>' in page.text
    assert api.status_code == 503
    assert api.json()["detail"] == "The warehouse cannot be reached: " + REFUSED


def test_days_out_of_range_are_refused(
    client_factory: Callable[..., Any], make_token: Callable[..., str], unreachable: None
) -> None:
    response = client_factory(bearer=make_token()).get(f"{URL_PREFIX}/api/quality?days=0")

    assert response.status_code == 422


def test_data_docs_are_served_to_a_signed_in_user(
    client_factory: Callable[..., Any], make_token: Callable[..., str], site: Path, unreachable: None
) -> None:
    client = client_factory(cookie=make_token())

    root = client.get(f"{URL_PREFIX}/quality/docs", follow_redirects=False)
    page = client.get(f"{URL_PREFIX}/quality/docs/validations/marts/orders/run.html")
    css = client.get(f"{URL_PREFIX}/quality/docs/static/style.css")
    # the listing reads the results table (GX's own index needs scripts the policy refuses)
    index = client.get(f"{URL_PREFIX}/quality/docs/index.html", headers=HTML)

    assert root.status_code == 307
    assert root.headers["location"].endswith(f"{URL_PREFIX}/quality/docs/")
    assert index.status_code == 503 and "The warehouse cannot be reached" in index.text
    assert "Data docs index" not in index.text
    assert page.status_code == 200 and page.text == "<p>orders run</p>"
    assert page.headers["content-type"].startswith("text/html")
    assert css.headers["content-type"].startswith("text/css")
    # the same strict policy as every page: the docs' CDN scripts and styles are not loaded
    assert "script-src 'self'" in page.headers["content-security-policy"]


@pytest.mark.parametrize(
    "path",
    [
        "../secrets.json",
        "..%2Fsecrets.json",
        "validations/../../secrets.json",
        "%2e%2e/secrets.json",
        ".hidden",
        "escape/secrets.json",
        "missing.html",
        "/etc/passwd",
        "validations/marts/orders/run.html%00.css",
    ],
)
def test_nothing_outside_the_docs_site_is_served(
    client_factory: Callable[..., Any], make_token: Callable[..., str], site: Path, path: str
) -> None:
    response = client_factory(cookie=make_token()).get(f"{URL_PREFIX}/quality/docs/{path}")

    # A NUL byte is refused for every parameter of the app (400); anything else is simply not there.
    assert response.status_code == (400 if "%00" in path else 404)
    assert "password" not in response.text


def test_before_the_first_gate_the_docs_say_they_are_not_built(
    client_factory: Callable[..., Any], make_token: Callable[..., str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SCROLLINTEL_HOME", str(tmp_path))

    response = client_factory(bearer=make_token()).get(f"{URL_PREFIX}/quality/docs/validations/x.html")

    assert response.status_code == 404
    assert response.json() == {"detail": "No data docs yet — the first quality gate run builds them."}


def test_resolve_docs_file_stays_inside_the_site(site: Path) -> None:
    assert resolve_docs_file("", site) == (site / "index.html").resolve()
    assert (
        resolve_docs_file("validations/marts/orders/run.html", site)
        == (site / "validations/marts/orders/run.html").resolve()
    )
    for bad in ("..", "../secrets.json", "escape", "escape/secrets.json", ".hidden", "a\\..\\b", "x\x00y"):
        assert resolve_docs_file(bad, site) is None, bad


def test_airflow_run_links_are_quoted_and_absent_outside_airflow() -> None:
    class Request:
        scope = {"app_root_path": "/airflow"}

    request: Any = Request()
    assert airflow_run_href(request, "transform_warehouse", "manual__2026-01-01T00:00:00+00:00") == (
        "/airflow/dags/transform_warehouse/runs/manual__2026-01-01T00%3A00%3A00%2B00%3A00"
    )
    assert airflow_run_href(request, None, "manual__x") is None


def _points(runs: list[tuple[int, int]]) -> list[TrendPoint]:
    first = date(2026, 1, 1)
    return [
        TrendPoint(day=first + timedelta(days=i), runs=r, failed=f, failed_expectations=f)
        for i, (r, f) in enumerate(runs)
    ]


def test_trend_chart_stacks_failed_on_passed_and_scales_to_the_busiest_day() -> None:
    chart = trend_chart(_points([(10, 0), (0, 0), (10, 4), (3, 3)]), width=440, height=228)

    busiest, empty, mixed, all_failed = chart.bars
    assert chart.total_runs == 23 and chart.total_failed == 7 and chart.failed_days == 2
    assert chart.y_ticks[-1][1] == 10  # the scale's top is the busiest day
    assert busiest.ok_y == chart.plot_top and busiest.ok_height == chart.plot_bottom - chart.plot_top
    assert busiest.bad_height == 0 and empty.ok_height == 0 and empty.bad_height == 0
    assert mixed.ok_height == pytest.approx((chart.plot_bottom - chart.plot_top) * 0.6)
    assert mixed.bad_y + mixed.bad_height == pytest.approx(mixed.ok_y)  # failed sits on top of passed
    assert all_failed.ok_height == 0 and all_failed.bad_y + all_failed.bad_height == pytest.approx(chart.plot_bottom)
    assert mixed.label == "2026-01-03: 10 validation(s), 4 failed"
    assert chart.x_ticks[0][1] == "Jan 01"


def test_trend_chart_of_a_quiet_month_still_has_an_axis() -> None:
    chart = trend_chart(_points([(0, 0)] * 30))

    assert len(chart.bars) == 30
    assert chart.total_runs == 0
    assert [value for _, value in chart.y_ticks] == [0, 1, 2]
