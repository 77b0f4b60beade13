"""The Lineage explorer page without a database: authentication, the shell it serves, its scripts, its states.

What the store holds is replaced by a fixed :class:`LineageSummary` (or the warehouse points at a
closed port). The page on a real store: tests/integration/web/test_lineage_page.py; in headless
Chromium: tests/integration/web/test_lineage_explorer.py.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from html.parser import HTMLParser
from typing import TYPE_CHECKING, Any

import pytest

from scrollintel.web import URL_PREFIX
from scrollintel.web.deps import lineage_store_url
from scrollintel.web.routes import lineage as lineage_routes
from scrollintel.web.routes.lineage import LineageSummary

if TYPE_CHECKING:
    from fastapi import FastAPI

pytestmark = pytest.mark.unit

#: Nothing listens on port 9 (discard) of the loopback: connecting is refused at once.
UNREACHABLE = "postgresql+psycopg://platform:s3cret-pw@127.0.0.1:9/warehouse"
START = "dataset:postgres://warehouse:5432:warehouse.marts.orders"
SCRIPTS = [
    f"{URL_PREFIX}/static/vendor/cytoscape/cytoscape.min.js",
    f"{URL_PREFIX}/static/vendor/cytoscape-dagre/cytoscape-dagre.min.js",
    f"{URL_PREFIX}/static/lineage.js",
]
HTML = {"Accept": "text/html,application/xhtml+xml"}


class Markup(HTMLParser):
    """The tags of a page, with their attributes and whether a <script> or <style> has a body."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.inline: list[str] = []
        self._open: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))
        self._open = tag if tag in ("script", "style") else None

    def handle_endtag(self, tag: str) -> None:
        self._open = None

    def handle_data(self, data: str) -> None:
        if self._open and data.strip():
            self.inline.append(f"<{self._open}>{data.strip()[:80]}")

    def find(self, tag: str) -> list[dict[str, str | None]]:
        return [attrs for name, attrs in self.tags if name == tag]


def parse(html: str) -> Markup:
    markup = Markup()
    markup.feed(html)
    return markup


def explorer(markup: Markup) -> dict[str, str | None]:
    """The attributes of the explorer's root element."""
    return next(attrs for attrs in markup.find("section") if attrs.get("id") == "si-lineage")


@pytest.fixture
def store(web_app: FastAPI, monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[[LineageSummary | None], None]]:
    """Point the page at a closed port; ``set(summary)`` makes it read ``summary`` instead (None: the real read)."""
    web_app.dependency_overrides[lineage_store_url] = lambda: UNREACHABLE

    def _set(summary: LineageSummary | None) -> None:
        if summary is not None:
            monkeypatch.setattr(lineage_routes, "load_summary", lambda url: summary)

    yield _set
    web_app.dependency_overrides.pop(lineage_store_url, None)


def holding(**changes: Any) -> LineageSummary:
    values: dict[str, Any] = {
        "has_events": True,
        "datasets": 22,
        "jobs": 16,
        "last_event_at": datetime(2026, 11, 22, 3, 15, tzinfo=UTC),
        "start_node_id": START,
    }
    return LineageSummary(**{**values, **changes})


@pytest.fixture
def browser(client_factory: Callable[..., Any], make_token: Callable[..., str]) -> Any:
    """A signed-in browser (the Airflow UI's ``_token`` cookie)."""
    return client_factory(cookie=make_token())


@pytest.mark.parametrize(
    "path",
    [
        "/lineage",
        "/api/lineage",
        "/static/lineage.js",
        "/static/vendor/cytoscape/cytoscape.min.js",
        "/static/vendor/cytoscape-dagre/cytoscape-dagre.min.js",
    ],
)
def test_page_data_and_scripts_refuse_an_anonymous_request(
    store: Callable[..., None], client_factory: Callable[..., Any], path: str
) -> None:
    store(holding())

    response = client_factory().get(f"{URL_PREFIX}{path}")

    assert response.status_code == 401
    assert "cytoscape" not in response.text


def test_explorer_loads_only_same_origin_scripts_and_no_inline_code(store: Callable[..., None], browser: Any) -> None:
    store(holding())

    response = browser.get(f"{URL_PREFIX}/lineage", headers=HTML)
    markup = parse(response.text)

    assert response.status_code == 200
    assert "Signed in as <strong>gov-viewer</strong>" in response.text
    scripts = markup.find("script")
    assert [s.get("src") for s in scripts] == SCRIPTS
    assert all("defer" in s for s in scripts)
    assert markup.inline == [], "inline <script>/<style> bodies are refused by the CSP"
    assert markup.find("style") == []
    handlers = [(tag, name) for tag, attrs in markup.tags for name in attrs if name.startswith("on") or name == "style"]
    assert handlers == [], "inline handlers and style attributes are refused by the CSP"
    csp = response.headers["content-security-policy"]
    assert "script-src 'self'" in csp and "unsafe-eval" not in csp and "unsafe-inline" not in csp


@pytest.mark.parametrize("src", SCRIPTS)
def test_each_script_is_served_as_javascript_to_a_signed_in_user(browser: Any, src: str) -> None:
    response = browser.get(src)

    assert response.status_code == 200
    assert response.headers["content-type"].startswith(("text/javascript", "application/javascript"))
    assert response.headers["x-content-type-options"] == "nosniff"
    assert len(response.content) > 1000


def test_explorer_hands_the_lineage_api_paths_to_its_script(store: Callable[..., None], browser: Any) -> None:
    store(holding())

    root = explorer(parse(browser.get(f"{URL_PREFIX}/lineage").text))

    assert root["data-lineage-url"] == f"{URL_PREFIX}/api/v1/lineage"
    assert root["data-column-url"] == f"{URL_PREFIX}/api/v1/column-lineage"
    assert root["data-search-url"] == f"{URL_PREFIX}/api/lineage/search"
    assert root["data-impact-url"] == f"{URL_PREFIX}/api/lineage/impact"
    assert root["data-pii-url"] == f"{URL_PREFIX}/api/lineage/pii"
    assert root["data-default-node-id"] == START
    assert root["data-node-id"] == ""
    # Each path is routed to the lineage API (whose store, here, cannot be reached: 503, not 404).
    for key in ("data-lineage-url", "data-column-url", "data-impact-url", "data-pii-url"):
        assert browser.get(f"{root[key]}?nodeId={START}").status_code == 503, key
    assert browser.get(f"{root['data-search-url']}?q=orders").status_code == 503


def test_deep_link_opens_the_node_and_cannot_inject_markup(store: Callable[..., None], browser: Any) -> None:
    store(holding())
    hostile = 'dataset:x:"><script src=//evil.example/x.js></script>'

    linked = parse(browser.get(f"{URL_PREFIX}/lineage", params={"nodeId": START}).text)
    injected = parse(browser.get(f"{URL_PREFIX}/lineage", params={"nodeId": hostile}).text)

    assert explorer(linked)["data-node-id"] == START
    assert [s.get("src") for s in injected.find("script")] == SCRIPTS
    assert explorer(injected)["data-node-id"] == hostile


def test_explorer_says_what_the_store_holds(store: Callable[..., None], browser: Any) -> None:
    store(holding())

    html = browser.get(f"{URL_PREFIX}/lineage").text
    data = browser.get(f"{URL_PREFIX}/api/lineage").json()

    assert "The store holds 22 datasets and 16 jobs; latest event" in html
    assert "2026-11-22 03:15 UTC" in html
    assert data == {
        "has_events": True,
        "datasets": 22,
        "jobs": 16,
        "last_event_at": "2026-11-22T03:15:00Z",
        "start_node_id": START,
        "notice": None,
    }


def test_empty_store_explains_how_lineage_arrives_and_loads_no_script(store: Callable[..., None], browser: Any) -> None:
    store(LineageSummary(has_events=False, datasets=0, jobs=0, notice=lineage_routes.EMPTY_NOTICE, start_node_id=None))

    response = browser.get(f"{URL_PREFIX}/lineage")
    markup = parse(response.text)

    assert response.status_code == 200
    assert "No lineage yet" in response.text
    assert "How lineage arrives" in response.text
    assert f"POST {URL_PREFIX}/api/v1/lineage" in response.text
    assert "scrollintel_lineage" in response.text
    assert markup.find("script") == []
    assert browser.get(f"{URL_PREFIX}/api/lineage").json()["notice"] == lineage_routes.EMPTY_NOTICE


def test_unreachable_warehouse_is_a_503_panel_and_a_503_answer(store: Callable[..., None], browser: Any) -> None:
    store(None)

    page = browser.get(f"{URL_PREFIX}/lineage", headers=HTML)
    api = browser.get(f"{URL_PREFIX}/api/lineage")

    assert page.status_code == 503
    assert "The warehouse cannot be reached" in page.text
    assert "make status" in page.text
    assert "s3cret-pw" not in page.text
    assert parse(page.text).find("script") == []
    assert api.status_code == 503
    assert api.json()["detail"].startswith("The warehouse cannot be reached: ")
    assert "s3cret-pw" not in api.text


@pytest.mark.parametrize(
    ("path", "status"),
    [
        ("/static/vendor/README.md", 200),
        ("/static/vendor/cytoscape/LICENSE", 200),
        ("/static/vendor", 404),
        ("/static/vendor/cytoscape", 404),
        ("/static/vendor/..%2F..%2Froutes%2F__init__.py", 404),
        ("/static/vendor/%2E%2E/%2E%2E/auth.py", 404),
        ("/static/..%2F..%2F__init__.py", 404),
    ],
)
def test_static_route_serves_vendored_files_and_nothing_outside_static(browser: Any, path: str, status: int) -> None:
    assert browser.get(f"{URL_PREFIX}{path}").status_code == status
