"""Products, traffic (京东商智) and ads (京准通) imports."""

from __future__ import annotations

import csv
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import func, select

from storeops.ads.models import AdSpendDaily
from storeops.catalog.models import Product, Store
from storeops.db.engine import unit_of_work
from storeops.importers.reading import ImportFileError
from storeops.importers.service import import_file
from storeops.metrics.models import TrafficDaily


def write(path: Path, text: str, encoding: str = "utf-8") -> Path:
    path.write_bytes(text.encode(encoding))
    return path


PRODUCTS_CN = """商品ID,货号,商品名称,类目,品牌,京东价,成本价,状态
1001,A-1,保温杯,家居>杯具,象印,199.00,80.5,上架
1002,A-2,饭盒,家居>餐具,象印,59.90,,下架
1003,,碗,家居,,九块九,1,上架
1004,,勺,家居,,1,1,卖完了
1005,,筷子,家居,,-1,1,上架
"""


def test_products_chinese_headers_in_gbk_and_upsert(db_url: str, tmp_path: Path) -> None:
    path = write(tmp_path / "商品.csv", PRODUCTS_CN, "gbk")
    summary = import_file(db_url, "products", path, store="旗舰店")
    assert (summary.read, summary.imported, summary.rejected, summary.created) == (5, 2, 3, 2)
    assert summary.by_reason == {"bad amount": 1, "unknown status": 1, "negative amount": 1}
    with open(tmp_path / "商品.csv.rejects.csv", encoding="utf-8-sig", newline="") as fh:
        rows = {r["row"]: r for r in csv.DictReader(fh)}
    assert rows["4"]["field"] == "京东价" and rows["4"]["商品名称"] == "碗"
    assert rows["5"]["field"] == "状态"
    with unit_of_work(db_url) as s:
        cup = s.scalar(select(Product).where(Product.platform_sku_id == "1001"))
        assert (cup.seller_code, cup.title, cup.category, cup.brand) == (
            "A-1", "保温杯", "家居>杯具", "象印")
        assert (cup.list_price_cents, cup.cost_cents, cup.status) == (19900, 8050, "on_sale")
        box = s.scalar(select(Product).where(Product.platform_sku_id == "1002"))
        assert (box.status, box.cost_cents) == ("off_shelf", None)

    # English headers, a later file: one price changed, one product new, one the same
    english = (
        "SKU,title,price,status\n"
        "1001,保温杯,179.00,on_sale\n"
        "1002,饭盒,59.90,off_shelf\n"
        "1006,新品,10,\n"
    )
    summary = import_file(db_url, "products", write(tmp_path / "p2.csv", english))
    assert (summary.created, summary.updated, summary.unchanged) == (1, 1, 1)
    with unit_of_work(db_url) as s:
        cup = s.scalar(select(Product).where(Product.platform_sku_id == "1001"))
        assert (cup.list_price_cents, cup.seller_code, cup.cost_cents) == (17900, "A-1", 8050)
        new = s.scalar(select(Product).where(Product.platform_sku_id == "1006"))
        assert new.status == "on_sale"
        assert s.scalar(select(func.count()).select_from(Product)) == 3


TRAFFIC = """日期,商品ID,流量来源,访客数,浏览量,曝光量,点击量,加购人数,跳失访客数
2026-11-01,1001,搜索,10,20,300,15,2,3
2026-11-01,1001,活动,5,6,100,5,1,1
2026-11-01,1001,推荐,3,3,50,2,0,1
2026-11-01,1001,类目/导航,1,1,9,1,0,0
2026-11-01,2002,Friends Share,4,2,40,4,1,0
2026-11-02,1001,搜索,-1,20,300,15,2,3
2026-11-02,1001,搜索,x,20,300,15,2,3
2026/11/03,1001,搜索,7,9,90,7,1,1
2026-11-01,1001,搜索,11,20,300,15,2,3
"""


def test_traffic_sources_counts_and_upsert(db_url: str, tmp_path: Path) -> None:
    path = write(tmp_path / "traffic.csv", TRAFFIC)
    summary = import_file(db_url, "traffic", path)
    assert (summary.read, summary.imported, summary.rejected) == (9, 6, 3)
    assert summary.products_created == 2  # SKUs the store did not know yet
    assert summary.by_reason == {"negative number": 1, "bad number": 1,
                                 "same record twice": 1}
    with unit_of_work(db_url) as s:
        rows = s.execute(select(TrafficDaily.day, TrafficDaily.source, TrafficDaily.uv,
                                TrafficDaily.pv, TrafficDaily.exposure, TrafficDaily.clicks,
                                TrafficDaily.cart_users, TrafficDaily.bounce_visits)
                         .order_by(TrafficDaily.day, TrafficDaily.uv.desc())).all()
    assert [tuple(r) for r in rows] == [
        (date(2026, 11, 1), "search", 10, 20, 300, 15, 2, 3),
        (date(2026, 11, 1), "campaign", 5, 6, 100, 5, 1, 1),
        (date(2026, 11, 1), "friends share", 4, 2, 40, 4, 1, 0),
        (date(2026, 11, 1), "recommend", 3, 3, 50, 2, 0, 1),
        (date(2026, 11, 1), "category", 1, 1, 9, 1, 0, 0),
        (date(2026, 11, 3), "search", 7, 9, 90, 7, 1, 1),
    ]
    # a corrected re-export: one count changed → one update, nothing else
    fixed = TRAFFIC.replace("2026-11-01,1001,搜索,10,", "2026-11-01,1001,搜索,12,")
    summary = import_file(db_url, "traffic", write(tmp_path / "traffic.csv", fixed))
    assert (summary.created, summary.updated, summary.unchanged) == (0, 1, 5)
    with unit_of_work(db_url) as s:
        assert s.scalar(select(func.count()).select_from(TrafficDaily)) == 6
        assert s.scalar(select(TrafficDaily.uv).where(TrafficDaily.source == "search",
                                                      TrafficDaily.day == date(2026, 11, 1))) == 12


def test_ads_import_and_reimport(db_url: str, tmp_path: Path) -> None:
    text = (
        "日期,计划名称,花费,展现数,点击数,成交订单数,成交金额\n"
        "2026-11-01,双11主推,1234.56,100000,2500,40,8888.80\n"
        "2026-11-01,品牌词,100,5000,300,8,1200\n"
        "2026-11-02,双11主推,abc,1,1,1,1\n"
        "2026-11-02,品牌词,10,-5,1,1,1\n"
    )
    path = write(tmp_path / "ads.csv", text, "gbk")
    summary = import_file(db_url, "ads", path)
    assert (summary.imported, summary.rejected) == (2, 2)
    with unit_of_work(db_url) as s:
        main = s.scalar(select(AdSpendDaily).where(AdSpendDaily.campaign == "双11主推"))
        assert (main.day, main.spend_cents, main.impressions, main.clicks) == (
            date(2026, 11, 1), 123456, 100000, 2500)
        assert (main.attributed_orders, main.attributed_gmv_cents) == (40, 888880)
        version = s.scalar(select(Store.data_version))
    again = import_file(db_url, "ads", path)
    assert (again.created, again.updated, again.unchanged) == (0, 0, 2)
    with unit_of_work(db_url) as s:
        assert s.scalar(select(func.count()).select_from(AdSpendDaily)) == 2
        assert s.scalar(select(Store.data_version)) == version


def test_english_ads_headers_and_missing_column(db_url: str, tmp_path: Path) -> None:
    ok = write(tmp_path / "ads_en.csv",
               "date,campaign,spend,impressions,clicks,orders,gmv\n"
               "2026-11-01,brand,1.5,10,1,0,0\n")
    assert import_file(db_url, "ads", ok).created == 1
    bad = write(tmp_path / "ads_bad.csv", "date,spend\n2026-11-01,1\n")
    with pytest.raises(ImportFileError, match="ads_bad.csv.*计划名称"):
        import_file(db_url, "ads", bad)


@pytest.fixture(autouse=True)
def _work_in_tmp_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Rejects files go to the working directory: keep them out of the repository."""
    monkeypatch.chdir(tmp_path)


def test_products_import_keeps_the_stock_the_ledger_keeps(db_url: str, tmp_path: Path) -> None:
    """A SKU with stock in the ledger keeps the ledger's figure; another SKU takes the file's."""
    from storeops.inventory.service import receive

    first = write(tmp_path / "p1.csv", "商品ID,商品名称,京东价,库存\n2001,杯子,10,5\n2002,碗,8,7\n")
    import_file(db_url, "products", first, store="旗舰店")
    with unit_of_work(db_url) as s:
        store = s.scalar(select(Store).where(Store.name == "旗舰店"))
        receive(s, store.id, "2001", 40, actor="user:test")
    later = write(tmp_path / "p2.csv",
                  "商品ID,商品名称,京东价,库存\n2001,杯子,10,99\n2002,碗,8,3\n")
    summary = import_file(db_url, "products", later, store="旗舰店")
    assert summary.stock_kept == 1 and summary.to_dict()["stock_kept"] == 1
    with unit_of_work(db_url) as s:
        stock = dict(s.execute(select(Product.platform_sku_id, Product.stock)).all())
    assert stock == {"2001": 40, "2002": 3}
