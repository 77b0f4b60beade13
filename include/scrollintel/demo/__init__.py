"""Deterministic synthetic source systems for demos, tests and benchmarks.

Three sources feed the platform's ingestion layer:

- ``shop`` (:mod:`scrollintel.demo.shop`): a PostgreSQL database of customers, products,
  orders, order items, payments and subscriptions with realistic personal data;
- ``marketing`` (:mod:`scrollintel.demo.marketing`): an HTTP API of campaign events with
  cursor pagination, a bearer API key and a rate limit;
- ``files`` (:mod:`scrollintel.demo.files`): a store list (CSV) and daily inventory snapshots
  (Parquet) in the landing area of the object store.

Everything is a pure function of ``(seed, scale)``: the same pair gives the same rows and the
same file bytes on every run, so tests can assert exact counts and checksums. All sources
share one fixed "as of" instant (:data:`AS_OF`) instead of the wall clock for the same reason.

This module stays import-light (no numpy, pyarrow or database drivers).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, datetime

from scrollintel.exceptions import ConfigError

#: Default seed of every demo source.
DEFAULT_SEED = 7

#: The instant the synthetic world is observed at: no generated timestamp is later than this.
AS_OF = datetime(2026, 1, 1, tzinfo=UTC)

#: First instant of the synthetic history (customers sign up from here on).
HISTORY_START = datetime(2023, 1, 1, tzinfo=UTC)

#: Bump when a generator changes its output, so a stored (seed, scale) marker no longer matches.
GENERATOR_VERSION = 1


@dataclass(frozen=True)
class DemoSizes:
    """How many entities each demo source holds at a given scale."""

    customers: int
    products: int
    orders: int
    stores: int
    products_per_store: int


def demo_sizes(scale: float) -> DemoSizes:
    """Entity counts at ``scale`` (1.0 = 20k customers, 500 products, 120k orders, 25 stores).

    Raises:
        ConfigError: when ``scale`` is not a positive finite number.
    """
    if not (isinstance(scale, int | float) and math.isfinite(scale) and scale > 0):
        raise ConfigError(f"demo scale must be a positive number, got {scale!r}")
    products = max(20, round(500 * scale))
    return DemoSizes(
        customers=max(50, round(20_000 * scale)),
        products=products,
        orders=max(200, round(120_000 * scale)),
        stores=max(3, round(25 * scale)),
        products_per_store=min(products, 120),
    )
