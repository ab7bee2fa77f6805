"""Mapping options (freight_skus, exclude_skus, sku_case) and the order facts the 京东商智
figures need: payment time, cash on delivery, and the row_version of every written row."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import func, select

from storeops.aftersales.models import Refund
from storeops.catalog.models import Product, Store
from storeops.db.engine import unit_of_work
from storeops.importers.mapping import MappingError, load_mapping
from storeops.importers.service import import_file
from storeops.metrics.models import TrafficDaily
from storeops.orders.models import Order, OrderLine

HEADER = "order,sku,title,qty,time,price,paid\n"


def _mapping(tmp_path: Path, extra: str = "", paid: bool = False) -> Path:
    path = tmp_path / "m.yaml"
    paid_line = "  paid_time: paid\n" if paid else ""
    path.write_text(
        "timezone: Asia/Shanghai\n"
        "refunds: {order_id_prefix: R}\n" + extra +
        "columns:\n  order_id: order\n  sku: sku\n  title: title\n  quantity: qty\n"
        "  time: time\n  unit_price: price\n" + paid_line,
        encoding="utf-8",
    )
    return path


def _csv(tmp_path: Path, body: str, name: str = "orders.csv") -> Path:
    path = tmp_path / name
    path.write_text(HEADER + body, encoding="utf-8")
    return path


def _order(s, oid: str) -> Order:  # noqa: ANN001
    return s.scalar(select(Order).where(Order.platform_order_id == oid))


OPTIONS = ("sku_case: upper\nfreight_skus: [post, Ship]\n"
           "exclude_skus: [FEE, m]\n")


def test_freight_exclude_and_sku_case(db_url: str, tmp_path: Path) -> None:
    path = _csv(tmp_path, (
        "1,85123A,heart,2,2026-11-11 10:00:00,2.50,\n"
        "1,85123a,heart,1,2026-11-11 10:00:00,2.50,\n"
        "1,POST,postage,1,2026-11-11 10:00:00,6.00,\n"
        "1,ship,more postage,2,2026-11-11 10:00:00,1.00,\n"
        "1,fee,amazon fee,1,2026-11-11 10:00:00,13.00,\n"
        "2,M,manual,1,2026-11-11 11:00:00,-5.00,\n"  # excluded before any check
        "2,m,manual,x,,,\n"
        "R3,85123A,heart back,-1,2026-11-12 10:00:00,2.50,\n"
        "R3,POST,postage back,-1,2026-11-12 10:00:00,6.00,\n"
        "R4,FEE,fee back,-1,2026-11-12 10:00:00,13.00,\n"
        "5,,no sku,1,2026-11-11 10:00:00,1.00,\n"
    ))
    summary = import_file(db_url, "orders", path, mapping=_mapping(tmp_path, OPTIONS))
    assert summary.read == 11
    assert (summary.imported, summary.rejected, summary.excluded, summary.freight) == (
        3, 1, 4, 3)
    assert summary.read == (summary.imported + summary.rejected + summary.excluded
                            + summary.freight)
    assert summary.excluded_by_sku == {"FEE": 2, "M": 2}
    assert summary.to_dict()["excluded_by_sku"] == {"FEE": 2, "M": 2}
    assert summary.orders_created == 1 and summary.refunds == 2
    with unit_of_work(db_url) as s:
        assert s.scalars(select(Product.platform_sku_id)).all() == ["85123A"]
        order = _order(s, "1")
        assert order.goods_cents == 750  # 3 x 2.50: one SKU, two lines
        assert order.freight_cents == 800  # 6.00 + 2 x 1.00
        assert order.paid_cents == 1550
        assert s.scalar(select(func.count()).select_from(OrderLine)) == 2
        assert _order(s, "2") is None
        refunds = s.scalars(select(Refund).order_by(Refund.line_no)).all()
        assert [(r.amount_cents, r.product_id is None) for r in refunds] == [
            (250, False), (600, True)]  # the postage refunded: money back, no product


def test_mapping_option_errors(tmp_path: Path) -> None:
    with pytest.raises(MappingError, match="sku_case"):
        load_mapping(_mapping(tmp_path, "sku_case: lower\n"))
    with pytest.raises(MappingError, match="both freight and excluded: POST"):
        load_mapping(_mapping(tmp_path, "sku_case: upper\nfreight_skus: [POST]\n"
                                        "exclude_skus: [post]\n"))
    with pytest.raises(MappingError, match="exclude_skus must be a list"):
        load_mapping(_mapping(tmp_path, "exclude_skus: {a: 1}\n"))


def test_paid_at_follows_the_payment_column(db_url: str, tmp_path: Path) -> None:
    body = ("1,A,a,1,2026-11-11 10:00:00,1.00,2026-11-11 10:05:00\n"
            "2,A,a,1,2026-11-11 11:00:00,1.00,\n")
    # without a payment-time column an order counts as paid when it was placed
    import_file(db_url, "orders", _csv(tmp_path, body), mapping=_mapping(tmp_path),
                store="no_paid")
    # with one, an empty cell is an unpaid order
    import_file(db_url, "orders", _csv(tmp_path, body, "b.csv"),
                mapping=_mapping(tmp_path, paid=True), store="paid")
    with unit_of_work(db_url) as s:
        rows = {(st, o.platform_order_id): o.paid_at for o, st in s.execute(
            select(Order, Store.name).join(Store))}
    assert rows[("no_paid", "1")] == datetime(2026, 11, 11, 2, 0, tzinfo=UTC)
    assert rows[("no_paid", "2")] == datetime(2026, 11, 11, 3, 0, tzinfo=UTC)
    assert rows[("paid", "1")] == datetime(2026, 11, 11, 2, 5, tzinfo=UTC)
    assert rows[("paid", "2")] is None


def test_jd_cash_on_delivery_and_unpaid_orders(db_url: str, tmp_path: Path) -> None:
    from test_import_jd import base_rows, jd_row, write_csv

    rows = base_rows() + [
        jd_row("1004", "A1", 1, "10.00", "10.00", "10.00", "10.00", "等待出库"),
        jd_row("1005", "A1", 1, "10.00", "10.00", "10.00", "10.00", "等待付款", paid_at=""),
    ]
    rows[-2]["支付方式"] = "货到付款"
    summary = import_file(db_url, "orders", write_csv(tmp_path / "jd.csv", rows), fmt="jd")
    assert summary.rejected == 0
    with unit_of_work(db_url) as s:
        assert _order(s, "1004").cod is True
        assert _order(s, "1001").cod is False
        assert _order(s, "1002").paid_at is None  # 0001-01-01 00:00:00: unpaid
        assert _order(s, "1005").paid_at is None  # empty: unpaid
        assert _order(s, "1001").paid_at == datetime(2026, 11, 10, 16, 6, tzinfo=UTC)


def test_an_older_jd_export_without_payment_method_still_imports(
    db_url: str, tmp_path: Path
) -> None:
    import csv
    import io

    from test_import_jd import HEADER as JD_HEADER
    from test_import_jd import base_rows

    buf = io.StringIO()
    fields = [h for h in JD_HEADER if h != "支付方式"]
    writer = csv.DictWriter(buf, fieldnames=fields, extrasaction="ignore")
    writer.writeheader()
    writer.writerows(base_rows())
    path = tmp_path / "old.csv"
    path.write_bytes(buf.getvalue().encode("gbk"))
    summary = import_file(db_url, "orders", path, fmt="jd")
    assert summary.rejected == 0 and summary.orders_created == 3


def test_rows_carry_the_data_version_that_wrote_them(db_url: str, tmp_path: Path) -> None:
    mapping = _mapping(tmp_path)
    first = _csv(tmp_path, (
        "1,A,a,1,2026-11-11 10:00:00,1.00,\n"
        "2,B,b,1,2026-11-11 10:00:00,1.00,\n"
        "R9,A,a back,-1,2026-11-12 10:00:00,1.00,\n"
    ))
    import_file(db_url, "orders", first, mapping=mapping, store="s")

    def versions() -> tuple[int, dict, dict, dict]:
        with unit_of_work(db_url) as s:
            return (
                s.scalar(select(Store.data_version)),
                dict(s.execute(select(Order.platform_order_id, Order.row_version)).all()),
                dict(s.execute(select(Product.platform_sku_id, Product.row_version)).all()),
                dict(s.execute(select(Refund.platform_refund_id, Refund.row_version)).all()),
            )

    assert versions() == (1, {"1": 1, "2": 1}, {"A": 1, "B": 1}, {"R9": 1})
    # the same file again: nothing changes, not even the data version
    again = import_file(db_url, "orders", first, mapping=mapping, store="s")
    assert again.orders_unchanged == 2
    assert versions() == (1, {"1": 1, "2": 1}, {"A": 1, "B": 1}, {"R9": 1})
    # order 2 changes, order 3 and SKU C are new: they carry version 2, the rest keep 1
    later = _csv(tmp_path, (
        "1,A,a,1,2026-11-11 10:00:00,1.00,\n"
        "2,B,b,3,2026-11-11 10:00:00,1.00,\n"
        "3,C,c,1,2026-11-13 10:00:00,1.00,\n"
    ), "later.csv")
    import_file(db_url, "orders", later, mapping=mapping, store="s")
    assert versions() == (2, {"1": 1, "2": 2, "3": 2}, {"A": 1, "B": 1, "C": 2}, {"R9": 1})
    # traffic rows (and the products they create) too
    traffic = tmp_path / "traffic.csv"
    traffic.write_text("日期,商品ID,流量来源,访客数\n2026-11-11,A,搜索,5\n2026-11-11,D,搜索,2\n",
                       encoding="utf-8")
    import_file(db_url, "traffic", traffic, store="s")
    with unit_of_work(db_url) as s:
        assert s.scalar(select(Store.data_version)) == 3
        assert set(s.scalars(select(TrafficDaily.row_version))) == {3}
        assert s.scalar(select(Product.row_version).where(Product.platform_sku_id == "D")) == 3


@pytest.fixture(autouse=True)
def _work_in_tmp_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Rejects files go to the working directory: keep them out of the repository."""
    monkeypatch.chdir(tmp_path)
