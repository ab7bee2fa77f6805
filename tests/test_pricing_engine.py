"""Worked examples of the pricing engine: every kind and every stacking rule, checked by hand."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from decimal import Decimal as D

import pytest

from storeops.pricing.engine import bundle_discount, cross_discount, item_unit_price, price_cart
from storeops.pricing.model import (
    BundleItem,
    Cart,
    CartLine,
    Coupon,
    CouponScope,
    Gift,
    Offers,
    PointsRule,
    Promotion,
    PromotionKind,
    Scope,
    Tier,
)

K = PromotionKind
SHOP, PLATFORM = CouponScope.SHOP, CouponScope.PLATFORM
CST = timezone(timedelta(hours=8))


def cart(*lines: tuple, member_tier: str | None = None, group_buy: bool = False) -> Cart:
    return Cart(tuple(CartLine(sku, qty, D(price), cat) for sku, qty, price, cat in lines),
                member_tier=member_tier, group_buy=group_buy)


def line(result, sku: str):
    return next(ln for ln in result.lines if ln.sku == sku)


def amounts(ln) -> dict[str, D]:
    return {d.id: d.amount for d in ln.discounts}


def full_reduction(pid: str, threshold: str, off: str, scope: Scope = Scope()) -> Promotion:
    return Promotion(pid, K.FULL_REDUCTION, scope, tiers=(Tier(threshold=D(threshold),
                                                               off=D(off)),))


# --- item level --------------------------------------------------------------------------------

def test_direct_cut_price_off_and_percent_lowest_wins() -> None:
    # list 99.00; off 10 -> 89.00; percent 15 -> 99 x 0.85 = 84.15; price 86 -> 86.00
    # the lowest, 84.15, counts: 2 x 84.15 = 168.30
    offers = Offers((Promotion("off10", K.DIRECT, off=D("10")),
                     Promotion("pct15", K.DIRECT, percent=D("15")),
                     Promotion("p86", K.DIRECT, price=D("86"))))
    r = price_cart(cart(("A", 2, "99.00", None)), offers)
    a = line(r, "A")
    assert a.final_amount == D("168.30")
    assert [(d.id, d.amount, d.text) for d in a.discounts] == [
        ("pct15", D("29.70"), "直降：单价99.00→84.15")]  # (99 - 84.15) x 2
    assert r.applied == ("pct15",)


def test_percent_rounds_half_up_to_the_cent() -> None:
    # 5.70 x 0.85 = 4.845 -> 4.85 half up (half-even would give 4.84)
    r = price_cart(cart(("A", 1, "5.70", None)),
                   Offers((Promotion("p", K.DIRECT, percent=D("15")),)))
    assert r.payable == D("4.85")
    unit, promo = item_unit_price(CartLine("A", 1, D("5.70")),
                                  (Promotion("p", K.DIRECT, percent=D("15")),), Cart(()))
    assert unit == D("4.85") and promo is not None and promo.id == "p"


def test_flash_sale_limit_splits_a_line_into_two_unit_prices() -> None:
    # list 100, direct -10 -> 90, flash 60 for at most 2 units per order (quota 5):
    # 3 units = 2 x 60 + 1 x 90 = 210.00; discounts 2 x 40 = 80 (flash) and 1 x 10 (direct)
    offers = Offers((Promotion("d", K.DIRECT, off=D("10")),
                     Promotion("f", K.FLASH_SALE, price=D("60"), per_order_limit=2, quota=5)))
    r = price_cart(cart(("A", 3, "100.00", None)), offers)
    a = line(r, "A")
    assert a.final_amount == D("210.00")
    assert {(d.id, d.amount, d.text) for d in a.discounts} == {
        ("f", D("80.00"), "秒杀：2件单价100.00→60.00"),
        ("d", D("10.00"), "直降：1件单价100.00→90.00")}


def test_flash_quota_is_shared_by_the_lines_of_the_order() -> None:
    # quota 1 left: the first line takes it (1 x 60), the second pays list (2 x 100)
    offers = Offers((Promotion("f", K.FLASH_SALE, price=D("60"), per_order_limit=3, quota=1),))
    r = price_cart(cart(("A", 1, "100.00", None), ("B", 2, "100.00", None)), offers)
    assert line(r, "A").final_amount == D("60.00")
    assert line(r, "B").final_amount == D("200.00")
    assert r.payable == D("260.00")


def test_group_buy_price_only_for_a_group_cart() -> None:
    offers = Offers((Promotion("g", K.GROUP_BUY, price=D("80"), group_size=2),))
    assert price_cart(cart(("A", 1, "100.00", None)), offers).payable == D("100.00")
    grouped = price_cart(cart(("A", 1, "100.00", None), group_buy=True), offers)
    assert grouped.payable == D("80.00")
    assert line(grouped, "A").discounts[0].text == "拼购价：单价100.00→80.00"


def test_member_price_by_tier() -> None:
    offers = Offers((Promotion("m", K.MEMBER_PRICE, member_prices={"plus": D("88")}),))
    assert price_cart(cart(("A", 1, "100.00", None)), offers).payable == D("100.00")
    assert price_cart(cart(("A", 1, "100.00", None), member_tier="gold"),
                      offers).payable == D("100.00")
    plus = price_cart(cart(("A", 1, "100.00", None), member_tier="plus"), offers)
    assert plus.payable == D("88.00")
    assert line(plus, "A").discounts[0].text == "会员价（plus）：单价100.00→88.00"


def test_scope_categories_with_an_excluded_sku() -> None:
    # 10 off in category x except A2: A1 90, A2 100, C (category y) 100
    scope = Scope(categories=frozenset({"x"}), exclude_skus=frozenset({"A2"}))
    offers = Offers((Promotion("d", K.DIRECT, scope, off=D("10")),))
    r = price_cart(cart(("A1", 1, "100", "x"), ("A2", 1, "100", "x"), ("C", 1, "100", "y")),
                   offers)
    assert [ln.final_amount for ln in r.lines] == [D("90.00"), D("100.00"), D("100.00")]


def test_time_windows_start_inclusive_end_exclusive() -> None:
    start, end = datetime(2026, 6, 1, tzinfo=CST), datetime(2026, 6, 19, tzinfo=CST)
    fr = Promotion("fr", K.FULL_REDUCTION, start=start, end=end,
                   tiers=(Tier(threshold=D("199"), off=D("30")),))
    coupon = Coupon("c", SHOP, D("5"), start=start, end=end)
    offers = Offers((fr,), (coupon,))
    c = cart(("A", 1, "200.00", None))
    assert price_cart(c, offers, start - timedelta(minutes=1)).payable == D("200.00")
    assert price_cart(c, offers, start).payable == D("165.00")  # 200 - 30 - 5
    assert price_cart(c, offers, end).payable == D("200.00")
    assert price_cart(c, offers, None).payable == D("165.00")


# --- cross item --------------------------------------------------------------------------------

def test_full_reduction_apportioned_by_amount() -> None:
    # 满199减30 on 2 x 120 + 1 x 60 = 300 -> 30 off; A: 30 x 240/300 = 24.00, B: 6.00
    r = price_cart(cart(("A", 2, "120.00", None), ("B", 1, "60.00", None)),
                   Offers((full_reduction("fr", "199", "30"),)))
    assert r.payable == D("270.00")
    a, b = line(r, "A"), line(r, "B")
    assert a.discounts[0].text == "满199减30，本行分摊24.00元"
    assert amounts(a) == {"fr": D("24.00")} and amounts(b) == {"fr": D("6.00")}
    assert a.cross_promotion == b.cross_promotion == "fr"


def test_rounding_residue_goes_to_the_largest_line_and_refunds_match() -> None:
    # 满100减10 over three lines of 100: 10 x 100/300 = 3.333.. -> 3.33 each, 0.01 left over,
    # which goes to the largest line (the first of equals): A 3.34, B 3.33, C 3.33
    r = price_cart(cart(("A", 1, "100", None), ("B", 1, "100", None), ("C", 1, "100", None)),
                   Offers((full_reduction("fr", "100", "10"),)))
    assert [amounts(ln)["fr"] for ln in r.lines] == [D("3.34"), D("3.33"), D("3.33")]
    assert r.payable == D("290.00")
    # refunding B gives back exactly what B was charged; the rest of the order keeps its price
    b = line(r, "B")
    assert b.final_amount == D("96.67")
    assert r.payable - b.final_amount == line(r, "A").final_amount + line(r, "C").final_amount


def test_residue_never_takes_a_line_below_zero() -> None:
    # 满10减50 on 10.00 + 0.01: the off is capped at the amount, 10.01; both lines end at 0
    r = price_cart(cart(("A", 1, "10.00", None), ("B", 1, "0.01", None)),
                   Offers((full_reduction("fr", "10", "50"),)))
    assert r.payable == D("0.00")
    assert all(ln.final_amount == 0 for ln in r.lines)


def test_multi_buy_counts_pieces_across_lines() -> None:
    # 2件9折 / 3件8折: 2 x 50 + 1 x 30 = 3 pieces, 130 -> 130 x 0.8 = 104 -> 26 off;
    # A 26 x 100/130 = 20.00, B 6.00
    mb = Promotion("mb", K.MULTI_BUY, tiers=(Tier(qty=2, percent=D("10")),
                                             Tier(qty=3, percent=D("20"))))
    r = price_cart(cart(("A", 2, "50", None), ("B", 1, "30", None)), Offers((mb,)))
    assert r.payable == D("104.00")
    assert line(r, "A").discounts[0].text == "多买优惠：3件8折，本行分摊20.00元"
    assert amounts(line(r, "B")) == {"mb": D("6.00")}
    # 1 piece reaches no tier
    assert price_cart(cart(("A", 1, "50", None)), Offers((mb,))).payable == D("50.00")


def test_repeating_full_reduction_with_a_cap() -> None:
    # 每满100减10, at most 25: 350 -> 3 x 10 = 30 -> capped at 25
    every = Promotion("ev", K.FULL_REDUCTION, tiers=(Tier(threshold=D("100"), off=D("10")),),
                      repeat=True, cap=D("25"))
    r = price_cart(cart(("A", 1, "350", None)), Offers((every,)))
    assert r.payable == D("325.00")
    assert r.lines[0].discounts[0].text == "每满100减10（最多减25），本行分摊25.00元"
    # 250 -> 2 x 10 = 20, under the cap
    assert price_cart(cart(("A", 1, "250", None)), Offers((every,))).payable == D("230.00")
    assert cross_discount(every, D("350"), 1) == D("25.00")


def test_highest_reached_tier_only() -> None:
    # 满199减30 / 满299减60 on 300: only 60 (not 90)
    fr = Promotion("fr", K.FULL_REDUCTION, tiers=(Tier(threshold=D("199"), off=D("30")),
                                                  Tier(threshold=D("299"), off=D("60"))))
    assert price_cart(cart(("A", 1, "300", None)), Offers((fr,))).payable == D("240.00")


def test_full_discount_by_amount_and_by_pieces() -> None:
    # 满300打9折 on 320 -> 288; 满3件打8.5折 on 3 x 10.10 = 30.30 -> 25.755 -> 25.76
    by_amount = Promotion("fd", K.FULL_DISCOUNT, tiers=(Tier(threshold=D("300"),
                                                             percent=D("10")),))
    r = price_cart(cart(("A", 1, "320", None)), Offers((by_amount,)))
    assert r.payable == D("288.00")
    assert r.lines[0].discounts[0].text == "满300打9折，本行分摊32.00元"
    by_qty = Promotion("fq", K.FULL_DISCOUNT, tiers=(Tier(qty=3, percent=D("15")),))
    r = price_cart(cart(("A", 3, "10.10", None)), Offers((by_qty,)))
    assert r.payable == D("25.76")
    assert r.lines[0].discounts[0].text == "满3件打8.5折，本行分摊4.54元"


def test_bundle_sets_at_the_bundle_price() -> None:
    # A 100 + B 50 as a set at 120: 2 A + 1 B make 1 set: 150 - 120 = 30 off,
    # over the bundle's lines: A 30 x 200/250 = 24.00, B 6.00
    bundle = Promotion("set", K.BUNDLE, bundle_items=(BundleItem("A"), BundleItem("B")),
                       price=D("120"))
    r = price_cart(cart(("A", 2, "100", None), ("B", 1, "50", None), ("C", 1, "10", None)),
                   Offers((bundle,)))
    assert r.payable == D("230.00")  # 250 + 10 - 30
    assert line(r, "A").discounts[0].text == "套装：1套×120.00元，本行分摊24.00元"
    assert amounts(line(r, "B")) == {"set": D("6.00")}
    assert line(r, "C").discounts == () and line(r, "C").cross_promotion is None
    assert bundle_discount(bundle, {"A": [D("100"), D("100")], "B": [D("50")]}) == D("30.00")


def test_bundle_forms_only_sets_that_save() -> None:
    # A 9.90 x 2, B 33.30 + 9.90, set A+B at 33.30: the set A 9.90 + B 33.30 = 43.20 saves
    # 9.90; a second set 9.90 + 9.90 = 19.80 would cost more than buying apart, so 1 set
    bundle = Promotion("set", K.BUNDLE, bundle_items=(BundleItem("A"), BundleItem("B")),
                       price=D("33.30"))
    r = price_cart(cart(("A", 2, "9.90", None), ("B", 1, "33.30", None),
                        ("B", 1, "9.90", None)), Offers((bundle,)))
    assert r.goods_total - r.payable == D("9.90")


def test_a_line_joins_one_cross_item_promotion_the_better_one() -> None:
    # 2 x 100: 满199减30 takes 30, 2件9折 takes 20; not both: 170
    fr = full_reduction("fr", "199", "30")
    mb = Promotion("mb", K.MULTI_BUY, tiers=(Tier(qty=2, percent=D("10")),))
    r = price_cart(cart(("A", 2, "100", None)), Offers((mb, fr)))
    assert r.payable == D("170.00")
    assert r.lines[0].cross_promotion == "fr" and r.applied == ("fr",)


def test_cross_item_works_on_the_item_level_price() -> None:
    # 直降 20 on 2 x 110 -> 2 x 90 = 180 < 199: 满199减30 is not reached
    offers = Offers((Promotion("d", K.DIRECT, off=D("20")), full_reduction("fr", "199", "30")))
    assert price_cart(cart(("A", 2, "110", None)), offers).payable == D("180.00")


def test_the_best_assignment_beats_greedy() -> None:
    # P 满300减60 over A, B, C; Q 满200减50 over B, C, D.
    # Lines A 200, B 150, C 150, D 100 (600).
    # Greedy, dearest first, each line where it gains most now (ties: the first listed):
    #   A -> P (200 < 300: +0), B -> P (350: +60), C -> P (+0, Q alone 150 < 200: +0),
    #   D -> Q (100 < 200: +0): 60 off, 540 to pay.
    # Best: A + B in P (350 -> 60), C + D in Q (250 -> 50): 110 off, 490 to pay.
    p = full_reduction("P", "300", "60", Scope(skus=frozenset({"A", "B", "C"})))
    q = full_reduction("Q", "200", "50", Scope(skus=frozenset({"B", "C", "D"})))
    r = price_cart(cart(("A", 1, "200", None), ("B", 1, "150", None), ("C", 1, "150", None),
                        ("D", 1, "100", None)), Offers((p, q)))
    assert r.payable == D("490.00")
    assert [ln.cross_promotion for ln in r.lines][0] == "P"
    assert [ln.cross_promotion for ln in r.lines][3] == "Q"


def test_gift_when_the_tier_is_reached_without_taking_the_lines_slot() -> None:
    gift = Promotion("gift", K.GIFT, tiers=(Tier(threshold=D("199")),), gifts=(Gift("G1"),))
    fr = full_reduction("fr", "199", "30")
    r = price_cart(cart(("A", 2, "100", None)), Offers((gift, fr)))
    assert r.gifts == (Gift("G1"),)
    assert r.payable == D("170.00")  # the line still joins 满199减30
    assert "gift" in r.applied
    # after a 直降 of 5 a unit the amount is 2 x 95 = 190 < 199: no gift
    cut = Promotion("d", K.DIRECT, off=D("5"))
    assert price_cart(cart(("A", 2, "100", None)), Offers((gift, cut))).gifts == ()


# --- coupons -----------------------------------------------------------------------------------

def test_coupon_threshold_is_tested_after_promotions_and_the_engine_may_skip_a_promotion() -> None:
    # A 210; 满200减20 (promotion) and a shop coupon 满200减30.
    # Join the promotion: 190 < 200, no coupon: 190. Skip it: 210 >= 200, coupon: 180. -> 180
    offers = Offers((full_reduction("fr", "200", "20"),),
                    (Coupon("c30", SHOP, D("30"), D("200")),))
    r = price_cart(cart(("A", 1, "210", None)), offers)
    assert r.payable == D("180.00")
    assert r.applied == ("c30",) and r.lines[0].cross_promotion is None
    assert r.lines[0].discounts[0].text == "店铺券满200减30，本行分摊30.00元"
    # 250: join (230 >= 200 still) and use the coupon: 250 - 20 - 30 = 200
    assert price_cart(cart(("A", 1, "250", None)), offers).payable == D("200.00")


def test_one_shop_and_one_platform_coupon_both_thresholds_on_the_amount_after_promotions() -> None:
    # 300; shop 满200减20 or 满100减25 (one of them: 25); platform 满299减30, tested on 300
    # (not on 300 - 25 = 275): 300 - 25 - 30 = 245
    offers = Offers((), (Coupon("s20", SHOP, D("20"), D("200")),
                         Coupon("s25", SHOP, D("25"), D("100")),
                         Coupon("p30", PLATFORM, D("30"), D("299"))))
    r = price_cart(cart(("A", 1, "300", None)), offers)
    assert r.payable == D("245.00")
    assert set(r.applied) == {"s25", "p30"}
    assert r.lines[0].discounts[1].text == "平台券满299减30，本行分摊30.00元"


def test_coupon_sku_scope_threshold_and_reduction_on_its_lines_only() -> None:
    # coupon over category x: x lines 80 + 40 = 120 >= 100 -> 20 off over them:
    # A 20 x 80/120 = 13.33 + residue 0.01 -> 13.34, B 6.66; C (y) untouched
    c = Coupon("cx", SHOP, D("20"), D("100"), Scope(categories=frozenset({"x"})))
    r = price_cart(cart(("A", 1, "80", "x"), ("B", 1, "40", "x"), ("C", 1, "500", "y")),
                   Offers((), (c,)))
    assert [amounts(ln).get("cx") for ln in r.lines] == [D("13.34"), D("6.66"), None]
    assert r.payable == D("600.00")
    # 80 + 10 in x: 90 < 100, no coupon although the cart is 590
    r = price_cart(cart(("A", 1, "80", "x"), ("B", 1, "10", "x"), ("C", 1, "500", "y")),
                   Offers((), (c,)))
    assert r.payable == D("590.00")


def test_coupons_never_take_the_cart_below_zero() -> None:
    # 10.00 with a 20.00 shop coupon without threshold: 10 off; the platform coupon finds 0
    offers = Offers((), (Coupon("s", SHOP, D("20")), Coupon("p", PLATFORM, D("5"))))
    r = price_cart(cart(("A", 1, "10.00", None)), offers)
    assert r.payable == D("0.00") and r.lines[0].final_amount == D("0.00")
    assert r.applied == ("s",)
    assert r.lines[0].discounts[0].text == "店铺券无门槛减20，本行分摊10.00元"


# --- points ------------------------------------------------------------------------------------

@pytest.mark.parametrize(("balance", "rate", "share", "off", "used"), [
    (10_000, 100, "0.1", "10.00", 1000),  # share cap: 10% of 100
    (500, 100, "0.1", "5.00", 500),  # balance: 500 points = 5.00
    (500, 50, "0.5", "10.00", 500),  # 50 points a yuan: 500 = 10.00 (< 50.00)
    (0, 100, "1", "0.00", 0),
])
def test_points_after_coupons_capped_by_balance_and_share(balance: int, rate: int, share: str,
                                                          off: str, used: int) -> None:
    # 110 - coupon 10 = 100 payable before points
    offers = Offers((), (Coupon("c", SHOP, D("10")),), PointsRule(balance, rate, D(share)))
    r = price_cart(cart(("A", 1, "110", None)), offers)
    assert r.payable == D("100") - D(off)
    assert r.points_used == used
    assert ("points" in r.applied) == (used > 0)


def test_every_reduction_is_explained_line_by_line() -> None:
    # A 2 x 120, B 1 x 59.90 (direct -10 -> 49.90): 289.90; 满199减30 -> 259.90;
    # shop 满200减20 -> 239.90; points 10% of 239.90 = 23.99, balance 10.00 -> 229.90
    offers = Offers((full_reduction("fr", "199", "30"),
                     Promotion("d", K.DIRECT, Scope(skus=frozenset({"B"})), off=D("10"))),
                    (Coupon("c", SHOP, D("20"), D("200")),),
                    PointsRule(balance=1000, max_share=D("0.1")))
    r = price_cart(cart(("A", 2, "120.00", None), ("B", 1, "59.90", None)), offers)
    assert r.payable == D("229.90")
    assert r.goods_total == D("299.90") and r.discount_total == D("70.00")
    # 满减 30 over 240 : 49.90 -> A 30 x 240/289.90 = 24.836.. -> 24.83 (+0.01 residue: 24.84)
    assert amounts(line(r, "A"))["fr"] == D("24.84")
    assert amounts(line(r, "B")) == {"d": D("10.00"), "fr": D("5.16"), "c": D("3.44"),
                                     "points": D("1.72")}
    for ln in r.lines:
        assert sum(d.amount for d in ln.discounts) == ln.list_amount - ln.final_amount
    assert sum(ln.final_amount for ln in r.lines) == r.payable
    assert r.applied == ("d", "fr", "c", "points")


def test_empty_cart_and_no_offers() -> None:
    r = price_cart(Cart(()), Offers())
    assert r.payable == D("0.00") and r.lines == () and r.applied == ()
    r = price_cart(cart(("A", 3, "9.99", None)), Offers())
    assert r.payable == D("29.97") and r.lines[0].discounts == ()


def test_the_search_tier_arithmetic_equals_the_engine_one() -> None:
    # engine_cross.cut_cents (the search's precompiled tiers) == tier_discount_cents, on
    # random multi-buys, full reductions (also 每满 with a cap) and full discounts
    import random

    from storeops.pricing.engine_compile import compile_promotion
    from storeops.pricing.engine_cross import cut_cents, tier_discount_cents

    rng = random.Random(1)

    def tier() -> Tier:
        kw: dict = {}
        basis = rng.choice(["qty", "threshold", "none"])
        if basis == "qty":
            kw["qty"] = rng.randint(1, 5)
        elif basis == "threshold":
            kw["threshold"] = D(rng.choice(["0", "50", "99.5", "199", "300"]))
        if rng.random() < 0.5:
            kw["off"] = D(rng.choice(["5", "10.5", "30", "80"]))
        else:
            kw["percent"] = D(rng.choice(["5", "10", "12.5", "33.33"]))
        return Tier(**kw)

    for _ in range(400):
        kind = rng.choice([K.MULTI_BUY, K.FULL_REDUCTION, K.FULL_DISCOUNT])
        repeat = kind == K.FULL_REDUCTION and rng.random() < 0.5
        tiers = (tier(),) if repeat else tuple(tier() for _ in range(rng.randint(1, 3)))
        cap = D(rng.choice(["20", "50"])) if repeat and rng.random() < 0.5 else None
        cp = compile_promotion(Promotion("x", kind, tiers=tiers, repeat=repeat, cap=cap))
        for _ in range(20):
            amount, pieces = rng.randint(-5, 100_000), rng.randint(0, 12)
            assert cut_cents(cp, amount, pieces) == tier_discount_cents(cp, amount, pieces)[0]
