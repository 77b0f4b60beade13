"""Every route of the governance web app requires an Airflow user: browser cookie or bearer token."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

import pytest

from scrollintel.web import URL_PREFIX
from scrollintel.web.pages import PAGES
from tests.unit.web.helpers import REFUSED

if TYPE_CHECKING:
    from fastapi import FastAPI
    from starlette.routing import BaseRoute

pytestmark = pytest.mark.unit

PAGE_PATHS = ["/", *(p.path for p in PAGES)]
API_PATHS = ["/api", *(p.api_path for p in PAGES)]
EMPTY_NOTICES = {
    "approvals": "No approval requests yet.",
    "audit": "No audit records yet",
    "lineage": "No lineage yet",
    "cost": "No cost data yet",
}
PATH_PARAM = re.compile(r"{[^}]+}")
#: The Audit, Quality, Lineage, Model, Cost and Compliance pages read the warehouse; here it points at a closed
#: port, so they show their "cannot be reached" panel (503). Their data and empty states: tests/integration/web/,
#: tests/integration/cost/ and tests/integration/compliance/.
UNREACHABLE_WAREHOUSE = "postgresql+psycopg://nobody@127.0.0.1:9/warehouse"
PAGE_STATUS = {path: 503 for path in ("/audit", "/quality", "/lineage", "/model", "/cost", "/compliance")}


@pytest.fixture(autouse=True)
def _audit_warehouse_unreachable(web_app: FastAPI) -> Iterator[None]:
    """Keep these tests off any real warehouse (e.g. a running platform's)."""
    from scrollintel.web.deps import lineage_store_url, warehouse_url

    web_app.dependency_overrides[warehouse_url] = lambda: UNREACHABLE_WAREHOUSE
    web_app.dependency_overrides[lineage_store_url] = lambda: UNREACHABLE_WAREHOUSE
    yield
    web_app.dependency_overrides.pop(warehouse_url, None)
    web_app.dependency_overrides.pop(lineage_store_url, None)


def _probes(routes: list[BaseRoute], prefix: str = "") -> Iterator[tuple[str, str]]:
    """Yield (method, path) for every HTTP endpoint reachable through ``routes``, mounts included."""
    from starlette.routing import Host, Mount, Route, WebSocketRoute

    for route in routes:
        if isinstance(route, Mount):
            mount_path = prefix + PATH_PARAM.sub("probe", route.path)
            sub_routes = getattr(route.app, "routes", None)
            if sub_routes is None:
                # An arbitrary ASGI app (StaticFiles, a WSGI bridge...): probe a path inside it.
                yield "GET", f"{mount_path}/probe"
            else:
                yield from _probes(sub_routes, mount_path)
        elif isinstance(route, Route):
            path = prefix + PATH_PARAM.sub("probe", route.path)
            for method in sorted(route.methods or {"GET"}):
                yield method, path
        elif isinstance(route, (WebSocketRoute, Host)):
            raise AssertionError(f"{route!r}: add a probe for this route type before adding such a route")
        else:
            raise AssertionError(f"{route!r}: unknown route type, add a probe for it")


def unprotected_routes(app: FastAPI, client: Any) -> list[str]:
    """Request every endpoint of ``app`` without credentials; return those that did not refuse."""
    probes = list(_probes(app.routes))
    assert probes, "found no routes to probe"
    failures = []
    for method, path in probes:
        response = client.request(method, path)
        if response.status_code not in (401, 403):
            failures.append(f"{method} {path} -> {response.status_code}")
    return failures


def test_every_route_refuses_an_anonymous_request(web_app: FastAPI) -> None:
    from fastapi.testclient import TestClient

    probed = {path for _, path in _probes(web_app.routes)}
    assert {*PAGE_PATHS, *API_PATHS, "/static/probe"} <= probed, "the route walk misses known pages"
    with TestClient(web_app) as client:
        assert unprotected_routes(web_app, client) == []


def test_route_check_catches_a_route_added_without_auth(auth_manager: Any) -> None:
    """The check above must fail when someone adds a route that skips the app-level dependency."""
    from fastapi.testclient import TestClient
    from starlette.responses import PlainTextResponse
    from starlette.staticfiles import StaticFiles

    from scrollintel.web import create_app
    from scrollintel.web.routes.static import STATIC_DIR

    app = create_app()
    app.add_route("/open", lambda request: PlainTextResponse("open"))
    app.mount("/files", StaticFiles(directory=STATIC_DIR))
    with TestClient(app) as client:
        failures = unprotected_routes(app, client)
    assert failures == ["GET /open -> 200", "HEAD /open -> 200", "GET /files/probe -> 404"]


def _route_templates(routes: list[BaseRoute], prefix: str = "") -> Iterator[tuple[str, str]]:
    """(method, path template) of every endpoint, mounted apps included, as ROUTE_PERMISSIONS names them."""
    from starlette.routing import Mount, Route

    for route in routes:
        if isinstance(route, Mount):
            yield from _route_templates(getattr(route.app, "routes", []), prefix + route.path)
        elif isinstance(route, Route):
            for method in route.methods or {"GET"}:
                yield method, prefix + route.path
        else:
            raise AssertionError(f"{route!r}: teach this walk the route type")


def test_every_state_changing_route_has_exactly_one_line_in_the_permission_table(web_app: FastAPI) -> None:
    """Each role's status per line of the table: tests/unit/web/test_security.py."""
    from scrollintel.web.deps import ROUTE_PERMISSIONS, SAFE_METHODS

    changing = {(method, path) for method, path in _route_templates(web_app.routes) if method not in SAFE_METHODS}

    assert changing, "found no state-changing route: the walk is broken"
    assert changing == set(ROUTE_PERMISSIONS), "ROUTE_PERMISSIONS must list every state-changing route, and only those"


def test_every_route_resolves_the_user_with_airflows_get_user(web_app: FastAPI) -> None:
    from airflow.api_fastapi.core_api.security import get_user
    from fastapi.routing import APIRoute

    routes = [r for r in web_app.routes if isinstance(r, APIRoute)]
    assert routes
    for route in routes:
        # The app-level dependency comes first and is Airflow's ``requires_access_view`` closure.
        app_level = route.dependant.dependencies[0]
        assert app_level.call is not None
        assert app_level.call.__qualname__ == "requires_access_view.<locals>.inner", route.path
        assert get_user in [sub.call for sub in app_level.dependencies], route.path


@pytest.mark.parametrize("credential", ["cookie", "bearer"])
@pytest.mark.parametrize("path", PAGE_PATHS)
def test_pages_show_the_signed_in_user(
    client_factory: Callable[..., Any], make_token: Callable[..., str], credential: str, path: str
) -> None:
    token = make_token(username="gov-viewer")
    client = client_factory(**{credential: token})

    response = client.get(f"{URL_PREFIX}{path}")

    assert response.status_code == PAGE_STATUS.get(path, 200), response.text
    assert response.headers["content-type"].startswith("text/html")
    assert "Signed in as <strong>gov-viewer</strong>" in response.text
    # Links carry the mount prefix, so they work inside the Airflow UI's iframe.
    for page in PAGES:
        assert f'href="{URL_PREFIX}{page.path}"' in response.text
    assert f'href="{URL_PREFIX}/static/scrollintel.css"' in response.text


DB_FREE_PAGES = [p for p in PAGES if p.slug not in ("audit", "quality", "lineage", "model", "cost", "compliance")]


@pytest.mark.parametrize("page", DB_FREE_PAGES, ids=[p.slug for p in DB_FREE_PAGES])
def test_pages_show_an_honest_empty_state(
    client_factory: Callable[..., Any], make_token: Callable[..., str], page: Any
) -> None:
    client = client_factory(cookie=make_token())

    html = client.get(f"{URL_PREFIX}{page.path}").text
    data = client.get(f"{URL_PREFIX}{page.api_path}").json()

    assert EMPTY_NOTICES[page.slug] in html
    assert EMPTY_NOTICES[page.slug] in data["notice"]
    assert f'aria-current="page">{page.title.replace("&", "&amp;")}</a>' in html
    assert "<table" not in html


def test_json_endpoints_return_empty_collections_with_a_clear_shape(
    client_factory: Callable[..., Any], make_token: Callable[..., str]
) -> None:
    client = client_factory(bearer=make_token())

    bodies = {path: client.get(f"{URL_PREFIX}{path}").json() for path in API_PATHS}

    assert bodies["/api/approvals"] == {"pending": [], "answered": [], "notice": bodies["/api/approvals"]["notice"]}
    assert bodies["/api/approvals"]["notice"].startswith(EMPTY_NOTICES["approvals"])
    unreachable = "The warehouse cannot be reached: " + REFUSED
    assert bodies["/api/audit"]["detail"] == unreachable
    assert bodies["/api/quality"]["detail"] == unreachable
    assert bodies["/api/model"]["detail"] == unreachable
    assert bodies["/api/lineage"]["detail"].startswith("The warehouse cannot be reached: ")
    assert bodies["/api/cost"]["detail"] == unreachable
    assert bodies["/api/compliance"]["detail"] == unreachable
    index = bodies["/api"]
    assert index["user"] == "gov-viewer"
    assert [(p["title"], p["href"], p["api_href"]) for p in index["pages"]] == [
        (p.title, f"{URL_PREFIX}{p.path}", f"{URL_PREFIX}{p.api_path}") for p in PAGES
    ]


def test_stylesheet_is_served_to_a_signed_in_user_only(
    client_factory: Callable[..., Any], make_token: Callable[..., str]
) -> None:
    anonymous = client_factory().get(f"{URL_PREFIX}/static/scrollintel.css")
    signed_in = client_factory(cookie=make_token())

    css = signed_in.get(f"{URL_PREFIX}/static/scrollintel.css")

    assert anonymous.status_code == 401
    assert css.status_code == 200
    assert css.headers["content-type"].startswith("text/css")
    assert "prefers-color-scheme: dark" in css.text
    assert "url(" not in css.text and "@import" not in css.text  # nothing fetched from elsewhere
    assert signed_in.get(f"{URL_PREFIX}/static/missing.css").status_code == 404
    assert signed_in.get(f"{URL_PREFIX}/static/..%2F__init__.py").status_code == 404


def test_missing_token_is_401_as_json_for_clients_and_html_for_browsers(client_factory: Callable[..., Any]) -> None:
    client = client_factory()

    api = client.get(f"{URL_PREFIX}/api/approvals")
    page = client.get(f"{URL_PREFIX}/approvals", headers={"Accept": "text/html,application/xhtml+xml"})

    assert api.status_code == 401
    assert api.json() == {"detail": "Not authenticated"}
    assert page.status_code == 401
    assert "Sign in to Airflow first" in page.text
    assert "No approval requests" not in page.text


@pytest.mark.parametrize("credential", ["cookie", "bearer"])
def test_expired_token_is_401(
    client_factory: Callable[..., Any], make_token: Callable[..., str], credential: str
) -> None:
    expired = make_token(expires_in=-120)  # past Airflow's default 10 s leeway

    response = client_factory(**{credential: expired}).get(f"{URL_PREFIX}/api/approvals")

    assert response.status_code == 401
    assert response.json() == {"detail": "Token Expired"}


def _forged_tokens() -> dict[str, str]:
    import secrets

    import jwt
    from airflow.api_fastapi.auth.tokens import JWTGenerator

    claims = {"sub": "gov-viewer", "role": "admin", "aud": "apache-airflow"}
    return {
        "wrong-secret": JWTGenerator(
            secret_key=secrets.token_urlsafe(64), valid_for=300, audience="apache-airflow"
        ).generate({"sub": "gov-viewer", "role": "admin"}),
        "alg-none": jwt.encode(claims, key="", algorithm="none"),
        "garbage": "not-a-jwt",
    }


@pytest.mark.parametrize("credential", ["cookie", "bearer"])
@pytest.mark.parametrize("kind", ["wrong-secret", "alg-none", "garbage"])
def test_forged_token_is_refused(
    client_factory: Callable[..., Any], auth_manager: Any, credential: str, kind: str
) -> None:
    """Airflow answers an invalid JWT with 403 "Invalid JWT token" (401 is for a missing or expired one)."""
    token = _forged_tokens()[kind]

    response = client_factory(**{credential: token}).get(f"{URL_PREFIX}/api/approvals")

    assert response.status_code == 403
    assert response.json() == {"detail": "Invalid JWT token"}


def test_revoked_token_is_refused(
    client_factory: Callable[..., Any], make_token: Callable[..., str], auth_manager: Any
) -> None:
    token = make_token()
    client = client_factory(bearer=token)
    assert client.get(f"{URL_PREFIX}/api/approvals").status_code == 200

    auth_manager.revoke_token(token)  # what Airflow's logout does

    assert client.get(f"{URL_PREFIX}/api/approvals").status_code == 403


def test_user_without_ui_access_is_403(client_factory: Callable[..., Any], make_token: Callable[..., str]) -> None:
    token = make_token(username="no-role", role=None)

    response = client_factory(bearer=token).get(f"{URL_PREFIX}/approvals")

    assert response.status_code == 403
    assert response.json() == {"detail": "Forbidden"}


def test_bearer_header_wins_over_the_cookie(client_factory: Callable[..., Any], make_token: Callable[..., str]) -> None:
    client = client_factory(cookie=make_token(), bearer=_forged_tokens()["wrong-secret"])

    assert client.get(f"{URL_PREFIX}/api/approvals").status_code == 403


def test_responses_may_only_be_framed_by_airflow(
    client_factory: Callable[..., Any], make_token: Callable[..., str]
) -> None:
    response = client_factory(cookie=make_token()).get(f"{URL_PREFIX}/approvals")

    csp = response.headers["content-security-policy"]
    assert "frame-ancestors 'self'" in csp
    assert "script-src 'self'" in csp
    assert response.headers["x-content-type-options"] == "nosniff"
