"""The API key OpenLineage producers send (``Authorization: Bearer <key>``), kept in an Airflow connection.

The key is the password of the Airflow connection :data:`CONN_ID` (``scrollintel_lineage``), found
through Airflow's secrets backends (environment variable ``AIRFLOW_CONN_SCROLLINTEL_LINEAGE``, the
metadata database, Vault...). It is read at most every :data:`CACHE_SECONDS`, so a rotated key
takes effect within that time, and compared in constant time. Without the connection (or with an
empty password) no API key is accepted: only Airflow users may write.

The key is never logged.
"""

from __future__ import annotations

import hmac
import logging
import threading
import time

log = logging.getLogger(__name__)

CONN_ID = "scrollintel_lineage"
CACHE_SECONDS = 30.0
#: Who wrote an event, when it came with the API key (stored with every raw event).
API_KEY_WRITER = f"api-key:{CONN_ID}"


class _KeyCache:
    """The key and when it was read, shared by the process's threads."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.read_at: float | None = None
        self.key: str | None = None


_cache = _KeyCache()


def configured_key() -> str | None:
    """The current API key, or None when the connection does not exist or has no password."""
    with _cache.lock:
        now = time.monotonic()
        if _cache.read_at is None or now - _cache.read_at >= CACHE_SECONDS:
            _cache.key, _cache.read_at = _lookup(), now
        return _cache.key


def _lookup() -> str | None:
    from airflow.exceptions import AirflowNotFoundException
    from airflow.models.connection import Connection

    try:
        conn = Connection.get_connection_from_secrets(CONN_ID)
    except AirflowNotFoundException:
        return None
    return conn.password or None


def is_cached() -> bool:
    """True while the last look-up is fresh: :func:`matches` then does no I/O."""
    with _cache.lock:
        return _cache.read_at is not None and time.monotonic() - _cache.read_at < CACHE_SECONDS


def matches(candidate: str) -> bool:
    """True when ``candidate`` is the configured API key (constant-time comparison)."""
    key = configured_key()
    if not key or not candidate:
        return False
    return hmac.compare_digest(candidate.encode(), key.encode())


def clear_cache() -> None:
    """Forget the cached key (tests, and after rotating it in this process)."""
    with _cache.lock:
        _cache.read_at, _cache.key = None, None
