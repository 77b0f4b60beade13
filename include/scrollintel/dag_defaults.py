"""Shared defaults for the platform's DAG files (owner, retry policy, timeouts, start date).

Retry policy, the same for every platform DAG: two more tries, the first 30-60 s after a failure,
the second 1-2 min after it (exponential backoff, multiplier 2, with Airflow's per-task jitter;
capped at 5 min). That rides out what fails a try without anything being wrong with the work
itself: a busy execution API while the platform starts, a database or source restarting, a dropped
connection. A persistent failure still turns the run red within about three minutes. Outcomes that
a retry would only repeat (the GX quality gate, ingestion's drift and batch gates, failed health
checks) raise ``AirflowFailException`` and are not retried.

Queues: dbt and ML DAGs pass ``queue=HEAVY_QUEUE``; everything else runs on Airflow's default
queue. Only the Celery executor reads a task's queue (`SCROLLINTEL_EXECUTOR=celery make run`
starts a worker for each, ADR 0017); LocalExecutor ignores it.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

#: A fixed, timezone-aware start date for every platform DAG (no backfill: catchup=False).
START_DATE = datetime(2026, 1, 1, tzinfo=UTC)
#: Tries after the first one (see the module docstring).
RETRIES = 2
#: Wait before the first retry (Airflow adds up to as much again as jitter) ...
RETRY_DELAY = timedelta(seconds=30)
#: ... multiplied by this for each further one. Airflow 3.3 reads the value as a multiplier:
#: ``True`` is 1.0, which Airflow treats as "no backoff".
RETRY_BACKOFF = 2.0
#: Upper bound of the wait between two tries.
MAX_RETRY_DELAY = timedelta(minutes=5)
#: The Celery queue of dbt and ML tasks (CPU- and memory-hungry): served by its own worker.
HEAVY_QUEUE = "heavy"


def default_args(owner: str, *, timeout_minutes: int = 30, queue: str | None = None) -> dict[str, Any]:
    """``default_args`` for a DAG owned by the governance team ``owner``: the shared retry policy.

    ``queue`` (e.g. :data:`HEAVY_QUEUE`) routes the DAG's tasks to that Celery queue; without it
    they go to Airflow's ``[operators] default_queue``.
    """
    return {
        **({"queue": queue} if queue else {}),
        "owner": owner,
        "retries": RETRIES,
        "retry_delay": RETRY_DELAY,
        "retry_exponential_backoff": RETRY_BACKOFF,
        "max_retry_delay": MAX_RETRY_DELAY,
        "execution_timeout": timedelta(minutes=timeout_minutes),
    }
