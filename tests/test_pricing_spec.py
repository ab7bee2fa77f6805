"""The promotions file and the cart file (storeops.pricing.spec): every kind reads into the
engine's values, writes back to the same values, and every mistake names the file, the entry
and the field, in Chinese and in English."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from storeops.common.errors import localise
from storeops.pricing.model import (
    BundleItem,
    Cart,
    CartLine,
    CouponScope,
    Gift,
    LineDiscount,
    PricedLine,
    PricingResult,
    PromotionKind,
    Scope,
    Tier,
)
from storeops.pricing.spec import (
    OfferSpecError,
    coupon_to_dict,
    load_cart,
    load_offers,
    offers_to_dict,
    parse_cart,
    parse_coupon,
    parse_offers,
    parse_points,
    parse_promotion,
    points_to_dict,
    promotion_to_dict,
    result_to_json,
)

EVERY_KIND = """
timezone: Asia/Shanghai
promotions:
  - id: D1
    kind: direct
    name: 直降
    skus: [A, B]
    percent: 10
    start: 2026-06-18 00:00
    end: 2026-06-19T00:00:00+08:00
  - {id: D2, kind: direct, skus: [C], price: 79.90}
  - {id: D3, kind: direct, categories: [手机], exclude_skus: [A], off: 5}
  - {id: F1, kind: flash_sale, skus: [A], price: 59.00, per_order_limit: 2, quota: 200,
     start: "2026-06-18T20:00", end: "2026-06-18T22:00"}
  - {id: G1, kind: group_buy, skus: [B], price: 80, group_size: 2}
  - {id: V1, kind: member_price, skus: all, member_prices: {plus: 90.00, gold: 95}}
  - id: MB
    kind: multi_buy
    skus: [A, B]
    tiers: [{qty: 2, percent: 10}, {qty: 3, percent: 20}]
  - id: FR
    kind: full_reduction
    skus: all
    exclude_categories: [生鲜]
    tiers: [{threshold: 199, off: 30}, {threshold: 299, off: 50}]
  - {id: EV, kind: full_reduction, skus: all, tiers: [{threshold: 100, off: 10}],
     repeat: true, cap: 50}
  - {id: FD, kind: full_discount, skus: [A], tiers: [{qty: 2, percent: 15}]}
  - {id: BU, kind: bundle, items: [{sku: A, qty: 1}, {sku: B}], price: 150}
  - {id: GI, kind: gift, skus: [A], tiers: [{threshold: 300}], gifts: [{sku: GIFT1, qty: 1}]}
coupons:
  - {id: C1, scope: shop, threshold: 100, off: 10}
  - {id: C2, scope: platform, off: 5, skus: [A], name: 京券, end: "2026-07-01"}
points: {balance: 1000, rate: 100, max_share: 0.5}
"""


def write(tmp_path: Path, text: str, name: str = "promos.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_every_kind_reads_into_the_engine_values(tmp_path: Path) -> None:
    offers = load_offers(write(tmp_path, EVERY_KIND))
    by_id = {p.id: p for p in offers.promotions}
    assert [p.id for p in offers.promotions] == ["D1", "D2", "D3", "F1", "G1", "V1", "MB",
                                                 "FR", "EV", "FD", "BU", "GI"]
    d1 = by_id["D1"]
    assert d1.kind is PromotionKind.DIRECT and d1.percent == Decimal("10")
    assert d1.scope == Scope(skus=frozenset({"A", "B"})) and d1.name == "直降"
    # A time without an offset is in Asia/Shanghai: 00:00 +08:00 is 16:00 UTC the day before.
    assert d1.start == datetime(2026, 6, 17, 16, tzinfo=UTC)
    assert d1.end == datetime(2026, 6, 18, 16, tzinfo=UTC)
    # 79.90 is read from its text: exactly Decimal("79.90"), never a float.
    assert by_id["D2"].price == Decimal("79.90") and str(by_id["D2"].price) == "79.90"
    assert by_id["D3"].scope == Scope(None, frozenset({"手机"}), frozenset({"A"}))
    assert by_id["D3"].off == Decimal("5")
    f1 = by_id["F1"]
    assert (f1.price, f1.per_order_limit, f1.quota) == (Decimal("59.00"), 2, 200)
    assert by_id["G1"].group_size == 2 and by_id["G1"].price == Decimal("80")
    assert by_id["V1"].member_prices == {"plus": Decimal("90.00"), "gold": Decimal("95")}
    assert by_id["V1"].scope == Scope()  # "all"
    assert by_id["MB"].tiers == (Tier(qty=2, percent=Decimal("10")),
                                 Tier(qty=3, percent=Decimal("20")))
    assert by_id["FR"].tiers[1] == Tier(threshold=Decimal("299"), off=Decimal("50"))
    assert by_id["FR"].scope.exclude_categories == frozenset({"生鲜"})
    assert by_id["EV"].repeat and by_id["EV"].cap == Decimal("50")
    assert by_id["FD"].tiers == (Tier(qty=2, percent=Decimal("15")),)
    bundle = by_id["BU"]
    assert bundle.bundle_items == (BundleItem("A", 1), BundleItem("B", 1))
    assert bundle.scope.skus == frozenset({"A", "B"})  # the bundle's own SKUs by default
    assert by_id["GI"].gifts == (Gift("GIFT1", 1),)
    c1, c2 = offers.coupons
    assert (c1.scope, c1.threshold, c1.off) == (CouponScope.SHOP, Decimal("100"), Decimal("10"))
    assert c2.threshold == Decimal("0") and c2.skus.skus == frozenset({"A"})
    assert c2.end == datetime(2026, 6, 30, 16, tzinfo=UTC)  # a date: its midnight in Shanghai
    assert offers.points is not None and offers.points.max_share == Decimal("0.5")


def test_round_trip_of_every_kind_through_dicts_and_json(tmp_path: Path) -> None:
    offers = load_offers(write(tmp_path, EVERY_KIND))
    for p in offers.promotions:
        assert parse_promotion(promotion_to_dict(p), "x") == p, p.id
    for c in offers.coupons:
        assert parse_coupon(coupon_to_dict(c), "x") == c, c.id
    assert offers.points is not None
    assert parse_points(points_to_dict(offers.points), "x") == offers.points
    # The whole file written as JSON reads back the same.
    path = write(tmp_path, json.dumps(offers_to_dict(offers), ensure_ascii=False), "o.json")
    assert load_offers(path) == offers
    # Money is written as decimal strings with 2 decimals.
    assert promotion_to_dict(offers.promotions[1])["price"] == "79.90"
    assert coupon_to_dict(offers.coupons[0])["off"] == "10.00"


def test_timezone_of_the_file_applies_to_times_without_offset() -> None:
    offers = parse_offers({"timezone": "UTC", "promotions": [
        {"id": "P", "kind": "direct", "skus": "all", "off": 1, "start": "2026-06-18T00:00"}]})
    assert offers.promotions[0].start == datetime(2026, 6, 18, tzinfo=UTC)


def test_yaml_sku_with_leading_zero_stays_text(tmp_path: Path) -> None:
    # YAML 1.1 would read 0012 as the octal number 10.
    path = write(tmp_path, "promotions:\n  - {id: P, kind: direct, skus: [0012, 345], off: 1}\n")
    assert load_offers(path).promotions[0].scope.skus == frozenset({"0012", "345"})


def test_json_file_numbers_are_decimals(tmp_path: Path) -> None:
    path = write(tmp_path, '{"promotions": [{"id": "P", "kind": "direct", "skus": ["A"], '
                 '"price": 0.10}], "coupons": []}', "p.json")
    assert load_offers(path).promotions[0].price == Decimal("0.10")


def test_python_float_with_two_decimals_is_read_from_its_text() -> None:
    # 19.9 as a float is 19.899999…; read via its text it is exactly 19.90.
    p = parse_promotion({"id": "P", "kind": "direct", "skus": ["A"], "price": 19.9}, "x")
    assert p.price == Decimal("19.9")


# --- errors -------------------------------------------------------------------------------


def error_of(data: Any, source: str = "promos.yaml") -> OfferSpecError:
    with pytest.raises(OfferSpecError) as info:
        parse_offers(data, source)
    return info.value


def promo(**terms: Any) -> dict[str, Any]:
    return {"promotions": [{"id": "P9", "kind": "direct", "skus": ["A"], **terms}]}


# (data, field named, problem): each one names file, the entry and the field.
PROMOTION_ERRORS = [
    (promo(), "price", "one_of"),  # direct needs one of price / off / percent
    (promo(price=10, off=2), "price", "one_of"),
    (promo(percent=100), "percent", "bad_percent"),
    (promo(percent=0), "percent", "bad_percent"),
    (promo(percent="12.345"), "percent", "bad_percent"),
    (promo(price=-1), "price", "money_range"),
    (promo(price="1.999"), "price", "money_decimals"),
    (promo(price=Decimal("1.999")), "price", "money_decimals"),
    (promo(price=19.999), "price", "money_decimals"),  # a float with 3 decimals
    (promo(price="abc"), "price", "not_money"),
    (promo(price=True), "price", "not_money"),
    (promo(off=0), "off", "money_zero"),
    (promo(price=1, start="2026-06-19", end="2026-06-18"), "end", "end_before_start"),
    (promo(price=1, start="June 18"), "start", "not_time"),
    (promo(price=1, colour="red"), "colour", "unknown_keys"),
    (promo(price=1, tiers=[{"qty": 2, "percent": 10}]), "tiers", "not_for_kind"),
    (promo(price=1, skus="some"), "skus", "bad_skus"),
    (promo(price=1, skus=[]), "skus", "empty_list"),
    (promo(price=1, name=""), "name", "not_text"),
    ({"promotions": [{"id": "P9", "kind": "direct", "price": 1}]}, "skus", "required"),
    ({"promotions": [{"id": "P9", "kind": "half_price", "skus": ["A"]}]}, "kind",
     "unknown_kind"),
    ({"promotions": [{"id": "P9", "kind": "flash_sale", "skus": ["A"]}]}, "price",
     "required"),
    ({"promotions": [{"id": "P9", "kind": "flash_sale", "skus": ["A"], "price": 1,
                      "per_order_limit": 0}]}, "per_order_limit", "not_int"),
    ({"promotions": [{"id": "P9", "kind": "group_buy", "skus": ["A"], "price": 1,
                      "group_size": 1}]}, "group_size", "not_int"),
    ({"promotions": [{"id": "P9", "kind": "member_price", "skus": ["A"],
                      "member_prices": {"plus": "x"}}]}, "member_prices.plus", "not_money"),
    ({"promotions": [{"id": "P9", "kind": "multi_buy", "skus": ["A"],
                      "tiers": [{"qty": 3, "percent": 10}, {"qty": 2, "percent": 20}]}]},
     "tiers[1].qty", "tiers_order"),
    ({"promotions": [{"id": "P9", "kind": "multi_buy", "skus": ["A"],
                      "tiers": [{"threshold": 100, "percent": 10}]}]},
     "tiers[0].threshold", "unknown_keys"),
    ({"promotions": [{"id": "P9", "kind": "multi_buy", "skus": ["A"],
                      "tiers": [{"qty": 2}]}]}, "tiers[0].percent", "one_of"),
    ({"promotions": [{"id": "P9", "kind": "full_reduction", "skus": "all",
                      "tiers": [{"threshold": 199, "off": 30}, {"qty": 3, "off": 40}]}]},
     "tiers[1].qty", "tier_basis"),
    ({"promotions": [{"id": "P9", "kind": "full_reduction", "skus": "all",
                      "tiers": [{"threshold": 199, "percent": 30}]}]},
     "tiers[0].percent", "unknown_keys"),
    ({"promotions": [{"id": "P9", "kind": "full_reduction", "skus": "all",
                      "tiers": [{"threshold": 100, "off": 10}], "cap": 50}]},
     "cap", "cap_needs_repeat"),
    ({"promotions": [{"id": "P9", "kind": "full_reduction", "skus": "all", "repeat": True,
                      "tiers": [{"threshold": 100, "off": 10}, {"threshold": 200, "off": 30}]}]},
     "tiers", "repeat_one_tier"),
    ({"promotions": [{"id": "P9", "kind": "full_reduction", "skus": "all",
                      "tiers": []}]}, "tiers", "empty_list"),
    ({"promotions": [{"id": "P9", "kind": "full_discount", "skus": "all",
                      "tiers": [{"threshold": 100, "percent": 100}]}]},
     "tiers[0].percent", "bad_percent"),
    ({"promotions": [{"id": "P9", "kind": "bundle", "items": [{"sku": "A"}],
                      "price": 10}]}, "items", "bundle_size"),
    ({"promotions": [{"id": "P9", "kind": "bundle", "items": [{"qty": 2}],
                      "price": 10}]}, "items[0].sku", "required"),
    ({"promotions": [{"id": "P9", "kind": "bundle", "items": [{"sku": "A"}, {"sku": "A"}],
                      "price": 10}]}, "items[1].sku", "duplicate_sku"),
    ({"promotions": [{"id": "P9", "kind": "gift", "skus": ["A"]}]}, "gifts", "required"),
]


@pytest.mark.parametrize(("data", "field", "problem"), PROMOTION_ERRORS)
def test_promotion_errors_name_file_promotion_and_field(data: dict[str, Any], field: str,
                                                        problem: str) -> None:
    exc = error_of(data)
    assert exc.problem_name == problem
    assert exc.field == field
    assert exc.code == f"pricing.{problem}"
    en, zh = localise(exc, "en"), localise(exc, "zh-CN")
    assert en.startswith(f"promos.yaml: promotion P9, field {field}: "), en
    assert zh.startswith(f"promos.yaml：促销 P9，字段 {field}："), zh
    assert en != zh and "{" not in en and "{" not in zh
    assert exc.loc()[:2] == ["promotions", "0"]


def test_unknown_kind_lists_the_choices() -> None:
    exc = error_of({"promotions": [{"id": "X", "kind": "half_price", "skus": ["A"]}]})
    assert str(exc) == ("promos.yaml: promotion X, field kind: unknown kind half_price "
                        "(choices: direct, flash_sale, group_buy, member_price, multi_buy, "
                        "full_reduction, full_discount, bundle, gift)")
    assert "未知类型 half_price（可选：direct, flash_sale" in localise(exc, "zh-CN")


def test_unknown_keys_are_named() -> None:
    exc = error_of(promo(price=1, colour="red", size=2))
    assert "unknown key(s) colour, size" in str(exc)
    assert "未知字段 colour, size" in localise(exc, "zh-CN")


def test_an_entry_without_id_is_named_by_its_position() -> None:
    data = {"promotions": [{"id": "A1", "kind": "direct", "skus": ["A"], "off": 1},
                           {"kind": "direct", "skus": ["A"], "off": "x"}]}
    exc = error_of(data)
    # The second entry has no id: "promotion #2", field id (required first).
    assert str(exc) == "promos.yaml: promotion #2 (no id), field id: is required"
    assert localise(exc, "zh-CN") == "promos.yaml：第 2 个促销（没有 id），字段 id：必填"
    assert exc.loc() == ["promotions", "1", "id"]


def test_duplicate_ids_across_promotions_and_coupons() -> None:
    exc = error_of({"promotions": [{"id": "X", "kind": "direct", "skus": ["A"], "off": 1}],
                    "coupons": [{"id": "X", "scope": "shop", "off": 5}]})
    assert exc.problem_name == "duplicate_id"
    assert str(exc).startswith("promos.yaml: coupon X, field id: the id X is used twice")
    assert localise(exc, "zh-CN").startswith("promos.yaml：优惠券 X，字段 id：id X 重复使用")


COUPON_ERRORS = [
    ({"id": "C", "scope": "store", "off": 5}, "scope", "unknown_scope"),
    ({"id": "C", "scope": "shop"}, "off", "required"),
    ({"id": "C", "scope": "shop", "off": 0}, "off", "money_zero"),
    ({"id": "C", "scope": "shop", "off": 30, "threshold": 20}, "off", "off_above_threshold"),
    ({"id": "C", "scope": "shop", "off": 5, "threshold": "9.999"}, "threshold",
     "money_decimals"),
    ({"id": "C", "scope": "shop", "off": 5, "kind": "coupon"}, "kind", "unknown_keys"),
    ({"id": "C", "scope": "shop", "off": 5, "start": "2026-07-01", "end": "2026-06-01"},
     "end", "end_before_start"),
]


@pytest.mark.parametrize(("item", "field", "problem"), COUPON_ERRORS)
def test_coupon_errors_name_file_coupon_and_field(item: dict[str, Any], field: str,
                                                  problem: str) -> None:
    exc = error_of({"coupons": [item]})
    assert (exc.problem_name, exc.field) == (problem, field)
    assert localise(exc, "en").startswith(f"promos.yaml: coupon C, field {field}: ")
    assert localise(exc, "zh-CN").startswith(f"promos.yaml：优惠券 C，字段 {field}：")


@pytest.mark.parametrize(("item", "field", "problem"), [
    ({"rate": 100}, "balance", "required"),
    ({"balance": -1}, "balance", "not_int"),
    ({"balance": 10, "rate": 0}, "rate", "not_int"),
    ({"balance": 10, "max_share": 1.5}, "max_share", "bad_share"),
    ({"balance": 10, "max_share": 0}, "max_share", "bad_share"),
    ({"balance": 10, "cap": 1}, "cap", "unknown_keys"),
])
def test_points_errors(item: dict[str, Any], field: str, problem: str) -> None:
    exc = error_of({"points": item})
    assert (exc.problem_name, exc.field) == (problem, field)
    assert str(exc).startswith(f"promos.yaml: points, field {field}: ")
    assert localise(exc, "zh-CN").startswith(f"promos.yaml：京豆（points），字段 {field}：")


def test_file_level_errors(tmp_path: Path) -> None:
    exc = error_of({"promotion": []})
    assert str(exc) == ("promos.yaml: the file, field promotion: unknown key(s) promotion "
                        "(known: timezone, promotions, coupons, points)")
    exc = error_of({"timezone": "Mars/Base", "promotions": []})
    assert (exc.field, exc.problem_name) == ("timezone", "bad_timezone")
    exc = error_of({"promotions": {"id": "P"}})
    assert (exc.field, exc.problem_name) == ("promotions", "not_list")
    exc = error_of(["not", "a", "mapping"])
    assert exc.problem_name == "not_mapping"
    missing = tmp_path / "missing.yaml"
    with pytest.raises(OfferSpecError) as info:
        load_offers(missing)
    assert str(info.value).startswith(f"{missing}: cannot read it: ")
    assert localise(info.value, "zh-CN").startswith(f"{missing}：无法读取：")
    broken = write(tmp_path, "promotions: [\n  {id: P, kind: direct\n")
    with pytest.raises(OfferSpecError) as info:
        load_offers(broken)
    assert info.value.problem_name == "bad_yaml" and str(broken) in str(info.value)
    bad_json = write(tmp_path, '{"promotions": [}', "bad.json")
    with pytest.raises(OfferSpecError) as info:
        load_offers(bad_json)
    assert "is not valid JSON: line 1, column 17" in str(info.value)
    assert "不是有效的 JSON：第 1 行第 17 列" in localise(info.value, "zh-CN")


def test_yaml_float_with_three_decimals_is_refused(tmp_path: Path) -> None:
    path = write(tmp_path, "promotions:\n  - {id: P, kind: direct, skus: [A], price: 9.999}\n")
    with pytest.raises(OfferSpecError) as info:
        load_offers(path)
    assert str(info.value) == (f"{path}: promotion P, field price: has more than 2 "
                               "decimals: 9.999")


# --- the cart ------------------------------------------------------------------------------

def test_cart_reads_lines_member_tier_and_group(tmp_path: Path) -> None:
    path = tmp_path / "cart.json"
    path.write_text(json.dumps({"lines": [
        {"sku": "A", "qty": 2, "price": "99.00", "category": "手机"},
        {"sku": 100012345, "qty": 1, "price": 5.5}], "member_tier": "plus",
        "group_buy": True}), encoding="utf-8")
    cart = load_cart(path)
    assert cart == Cart((CartLine("A", 2, Decimal("99.00"), "手机"),
                         CartLine("100012345", 1, Decimal("5.5"))), "plus", True)
    assert parse_cart({"lines": [{"sku": "A", "qty": 1, "price": "1"}],
                       "member_tier": None}).member_tier is None


@pytest.mark.parametrize(("cart", "where", "field", "problem"), [
    ({"lines": []}, "the cart", "lines", "empty_list"),
    ({}, "the cart", "lines", "required"),
    ({"lines": [], "coupon": "x"}, "the cart", "coupon", "unknown_keys"),
    ({"lines": [{"sku": "A", "qty": 1, "price": "1"}], "group_buy": "yes"}, "the cart",
     "group_buy", "not_bool"),
    ({"lines": [{"sku": "A", "qty": 1, "price": "1"}, {"sku": "B", "qty": 0, "price": "1"}]},
     "line 2", "qty", "not_int"),
    ({"lines": [{"sku": "A", "qty": 1, "price": "1.001"}]}, "line 1", "price",
     "money_decimals"),
    ({"lines": [{"sku": "A", "qty": 1}]}, "line 1", "price", "required"),
    ({"lines": [{"qty": 1, "price": "1"}]}, "line 1", "sku", "required"),
    ({"lines": [{"sku": "A", "qty": 1, "price": "1"}, {"sku": "A", "qty": 1, "price": "1"}]},
     "line 2", "sku", "duplicate_line"),
    ({"lines": [{"sku": "A", "qty": 1, "price": "1", "colour": "red"}]}, "line 1", "colour",
     "unknown_keys"),
])
def test_cart_errors_name_the_line_and_field(cart: dict[str, Any], where: str, field: str,
                                             problem: str) -> None:
    with pytest.raises(OfferSpecError) as info:
        parse_cart(cart, "cart.json")
    exc = info.value
    assert (exc.problem_name, exc.field) == (problem, field)
    assert str(exc).startswith(f"cart.json: {where}, field {field}: ")
    zh_where = {"the cart": "购物车"}.get(where) or f"第 {where.split()[1]} 行"
    assert localise(exc, "zh-CN").startswith(f"cart.json：{zh_where}，字段 {field}：")


# --- the answer ----------------------------------------------------------------------------

def test_result_to_json_has_the_issue_shape_with_money_as_strings() -> None:
    result = PricingResult(
        lines=(PricedLine("A", 2, Decimal("198"), Decimal("168.5"),
                          (LineDiscount("FR", Decimal("29.5"), "full_reduction", "满199减30"),),
                          "FR"),),
        goods_total=Decimal("198"), discount_total=Decimal("29.5"),
        payable=Decimal("168.5"), applied=("FR",), gifts=(Gift("G", 1),))
    data = result_to_json(result)
    assert data == {
        "lines": [{"sku": "A", "qty": 2, "list_amount": "198.00", "final_amount": "168.50",
                   "discounts": [{"id": "FR", "amount": "29.50", "kind": "full_reduction",
                                  "text": "满199减30"}], "cross_promotion": "FR"}],
        "goods_total": "198.00", "discount_total": "29.50", "payable": "168.50",
        "applied": ["FR"], "points_used": 0, "gifts": [{"sku": "G", "qty": 1}], "notes": []}
    json.dumps(data)  # plain JSON: no Decimal left
