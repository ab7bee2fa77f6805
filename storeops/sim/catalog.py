"""The demo store's assortment: categories with their price ranges, cost ratios, brands and the
parts that titles are built from (pure data and a pure generator, no I/O)."""

from __future__ import annotations

import random
from dataclasses import dataclass


@dataclass(frozen=True)
class CategorySpec:
    name: str
    code: str  # prefix of the seller code (货号)
    price_yuan: tuple[float, float]  # list price range
    cost_ratio: tuple[float, float]  # cost / list price
    brands: tuple[str, ...]
    nouns: tuple[str, ...]
    specs: tuple[str, ...]
    weight: float  # share of the assortment


# Title parts avoid the absolute claims China's Advertising Law bans (最, 第一, 顶级 …).
FEATURES = (
    "新款", "加厚", "便携", "大容量", "升级款", "简约", "家用", "官方正品", "热卖", "经典款",
)

CATEGORIES: tuple[CategorySpec, ...] = (
    CategorySpec(
        "手机配件", "SJ", (19, 199), (0.35, 0.50),
        ("品胜", "绿联", "倍思", "安克", "小米", "公牛"),
        ("数据线", "快充充电器", "手机壳", "钢化膜", "充电宝", "蓝牙耳机", "车载支架", "无线充"),
        ("1米", "2米", "20W", "65W", "黑色", "白色", "10000mAh", "适用iPhone15"),
        0.24,
    ),
    CategorySpec(
        "家居日用", "JJ", (9.9, 299), (0.40, 0.55),
        ("维达", "清风", "茶花", "太力", "妙洁", "洁柔"),
        ("抽纸", "收纳箱", "衣架", "保鲜袋", "平板拖把", "垃圾袋", "毛巾", "置物架"),
        ("24包", "3层", "大号", "10只装", "100只", "灰色", "两件套", "加大号"),
        0.22,
    ),
    CategorySpec(
        "美妆个护", "MZ", (29, 399), (0.25, 0.40),
        ("珀莱雅", "自然堂", "百雀羚", "欧莱雅", "舒肤佳", "云南白药"),
        ("洗面奶", "保湿面霜", "精华液", "防晒霜", "洗发水", "沐浴露", "牙膏", "面膜"),
        ("100ml", "50g", "400ml", "5片装", "套装", "补水保湿", "清爽型", "旅行装"),
        0.20,
    ),
    CategorySpec(
        "食品饮料", "SP", (9.9, 159), (0.55, 0.70),
        ("三只松鼠", "良品铺子", "百草味", "伊利", "农夫山泉", "雀巢"),
        ("每日坚果", "纯牛奶", "饮用天然水", "速溶咖啡", "苏打饼干", "牛肉干", "茶叶礼盒"),
        ("750g", "250ml*24盒", "550ml*24瓶", "30包", "礼盒装", "1kg", "组合装"),
        0.18,
    ),
    CategorySpec(
        "服饰鞋包", "FS", (49, 599), (0.30, 0.45),
        ("李宁", "安踏", "森马", "特步", "回力", "361°"),
        ("纯棉T恤", "运动鞋", "双肩包", "连帽卫衣", "运动袜", "休闲裤", "跑步鞋"),
        ("男款", "女款", "黑色", "白色", "M码", "L码", "42码", "5双装"),
        0.16,
    ),
)


@dataclass(frozen=True)
class SimProduct:
    platform_sku_id: str
    seller_code: str
    title: str
    category: str
    brand: str
    list_price_cents: int
    cost_cents: int
    status: str  # on_sale | off_shelf
    popularity: float  # share of the store's traffic (all SKUs add up to 1)
    # First day index without traffic (the day it went off shelf); None while on sale.
    off_shelf_day: int | None


def _price_cents(rng: random.Random, low: float, high: float) -> int:
    # Shelf prices look like 39.90, 59.00 or 129.00, not 41.37.
    yuan = low * (high / low) ** rng.random()
    whole = int(yuan)
    if whole >= 100:
        return (whole - whole % 10 + 9) * 100
    return whole * 100 + rng.choice((0, 90, 90, 80))


def generate_products(rng: random.Random, count: int, days: int) -> list[SimProduct]:
    """``count`` SKUs across the categories; popularity follows a long tail (a few heroes)."""
    if count < len(CATEGORIES):
        raise ValueError(f"a demo store needs at least {len(CATEGORIES)} SKUs")
    total_weight = sum(c.weight for c in CATEGORIES)
    quotas = [max(1, round(count * c.weight / total_weight)) for c in CATEGORIES]
    quotas[0] += count - sum(quotas)
    # Zipf-like weights, dealt out at random so that heroes sit in every category.
    ranks = list(range(1, count + 1))
    rng.shuffle(ranks)
    raw = [1.0 / (r**1.15) for r in ranks]
    total_raw = sum(raw)
    sku_numbers = rng.sample(range(10_000_000, 99_999_999), count)
    products: list[SimProduct] = []
    seen_titles: set[str] = set()
    index = 0
    for spec, quota in zip(CATEGORIES, quotas, strict=True):
        for n in range(quota):
            brand = rng.choice(spec.brands)
            title = ""
            for _ in range(20):
                title = (
                    f"{brand} {rng.choice(spec.nouns)} {rng.choice(FEATURES)} "
                    f"{rng.choice(spec.specs)}"
                )
                if title not in seen_titles:
                    break
            seen_titles.add(title)
            price = _price_cents(rng, *spec.price_yuan)
            cost = int(price * rng.uniform(*spec.cost_ratio))
            off_shelf = ranks[index] > count * 0.4 and rng.random() < 0.15
            products.append(
                SimProduct(
                    platform_sku_id=f"1000{sku_numbers[index]}",
                    seller_code=f"{spec.code}-{n + 1:04d}",
                    title=title,
                    category=spec.name,
                    brand=brand,
                    list_price_cents=price,
                    cost_cents=cost,
                    status="off_shelf" if off_shelf else "on_sale",
                    popularity=raw[index] / total_raw,
                    off_shelf_day=rng.randrange(days // 3, days) if off_shelf and days > 3 else
                    (0 if off_shelf else None),
                )
            )
            index += 1
    return products
