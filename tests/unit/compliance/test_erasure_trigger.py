"""Starting the erasure run from the Compliance page: through Airflow's REST API, as the signed-in user."""

from __future__ import annotations

import json
import uuid
from typing import Any

import jwt
import pytest

from scrollintel.compliance import workflow
from tests.conftest import TEST_USER
from tests.integration.approvals.conftest import free_port, serve

pytestmark = pytest.mark.unit


def _airflow_api(answers: list[tuple[int, dict[str, Any]]], seen: list[dict[str, Any]]) -> Any:
    """A stand-in for the api-server's ``POST /api/v2/dags/{dag_id}/dagRuns``: records each call, answers in turn."""
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import JSONResponse
    from starlette.routing import Route

    async def runs(request: Request) -> JSONResponse:
        seen.append(
            {
                "dag_id": request.path_params["dag_id"],
                "authorization": request.headers.get("authorization", ""),
                "body": await request.json(),
            }
        )
        status, body = answers.pop(0)
        return JSONResponse(body, status_code=status)

    return Starlette(routes=[Route("/api/v2/dags/{dag_id}/dagRuns", runs, methods=["POST"])])


def test_the_run_is_triggered_with_the_request_id_as_the_user_and_a_refusal_says_how_to_start_it(
    auth_manager: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen: list[dict[str, Any]] = []
    answers = [(200, {"dag_run_id": "manual__2026-12-07"}), (403, {"detail": "Forbidden"})]
    request_id = uuid.uuid4()
    with serve(_airflow_api(answers, seen)) as url:
        monkeypatch.setenv("AIRFLOW__API__BASE_URL", url)
        run_id = workflow.trigger_erasure(request_id, TEST_USER)
        with pytest.raises(workflow.TriggerFailed) as refused:
            workflow.trigger_erasure(request_id, TEST_USER)

    assert run_id == "manual__2026-12-07"
    assert str(refused.value) == (
        f"Airflow refused to start compliance_erasure (HTTP 403); "
        f'trigger compliance_erasure with {{"request_id": "{request_id}"}}'
    )
    first = seen[0]
    assert first["dag_id"] == "compliance_erasure"
    assert first["body"]["conf"] == {"request_id": str(request_id)}
    scheme, token = first["authorization"].split()
    claims = jwt.decode(token, options={"verify_signature": False})
    assert scheme == "Bearer" and TEST_USER in json.dumps(claims)


def test_an_unknown_user_or_an_unreachable_airflow_is_named(auth_manager: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AIRFLOW__API__BASE_URL", f"http://127.0.0.1:{free_port()}")
    request_id = uuid.uuid4()

    with pytest.raises(workflow.TriggerFailed, match=r"^nobody is not an Airflow user; trigger compliance_erasure"):
        workflow.trigger_erasure(request_id, "nobody")
    with pytest.raises(workflow.TriggerFailed, match=r"^Airflow did not answer \(ConnectError\); trigger"):
        workflow.trigger_erasure(request_id, TEST_USER)
