"""The web layer's defences on a real, filled warehouse: role checks that write nothing, and a fuzz test.

The fuzz test walks every registered route of the app (mounted Marquez API included) with a
signed-in admin and sends Hypothesis-made values for each of its query and path parameters:
NUL bytes, over-long names, numbers past ``bigint``, traversal, unicode. No answer may be a 5xx
or name the database's host and port. The same checks without a database:
tests/unit/web/test_security.py.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, get_args, get_origin
from urllib.parse import quote, urlsplit

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from scrollintel import audit
from scrollintel.web import URL_PREFIX
from scrollintel.web.deps import lineage_store_url, warehouse_url
from tests.integration.web.lineage_demo import build_demo_lineage, seed_quality, seed_store

if TYPE_CHECKING:
    from fastapi import FastAPI
    from starlette.routing import BaseRoute

pytestmark = pytest.mark.integration

T0 = datetime(2026, 11, 1, 9, 0, tzinfo=UTC)
SAME_ORIGIN = {"Sec-Fetch-Site": "same-origin"}
#: Examples over all routes together; with a filled ledger and store this takes ~15-30 s on 2 cores.
FUZZ_EXAMPLES = 400
FUZZ_BUDGET_S = 60


@pytest.fixture
def warehouse(new_ledger_url: Callable[[], str], ledger_state: Path, web_app: FastAPI) -> Iterator[tuple[str, Any]]:
    """A migrated warehouse with audit entries, the demo shop's lineage and a quality run; the app points at it."""
    from scrollintel.lineage.store import dispose_engines

    url = new_ledger_url()
    audit.record_many(
        [
            audit.AuditEvent(
                "quality.gate_passed",
                f"dataset:marts.d{i}",
                {"i": i},
                actor="dag:quality",
                at=T0 + timedelta(minutes=i),
            )
            for i in range(12)
        ],
        url=url,
    )
    demo = build_demo_lineage()
    seed_store(url, demo)
    seed_quality(url)
    web_app.dependency_overrides[warehouse_url] = lambda: url
    web_app.dependency_overrides[lineage_store_url] = lambda: url
    yield url, demo
    web_app.dependency_overrides.pop(warehouse_url, None)
    web_app.dependency_overrides.pop(lineage_store_url, None)
    dispose_engines()


def _verifications(url: str) -> int:
    import psycopg

    from scrollintel import db

    with psycopg.connect(url.replace(db.DRIVER, "postgresql")) as conn:
        row = conn.execute("SELECT count(*) FROM governance.audit_verification").fetchone()
    return int(row[0]) if row else 0


# -- 5. a refused verification writes nothing ---------------------------------------------------------


@pytest.mark.parametrize(("role", "allowed"), [("viewer", False), ("user", False), ("op", True), ("admin", True)])
def test_only_operators_run_the_verification_and_a_refusal_writes_no_row(
    warehouse: tuple[str, Any],
    client_factory: Callable[..., Any],
    make_token: Callable[..., str],
    role: str,
    allowed: bool,
) -> None:
    url, _ = warehouse
    browser = client_factory(cookie=make_token(username=f"gov-{role}", role=role))
    api = client_factory(bearer=make_token(username=f"gov-{role}", role=role))

    page = browser.post(f"{URL_PREFIX}/audit/verify", headers=SAME_ORIGIN, follow_redirects=False)
    answer = api.post(f"{URL_PREFIX}/api/audit/verify")

    if allowed:
        assert (page.status_code, answer.status_code) == (303, 200), answer.text
        assert answer.json()["ok"] is True
        assert _verifications(url) == 2
    else:
        assert (page.status_code, answer.status_code) == (403, 403)
        assert "needs the right to edit the Airflow connection postgres_warehouse" in answer.json()["detail"]
        assert _verifications(url) == 0


def test_a_cross_site_cookie_post_writes_no_row(
    warehouse: tuple[str, Any], client_factory: Callable[..., Any], make_token: Callable[..., str]
) -> None:
    url, _ = warehouse
    admin = client_factory(cookie=make_token(role="admin"))

    response = admin.post(f"{URL_PREFIX}/api/audit/verify", headers={"Origin": "https://evil.example"})

    assert response.status_code == 403
    assert _verifications(url) == 0


# -- 7. the reported values on a real database ---------------------------------------------------------

REPORTED = [
    ("/api/audit/entries?actor=%00", "actor"),
    ("/api/audit/entries?action=a%00", "action"),
    ("/api/audit/entries?subject=%00*", "subject"),
    ("/audit?actor=%00", "actor"),
    ("/api/lineage/search?q=%00", "q"),
    ("/api/lineage/search?q=orders&namespace=%00", "namespace"),
    ("/api/v1/namespaces?offset=9223372036854775808", "offset"),
    ("/api/v1/namespaces/postgres%3A%2F%2Fwarehouse%3A5432/datasets?offset=9223372036854775808", "offset"),
    ("/static/%00", "filename"),
    ("/quality/docs/%00", "path"),
]


def test_the_reported_values_are_400_naming_the_parameter(
    warehouse: tuple[str, Any], client_factory: Callable[..., Any], make_token: Callable[..., str]
) -> None:
    url, _ = warehouse
    client = client_factory(bearer=make_token(role="admin"))
    where = urlsplit(url)

    for path, name in REPORTED:
        response = client.get(f"{URL_PREFIX}{path}")
        assert response.status_code == 400, (path, response.text)
        assert f"parameter {name!r}" in response.json()["detail"], path
        assert f"{where.hostname}:{where.port}" not in response.text and str(where.port) not in response.text


# -- 7. fuzz: every route, every parameter ------------------------------------------------------------

ODD_TEXT = [
    "",
    "\x00",
    "a\x00b",
    "*",
    "%",
    "%00",
    "..",
    "../../etc/passwd",
    "..%2F..%2Fetc%2Fpasswd",
    "\\",
    "' OR 1=1 --",
    "dataset:",
    "job::",
    "dataset:postgres://warehouse:5432:marts.orders",
    "2026-11-01",
    "2026-13-45T99:99",
    "9999-12-31T23:59:59+14:00",
    "0001-01-01",
    "1e309",
    "NaN",
    "true",
    "x" * 300,
    "y" * 5000,
    "\U0001f4a5",
    "\ud7ff\ufffe",
]
ODD_NUMBERS = [0, -1, 1, 2**31, 2**63 - 1, 2**63, -(2**63) - 1, 10**30]


def _text() -> st.SearchStrategy[str]:
    return st.one_of(
        st.sampled_from(ODD_TEXT),
        st.text(max_size=30),
        st.integers().map(str),
        st.sampled_from(ODD_NUMBERS).map(str),
    )


@dataclass(frozen=True)
class Param:
    """A query or path parameter of a route: its name on the wire, and the values worth trying."""

    name: str
    where: Literal["query", "path"]
    values: st.SearchStrategy[str]
    slashes: bool = False


@dataclass(frozen=True)
class Endpoint:
    """One method and path template of the app, with its parameters."""

    method: str
    path: str
    params: tuple[Param, ...]


def _values(annotation: object, known: list[str]) -> st.SearchStrategy[str]:
    """Hostile text always; the declared choices (Literal) and real node ids too, to get past validation."""
    choices: list[str] = list(known)
    for arg in (annotation, *get_args(annotation)):
        if get_origin(arg) is Literal:
            choices += [str(choice) for choice in get_args(arg)]
    return st.one_of(_text(), st.sampled_from(choices)) if choices else _text()


def _endpoints(routes: list[BaseRoute], known: list[str], prefix: str = "") -> Iterator[Endpoint]:
    from fastapi.dependencies.utils import get_flat_dependant
    from fastapi.routing import APIRoute
    from starlette.routing import Mount, Route

    for route in routes:
        if isinstance(route, Mount):
            yield from _endpoints(getattr(route.app, "routes", []), known, prefix + route.path)
        elif isinstance(route, APIRoute):
            flat = get_flat_dependant(route.dependant)
            params = [
                Param(field.alias, "query", _values(field.field_info.annotation, known)) for field in flat.query_params
            ]
            params += [
                Param(
                    field.alias,
                    "path",
                    _values(field.field_info.annotation, known),
                    slashes=f"{{{field.alias}:path}}" in route.path,
                )
                for field in flat.path_params
            ]
            for method in sorted(route.methods):
                yield Endpoint(method, prefix + route.path, tuple(params))
        elif isinstance(route, Route):  # the single-event lineage POST: a body, no parameters
            for method in sorted(route.methods or {"GET"}):
                yield Endpoint(method, prefix + route.path, ())


@st.composite
def _requests(draw: st.DrawFn, endpoints: list[Endpoint]) -> tuple[Endpoint, str, dict[str, str]]:
    """An endpoint, its path with drawn path parameters, and a drawn subset of its query parameters."""
    endpoint = draw(st.sampled_from(endpoints))
    path = endpoint.path
    query: dict[str, str] = {}
    for param in endpoint.params:
        if param.where == "path":
            value = draw(param.values)
            template = f"{{{param.name}:path}}" if param.slashes else f"{{{param.name}}}"
            path = path.replace(template, quote(value, safe="/" if param.slashes else ""))
        elif draw(st.booleans()):
            query[param.name] = draw(param.values)
    return endpoint, path, query


def test_no_route_answers_5xx_or_shows_the_database_address(
    warehouse: tuple[str, Any], web_app: FastAPI, client_factory: Callable[..., Any], make_token: Callable[..., str]
) -> None:
    url, demo = warehouse
    where = urlsplit(url)
    address = (f"{where.hostname}:{where.port}", f'"{where.hostname}", port {where.port}')
    known = [demo.node_id(short) for short in list(demo.datasets)[:3]] + ["postgres://warehouse:5432", "scrollintel"]
    endpoints = list(_endpoints(web_app.routes, known))
    assert len(endpoints) >= 25, "the route walk lost the app's routes"
    admin = client_factory(bearer=make_token(username="gov-admin", role="admin"))
    started = time.monotonic()
    seen: set[tuple[str, str]] = set()

    def check(request: tuple[Endpoint, str, dict[str, str]]) -> None:
        endpoint, path, query = request
        method = endpoint.method
        response = admin.request(method, f"{URL_PREFIX}{path}", params=query, headers=SAME_ORIGIN)
        seen.add((method, endpoint.path))
        assert response.status_code < 500, f"{method} {path} {query!r} -> {response.status_code}: {response.text[:300]}"
        for text in address:
            assert text not in response.text, f"{method} {path} {query!r} shows the database address"
        assert "Traceback" not in response.text

    # Every route gets its share of the examples (sampling routes at random would leave some untried).
    for endpoint in endpoints:
        settings(
            max_examples=max(4, FUZZ_EXAMPLES // len(endpoints)),
            deadline=None,
            database=None,
            derandomize=True,
            suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
        )(given(request=_requests([endpoint]))(check))()

    assert time.monotonic() - started < FUZZ_BUDGET_S
    assert seen == {(endpoint.method, endpoint.path) for endpoint in endpoints}, "some routes were never tried"
