"""The web layer's defences: permissions of state-changing routes, cross-site posts, odd parameter values, Host.

Without a database (the warehouse is a closed port): a request the defences let through reaches
the route and gets its "cannot be reached" answer (503) or its own validation error (400), one
they stop gets 403 or 400 before any work. The same routes on a real database, and a fuzz test
over every route: tests/integration/web/test_security.py.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from scrollintel.web import URL_PREFIX
from scrollintel.web.deps import (
    APPROVALS_ANSWER,
    AUDIT_VERIFY,
    COMPLIANCE_EVIDENCE,
    COMPLIANCE_SUBJECT,
    LINEAGE_WRITE,
    MAX_BIGINT,
    ROUTE_PERMISSIONS,
    Permission,
    check_route_permissions,
    lineage_store_url,
    warehouse_url,
)
from tests.unit.web.helpers import UNREACHABLE

if TYPE_CHECKING:
    from fastapi import FastAPI

pytestmark = pytest.mark.unit

ROLES = ("viewer", "user", "op", "admin")
#: Which roles each permission lets through: the table of ADR 0004 and the README.
ALLOWED_ROLES: dict[str, set[str]] = {
    AUDIT_VERIFY.name: {"op", "admin"},
    LINEAGE_WRITE.name: {"user", "op", "admin"},
    APPROVALS_ANSWER.name: {"user", "op", "admin"},
    COMPLIANCE_SUBJECT.name: {"op", "admin"},
    COMPLIANCE_EVIDENCE.name: {"op", "admin"},
}
SAME_ORIGIN = {"Sec-Fetch-Site": "same-origin"}
EVIL = "https://evil.example"


@dataclass(frozen=True)
class Call:
    """How to call a state-changing route, and what it answers once the defences let the caller through."""

    body: Any
    passed: int


#: One request per line of ROUTE_PERMISSIONS. With the warehouse unreachable the verification
#: answers 503; an empty lineage event or batch is invalid (400) before the store is touched.
CALLS = {
    ("POST", "/audit/verify"): Call(None, 503),
    ("POST", "/api/audit/verify"): Call(None, 503),
    # an answer without its form fields is refused before anything is asked of Airflow
    ("POST", "/approvals/answer"): Call({}, 422),
    # an empty form is a message on the page, which then cannot read the unreachable warehouse (503 panel)
    ("POST", "/compliance/find"): Call({}, 503),
    ("POST", "/compliance/requests"): Call({}, 503),
    ("POST", "/compliance/evidence"): Call({}, 503),
    ("POST", "/api/v1/lineage"): Call({}, 400),
    ("POST", "/api/v1/lineage/batch"): Call({}, 400),
    # Marquez's deprecated resource writes: refused with 405 once the writer is known.
    ("PUT", "/api/v1/namespaces/{path:path}"): Call({}, 405),
    ("POST", "/api/v1/namespaces/{path:path}"): Call({}, 405),
    ("PUT", "/api/v1/sources/{path:path}"): Call({}, 405),
    ("PUT", "/api/v1/tags/{path:path}"): Call({}, 405),
    ("POST", "/api/v1/jobs/runs/{path:path}"): Call({}, 405),
}


#: The lines of the table for routes an Airflow user calls (the others verify a signature: SLACK_SIGNATURE).
AIRFLOW_LINES = sorted(line for line, permission in ROUTE_PERMISSIONS.items() if permission.airflow_user)
SIGNED_LINES = sorted(line for line, permission in ROUTE_PERMISSIONS.items() if not permission.airflow_user)


@pytest.fixture(autouse=True)
def _warehouse_unreachable(web_app: FastAPI) -> Iterator[None]:
    web_app.dependency_overrides[warehouse_url] = lambda: UNREACHABLE
    web_app.dependency_overrides[lineage_store_url] = lambda: UNREACHABLE
    yield
    web_app.dependency_overrides.pop(warehouse_url, None)
    web_app.dependency_overrides.pop(lineage_store_url, None)


@pytest.fixture(autouse=True)
def _no_lineage_api_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AIRFLOW_CONN_SCROLLINTEL_LINEAGE", raising=False)


def _send(client: Any, method: str, path: str, headers: dict[str, str] | None = None) -> Any:
    call = CALLS[(method, path)]
    return client.request(method, f"{URL_PREFIX}{path}", json=call.body, headers=headers or {}, follow_redirects=False)


# -- 5. permissions of state-changing routes ------------------------------------------------------


def test_every_request_of_this_module_has_a_line_in_the_permission_table() -> None:
    """The walk over every registered route against the table is in test_auth.py."""
    assert set(CALLS) == set(AIRFLOW_LINES), "add a request for the new route to CALLS"
    assert {ROUTE_PERMISSIONS[line].name for line in AIRFLOW_LINES} <= set(ALLOWED_ROLES)
    assert SIGNED_LINES == [("POST", "/slack/interactivity")]


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("credential", ["cookie", "bearer"])
def test_an_airflow_login_does_not_open_a_signed_route(
    client_factory: Callable[..., Any], make_token: Callable[..., str], role: str, credential: str
) -> None:
    """Slack's endpoint knows no Airflow user: even an admin's token without Slack's signature is 401."""
    client = client_factory(**{credential: make_token(username=f"gov-{role}", role=role)})

    for method, path in SIGNED_LINES:
        response = client.request(method, f"{URL_PREFIX}{path}", content=b"payload=%7B%7D", headers=SAME_ORIGIN)
        assert response.status_code == 401, response.text


@pytest.mark.parametrize(("method", "path"), AIRFLOW_LINES, ids=" ".join)
@pytest.mark.parametrize("role", ROLES)
def test_each_role_gets_exactly_the_status_of_the_table(
    client_factory: Callable[..., Any], make_token: Callable[..., str], method: str, path: str, role: str
) -> None:
    permission = ROUTE_PERMISSIONS[(method, path)]
    client = client_factory(cookie=make_token(username=f"gov-{role}", role=role))

    response = _send(client, method, path, SAME_ORIGIN)

    if role in ALLOWED_ROLES[permission.name]:
        assert response.status_code == CALLS[(method, path)].passed, response.text
    else:
        assert response.status_code == 403, response.text
        assert response.json() == {"detail": f"Forbidden: {permission.action} needs {permission.needs}"}


@pytest.mark.parametrize(
    "permission", [AUDIT_VERIFY, LINEAGE_WRITE, COMPLIANCE_SUBJECT, COMPLIANCE_EVIDENCE], ids=lambda p: p.name
)
def test_permissions_follow_the_default_fab_roles(permission: Permission) -> None:
    """The platform runs the FAB auth manager: its default roles give each permission to the same roles."""
    from airflow.providers.fab.auth_manager.fab_auth_manager import FabAuthManager
    from airflow.providers.fab.auth_manager.security_manager.override import (
        FabAirflowSecurityManagerOverride as FabSecurityManager,
    )

    class RoleUser:
        """A FAB user reduced to what the auth manager reads: its role's permissions."""

        def __init__(self, perms: list[tuple[str, str]]) -> None:
            self.perms = set(perms)

    manager = FabAuthManager()
    allowed = {
        config["role"].lower()
        for config in FabSecurityManager.ROLE_CONFIGS
        if permission.is_authorized(manager, RoleUser(config["perms"]))  # type: ignore[arg-type]
    }

    assert allowed == ALLOWED_ROLES[permission.name]


def test_a_state_changing_route_without_a_permission_is_refused(auth_manager: Any, make_token: Any) -> None:
    """Added after the app was built (so the build check did not see it): refused, not run."""
    from fastapi.testclient import TestClient

    from scrollintel.web import create_app

    app = create_app()
    ran = []

    @app.post("/api/forgotten")
    def forgotten() -> dict[str, str]:
        ran.append(True)
        return {"done": "yes"}

    with TestClient(app) as client:
        response = client.post("/api/forgotten", headers={"Authorization": f"Bearer {make_token(role='admin')}"})

    assert response.status_code == 403
    assert response.json() == {
        "detail": "Forbidden: POST /api/forgotten names no permission in scrollintel.web.deps.ROUTE_PERMISSIONS"
    }
    assert ran == []
    with pytest.raises(RuntimeError, match=r"without a permission in .*ROUTE_PERMISSIONS: POST /api/forgotten"):
        check_route_permissions(app.routes)


# -- 6. cross-site posts with the UI cookie ---------------------------------------------------------

ORIGIN_CASES = {
    "no Sec-Fetch-Site, Origin of another site": ({"Origin": EVIL}, "its Origin 'https://evil.example'"),
    "no header at all": ({}, "it carries none of Sec-Fetch-Site, Origin or Referer"),
    "Origin null": ({"Origin": "null"}, "its Origin 'null'"),
    "Referer of another site": ({"Referer": f"{EVIL}/form.html"}, "its Referer 'https://evil.example/form.html'"),
    "Sec-Fetch-Site cross-site": ({"Sec-Fetch-Site": "cross-site"}, "the browser marks it Sec-Fetch-Site: cross-site"),
    "Sec-Fetch-Site same-site": ({"Sec-Fetch-Site": "same-site"}, "the browser marks it Sec-Fetch-Site: same-site"),
    "same-site Sec-Fetch-Site wins over our Origin": (
        {"Sec-Fetch-Site": "same-site", "Origin": "http://testserver"},
        "the browser marks it Sec-Fetch-Site: same-site",
    ),
    "Origin on another port": ({"Origin": "http://testserver:8080"}, "its Origin 'http://testserver:8080'"),
}


@pytest.mark.parametrize(("method", "path"), AIRFLOW_LINES, ids=" ".join)
@pytest.mark.parametrize("case", ORIGIN_CASES)
def test_a_cookie_post_not_from_our_pages_is_refused(
    client_factory: Callable[..., Any], make_token: Callable[..., str], method: str, path: str, case: str
) -> None:
    headers, reason = ORIGIN_CASES[case]
    client = client_factory(cookie=make_token(role="admin"))

    response = _send(client, method, path, headers)

    assert response.status_code == 403, response.text
    detail = response.json()["detail"]
    assert detail.startswith(f"Cross-site request refused: {reason}")
    assert detail.endswith("or send API calls with an Authorization: Bearer token.")


SAME_SITE_CASES = {
    "Sec-Fetch-Site same-origin": SAME_ORIGIN,
    "our Origin": {"Origin": "http://testserver"},
    "our Origin, default port spelled out": {"Origin": "http://TestServer:80"},
    "our Referer without Origin": {"Referer": "http://testserver/scrollintel/audit?actor=admin"},
}


@pytest.mark.parametrize(("method", "path"), AIRFLOW_LINES, ids=" ".join)
@pytest.mark.parametrize("case", SAME_SITE_CASES)
def test_a_cookie_post_from_our_pages_passes(
    client_factory: Callable[..., Any], make_token: Callable[..., str], method: str, path: str, case: str
) -> None:
    client = client_factory(cookie=make_token(role="admin"))

    response = _send(client, method, path, SAME_SITE_CASES[case])

    assert response.status_code == CALLS[(method, path)].passed, response.text


@pytest.mark.parametrize(("method", "path"), AIRFLOW_LINES, ids=" ".join)
def test_bearer_calls_are_not_checked_for_origin(
    client_factory: Callable[..., Any], make_token: Callable[..., str], method: str, path: str
) -> None:
    client = client_factory(bearer=make_token(role="admin"))

    response = _send(client, method, path, {"Origin": EVIL, "Sec-Fetch-Site": "cross-site"})

    assert response.status_code == CALLS[(method, path)].passed, response.text


def test_behind_a_proxy_the_origin_is_the_configured_base_url(
    client_factory: Callable[..., Any], make_token: Callable[..., str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AIRFLOW__API__BASE_URL", "https://airflow.example.com/")
    client = client_factory(cookie=make_token(role="admin"))

    ours = _send(client, "POST", "/api/audit/verify", {"Origin": "https://airflow.example.com"})
    internal = _send(client, "POST", "/api/audit/verify", {"Origin": "http://testserver"})

    assert ours.status_code == 503
    assert internal.status_code == 403
    assert "its Origin 'http://testserver' is not this site (https://airflow.example.com)" in internal.json()["detail"]


def test_the_verify_form_of_another_site_gets_the_refusal_page(
    client_factory: Callable[..., Any], make_token: Callable[..., str]
) -> None:
    client = client_factory(cookie=make_token(role="op"))

    response = client.post(
        f"{URL_PREFIX}/audit/verify", headers={"Origin": EVIL, "Accept": "text/html"}, follow_redirects=False
    )

    assert response.status_code == 403
    assert "Not allowed" in response.text and "Cross-site request refused" in response.text


# -- 7. odd parameter values: 400/404, never 5xx, never the database's address -----------------------

BAD_VALUES = [
    ("/api/audit/entries?actor=a%00b", "query", "actor", "contains a NUL byte"),
    ("/api/audit/entries?action=%00", "query", "action", "contains a NUL byte"),
    ("/api/audit/entries?subject=x%00*", "query", "subject", "contains a NUL byte"),
    ("/audit?actor=%00", "query", "actor", "contains a NUL byte"),
    ("/api/audit/export.csv?since=2026%00", "query", "since", "contains a NUL byte"),
    ("/api/lineage/search?q=or%00ders", "query", "q", "contains a NUL byte"),
    ("/api/lineage/search?q=orders&namespace=%00", "query", "namespace", "contains a NUL byte"),
    ("/api/v1/search?q=%00", "query", "q", "contains a NUL byte"),
    ("/api/v1/jobs/runs/%00", "path", "run_id", "contains a NUL byte"),
    ("/static/scrollintel.css%00.js", "path", "filename", "contains a NUL byte"),
    ("/quality/docs/index.html%00", "path", "path", "contains a NUL byte"),
    ("/api/v1/namespaces?offset=9223372036854775808", "query", "offset", "is out of range"),
    ("/api/v1/namespaces/demo/datasets?offset=99999999999999999999999", "query", "offset", "is out of range"),
    ("/api/audit/entries/9223372036854775808", "path", "seq", "is out of range"),
    ("/audit/entries/-9223372036854775809", "path", "seq", "is out of range"),
    ("/api/audit/entries?offset=+0009223372036854775808", "query", "offset", "is out of range"),
    (f"/api/audit/entries?offset={'9' * 5000}", "query", "offset", "is out of range"),
]


@pytest.mark.parametrize(("url", "kind", "name", "problem"), BAD_VALUES, ids=[case[0][:60] for case in BAD_VALUES])
def test_bad_parameter_values_are_a_400_naming_the_parameter(
    client_factory: Callable[..., Any], make_token: Callable[..., str], url: str, *, kind: str, name: str, problem: str
) -> None:
    response = client_factory(bearer=make_token()).get(f"{URL_PREFIX}{url}")

    assert response.status_code == 400, response.text
    assert response.json()["detail"].startswith(f"The {kind} parameter {name!r} {problem}")


def test_the_largest_bigint_is_still_a_number(
    client_factory: Callable[..., Any], make_token: Callable[..., str]
) -> None:
    client = client_factory(bearer=make_token())

    assert client.get(f"{URL_PREFIX}/api/v1/namespaces?offset={MAX_BIGINT}").status_code == 503  # reached the store
    assert client.get(f"{URL_PREFIX}/api/audit/entries/{MAX_BIGINT}").status_code == 503
    # a text parameter may be any number: only integer parameters have a range
    assert client.get(f"{URL_PREFIX}/api/lineage/search?q={'9' * 30}").status_code == 503


@pytest.mark.parametrize(
    "path",
    [
        f"/static/{'a' * 300}.css",
        f"/static/vendor/{'b' * 5000}",
        f"/quality/docs/{'c' * 300}.html",
        f"/quality/docs/validations/{'d' * 300}/{'e' * 300}",
    ],
    ids=["static-name", "static-path", "docs-name", "docs-path"],
)
def test_an_over_long_file_name_is_not_found(
    client_factory: Callable[..., Any],
    make_token: Callable[..., str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    path: str,
) -> None:
    monkeypatch.setenv("SCROLLINTEL_HOME", str(tmp_path))
    docs = tmp_path / "quality" / "data-docs" / "validations"
    docs.mkdir(parents=True)
    (docs.parent / "index.html").write_text("<h1>Data docs index</h1>", encoding="utf-8")

    response = client_factory(cookie=make_token()).get(f"{URL_PREFIX}{path}")

    assert response.status_code == 404
    assert "Errno" not in response.text and "File name too long" not in response.text


def test_a_connection_failure_never_names_the_host_or_port(
    client_factory: Callable[..., Any], make_token: Callable[..., str]
) -> None:
    client = client_factory(cookie=make_token())

    answers = [
        client.get(f"{URL_PREFIX}{path}", headers={"Accept": accept})
        for path in (
            "/audit",
            "/api/audit",
            "/quality",
            "/api/quality",
            "/model",
            "/api/model",
            "/api/model/export.csv",
            "/lineage",
            "/api/lineage",
            "/api/v1/namespaces",
        )
        for accept in ("text/html", "application/json")
    ]

    assert {answer.status_code for answer in answers} == {503}
    for answer in answers:
        assert "127.0.0.1" not in answer.text and ", port 9" not in answer.text and ":9/" not in answer.text
        assert "s3cret-pw" not in answer.text


# -- 8. redirects never carry the request's Host -------------------------------------------------------

HOSTILE = {"Host": "evil.example"}


@pytest.mark.parametrize(
    ("path", "location"),
    [
        ("/audit/", "/scrollintel/audit"),
        ("/approvals/?x=1", "/scrollintel/approvals?x=1"),
        ("/api/audit/", "/scrollintel/api/audit"),
        ("/api/v1/search/?q=orders", "/scrollintel/api/v1/search?q=orders"),
        ("/quality/docs", "/scrollintel/quality/docs/"),
    ],
)
def test_redirects_are_relative_whatever_the_host_header(
    client_factory: Callable[..., Any], make_token: Callable[..., str], path: str, location: str
) -> None:
    client = client_factory(cookie=make_token())

    response = client.get(f"{URL_PREFIX}{path}", headers=HOSTILE, follow_redirects=False)

    assert response.status_code == 307, response.text
    assert response.headers["location"] == location


def test_the_verify_redirect_is_relative_whatever_the_host_header(
    client_factory: Callable[..., Any], make_token: Callable[..., str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from scrollintel.web.routes import audit

    monkeypatch.setattr(audit, "run_verification", lambda url: None)  # "already running": no database needed
    client = client_factory(cookie=make_token(role="op"))

    response = client.post(
        f"{URL_PREFIX}/audit/verify?actor=admin", headers={**HOSTILE, **SAME_ORIGIN}, follow_redirects=False
    )

    assert response.status_code == 303
    assert response.headers["location"] == "/scrollintel/audit?actor=admin&verify=busy#status"


@pytest.mark.parametrize("path", ["//evil.example/", "/\\evil.example/", "//evil.example/audit/"])
def test_a_slash_redirect_never_points_at_another_host(auth_manager: Any, make_token: Any, path: str) -> None:
    """The app at the root (no mount prefix): a path that starts like a URL without scheme must not redirect there."""
    from fastapi.testclient import TestClient

    from scrollintel.web import create_app

    with TestClient(create_app()) as client:
        response = client.get(
            f"http://testserver{path}", headers={"Authorization": f"Bearer {make_token()}"}, follow_redirects=False
        )

    assert response.status_code == 404
    assert "location" not in response.headers
