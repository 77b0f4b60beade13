"""HTTP for the REST and GraphQL connectors: one API behind an Airflow HTTP connection.

The connection gives the base URL (``host`` with a scheme, or ``schema`` + ``host`` + ``port``)
and the API key (``password``, sent as ``Authorization: Bearer <key>``). Optional ``extra`` keys:

- ``timeout``: seconds per request (default 30);
- ``headers``: extra request headers (never secrets: extras are not encrypted everywhere);
- ``retry``: overrides of :class:`RetryPolicy` fields, e.g. ``{"max_attempts": 5}``.

Retries: 408, 429 and 5xx answers (except 501 and 505) and transport errors (refused
connection, timeout, reset) are retried with exponential backoff and full jitter; a
``Retry-After`` header is honoured as given (seconds or an HTTP date). 401 and 403 fail at once
with :class:`SourceAuthError`: the same key would be refused again. Any other 4xx fails at once
with :class:`SourceError`. Nothing here logs the key, a query string or a response body.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, fields, replace
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import TYPE_CHECKING, Any

from scrollintel.exceptions import ConfigError
from scrollintel.ingest.connectors.errors import SourceAuthError, SourceError

if TYPE_CHECKING:
    import httpx
    from airflow.sdk import Connection

log = logging.getLogger(__name__)

DEFAULT_TIMEOUT_S = 30.0
_DETAIL_CHARS = 200


@dataclass(frozen=True)
class RetryPolicy:
    """How often and how long to retry a request that failed for a reason that may pass."""

    max_attempts: int = 8
    """Attempts in total (the first one included)."""
    backoff_base_s: float = 0.5
    """Upper bound of the first backoff; doubles with every attempt (full jitter below it)."""
    backoff_max_s: float = 60.0
    """Cap of one backoff."""
    max_retry_after_s: float = 300.0
    """A ``Retry-After`` longer than this fails the request instead of blocking the task."""

    def __post_init__(self) -> None:
        if self.max_attempts < 1:
            raise ConfigError(f"retry max_attempts must be >= 1, got {self.max_attempts}")
        if min(self.backoff_base_s, self.backoff_max_s, self.max_retry_after_s) < 0:
            raise ConfigError("retry durations must not be negative")

    def backoff(self, attempt: int, draw: float) -> float:
        """Delay after failed attempt ``attempt`` (1-based); ``draw`` is uniform in [0, 1)."""
        return draw * min(self.backoff_max_s, self.backoff_base_s * 2 ** (attempt - 1))

    @classmethod
    def from_extra(cls, extra: Mapping[str, Any]) -> RetryPolicy:
        """The policy with the connection extra's ``retry`` overrides applied."""
        overrides = extra.get("retry") or {}
        known = {f.name for f in fields(cls)}
        if not isinstance(overrides, Mapping) or set(overrides) - known:
            raise ConfigError(f"connection extra 'retry' must be a mapping with keys from {sorted(known)}")
        return replace(cls(), **overrides)


def parse_retry_after(value: str | None, now: datetime | None = None) -> float | None:
    """Seconds to wait from a ``Retry-After`` header (delta-seconds or HTTP date); None if absent or invalid."""
    if value is None or not value.strip():
        return None
    text = value.strip()
    try:
        return max(0.0, float(text))
    except ValueError:
        pass
    try:
        moment = parsedate_to_datetime(text)
    except (TypeError, ValueError):
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return max(0.0, (moment - (now or datetime.now(UTC))).total_seconds())


def base_url(connection: Connection) -> str:
    """The API's base URL from an Airflow HTTP connection (no trailing slash)."""
    host = (connection.host or "").strip()
    if not host:
        raise ConfigError(f"connection {connection.conn_id!r} has no host")
    if "://" in host:
        return host.rstrip("/")
    scheme = connection.schema if connection.schema in ("http", "https") else "https"
    port = f":{connection.port}" if connection.port else ""
    return f"{scheme}://{host}{port}".rstrip("/")


class HttpApi:
    """A JSON API reached through one Airflow connection, with retries (use as a context manager)."""

    def __init__(
        self,
        connection: Connection,
        *,
        policy: RetryPolicy | None = None,
        sleep: Callable[[float], None] = time.sleep,
        draw: Callable[[], float] = random.random,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        import httpx

        extra = connection.extra_dejson
        self.conn_id = connection.conn_id
        self.base_url = base_url(connection)
        self.policy = policy or RetryPolicy.from_extra(extra)
        self._sleep = sleep
        self._draw = draw
        headers = {"Accept": "application/json", "User-Agent": "scrollintel-ingest"}
        extra_headers = extra.get("headers") or {}
        if not isinstance(extra_headers, Mapping):
            raise ConfigError(f"connection {self.conn_id!r}: extra 'headers' must be a mapping")
        headers.update({str(k): str(v) for k, v in extra_headers.items()})
        if connection.password:
            headers["Authorization"] = f"Bearer {connection.password}"
        try:
            timeout = float(extra.get("timeout", DEFAULT_TIMEOUT_S))
        except (TypeError, ValueError) as err:
            raise ConfigError(f"connection {self.conn_id!r}: extra 'timeout' must be a number of seconds") from err
        self._client = httpx.Client(headers=headers, timeout=timeout, transport=transport, follow_redirects=True)
        #: Requests sent and retries made (for tests and run summaries).
        self.requests = 0
        self.retries = 0

    def __enter__(self) -> HttpApi:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Close the pooled connections."""
        self._client.close()

    def url(self, path: str) -> str:
        """Absolute URL of ``path`` (absolute URLs pass through)."""
        if "://" in path:
            return path
        return f"{self.base_url}/{path.lstrip('/')}" if path else self.base_url

    def get_json(self, path: str, *, params: Mapping[str, Any] | None = None) -> Any:
        """GET ``path`` and return its JSON body."""
        return _json_body(self.request("GET", path, params=params), "GET", self.url(path))

    def post_json(self, path: str, body: Any) -> Any:
        """POST ``body`` as JSON to ``path`` and return the JSON answer."""
        return _json_body(self.request("POST", path, json=body), "POST", self.url(path))

    def request(
        self, method: str, path: str, *, params: Mapping[str, Any] | None = None, json: Any = None
    ) -> httpx.Response:
        """Send a request, retrying what may pass; raise what will not."""
        import httpx

        url = self.url(path)
        where = f"{method} {url}"
        attempts = self.policy.max_attempts
        for attempt in range(1, attempts + 1):
            self.requests += 1
            try:
                response = self._client.request(method, url, params=params, json=json)
            except httpx.TransportError as err:
                if attempt == attempts:
                    raise SourceError(f"{where} failed after {attempt} attempts: {type(err).__name__}") from err
                self._wait(self.policy.backoff(attempt, self._draw()), where, type(err).__name__, attempt)
                continue
            status = response.status_code
            if status in (401, 403):
                raise SourceAuthError(self._refused(where, response))
            if _retryable(status):
                if attempt == attempts:
                    raise SourceError(f"{where} failed after {attempt} attempts: last answer HTTP {status}")
                retry_after = parse_retry_after(response.headers.get("Retry-After"))
                if retry_after is not None and retry_after > self.policy.max_retry_after_s:
                    raise SourceError(
                        f"{where}: HTTP {status} with Retry-After {retry_after:.0f} s, longer than the "
                        f"{self.policy.max_retry_after_s:.0f} s this task waits; the next run retries"
                    )
                delay = retry_after if retry_after is not None else self.policy.backoff(attempt, self._draw())
                self._wait(delay, where, f"HTTP {status}", attempt)
                continue
            if status >= 400:
                raise SourceError(f"{where} failed: HTTP {status} {response.reason_phrase} ({_detail(response)})")
            return response
        raise AssertionError("unreachable: the last attempt returns or raises")

    def _wait(self, delay: float, where: str, reason: str, attempt: int) -> None:
        self.retries += 1
        log.warning("%s: %s; retry %d/%d in %.2f s", where, reason, attempt, self.policy.max_attempts - 1, delay)
        self._sleep(delay)

    def _refused(self, where: str, response: httpx.Response) -> str:
        status = response.status_code
        if status == 401:
            hint = f"the API key (password of Airflow connection {self.conn_id!r}) is missing or wrong"
        else:
            hint = f"the API key of Airflow connection {self.conn_id!r} is not allowed to read this"
        return f"{where} was refused: HTTP {status} {response.reason_phrase} ({_detail(response)}); {hint}; not retried"


def _retryable(status: int) -> bool:
    """Answers that may pass: timeouts, rate limits and server errors (not "not implemented")."""
    return status in (408, 429) or (status >= 500 and status not in (501, 505))


def _detail(response: httpx.Response) -> str:
    """A short description of an error answer: its JSON error message, else its first characters."""
    try:
        body = response.json()
    except ValueError:
        body = None
    if isinstance(body, Mapping):
        error = body.get("error", body.get("message", body.get("detail")))
        errors = body.get("errors")
        if error is None and isinstance(errors, list) and errors:
            error = errors[0]  # GraphQL's shape
        if isinstance(error, Mapping):
            error = error.get("message", error.get("code"))
        if isinstance(error, str) and error:
            return error[:_DETAIL_CHARS]
    text = response.text.strip().replace("\n", " ")
    return text[:_DETAIL_CHARS] if text else "empty body"


def _json_body(response: httpx.Response, method: str, url: str) -> Any:
    try:
        return response.json()
    except ValueError as err:
        kind = response.headers.get("content-type", "no content type")
        raise SourceError(f"{method} {url} did not return JSON (HTTP {response.status_code}, {kind})") from err
