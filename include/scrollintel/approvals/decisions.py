"""Answering an approval request as a named Airflow user, through Airflow's own human-in-the-loop API.

Slack answers arrive at the governance app signed by Slack, not by an Airflow login. The
answer is still recorded by Airflow, as the person who pressed the button: the app mints a
short-lived Airflow token for that user (the auth manager's own ``generate_jwt``) and calls
``PATCH /api/v2/dags/{dag}/dagRuns/{run}/taskInstances/{task}/{map_index}/hitlDetails`` with it.
Airflow then applies its rules as for the UI: 403 for a user who is not assigned (the requester
under separation of duties), 409 when the request was already answered (double and concurrent
clicks give one decision), and ``responded_by`` is that user. Airflow looks for an earlier answer
before it looks at the user, so a 409 is checked against the request's assignees with the auth
manager's own rule: a requester whose press comes late is still told why, not "already answered".
Runs in the api-server process, where the auth manager is configured.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Literal
from urllib.parse import quote

if TYPE_CHECKING:
    from scrollintel.approvals.slack import SlackAnswer

log = logging.getLogger(__name__)

Choice = Literal["Approve", "Reject"]
#: Lifetime of the token minted for one answer.
TOKEN_SECONDS = 60
#: Time allowed for the api-server to record one answer.
ANSWER_TIMEOUT_S = 15.0
#: Longest wait of an answer for its task to park (see :func:`wait_until_parked`), and how often it looks.
PARK_TIMEOUT_S = 60.0
PARK_POLL_S = 0.5
#: An answer is recorded no sooner than this after the task started to park (the request opened, or
#: the gate's last notifier finished, whichever is later): the worker that parked the task must be gone
#: before the task is queued again (Airflow fails a task whose old process reports after that).
SETTLE_S = 10.0
#: XCom the gate pushes as the last thing before its task parks (see :func:`wait_until_parked`).
PARKING_XCOM = "parking"


@dataclass(frozen=True)
class Target:
    """The waiting gate: a task instance of a DAG run."""

    dag_id: str
    run_id: str
    task_id: str
    map_index: int = -1

    @property
    def path(self) -> str:
        """The HITL detail of the task instance (where the answer is written)."""
        parts = (self.dag_id, "dagRuns", self.run_id, "taskInstances", self.task_id, str(self.map_index))
        return "/api/v2/dags/" + "/".join(quote(part, safe="") for part in parts) + "/hitlDetails"

    def xcom_path(self, key: str) -> str:
        """One XCom entry of the task instance."""
        parts = (self.dag_id, "dagRuns", self.run_id, "taskInstances", self.task_id, "xcomEntries", key)
        return "/api/v2/dags/" + "/".join(quote(part, safe="") for part in parts) + f"?map_index={self.map_index}"


@dataclass(frozen=True)
class Outcome:
    """What Airflow answered: ``decided``, or why not (``not_assigned``, ``already_answered``, ``gone``, ``failed``)."""

    status: Literal["decided", "not_assigned", "already_answered", "gone", "failed"]
    message: str
    detail: dict[str, Any] | None = None


#: Answers this process is recording, per request and user: a user's concurrent clicks send one
#: answer; another user's click is not held up by it (the requester's refused press must not
#: swallow an approver's).
_IN_FLIGHT: set[tuple[Target, str]] = set()
_IN_FLIGHT_LOCK = threading.Lock()


class UnknownUser(LookupError):
    """No active Airflow user has this name."""


def respond_as(username: str, target: Target, choice: Choice, comment: str | None = None) -> Outcome:
    """Record ``choice`` on ``target`` as the Airflow user ``username`` (see the module docstring)."""
    import httpx

    try:
        token = token_for(username)
    except UnknownUser:
        return Outcome("not_assigned", f"{username} is not an Airflow user; ask an admin to create the account")
    body = {"chosen_options": [choice], "params_input": {"comment": comment or ""}}
    headers = {"Authorization": f"Bearer {token}"}
    key = (target, username)
    with _IN_FLIGHT_LOCK:
        if key in _IN_FLIGHT:  # concurrent clicks: this user's answer is on its way to Airflow already
            return Outcome("already_answered", "your answer to this request is being recorded")
        _IN_FLIGHT.add(key)
    try:
        seen = wait_until_parked(target, headers)
        response = httpx.patch(api_base_url() + target.path, json=body, headers=headers, timeout=ANSWER_TIMEOUT_S)
    except httpx.HTTPError as err:
        log.warning("approval answer for %s/%s not recorded: %s", target.dag_id, target.task_id, type(err).__name__)
        return Outcome("failed", "Airflow did not answer; try again in a minute")
    finally:
        with _IN_FLIGHT_LOCK:
            _IN_FLIGHT.discard(key)
    detail = _json(response)
    if response.status_code == 200:
        return Outcome("decided", f"{choice} recorded", detail)
    if response.status_code == 403 or (response.status_code == 409 and not is_assigned(username, seen)):
        return Outcome(
            "not_assigned",
            "you are not an approver of this request (under separation of duties the requester cannot approve it)",
        )
    if response.status_code == 409:
        return Outcome("already_answered", "this request was already answered", detail)
    if response.status_code == 404:
        return Outcome("gone", "this request no longer exists (the run was cleared or deleted)")
    log.warning("approval answer for %s/%s: Airflow answered %s", target.dag_id, target.task_id, response.status_code)
    return Outcome("failed", f"Airflow refused the answer ({response.status_code})")


def wait_until_parked(target: Target, headers: dict[str, str], *, timeout: float = PARK_TIMEOUT_S) -> dict[str, Any]:
    """Wait while the gate's task is still running towards its wait; returns the HITL detail last seen.

    Airflow stores a request a moment before the task parks (``awaiting_input``), and Slack shows
    it at once. An answer recorded in that window is taken by Airflow, but the resumed task can be
    queued while the worker is still finishing the parking one, and the scheduler then fails it
    ("finished with state success, but the task instance's state attribute is queued"). So an
    answer waits, at most ``timeout`` seconds, until the task waits for it, and until
    :data:`SETTLE_S` after it started to park: the later of the request's opening and the
    :data:`PARKING_XCOM` the gate pushes after its notifiers (a slow Slack can hold the task there
    for a while; the parking worker may still be exiting just after the park). A request already
    answered, or a task in any state but ``running`` or waiting, goes straight on to Airflow's own
    answer.
    """
    import time

    import httpx

    deadline = time.monotonic() + timeout
    while True:
        response = httpx.get(api_base_url() + target.path, headers=headers, timeout=ANSWER_TIMEOUT_S)
        detail = (_json(response) or {}) if response.status_code == 200 else {}
        state = (detail.get("task_instance") or {}).get("state")
        if detail.get("response_received") or time.monotonic() >= deadline:
            return detail  # answered already (a double click, a resumed task): Airflow says so at once
        if state == "awaiting_input":
            _settle(detail.get("created_at"), _parking_at(target, headers))
            return detail
        if state != "running":
            return detail
        time.sleep(PARK_POLL_S)


def _parking_at(target: Target, headers: dict[str, str]) -> object:
    """When the gate's task finished its notifiers, about to park (its :data:`PARKING_XCOM`); None if unknown."""
    import httpx

    try:
        response = httpx.get(api_base_url() + target.xcom_path(PARKING_XCOM), headers=headers, timeout=ANSWER_TIMEOUT_S)
    except httpx.HTTPError:
        return None
    return (_json(response) or {}).get("timestamp") if response.status_code == 200 else None


def _settle(*moments: object) -> None:
    """Leave the worker that parked the task time to finish: until :data:`SETTLE_S` after the latest moment."""
    import time

    known = []
    for moment in moments:
        try:
            known.append(datetime.fromisoformat(str(moment).replace("Z", "+00:00")))
        except ValueError:
            continue
    if not known:
        return
    left = SETTLE_S - (datetime.now(UTC) - max(known)).total_seconds()
    if left > 0:
        time.sleep(min(left, SETTLE_S))


def is_assigned(username: str, detail: dict[str, Any]) -> bool:
    """Whether ``username`` may answer the request ``detail`` (Airflow's HITL detail), by the auth manager's rule.

    True when the detail names no assignees (anyone allowed to answer may) or is unknown.
    """
    from airflow.api_fastapi.app import get_auth_manager

    assigned = {str(user.get("id")) for user in detail.get("assigned_users") or () if isinstance(user, dict)}
    if not assigned:
        return True
    manager = get_auth_manager()
    user = _user_named(manager, username)
    return user is not None and bool(manager.is_authorized_hitl_task(assigned_users=assigned, user=user))


def token_for(username: str) -> str:
    """A short-lived Airflow token of the active user ``username``, from the configured auth manager."""
    from airflow.api_fastapi.app import get_auth_manager

    manager = get_auth_manager()
    user = _user_named(manager, username)
    if user is None:
        raise UnknownUser(username)
    return str(manager.generate_jwt(user, expiration_time_in_seconds=TOKEN_SECONDS))


def api_base_url() -> str:
    """Where the api-server answers (Airflow's ``[api] base_url``)."""
    from airflow.configuration import conf

    return str(conf.get("api", "base_url", fallback="http://localhost:8080")).rstrip("/")


def _user_named(manager: Any, username: str) -> Any:
    get_users = getattr(manager, "get_users", None)
    if callable(get_users):  # SimpleAuthManager: users and roles come from configuration
        return next((user for user in get_users() if user.get_name() == username), None)
    from airflow.providers.fab.auth_manager.models import User
    from airflow.utils.session import create_session
    from sqlalchemy import select

    with create_session() as session:
        user = session.scalars(select(User).where(User.username == username)).one_or_none()
        if user is None or not user.is_active:
            return None
        session.expunge(user)
        return user


def _json(response: Any) -> dict[str, Any] | None:
    try:
        value = response.json()
    except ValueError:
        return None
    return value if isinstance(value, dict) else None


# --------------------------------------------------------------------------- Slack


NOT_MAPPED = (
    "You are not mapped to an Airflow user, so nothing was decided. Ask a platform admin to add your "
    "Slack user id ({slack_user}) as `slack_user` of your member entry in governance/teams.yaml."
)


def handle_slack_answer(answer: SlackAnswer) -> None:
    """A verified button press (after the endpoint acknowledged it): the answer, as the mapped Airflow user.

    An unmapped Slack user changes nothing and is told so; every other outcome (recorded, not an
    approver, already answered, gone) is an ephemeral reply only the presser sees. The message in
    the channel is replaced by the gate itself once it resumes (who decided, comment), whichever
    way the answer came (Slack, the Approvals page, Airflow's Required Actions).
    """
    from scrollintel.approvals import slack
    from scrollintel.config import load_governance

    username = load_governance().teams.member_for_slack_user(answer.slack_user_id)
    if username is None:
        text = NOT_MAPPED.format(slack_user=answer.slack_user_id)
    else:
        target = Target(answer.dag_id, answer.run_id, answer.task_id, answer.map_index)
        outcome = respond_as(username, target, answer.choice)
        text = (
            f"{answer.choice} recorded as {username}; the gate goes on in a few seconds."
            if outcome.status == "decided"
            else f"Nothing was decided: {outcome.message}."
        )
        log.info("Slack answer %s on %s/%s: %s", answer.choice, answer.dag_id, answer.task_id, outcome.status)
    if answer.response_url:
        slack.respond(answer.response_url, text)
