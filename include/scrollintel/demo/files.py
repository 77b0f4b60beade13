"""The ``files`` demo source: a store list (CSV) and daily inventory snapshots (Parquet).

Layout under the landing root (by default the platform's object store)::

    landing/stores/stores.csv                                   store_id,name,city,region,opened_on
    landing/inventory/snapshot_date=YYYY-MM-DD/inventory.parquet snapshot_date,store_id,product_id,on_hand

There are 14 daily snapshots, the last one the day before :data:`~scrollintel.demo.AS_OF`. Each
store stocks a fixed assortment of shop products (``product_id`` refers to ``shop.products``);
stock levels follow a random walk of daily sales with restocking below a reorder point.

The same ``(seed, scale)`` writes byte-identical files with the same pyarrow version (Parquet
files record the writer's version). Files are written to a temporary name and renamed into
place, so a reader never sees half a file.
"""

from __future__ import annotations

import csv
import io
import logging
import os
from datetime import date, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

from scrollintel.demo import AS_OF, DEFAULT_SEED, demo_sizes

if TYPE_CHECKING:
    import numpy as np
    import pyarrow as pa

log = logging.getLogger(__name__)

SNAPSHOT_DAYS = 14
STORES_CSV = Path("landing/stores/stores.csv")
INVENTORY_DIR = Path("landing/inventory")
_DISTRICTS = ("Central", "North", "South", "Riverside", "Old Town", "Harbour", "Station", "West End", "Park", "Market")
_STREAM_KEY = 0x46494C45  # keeps this generator's stream apart from the shop's


def snapshot_dates() -> list[date]:
    """The inventory snapshot dates, oldest first."""
    last = AS_OF.date() - timedelta(days=1)
    return [last - timedelta(days=offset) for offset in range(SNAPSHOT_DAYS - 1, -1, -1)]


def write_store_files(root: Path, *, scale: float = 1.0, seed: int = DEFAULT_SEED) -> list[Path]:
    """Write ``stores.csv`` and the inventory snapshots under ``root``; return the paths written.

    Raises:
        ConfigError: ``scale`` is not a positive number.
    """
    import numpy as np
    import pyarrow.parquet as pq

    sizes = demo_sizes(scale)
    rng = np.random.default_rng([seed, _STREAM_KEY])
    root = Path(root)
    written = [_atomic_write(root / STORES_CSV, _stores_csv(rng, sizes.stores))]
    for day, table in _inventory(rng, sizes.stores, sizes.products, sizes.products_per_store):
        path = root / INVENTORY_DIR / f"snapshot_date={day.isoformat()}" / "inventory.parquet"
        sink = io.BytesIO()
        pq.write_table(table, sink, compression="snappy", use_dictionary=True, write_statistics=True)
        written.append(_atomic_write(path, sink.getvalue()))
    log.info("demo store files written under %s: %d files", root, len(written))
    return written


def _stores_csv(rng: np.random.Generator, n: int) -> bytes:
    from scrollintel.demo.shop import COUNTRIES

    weights = [c.weight for c in COUNTRIES]
    total = sum(weights)
    country = rng.choice(len(COUNTRIES), size=n, p=[w / total for w in weights])
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["store_id", "name", "city", "region", "opened_on"])
    first_open = date(2012, 1, 1)
    open_span = (date(2024, 6, 30) - first_open).days
    for store in range(n):
        spec = COUNTRIES[int(country[store])]
        city, region, _postal = spec.cities[int(rng.integers(0, len(spec.cities)))]
        district = _DISTRICTS[int(rng.integers(0, len(_DISTRICTS)))]
        opened = first_open + timedelta(days=int(rng.integers(0, open_span)))
        writer.writerow([store + 1, f"{city} {district}", city, region, opened.isoformat()])
    return buffer.getvalue().encode("utf-8")


def _inventory(rng: np.random.Generator, n_stores: int, n_products: int, per_store: int) -> list[tuple[date, pa.Table]]:
    import numpy as np
    import pyarrow as pa

    store = np.repeat(np.arange(1, n_stores + 1, dtype=np.int32), per_store)
    product = np.concatenate(
        [np.sort(rng.choice(n_products, size=per_store, replace=False)) + 1 for _ in range(n_stores)]
    ).astype(np.int32)
    pairs = len(store)
    demand = rng.gamma(1.5, 2.0, pairs)  # mean daily sales per store and product
    reorder_point = np.ceil(demand * 4).astype(np.int64)
    batch = np.ceil(demand * 10 + 5).astype(np.int64)
    on_hand = rng.poisson(demand * 8 + 10).astype(np.int64)
    tables = []
    for day in snapshot_dates():
        sold = np.minimum(rng.poisson(demand), on_hand)
        on_hand = on_hand - sold
        restock = on_hand < reorder_point
        on_hand = on_hand + np.where(restock & (rng.random(pairs) < 0.8), batch, 0)
        tables.append(
            (
                day,
                pa.table(
                    {
                        "snapshot_date": pa.array(np.full(pairs, (day - date(1970, 1, 1)).days, np.int32), pa.date32()),
                        "store_id": pa.array(store),
                        "product_id": pa.array(product),
                        "on_hand": pa.array(on_hand.astype(np.int32)),
                    }
                ),
            )
        )
    return tables


def _atomic_write(path: Path, payload: bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.tmp")
    temporary.write_bytes(payload)
    os.replace(temporary, path)
    return path
