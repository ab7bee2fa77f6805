"""A large import whose lines would break the (order, line) key fails whole (issue 6): the
key is checked once after the load (SQLite builds the unique index then), the error names it,
nothing of the file is stored and no rejects file is left."""

from __future__ import annotations

import shutil
from pathlib import Path

import polars as pl
import pytest
from sqlalchemy import func, select

from storeops.db import bulk
from storeops.db.bulk import DuplicateKeyError
from storeops.db.engine import unit_of_work
from storeops.importers import service
from storeops.importers.service import import_file
from storeops.orders.models import Order, OrderLine

ROOT = Path(__file__).resolve().parents[1]
MAPPING = ROOT / "examples" / "mappings" / "online_retail.yaml"
SLICE = Path(__file__).parent / "data" / "import" / "online_retail_slice.csv"


def test_an_import_with_a_line_twice_writes_nothing_and_names_the_key(
        db_url, tmp_path, monkeypatch):
    monkeypatch.setattr(bulk, "ONCE_MIN_ROWS", 1)  # the large-load path, on a small file
    grouped = service.group_sales

    def with_a_line_twice(*args, **kwargs):  # noqa: ANN002, ANN003, ANN202
        orders, lines = grouped(*args, **kwargs)
        return orders, pl.concat([lines, lines.head(1)])

    monkeypatch.setattr(service, "group_sales", with_a_line_twice)
    src = tmp_path / "slice.csv"
    shutil.copy(SLICE, src)
    monkeypatch.chdir(tmp_path)
    with pytest.raises(DuplicateKeyError, match=r"order_lines.*\(order_id, line_no\)"):
        import_file(db_url, "orders", src, mapping=MAPPING, store="uk")
    with unit_of_work(db_url) as s:
        assert s.scalar(select(func.count()).select_from(Order)) == 0
        assert s.scalar(select(func.count()).select_from(OrderLine)) == 0
    assert not list(tmp_path.glob("*.rejects.csv"))
    # the same file without the fault imports, and again changes nothing
    monkeypatch.setattr(service, "group_sales", grouped)
    first = import_file(db_url, "orders", src, mapping=MAPPING, store="uk")
    again = import_file(db_url, "orders", src, mapping=MAPPING, store="uk")
    assert first.orders_created > 0 and again.orders_created == again.orders_updated == 0
    assert again.orders_unchanged == first.orders_created
