"""The ``marketing`` demo source: an HTTP API of campaign events (FastAPI).

Routes:

- ``GET /health``: unauthenticated liveness probe, never rate limited.
- ``GET /v1/events?cursor=&limit=``: events ordered by ``(occurred_at, event_id)``, at most
  1000 per page, in the envelope ``{"data": [...], "next_cursor": str | null, "has_more": bool}``.
  The cursor is opaque (URL-safe base64 of the last key returned); pass it back unchanged.
- ``GET /v1/campaigns``: the campaigns, same envelope, one page.

Every ``/v1`` request needs ``Authorization: Bearer <api key>`` (401 JSON error otherwise) and
is rate limited by a token bucket per API key (unauthenticated callers share one bucket per
client address): ``rate_limit_per_minute`` requests of burst, refilled evenly over a minute.
Every ``/v1`` response carries ``X-RateLimit-Limit`` (bucket size), ``X-RateLimit-Remaining``
(whole requests left now) and ``X-RateLimit-Reset`` (seconds until the bucket is full again);
a request over the limit gets 429 with ``Retry-After`` (seconds until one request is allowed).

Events are never stored: event ``i`` is computed from ``(seed, i)`` with the SplitMix64
mixing function, a bijection on 64-bit integers, so event ids are unique and the same seed
always serves the same events. ``occurred_at(i)`` lies in ``[start + i*step, start + (i+1)*step)``,
which makes time strictly increasing with ``i``; a cursor maps back to its position with one
division. The events end at :data:`~scrollintel.demo.AS_OF` and refer to customer ids
``1..n_customers`` of the ``shop`` source.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import logging
import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING, Annotated, Any, Literal

from fastapi import FastAPI, Query, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse

from scrollintel.demo import AS_OF, DEFAULT_SEED, demo_sizes
from scrollintel.exceptions import ConfigError

if TYPE_CHECKING:
    import numpy as np

log = logging.getLogger(__name__)

#: Environment variable holding the API key of ``scrollintel demo serve-marketing``.
ENV_API_KEY = "SCROLLINTEL_MARKETING_API_KEY"
#: Events served by default at scale 1.
DEFAULT_EVENTS = 150_000
MAX_PAGE_SIZE = 1000
DEFAULT_PAGE_SIZE = 100
CHANNELS = ("email", "social", "search", "display")
EVENT_TYPES = ("impression", "click", "conversion")
_EVENT_TYPE_CUMULATIVE = (0.86, 0.97)  # impression 86%, click 11%, conversion 3%
_WINDOW_S = 90 * 86_400
_AS_OF_S = int(AS_OF.timestamp())
_MASK64 = (1 << 64) - 1
# Cost ranges per channel: (impression min, max, click min, max), in currency units.
_CHANNEL_COSTS = {
    "email": (0.0005, 0.002, 0.05, 0.40),
    "social": (0.002, 0.012, 0.30, 1.80),
    "search": (0.001, 0.006, 0.60, 3.50),
    "display": (0.001, 0.008, 0.20, 1.20),
}
_CAMPAIGN_THEMES = (
    "Flash Sale", "Everyday Essentials", "Home Office", "Weekend Deals", "Gift Guide",
    "Fresh Start", "Loyalty Rewards", "Subscription Upgrade", "Win-back", "Product Launch",
    "Free Shipping Week", "Clearance", "Referral Bonus", "Kitchen Week",
)  # fmt: skip


@dataclass(frozen=True)
class Campaign:
    """A marketing campaign; events refer to it by ``campaign_id``."""

    campaign_id: str
    name: str
    channel: str
    objective: str
    started_on: date
    ended_on: date
    daily_budget: float
    currency: str

    def as_json(self) -> dict[str, Any]:
        """The API representation."""
        return {
            "campaign_id": self.campaign_id,
            "name": self.name,
            "channel": self.channel,
            "objective": self.objective,
            "started_on": self.started_on.isoformat(),
            "ended_on": self.ended_on.isoformat(),
            "daily_budget": self.daily_budget,
            "currency": self.currency,
        }


class InvalidCursorError(ValueError):
    """A cursor that this service did not issue."""


class EventSource:
    """The deterministic event stream: event ``i`` is a pure function of ``(seed, i)``."""

    def __init__(self, *, seed: int = DEFAULT_SEED, n_events: int = DEFAULT_EVENTS, n_customers: int | None = None):
        if n_events < 0:
            raise ConfigError(f"n_events must be >= 0, got {n_events}")
        self.seed = seed
        self.n_events = n_events
        self.n_customers = n_customers or demo_sizes(1.0).customers
        self.step = max(2, _WINDOW_S // max(n_events, 1))
        self.start = _AS_OF_S - n_events * self.step
        self._salt = _mix_int(seed & _MASK64)
        self.campaigns = _campaigns(seed, self.start)

    # -- single keys -------------------------------------------------------------------------

    def key(self, index: int) -> tuple[int, str]:
        """``(occurred_at epoch seconds, event_id)`` of event ``index``."""
        import numpy as np

        idx = np.array([index], dtype=np.uint64)
        return int(self._times(idx)[0]), _event_ids(self._hash(idx, 0))[0]

    def encode_cursor(self, index: int) -> str:
        """Opaque cursor positioned after event ``index``."""
        occurred, event_id = self.key(index)
        raw = json.dumps({"t": _iso(occurred), "id": event_id}, separators=(",", ":")).encode()
        return base64.urlsafe_b64encode(raw).decode().rstrip("=")

    def position_after(self, cursor: str) -> int:
        """Index of the first event whose key is greater than the cursor's key.

        Raises:
            InvalidCursorError: the cursor is not one this service issues.
        """
        try:
            padded = cursor + "=" * (-len(cursor) % 4)
            payload = json.loads(base64.urlsafe_b64decode(padded.encode("ascii")))
            occurred = int(datetime.strptime(payload["t"], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC).timestamp())
            event_id = str(payload["id"])
        except (ValueError, KeyError, TypeError, UnicodeEncodeError, binascii.Error) as err:
            raise InvalidCursorError("cursor is not valid; pass back next_cursor unchanged") from err
        if occurred < self.start:
            return 0
        candidate = (occurred - self.start) // self.step
        if candidate >= self.n_events:
            return self.n_events
        return candidate if self.key(candidate) > (occurred, event_id) else candidate + 1

    # -- pages -------------------------------------------------------------------------------

    def page(self, begin: int, limit: int) -> list[dict[str, Any]]:
        """Events ``begin .. begin+limit-1`` (clipped to the stream) as JSON-ready dicts."""
        import numpy as np

        end = min(self.n_events, begin + limit)
        if end <= begin:
            return []
        idx = np.arange(begin, end, dtype=np.uint64)
        times = self._times(idx)
        ids = _event_ids(self._hash(idx, 0))
        u_campaign = _unit(self._hash(idx, 2))
        u_type = _unit(self._hash(idx, 3))
        u_cost = _unit(self._hash(idx, 4))
        customer = 1 + (_unit(self._hash(idx, 5)) * self.n_customers).astype(np.int64)

        campaign = self._choose_campaigns(times, u_campaign)
        event_type = np.searchsorted(np.array(_EVENT_TYPE_CUMULATIVE), u_type, side="right")
        channel = [self.campaigns[c].channel for c in campaign]
        bounds = np.array([_CHANNEL_COSTS[ch] for ch in channel]).reshape(-1, 4)
        impression_cost = bounds[:, 0] + u_cost * (bounds[:, 1] - bounds[:, 0])
        click_cost = bounds[:, 2] + u_cost * (bounds[:, 3] - bounds[:, 2])
        cost = np.round(np.select([event_type == 0, event_type == 1], [impression_cost, click_cost], 0.0), 4)
        stamps = np.datetime_as_string(times.astype("datetime64[s]"), unit="s")
        return [
            {
                "event_id": ids[k],
                "customer_id": int(customer[k]),
                "campaign_id": self.campaigns[campaign[k]].campaign_id,
                "channel": channel[k],
                "event_type": EVENT_TYPES[event_type[k]],
                "occurred_at": f"{stamps[k]}Z",
                "cost": float(cost[k]),
            }
            for k in range(end - begin)
        ]

    # -- internals ---------------------------------------------------------------------------

    def _hash(self, idx: np.ndarray, stream: int) -> np.ndarray:
        import numpy as np

        # index * 8 + stream is injective for index < 2**61, and the mix is a bijection.
        return _mix(idx * np.uint64(8) + np.uint64(stream) + np.uint64(self._salt))

    def _times(self, idx: np.ndarray) -> np.ndarray:
        import numpy as np

        jitter = (_unit(self._hash(idx, 1)) * self.step).astype(np.int64)
        return self.start + idx.astype(np.int64) * self.step + jitter

    def _choose_campaigns(self, times: np.ndarray, u: np.ndarray) -> np.ndarray:
        """A campaign running at each time, weighted by daily budget."""
        import numpy as np

        day = times // 86_400
        starts = np.array([c.started_on.toordinal() - date(1970, 1, 1).toordinal() for c in self.campaigns])
        ends = np.array([c.ended_on.toordinal() - date(1970, 1, 1).toordinal() for c in self.campaigns])
        budget = np.array([c.daily_budget for c in self.campaigns])
        active = (day[:, None] >= starts[None, :]) & (day[:, None] <= ends[None, :])
        weights = np.where(active, budget[None, :], 0.0)
        weights[~active.any(axis=1), 0] = 1.0  # the always-on campaign 0 covers every day anyway
        cumulative = np.cumsum(weights, axis=1)
        target = u * cumulative[:, -1]
        return np.minimum((cumulative <= target[:, None]).sum(axis=1), len(self.campaigns) - 1)


def create_marketing_app(
    *,
    seed: int = DEFAULT_SEED,
    n_events: int = DEFAULT_EVENTS,
    api_key: str,
    rate_limit_per_minute: int = 600,
    n_customers: int | None = None,
    clock: Callable[[], float] = time.monotonic,
) -> FastAPI:
    """The marketing API as a FastAPI app (see the module docstring for its contract).

    Args:
        seed: seed of the event stream and campaigns.
        n_events: number of events served.
        api_key: the bearer key clients must send.
        rate_limit_per_minute: token-bucket size and refill per minute, per API key.
        n_customers: customer ids are drawn from ``1..n_customers`` (default: shop at scale 1).
        clock: monotonic clock in seconds (tests pass a fake one).

    Raises:
        ConfigError: empty API key or a non-positive rate limit.
    """
    if not api_key:
        raise ConfigError("the marketing API needs a non-empty API key")
    if rate_limit_per_minute < 1:
        raise ConfigError(f"rate_limit_per_minute must be >= 1, got {rate_limit_per_minute}")
    source = EventSource(seed=seed, n_events=n_events, n_customers=n_customers)
    limiter = RateLimiter(rate_limit_per_minute, clock=clock)
    expected = api_key.encode()

    app = FastAPI(
        title="ScrollIntel demo marketing API",
        version="1.0",
        description="Synthetic campaign events for the platform's HTTP ingestion demo.",
    )

    @app.middleware("http")
    async def authenticate_and_limit(request: Request, call_next: Callable[[Request], Any]) -> Any:
        if not request.url.path.startswith("/v1/"):
            return await call_next(request)
        given = _bearer_token(request.headers.get("authorization"))
        authorised = given is not None and hmac.compare_digest(given.encode(), expected)
        if authorised:
            bucket = "key:" + hashlib.sha256(expected).hexdigest()[:16]
        else:
            bucket = "anonymous:" + (request.client.host if request.client else "unknown")
        decision = limiter.take(bucket)
        headers = decision.headers()
        if not decision.allowed:
            headers["Retry-After"] = str(decision.retry_after)
            return _error(
                429,
                "rate_limited",
                f"rate limit of {rate_limit_per_minute} requests per minute exceeded; "
                f"retry in {decision.retry_after} s",
                headers,
            )
        if not authorised:
            headers["WWW-Authenticate"] = "Bearer"
            return _error(401, "unauthorized", "missing or invalid API key (Authorization: Bearer <key>)", headers)
        response = await call_next(request)
        response.headers.update(headers)
        return response

    @app.exception_handler(RequestValidationError)
    async def invalid_request(_request: Request, exc: RequestValidationError) -> JSONResponse:
        details = jsonable_encoder(exc.errors())
        fields = ", ".join(".".join(str(p) for p in err.get("loc", ())[1:]) for err in details) or "request"
        return JSONResponse(
            status_code=422,
            content={"error": {"code": "invalid_request", "message": f"invalid {fields}", "details": details}},
        )

    @app.get("/health")
    def health() -> dict[str, Any]:
        """Liveness probe (no key needed)."""
        return {"status": "ok", "events": source.n_events}

    @app.get("/v1/events")
    def list_events(
        cursor: Annotated[str, Query(max_length=512, description="next_cursor of the previous page")] = "",
        limit: Annotated[int, Query(ge=1, le=MAX_PAGE_SIZE)] = DEFAULT_PAGE_SIZE,
    ) -> Any:
        """Events after ``cursor`` in ``(occurred_at, event_id)`` order."""
        try:
            begin = source.position_after(cursor) if cursor else 0
        except InvalidCursorError as err:
            return _error(400, "invalid_cursor", str(err), {})
        data = source.page(begin, limit)
        end = begin + len(data)
        has_more = end < source.n_events
        return {
            "data": data,
            "next_cursor": source.encode_cursor(end - 1) if has_more and data else None,
            "has_more": has_more,
        }

    @app.get("/v1/campaigns")
    def list_campaigns() -> dict[str, Any]:
        """Every campaign (one page)."""
        return {"data": [c.as_json() for c in source.campaigns], "next_cursor": None, "has_more": False}

    return app


# ---------------------------------------------------------------------------------------------
# Rate limiting
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RateDecision:
    """Outcome of one request against a token bucket."""

    allowed: bool
    limit: int
    remaining: int
    reset_after: int
    retry_after: int

    def headers(self) -> dict[str, str]:
        """The ``X-RateLimit-*`` headers describing the bucket after this request."""
        return {
            "X-RateLimit-Limit": str(self.limit),
            "X-RateLimit-Remaining": str(self.remaining),
            "X-RateLimit-Reset": str(self.reset_after),
        }


class RateLimiter:
    """Token buckets keyed by caller: ``limit`` tokens of burst, refilled at ``limit``/minute."""

    def __init__(
        self, limit_per_minute: int, *, clock: Callable[[], float] = time.monotonic, max_buckets: int = 10_000
    ):
        self.limit = limit_per_minute
        self.rate = limit_per_minute / 60.0
        self._clock = clock
        self._max_buckets = max_buckets
        self._buckets: dict[str, tuple[float, float]] = {}  # key -> (tokens, last refill)
        self._lock = threading.Lock()

    def take(self, key: str) -> RateDecision:
        """Spend one token of ``key``'s bucket if there is one."""
        with self._lock:
            now = self._clock()
            tokens, last = self._buckets.get(key, (float(self.limit), now))
            tokens = min(float(self.limit), tokens + (now - last) * self.rate)
            allowed = tokens >= 1.0
            if allowed:
                tokens -= 1.0
            if key not in self._buckets and len(self._buckets) >= self._max_buckets:
                self._forget_full(now)
            self._buckets[key] = (tokens, now)
        retry_after = 0 if tokens >= 1.0 else max(1, math.ceil((1.0 - tokens) / self.rate))
        return RateDecision(
            allowed=allowed,
            limit=self.limit,
            remaining=int(tokens),
            reset_after=math.ceil((self.limit - tokens) / self.rate),
            retry_after=retry_after,
        )

    def _forget_full(self, now: float) -> None:
        # A bucket that has refilled completely carries no state worth keeping.
        full = [k for k, (t, last) in self._buckets.items() if t + (now - last) * self.rate >= self.limit]
        for key in full:
            del self._buckets[key]


# ---------------------------------------------------------------------------------------------
# Helpers
# ---------------------------------------------------------------------------------------------


def _error(status: int, code: str, message: str, headers: dict[str, str]) -> JSONResponse:
    return JSONResponse(status_code=status, content={"error": {"code": code, "message": message}}, headers=headers)


def _bearer_token(header: str | None) -> str | None:
    if not header:
        return None
    scheme, _, token = header.partition(" ")
    token = token.strip()
    return token if scheme.lower() == "bearer" and token else None


def _iso(epoch_seconds: int) -> str:
    return datetime.fromtimestamp(epoch_seconds, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _mix_int(x: int) -> int:
    """SplitMix64 on a Python int (used once per app for the seed salt)."""
    z = (x + 0x9E3779B97F4A7C15) & _MASK64
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & _MASK64
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & _MASK64
    return z ^ (z >> 31)


def _mix(x: np.ndarray) -> np.ndarray:
    """SplitMix64 on a uint64 array (wrap-around arithmetic is intended)."""
    import numpy as np

    z = x + np.uint64(0x9E3779B97F4A7C15)
    z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return z ^ (z >> np.uint64(31))


def _unit(h: np.ndarray) -> np.ndarray:
    """Uniform floats in [0, 1) from 64-bit hashes."""
    import numpy as np

    return (h >> np.uint64(11)).astype(np.float64) / float(1 << 53)


def _event_ids(h: np.ndarray) -> list[str]:
    return [f"evt_{int(v):016x}" for v in h]


def _campaigns(seed: int, start_s: int) -> tuple[Campaign, ...]:
    import numpy as np

    rng = np.random.default_rng([seed, 0x4D4B54])  # independent of the shop's stream
    first_day = datetime.fromtimestamp(start_s, UTC).date()
    last_day = AS_OF.date() - timedelta(days=1)
    span = max((last_day - first_day).days, 1)
    objectives: dict[str, tuple[Literal["awareness", "traffic", "conversion"], ...]] = {
        "email": ("conversion", "traffic"),
        "social": ("awareness", "traffic"),
        "search": ("conversion", "traffic"),
        "display": ("awareness",),
    }
    themes = rng.permutation(len(_CAMPAIGN_THEMES))[:12]
    campaigns = []
    for number, theme in enumerate(themes):
        channel = CHANNELS[number % len(CHANNELS)]
        if number == 0:  # one always-on campaign, so every instant has a running campaign
            began, ended = first_day, last_day
        else:
            offset = int(rng.integers(0, span))
            began = first_day + timedelta(days=offset)
            ended = min(last_day, began + timedelta(days=int(rng.integers(14, 60))))
        choices = objectives[channel]
        campaigns.append(
            Campaign(
                campaign_id=f"cmp_{number + 1:03d}",
                name=f"{_CAMPAIGN_THEMES[theme]} ({channel})",
                channel=channel,
                objective=choices[int(rng.integers(0, len(choices)))],
                started_on=began,
                ended_on=ended,
                daily_budget=float(round(rng.uniform(50, 2_000), 2)),
                currency="USD",
            )
        )
    return tuple(campaigns)
