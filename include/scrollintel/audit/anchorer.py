"""The anchorer: a small long-running process that signs a tree head soon after every append.

Entries appended after the newest signed tree head are protected by the hash chain only: a
superuser can edit, forge or cut off that tail and ``verify`` cannot tell. The anchorer keeps
that window to seconds. It listens on the PostgreSQL channel ``audit_ledger_appended``, which
every append notifies when it commits (:mod:`scrollintel.audit.storage`), waits
``settle`` seconds so a burst of appends gets one head, and signs a head when the ledger grew
beyond the newest stored one (:func:`scrollintel.audit.anchor.anchor_if_grown`). It also checks
every ``poll`` seconds without a notification (appends that bypass the channel, a missed
notification while reconnecting), and signs at most one head per ``min_interval`` seconds, so a
busy ledger does not fill the store. Delay from an append to a head covering it is therefore at
most ``min_interval + settle`` plus one signing (about 20 ms) while notifications arrive, and
``poll + settle`` plus one signing otherwise; :func:`max_delay_seconds` states the bound,
``bench/bench_anchor_delay.py`` measures it.

Several anchorers (two platforms on one ledger, the hourly ``audit_anchor`` DAG, the CLI) may run
at once: anchoring is serialised by an advisory lock and every head is created exclusively, so a
race costs one of them a wait, never an error or a head that understates the ledger.

``make run`` starts it like the platform's other background processes
(``scrollintel audit anchorer``, log in ``.scrollintel/logs/audit-anchorer.log``, shown by
``make status``). Settings (environment, default in brackets):
``SCROLLINTEL_AUDIT_ANCHORER_SETTLE_SECONDS`` [0.2], ``SCROLLINTEL_AUDIT_ANCHORER_MIN_INTERVAL_SECONDS``
[2], ``SCROLLINTEL_AUDIT_ANCHORER_POLL_SECONDS`` [5, at most 60].
"""

from __future__ import annotations

import logging
import os
import threading
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

from scrollintel.audit.errors import AnchorError
from scrollintel.exceptions import ConfigError

if TYPE_CHECKING:
    import psycopg

    from scrollintel.audit.anchor import AnchorResult, AnchorStore
    from scrollintel.audit.signing import SigningKey

log = logging.getLogger(__name__)

ENV_SETTLE = "SCROLLINTEL_AUDIT_ANCHORER_SETTLE_SECONDS"
ENV_MIN_INTERVAL = "SCROLLINTEL_AUDIT_ANCHORER_MIN_INTERVAL_SECONDS"
ENV_POLL = "SCROLLINTEL_AUDIT_ANCHORER_POLL_SECONDS"
#: "At least every minute": a longer poll would let an unnotified append wait longer than that.
MAX_POLL_SECONDS = 60.0
#: Longest wait between reconnection attempts when the database is unreachable.
MAX_BACKOFF_SECONDS = 30.0
#: How long one wait for a notification may block, so a stop request is honoured promptly.
WAIT_SLICE_SECONDS = 0.5


@dataclass(frozen=True)
class AnchorerSettings:
    """Timing of the anchorer, in seconds (see the module docstring)."""

    settle: float = 0.2
    min_interval: float = 2.0
    poll: float = 5.0

    def __post_init__(self) -> None:
        for name in ("settle", "min_interval", "poll"):
            value = getattr(self, name)
            if not 0 <= value <= MAX_POLL_SECONDS:
                raise ConfigError(f"anchorer {name} must be between 0 and {MAX_POLL_SECONDS:.0f} seconds, got {value}")
        if self.poll <= 0:
            raise ConfigError("anchorer poll must be more than 0 seconds")

    @classmethod
    def from_env(cls) -> AnchorerSettings:
        """Settings from the environment; ConfigError names the variable and the bad value."""
        values: dict[str, float] = {}
        for name, variable in (("settle", ENV_SETTLE), ("min_interval", ENV_MIN_INTERVAL), ("poll", ENV_POLL)):
            raw = os.environ.get(variable)
            if not raw:
                continue
            try:
                values[name] = float(raw)
            except ValueError as err:
                raise ConfigError(f"{variable}={raw!r}: expected a number of seconds") from err
            if not 0 <= values[name] <= MAX_POLL_SECONDS:
                raise ConfigError(f"{variable}={raw!r}: must be between 0 and {MAX_POLL_SECONDS:.0f} seconds")
        return cls(**values)


def max_delay_seconds(settings: AnchorerSettings) -> float:
    """Designed bound (before signing time) between an append and a head covering it, anchorer running."""
    return max(settings.min_interval, settings.poll) + settings.settle


class Anchorer:
    """Signs a tree head whenever the ledger grew; :meth:`run` loops until ``stop`` is set."""

    def __init__(
        self,
        url: str,
        *,
        store: AnchorStore | None = None,
        key: SigningKey | None = None,
        settings: AnchorerSettings | None = None,
        notify: bool = True,
    ) -> None:
        from scrollintel.audit.anchor import default_store
        from scrollintel.audit.signing import load_signing_key

        self.url = url
        self.store = store or default_store()
        # Loaded once, up front: a missing or malformed key stops the process at start, not every poll.
        self.key = key or load_signing_key()
        self.settings = settings or AnchorerSettings.from_env()
        self.notify = notify
        self.heads = 0
        self._last_signed = float("-inf")

    def anchor_once(self) -> AnchorResult | None:
        """Sign a head now when the ledger grew (None otherwise); records when it signed."""
        from scrollintel.audit.anchor import anchor_if_grown

        started = time.monotonic()
        result = anchor_if_grown(self.url, store=self.store, key=self.key, notify=self.notify)
        if result is not None:
            # Spacing counts from the start of a signing, so a slow store does not add to the next delay.
            self._last_signed = started
            self.heads += 1
        return result

    def run(self, stop: threading.Event) -> None:
        """Listen and anchor until ``stop`` is set; reconnects (with backoff) when the database goes away."""
        import psycopg

        backoff = 1.0
        while not stop.is_set():
            try:
                self._listen(stop)
                backoff = 1.0
            except psycopg.OperationalError as err:
                log.warning(
                    "audit anchorer lost the ledger database (%s); retrying in %.0f s", type(err).__name__, backoff
                )
                stop.wait(backoff)
                backoff = min(backoff * 2, MAX_BACKOFF_SECONDS)

    def _listen(self, stop: threading.Event) -> None:
        import psycopg

        from scrollintel.audit.storage import CONNECT_TIMEOUT_S, NOTIFY_CHANNEL
        from scrollintel.db import libpq_url

        with psycopg.connect(libpq_url(self.url), autocommit=True, connect_timeout=CONNECT_TIMEOUT_S) as listener:
            listener.execute(f"LISTEN {NOTIFY_CHANNEL}")
            log.info(
                "audit anchorer listening on %s (settle %.1f s, min interval %.1f s, poll %.1f s)",
                NOTIFY_CHANNEL,
                self.settings.settle,
                self.settings.min_interval,
                self.settings.poll,
            )
            # Appends made while nobody listened are covered now, not at the next notification.
            self._anchor_logged()
            while not stop.is_set():
                notified = self._wait(listener, stop, self.settings.poll)
                if stop.is_set():
                    return
                if notified:
                    stop.wait(self.settings.settle)
                    self._wait(listener, stop, 0)  # drain: the burst gets one head
                pause = self._last_signed + self.settings.min_interval - time.monotonic()
                if pause > 0 and stop.wait(pause):
                    return
                self._anchor_logged()

    def _anchor_logged(self) -> None:
        """One attempt; a refusal or failure is logged and retried at the next wake-up, never fatal.

        Refusals (truncated or rewritten ledger, untrusted newest head), store failures (disk,
        S3) and database errors of one attempt must not stop the process that keeps the window
        small: the next notification or poll tries again.
        """
        import psycopg

        try:
            self.anchor_once()
        except AnchorError as err:
            log.error("audit anchorer could not sign a tree head: %s", err)
        except psycopg.DatabaseError as err:
            log.error("audit anchorer: ledger database error (%s): %s", type(err).__name__, str(err).strip()[:300])
        except OSError as err:
            log.error("audit anchorer: anchor store error (%s): %s", type(err).__name__, err)

    @staticmethod
    def _wait(listener: psycopg.Connection, stop: threading.Event, seconds: float) -> bool:
        """True when at least one notification arrived within ``seconds`` (all of them are consumed)."""
        deadline = time.monotonic() + seconds
        notified = False
        while not stop.is_set():
            left = deadline - time.monotonic()
            got = False
            for _ in listener.notifies(timeout=max(0.0, min(left, WAIT_SLICE_SECONDS)), stop_after=1):
                got = True
            notified = notified or got
            if got and seconds == 0:
                continue  # draining: keep consuming until the queue is empty
            if notified or left <= 0:
                return notified
        return notified
