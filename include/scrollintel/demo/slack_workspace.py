"""The demo Slack workspace: a local stand-in for Slack's Web API and its interactivity callbacks (FastAPI).

Slack is unreachable here, so the platform's Slack client (slack-sdk's ``WebClient`` with
``base_url=<this app>/api/``, set as the ``base_url`` extra of the Airflow connection
``slack_api_default``) talks to this app. It answers the Web API methods the platform uses, as
Slack answers them (HTTP 200, ``{"ok": true, ...}`` or ``{"ok": false, "error": "..."}``)::

    POST /api/auth.test                   who the bot token is
    POST /api/chat.postMessage            channel (#name or id), text, blocks, thread_ts -> channel id, ts, message
    POST /api/chat.update                 channel, ts, text, blocks: replaces the message
    POST /api/chat.postEphemeral          channel, user, text, blocks -> message_ts
    GET  /api/users.info                  user -> the demo user
    GET  /api/conversations.history       channel -> its messages, newest first

Every method needs the bot token (``Authorization: Bearer <token>``, or a ``token`` field):
``not_authed`` without one, ``invalid_auth`` with another. Messages live in memory, per channel;
an update replaces the message's text and blocks. Channels are the ``slack_channel`` of every team
in ``governance/teams.yaml``, with Slack-like ids (``C`` and 8 hex digits of the name).

**The page** (``GET /``) lists the channels' messages with their buttons, as the user chosen at the
top (``?as=<Slack user id>``: the ``slack_user`` of each teams.yaml member, and one user mapped to
nobody). Pressing a button makes this app send, server-side, the signed interactivity request
Slack sends: form-encoded ``payload=<json>`` of a ``block_actions`` payload (``user.id``,
``actions[0].action_id``/``value``, ``response_url``, ``container.message_ts``, ``channel.id``)
with ``X-Slack-Request-Timestamp`` and ``X-Slack-Signature: v0=<HMAC-SHA256 of v0:ts:body>``,
to the platform's interactivity URL. The page shows what the platform answered.

**response_url** (``POST /response/<token>``, one per press): JSON ``text``/``blocks`` with
``replace_original`` (replace the message), ``delete_original``, ``response_type: in_channel``
(a new message), else an ephemeral message only the presser sees; answers ``ok`` like Slack.

**A slow Slack** (``POST /demo/latency`` with ``{"method": "chat.postMessage", "seconds": 8}``;
0 resets): the method takes effect at once and answers that much later, as a slow Slack does.
The end-to-end approval test uses it to hold a gate's task in its notifier, running, while its
request is already visible and pressable: the window in which an answer can beat the task's wait.

The page has no login: it is a demo on loopback, as Slack's own client would be the user's.
"""

from __future__ import annotations

import asyncio
import hashlib
import html
import json
import logging
import re
import secrets
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qs, quote, urlencode

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, JSONResponse, PlainTextResponse, RedirectResponse, Response

log = logging.getLogger(__name__)

#: Environment of ``scrollintel demo serve-slack``.
ENV_BOT_TOKEN = "SCROLLINTEL_SLACK_BOT_TOKEN"  # noqa: S105 - the variable's name
ENV_SIGNING_SECRET = "SCROLLINTEL_SLACK_SIGNING_SECRET"  # noqa: S105 - the variable's name
ENV_INTERACTIVITY_URL = "SCROLLINTEL_SLACK_INTERACTIVITY_URL"
#: Where the platform's interactivity endpoint is on a local platform (`make run`).
DEFAULT_INTERACTIVITY_URL = "http://127.0.0.1:8080/scrollintel/slack/interactivity"
TEAM_ID = "T0DEMO"
BOT_USER_ID = "U0SCROLLBOT"
BOT_ID = "B0SCROLLBOT"
UNMAPPED_USER_ID = "U0OUTSIDER"
#: Seconds the workspace waits for the platform's acknowledgement (Slack waits 3).
ACK_TIMEOUT_S = 3.0
#: Longest delay a Web API method can be given (``POST /demo/latency``).
MAX_LATENCY_S = 60.0


@dataclass(frozen=True)
class DemoUser:
    """A Slack user of the demo workspace; ``airflow_user`` is who teams.yaml maps it to (None: nobody)."""

    id: str
    name: str
    airflow_user: str | None = None
    team: str | None = None


@dataclass
class Message:
    """A message in a channel (``user`` set: an ephemeral message only that user sees)."""

    ts: str
    text: str
    blocks: list[dict[str, Any]]
    thread_ts: str | None = None
    user: str | None = None
    edited: bool = False

    def as_slack(self) -> dict[str, Any]:
        """The message as the Web API returns it."""
        body: dict[str, Any] = {"type": "message", "ts": self.ts, "text": self.text, "blocks": self.blocks}
        body |= {"user": BOT_USER_ID, "bot_id": BOT_ID} if self.user is None else {"user": self.user}
        if self.thread_ts:
            body["thread_ts"] = self.thread_ts
        if self.edited:
            body["edited"] = {"user": BOT_USER_ID, "ts": self.ts}
        return body


@dataclass
class Press:
    """A button pressed on the page, and what the platform answered."""

    user: str
    action_id: str
    channel: str
    message_ts: str
    status: int | None
    seconds: float
    detail: str = ""


@dataclass
class Workspace:
    """The in-memory state: channels (name -> id), messages per channel id, response URLs, presses."""

    bot_token: str
    signing_secret: str
    interactivity_url: str
    users: dict[str, DemoUser]
    channels: dict[str, str] = field(default_factory=dict)
    messages: dict[str, list[Message]] = field(default_factory=dict)
    responses: dict[str, tuple[str, str, str]] = field(default_factory=dict)
    presses: list[Press] = field(default_factory=list)
    latency: dict[str, float] = field(default_factory=dict)
    """Seconds a Web API method takes to answer after it took effect (a slow Slack, for tests)."""
    _last_ts: float = 0.0

    def add_channel(self, name: str) -> str:
        """Declare ``#name``; its Slack-like id."""
        name = name.lstrip("#")
        channel_id = "C" + hashlib.sha256(name.encode()).hexdigest()[:8].upper()
        self.channels[name] = channel_id
        self.messages.setdefault(channel_id, [])
        return channel_id

    def channel_id(self, given: object) -> str | None:
        """The id of a channel given by ``#name``, ``name`` or id; None when unknown."""
        if not isinstance(given, str):
            return None
        if given in self.messages:
            return given
        return self.channels.get(given.lstrip("#"))

    def channel_name(self, channel_id: str) -> str:
        """The name of a channel id (the id itself when unknown)."""
        return next((name for name, known in self.channels.items() if known == channel_id), channel_id)

    def next_ts(self) -> str:
        """A new message ts: seconds with microseconds, strictly increasing like Slack's."""
        now = max(time.time(), self._last_ts + 0.000001)
        self._last_ts = now
        return f"{now:.6f}"

    def find(self, channel_id: str, ts: str) -> Message | None:
        """The non-ephemeral message ``ts`` of a channel."""
        return next((m for m in self.messages.get(channel_id, []) if m.ts == ts and m.user is None), None)


# -- the Web API ----------------------------------------------------------------------------------


def _ok(**body: Any) -> JSONResponse:
    return JSONResponse({"ok": True, **body})


def _error(error: str, **extra: Any) -> JSONResponse:
    """Slack's failure shape: HTTP 200 with ``ok: false``."""
    return JSONResponse({"ok": False, "error": error, **extra})


async def _arguments(request: Request) -> dict[str, Any]:
    """The method's arguments from the query string, a JSON body or a form body, as slack-sdk sends them."""
    args: dict[str, Any] = dict(request.query_params)
    body = await request.body()
    if not body:
        return args
    content_type = request.headers.get("content-type", "")
    try:
        if content_type.startswith("application/json"):
            parsed = json.loads(body)
            if isinstance(parsed, dict):
                args |= parsed
        else:
            args |= {key: values[0] for key, values in parse_qs(body.decode()).items()}
    except ValueError:
        return args
    return args


def _blocks(value: object) -> list[dict[str, Any]] | None:
    if isinstance(value, str):  # a form body carries blocks as a JSON string
        try:
            value = json.loads(value)
        except ValueError:
            return None
    return value if isinstance(value, list) and all(isinstance(b, dict) for b in value) else None


def _api(workspace: Workspace, method: str, args: dict[str, Any]) -> JSONResponse:
    if method == "auth.test":
        return _ok(url="http://demo.slack.local/", team="ScrollIntel demo", user="scrollintel", team_id=TEAM_ID,
                   user_id=BOT_USER_ID, bot_id=BOT_ID)  # fmt: skip
    if method == "users.info":
        user = workspace.users.get(str(args.get("user", "")))
        if user is None:
            return _error("user_not_found")
        return _ok(user={"id": user.id, "team_id": TEAM_ID, "name": user.name, "real_name": user.name,
                         "is_bot": False, "profile": {"display_name": user.name}})  # fmt: skip
    channel = workspace.channel_id(args.get("channel"))
    if channel is None:
        return _error("channel_not_found")
    return _channel_api(workspace, method, channel, args)


def _channel_api(workspace: Workspace, method: str, channel: str, args: dict[str, Any]) -> JSONResponse:
    if method == "conversations.history":
        history = [m.as_slack() for m in reversed(workspace.messages[channel]) if m.user is None]
        return _ok(messages=history, has_more=False)
    text = args.get("text")
    blocks = _blocks(args.get("blocks")) if "blocks" in args else []
    if blocks is None:
        return _error("invalid_blocks")
    if not text and not blocks:
        return _error("no_text")
    text = str(text or "")
    if method == "chat.postMessage":
        thread_ts = args.get("thread_ts")
        if thread_ts is not None and workspace.find(channel, str(thread_ts)) is None:
            return _error("thread_not_found")
        message = Message(workspace.next_ts(), text, blocks, thread_ts=str(thread_ts) if thread_ts else None)
        workspace.messages[channel].append(message)
        return _ok(channel=channel, ts=message.ts, message=message.as_slack())
    if method == "chat.update":
        found = workspace.find(channel, str(args.get("ts", "")))
        if found is None:
            return _error("message_not_found")
        found.text, found.blocks, found.edited = text, blocks, True
        return _ok(channel=channel, ts=found.ts, text=found.text, message=found.as_slack())
    if method == "chat.postEphemeral":
        user_id = str(args.get("user", ""))
        if user_id not in workspace.users:
            return _error("user_not_found")
        message = Message(workspace.next_ts(), text, blocks, user=user_id)
        workspace.messages[channel].append(message)
        return _ok(message_ts=message.ts)
    return _error("unknown_method")


API_METHODS = frozenset(
    {"auth.test", "users.info", "conversations.history", "chat.postMessage", "chat.update", "chat.postEphemeral"}
)


def _token(request: Request, args: Mapping[str, Any]) -> str | None:
    scheme, _, credentials = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() == "bearer" and credentials.strip():
        return credentials.strip()
    token = args.get("token")
    return str(token) if token else None


# -- pressing a button -------------------------------------------------------------------------------


def interactivity_body(
    workspace: Workspace,
    *,
    user: DemoUser,
    channel: str,
    message: Message,
    action: Mapping[str, Any],
    response_url: str,
) -> bytes:
    """The form body Slack posts for a button press: ``payload=<block_actions JSON>``."""
    payload = {
        "type": "block_actions",
        "team": {"id": TEAM_ID, "domain": "scrollintel-demo"},
        "user": {"id": user.id, "username": user.name, "name": user.name, "team_id": TEAM_ID},
        "api_app_id": "A0SCROLLINTEL",
        "token": "deprecated-verification-token",
        "container": {"type": "message", "message_ts": message.ts, "channel_id": channel, "is_ephemeral": False},
        "trigger_id": f"{int(time.time())}.{secrets.randbelow(10**9)}",
        "channel": {"id": channel, "name": workspace.channel_name(channel)},
        "message": message.as_slack(),
        "response_url": response_url,
        "actions": [
            {
                "type": "button",
                "action_id": action.get("action_id"),
                "block_id": action.get("block_id", ""),
                "text": action.get("text", {"type": "plain_text", "text": ""}),
                "value": action.get("value", ""),
                "style": action.get("style"),
                "action_ts": f"{time.time():.6f}",
            }
        ],
    }
    return urlencode({"payload": json.dumps(payload, separators=(",", ":"))}).encode()


def signed_headers(signing_secret: str, body: bytes, timestamp: int | None = None) -> dict[str, str]:
    """Slack's request signature headers for ``body``."""
    import hmac

    stamp = str(int(time.time()) if timestamp is None else timestamp)
    digest = hmac.new(signing_secret.encode(), f"v0:{stamp}:".encode() + body, hashlib.sha256).hexdigest()
    return {
        "Content-Type": "application/x-www-form-urlencoded",
        "X-Slack-Request-Timestamp": stamp,
        "X-Slack-Signature": f"v0={digest}",
    }


def _button(message: Message, action_id: str, value: str) -> dict[str, Any] | None:
    for block in message.blocks:
        if block.get("type") != "actions":
            continue
        for element in block.get("elements", []):
            wanted = element.get("action_id") == action_id and element.get("value") == value
            if element.get("type") == "button" and wanted:
                return {**element, "block_id": block.get("block_id", "")}
    return None


async def press(
    workspace: Workspace, public_url: str, *, user_id: str, channel: str, ts: str, action_id: str, value: str
) -> Press:
    """Send the signed interactivity request for a press of a button of message ``ts``; record the answer."""
    import httpx

    user = workspace.users.get(user_id)
    message = workspace.find(channel, ts)
    button = _button(message, action_id, value) if message is not None else None
    if user is None or message is None or button is None:
        record = Press(user_id, action_id, channel, ts, None, 0.0, "no such user, message or button")
        workspace.presses.append(record)
        return record
    token = secrets.token_urlsafe(16)
    workspace.responses[token] = (channel, ts, user.id)
    response_url = f"{public_url.rstrip('/')}/response/{token}"
    body = interactivity_body(
        workspace, user=user, channel=channel, message=message, action=button, response_url=response_url
    )
    started = time.perf_counter()
    try:
        async with httpx.AsyncClient(timeout=ACK_TIMEOUT_S) as client:
            answer = await client.post(
                workspace.interactivity_url, content=body, headers=signed_headers(workspace.signing_secret, body)
            )
        record = Press(user.id, action_id, channel, ts, answer.status_code, time.perf_counter() - started,
                       answer.text[:300])  # fmt: skip
    except httpx.HTTPError as err:
        record = Press(user.id, action_id, channel, ts, None, time.perf_counter() - started, f"not delivered: {err}")
    workspace.presses.append(record)
    return record


def apply_response(workspace: Workspace, token: str, body: Mapping[str, Any]) -> bool:
    """Apply a ``response_url`` post; False when the URL is unknown."""
    target = workspace.responses.get(token)
    if target is None:
        return False
    channel, ts, user_id = target
    text = str(body.get("text") or "")
    blocks = _blocks(body.get("blocks")) or []
    original = workspace.find(channel, ts)
    if body.get("delete_original") and original is not None:
        workspace.messages[channel].remove(original)
    elif body.get("replace_original") and original is not None:
        original.text, original.blocks, original.edited = text, blocks, True
    elif body.get("response_type") == "in_channel":
        workspace.messages[channel].append(Message(workspace.next_ts(), text, blocks))
    else:
        workspace.messages[channel].append(Message(workspace.next_ts(), text, blocks, user=user_id))
    return True


# -- the page ----------------------------------------------------------------------------------------------

_STYLE = """
body{font:14px/1.45 system-ui,sans-serif;margin:0;background:#f8f8f8;color:#1d1c1d}
header{background:#3f0e40;color:#fff;padding:10px 16px}header a{color:#fff;margin-right:10px}
header a.me{font-weight:bold;text-decoration:underline}main{padding:16px;max-width:960px}
section.channel{background:#fff;border:1px solid #ddd;border-radius:6px;margin-bottom:16px;padding:8px 12px}
.msg{border-top:1px solid #eee;padding:8px 0}.msg.eph{background:#fffbe6}.ts{color:#888;font-size:12px}
pre{background:#f4f4f4;padding:6px;overflow:auto}button{margin-right:6px;padding:4px 12px;cursor:pointer}
button.primary{background:#007a5a;color:#fff;border:0}button.danger{background:#e01e5a;color:#fff;border:0}
table{border-collapse:collapse}td,th{padding:2px 8px;border-bottom:1px solid #eee;text-align:left}
"""


#: Slack's inline tokens: ``<!date^<epoch>^<format>|<fallback>>`` and ``<url|label>``.
_TOKEN = re.compile(r"<(?:!date\^(\d{1,12})\^[^|>]*(?:\|[^>]*)?|(https?://[^|>\s]+)(?:\|([^>]*))?)>")
_BOLD = re.compile(r"\*([^*\n]+)\*")


def _mrkdwn(text: str) -> str:
    """Slack's mrkdwn, shown simply: code blocks, bold, links and dates (in UTC); the rest escaped."""
    parts = text.split("```")
    out = []
    for index, part in enumerate(parts):
        if index % 2:
            out.append(f"<pre>{html.escape(html.unescape(part).strip())}</pre>")
        else:
            out.append(_inline(part))
    return "".join(out)


def _inline(text: str) -> str:
    """Tokens found in Slack's text (their ``<`` and ``>`` are literal; the text's own are ``&lt;``)."""
    out, position = [], 0
    for match in _TOKEN.finditer(text):
        out.append(_plain(text[position : match.start()]))
        epoch, url, label = match.groups()
        if epoch is not None:
            when = datetime.fromtimestamp(min(int(epoch), 253402300799), UTC)
            out.append(f'<time datetime="{when.isoformat()}">{when:%Y-%m-%d %H:%M} UTC</time>')
        else:
            shown = html.escape(html.unescape(label or url))
            out.append(f'<a href="{html.escape(html.unescape(url), quote=True)}">{shown}</a>')
        position = match.end()
    out.append(_plain(text[position:]))
    return "".join(out)


def _plain(text: str) -> str:
    return _BOLD.sub(r"<b>\1</b>", html.escape(html.unescape(text))).replace("\n", "<br>")


def _render_block(block: Mapping[str, Any], hidden: Mapping[str, str]) -> str:
    kind = block.get("type")
    if kind == "header":
        return f"<h4>{html.escape(str(block.get('text', {}).get('text', '')))}</h4>"
    if kind == "section":
        parts = [_mrkdwn(str(block["text"].get("text", "")))] if isinstance(block.get("text"), dict) else []
        parts += [f"<div>{_mrkdwn(str(f.get('text', '')))}</div>" for f in block.get("fields", []) or []]
        return "<div>" + "".join(parts) + "</div>"
    if kind == "context":
        texts = " ".join(_mrkdwn(str(e.get("text", ""))) for e in block.get("elements", []))
        return f"<div class=ts>{texts}</div>"
    if kind == "actions":
        forms = []
        for element in block.get("elements", []):
            if element.get("type") != "button":
                continue
            fields = {**hidden, "action_id": str(element.get("action_id", "")), "value": str(element.get("value", ""))}
            inputs = "".join(
                f'<input type=hidden name="{html.escape(k)}" value="{html.escape(v)}">' for k, v in fields.items()
            )
            label = html.escape(str(element.get("text", {}).get("text", "")))
            style = html.escape(str(element.get("style", "")))
            forms.append(f'<form method=post action="/demo/press" style="display:inline">{inputs}'
                         f'<button class="{style}">{label}</button></form>')  # fmt: skip
        return "<div>" + "".join(forms) + "</div>"
    return ""


def render_page(workspace: Workspace, acting_as: str) -> str:
    """The workspace page: who you are, each channel's messages with their buttons, the last presses."""
    users = "".join(
        f'<a class="{"me" if user.id == acting_as else ""}" href="/?as={quote(user.id)}">{html.escape(user.name)}</a>'
        for user in workspace.users.values()
    )
    me = workspace.users.get(acting_as)
    who = (
        f"{html.escape(me.name)} ({me.id}) → Airflow user {html.escape(me.airflow_user or 'none: not mapped')}"
        if me
        else "nobody"
    )
    channels = []
    for name, channel_id in sorted(workspace.channels.items()):
        rows = []
        for message in workspace.messages[channel_id]:
            if message.user is not None and message.user != acting_as:
                continue
            hidden = {"channel": channel_id, "ts": message.ts, "user": acting_as}
            body = "".join(_render_block(block, hidden) for block in message.blocks) or _mrkdwn(message.text)
            label = "only visible to you · " if message.user else ""
            label += "edited · " if message.edited else ""
            thread = f" · reply in thread {message.thread_ts}" if message.thread_ts else ""
            rows.append(
                f'<div class="msg{" eph" if message.user else ""}"><div class=ts>{label}ts {message.ts}{thread}</div>'
                f"{body}</div>"
            )
        channels.append(
            f"<section class=channel><h3>#{html.escape(name)} <span class=ts>{channel_id}</span></h3>"
            + ("".join(rows) or "<div class=ts>no messages</div>")
            + "</section>"
        )
    presses = "".join(
        f"<tr><td>{html.escape(p.user)}</td><td>{html.escape(p.action_id)}</td><td>{p.status or '—'}</td>"
        f"<td>{p.seconds * 1000:.0f} ms</td><td>{html.escape(p.detail)}</td></tr>"
        for p in reversed(workspace.presses[-20:])
    )
    return (
        "<!doctype html><html><head><meta charset=utf-8><title>Demo Slack workspace</title>"
        f"<style>{_STYLE}</style></head><body><header><strong>Demo Slack workspace</strong> · act as: {users}"
        f"<div>You are {who}</div></header><main>{''.join(channels)}"
        "<h3>Button presses sent to the platform</h3><table><tr><th>user</th><th>action</th><th>status</th>"
        f"<th>ack</th><th>answer</th></tr>{presses}</table></main></body></html>"
    )


# -- the app -----------------------------------------------------------------------------------------


def demo_users(teams: Any = None) -> dict[str, DemoUser]:
    """The demo Slack users: each teams.yaml member with a ``slack_user``, and one user mapped to nobody."""
    if teams is None:
        from scrollintel.config.loader import load_governance

        teams = load_governance().teams
    users: dict[str, DemoUser] = {}
    for team in teams.teams:
        for member in team.members:
            if member.slack_user and member.slack_user not in users:
                users[member.slack_user] = DemoUser(member.slack_user, member.id, member.id, team.id)
    users[UNMAPPED_USER_ID] = DemoUser(UNMAPPED_USER_ID, "outsider")
    return users


def create_slack_workspace(
    *,
    bot_token: str,
    signing_secret: str,
    interactivity_url: str = DEFAULT_INTERACTIVITY_URL,
    public_url: str = "http://127.0.0.1:8766",
    users: Mapping[str, DemoUser] | None = None,
    channels: Sequence[str] | None = None,
) -> FastAPI:
    """The demo workspace app; ``public_url`` is where the platform reaches it (for ``response_url``).

    Without ``users`` or ``channels``, they come from ``governance/teams.yaml``.
    """
    if not bot_token or not signing_secret:
        raise ValueError("the demo Slack workspace needs a bot token and a signing secret")
    if users is None or channels is None:
        from scrollintel.config.loader import load_governance

        teams = load_governance().teams
        users = demo_users(teams) if users is None else users
        channels = [team.slack_channel for team in teams.teams] if channels is None else channels
    workspace = Workspace(bot_token, signing_secret, interactivity_url, dict(users))
    for name in channels:
        workspace.add_channel(name)
    app = FastAPI(title="Demo Slack workspace", docs_url=None, redoc_url=None, openapi_url=None)
    app.state.workspace = workspace

    @app.api_route("/api/{method}", methods=["GET", "POST"])
    async def web_api(method: str, request: Request) -> JSONResponse:
        args = await _arguments(request)
        token = _token(request, args)
        if method not in API_METHODS:
            return _error("unknown_method")
        if token is None:
            return _error("not_authed")
        if not secrets.compare_digest(token.encode(), workspace.bot_token.encode()):
            return _error("invalid_auth")
        answer = _api(workspace, method, args)
        if workspace.latency.get(method):  # the call took effect; its answer is slow to come back
            await asyncio.sleep(workspace.latency[method])
        return answer

    @app.post("/response/{token}")
    async def response_url(token: str, request: Request) -> Response:
        try:
            body = json.loads(await request.body())
        except ValueError:
            return PlainTextResponse("invalid_payload", status_code=400)
        if not isinstance(body, dict):
            return PlainTextResponse("invalid_payload", status_code=400)
        if not apply_response(workspace, token, body):
            return PlainTextResponse("expired_url", status_code=404)
        return PlainTextResponse("ok")

    @app.get("/", response_class=HTMLResponse)
    async def page(request: Request) -> HTMLResponse:
        acting_as = request.query_params.get("as") or next(iter(workspace.users), "")
        return HTMLResponse(render_page(workspace, acting_as))

    @app.post("/demo/press")
    async def press_button(request: Request) -> Response:
        form = {key: values[0] for key, values in parse_qs((await request.body()).decode()).items()}
        await press(
            workspace,
            public_url,
            user_id=form.get("user", ""),
            channel=form.get("channel", ""),
            ts=form.get("ts", ""),
            action_id=form.get("action_id", ""),
            value=form.get("value", ""),
        )
        return RedirectResponse(f"/?as={quote(form.get('user', ''))}", status_code=303)

    @app.post("/demo/latency")
    async def set_latency(request: Request) -> JSONResponse:
        """Make a Web API method answer ``seconds`` late (0 resets): a slow Slack, for tests and demos."""
        try:
            body = json.loads(await request.body())
            method, seconds = str(body["method"]), float(body["seconds"])
        except (ValueError, TypeError, KeyError):
            return JSONResponse({"error": 'expected {"method": <Web API method>, "seconds": <0-60>}'}, 400)
        if method not in API_METHODS or not 0 <= seconds <= MAX_LATENCY_S:
            return JSONResponse({"error": f"unknown method {method!r} or seconds outside 0-{MAX_LATENCY_S:g}"}, 400)
        workspace.latency[method] = seconds
        return JSONResponse({"latency": workspace.latency})

    @app.get("/demo/messages")
    async def all_messages() -> dict[str, Any]:
        """Every channel's messages (ephemeral ones with their user), and the presses: for tests and scripts."""
        return {
            "channels": {
                name: [
                    m.as_slack() | {"ephemeral": m.user is not None, "channel": channel_id}
                    for m in workspace.messages[channel_id]
                ]
                for name, channel_id in workspace.channels.items()
            },
            "presses": [p.__dict__ for p in workspace.presses],
        }

    @app.get("/health")
    async def health() -> dict[str, str]:
        return {"status": "ok"}

    return app
