"""The Online Retail file through examples/mappings/online_retail.yaml."""

from __future__ import annotations

import csv
import shutil
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from sqlalchemy import func, select

from storeops.aftersales.models import Refund
from storeops.catalog.models import Product, Store
from storeops.catalog.stores import get_or_create_store
from storeops.db.engine import unit_of_work
from storeops.importers.service import import_file
from storeops.members.models import Customer
from storeops.orders.models import Order, OrderLine

ROOT = Path(__file__).resolve().parents[1]
MAPPING = ROOT / "examples" / "mappings" / "online_retail.yaml"
SLICE = Path(__file__).parent / "data" / "import" / "online_retail_slice.csv"


@pytest.fixture
def slice_file(tmp_path: Path) -> Path:
    target = tmp_path / "online_retail_slice.csv"
    shutil.copy(SLICE, target)
    return target


def _order(session, invoice: str) -> Order:
    return session.scalar(select(Order).where(Order.platform_order_id == invoice))


def test_slice_orders_refunds_guests_and_rejects(db_url: str, slice_file: Path) -> None:
    summary = import_file(db_url, "orders", slice_file, mapping=MAPPING, store="uk")
    assert summary.read == 2505
    # every row is accounted for: goods and refund lines, rejects, fees, postage
    assert summary.read == (summary.imported + summary.rejected + summary.excluded
                            + summary.freight)
    # POST x3 (536370, 536403, 536527), C2 (536540), DOT (536544)
    assert summary.freight == 5
    # D (the discount credit note C536379), M x2, PADS, and the two bad-debt B rows
    assert summary.excluded_by_sku == {"M": 2, "B": 2, "D": 1, "PADS": 1}
    assert summary.excluded == 6
    # row 2408: 536589 with quantity -10 (not a credit note). The two bad-debt rows (B, with
    # a negative price) used to be rejected; the mapping now excludes them as adjustments.
    assert summary.by_reason == {"quantity not positive": 1}
    with open(summary.rejects_file, encoding="utf-8-sig", newline="") as fh:
        rejects = list(csv.DictReader(fh))
    by_row = {r["row"]: r for r in rejects}
    assert set(by_row) == {"2408"}
    assert by_row["2408"]["field"] == "Quantity"
    assert by_row["2408"]["InvoiceNo"] == "536589"
    with open(slice_file, encoding="utf-8", newline="") as fh:
        rows = list(csv.reader(fh))[1:]
    copies = [r for i, r in enumerate(rows) if r in rows[:i]]
    assert copies, "the slice should hold exact duplicate lines"
    dup = copies[0]

    with unit_of_work(db_url) as s:
        store = s.scalar(select(Store).where(Store.name == "uk"))
        assert (store.timezone, store.currency) == ("Europe/London", "GBP")
        order = _order(s, "536365")  # 7 lines, customer 17850
        assert order.status == "finished" and order.paid_at == order.placed_at
        assert order.placed_at == datetime(2010, 12, 1, 8, 26, tzinfo=UTC)  # GMT in winter
        lines_sum = s.scalar(select(func.sum(OrderLine.amount_cents))
                             .where(OrderLine.order_id == order.id))
        assert order.goods_cents == lines_sum == 13912  # 15.30+20.34+22+20.34+20.34+15.3+25.5
        assert order.seller_discount_cents == 0 and order.freight_cents == 0
        assert s.scalar(select(Customer.platform_account)
                        .where(Customer.id == order.customer_id)) == "17850"
        # postage is the order's freight, not a line: 3 x 18.00
        posted = _order(s, "536370")
        assert posted.freight_cents == 5400
        assert posted.paid_cents == posted.goods_cents + 5400
        assert s.scalar(select(func.count()).select_from(OrderLine)
                        .where(OrderLine.order_id == posted.id)) == 19
        assert _order(s, "536544").freight_cents == 56977  # DOTCOM postage
        assert s.scalar(select(func.count()).select_from(Product).where(
            Product.platform_sku_id.in_(["POST", "DOT", "C2", "M", "B", "D", "PADS"]))) == 0
        guest = _order(s, "536414")  # CustomerID empty
        assert guest.customer_id is None
        summer = _order(s, "555156")  # 07:37 BST is 06:37 UTC
        assert summer.placed_at == datetime(2011, 6, 1, 6, 37, tzinfo=UTC)
        assert summer.placed_date == date(2011, 6, 1)
        # 550193's only line is PADS (0.001 each): excluded, so no order at all
        assert _order(s, "550193") is None
        assert s.scalar(select(func.count()).select_from(Order)
                        .where(Order.platform_order_id.like("A%"))) == 0

        dup_order = _order(s, dup[0])
        dup_lines = s.scalars(select(OrderLine).where(OrderLine.order_id == dup_order.id)).all()
        same = [x for x in dup_lines if x.quantity == int(dup[3])
                and x.product_id == s.scalar(select(Product.id).where(Product.platform_sku_id
                                                                      == dup[1]))]
        assert len(same) >= 2 and len(dup_lines) == sum(1 for r in rows if r[0] == dup[0])

        assert s.scalar(select(Refund).where(Refund.platform_refund_id == "C536379")) is None
        multi = s.scalars(select(Refund).where(Refund.platform_refund_id == "C536391")
                          .order_by(Refund.line_no)).all()
        assert [r.line_no for r in multi] == list(range(1, len(multi) + 1)) and len(multi) > 1
        first = multi[0]
        assert first.refunded_at.tzinfo is not None and first.refund_date.year == 2010
        assert first.amount_cents > 0 and first.product_id is not None
        assert s.scalar(select(func.min(Refund.amount_cents))) >= 0


def test_earliest_line_is_the_order_time(db_url: str, tmp_path: Path) -> None:
    path = tmp_path / "two_times.csv"
    path.write_text(
        "InvoiceNo,StockCode,Description,Quantity,InvoiceDate,UnitPrice,CustomerID,Country\n"
        "900001,A,,2,2011-01-05 10:00:00,1.50,,UK\n"
        "900001,C,thing,1,2011-01-05 09:59:00,0,12345,UK\n",  # (B is an excluded SKU)
        encoding="utf-8",
    )
    summary = import_file(db_url, "orders", path, mapping=MAPPING)
    assert (summary.imported, summary.rejected) == (2, 0)  # no description, zero price: fine
    assert summary.rejects_file is None and not (tmp_path / "two_times.csv.rejects.csv").exists()
    with unit_of_work(db_url) as s:
        order = _order(s, "900001")
        assert order.placed_at == datetime(2011, 1, 5, 9, 59, tzinfo=UTC)
        assert order.goods_cents == 300
        assert order.customer_id is not None  # the first line had none, the second has one


def test_existing_store_keeps_its_timezone_for_day_cuts(db_url: str, slice_file: Path) -> None:
    with unit_of_work(db_url) as s:
        get_or_create_store(s, "cn", timezone="Asia/Shanghai", currency="CNY")
    import_file(db_url, "orders", slice_file, mapping=MAPPING, store="cn")
    with unit_of_work(db_url) as s:
        store = s.scalar(select(Store).where(Store.name == "cn"))
        assert (store.timezone, store.currency) == ("Asia/Shanghai", "CNY")
        late = _order(s, "536592")  # 17:06 London = 01:06 next day in Shanghai
        assert late.placed_at == datetime(2010, 12, 1, 17, 6, tzinfo=UTC)
        assert late.placed_date == date(2010, 12, 2)


@pytest.mark.slow
def test_whole_real_file(sqlite_db_url: str, tmp_path: Path) -> None:
    from conftest import ONLINE_RETAIL

    if not ONLINE_RETAIL.exists():
        pytest.skip(f"{ONLINE_RETAIL} not present")
    target = tmp_path / ONLINE_RETAIL.name
    shutil.copy(ONLINE_RETAIL, target)
    summary = import_file(sqlite_db_url, "orders", target, mapping=MAPPING)
    # 541,910 lines: a header and 541,909 data rows, every one accounted for
    assert summary.read == 541_909
    assert summary.read == (summary.imported + summary.rejected + summary.excluded
                            + summary.freight)
    # the data's 5,268 exact duplicate lines are kept as lines: only these are rejected (the
    # two bad-debt rows, B with a negative price, used to be; they are excluded now)
    assert summary.by_reason == {"quantity not positive": 1336}
    # fees and adjustments are neither sales nor refunds
    assert summary.excluded_by_sku == {"M": 572, "D": 77, "S": 63, "BANK CHARGES": 37,
                                       "AMAZONFEE": 34, "CRUK": 16, "PADS": 4, "B": 3}
    assert summary.freight == 2110  # POST, DOT, C2 lines: the orders' freight
    assert (summary.imported, summary.orders_created, summary.refunds) == (
        537_657, 20_626, 8_833)
    with unit_of_work(sqlite_db_url) as s:
        lines = s.scalar(select(func.count()).select_from(OrderLine))
        refunds = s.scalar(select(func.count()).select_from(Refund))
        freight_refunds = s.scalar(select(func.count()).select_from(Refund)
                                   .where(Refund.product_id.is_(None)))
        # 85123A and 85123a are one SKU: no product id has lower-case letters
        assert s.scalar(select(func.count()).select_from(Product).where(
            Product.platform_sku_id != func.upper(Product.platform_sku_id))) == 0
        assert s.scalar(select(func.sum(Order.freight_cents))) == 29_140_165
    assert lines + refunds - freight_refunds == summary.imported
    assert freight_refunds == 129  # postage refunded on credit notes


@pytest.fixture(autouse=True)
def _work_in_tmp_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Rejects files go to the working directory: keep them out of the repository."""
    monkeypatch.chdir(tmp_path)
