"""Which cross-item promotion each line joins and which coupons to use (pure, integer cents).

The objective is the payable before points, lowest first (points never change the order: the
payable after points grows with the payable before them). Search:

1. A coupon is *safe* when, even after the most any stack of cross-item promotions could take
   off its lines, its eligible amount still reaches its threshold and the most both coupons
   could take: then its value is the same whatever the lines join, and the choice of coupons
   separates from the choice of promotions.
2. Lines are split into components: lines linked by a shared candidate promotion. When every
   coupon is safe (the usual large cart), or a component has no line any coupon covers, each
   component maximizes its cross-item discount on its own. Every cross-item discount grows with
   the lines that join it, so there a line always joins one of its candidates.
3. Otherwise the components touching a coupon are searched together with the whole objective
   (cross-item discount + best coupons), a line may also join nothing (a lower discount can
   keep a coupon's threshold).
4. Each search is branch and bound over lines (most candidates first): the bound is, per
   promotion, the lesser of its discount with every undecided candidate line and its rate bound
   (tier off / threshold, or percent), plus the best rate of each undecided line; identical
   lines (same candidates, amount and quantity) take candidates in non-decreasing order. The
   incumbent starts from greedy (dearest line first, best marginal gain) improved by single-line
   moves, so the answer is never worse than greedy.
5. A search stops after ``NODE_BUDGET`` nodes; the best assignment found so far is kept (the
   heuristic case, flagged ``exact=False``). Carts of 12 lines with 4 candidates per line
   finish well within it (see tests/test_pricing_engine_optimal.py).

Coupons: at most one shop and one platform coupon. Both thresholds are tested on the eligible
amount after promotions (as JD does); the shop coupon is taken first, and the platform coupon
takes at most what is left of its eligible lines after the shop coupon's shares, so no line and
no cart goes below zero. Ties prefer fewer coupons, then the earlier coupon in the offers.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from storeops.pricing.apportion import apportion
from storeops.pricing.engine_compile import CCoupon, CPromo
from storeops.pricing.engine_cross import bundle_discount_cents, tier_discount_cents
from storeops.pricing.model import PromotionKind

NODE_BUDGET = 200_000
NONE = -1


@dataclass
class Problem:
    amounts: list[int]  # item-level amount per line, cents
    qtys: list[int]
    skus: list[str]
    segs: list[list[tuple[int, int]]]  # (unit cents, units) per line, dearest first
    promos: list[CPromo]  # the cross-item promotions some line may join
    cands: list[list[int]]  # per line: indexes into promos
    coupons: list[CCoupon]
    elig: list[list[int]]  # per coupon: the lines it covers
    memo: dict[tuple[int, tuple[int, ...]], int] = field(default_factory=dict)

    def disc(self, p: int, members: tuple[int, ...]) -> int:
        key = (p, members)
        hit = self.memo.get(key)
        if hit is not None:
            return hit
        cp = self.promos[p]
        if not members:
            value = 0
        elif cp.kind == PromotionKind.BUNDLE:
            units: dict[str, list[tuple[int, int]]] = {}
            for i in members:
                units.setdefault(self.skus[i], []).extend(self.segs[i])
            for v in units.values():
                v.sort(reverse=True)
            value = bundle_discount_cents(cp, units)[0]
        else:
            amount = pieces = 0
            for i in members:
                amount += self.amounts[i]
                pieces += self.qtys[i]
            value = tier_discount_cents(cp, amount, pieces)[0]
        self.memo[key] = value
        return value

    def members(self, assign: list[int]) -> list[list[int]]:
        out: list[list[int]] = [[] for _ in self.promos]
        for i, p in enumerate(assign):
            if p != NONE:
                out[p].append(i)
        return out

    def after_cross(self, assign: list[int]) -> tuple[int, list[int]]:
        """(cross-item total, line amounts after cross-item shares)."""
        amounts = list(self.amounts)
        total = 0
        for p, mem in enumerate(self.members(assign)):
            if not mem:
                continue
            off = self.disc(p, tuple(mem))
            if off:
                total += off
                for i, share in zip(mem, apportion(off, [self.amounts[i] for i in mem]),
                                    strict=True):
                    amounts[i] -= share
        return total, amounts

    def evaluate(self, assign: list[int]) -> int:
        """Everything taken off (cross-item + coupons) for this assignment."""
        total, amounts = self.after_cross(assign)
        if self.coupons:
            total += best_coupons(amounts, self.coupons, self.elig)[0]
        return total


def _eligible(amounts: list[int], c: CCoupon, lines: list[int]) -> int:
    if c.all_lines:
        return sum(amounts)
    return sum(amounts[i] for i in lines)


def coupon_shares(amounts: list[int], coupons: list[CCoupon], elig: list[list[int]],
                  chosen: list[int]) -> list[tuple[int, int, list[int]]]:
    """Apply the chosen coupons (shop first) to line ``amounts``: (coupon index, off, shares
    per line of the whole cart) each, thresholds tested on the after-promotion ``amounts``."""
    left = list(amounts)
    out = []
    for c in sorted(chosen, key=lambda k: not coupons[k].shop):
        cc = coupons[c]
        lines = elig[c]
        if _eligible(amounts, cc, lines) < cc.threshold:
            continue
        room = sum(left[i] for i in lines)
        off = min(cc.off, room)
        if off <= 0:
            continue
        shares = [0] * len(amounts)
        for i, s in zip(lines, apportion(off, [left[i] for i in lines]), strict=True):
            shares[i] = s
            left[i] -= s
        out.append((c, off, shares))
    return out


def best_coupons(amounts: list[int], coupons: list[CCoupon],
                 elig: list[list[int]]) -> tuple[int, list[int]]:
    """(most taken off, the coupons' indexes) over at most one shop and one platform coupon."""
    shop: list[tuple[int, int, int]] = []  # (index, eligible amount, off alone)
    plat: list[tuple[int, int, int]] = []
    for k, c in enumerate(coupons):
        e = _eligible(amounts, c, elig[k])
        if e <= 0 or e < c.threshold:
            continue
        (shop if c.shop else plat).append((k, e, min(c.off, e)))
    best, chosen = 0, []
    for k, _, off in shop + plat:
        if off > best:
            best, chosen = off, [k]
    for ks, _, offs in shop:
        for kp, ep, offp in plat:
            if offs + offp <= best:
                continue
            if coupons[kp].off <= ep - offs:  # whatever the shop coupon took, it fits
                total = offs + coupons[kp].off
            else:  # the platform coupon may hit what the shop coupon left: apportion exactly
                total = sum(off for _, off, _ in coupon_shares(amounts, coupons, elig,
                                                               [ks, kp]))
            if total > best:
                best, chosen = total, [ks, kp]
    return best, chosen


def _rate_cents(cp: CPromo, amount: int) -> int:
    num, den = cp.rate
    return -(-amount * num // den)


@dataclass
class Outcome:
    assign: list[int]
    value: int
    exact: bool
    nodes: int


class _Search:
    """Branch and bound over the lines ``order`` of ``problem``; the rest of the assignment is
    ``base`` (fixed)."""

    def __init__(self, problem: Problem, order: list[int], base: list[int], full: bool,
                 budget: int) -> None:
        self.pb = problem
        self.order = order
        self.base = base
        self.full = full  # whole objective (with coupons, "none" allowed) or cross-only
        self.budget = budget
        self.nodes = 0
        self.exact = True
        pset: set[int] = set()
        for i in order:
            pset.update(problem.cands[i])
        self.promos = sorted(pset)
        n = len(order)
        # remaining[k][p]: lines order[k:] that may join p
        self.remaining: list[dict[int, tuple[int, ...]]] = []
        self.rest_rate = [0] * (n + 1)
        for k in range(n - 1, -1, -1):
            i = order[k]
            best = max((_rate_cents(problem.promos[p], problem.amounts[i])
                        for p in problem.cands[i]), default=0)
            self.rest_rate[k] = self.rest_rate[k + 1] + min(best, problem.amounts[i])
        for k in range(n + 1):
            rem: dict[int, list[int]] = {}
            for i in order[k:]:
                for p in problem.cands[i]:
                    rem.setdefault(p, []).append(i)
            self.remaining.append({p: tuple(v) for p, v in rem.items()})
        self.same_as_prev = [False] * n
        for k in range(1, n):
            a, b = order[k - 1], order[k]
            self.same_as_prev[k] = (problem.cands[a] == problem.cands[b]
                                    and problem.amounts[a] == problem.amounts[b]
                                    and problem.qtys[a] == problem.qtys[b]
                                    and problem.skus[a] == problem.skus[b])
        self.coupon_ub = 0
        if full and problem.coupons:
            self.coupon_ub = best_coupons(problem.amounts, problem.coupons, problem.elig)[0]
            # an upper bound: thresholds on the item-level amounts, nothing capped lower
            shop = max((c.off for c in problem.coupons if c.shop), default=0)
            plat = max((c.off for c in problem.coupons if not c.shop), default=0)
            self.coupon_ub = max(self.coupon_ub, shop + plat)
        self.fixed_members: dict[int, list[int]] = {p: [] for p in self.promos}
        self.outside = 0  # what the lines outside this search take off (whole objective only)
        if full:
            in_order = set(order)
            others: dict[int, list[int]] = {}
            for i, p in enumerate(base):
                if p != NONE and i not in in_order:
                    others.setdefault(p, []).append(i)
            self.outside = sum(problem.disc(p, tuple(m)) for p, m in others.items())

    def value(self, assign: list[int]) -> int:
        if self.full:
            return self.pb.evaluate(assign)
        members: dict[int, list[int]] = {p: [] for p in self.promos}
        for i in self.order:
            if assign[i] != NONE:
                members[assign[i]].append(i)
        return sum(self.pb.disc(p, tuple(m)) for p, m in members.items())

    def greedy(self) -> list[int]:
        assign = list(self.base)
        for i in self.order:
            assign[i] = NONE
        order = sorted(self.order, key=lambda i: -self.pb.amounts[i])
        for i in order:
            best, best_p = None, NONE
            for p in ([NONE] if self.full else []) + self.pb.cands[i]:
                assign[i] = p
                v = self.value(assign)
                if best is None or v > best:
                    best, best_p = v, p
            assign[i] = best_p
        return self.improve(assign)

    def improve(self, assign: list[int]) -> list[int]:
        current = self.value(assign)
        for _ in range(3):
            better = False
            for i in self.order:
                keep = assign[i]
                for p in ([NONE] if self.full else []) + self.pb.cands[i]:
                    if p == keep:
                        continue
                    assign[i] = p
                    v = self.value(assign)
                    if v > current:
                        current, keep, better = v, p, True
                assign[i] = keep
            if not better:
                break
        return assign

    def run(self) -> Outcome:
        start = self.greedy()
        self.best_value = self.value(start)
        self.best = list(start)
        assign = list(self.base)
        members = {p: list(v) for p, v in self.fixed_members.items()}
        self._dfs(0, assign, members, -1)
        return Outcome(self.best, self.best_value, self.exact, self.nodes)

    def _bound(self, k: int, members: dict[int, list[int]]) -> int:
        """An upper bound of what any completion of this partial assignment takes off."""
        pb = self.pb
        rem = self.remaining[k]
        every = with_rates = 0
        for p in self.promos:
            mem = members[p]
            extra = rem.get(p)
            if extra:
                d_all = pb.disc(p, tuple(mem) + extra)
                amt = 0
                for i in mem:
                    amt += pb.amounts[i]
                r = _rate_cents(pb.promos[p], amt)
                every += d_all
                with_rates += d_all if d_all < r else r
            else:
                d = pb.disc(p, tuple(mem))
                every += d
                with_rates += d
        with_rates += self.rest_rate[k]
        return (every if every < with_rates else with_rates) + self.outside + self.coupon_ub

    def _dfs(self, k: int, assign: list[int], members: dict[int, list[int]],
             prev_choice: int) -> None:
        self.nodes += 1
        if self.nodes > self.budget:
            self.exact = False
            return
        if k == len(self.order):
            v = self.value(assign)
            if v > self.best_value:
                self.best_value, self.best = v, list(assign)
            return
        if self._bound(k, members) <= self.best_value:
            return
        i = self.order[k]
        choices = ([NONE] if self.full else []) + self.pb.cands[i]
        start = 0
        if self.same_as_prev[k]:
            start = choices.index(prev_choice) if prev_choice in choices else 0
        for p in choices[start:]:
            assign[i] = p
            if p != NONE:
                members[p].append(i)
            self._dfs(k + 1, assign, members, p)
            if p != NONE:
                members[p].pop()
            if self.nodes > self.budget:
                break
        assign[i] = NONE


def components(problem: Problem, lines: list[int]) -> list[list[int]]:
    """Lines linked by a shared candidate promotion."""
    parent = {i: i for i in lines}

    def find(x: int) -> int:
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    first: dict[int, int] = {}
    for i in lines:
        for p in problem.cands[i]:
            if p in first:
                parent[find(i)] = find(first[p])
            else:
                first[p] = i
    groups: dict[int, list[int]] = {}
    for i in lines:
        groups.setdefault(find(i), []).append(i)
    return list(groups.values())


def _coupons_safe(problem: Problem) -> bool:
    if not problem.coupons:
        return True
    every: dict[int, list[int]] = {}
    for i, cs in enumerate(problem.cands):
        for p in cs:
            every.setdefault(p, []).append(i)
    ub = sum(problem.disc(p, tuple(m)) for p, m in every.items())
    most = (max((c.off for c in problem.coupons if c.shop), default=0)
            + max((c.off for c in problem.coupons if not c.shop), default=0))
    for c, lines in zip(problem.coupons, problem.elig, strict=True):
        e = _eligible(problem.amounts, c, lines)
        if e - ub < max(c.threshold, most, 1):
            return False
    return True


def optimize(problem: Problem, budget: int = NODE_BUDGET) -> Outcome:
    """The assignment (promotion index or NONE per line) with the most taken off."""
    n = len(problem.amounts)
    assign = [NONE] * n
    open_lines = [i for i in range(n) if problem.cands[i]]
    if not open_lines:
        return Outcome(assign, problem.evaluate(assign), True, 0)
    comps = components(problem, open_lines)
    covered = set()
    if not _coupons_safe(problem):
        for lines in problem.elig:
            covered.update(lines)
    joint: list[int] = []
    exact, nodes = True, 0
    for comp in comps:
        if covered and any(i in covered for i in comp):
            joint.extend(comp)
            continue
        if len(comp) == 1 and len(problem.cands[comp[0]]) == 1:
            assign[comp[0]] = problem.cands[comp[0]][0]
            continue
        order = sorted(comp, key=lambda i: (-len(problem.cands[i]), -problem.amounts[i],
                                             problem.cands[i], i))
        out = _Search(problem, order, assign, False, budget).run()
        for i in comp:
            assign[i] = out.assign[i]
        exact, nodes = exact and out.exact, nodes + out.nodes
    if joint:
        order = sorted(joint, key=lambda i: (-len(problem.cands[i]), -problem.amounts[i],
                                              problem.cands[i], i))
        out = _Search(problem, order, assign, True, budget).run()
        assign = out.assign
        exact, nodes = exact and out.exact, nodes + out.nodes
    return Outcome(assign, problem.evaluate(assign), exact, nodes)
