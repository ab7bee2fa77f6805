"""The pricing engine: price a cart as JD would, with the best stack for the buyer (pure).

``price_cart(cart, offers, at)`` applies, in this order (amounts in integer cents inside,
rounded half up to 0.01 at each step, ``Decimal`` yuan outside):

1. Item-level price (``engine_items``): the lowest of list price, direct cut, group buy (only
   when ``cart.group_buy``), member price (``cart.member_tier``); a flash sale price for at most
   min(per-order limit, quota) units, the rest of the line at the other price.
2. Cross-item (``engine_cross``): each line joins at most one multi-buy, full reduction, full
   discount or bundle; the engine chooses which (``optimizer``), and may leave a line out when
   that lets a coupon's threshold be reached. Gift promotions take nothing off; their gifts are
   added when a tier is reached on the covered lines' amount after item-level prices (or their
   pieces), whatever cross-item promotion the lines join; their ids are listed in ``applied``.
3. Coupons: at most one shop and one platform coupon, both thresholds tested on the eligible
   amount after promotions (JD's rule); the shop coupon is taken first, the platform coupon at
   most what is left of its lines. An offer (promotion or coupon) counts only when active at
   ``at`` (``None``: all count).
4. Points: at most the balance, at most ``max_share`` of the payable after coupons (floored to
   the cent); ``rate`` points are 1.00 yuan; the points used are the fewest whole points worth
   that many cents (rate 100: one point a cent).
5. Payable = goods after all of that (freight is not priced here).

``applied`` lists, in that order, the item-level promotions that lowered a price, the
cross-item promotions that took something, the gift promotions reached, the coupons used and
``"points"``. ``notes`` says when the cart was too large for the exact search (see
``optimizer``: exact up to 12 lines, never worse than greedy beyond). Offers are compiled once
per ``Offers`` value (``compile_offers``, cached by identity); ``price_cart_compiled`` takes
the compiled form directly.

Every order-level reduction (cross-item, coupons, points) is apportioned over the lines it
covers in proportion to their amounts at that step (``apportion``: residue on the largest
line), so each line's ``final_amount`` is what a refund of that line gives back, the lines'
final amounts add up to the payable, and each line's discounts add up to list − final.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from storeops.pricing.apportion import apportion
from storeops.pricing.engine_compile import (
    CCoupon,
    CompiledOffers,
    CPromo,
    CTier,
    compile_offers,
    ratio,
)
from storeops.pricing.engine_cross import (
    bundle_discount,
    bundle_discount_cents,
    cross_discount,
    gift_reached,
    tier_discount_cents,
)
from storeops.pricing.engine_items import ItemLine, item_unit_price, price_items
from storeops.pricing.model import (
    Cart,
    Gift,
    LineDiscount,
    Offers,
    PricedLine,
    PricingResult,
    PromotionKind,
)
from storeops.pricing.optimizer import NONE, Problem, best_coupons, coupon_shares, optimize

__all__ = ["bundle_discount", "compile_offers", "cross_discount", "item_unit_price",
           "price_cart", "price_cart_compiled"]


_YUAN: dict[int, Decimal] = {}  # cents -> Decimal yuan (immutable values, shared)
_YUAN_SIZE = 20_000


def from_cents(cents: int) -> Decimal:
    """Cents as yuan with two decimals."""
    d = _YUAN.get(cents)
    if d is None:
        d = Decimal(cents).scaleb(-2)
        if len(_YUAN) < _YUAN_SIZE:
            _YUAN[cents] = d
    return d


_new = object.__new__


def _ld(pid: str, cents: int, kind: str, text: str) -> LineDiscount:
    """A LineDiscount without the frozen dataclass' slow __init__ (the same value)."""
    d = _new(LineDiscount)
    amount = _YUAN.get(cents)
    if amount is None:
        amount = from_cents(cents)
    d.__dict__.update(id=pid, amount=amount, kind=kind, text=text)
    return d


def _priced(it: ItemLine, final: int, discounts: list[LineDiscount],
            cross: str | None) -> PricedLine:
    """A PricedLine without the frozen dataclass' slow __init__ (the same value)."""
    p = _new(PricedLine)
    line = it.line
    p.__dict__.update(sku=line.sku, qty=line.qty, list_amount=from_cents(it.list_unit * line.qty),
                      final_amount=from_cents(final), discounts=tuple(discounts),
                      cross_promotion=cross)
    return p


def _y(cents: int) -> str:
    """12.34 (two decimals)."""
    return f"{cents // 100}.{cents % 100:02d}"


def _n(cents: int) -> str:
    """199 or 199.5: an amount in a promotion's name."""
    text = _y(cents)
    return text[:-3] if text.endswith(".00") else text.rstrip("0")


def _zhe(pct: tuple[int, int]) -> str:
    """Percent off as JD's 折: 10 -> 9, 15 -> 8.5."""
    value = (Decimal(100) - Decimal(pct[0]) / Decimal(pct[1])) / 10
    return format(value.normalize(), "f")


_ITEM_LABEL = {PromotionKind.DIRECT: "直降", PromotionKind.FLASH_SALE: "秒杀",
               PromotionKind.GROUP_BUY: "拼购价", PromotionKind.MEMBER_PRICE: "会员价"}


def _tier_text(cp: CPromo, tier: CTier | None) -> str:
    key = id(tier)
    text = cp.texts.get(key)
    if text is None:
        text = cp.texts[key] = _describe_tier(cp, tier)
    return text


def _describe_tier(cp: CPromo, tier: CTier | None) -> str:
    if cp.kind == PromotionKind.BUNDLE:
        return f"套装{_n(cp.price or 0)}元"
    if tier is None:
        return cp.promo.name or cp.id
    if tier.threshold is not None:
        reach = f"满{_n(tier.threshold)}"
    elif tier.qty is not None:
        reach = f"{tier.qty}件" if cp.kind == PromotionKind.MULTI_BUY else f"满{tier.qty}件"
    else:
        reach = ""
    if cp.repeat:
        reach = "每" + (reach if reach.startswith("满") else "满" + reach)
    if tier.pct is not None:
        give = ("" if cp.kind == PromotionKind.MULTI_BUY else "打") + f"{_zhe(tier.pct)}折"
    else:
        give = f"减{_n(tier.off or 0)}"
    text = reach + give
    if cp.cap is not None:
        text += f"（最多减{_n(cp.cap)}）"
    if cp.kind == PromotionKind.MULTI_BUY:
        text = "多买优惠：" + text
    return text


def _cross_detail(cp: CPromo, members: list[int], items: list[ItemLine]) -> str:
    if cp.kind == PromotionKind.BUNDLE:
        units: dict[str, list[tuple[int, int]]] = {}
        for i in members:
            units.setdefault(items[i].line.sku, []).extend(
                (u, n) for n, u, _ in items[i].segments)
        for v in units.values():
            v.sort(reverse=True)
        _, sets = bundle_discount_cents(cp, units)
        return f"套装：{sets}套×{_y(cp.price or 0)}元"
    amount = sum(items[i].amount for i in members)
    pieces = sum(items[i].line.qty for i in members)
    _, tier, _ = tier_discount_cents(cp, amount, pieces)
    return _tier_text(cp, tier)


def _coupon_text(c: CCoupon) -> str:
    if not c.text:
        label = "店铺券" if c.shop else "平台券"
        if c.threshold:
            c.text = f"{label}满{_n(c.threshold)}减{_n(c.off)}"
        else:
            c.text = f"{label}无门槛减{_n(c.off)}"
    return c.text


_RATIOS: dict[Decimal, tuple[int, int]] = {}


def _share_ratio(share: Decimal) -> tuple[int, int]:
    hit = _RATIOS.get(share)
    if hit is None:
        hit = ratio(share)
        if len(_RATIOS) < 1000:
            _RATIOS[share] = hit
    return hit


def price_cart(cart: Cart, offers: Offers, at: datetime | None = None) -> PricingResult:
    """The lowest-payable pricing of ``cart`` under the ``offers`` active at ``at``."""
    return price_cart_compiled(cart, compile_offers(offers), at)


def price_cart_compiled(cart: Cart, compiled: CompiledOffers,
                        at: datetime | None = None) -> PricingResult:
    items = price_items(cart, compiled, at)
    n = len(items)
    discounts: list[list[LineDiscount]] = [[] for _ in range(n)]
    applied: list[str] = []

    def use(pid: str) -> None:
        if pid not in applied:
            applied.append(pid)

    # 1. item level
    for i, it in enumerate(items):
        for units, unit, cp in it.segments:
            if cp is None or units <= 0 or unit >= it.list_unit:
                continue
            label = _ITEM_LABEL[cp.kind]
            if cp.kind == PromotionKind.MEMBER_PRICE:
                label += f"（{cart.member_tier}）"
            count = f"{units}件" if len(it.segments) > 1 else ""
            text = f"{label}：{count}单价{_y(it.list_unit)}→{_y(unit)}"
            discounts[i].append(_ld(cp.id, units * (it.list_unit - unit), cp.kind_value, text))
            use(cp.id)

    # 2. cross item: candidates, coupons, the best assignment
    promo_pos: dict[int, int] = {}
    promos: list[CPromo] = []
    cands: list[list[int]] = []
    for it in items:
        mine = []
        for cp in compiled.promotions_for(compiled.cross_index, it.line.sku, it.line.category,
                                          at):
            key = id(cp)
            if key not in promo_pos:
                promo_pos[key] = len(promos)
                promos.append(cp)
            mine.append(promo_pos[key])
        cands.append(mine)
    coupons = (list(compiled.coupons) if at is None else
               [c for c in compiled.coupons if c.coupon.active_at(at)])
    everyone = list(range(n))
    covers = compiled.coupon_covers
    elig = []
    for c in coupons:
        if c.all_lines:
            elig.append(everyone)
            continue
        mine = []
        for i, it in enumerate(items):
            key = (c.id, it.line.sku, it.line.category)
            hit = covers.get(key)
            if hit is None:
                hit = c.coupon.skus.covers(it.line.sku, it.line.category)
                if len(covers) < 200_000:
                    covers[key] = hit
            if hit:
                mine.append(i)
        elig.append(mine)
    problem = Problem(amounts=[it.amount for it in items], qtys=[it.line.qty for it in items],
                      skus=[it.line.sku for it in items],
                      segs=[[(u, k) for k, u, _ in it.segments] for it in items],
                      promos=promos, cands=cands, coupons=coupons, elig=elig)
    outcome = optimize(problem, value=False)
    assign = outcome.assign

    amounts = [it.amount for it in items]
    joined: dict[int, list[int]] = {}
    for i, p in enumerate(assign):
        if p != NONE:
            joined.setdefault(p, []).append(i)
    cross_of: list[str | None] = [None] * n
    for p, members in sorted(joined.items()):
        cp = promos[p]
        off = problem.disc(p, tuple(members))
        for i in members:
            cross_of[i] = cp.id
        if not off:
            continue
        use(cp.id)
        detail = _cross_detail(cp, members, items)
        pid, kind = cp.id, cp.kind_value
        for i, share in zip(members, apportion(off, [items[i].amount for i in members]),
                            strict=True):
            amounts[i] -= share
            if share:
                d = _new(LineDiscount)
                d.__dict__.update(id=pid, amount=_YUAN.get(share) or from_cents(share),
                                  kind=kind,
                                  text=f"{detail}，本行分摊{share // 100}.{share % 100:02d}元")
                discounts[i].append(d)

    # gifts: reached on the covered lines' amount after item-level prices (or pieces)
    gifts: list[Gift] = []
    reach: dict[int, list] = {}
    for it in items:
        for cp in compiled.promotions_for(compiled.gift_index, it.line.sku, it.line.category,
                                          at):
            got = reach.get(id(cp))
            if got is None:
                got = reach[id(cp)] = [cp, 0, 0]
            got[1] += it.amount
            got[2] += it.line.qty
    for cp, amount, pieces in reach.values():
        if gift_reached(cp, amount, pieces):
            gifts.extend(cp.promo.gifts)
            use(cp.id)

    # 3. coupons
    _, chosen = best_coupons(amounts, coupons, elig)
    for k, _off, shares in coupon_shares(amounts, coupons, elig, chosen):
        c = coupons[k]
        use(c.id)
        text, pid = _coupon_text(c), c.id
        for i, share in enumerate(shares):
            if share:
                d = _new(LineDiscount)
                d.__dict__.update(id=pid, amount=_YUAN.get(share) or from_cents(share),
                                  kind="coupon",
                                  text=f"{text}，本行分摊{share // 100}.{share % 100:02d}元")
                discounts[i].append(d)
                amounts[i] -= share

    # 4. points
    points_used = 0
    rule = compiled.offers.points
    payable = sum(amounts)
    if rule is not None and rule.balance > 0 and rule.rate > 0 and payable > 0:
        num, den = _share_ratio(rule.max_share)
        by_share = payable * num // den
        by_balance = rule.balance * 100 // rule.rate
        cents = max(0, min(by_share, by_balance, payable))
        if cents:
            points_used = -(-cents * rule.rate // 100)
            use("points")
            head = f"京豆抵扣{points_used}个，本行分摊"
            for i, share in enumerate(apportion(cents, amounts)):
                if share:
                    amounts[i] -= share
                    d = _new(LineDiscount)
                    d.__dict__.update(id="points", amount=_YUAN.get(share) or from_cents(share),
                                      kind="points",
                                      text=f"{head}{share // 100}.{share % 100:02d}元")
                    discounts[i].append(d)
            payable -= cents

    lines = tuple(_priced(it, amounts[i], discounts[i], cross_of[i])
                  for i, it in enumerate(items))
    goods = sum(it.list_amount for it in items)
    notes = []
    if not outcome.exact:
        notes.append("组合过多，未能在计算上限内证明最优；优惠组合按启发式选择（不劣于逐项贪心）。")
    return PricingResult(lines=lines, goods_total=from_cents(goods),
                         discount_total=from_cents(goods - payable),
                         payable=from_cents(payable), applied=tuple(applied),
                         points_used=points_used, gifts=tuple(gifts), notes=tuple(notes))
