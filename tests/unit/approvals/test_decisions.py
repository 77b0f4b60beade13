"""Answers are recorded as the named Airflow user (minted token, HITL path), and never in the race window."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from scrollintel.approvals import decisions
from scrollintel.approvals.decisions import Target, UnknownUser, token_for
from tests.conftest import TEST_USER

pytestmark = pytest.mark.unit


def test_the_token_minted_for_an_answer_is_the_named_users(auth_manager: Any) -> None:
    token = token_for(TEST_USER)
    claims = auth_manager._get_token_validator().validated_claims(token)  # type: ignore[attr-defined]

    assert claims["sub"] == TEST_USER
    assert claims["exp"] - claims["iat"] <= 60  # short-lived: one answer


def test_no_token_for_a_name_airflow_does_not_know(auth_manager: Any) -> None:
    with pytest.raises(UnknownUser):
        token_for("nobody-here")


def test_the_hitl_path_quotes_every_part_of_the_target() -> None:
    target = Target("ingest_shop", "manual__2026-12-07T10:00:00+00:00", "gate.approval_1", -1)

    assert target.path == (
        "/api/v2/dags/ingest_shop/dagRuns/manual__2026-12-07T10%3A00%3A00%2B00%3A00"
        "/taskInstances/gate.approval_1/-1/hitlDetails"
    )


APPROVERS = ("dp-lead", "an-lead")


class _HitlEndpoint:
    """Airflow's HITL detail of one task, as its API shows it: the task runs, then parks; one answer wins."""

    def __init__(self, park_after: float, requester: str) -> None:
        self.opened = datetime.now(UTC)
        self.park_after = park_after
        self.parks_at = time.monotonic() + park_after
        self.requester = requester
        self.answers: list[tuple[str, str, float]] = []  # (user, state when answered, seconds after opening)
        self.lock = threading.Lock()

    def state(self) -> str:
        if self.answers:
            return "scheduled"
        return "awaiting_input" if time.monotonic() >= self.parks_at else "running"

    def handle(self, request: httpx.Request) -> httpx.Response:
        user = request.headers["Authorization"].removeprefix("Bearer ")
        with self.lock:
            if request.url.path.endswith("/xcomEntries/parking"):  # the gate's notifiers are done: it parks now
                if self.state() == "running":
                    return httpx.Response(404, json={"detail": "XCom entry not found"})
                parked = self.opened + timedelta(seconds=self.park_after)
                return httpx.Response(200, json={"key": "parking", "timestamp": parked.isoformat()})
            if request.method == "GET":
                body = {
                    "task_instance": {"state": self.state()},
                    "response_received": bool(self.answers),
                    "created_at": self.opened.isoformat(),
                    "assigned_users": [{"id": name, "name": name} for name in APPROVERS],
                }
                return httpx.Response(200, json=body)
            if self.answers:  # Airflow's order: an earlier answer is looked for before the user
                return httpx.Response(409, json={"detail": "already answered"})
            if user not in APPROVERS:
                return httpx.Response(403, json={"detail": "not a respondent"})
            elapsed = (datetime.now(UTC) - self.opened).total_seconds()
            self.answers.append((user, self.state(), elapsed))
            return httpx.Response(200, json={"chosen_options": ["Approve"]})


@pytest.fixture
def hitl(monkeypatch: pytest.MonkeyPatch) -> _HitlEndpoint:
    """respond_as against the stand-in: tokens are the user names, the wait rules shortened tenfold."""
    endpoint = _HitlEndpoint(park_after=1.5, requester="dp-engineer")  # e.g. a slow Slack holds the notifier
    transport = httpx.MockTransport(endpoint.handle)

    def call(method: str) -> Any:
        def send(url: str, **kwargs: Any) -> httpx.Response:
            kwargs.pop("timeout", None)
            with httpx.Client(transport=transport) as client:
                return client.request(method, url, **kwargs)

        return send

    monkeypatch.setattr(decisions, "token_for", lambda username: username)
    monkeypatch.setattr(decisions, "is_assigned", lambda username, detail: username in APPROVERS)
    monkeypatch.setattr(decisions, "api_base_url", lambda: "http://airflow.test")
    monkeypatch.setattr(decisions, "SETTLE_S", 1.0)
    monkeypatch.setattr(decisions, "PARK_POLL_S", 0.05)
    monkeypatch.setattr(httpx, "get", call("GET"))
    monkeypatch.setattr(httpx, "patch", call("PATCH"))
    return endpoint


TARGET = Target("ingest_shop", "manual__1", "customers_schema_change")


def test_an_answer_given_while_the_task_still_runs_is_recorded_after_it_parks_and_settles(
    hitl: _HitlEndpoint,
) -> None:
    assert hitl.state() == "running"  # the request is visible, the task is not waiting yet: the race window
    outcome = decisions.respond_as("dp-lead", TARGET, "Approve")

    assert outcome.status == "decided"
    [(user, state, seconds)] = hitl.answers
    assert (user, state) == ("dp-lead", "awaiting_input")  # never while the task was still running
    assert seconds >= hitl.park_after + decisions.SETTLE_S  # and no sooner than the settle time after it parked


def test_concurrent_presses_in_the_window_give_one_decision_and_the_requester_holds_nobody_up(
    hitl: _HitlEndpoint,
) -> None:
    presses = ["dp-engineer", *(["dp-lead", "an-lead"] * 10)]
    with ThreadPoolExecutor(max_workers=len(presses)) as pool:
        first = pool.submit(decisions.respond_as, presses[0], TARGET, "Approve")  # the requester presses first
        time.sleep(0.2)
        rest = list(pool.map(lambda user: decisions.respond_as(user, TARGET, "Approve"), presses[1:]))
    outcomes = [first.result(), *rest]

    statuses = [outcome.status for outcome in outcomes]
    assert statuses[0] == "not_assigned"  # the requester: separation of duties, said by Airflow
    assert statuses.count("decided") == 1 and len(hitl.answers) == 1
    assert set(statuses[1:]) == {"decided", "already_answered"}
    assert hitl.answers[0][0] in ("dp-lead", "an-lead")


def test_a_requester_pressing_after_the_decision_is_told_they_are_not_an_approver(hitl: _HitlEndpoint) -> None:
    hitl.parks_at = time.monotonic()  # parked already
    decided = decisions.respond_as("dp-lead", TARGET, "Approve")
    late = decisions.respond_as("dp-engineer", TARGET, "Approve")  # Airflow answers 409 before it looks at the user
    again = decisions.respond_as("an-lead", TARGET, "Approve")

    assert (decided.status, late.status, again.status) == ("decided", "not_assigned", "already_answered")
    assert "not an approver" in late.message


def test_assignment_is_the_auth_managers_rule_on_the_requests_assignees(auth_manager: Any) -> None:
    def detail(*names: str) -> dict[str, Any]:
        return {"assigned_users": [{"id": name, "name": name} for name in names]}

    assert decisions.is_assigned(TEST_USER, detail(TEST_USER, "someone-else"))
    assert not decisions.is_assigned(TEST_USER, detail("someone-else"))
    assert not decisions.is_assigned("nobody-here", detail("nobody-here"))  # not an Airflow user at all
    assert decisions.is_assigned(TEST_USER, {})  # no assignees: anyone allowed to answer may
