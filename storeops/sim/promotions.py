"""The demo store's promotions: one that ran over the simulated campaign (its results page has
something to show), one live, one scheduled, a shop coupon, and a flash sale deep enough to
break the 破价 floor of its SKU, left as a draft that waits for a second person's approval.
Also the store's pricing guards: a 10% minimum margin and JD's commission by category."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from storeops.sim.model import SimStore

DEMO_ACTOR = "demo"
# JD's commission by category (domain reference §7: 3C 2–5%, apparel/home 5–8%, beauty 8–10%).
COMMISSIONS = {"手机配件": "0.04", "家居日用": "0.06", "美妆个护": "0.09", "食品饮料": "0.05",
               "服饰鞋包": "0.07"}
MIN_MARGIN = Decimal("0.10")


@dataclass(frozen=True)
class DemoPromotions:
    created: int
    statuses: dict[str, str]  # code -> status


def _yuan(cents: int) -> str:
    return f"{Decimal(cents) / 100:.2f}"


def _iso(day: date, tz: ZoneInfo, hour: int = 0) -> str:
    return datetime.combine(day, time(hour), tz).isoformat()


def demo_offers(sim: SimStore, now: datetime, tz: ZoneInfo) -> dict[str, Any]:
    """The promotions file of the demo store (the format of ``storeops.pricing.spec``)."""
    today = now.astimezone(tz).date()
    on_sale = [p for p in sim.products if p.status == "on_sale"]
    popular = sorted(on_sale, key=lambda p: -p.popularity)
    event = sim.event
    category = popular[0].category
    flash = popular[0]
    promotions: list[dict[str, Any]] = [
        {"id": "demo-event-mj", "kind": "full_reduction", "name": f"{event.name}满减",
         "skus": "all", "start": _iso(event.first, tz),
         "end": _iso(event.last + timedelta(days=1), tz),
         "tiers": [{"threshold": "199.00", "off": "20.00"},
                   {"threshold": "399.00", "off": "50.00"}]},
        {"id": "demo-week-direct", "kind": "direct", "name": "本周直降",
         "skus": [p.platform_sku_id for p in popular[1:11]], "percent": "5",
         "start": _iso(today - timedelta(days=2), tz), "end": _iso(today + timedelta(days=5), tz)},
        {"id": "demo-multi-buy", "kind": "multi_buy", "name": f"{category}多买优惠",
         "skus": "all", "categories": [category],
         "start": _iso(today + timedelta(days=3), tz), "end": _iso(today + timedelta(days=10), tz),
         "tiers": [{"qty": 2, "percent": "5"}, {"qty": 3, "percent": "10"}]},
        {"id": "demo-flash-deep", "kind": "flash_sale", "name": "爆款秒杀",
         "skus": [flash.platform_sku_id], "price": _yuan(flash.list_price_cents * 45 // 100),
         "per_order_limit": 2, "quota": 200,
         "start": _iso(today + timedelta(days=1), tz, 20),
         "end": _iso(today + timedelta(days=1), tz, 22)},
    ]
    coupons = [
        {"id": "demo-shop-coupon", "scope": "shop", "name": "店铺券满299减20",
         "threshold": "299.00", "off": "20.00",
         "start": _iso(today - timedelta(days=1), tz), "end": _iso(today + timedelta(days=14), tz)},
    ]
    return {"promotions": promotions, "coupons": coupons}


def seed_demo_promotions(session: Session, store_id: int, sim: SimStore, now: datetime,
                         tz: ZoneInfo) -> DemoPromotions:
    """Write the demo's pricing guards and promotions, schedule each through the 破价 guard,
    and move them on the clock (the campaign's has ended, this week's is live)."""
    from storeops.pricing.models import PromotionRecord
    from storeops.pricing.service import (
        NeedsApproval,
        advance_due,
        import_offers,
        schedule,
        set_commission,
        set_settings,
    )

    set_settings(session, store_id, DEMO_ACTOR, min_margin=MIN_MARGIN)
    for category, rate in COMMISSIONS.items():
        set_commission(session, store_id, category, Decimal(rate), DEMO_ACTOR)
    result = import_offers(session, store_id, demo_offers(sim, now, tz), "demo", DEMO_ACTOR)
    for code in result.created:
        try:
            schedule(session, store_id, code, DEMO_ACTOR)
        except NeedsApproval:
            pass  # stays a draft: the page shows its SKUs below floor and the approve form
    advance_due(session, now, store_id)
    statuses = {r.code: r.status for r in session.query(PromotionRecord)
                .filter(PromotionRecord.store_id == store_id)}
    return DemoPromotions(created=len(result.created), statuses=statuses)
