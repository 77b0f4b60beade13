"""The Lineage page on a real lineage store: empty, missing, and holding the demo shop's lineage."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

import pytest

from scrollintel import migrate
from scrollintel.web import URL_PREFIX
from scrollintel.web.deps import lineage_store_url
from scrollintel.web.routes.lineage import EMPTY_NOTICE
from tests.integration.web.lineage_demo import build_demo_lineage, seed_store

if TYPE_CHECKING:
    from fastapi import FastAPI

pytestmark = pytest.mark.integration


@pytest.fixture
def point_at(web_app: FastAPI) -> Iterator[Callable[[str], None]]:
    """Point the page (and the lineage API) at a database for one test."""

    def _set(url: str) -> None:
        web_app.dependency_overrides[lineage_store_url] = lambda: url

    yield _set
    web_app.dependency_overrides.pop(lineage_store_url, None)
    from scrollintel.lineage.store import dispose_engines

    dispose_engines()


@pytest.fixture
def browser(client_factory: Callable[..., Any], make_token: Callable[..., str]) -> Any:
    return client_factory(cookie=make_token())


def test_an_empty_store_shows_how_lineage_arrives(
    pg_server: Any, point_at: Callable[[str], None], browser: Any
) -> None:
    url = pg_server.create_database()
    migrate.upgrade(url)
    point_at(url)

    page = browser.get(f"{URL_PREFIX}/lineage")
    data = browser.get(f"{URL_PREFIX}/api/lineage").json()

    assert page.status_code == 200
    assert "No lineage yet" in page.text and "How lineage arrives" in page.text
    assert 'id="si-lineage"' not in page.text
    assert data == {
        "has_events": False,
        "datasets": 0,
        "jobs": 0,
        "last_event_at": None,
        "start_node_id": None,
        "notice": EMPTY_NOTICE,
    }


def test_a_warehouse_without_the_lineage_tables_says_to_migrate(
    pg_server: Any, point_at: Callable[[str], None], browser: Any
) -> None:
    point_at(pg_server.create_database())

    page = browser.get(f"{URL_PREFIX}/lineage", headers={"Accept": "text/html"})
    api = browser.get(f"{URL_PREFIX}/api/lineage")

    assert page.status_code == 503
    assert "The lineage store does not exist yet" in page.text
    assert "scrollintel db upgrade" in page.text
    assert api.status_code == 503
    assert api.json()["detail"].startswith("The lineage store does not exist yet")


def test_a_store_with_the_demo_lineage_opens_on_its_most_connected_dataset(
    pg_server: Any, point_at: Callable[[str], None], browser: Any
) -> None:
    demo = build_demo_lineage()
    url = pg_server.create_database()
    migrate.upgrade(url)
    seed_store(url, demo)
    point_at(url)

    data = browser.get(f"{URL_PREFIX}/api/lineage").json()
    page = browser.get(f"{URL_PREFIX}/lineage")

    assert data["has_events"] is True
    assert (data["datasets"], data["jobs"]) == (len(demo.datasets), len(demo.jobs))
    assert data["last_event_at"] is not None and data["notice"] is None
    # marts.orders has a producer and two consumers: the widest view of source -> raw -> staging -> marts.
    assert data["start_node_id"] == demo.node_id("marts.orders")
    assert f'data-default-node-id="{demo.node_id("marts.orders")}"' in page.text
    assert f"The store holds {len(demo.datasets)} datasets and {len(demo.jobs)} jobs" in page.text
