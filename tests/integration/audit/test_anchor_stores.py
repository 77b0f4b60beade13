"""Anchors in S3 with Object Lock (moto's standalone server on loopback) and the Slack observer."""

from __future__ import annotations

import json
import logging
import secrets
import socket
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from scrollintel import audit
from scrollintel.audit.anchor import S3AnchorStore, anchor, default_store
from scrollintel.audit.errors import AnchorError
from scrollintel.audit.verify import verify_ledger
from tests.integration.audit.conftest import bypass_triggers, connect

pytestmark = pytest.mark.integration

BUCKET = "scrollintel-audit-anchors"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="module")
def moto_endpoint() -> Iterator[str]:
    from moto.server import ThreadedMotoServer

    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    yield f"http://127.0.0.1:{port}"
    server.stop()


@pytest.fixture
def s3(moto_endpoint: str, audit_env: Path, monkeypatch: pytest.MonkeyPatch) -> Any:
    import boto3

    for name, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
        "SCROLLINTEL_AUDIT_ANCHOR_BUCKET": BUCKET,
        "SCROLLINTEL_AUDIT_S3_ENDPOINT_URL": moto_endpoint,
        "SCROLLINTEL_AUDIT_RETENTION_DAYS": "30",
        "NO_PROXY": "127.0.0.1",
    }.items():
        monkeypatch.setenv(name, value)
    # locked heads cannot be deleted (that is the point): each test gets its own prefix
    monkeypatch.setenv("SCROLLINTEL_AUDIT_ANCHOR_PREFIX", f"audit-anchors/{secrets.token_hex(4)}")
    client = boto3.client("s3", endpoint_url=moto_endpoint)
    if BUCKET not in {b["Name"] for b in client.list_buckets()["Buckets"]}:
        client.create_bucket(Bucket=BUCKET, ObjectLockEnabledForBucket=True)
    return client


def test_anchor_goes_to_s3_locked_in_compliance_mode(s3: Any, ledger_url: str) -> None:
    audit.record_many([{"action": "a.b", "subject": f"s:{i}"} for i in range(25)], url=ledger_url)
    store = default_store()
    assert isinstance(store, S3AnchorStore)
    result = anchor(ledger_url, notify=False)
    assert result.location.startswith(f"s3://{BUCKET}/audit-anchors/") and "/tree-head-" in result.location
    key = result.location.split(f"s3://{BUCKET}/", 1)[1]
    head = s3.head_object(Bucket=BUCKET, Key=key)
    assert head["ObjectLockMode"] == "COMPLIANCE"
    version = head["VersionId"]
    with pytest.raises(s3.exceptions.ClientError, match="AccessDenied"):
        s3.delete_object(Bucket=BUCKET, Key=key, VersionId=version)
    assert json.loads(s3.get_object(Bucket=BUCKET, Key=key)["Body"].read())["tree_size"] == 25
    report = verify_ledger(ledger_url)
    assert report.ok and report.anchor_size == 25


def test_s3_anchor_catches_a_truncation_even_with_the_database_index_gone(s3: Any, ledger_url: str) -> None:
    audit.record_many([{"action": "a.b", "subject": f"s:{i}"} for i in range(40)], url=ledger_url)
    anchor(ledger_url, notify=False)
    with connect(ledger_url) as conn:
        bypass_triggers(conn)
        conn.execute("DELETE FROM governance.audit_entry WHERE seq >= 30")
        conn.execute("DELETE FROM governance.audit_tree_node WHERE (idx + 1) * (1::bigint << level) > 30")
        conn.execute("DELETE FROM governance.audit_anchor")
        conn.commit()
    assert verify_ledger(ledger_url, use_anchors=False).ok
    report = verify_ledger(ledger_url)
    assert (report.kind, report.index) == ("truncated", 30)
    assert f"s3://{BUCKET}/" in report.message


def test_a_bucket_without_object_lock_is_refused(s3: Any, ledger_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    if "plain-bucket-no-lock" not in {b["Name"] for b in s3.list_buckets()["Buckets"]}:
        s3.create_bucket(Bucket="plain-bucket-no-lock")
    monkeypatch.setenv("SCROLLINTEL_AUDIT_ANCHOR_BUCKET", "plain-bucket-no-lock")
    with pytest.raises(AnchorError, match="s3://plain-bucket-no-lock has no Object Lock configuration"):
        anchor(ledger_url, notify=False)


def test_s3_through_the_airflow_aws_connection(
    s3: Any, moto_endpoint: str, ledger_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("SCROLLINTEL_AUDIT_S3_ENDPOINT_URL")
    monkeypatch.setenv(
        "AIRFLOW_CONN_AWS_AUDIT",
        json.dumps(
            {
                "conn_type": "aws",
                "login": "testing",
                "password": "testing",
                "extra": {"endpoint_url": moto_endpoint, "region_name": "us-east-1"},
            }
        ),
    )
    monkeypatch.setenv("SCROLLINTEL_AUDIT_AWS_CONN_ID", "aws_audit")
    audit.record("a.b", "s:1", url=ledger_url)
    result = anchor(ledger_url, notify=False)
    assert result.location.startswith(f"s3://{BUCKET}/")


# -- Slack -----------------------------------------------------------------------------------


class SlackStub(ThreadingHTTPServer):
    """A Slack Web API stand-in: answers chat.postMessage with a configurable body."""

    def __init__(self) -> None:
        self.requests: list[dict[str, Any]] = []
        self.reply: dict[str, Any] = {"ok": True, "channel": "C1", "ts": "1.0"}

        stub = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length).decode()
                stub.requests.append(
                    {"path": self.path, "auth": self.headers.get("Authorization"), "body": json.loads(body or "{}")}
                )
                payload = json.dumps(stub.reply).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, *args: Any) -> None:
                return

        super().__init__(("127.0.0.1", 0), Handler)


@pytest.fixture
def slack(audit_env: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[SlackStub]:
    server = SlackStub()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    monkeypatch.setenv("SCROLLINTEL_SLACK_BASE_URL", f"http://127.0.0.1:{server.server_address[1]}/api/")
    monkeypatch.setenv("SCROLLINTEL_AUDIT_SLACK_CHANNEL", "#compliance")
    monkeypatch.setenv("SCROLLINTEL_AUDIT_SLACK_TOKEN", "xoxb-test-token")
    yield server
    server.shutdown()
    server.server_close()


def test_tree_head_is_posted_to_slack(slack: SlackStub, ledger_url: str) -> None:
    audit.record("a.b", "s:1", url=ledger_url)
    result = anchor(ledger_url)
    assert result.posted
    (request,) = slack.requests
    assert request["path"] == "/api/chat.postMessage"
    assert request["auth"] == "Bearer xoxb-test-token"
    assert request["body"]["channel"] == "#compliance"
    assert f"size 1, root {result.head.root_hash.hex()}" in request["body"]["text"]


def test_slack_failures_never_fail_the_anchor(
    slack: SlackStub, ledger_url: str, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    slack.reply = {"ok": False, "error": "channel_not_found"}
    with caplog.at_level(logging.WARNING):
        assert anchor(ledger_url).posted is False
    assert "audit tree head not posted to Slack: SlackApiError" in caplog.text
    monkeypatch.setenv("SCROLLINTEL_SLACK_BASE_URL", f"http://127.0.0.1:{free_port()}/api/")
    assert anchor(ledger_url).posted is False
    monkeypatch.delenv("SCROLLINTEL_AUDIT_SLACK_TOKEN")
    with caplog.at_level(logging.WARNING):
        assert anchor(ledger_url).posted is False
    assert "no token (connection 'slack_api_default')" in caplog.text
    assert "xoxb-test-token" not in caplog.text
