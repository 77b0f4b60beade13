"""Shared defaults for the platform's DAG files (owner, retries, timeouts, start date)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

#: A fixed, timezone-aware start date for every platform DAG (no backfill: catchup=False).
START_DATE = datetime(2026, 1, 1, tzinfo=UTC)


def default_args(owner: str, *, retries: int = 2, timeout_minutes: int = 30) -> dict[str, Any]:
    """``default_args`` for a DAG owned by the governance team ``owner``."""
    return {
        "owner": owner,
        "retries": retries,
        "retry_delay": timedelta(seconds=30),
        "retry_exponential_backoff": True,
        "execution_timeout": timedelta(minutes=timeout_minutes),
    }
