"""The reference arithmetic and random carts of the pricing tests and benchmarks, written out
again apart from the engine's (which they check): integer cents, half-up, the best tier a line
set reaches, the plain greedy assignment, 12-line carts of up to 4 candidates a line, and the
brute force of the property tests (``bf_payable``: every assignment, every coupon choice)."""

from __future__ import annotations

import itertools
import random
from collections.abc import Iterable
from decimal import ROUND_HALF_UP, Decimal

from storeops.pricing.model import (
    Cart,
    CartLine,
    Coupon,
    CouponScope,
    Offers,
    Promotion,
    PromotionKind,
    Scope,
    Tier,
)

K = PromotionKind


def cents(d: Decimal) -> int:
    return int((d * 100).quantize(Decimal(1), rounding=ROUND_HALF_UP))


def tier_cut(p: Promotion, amount: int, pieces: int) -> int:
    """Multi-buy / full reduction / full discount: the cut of the best tier reached by
    ``amount`` cents over ``pieces`` pieces, never more than the amount."""
    best = 0
    for t in p.tiers:
        if (t.qty is None or pieces >= t.qty) and (t.threshold is None
                                                   or amount >= cents(t.threshold)):
            if t.off is not None:
                cut = cents(t.off)
            else:
                kept = (Decimal(amount) * (100 - t.percent) / 100).quantize(
                    Decimal(1), rounding=ROUND_HALF_UP)
                cut = amount - int(kept)
            best = max(best, cut)
    return min(best, amount)


def plain_greedy_cut(lines: list[CartLine], promos: list[Promotion]) -> int:
    """Dearest line first, each into the promotion where it gains most now."""
    joined: dict[str, list[CartLine]] = {p.id: [] for p in promos}

    def cut(p: Promotion, members: list[CartLine]) -> int:
        return tier_cut(p, sum(cents(m.price) * m.qty for m in members),
                        sum(m.qty for m in members))

    for ln in sorted(lines, key=lambda x: -cents(x.price) * x.qty):
        options = [p for p in promos if p.scope.covers(ln.sku, ln.category)]
        if options:
            best = max(options, key=lambda p: cut(p, joined[p.id] + [ln]) - cut(p, joined[p.id]))
            joined[best.id].append(ln)
    return sum(cut(p, joined[p.id]) for p in promos)


def cap_candidates(lines: list[CartLine], promos: list[Promotion], most: int = 4) -> None:
    """Take lines out of SKU-scoped promotions (in place) until no line has more than ``most``
    candidates."""
    for ln in lines:
        mine = [p for p in promos if p.scope.covers(ln.sku)]
        for p in mine[most:]:
            k = promos.index(p)
            promos[k] = Promotion(p.id, p.kind, Scope(skus=p.scope.skus - {ln.sku}),
                                  tiers=p.tiers)
        assert sum(p.scope.covers(ln.sku) for p in promos) <= most


def random_case(seed: int, shared: bool, n: int = 12) -> tuple[Cart, list[Promotion]]:
    """``n`` lines; 4 store-wide promotions (``shared``) or 7 on 7 SKUs each, at most 4 a
    line: full reduction, multi-buy and full discount."""
    rng = random.Random(seed)
    cats = ["a", "b", "c"]
    lines = [CartLine(f"S{i}", rng.randint(1, 3),
                      Decimal(rng.choice(["19.90", "49.00", "89.00", "129.00", "259.00"])),
                      rng.choice(cats)) for i in range(n)]
    skus = [ln.sku for ln in lines]
    promos = mixed_promotions(rng, skus, 4 if shared else 7, None if shared else 7)
    if not shared:
        cap_candidates(lines, promos)
    return Cart(tuple(lines)), promos


def mixed_promotions(rng: random.Random, skus: list[str], count: int, scope_size: int | None,
                     reduction_at: Iterable[int] = (199, 299, 399),
                     reduction_off: tuple[Iterable[int], Iterable[int]] = ((30, 50), (80, 120)),
                     discount_at: Iterable[int] = (300, 500)) -> list[Promotion]:
    """``count`` promotions taking turns: full reduction (two tiers, the second at twice the
    first's threshold), multi-buy (3件9折, 5件8折) and full discount (15% off); store-wide
    (``scope_size`` None) or each on ``scope_size`` SKUs drawn from ``skus``."""
    promos = []
    for j in range(count):
        scope = Scope() if scope_size is None else Scope(
            skus=frozenset(rng.sample(skus, scope_size)))
        kind = j % 3
        if kind == 0:
            t = rng.choice(list(reduction_at))
            promos.append(Promotion(f"fr{j}", K.FULL_REDUCTION, scope, tiers=(
                Tier(threshold=Decimal(t), off=Decimal(rng.choice(list(reduction_off[0])))),
                Tier(threshold=Decimal(2 * t),
                     off=Decimal(rng.choice(list(reduction_off[1])))))))
        elif kind == 1:
            promos.append(Promotion(f"mb{j}", K.MULTI_BUY, scope, tiers=(
                Tier(qty=3, percent=Decimal("10")), Tier(qty=5, percent=Decimal("20")))))
        else:
            promos.append(Promotion(f"fd{j}", K.FULL_DISCOUNT, scope, tiers=(
                Tier(threshold=Decimal(rng.choice(list(discount_at))), percent=Decimal("15")),)))
    return promos


# --- the brute force ----------------------------------------------------------------------

def scoped_coupons(lines: list[CartLine], cut: int) -> tuple[Coupon, Coupon]:
    """The competing coupons of ``bench/price_exact_bench.py --scoped``, given the plain greedy
    ``cut``: a shop coupon on category a (100 off, threshold its lines' goods minus half their
    share of the cut) and a platform coupon on categories a and b (150 off, threshold their
    goods minus a third of their share)."""
    goods = sum(cents(ln.price) * ln.qty for ln in lines)
    out = []
    for cid, kind, cats, off, part in (("a", CouponScope.SHOP, {"a"}, "100", 2),
                                       ("ab", CouponScope.PLATFORM, {"a", "b"}, "150", 3)):
        inside = sum(cents(ln.price) * ln.qty for ln in lines if ln.category in cats)
        out.append(Coupon(cid, kind, Decimal(off),
                          Decimal(inside - cut * inside // goods // part) / 100,
                          Scope(categories=frozenset(cats))))
    return out[0], out[1]


def many_coupons(lines: list[CartLine], cut: int, rng: random.Random) -> tuple[Coupon, ...]:
    """The competing coupons of ``bench/price_exact_bench.py --many-coupons``, given the plain
    greedy ``cut``: 2-3 shop and 2-3 platform candidates, nested and overlapping scopes. Each
    threshold is its lines' goods minus a part (a half, a third or a quarter) of their share of
    the greedy cut, so that each is kept only by a cart that gives up some of its promotions
    on those lines. Shop: category a (100 off), categories a and b (120 off), maybe the whole
    cart (200 off); platform: category b (60 off), categories b and c (150 off), maybe the
    whole cart (150 off). Each threshold is at least three times its off."""
    goods = sum(cents(ln.price) * ln.qty for ln in lines)
    specs = [("sa", CouponScope.SHOP, {"a"}, 100), ("sab", CouponScope.SHOP, {"a", "b"}, 120),
             ("pb", CouponScope.PLATFORM, {"b"}, 60),
             ("pbc", CouponScope.PLATFORM, {"b", "c"}, 150)]
    if rng.random() < 0.5:
        specs.append(("sall", CouponScope.SHOP, None, 200))
    if rng.random() < 0.5:
        specs.append(("pall", CouponScope.PLATFORM, None, 150))
    out = []
    for cid, kind, cats, off in specs:
        inside = sum(cents(ln.price) * ln.qty for ln in lines
                     if cats is None or ln.category in cats)
        part = rng.choice([2, 3, 4])
        threshold = inside - cut * inside // goods // part
        if threshold < 300 * off:  # too few of its lines in the cart: a low bar
            threshold = 300 * off
        out.append(Coupon(cid, kind, Decimal(off), Decimal(threshold) / 100,
                          Scope() if cats is None else Scope(categories=frozenset(cats))))
    return tuple(out)


def after_pct(amount: int, pct: Decimal) -> int:
    """amount x (100 - pct) / 100, half up, in cents."""
    return int((Decimal(amount) * (100 - pct) / 100).quantize(Decimal(1),
                                                               rounding=ROUND_HALF_UP))


# --- the brute force -------------------------------------------------------------------------

def flash_rank(p: Promotion, line: CartLine) -> int:
    """Of flash sales at one price, the engine takes the one naming the SKU, then one naming
    its category, then a store-wide one (each in file order: the sort is stable)."""
    if p.scope.skus is not None and line.sku in p.scope.skus:
        return 0
    return 1 if line.category in p.scope.categories else 2


def bf_items(cart: Cart, promos: list[Promotion]) -> list[list[tuple[int, int]]]:
    """Per line: (units, unit price in cents)."""
    flash_left: dict[str, int] = {}
    out = []
    for line in cart.lines:
        lp = cents(line.price)
        rest = lp
        flash_price, flash_id = None, None
        for p in promos:
            if not p.scope.covers(line.sku, line.category):
                continue
            unit = None
            if p.kind == K.DIRECT:
                if p.price is not None:
                    unit = cents(p.price)
                elif p.off is not None:
                    unit = max(0, lp - cents(p.off))
                else:
                    unit = after_pct(lp, p.percent)
            elif p.kind == K.MEMBER_PRICE and cart.member_tier in p.member_prices:
                unit = cents(p.member_prices[cart.member_tier])
            elif p.kind == K.GROUP_BUY and cart.group_buy:
                unit = cents(p.price)
            if unit is not None:
                rest = min(rest, unit)
        for p in sorted(promos, key=lambda p: flash_rank(p, line)):
            if p.kind == K.FLASH_SALE and p.scope.covers(line.sku, line.category):
                left = flash_left.get(p.id, min(p.per_order_limit, p.quota))
                if left > 0 and cents(p.price) < rest and (
                        flash_price is None or cents(p.price) < flash_price):
                    flash_price, flash_id = cents(p.price), p.id
        segs = []
        qty = line.qty
        if flash_id is not None:
            left = flash_left.get(flash_id, min(next(p for p in promos if p.id == flash_id)
                                                .per_order_limit, next(
                                                    p for p in promos if p.id == flash_id).quota))
            k = min(qty, left)
            flash_left[flash_id] = left - k
            segs.append((k, flash_price))
            qty -= k
        if qty:
            segs.append((qty, rest))
        out.append(segs)
    return out


def bf_disc(p: Promotion, lines: list[int], amounts: list[int], cart: Cart,
            segs: list[list[tuple[int, int]]]) -> int:
    if not lines:
        return 0
    if p.kind == K.BUNDLE:
        units: dict[str, list[int]] = {}
        for i in lines:
            for n, u in segs[i]:
                units.setdefault(cart.lines[i].sku, []).extend([u] * n)
        sets = min(len(units.get(b.sku, [])) // b.qty for b in p.bundle_items)
        best = 0
        for s in range(1, sets + 1):  # the buyer forms the s dearest sets
            value = sum(sum(sorted(units[b.sku], reverse=True)[:s * b.qty])
                        for b in p.bundle_items)
            best = max(best, value - s * cents(p.price))
        return best
    a = sum(amounts[i] for i in lines)
    pieces = sum(cart.lines[i].qty for i in lines)
    if p.repeat:
        t = p.tiers[0]
        off = cents(t.off) * (a // cents(t.threshold))
    else:
        off = 0
        for t in p.tiers:
            if (t.qty is None or pieces >= t.qty) and (
                    t.threshold is None or a >= cents(t.threshold)):
                o = cents(t.off) if t.off is not None else a - after_pct(a, t.percent)
                off = max(off, o)
    if p.cap is not None:
        off = min(off, cents(p.cap))
    return min(off, a)


def bf_split(total: int, weights: list[int]) -> list[int]:
    w = sum(weights)
    if total == w:
        return list(weights)
    parts = [total * x // w for x in weights]
    rest = total - sum(parts)
    for i in sorted(range(len(weights)), key=lambda k: (-weights[k], k)):
        add = min(rest, weights[i] - parts[i])
        parts[i] += add
        rest -= add
    return parts


def bf_payable(cart: Cart, offers: Offers) -> int:
    """The lowest payable of every assignment of lines to one of their cross-item promotions
    or none, and every choice of at most one shop and one platform coupon."""
    cross = [p for p in offers.promotions if p.kind in (K.MULTI_BUY, K.FULL_REDUCTION,
                                                         K.FULL_DISCOUNT, K.BUNDLE)]
    options = []
    for line in cart.lines:
        mine = [None]
        for p in cross:
            ok = p.scope.covers(line.sku, line.category)
            if p.kind == K.BUNDLE:
                ok = ok and line.sku in {b.sku for b in p.bundle_items}
            if ok:
                mine.append(p)
        options.append(mine)
    return bf_best(cart, offers, itertools.product(*options))


def bf_best(cart: Cart, offers: Offers, assignments: Iterable[tuple]) -> int:
    """The lowest payable over the given assignments (per line: a cross-item promotion of
    ``offers`` or None) and every choice of coupons, points last."""
    promos = list(offers.promotions)
    segs = bf_items(cart, promos)
    base = [sum(n * u for n, u in s) for s in segs]
    cross = [p for p in promos if p.kind in (K.MULTI_BUY, K.FULL_REDUCTION, K.FULL_DISCOUNT,
                                               K.BUNDLE)]
    shops = [None] + [c for c in offers.coupons if c.scope == CouponScope.SHOP]
    plats = [None] + [c for c in offers.coupons if c.scope == CouponScope.PLATFORM]
    best = None
    for choice in assignments:
        amounts = list(base)
        for p in cross:
            members = [i for i, c in enumerate(choice) if c is p]
            off = bf_disc(p, members, base, cart, segs)
            if off:
                for i, s in zip(members, bf_split(off, [base[i] for i in members]),
                                strict=True):
                    amounts[i] -= s
        for shop, plat in itertools.product(shops, plats):
            left = list(amounts)
            for c in (shop, plat):
                if c is None:
                    continue
                lines = [i for i, ln in enumerate(cart.lines)
                         if c.skus.covers(ln.sku, ln.category)]
                e = sum(amounts[i] for i in lines)
                if e <= 0 or e < cents(c.threshold):
                    continue
                off = min(cents(c.off), sum(left[i] for i in lines))
                if off > 0:
                    for i, s in zip(lines, bf_split(off, [left[i] for i in lines]),
                                    strict=True):
                        left[i] -= s
            total = sum(left)
            if best is None or total < best:
                best = total
    pts = offers.points
    if pts is not None and best > 0:
        by_share = int((Decimal(best) * pts.max_share).to_integral_value(rounding="ROUND_FLOOR"))
        use = min(by_share, pts.balance * 100 // pts.rate, best)
        best -= max(0, use)
    return best


def bf_by_outcomes(cart: Cart, offers: Offers) -> int:
    """The lowest payable (no points) of every assignment, enumerated by its outcomes: what a
    coupon takes depends on an assignment only through the cut landing on the coupon's lines
    (its eligible amount; the platform coupon's room when the shop coupon's lines are all its
    own or none of them), and the payable on the cross-item total X too. So every promotion's
    every member set is priced (``bf_disc``, ``bf_split``) and combined with the others' over
    disjoint lines, keeping for each (lines a later promotion may still take, cut on each
    coupon's lines) the largest X; every coupon choice is priced on each. Far fewer states
    than the 5**12 assignments of a 12-line cart, and no bound or heuristic cuts any."""
    assert offers.points is None
    promos = list(offers.promotions)
    segs = bf_items(cart, promos)
    base = [sum(n * u for n, u in s) for s in segs]
    cross = [p for p in promos if p.kind in (K.MULTI_BUY, K.FULL_REDUCTION, K.FULL_DISCOUNT,
                                             K.BUNDLE)]
    coupons = list(offers.coupons)
    cover = [frozenset(i for i, ln in enumerate(cart.lines) if c.skus.covers(ln.sku, ln.category))
             for c in coupons]
    cands = []
    for p in cross:
        mine = [i for i, ln in enumerate(cart.lines) if p.scope.covers(ln.sku, ln.category)
                and (p.kind != K.BUNDLE or ln.sku in {b.sku for b in p.bundle_items})]
        cands.append(mine)
    later = [0] * (len(cross) + 1)
    for j in range(len(cross) - 1, -1, -1):
        later[j] = later[j + 1] | sum(1 << i for i in cands[j])
    states: dict[tuple[int, tuple[int, ...]], int] = {(0, (0,) * len(coupons)): 0}
    for j, p in enumerate(cross):
        options = []
        for r in range(len(cands[j]) + 1):
            for members in itertools.combinations(cands[j], r):
                off = bf_disc(p, list(members), base, cart, segs)
                parts = bf_split(off, [base[i] for i in members]) if off else [0] * r
                on = tuple(sum(s for i, s in zip(members, parts, strict=True) if i in cv)
                           for cv in cover)
                options.append((sum(1 << i for i in members), off, on))
        new: dict[tuple[int, tuple[int, ...]], int] = {}
        for (m, ys), x in states.items():
            for mask, off, on in options:
                if m & mask:
                    continue
                key = ((m | mask) & later[j + 1], tuple(a + b for a, b in zip(ys, on,
                                                                              strict=True)))
                if new.get(key, -1) < x + off:
                    new[key] = x + off
        states = new
    goods = sum(base)
    shops = [None] + [k for k, c in enumerate(coupons) if c.scope == CouponScope.SHOP]
    plats = [None] + [k for k, c in enumerate(coupons) if c.scope == CouponScope.PLATFORM]
    best = goods
    for (_, ys), x in states.items():
        elig = [sum(base[i] for i in cv) - y for cv, y in zip(cover, ys, strict=True)]
        for s, p in itertools.product(shops, plats):
            off_s = off_p = 0
            if s is not None and 0 < elig[s] and elig[s] >= cents(coupons[s].threshold):
                off_s = min(cents(coupons[s].off), elig[s])
            if p is not None and 0 < elig[p] and elig[p] >= cents(coupons[p].threshold):
                if s is None or not off_s or not cover[s] & cover[p]:
                    room = elig[p]
                elif cover[s] <= cover[p]:
                    room = elig[p] - off_s
                else:
                    raise NotImplementedError("a shop coupon on lines partly the platform's")
                off_p = max(0, min(cents(coupons[p].off), room))
            best = min(best, goods - x - off_s - off_p)
    return best
