from datetime import date, datetime
from zoneinfo import ZoneInfo

from sqlalchemy import select

from storeops.catalog.stores import get_or_create_store
from storeops.db.bulk import bulk_insert
from storeops.db.engine import get_engine, unit_of_work
from storeops.db.models import Order


def test_bulk_rows_read_back_like_orm_rows(db_url):
    with unit_of_work(db_url) as s:
        store, _ = get_or_create_store(s, "s")
        store_id = store.id
    placed = datetime(2026, 6, 18, 0, 5, tzinfo=ZoneInfo("Asia/Shanghai"))
    cols = ["store_id", "platform_order_id", "status", "deleted", "placed_at", "placed_date",
            "goods_cents", "seller_discount_cents", "freight_cents", "content_hash", "updated_at"]
    rows = [(store_id, str(i), "finished", i % 2 == 0, placed, placed.date(), 100 * i, 0, 0,
             "h", placed) for i in range(1, 101)]
    with get_engine(db_url).begin() as conn:
        assert bulk_insert(conn, Order.__table__, cols, rows) == 100
    with unit_of_work(db_url) as s:
        orders = list(s.scalars(select(Order).order_by(Order.goods_cents)))
    assert len(orders) == 100
    assert orders[0].placed_at == placed and orders[0].placed_date == date(2026, 6, 18)
    assert orders[1].deleted is True and orders[0].deleted is False
    assert sum(o.goods_cents for o in orders) == 100 * 5050
