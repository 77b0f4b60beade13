"""ScrollIntel DataOps: data operations and governance on Airflow 3."""

from __future__ import annotations

__version__ = "0.1.0"
