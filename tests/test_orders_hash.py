"""The order service's per-order content hash is the importer's (Polars) one."""

from __future__ import annotations

from datetime import UTC, datetime

import polars as pl

from storeops.orders.grouping import content_hash, content_hash_of


def test_same_hash_as_the_importer() -> None:
    utc = pl.Datetime("us", "UTC")
    base = {"order_id": "J1", "status": "wait_stock_out", "deleted": False, "customer": "b1",
            "contact": "138****5678", "source": None,
            "placed_at": datetime(2026, 11, 11, 1, 0, tzinfo=UTC),
            "paid_at": datetime(2026, 11, 11, 1, 5, 0, 123456, tzinfo=UTC),
            "finished_at": None, "goods_cents": 10_000, "seller_discount_cents": 100,
            "freight_cents": 0, "paid_cents": 9_900}
    lines = [{"order_id": "J1", "line_no": 2, "sku": "B", "quantity": 1,
              "unit_price_e4": 500_000, "amount_cents": 4_950},
             {"order_id": "J1", "line_no": 1, "sku": "A", "quantity": 1,
              "unit_price_e4": 500_000, "amount_cents": 4_950}]
    for cod in (False, True):
        order = {**base, "cod": cod}
        frame = pl.DataFrame([order], schema_overrides={
            "placed_at": utc, "paid_at": utc, "finished_at": utc, "source": pl.String})
        expected = content_hash(frame, pl.DataFrame(lines))[0]
        assert content_hash_of(order, lines) == expected
    # no lines at all
    frame = pl.DataFrame([{**base, "cod": False}], schema_overrides={
        "placed_at": utc, "paid_at": utc, "finished_at": utc, "source": pl.String})
    empty = pl.DataFrame(schema={"order_id": pl.String, "line_no": pl.Int64, "sku": pl.String,
                                 "quantity": pl.Int64, "unit_price_e4": pl.Int64,
                                 "amount_cents": pl.Int64})
    assert content_hash_of({**base, "cod": False}, []) == content_hash(frame, empty)[0]
