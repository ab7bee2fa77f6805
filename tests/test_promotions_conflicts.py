"""The conflict check (storeops.pricing.conflicts): overlapping cross-item promotions on a
SKU, coupons whose threshold cannot be reached, flash sales above 70% of the reference price;
each with Chinese and English words; and the check over a store's rows."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

from promotions_support import FILE, seed_promo_store
from sqlalchemy import update

from storeops.catalog.models import Product
from storeops.db.engine import unit_of_work
from storeops.pricing import service
from storeops.pricing.conflicts import (
    ListedSku,
    conflict_text,
    find_conflicts,
    store_conflicts,
    windows_overlap,
)
from storeops.pricing.model import (
    Coupon,
    CouponScope,
    Offers,
    Promotion,
    PromotionKind,
    Scope,
    Tier,
)

K = PromotionKind
D = Decimal


def at(day: int) -> datetime:
    return datetime(2026, 6, day, tzinfo=UTC)


SKUS = [ListedSku("A", D("100.00"), "数码"), ListedSku("B", D("50.00"), "数码"),
        ListedSku("C", D("30.00"), "家居"), ListedSku("OFF", D("999.00"), "家居", on_sale=False)]


def cross(pid: str, kind: PromotionKind, skus: set[str] | None, start: int | None,
          end: int | None) -> Promotion:
    return Promotion(pid, kind, Scope(skus=frozenset(skus) if skus else None),
                     at(start) if start else None, at(end) if end else None,
                     tiers=(Tier(threshold=D("100"), off=D("10")),))


def test_windows_overlap() -> None:
    assert windows_overlap(at(1), at(10), at(9), at(20))
    assert not windows_overlap(at(1), at(10), at(10), at(20))  # end is exclusive
    assert windows_overlap(None, None, at(3), at(4))  # open windows overlap everything
    assert not windows_overlap(None, at(3), at(3), None)


def test_sku_in_two_overlapping_cross_item_promotions() -> None:
    offers = Offers(promotions=(
        cross("MJ", K.FULL_REDUCTION, None, 1, 10),  # all SKUs, 06-01..06-10
        cross("MB", K.MULTI_BUY, {"A", "C"}, 5, 15),  # overlaps MJ on 06-05..06-10
        cross("BD", K.BUNDLE, {"B"}, 10, 20),  # starts when MJ ends: no overlap with it
        Promotion("CUT", K.DIRECT, Scope(skus=frozenset({"A"})), price=D("80")),  # item-level
    ))
    found = find_conflicts(offers, SKUS)
    assert [(c.kind, c.codes, c.skus) for c in found] == [
        ("cross_overlap", ("MJ", "MB"), ("A", "C"))]
    c = found[0]
    assert conflict_text(c, "zh-CN") == (
        "SKU A, C 同时在跨品促销 MJ 和 MB 中（2026-06-05T00:00+00:00 至 "
        "2026-06-10T00:00+00:00 重叠，共 2 个 SKU）：每件商品只能参加其中一个")
    assert conflict_text(c, "en").startswith("SKU A, C is in both cross-item promotions MJ and MB")


def test_coupon_thresholds_that_cannot_be_reached() -> None:
    limited = [ListedSku("A", D("100.00"), "数码", stock=2),  # at most 200.00 in an order
               ListedSku("B", D("50.00"), "数码", stock=1),  # at most 50.00
               ListedSku("C", D("30.00"), "家居"),  # stock unknown: no limit
               ListedSku("OFF", D("999.00"), "家居", on_sale=False)]
    offers = Offers(coupons=(
        Coupon("ALL-999", CouponScope.SHOP, D("50"), D("999")),  # C is unlimited: reachable
        Coupon("DIGI-300", CouponScope.SHOP, D("30"), D("300"),  # A+B: 200+50 = 250 < 300
               skus=Scope(categories=frozenset({"数码"}))),
        Coupon("DIGI-250", CouponScope.SHOP, D("30"), D("250"),  # exactly 250: reachable
               skus=Scope(categories=frozenset({"数码"}))),
        Coupon("OFF-10", CouponScope.PLATFORM, D("5"), D("10"),  # only an off-shelf SKU
               skus=Scope(skus=frozenset({"OFF"}))),
        Coupon("FREE", CouponScope.PLATFORM, D("5"), skus=Scope(skus=frozenset({"OFF"}))),
    ))
    found = find_conflicts(offers, limited)
    assert [(c.codes, c.params["why"]) for c in found] == [
        (("DIGI-300",), "too_high"), (("OFF-10",), "no_sku")]
    assert conflict_text(found[0], "zh-CN") == (
        "优惠券 DIGI-300 的门槛 300.00 元无法达到："
        "范围内在售 SKU 按标价和库存最多只能凑到 250.00 元")
    assert conflict_text(found[1], "en") == (
        "Coupon OFF-10: its threshold 10.00 cannot be reached: no on-sale SKU is in its scope")


def test_flash_sale_above_70_percent_of_the_reference_price() -> None:
    offers = Offers(promotions=(
        # A: 70% of 100.00 is 70.00: 70.00 is allowed, 70.01 is not
        Promotion("FS-OK", K.FLASH_SALE, Scope(skus=frozenset({"A"})), price=D("70.00")),
        Promotion("FS-HI", K.FLASH_SALE, Scope(skus=frozenset({"A", "B", "OFF2"})),
                  price=D("70.01")),  # B: 70% of 50.00 = 35.00, also above
    ))
    # OFF2 would be above too (70% of 50.00), but it is off the shelf: no conflict
    found = find_conflicts(offers, [*SKUS, ListedSku("OFF2", D("50.00"), on_sale=False)])
    assert [(c.codes, c.skus) for c in found] == [(("FS-HI",), ("A",)), (("FS-HI",), ("B",))]
    assert conflict_text(found[1], "zh-CN") == \
        "秒杀 FS-HI 的价格 70.01 元高于 SKU B 参考价 50.00 元的 70%（最高 35.00 元）"


def test_store_conflicts_reads_the_stores_rows(db_url: str) -> None:
    store_id = seed_promo_store(db_url)
    data = {**FILE, "promotions": [*FILE["promotions"], {
        "id": "MB-2", "kind": "multi_buy", "skus": ["A200"], "tiers": [{"qty": 2,
                                                                     "percent": "10"}]}],
            "coupons": [*FILE["coupons"], {"id": "Q-BIG", "scope": "shop",
                                           "threshold": "5000.00", "off": "100.00",
                                           "skus": ["A200"]}]}
    with unit_of_work(db_url) as s:
        service.import_offers(s, store_id, data, "f.yaml", "user:operator")
    with unit_of_work(db_url) as s:
        found = store_conflicts(s, store_id)
        # MJ-199 (all SKUs, 06-10..06-19) and MB-2 (A200, no window) share A200;
        # Q-BIG: A200 is 99.00 × 40 in stock = 3960.00 < 5000.00
        assert [(c.kind, c.codes, c.skus) for c in found] == [
            ("cross_overlap", ("MJ-199", "MB-2"), ("A200",)),
            ("coupon_unreachable", ("Q-BIG",), ("A200",))]
        assert found[1].params["most"] == "3960.00"
        # times in the store's zone: MJ-199 runs 2026-06-10 00:00 .. 06-19 00:00 Shanghai
        assert (found[0].params["from"], found[0].params["to"]) == ("2026-06-10 00:00",
                                                                    "2026-06-19 00:00")
        assert store_conflicts(s, store_id, ("live",)) == []
        s.execute(update(Product).where(Product.platform_sku_id == "A200")
                  .values(status="off_shelf"))
        s.flush()
        # off the shelf, A200 raises no overlap; Q-BIG now has no on-sale SKU at all
        assert [(c.kind, c.params.get("why")) for c in store_conflicts(s, store_id)] == [
            ("coupon_unreachable", "no_sku")]


def test_scope_sets_agree_with_covers() -> None:
    from storeops.pricing.conflicts import _Catalog

    listed = _Catalog(SKUS)
    scopes = [Scope(), Scope(skus=frozenset({"A", "Z"})), Scope(categories=frozenset({"家居"})),
              Scope(skus=frozenset({"A"}), categories=frozenset({"家居"}),
                    exclude_skus=frozenset({"C"})),
              Scope(exclude_categories=frozenset({"数码"})),
              Scope(skus=frozenset()), Scope(categories=frozenset({"无此类"}))]
    for scope in scopes:
        assert listed.covered(scope) == {s.sku for s in SKUS
                                         if scope.covers(s.sku, s.category)}, scope
