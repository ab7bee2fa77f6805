"""破价 audit of a store in the database (SQLite and PostgreSQL): floors from the products,
margin and commissions; live and scheduled promotions counted, drafts and ended ones not;
a planned file on top; ``storeops promo audit`` (exit codes, JSON, XLSX); the page and its
XLSX, and who may see them."""

from __future__ import annotations

import io
import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal as D
from pathlib import Path
from typing import Any
from urllib.parse import quote_plus

import openpyxl
import pytest
from sqlalchemy import select, update
from web_seed import PASSWORD, STORE, fast_hashing, login, run_cli  # noqa: F401

from storeops.accounts.users import create_user
from storeops.catalog.models import Product, Store
from storeops.common.errors import StoreopsError
from storeops.db.engine import unit_of_work
from storeops.pricing import spec
from storeops.pricing.audit_store import audit_store
from storeops.pricing.model import (
    Coupon,
    CouponScope,
    Offers,
    Promotion,
    PromotionKind,
    Scope,
    Tier,
)
from storeops.pricing.models import CategoryCommission, PricingSettings, PromotionRecord
from storeops.web import promo_audit_page

pytestmark = pytest.mark.usefixtures("fast_hashing")
AT = datetime(2026, 12, 4, 4, 0, tzinfo=UTC)  # 12:00 in Shanghai
K = PromotionKind

# The seeded products: 1001 ¥199 数码, 1002 ¥129 数码, 2001 ¥59 家居, 2002 ¥299 家居,
# 3001 ¥19 数码 (off shelf).
# Floors: commission 数码 8% (category), else the store's 5%; minimum margin 10%.
#   1001 cost 100.00: 100 × 1.10 / 0.92 = 119.565… → 119.57
#   1002 explicit floor 110.00
#   2001 cost 30.00: 30 × 1.10 / 0.95 = 34.736… → 34.74
#   2002 no cost, no floor: "no floor"
#   3001 cost 10.00: 11 / 0.92 = 11.956… → 11.96
LIVE_CUT = Promotion("D1", K.DIRECT, price=D("159"), scope=Scope(skus=frozenset({"1001"})))
# scheduled from tomorrow for a week: 满299减60 on 数码
FULL = Promotion("FR", K.FULL_REDUCTION, scope=Scope(categories=frozenset({"数码"})),
                 start=AT + timedelta(days=1), end=AT + timedelta(days=8),
                 tiers=(Tier(threshold=D("299"), off=D("60")),))
DRAFT = Promotion("BIG", K.DIRECT, price=D("1"), scope=Scope(skus=frozenset({"2001"})))
ENDED = Promotion("OLD", K.DIRECT, price=D("1"), scope=Scope(skus=frozenset({"1002"})),
                  start=AT - timedelta(days=9), end=AT - timedelta(days=2))
PLAN = Offers(coupons=(Coupon("PLAN", CouponScope.SHOP, off=D("20")),))


def _record(s: Any, store_id: int, promo: Promotion, status: str) -> None:
    s.add(PromotionRecord(store_id=store_id, code=promo.id, kind=promo.kind.value,
                          status=status, spec_json=json.dumps(spec.promotion_to_dict(promo),
                                                              ensure_ascii=False),
                          start_at=promo.start, end_at=promo.end, created_by="user:owner"))


@pytest.fixture
def store(seeded: tuple[str, int]) -> tuple[str, int]:
    db_url, store_id = seeded
    add_floors_and_offers(db_url, store_id)
    return db_url, store_id


def add_floors_and_offers(db_url: str, store_id: int) -> None:
    """The costs, floors, margin, commissions and promotions above, and a user of the
    integration role (robot)."""
    with unit_of_work(db_url) as s:
        s.execute(update(Store).where(Store.id == store_id).values(commission_rate=D("0.05")))
        s.add(PricingSettings(store_id=store_id, min_margin=D("0.10")))
        s.add(CategoryCommission(store_id=store_id, category="数码", rate=D("0.08")))
        for sku, cost, floor in (("1001", 10000, None), ("1002", None, 11000),
                                 ("2001", 3000, None), ("3001", 1000, None)):
            s.execute(update(Product).where(Product.store_id == store_id,
                                            Product.platform_sku_id == sku)
                      .values(cost_cents=cost, floor_price_cents=floor))
        _record(s, store_id, LIVE_CUT, "live")
        _record(s, store_id, FULL, "scheduled")
        _record(s, store_id, DRAFT, "draft")
        _record(s, store_id, ENDED, "ended")
        create_user(s, "robot", PASSWORD, "integration")


def test_audit_store_counts_live_and_scheduled_only(store: tuple[str, int]) -> None:
    db_url, store_id = store
    with unit_of_work(db_url) as s:
        report = audit_store(s, store_id, at=AT)
    assert report.checked == 5
    assert report.no_floor == ("2002",)
    # 1001: 159 (live cut), then 满299减60 filled to 299: 60 × 159 / 299 = 31.906 → 31.91,
    # 159 − 31.91 = 127.09 ≥ 119.57
    assert report.lowest["1001"].lowest == D("127.09")
    assert report.lowest["1001"].explanation == "直降至159.00 → 满299减60（凑单至满299）"
    # 1002: 129 filled to 299: 60 × 129 / 299 = 25.886 → 25.89: 103.11 < 110.00 (gap 6.89);
    # the ended 1.00 cut is not counted
    assert [(b.sku, b.lowest_unit_price, b.gap) for b in report.breaches] == [
        ("1002", D("103.11"), D("6.89"))]
    assert report.breaches[0].title == "智能手环 运动版"
    # 2001: the draft 1.00 cut is not counted: 59.00
    assert report.lowest["2001"].lowest == D("59.00")
    # 3001: 60 × 19 / 299 = 3.81 → 15.19 ≥ 11.96
    assert report.lowest["3001"].lowest == D("15.19")


def test_audit_store_with_a_planned_coupon(store: tuple[str, int]) -> None:
    db_url, store_id = store
    with unit_of_work(db_url) as s:
        report = audit_store(s, store_id, PLAN, at=AT)
    # a no-threshold 20 off: 1002 after 满减 103.11 in a cart of 299 − 60 = 239:
    #   20 × 103.11 / 239 = 8.628 → 8.63: 94.48 (gap 15.52)
    # 3001 alone (19.00): the 20 off takes all of it: 0.00 (gap 11.96)
    # 1001: 127.09 in a cart of 239: 20 × 127.09 / 239 = 10.635 → 10.64: 116.45 (gap 3.12)
    assert [(b.sku, b.lowest_unit_price, b.gap) for b in report.breaches] == [
        ("1002", D("94.48"), D("15.52")), ("3001", D("0.00"), D("11.96")),
        ("1001", D("116.45"), D("3.12"))]
    assert report.breaches[1].explanation == "店铺券无门槛减20"
    assert report.breaches[1].stack == ("PLAN",)


def test_before_the_scheduled_promotion_ends_nothing_later_counts(store: tuple[str, int]) -> None:
    db_url, store_id = store
    with unit_of_work(db_url) as s:
        report = audit_store(s, store_id, at=AT + timedelta(days=9))  # after 满减 ended
    assert report.breaches == ()
    assert report.lowest["1002"].lowest == D("129.00")


# --- the CLI ---------------------------------------------------------------------------------

def audit_cli(db: str, monkeypatch: Any, capsys: Any, *args: str,
              lang: str | None = "en") -> tuple[int, str, str]:
    return run_cli(["promo", "audit", "--db", db, "--store", STORE, "--at", AT.isoformat(),
                    *args], monkeypatch, capsys, lang=lang)


def test_cli_json_and_exit_codes(store: tuple[str, int], monkeypatch: Any, capsys: Any,
                                 tmp_path: Path) -> None:
    db_url, store_id = store
    code, out, err = audit_cli(db_url, monkeypatch, capsys, "--json")
    assert code == 1, err
    data = json.loads(out)
    assert data["checked"] == 5 and data["below_floor"] == 1 and data["no_floor"] == 1
    assert data["breaches"][0] == {
        "sku": "1002", "title": "智能手环 运动版", "price": "129.00", "floor": "110.00",
        "lowest_unit_price": "103.11", "gap": "6.89", "stack": ["FR"],
        "explanation": "满299减60（凑单至满299）", "at": (AT + timedelta(days=1)).isoformat()}
    # the planned file on top, not imported
    plan = tmp_path / "plan.json"
    plan.write_text(json.dumps(spec.offers_to_dict(PLAN)), encoding="utf-8")
    code, out, _ = audit_cli(db_url, monkeypatch, capsys, "--json", "--promotions", str(plan))
    assert code == 1
    assert [b["sku"] for b in json.loads(out)["breaches"]] == ["1002", "3001", "1001"]
    with unit_of_work(db_url) as s:
        assert s.scalar(select(PromotionRecord.id).where(PromotionRecord.code == "PLAN")) is None
    # a lower floor for 1002: nothing below floor, exit 0
    with unit_of_work(db_url) as s:
        s.execute(update(Product).where(Product.store_id == store_id,
                                        Product.platform_sku_id == "1002")
                  .values(floor_price_cents=10000))
    code, out, _ = audit_cli(db_url, monkeypatch, capsys)
    assert code == 0
    assert "5 SKUs checked, 0 can be stacked below floor, 1 without floor" in out
    assert "No SKU can be stacked below its floor." in out
    code, out, _ = audit_cli(db_url, monkeypatch, capsys, lang=None)
    assert "没有 SKU 会被叠加到底价以下" in out


def test_cli_table_and_xlsx(store: tuple[str, int], monkeypatch: Any, capsys: Any,
                            tmp_path: Path) -> None:
    db_url, _ = store
    out_path = tmp_path / "audit.xlsx"
    code, out, err = audit_cli(db_url, monkeypatch, capsys, "--xlsx", str(out_path))
    assert code == 1, err
    assert "1002" in out and "103.11" in out and "6.89" in out
    assert "wrote" in out and "(1 rows)" in out
    sheet = openpyxl.load_workbook(out_path).active
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0][:6] == ("SKU", "Title", "Price", "Floor", "Lowest reachable",
                           "Below floor by")
    assert rows[1][:6] == ("1002", "智能手环 运动版", 129, 110, 103.11, 6.89)
    assert rows[1][6] == "满299减60（凑单至满299）"


def test_cli_errors(store: tuple[str, int], monkeypatch: Any, capsys: Any,
                    tmp_path: Path) -> None:
    db_url, _ = store
    bad = tmp_path / "bad.yaml"
    bad.write_text("promotions:\n  - id: X\n    kind: direct\n    skus: all\n    price: abc\n",
                   encoding="utf-8")
    code, _, err = audit_cli(db_url, monkeypatch, capsys, "--promotions", str(bad))
    assert code == 2
    assert "bad.yaml" in err and "X" in err and "price" in err
    code, _, err = audit_cli(db_url, monkeypatch, capsys, "--at", "yesterday")
    assert code == 2 and "yesterday" in err


# --- the page --------------------------------------------------------------------------------

def test_page_and_xlsx(store: tuple[str, int], client: Any,
                       monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(promo_audit_page, "now", lambda: AT)
    login(client, "analyst")
    r = client.get(f"/promotions/audit?store={quote_plus(STORE)}")
    assert r.status_code == 200
    html = r.text
    assert "破价审计" in html
    assert "智能手环 运动版" in html and "103.11" in html and "6.89" in html
    assert "满299减60（凑单至满299）" in html
    assert 'class="kpi card audit-checked"' in html
    r = client.get(f"/promotions/audit.xlsx?store={quote_plus(STORE)}")
    assert r.status_code == 200
    sheet = openpyxl.load_workbook(io.BytesIO(r.content)).active
    rows = list(sheet.iter_rows(values_only=True))
    assert len(rows) == 2 and rows[1][0] == "1002" and rows[1][4] == 103.11


def test_page_english_and_empty(store: tuple[str, int], client: Any,
                                monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(promo_audit_page, "now", lambda: AT + timedelta(days=9))
    login(client, "owner")
    r = client.get("/promotions/audit?lang=en")
    assert r.status_code == 200
    assert "Price-floor audit" in r.text
    assert "No SKU can be stacked below its floor." in r.text
    assert "103.11" not in r.text
    r = client.get("/promotions/audit?lang=zh-CN")
    assert "没有 SKU 会被叠加到底价以下" in r.text


def test_page_forbidden_for_the_integration_role(store: tuple[str, int], client: Any) -> None:
    login(client, "robot")
    assert client.get("/promotions/audit").status_code == 403
    assert client.get("/promotions/audit.xlsx").status_code == 403


def test_page_lists_the_largest_gaps_first_and_caps_them(store: tuple[str, int], client: Any,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    db_url, store_id = store
    monkeypatch.setattr(promo_audit_page, "now", lambda: AT)
    monkeypatch.setattr(promo_audit_page, "PAGE_ROWS", 1)
    with unit_of_work(db_url) as s:  # 1001 reaches 127.09: a floor of 200.00 is 72.91 above
        s.execute(update(Product).where(Product.store_id == store_id,
                                        Product.platform_sku_id == "1001")
                  .values(floor_price_cents=20000))
    login(client, "owner")
    html = client.get("/promotions/audit?lang=en").text
    assert "72.91" in html and "6.89" not in html
    assert "The 1 largest gaps of 2 are listed; the XLSX has them all" in html
    rows = list(openpyxl.load_workbook(io.BytesIO(
        client.get("/promotions/audit.xlsx").content)).active.iter_rows(values_only=True))
    assert [r[0] for r in rows[1:]] == ["1001", "1002"]


def test_products_without_a_price_are_left_out_and_named(store: tuple[str, int]) -> None:
    db_url, store_id = store
    with unit_of_work(db_url) as s:
        s.add(Product(store_id=store_id, platform_sku_id="4001", title="待定价", category="数码",
                      status="on_sale", list_price_cents=None, cost_cents=100))
    with unit_of_work(db_url) as s:
        report = audit_store(s, store_id, at=AT)
        assert report.checked == 5 and report.unpriced == ("4001",)
        assert "4001" not in report.lowest
        with pytest.raises(StoreopsError):
            audit_store(s, store_id + 1000, at=AT)
