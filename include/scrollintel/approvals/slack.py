"""The Slack side of approval gates: Block Kit messages, the notifier, and Slack's signed interactivity requests.

**Messages.** :func:`request_blocks` builds the message a request posts to the approver team's
channel (subject, summary, details, for a schema change the column diff as a table, who asked,
the deadline, links to the Airflow task and the Approvals page, Approve and Reject buttons);
:func:`outcome_blocks` replaces it once decided or expired (no buttons left);
:func:`reminder_blocks` is posted in the request's thread before the deadline. Each button's
``value`` is the request's identity, :meth:`RequestIdentity.to_value`: the compact JSON array
``["<dag_id>","<run_id>","<task_id>",<map_index>]``; its ``action_id`` is :data:`APPROVE_ACTION`
or :data:`REJECT_ACTION`.

**Notifier.** :class:`SlackNotifier` posts and updates through a ``slack_sdk.WebClient`` from the
Airflow Slack connection :data:`SLACK_CONN_ID` (the provider's ``SlackHook``: the password is the
bot token, the extra ``base_url`` points the client elsewhere than ``https://slack.com/api/``,
which is how the demo Slack workspace is used). The production path differs only in that URL.

**Interactivity.** A button press reaches the platform as Slack sends it: a form-encoded
``payload=<json>`` of type ``block_actions``, signed ``X-Slack-Signature: v0=<hex HMAC-SHA256 of
"v0:<timestamp>:<body>">`` with the app's signing secret, ``X-Slack-Request-Timestamp``.
:func:`verify_signature` checks it with slack-sdk's ``SignatureVerifier`` (300 s window) and
returns False for anything it cannot verify (slack-sdk 3.47 raises on a non-integer or huge
timestamp or a non-ASCII signature); :func:`parse_interactivity` turns a verified body into a
:class:`SlackAnswer` or raises :class:`InvalidInteraction`. The signing secret is the extra
:data:`SIGNING_SECRET_EXTRA` of the same Slack connection (:func:`signing_secret`).
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import cached_property
from typing import TYPE_CHECKING, Any, Literal
from urllib.parse import parse_qs, quote

if TYPE_CHECKING:
    from slack_sdk import WebClient

log = logging.getLogger(__name__)

#: The Airflow connection of the Slack app: password = bot token, extras ``base_url`` and ``signing_secret``.
SLACK_CONN_ID = "slack_api_default"
#: The extra of :data:`SLACK_CONN_ID` holding the app's signing secret (Slack app > Basic Information).
SIGNING_SECRET_EXTRA = "signing_secret"  # noqa: S105 - the name of the extra, not a secret
#: Slack's replay window: a request signed longer ago (or further ahead) than this is refused.
MAX_SIGNATURE_AGE_S = 300
#: Seconds a resolved signing secret is reused (every button press needs it; it rarely changes).
SECRET_CACHE_SECONDS = 30.0
APPROVE_ACTION = "scrollintel_approve"
REJECT_ACTION = "scrollintel_reject"
CHOICES: Mapping[str, Literal["Approve", "Reject"]] = {APPROVE_ACTION: "Approve", REJECT_ACTION: "Reject"}
#: Slack's limit on a button value; Airflow ids are at most 250 characters each.
MAX_BUTTON_VALUE = 2000
MAX_ID_LENGTH = 250
#: Block Kit limits: a section's text, a header's text.
MAX_SECTION_TEXT = 3000
MAX_HEADER_TEXT = 150
#: The interactivity form carries one field; anything with many fields is not Slack.
MAX_FORM_FIELDS = 8

Outcome = Literal["approved", "rejected", "expired"]
AnswerHandler = Callable[["SlackAnswer"], None]


class InvalidInteraction(ValueError):
    """A verified interactivity request whose payload is not a button press on an approval message."""


# -- what a message is about ----------------------------------------------------------------------


@dataclass(frozen=True)
class RequestIdentity:
    """Which waiting task a request is: the Airflow task instance of the gate."""

    dag_id: str
    run_id: str
    task_id: str
    map_index: int = -1

    def to_value(self) -> str:
        """The button value: ``["<dag_id>","<run_id>","<task_id>",<map_index>]`` (compact JSON, at most 2000 chars)."""
        value = json.dumps([self.dag_id, self.run_id, self.task_id, self.map_index], separators=(",", ":"))
        if len(value) > MAX_BUTTON_VALUE:
            raise ValueError(f"the request identity takes {len(value)} characters; a Slack button value holds 2000")
        return value

    @classmethod
    def from_value(cls, value: object) -> RequestIdentity:
        """Parse a button value made by :meth:`to_value`; :class:`InvalidInteraction` when it is not one."""
        if not isinstance(value, str) or len(value) > MAX_BUTTON_VALUE:
            raise InvalidInteraction("the button value is not a request identity")
        try:
            items = json.loads(value)
        except ValueError as err:
            raise InvalidInteraction("the button value is not a request identity") from err
        if not (isinstance(items, list) and len(items) == 4):
            raise InvalidInteraction("the button value is not a request identity")
        dag_id, run_id, task_id, map_index = items
        if not all(isinstance(part, str) and 0 < len(part) <= MAX_ID_LENGTH for part in (dag_id, run_id, task_id)):
            raise InvalidInteraction("the button value names no valid dag_id, run_id and task_id")
        if type(map_index) is not int or not -1 <= map_index < 2**31:
            raise InvalidInteraction("the button value's map_index is not a whole number >= -1")
        return cls(dag_id, run_id, task_id, map_index)


@dataclass(frozen=True)
class SlackAnswer:
    """A verified button press on an approval message, as the decision handler receives it."""

    slack_user_id: str
    choice: Literal["Approve", "Reject"]
    dag_id: str
    run_id: str
    task_id: str
    map_index: int
    response_url: str | None
    channel_id: str | None
    message_ts: str | None

    @property
    def identity(self) -> RequestIdentity:
        """The request answered."""
        return RequestIdentity(self.dag_id, self.run_id, self.task_id, self.map_index)


@dataclass(frozen=True)
class ApprovalMessage:
    """What a request message says. ``column_changes`` are ``SchemaDiff.as_dicts()`` rows (schema changes)."""

    identity: RequestIdentity
    subject: str
    """The policy subject (``schema_change``...)."""
    summary: str
    requested_by: str
    deadline: datetime
    task_url: str
    approvals_url: str
    details: str | None = None
    column_changes: Sequence[Mapping[str, Any]] = field(default_factory=tuple)


@dataclass(frozen=True)
class PostedMessage:
    """Where a message landed: Slack's channel id and the message's ``ts``."""

    channel: str
    ts: str


# -- links ------------------------------------------------------------------------------------------


def task_url(airflow_base_url: str, identity: RequestIdentity) -> str:
    """The Airflow UI page of the gate's task instance (Airflow 3: ``/dags/<dag>/runs/<run>/tasks/<task>``)."""
    base = airflow_base_url.rstrip("/")
    url = f"{base}/dags/{quote(identity.dag_id, safe='')}/runs/{quote(identity.run_id, safe='')}"
    url += f"/tasks/{quote(identity.task_id, safe='')}"
    return url + (f"/mapped/{identity.map_index}" if identity.map_index >= 0 else "")


def approvals_url(airflow_base_url: str) -> str:
    """The governance app's Approvals page."""
    return f"{airflow_base_url.rstrip('/')}/scrollintel/approvals"


# -- Block Kit --------------------------------------------------------------------------------------


def escape(text: str) -> str:
    """Escape Slack's control characters (``&``, ``<``, ``>``) in text shown as mrkdwn."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _section(text: str) -> dict[str, Any]:
    return {"type": "section", "text": {"type": "mrkdwn", "text": _clip(text, MAX_SECTION_TEXT)}}


def _when(moment: datetime) -> str:
    """A date Slack shows in the reader's time zone, with UTC as the fallback text."""
    moment = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    fallback = moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")
    return f"<!date^{int(moment.timestamp())}^{{date_short_pretty}} {{time}}|{fallback}>"


def _link(url: str, label: str) -> str:
    return f"<{url.replace('|', '%7C').replace('>', '%3E')}|{escape(label)}>"


def column_diff_table(changes: Sequence[Mapping[str, Any]]) -> str:
    """The column changes as a fixed-width table (a code block in Slack): change, column, before, after."""
    rows = [("change", "column", "before", "after")]
    for change in changes:
        kind = str(change.get("kind", "?"))
        if kind == "type_changed" or (kind not in ("added", "removed") and change.get("old_type")):
            kind = "type" + ("" if change.get("compatible", True) else " (lossy)")
        before, after = change.get("old_type") or "—", change.get("new_type") or "—"
        rows.append((kind, str(change.get("column", "?")), str(before), str(after)))
    widths = [max(len(row[i]) for row in rows) for i in range(4)]
    lines = ["  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip() for row in rows]
    return "```\n" + escape("\n".join(lines)) + "\n```"


def _header(message: ApprovalMessage, prefix: str) -> dict[str, Any]:
    text = f"{prefix}{message.subject.replace('_', ' ')}: {message.identity.dag_id}"
    return {"type": "header", "text": {"type": "plain_text", "text": _clip(text, MAX_HEADER_TEXT), "emoji": True}}


def _body(message: ApprovalMessage) -> list[dict[str, Any]]:
    blocks = [_section(escape(message.summary))]
    if message.details:
        blocks.append(_section(escape(message.details)))
    if message.column_changes:
        blocks.append(_section("*Column changes*\n" + column_diff_table(message.column_changes)))
    return blocks


def _context(message: ApprovalMessage) -> dict[str, Any]:
    identity = message.identity
    task = f"{identity.task_id}" + (f"[{identity.map_index}]" if identity.map_index >= 0 else "")
    return {
        "type": "context",
        "elements": [
            {
                "type": "mrkdwn",
                "text": _clip(
                    f"{_link(message.task_url, f'{identity.dag_id} / {task}')} · run `{escape(identity.run_id)}` · "
                    f"{_link(message.approvals_url, 'Approvals page')}",
                    MAX_SECTION_TEXT,
                ),
            }
        ],
    }


def request_text(message: ApprovalMessage) -> str:
    """The notification text of a request (shown where blocks are not)."""
    return f"Approval requested ({message.subject}) by {message.requested_by}: {message.summary}"


def request_blocks(message: ApprovalMessage) -> list[dict[str, Any]]:
    """The message posted when a request opens: what, who asked, until when, links, Approve and Reject."""
    value = message.identity.to_value()
    return [
        _header(message, "Approval requested — "),
        *_body(message),
        {
            "type": "section",
            "fields": [
                {"type": "mrkdwn", "text": f"*Requested by*\n{escape(message.requested_by)}"},
                {"type": "mrkdwn", "text": f"*Answer before*\n{_when(message.deadline)} (then rejected)"},
            ],
        },
        _context(message),
        {
            "type": "actions",
            "block_id": "scrollintel_decision",
            "elements": [
                {
                    "type": "button",
                    "action_id": APPROVE_ACTION,
                    "text": {"type": "plain_text", "text": "Approve"},
                    "style": "primary",
                    "value": value,
                },
                {
                    "type": "button",
                    "action_id": REJECT_ACTION,
                    "text": {"type": "plain_text", "text": "Reject"},
                    "style": "danger",
                    "value": value,
                },
            ],
        },
    ]


_OUTCOME_WORDS = {"approved": "Approved", "rejected": "Rejected", "expired": "Expired"}


def outcome_text(message: ApprovalMessage, outcome: Outcome, decided_by: str | None) -> str:
    """The notification text of a decided or expired request."""
    who = f" by {decided_by}" if decided_by and outcome != "expired" else ""
    return f"{_OUTCOME_WORDS[outcome]}{who} ({message.subject}): {message.summary}"


def outcome_blocks(
    message: ApprovalMessage,
    outcome: Outcome,
    *,
    decided_by: str | None = None,
    decided_at: datetime | None = None,
    comment: str | None = None,
) -> list[dict[str, Any]]:
    """The request message once decided or expired: the same content, the outcome instead of the buttons."""
    when = _when(decided_at or datetime.now(UTC))
    if outcome == "expired":
        line = f":hourglass: *Expired* {when}: nobody answered before the deadline, so the request is rejected."
    else:
        icon = ":white_check_mark:" if outcome == "approved" else ":no_entry:"
        line = f"{icon} *{_OUTCOME_WORDS[outcome]}* by {escape(decided_by or 'unknown')} {when}"
    if comment:
        line += f"\n>{escape(comment)}"
    return [
        _header(message, f"{_OUTCOME_WORDS[outcome]} — "),
        *_body(message),
        {"type": "section", "fields": [{"type": "mrkdwn", "text": f"*Requested by*\n{escape(message.requested_by)}"}]},
        _context(message),
        _section(line),
    ]


def reminder_text(message: ApprovalMessage) -> str:
    """The notification text of a reminder."""
    return f"Reminder: approval still needed ({message.subject}): {message.summary}"


def reminder_blocks(message: ApprovalMessage) -> list[dict[str, Any]]:
    """A reminder in the request's thread: the deadline is near; the buttons are on the request above."""
    return [
        _section(
            f":alarm_clock: Still waiting for an answer on *{escape(message.subject.replace('_', ' '))}* "
            f"({escape(message.summary)}). It is rejected at {_when(message.deadline)} unless approved."
        ),
        _context(message),
    ]


# -- the notifier -------------------------------------------------------------------------------------


class SlackNotifier:
    """Post, update and remind through the Slack Web API; a ``SlackApiError`` from slack-sdk propagates."""

    def __init__(self, client: WebClient | None = None, *, conn_id: str = SLACK_CONN_ID) -> None:
        self._client = client
        self.conn_id = conn_id

    @cached_property
    def client(self) -> WebClient:
        """The given client, else the one of the Airflow Slack connection (``SlackHook``: token, ``base_url``)."""
        if self._client is not None:
            return self._client
        from airflow.providers.slack.hooks.slack import SlackHook

        return SlackHook(slack_conn_id=self.conn_id).client

    def post_request(self, channel: str, message: ApprovalMessage) -> PostedMessage:
        """Post a request to ``channel`` (a team's ``#channel`` or a channel id); where it landed."""
        response = self.client.chat_postMessage(
            channel=channel, text=request_text(message), blocks=request_blocks(message), unfurl_links=False
        )
        return PostedMessage(str(response["channel"]), str(response["ts"]))

    def post_outcome(
        self,
        posted: PostedMessage,
        message: ApprovalMessage,
        outcome: Outcome,
        *,
        decided_by: str | None = None,
        decided_at: datetime | None = None,
        comment: str | None = None,
    ) -> None:
        """Replace the request message by its outcome (``chat.update``): who decided, when, comment; no buttons."""
        self.client.chat_update(
            channel=posted.channel,
            ts=posted.ts,
            text=outcome_text(message, outcome, decided_by),
            blocks=outcome_blocks(message, outcome, decided_by=decided_by, decided_at=decided_at, comment=comment),
        )

    def post_reminder(self, posted: PostedMessage, message: ApprovalMessage) -> PostedMessage:
        """Post a reminder in the request's thread."""
        response = self.client.chat_postMessage(
            channel=posted.channel, thread_ts=posted.ts, text=reminder_text(message), blocks=reminder_blocks(message)
        )
        return PostedMessage(str(response["channel"]), str(response["ts"]))

    def tell(self, channel: str, slack_user_id: str, text: str) -> None:
        """An ephemeral message only ``slack_user_id`` sees in ``channel`` (``chat.postEphemeral``)."""
        self.client.chat_postEphemeral(channel=channel, user=slack_user_id, text=text)


def respond(
    response_url: str, text: str, *, ephemeral: bool = True, blocks: Sequence[Mapping[str, Any]] | None = None
) -> int:
    """Answer a button press through its ``response_url``: an ephemeral note, or (``ephemeral=False``) a replacement.

    Returns the HTTP status Slack gave.
    """
    from slack_sdk.webhook import WebhookClient

    response = WebhookClient(response_url, timeout=10).send(
        text=text,
        blocks=[dict(block) for block in blocks] if blocks is not None else None,
        response_type="ephemeral" if ephemeral else "in_channel",
        replace_original=not ephemeral,
    )
    return int(response.status_code)


# -- signed interactivity requests ------------------------------------------------------------------


class _FixedClock:
    def __init__(self, now: float) -> None:
        self._now = now

    def now(self) -> float:
        return self._now


def verify_signature(
    secret: str, body: bytes, timestamp: str | None, signature: str | None, *, now: float | None = None
) -> bool:
    """Whether ``body`` was signed by Slack with ``secret`` within :data:`MAX_SIGNATURE_AGE_S` of ``now``.

    slack-sdk's ``SignatureVerifier`` does the check (``v0=`` HMAC-SHA256 of ``v0:<timestamp>:<body>``,
    constant-time comparison). It raises on a non-integer or huge timestamp, on a non-ASCII
    signature and on a body that is not UTF-8: such headers are refused here first, and any
    exception it still raises is a False.
    """
    from slack_sdk.signature import Clock, SignatureVerifier

    if not secret or not timestamp or not signature:
        return False
    if len(timestamp) > 12 or not (timestamp.isascii() and timestamp.isdigit()):
        return False
    if len(signature) > 100 or not signature.isascii() or not signature.startswith("v0="):
        return False
    clock = Clock() if now is None else _FixedClock(now)
    try:
        return bool(SignatureVerifier(secret, clock).is_valid(body, timestamp, signature))  # type: ignore[arg-type]
    except Exception:  # whatever the verifier cannot handle is not a valid signature
        log.debug("Slack signature verifier raised; refusing the request", exc_info=True)
        return False


def sign(secret: str, body: bytes, timestamp: int | None = None) -> dict[str, str]:
    """The headers Slack sends with ``body`` (the demo workspace and tests sign this way)."""
    import hashlib
    import hmac

    stamp = str(int(time.time()) if timestamp is None else timestamp)
    digest = hmac.new(secret.encode(), f"v0:{stamp}:".encode() + body, hashlib.sha256).hexdigest()
    return {"X-Slack-Request-Timestamp": stamp, "X-Slack-Signature": f"v0={digest}"}


def _object(value: object, what: str) -> Mapping[str, Any]:
    if not isinstance(value, dict):
        raise InvalidInteraction(f"{what} is not an object")
    return value


def _optional_text(container: Mapping[str, Any], key: str) -> str | None:
    value = container.get(key)
    if value is None:
        return None
    if not isinstance(value, str) or len(value) > 2000:
        raise InvalidInteraction(f"{key} is not a string")
    return value


def parse_interactivity(body: bytes) -> SlackAnswer:
    """The button press in a (verified) interactivity body; :class:`InvalidInteraction` for anything else.

    The body is ``payload=<url-encoded JSON>``; the payload a ``block_actions`` with ``user.id``,
    ``actions[0]`` one of our two buttons, and optionally ``response_url``, ``channel.id`` and
    ``container.message_ts``.
    """
    try:
        form = parse_qs(body.decode("utf-8"), strict_parsing=True, max_num_fields=MAX_FORM_FIELDS)
    except ValueError as err:  # UnicodeDecodeError is a ValueError
        raise InvalidInteraction("the body is not a form") from err
    payloads = form.get("payload", [])
    if len(payloads) != 1:
        raise InvalidInteraction("the form carries no single payload field")
    try:
        payload = _object(json.loads(payloads[0]), "the payload")
    except (ValueError, RecursionError) as err:
        raise InvalidInteraction("the payload is not JSON") from err
    if payload.get("type") != "block_actions":
        raise InvalidInteraction("the payload is not a block_actions interaction")
    user_id = _object(payload.get("user"), "user").get("id")
    if not isinstance(user_id, str) or not 0 < len(user_id) <= 64:
        raise InvalidInteraction("the payload names no user")
    actions = payload.get("actions")
    if not isinstance(actions, list) or not actions:
        raise InvalidInteraction("the payload has no action")
    action = _object(actions[0], "the action")
    action_id = action.get("action_id")
    choice = CHOICES.get(action_id) if isinstance(action_id, str) else None
    if choice is None:
        raise InvalidInteraction("the action is not an approval button")
    identity = RequestIdentity.from_value(action.get("value"))
    response_url = _optional_text(payload, "response_url")
    if response_url is not None and not response_url.startswith(("https://", "http://")):
        raise InvalidInteraction("the response_url is not an HTTP URL")
    container = _object(payload.get("container") or {}, "container")
    channel = _object(payload.get("channel") or {}, "channel")
    return SlackAnswer(
        slack_user_id=user_id,
        choice=choice,
        dag_id=identity.dag_id,
        run_id=identity.run_id,
        task_id=identity.task_id,
        map_index=identity.map_index,
        response_url=response_url,
        channel_id=_optional_text(channel, "id") or _optional_text(container, "channel_id"),
        message_ts=_optional_text(container, "message_ts"),
    )


# -- the signing secret -------------------------------------------------------------------------------

_secret_cache: dict[str, tuple[float, str | None]] = {}
_secret_lock = threading.Lock()


def signing_secret(conn_id: str = SLACK_CONN_ID) -> str | None:
    """The signing secret (extra :data:`SIGNING_SECRET_EXTRA` of ``conn_id``), None when not configured.

    Resolved through Airflow's secrets backends at most every :data:`SECRET_CACHE_SECONDS`.
    """
    cached = _secret_cache.get(conn_id)
    if cached is not None and time.monotonic() - cached[0] < SECRET_CACHE_SECONDS:
        return cached[1]
    with _secret_lock:
        secret: str | None = None
        try:
            from airflow.models.connection import Connection

            conn = Connection.get_connection_from_secrets(conn_id)
            value = conn.extra_dejson.get(SIGNING_SECRET_EXTRA)
            secret = value.strip() if isinstance(value, str) and value.strip() else None
        except Exception:  # a missing connection: Slack requests cannot be verified
            log.warning("No Slack signing secret: connection %s is missing or unreadable", conn_id, exc_info=True)
        _secret_cache[conn_id] = (time.monotonic(), secret)
        return secret


def is_secret_cached(conn_id: str = SLACK_CONN_ID) -> bool:
    """Whether :func:`signing_secret` answers from its cache now (no I/O)."""
    cached = _secret_cache.get(conn_id)
    return cached is not None and time.monotonic() - cached[0] < SECRET_CACHE_SECONDS
