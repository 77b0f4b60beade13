"""Forged and mutated interactivity requests: every one is 401 or 400, none reaches the handler; a valid one does.

2,160 requests (deterministic): missing or bad signatures, ``v1=`` prefix, stale and future
timestamps, a replay 301 s later, the body changed after signing, huge or non-ASCII headers,
another secret, and correctly signed bodies that are not a press of our buttons (malformed JSON,
missing fields, wrong types, random bytes). Sent through the mounted app in process (fast); a
sample of them again to the app served by uvicorn.
"""

from __future__ import annotations

import json
import random
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

import httpx
import pytest

from scrollintel.approvals.slack import APPROVE_ACTION, REJECT_ACTION, RequestIdentity, sign
from scrollintel.web import URL_PREFIX
from tests.integration.approvals.conftest import SECRET, Recorder

pytestmark = pytest.mark.integration

PATH = f"{URL_PREFIX}/slack/interactivity"
PER_KIND = 120
IDENTITY = RequestIdentity("ingest_shop", "scheduled__2026-11-01T00:00:00+00:00", "approve_schema", -1)


@dataclass(frozen=True)
class Forged:
    kind: str
    body: bytes
    headers: dict[str, Any]
    expected: int


def valid_payload(rng: random.Random) -> dict[str, Any]:
    return {
        "type": "block_actions",
        "user": {"id": f"U{rng.randrange(10**8):08d}"},
        "container": {"type": "message", "message_ts": "1800000000.000100", "channel_id": "C1"},
        "channel": {"id": "C1"},
        "response_url": "http://127.0.0.1:9/response/x",
        "actions": [{"action_id": rng.choice([APPROVE_ACTION, REJECT_ACTION]), "value": IDENTITY.to_value()}],
    }


def form(payload: Any) -> bytes:
    return urlencode({"payload": payload if isinstance(payload, str) else json.dumps(payload)}).encode()


def signed(body: bytes, timestamp: int | None = None, secret: str = SECRET) -> dict[str, Any]:
    return {"Content-Type": "application/x-www-form-urlencoded", **sign(secret, body, timestamp)}


def _mutate_body(rng: random.Random, body: bytes) -> bytes:
    how = rng.randrange(4)
    if how == 0:
        index = rng.randrange(len(body))
        return body[:index] + bytes([(body[index] + rng.randrange(1, 255)) % 256]) + body[index + 1 :]
    if how == 1:
        return body + b"&extra=1"
    if how == 2:
        return body[: rng.randrange(len(body))]
    return body.replace(b"scrollintel_reject", b"scrollintel_approve").replace(b"U", b"W", 1) + b" "


def _bad_payload(rng: random.Random) -> bytes:
    good = valid_payload(rng)
    dropped = rng.choice(["user", "actions", "type"])
    choices: list[Callable[[], bytes]] = [
        lambda: form("{" + json.dumps(good)[: rng.randrange(1, 60)]),  # malformed JSON
        lambda: form({k: v for k, v in good.items() if k != dropped}),
        lambda: form({**good, "user": {"id": rng.choice([None, 5, [], {}, ""])}}),
        lambda: form({**good, "actions": rng.choice([[], {}, "x", [None], [{"action_id": "other", "value": "x"}]])}),
        lambda: form({**good, "type": rng.choice(["view_submission", "shortcut", None, 3])}),
        lambda: form(
            {
                **good,
                "actions": [
                    {
                        "action_id": APPROVE_ACTION,
                        "value": rng.choice(
                            [
                                '["d","r","t"]',
                                '["d","r","t","1"]',
                                "[1,2,3,4]",
                                "null",
                                "{}",
                                '["","r","t",-1]',
                                '["d","r","t",-7]',
                            ]
                        ),
                    }
                ],
            }
        ),
        lambda: form({**good, "response_url": rng.choice([5, "ftp://x", "javascript:alert(1)", ["http://x"]])}),
        lambda: form(rng.choice([[], "x", 1, None])),
        lambda: bytes(rng.randrange(32, 127) for _ in range(rng.randrange(1, 300))),
        lambda: b"",
        lambda: json.dumps(good).encode(),  # JSON instead of a form
        lambda: form(good) + b"&payload=" + form(good)[8:],  # two payloads
    ]
    return rng.choice(choices)()


def forged_requests(now: int, seed: int = 16) -> list[Forged]:
    rng = random.Random(seed)
    cases: list[Forged] = []
    for _ in range(PER_KIND):
        body = form(valid_payload(rng))
        good = signed(body, now)
        stamp, signature = good["X-Slack-Request-Timestamp"], good["X-Slack-Signature"]
        plain = {"Content-Type": "application/x-www-form-urlencoded"}
        cases += [
            Forged("no signature", body, {**plain, "X-Slack-Request-Timestamp": stamp}, 401),
            Forged("no timestamp", body, {**plain, "X-Slack-Signature": signature}, 401),
            Forged("no headers", body, plain, 401),
            Forged("v1= prefix", body, {**good, "X-Slack-Signature": "v1=" + signature[3:]}, 401),
            Forged("random signature", body, {**good, "X-Slack-Signature": f"v0={rng.randbytes(32).hex()}"}, 401),
            Forged("upper-case hex", body, {**good, "X-Slack-Signature": "v0=" + signature[3:].upper()}, 401),
            Forged("stale", body, signed(body, now - rng.randrange(301, 10**7)), 401),
            Forged("future", body, signed(body, now + rng.randrange(301, 10**7)), 401),
            Forged("replay at +301 s", body, signed(body, now - 301), 401),
            Forged("body changed after signing", _mutate_body(rng, body), good, 401),
            Forged("another secret", body, signed(body, now, secret="not-" + SECRET), 401),
            Forged(
                "huge timestamp",
                body,
                {**good, "X-Slack-Request-Timestamp": "9" * rng.randrange(13, 4000)},
                401,
            ),
            Forged(
                "non-integer timestamp",
                body,
                {
                    **good,
                    "X-Slack-Request-Timestamp": rng.choice(["1e9", "abc", "-5", "1.5", "1 2", "0x1"]),
                },
                401,
            ),
            Forged(
                "non-ASCII signature",
                body,
                {
                    **good,
                    "X-Slack-Signature": f"v0={signature[3:-2]}".encode() + rng.choice([b"\xe9\xe9", b"\xc3\xa9"]),
                },
                401,
            ),
            Forged(
                "non-ASCII timestamp",
                body,
                {**good, "X-Slack-Request-Timestamp": stamp.encode() + b"\xb2"},
                401,
            ),
            Forged("huge signature", body, {**good, "X-Slack-Signature": "v0=" + "a" * rng.randrange(100, 8000)}, 401),
        ]
        bad = _bad_payload(rng)
        cases.append(Forged("signed, not our payload", bad, signed(bad, now), 400))
        binary = rng.randbytes(rng.randrange(1, 300)) + b"\xff"
        cases.append(Forged("signed, not UTF-8 (the verifier raises)", binary, signed(binary, now), 401))
        huge = form(valid_payload(rng)) + b"&pad=" + b"x" * rng.randrange(10, 2000)
        cases.append(Forged("signed, extra field", huge, signed(huge, now), 200))
        cases.append(Forged("signed, a valid press (sanity)", body, good, 200))
    return cases


def test_forged_requests_are_refused_and_never_reach_the_handler(
    recorder: Recorder, client_factory: Callable[..., Any]
) -> None:
    client = client_factory()
    cases = [case for case in forged_requests(int(time.time())) if case.expected != 200]
    assert len(cases) >= 2000
    outcomes: Counter[tuple[str, int]] = Counter()

    for case in cases:
        response = client.post(PATH, content=case.body, headers=case.headers)
        outcomes[(case.kind, response.status_code)] += 1
        assert response.status_code == case.expected, (case.kind, response.status_code, response.text[:200])

    assert recorder.answers == []
    assert all(status in (400, 401) for _, status in outcomes)


def test_a_valid_signed_press_is_acknowledged_and_handled_exactly_once(
    recorder: Recorder, client_factory: Callable[..., Any]
) -> None:
    client = client_factory()
    body = form(valid_payload(random.Random(1)))

    started = time.perf_counter()
    response = client.post(PATH, content=body, headers=signed(body))

    assert response.status_code == 200
    assert response.content == b""
    assert time.perf_counter() - started < 3
    [answer] = recorder.wait_for(1)
    assert answer.identity == IDENTITY


def test_over_a_real_server_a_sample_is_refused_and_valid_presses_are_acknowledged_within_3_s(
    recorder: Recorder, platform: str
) -> None:
    cases = forged_requests(int(time.time()), seed=7)
    sample = random.Random(3).sample(cases, 300)
    url = f"{platform}/slack/interactivity"
    slow = 0.0
    with httpx.Client(timeout=10) as http:
        for case in sample:
            started = time.perf_counter()
            response = http.post(url, content=case.body, headers=case.headers)
            slow = max(slow, time.perf_counter() - started)
            assert response.status_code == case.expected, (case.kind, response.status_code, response.text[:200])
        huge_header = {**signed(b"payload=%7B%7D"), "X-Slack-Signature": "v0=" + "a" * 70_000}
        assert http.post(url, content=b"payload=%7B%7D", headers=huge_header).status_code in (400, 401)

    valid = sum(case.expected == 200 for case in sample)
    assert valid > 0
    assert len(recorder.wait_for(valid)) == valid
    assert slow < 3
