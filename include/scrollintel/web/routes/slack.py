"""Slack's interactivity endpoint: ``POST /slack/interactivity``, authenticated by Slack's signature.

Slack calls this URL (``https://<airflow>/scrollintel/slack/interactivity``, the Slack app's
Interactivity Request URL) when someone presses Approve or Reject on an approval message. Slack
carries no Airflow credential, so the route lives in a separate small FastAPI app mounted at
``/slack`` that does not carry the governance app's Airflow login dependency; the route/permission
table lists it as :data:`~scrollintel.web.deps.SLACK_SIGNATURE`. Like Bolt:

* the raw body is verified with slack-sdk's ``SignatureVerifier`` against the signing secret (extra
  ``signing_secret`` of the Airflow connection ``slack_api_default``), 300 s window: anything that
  does not verify, or no secret configured, is 401; the verifier never turns into a 5xx;
* a verified body that is not a press of our buttons is 400; a body over 1 MiB is 413;
* a valid press is acknowledged (200, empty) at once and handed to the decision handler after the
  response (Slack waits 3 s): :func:`answer_handler`, by default
  ``scrollintel.approvals.decisions.handle_slack_answer``, which records the answer through
  Airflow's own human-in-the-loop API as the Airflow user the Slack user is mapped to.

Tests replace the handler and the secret through the governance app's ``dependency_overrides``
(:func:`answer_handler`, :func:`slack_signing_secret`).
"""

from __future__ import annotations

import logging
from typing import Annotated

from fastapi import APIRouter, Depends, FastAPI, HTTPException, Request, Response, status
from fastapi.concurrency import run_in_threadpool
from starlette.background import BackgroundTask

from scrollintel.approvals.slack import (
    AnswerHandler,
    InvalidInteraction,
    SlackAnswer,
    is_secret_cached,
    parse_interactivity,
    signing_secret,
    verify_signature,
)

log = logging.getLogger(__name__)

MOUNT_PATH = "/slack"
#: Slack's interactivity payloads are a few kB (the message's blocks included); more is not Slack.
MAX_BODY_BYTES = 1024 * 1024
UNSIGNED = "Unauthorized: the request is not signed by Slack with this platform's signing secret"
MISSING_SIGNING_KEY = (
    "Unauthorized: no Slack signing secret is configured (extra signing_secret of connection slack_api_default)"
)

router = APIRouter()


def answer_handler() -> AnswerHandler:
    """The decision handler: :func:`scrollintel.approvals.decisions.handle_slack_answer` (tests override it)."""
    from scrollintel.approvals.decisions import handle_slack_answer

    return handle_slack_answer


async def slack_signing_secret() -> str | None:
    """The signing secret, from the cache on the event loop, else looked up in a worker thread."""
    if is_secret_cached():
        return signing_secret()
    return await run_in_threadpool(signing_secret)


async def _read_body(request: Request) -> bytes:
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > MAX_BODY_BYTES:
        raise HTTPException(status.HTTP_413_REQUEST_ENTITY_TOO_LARGE, "The request body is over 1 MiB")
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > MAX_BODY_BYTES:
            raise HTTPException(status.HTTP_413_REQUEST_ENTITY_TOO_LARGE, "The request body is over 1 MiB")
        chunks.append(chunk)
    return b"".join(chunks)


def _run_handler(handler: AnswerHandler, answer: SlackAnswer) -> None:
    try:
        handler(answer)
    except Exception:
        log.exception(
            "Handling the Slack answer %s of %s on %s/%s/%s failed",
            answer.choice,
            answer.slack_user_id,
            answer.dag_id,
            answer.run_id,
            answer.task_id,
        )


@router.post("/interactivity", name="slack_interactivity")
async def interactivity(
    request: Request,
    secret: Annotated[str | None, Depends(slack_signing_secret)],
    handler: Annotated[AnswerHandler, Depends(answer_handler)],
) -> Response:
    """Verify Slack's signature, parse the button press, acknowledge, then hand it to the handler."""
    body = await _read_body(request)
    if secret is None:
        log.warning("Refused a Slack interactivity request: %s", MISSING_SIGNING_KEY)
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, MISSING_SIGNING_KEY)
    headers = request.headers
    if not verify_signature(secret, body, headers.get("x-slack-request-timestamp"), headers.get("x-slack-signature")):
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, UNSIGNED)
    try:
        answer = parse_interactivity(body)
    except InvalidInteraction as err:
        raise HTTPException(status.HTTP_400_BAD_REQUEST, f"Not an approval button press: {err}") from err
    return Response(status_code=status.HTTP_200_OK, background=BackgroundTask(_run_handler, handler, answer))


def slack_app() -> FastAPI:
    """The small app mounted at :data:`MOUNT_PATH`: its one route authenticates by signature, not Airflow login."""
    app = FastAPI(title="ScrollIntel Slack interactivity", docs_url=None, redoc_url=None, openapi_url=None)
    app.include_router(router)
    return app


def install(app: FastAPI) -> None:
    """Mount the Slack app at ``/slack`` of the governance app, sharing its dependency overrides."""
    from starlette.routing import Mount

    slack = slack_app()
    slack.dependency_overrides = app.dependency_overrides
    app.router.routes.append(Mount(MOUNT_PATH, app=slack))
