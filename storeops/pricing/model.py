"""What a promotion, a coupon, points and a cart are: plain values, no I/O.

The file format (``storeops.pricing.spec``), the database (``storeops.pricing.models``), the
engine (``storeops.pricing.engine``) and the audits all speak these types. Money is ``Decimal``
in yuan (``Decimal("99.00")``); a percent is percent *off* (9折 is ``Decimal("10")``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from enum import StrEnum


class PromotionKind(StrEnum):
    # Item-level: the lowest of these sets the unit price of a line.
    DIRECT = "direct"  # 直降 / 限时特价: price, off or percent
    FLASH_SALE = "flash_sale"  # 秒杀: price, per_order_limit, quota
    GROUP_BUY = "group_buy"  # 拼购: group_size, price (only for a cart bought as a group)
    MEMBER_PRICE = "member_price"  # 会员价: member_prices by tier
    # Cross-item: a line joins at most one of these.
    MULTI_BUY = "multi_buy"  # 多买优惠: tiers of {qty, percent|off}, pieces across its SKUs
    FULL_REDUCTION = "full_reduction"  # 满减: tiers of {threshold, off}; repeat (每满) + cap
    FULL_DISCOUNT = "full_discount"  # 满折: tiers of {threshold|qty, percent}
    BUNDLE = "bundle"  # 套装: bundle_items at price
    # Neither: adds gifts, takes nothing off.
    GIFT = "gift"  # 满赠: tiers of {threshold|qty}, gifts


ITEM_LEVEL = frozenset({PromotionKind.DIRECT, PromotionKind.FLASH_SALE,
                        PromotionKind.GROUP_BUY, PromotionKind.MEMBER_PRICE})
CROSS_ITEM = frozenset({PromotionKind.MULTI_BUY, PromotionKind.FULL_REDUCTION,
                        PromotionKind.FULL_DISCOUNT, PromotionKind.BUNDLE})


class CouponScope(StrEnum):
    SHOP = "shop"  # 店铺券
    PLATFORM = "platform"  # 平台券 (京券/东券 of JD)


@dataclass(frozen=True)
class Scope:
    """Which SKUs an offer covers: all (``skus is None``), listed SKUs and/or categories,
    minus exclusions."""

    skus: frozenset[str] | None = None
    categories: frozenset[str] = frozenset()
    exclude_skus: frozenset[str] = frozenset()
    exclude_categories: frozenset[str] = frozenset()

    def covers(self, sku: str, category: str | None = None) -> bool:
        if sku in self.exclude_skus or (category is not None
                                        and category in self.exclude_categories):
            return False
        if self.skus is None and not self.categories:
            return True
        return (self.skus is not None and sku in self.skus) or (
            category is not None and category in self.categories)


ALL = Scope()


@dataclass(frozen=True)
class Tier:
    """One step of a tiered promotion: reached at ``qty`` pieces or ``threshold`` yuan; gives
    ``off`` yuan or ``percent`` off."""

    qty: int | None = None
    threshold: Decimal | None = None
    off: Decimal | None = None
    percent: Decimal | None = None


@dataclass(frozen=True)
class BundleItem:
    sku: str
    qty: int = 1


@dataclass(frozen=True)
class Gift:
    sku: str
    qty: int = 1


@dataclass(frozen=True)
class Promotion:
    id: str
    kind: PromotionKind
    scope: Scope = ALL
    start: datetime | None = None  # aware; None: open
    end: datetime | None = None  # aware, exclusive; None: open
    name: str | None = None
    # Item-level terms (direct: exactly one of price/off/percent; flash and group: price).
    price: Decimal | None = None
    off: Decimal | None = None
    percent: Decimal | None = None
    per_order_limit: int | None = None  # flash: units per order at the flash price
    quota: int | None = None  # flash: units left at the flash price
    group_size: int | None = None  # group buy: 2 or 5 people
    member_prices: Mapping[str, Decimal] = field(default_factory=dict)  # tier -> unit price
    # Cross-item terms.
    tiers: tuple[Tier, ...] = ()
    repeat: bool = False  # 每满: the (single) tier repeats, e.g. 每满100减10
    cap: Decimal | None = None  # most a 每满 takes off
    bundle_items: tuple[BundleItem, ...] = ()  # bundle: the set …
    gifts: tuple[Gift, ...] = ()  # gift: what the buyer receives

    def active_at(self, at: datetime | None) -> bool:
        return at is None or ((self.start is None or self.start <= at)
                              and (self.end is None or at < self.end))


@dataclass(frozen=True)
class Coupon:
    id: str
    scope: CouponScope
    off: Decimal
    threshold: Decimal = Decimal("0")  # 0: no threshold (京券)
    skus: Scope = ALL  # which lines count toward the threshold and take the reduction
    start: datetime | None = None
    end: datetime | None = None
    name: str | None = None

    def active_at(self, at: datetime | None) -> bool:
        return at is None or ((self.start is None or self.start <= at)
                              and (self.end is None or at < self.end))


@dataclass(frozen=True)
class PointsRule:
    """The buyer's points (京豆): ``rate`` points make 1.00 yuan; at most ``max_share`` (0–1)
    of the payable may be paid with them."""

    balance: int
    rate: int = 100
    max_share: Decimal = Decimal("1")


@dataclass(frozen=True)
class Offers:
    """Everything that may apply to a cart: the promotions file's content."""

    promotions: tuple[Promotion, ...] = ()
    coupons: tuple[Coupon, ...] = ()
    points: PointsRule | None = None


@dataclass(frozen=True)
class CartLine:
    sku: str
    qty: int
    price: Decimal  # unit list price
    category: str | None = None


@dataclass(frozen=True)
class Cart:
    lines: tuple[CartLine, ...]
    member_tier: str | None = None
    group_buy: bool = False  # bought as a group (拼购): group-buy prices apply


@dataclass(frozen=True)
class LineDiscount:
    id: str  # the promotion's or coupon's id; "points" for points
    amount: Decimal  # yuan taken off this line (positive)
    kind: str  # a PromotionKind value, "coupon" or "points"
    text: str = ""  # short explanation in Chinese, e.g. "满199减30，本行分摊12.34元"


@dataclass(frozen=True)
class PricedLine:
    sku: str
    qty: int
    list_amount: Decimal  # price × qty
    final_amount: Decimal  # what the buyer pays for this line
    discounts: tuple[LineDiscount, ...] = ()
    cross_promotion: str | None = None  # the cross-item promotion this line joined


@dataclass(frozen=True)
class PricingResult:
    lines: tuple[PricedLine, ...]
    goods_total: Decimal  # sum of list amounts
    discount_total: Decimal
    payable: Decimal
    applied: tuple[str, ...]  # ids of promotions, coupons (and "points") that took something
    points_used: int = 0
    gifts: tuple[Gift, ...] = ()
    notes: tuple[str, ...] = ()  # Chinese sentences explaining the choice
