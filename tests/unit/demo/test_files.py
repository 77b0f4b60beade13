"""The demo store files: layout, content and byte-for-byte determinism."""

from __future__ import annotations

import csv
from datetime import date
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from scrollintel.demo import demo_sizes
from scrollintel.demo.files import SNAPSHOT_DAYS, snapshot_dates, write_store_files
from scrollintel.exceptions import ConfigError

pytestmark = pytest.mark.unit


def _contents(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def test_layout_and_returned_paths(tmp_path: Path) -> None:
    paths = write_store_files(tmp_path, scale=1.0, seed=7)
    assert paths[0] == tmp_path / "landing" / "stores" / "stores.csv"
    expected = [
        tmp_path / "landing" / "inventory" / f"snapshot_date={day.isoformat()}" / "inventory.parquet"
        for day in snapshot_dates()
    ]
    assert paths[1:] == expected
    assert len(expected) == SNAPSHOT_DAYS
    assert snapshot_dates()[-1] == date(2025, 12, 31)
    assert sorted(p for p in tmp_path.rglob("*") if p.is_file()) == sorted(paths)  # no temporary files left


def test_stores_csv_content(tmp_path: Path) -> None:
    write_store_files(tmp_path, scale=1.0, seed=7)
    with (tmp_path / "landing" / "stores" / "stores.csv").open(newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    assert list(rows[0]) == ["store_id", "name", "city", "region", "opened_on"]
    assert [int(r["store_id"]) for r in rows] == list(range(1, demo_sizes(1.0).stores + 1))
    for row in rows:
        assert row["name"].startswith(row["city"])
        assert row["region"]
        assert date(2012, 1, 1) <= date.fromisoformat(row["opened_on"]) <= date(2024, 6, 30)


def test_inventory_snapshots_content(tmp_path: Path) -> None:
    sizes = demo_sizes(1.0)
    paths = write_store_files(tmp_path, scale=1.0, seed=7)
    for day, path in zip(snapshot_dates(), paths[1:], strict=True):
        table = pq.read_table(path)
        assert table.column_names == ["snapshot_date", "store_id", "product_id", "on_hand"]
        assert str(table.schema.field("snapshot_date").type) == "date32[day]"
        assert table.num_rows == sizes.stores * sizes.products_per_store
        assert set(table.column("snapshot_date").to_pylist()) == {day}
        products = table.column("product_id").to_pylist()
        assert min(products) >= 1
        assert max(products) <= sizes.products
        assert min(table.column("on_hand").to_pylist()) >= 0
        pairs = list(zip(table.column("store_id").to_pylist(), products, strict=True))
        assert len(set(pairs)) == len(pairs)
    first = pq.read_table(paths[1]).column("on_hand").to_pylist()
    last = pq.read_table(paths[-1]).column("on_hand").to_pylist()
    assert first != last  # stock moves from day to day


def test_same_seed_writes_identical_bytes_and_another_seed_does_not(tmp_path: Path) -> None:
    write_store_files(tmp_path / "a", scale=0.5, seed=11)
    write_store_files(tmp_path / "b", scale=0.5, seed=11)
    write_store_files(tmp_path / "c", scale=0.5, seed=12)
    a, b, c = (_contents(tmp_path / name) for name in "abc")
    assert a == b
    assert a.keys() == c.keys()
    assert a != c


def test_rewriting_overwrites_in_place(tmp_path: Path) -> None:
    write_store_files(tmp_path, scale=0.2, seed=1)
    write_store_files(tmp_path, scale=0.2, seed=2)
    fresh = tmp_path / "fresh"
    write_store_files(fresh, scale=0.2, seed=2)
    assert {k: v for k, v in _contents(tmp_path).items() if not k.startswith("fresh")} == _contents(fresh)


@pytest.mark.parametrize("scale", [0, -1.0, float("nan")])
def test_invalid_scale_is_rejected(tmp_path: Path, scale: float) -> None:
    with pytest.raises(ConfigError, match="demo scale must be a positive number"):
        write_store_files(tmp_path, scale=scale, seed=1)
