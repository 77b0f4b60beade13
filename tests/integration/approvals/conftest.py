"""The demo Slack workspace and the governance app, each in a real uvicorn server on loopback."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import pytest

from scrollintel.approvals.slack import SlackAnswer
from scrollintel.web import URL_PREFIX
from scrollintel.web.routes.slack import answer_handler, slack_signing_secret

if TYPE_CHECKING:
    from fastapi import FastAPI

SECRET = "demo-signing-secret-0123456789abcdef"
TOKEN = "xoxb-demo-0000-bot-token"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextmanager
def serve(app: Any, port: int | None = None) -> Iterator[str]:
    """``app`` in a uvicorn server on a loopback port (in a thread); yields ``http://127.0.0.1:<port>``."""
    import uvicorn

    port = port or free_port()
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="off")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name=f"uvicorn-{port}", daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=30)


@dataclass
class Recorder:
    """The decision handler of the tests: records each answer, then runs ``then`` if set."""

    answers: list[SlackAnswer] = field(default_factory=list)
    then: Any = None
    lock: threading.Lock = field(default_factory=threading.Lock)

    def __call__(self, answer: SlackAnswer) -> None:
        with self.lock:
            self.answers.append(answer)
        if self.then is not None:
            self.then(answer)

    def wait_for(self, count: int, timeout: float = 5.0) -> list[SlackAnswer]:
        deadline = time.monotonic() + timeout
        while len(self.answers) < count and time.monotonic() < deadline:
            time.sleep(0.01)
        return list(self.answers)


@pytest.fixture
def recorder(web_app: FastAPI) -> Iterator[Recorder]:
    """The app verifies with :data:`SECRET` and hands answers to a :class:`Recorder`."""
    handler = Recorder()
    web_app.dependency_overrides[slack_signing_secret] = lambda: SECRET
    web_app.dependency_overrides[answer_handler] = lambda: handler
    yield handler
    web_app.dependency_overrides.pop(slack_signing_secret, None)
    web_app.dependency_overrides.pop(answer_handler, None)


@pytest.fixture
def platform(mounted_app: Any) -> Iterator[str]:
    """The governance app as the api-server mounts it, served; yields its base URL (with ``/scrollintel``)."""
    with serve(mounted_app) as url:
        yield f"{url}{URL_PREFIX}"


@pytest.fixture
def workspace(platform: str) -> Iterator[str]:
    """The demo Slack workspace, sending presses to the served platform; yields its URL."""
    from scrollintel.demo.slack_workspace import create_slack_workspace

    port = free_port()
    app = create_slack_workspace(
        bot_token=TOKEN,
        signing_secret=SECRET,
        interactivity_url=f"{platform}/slack/interactivity",
        public_url=f"http://127.0.0.1:{port}",
    )
    with serve(app, port) as url:
        yield url
