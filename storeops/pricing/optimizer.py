"""Which cross-item promotion each line joins and which coupons to use (pure, integer cents).

The objective is the payable before points, lowest first (points never change the order: the
payable after points grows with the payable before them). Search:

1. A promotion that no choice of its candidate lines brings to a tier is dropped. A coupon is
   *safe* when, even after the most the cross-item promotions could take off its lines, its
   eligible amount still reaches its threshold and covers what it and the largest coupon of
   the other kind take: its value is then the same whatever the lines join.
2. Lines are split into components: lines linked by a shared candidate promotion. A component
   no unsafe coupon covers maximizes its cross-item discount on its own; every cross-item
   discount grows with the lines that join it, so there a line always joins a candidate.
3. The components an unsafe coupon covers are searched together with the whole objective
   (cross-item + best coupons), and a line may also join nothing (a lower discount can keep a
   coupon's threshold).
4. A search over at most ``EXACT_LINES`` (12) lines is branch and bound over lines, dearest
   first (that decides the big amounts, and so the bounds, early). Bound: the least of
   (a) each promotion's cut with all its undecided candidates; (b) per promotion the lesser
   of that and its rate (tier off / threshold, or percent) times its decided amount, plus
   each undecided line's best rate; (c) a mix of the two (promotions already past their top
   fixed-off tier as in (a), the others as in (b)). With coupons, a coupon whose threshold
   the decided cuts already break is out, and a whole-cart coupon caps the cross-item cut at
   its eligible amount minus its threshold. Identical lines take candidates in non-decreasing
   order. The incumbent is greedy (dearest line first, best marginal gain) improved by
   single-line moves.
5. Exactness: the search is exact when it finishes within ``NODE_BUDGET`` (50,000) nodes.
   Carts of 12 lines with 4 candidates each take a few thousand nodes when coupons do not
   compete with the promotions (tests/test_pricing_engine_optimal.py checks them against a
   subset DP). When every coupon whose value depends on the choice covers the whole cart
   (the usual 店铺券/平台券), the objective depends only on the total cross-item cut X, and a
   short search (``SHORT_NODES``) that does not finish hands over to ``by_cut_values``: a
   dynamic program over the promotions that finds every achievable X (as bits of an integer,
   per set of lines taken), then the largest X under each coupon's breakpoint
   (tests/test_pricing_engine_exact.py checks it against an exhaustive enumeration). It runs
   when its estimated work is at most ``VALUE_DP_WORK`` (12 lines with 4 store-wide
   promotions fit). When a competing coupon is scoped to some SKUs or categories (or the
   search covers only part of the cart), ``optimizer_choices.by_coupon_choices`` takes over
   instead, whatever the number of shop and platform coupon candidates: it solves the
   coupons' choice outermost. A choice (at most one shop and one platform coupon) has at most
   two thresholds, so at most two scopes whose cut matters (a coupon on every searched line
   counts its scope's cut as X). Every choice gets an upper bound (the largest X, found by
   the branch and bound of the cross-item cut alone, capped by what its coupons' thresholds
   allow, each alone and, for two scoped coupons, both together, plus its coupons' offs);
   the most
   promising few get a first assignment (the largest X's, lines of a missed threshold taken
   out, single-line moves); then, most promising first and while a choice's bound beats the
   best found, a short depth-first dive (an assignment worth the bound settles the choice),
   then ``_scope_reach`` restricted to that choice tracks the cut landing on each of
   its scopes (for the first choice, first kept to its ``CHOICE_BEAM`` most promising states
   per step: a good assignment to beat), its states bounded by what the later promotions can
   add (exactly for the last two), by what the thresholds leave (each scope's and, with two
   scopes, both together: X is at most both scopes' caps plus what lands off both) and by
   the best found so far; its last step is a scan of
   the last promotion's subsets, dearest first, per state. tests/test_pricing_property.py and
   tests/test_pricing_scoped_exact.py check it against brute force. The programs' work is
   capped, all choices together (``SCOPE_DP_WORK``: about 7-10 s per cart); past the cap the
   search's whole budget runs again from the best assignment found (its value prunes from
   the start), then two-line moves, and the best is kept (``exact=False``; ``notes`` says
   so). When a platform
   coupon on lines partly the shop coupon's leaves a choice open (its room depends on the
   shop coupon's shares), the rest of the search's budget runs, and when that does not
   finish either, the best found is kept (``exact=False``).
6. Beyond 12 lines (the heuristic): greedy + one round of single-line moves of the lines their
   promotion does not need (no branch and bound: ``HEURISTIC_NODES``), then, for unsafe
   coupons, lines of a coupon whose threshold was missed are taken out of their promotion
   (dearest first) while that lowers the payable. Every step keeps the better assignment, so
   the result is never worse than greedy.

Coupons: at most one shop and one platform coupon. Both thresholds are tested on the eligible
amount after promotions (as JD does); the shop coupon is taken first, and the platform coupon
takes at most what is left of its eligible lines after the shop coupon's shares, so no line and
no cart goes below zero. Ties prefer fewer coupons, then the earlier coupon in the offers.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from storeops.pricing.apportion import apportion
from storeops.pricing.engine_compile import CCoupon, CPromo
from storeops.pricing.engine_cross import bundle_discount_cents, cut_cents
from storeops.pricing.model import PromotionKind

NODE_BUDGET = 50_000
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
            value = cut_cents(cp, amount, pieces)
        self.memo[key] = value
        return value

    def share_most(self, i: int) -> int:
        """The most line ``i``'s share of any of its candidates' cut can be (before the
        apportionment's residue): its best rate times its amount, plus a cent (the floor of
        its share of a cut of at most rate x amount + 1), at most its amount."""
        a, promos = self.amounts[i], self.promos
        return min(a, 1 + max((a * promos[p].rate[0] // promos[p].rate[1]
                               for p in self.cands[i]), default=-1))

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
    total = sum(amounts)
    for k, c in enumerate(coupons):
        e = total if c.all_lines else sum(amounts[i] for i in elig[k])
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
    ``base`` (fixed). ``full``: the whole objective (cross-item + coupons, a line may join
    nothing); otherwise the cross-item discount of the searched promotions only."""

    def __init__(self, problem: Problem, order: list[int], base: list[int], full: bool,
                 budget: int) -> None:
        pb = problem
        self.pb = pb
        self.order = order
        self.base = base
        self.full = full
        self.budget = budget
        self.rounds = 2 if budget > 0 else 1  # rounds of single-line moves after greedy
        self.nodes = 0
        self.exact = True
        pset: set[int] = set()
        for i in order:
            pset.update(pb.cands[i])
        self.promos = sorted(pset)
        self.bundle = {p for p in self.promos if pb.promos[p].kind == PromotionKind.BUNDLE}
        self.dmemo: dict[tuple[int, int, int], int] = {}
        self.amt = dict.fromkeys(self.promos, 0)
        self.pcs = dict.fromkeys(self.promos, 0)
        self.mem: dict[int, list[int]] = {p: [] for p in self.promos}

    def _prepare(self) -> None:
        """What the branch and bound needs: per depth, what the undecided lines could bring."""
        pb, order, full, base = self.pb, self.order, self.full, self.base
        n = len(order)
        # what the undecided lines order[k:] could bring to each promotion
        self.ramt: list[dict[int, int]] = []
        self.rpcs: list[dict[int, int]] = []
        self.rmem: list[dict[int, tuple[int, ...]]] = []
        for k in range(n + 1):
            amt: dict[int, int] = {}
            pcs: dict[int, int] = {}
            mem: dict[int, list[int]] = {}
            for i in order[k:]:
                for p in pb.cands[i]:
                    amt[p] = amt.get(p, 0) + pb.amounts[i]
                    pcs[p] = pcs.get(p, 0) + pb.qtys[i]
                    mem.setdefault(p, []).append(i)
            self.ramt.append(amt)
            self.rpcs.append(pcs)
            self.rmem.append({p: tuple(v) for p, v in mem.items()})
        self.rest_rate = [0] * (n + 1)
        for k in range(n - 1, -1, -1):
            i = order[k]
            best = max((_rate_cents(pb.promos[p], pb.amounts[i]) for p in pb.cands[i]),
                       default=0)
            self.rest_rate[k] = self.rest_rate[k + 1] + min(best, pb.amounts[i])
        self.same_as_prev = [False] * n
        for k in range(1, n):
            a, b = order[k - 1], order[k]
            self.same_as_prev[k] = (pb.cands[a] == pb.cands[b] and pb.amounts[a] == pb.amounts[b]
                                    and pb.qtys[a] == pb.qtys[b] and pb.skus[a] == pb.skus[b])
        self.outside = 0  # what the lines outside this search take off (whole objective only)
        if full:
            in_order = set(order)
            others: dict[int, list[int]] = {}
            for i, p in enumerate(base):
                if p != NONE and i not in in_order:
                    others.setdefault(p, []).append(i)
            self.outside = sum(pb.disc(p, tuple(m)) for p, m in others.items())
        self.combos: list[tuple[int, list[int], int | None]] = [(0, [], None)]
        self.coupon_info: dict[int, tuple[int, int, frozenset[int]]] = {}
        if full and pb.coupons:
            self._coupon_combos()

    # -- discounts by aggregate --------------------------------------------------------------

    def d(self, p: int, amount: int, pieces: int, members: tuple[int, ...]) -> int:
        if p in self.bundle:
            return self.pb.disc(p, members)
        key = (p, amount, pieces)
        hit = self.dmemo.get(key)
        if hit is None:
            hit = cut_cents(self.pb.promos[p], amount, pieces)
            self.dmemo[key] = hit
        return hit

    def cross_now(self) -> int:
        return sum(self.d(p, self.amt[p], self.pcs[p], tuple(self.mem[p])) for p in self.promos)

    def value(self, assign: list[int]) -> int:
        if self.full:
            return self.pb.evaluate(assign)
        total = 0
        for p in self.promos:
            mem = tuple(i for i in self.order if assign[i] == p)
            total += self.d(p, sum(self.pb.amounts[i] for i in mem),
                            sum(self.pb.qtys[i] for i in mem), mem)
        return total

    # -- the incumbent -------------------------------------------------------------------------

    def choices(self, i: int) -> list[int]:
        return ([NONE] if self.full else []) + self.pb.cands[i]

    def greedy(self) -> list[int]:
        if not self.full:
            return self._greedy_cross()
        assign = list(self.base)
        for i in self.order:
            assign[i] = NONE
        for i in sorted(self.order, key=lambda i: -self.pb.amounts[i]):
            best, best_p = None, NONE
            for p in self.choices(i):
                assign[i] = p
                v = self.value(assign)
                if best is None or v > best:
                    best, best_p = v, p
            assign[i] = best_p
        return self.improve(assign)

    def _move_gain(self, i: int, p: int, sign: int) -> int:
        """What adding (sign 1) or removing (sign -1) line i changes of promotion p's cut."""
        if p == NONE:
            return 0
        if p in self.bundle:
            mem = tuple(self.mem[p])
            now = self.pb.disc(p, mem)
            if sign > 0:
                return self.pb.disc(p, mem + (i,)) - now
            return self.pb.disc(p, tuple(x for x in mem if x != i)) - now
        amt, pcs = self.amt[p], self.pcs[p]
        memo = self.dmemo
        now = memo.get((p, amt, pcs))
        if now is None:
            now = memo[(p, amt, pcs)] = cut_cents(self.pb.promos[p], amt, pcs)
        key = (p, amt + sign * self.pb.amounts[i], pcs + sign * self.pb.qtys[i])
        then = memo.get(key)
        if then is None:
            then = memo[key] = cut_cents(self.pb.promos[p], key[1], key[2])
        return then - now

    def _place(self, i: int, p: int, sign: int) -> None:
        if p == NONE:
            return
        self.amt[p] += sign * self.pb.amounts[i]
        self.pcs[p] += sign * self.pb.qtys[i]
        if p not in self.bundle:  # only a bundle's cut needs its members
            return
        if sign > 0:
            self.mem[p].append(i)
        else:
            self.mem[p].remove(i)

    def _greedy_cross(self) -> list[int]:
        """Greedy (dearest line first, best gain) and single-line moves, on the running sums
        of each promotion (the search's hot loop: written out flat). Starts and ends with
        every promotion empty."""
        pb = self.pb
        amounts, qtys, cands, promos = pb.amounts, pb.qtys, pb.cands, pb.promos
        memo = self.dmemo
        amt, pcs = self.amt, self.pcs
        bundle = self.bundle
        cut = cut_cents
        now = dict.fromkeys(self.promos, 0)  # each promotion's cut at its running sums
        move_gain, place_bundle = self._move_gain, self._place

        def gain(i: int, p: int, sign: int) -> int:
            if p in bundle:
                return move_gain(i, p, sign)
            key = (p, amt[p] + sign * amounts[i], pcs[p] + sign * qtys[i])
            then = memo.get(key)
            if then is None:
                then = memo[key] = cut(promos[p], key[1], key[2])
            return then - now[p]

        def place(i: int, p: int, sign: int) -> None:
            if p in bundle:
                place_bundle(i, p, sign)
                return
            a = amt[p] = amt[p] + sign * amounts[i]
            n = pcs[p] = pcs[p] + sign * qtys[i]
            key = (p, a, n)
            v = memo.get(key)
            if v is None:
                v = memo[key] = cut(promos[p], a, n)
            now[p] = v

        assign = list(self.base)
        for i in self.order:
            assign[i] = NONE
        for i in sorted(self.order, key=lambda i: -amounts[i]):
            mine = cands[i]
            best_p = mine[0]
            if len(mine) > 1:
                a, q = amounts[i], qtys[i]
                best = None
                for p in mine:  # gain(i, p, 1), written out
                    if p in bundle:
                        g = move_gain(i, p, 1)
                    else:
                        key = (p, amt[p] + a, pcs[p] + q)
                        then = memo.get(key)
                        if then is None:
                            then = memo[key] = cut(promos[p], key[1], key[2])
                        g = then - now[p]
                    if best is None or g > best:
                        best, best_p = g, p
            assign[i] = best_p
            place(i, best_p, 1)
        for _ in range(self.rounds):
            better = False
            for i in self.order:
                mine = cands[i]
                if len(mine) < 2:
                    continue
                cur = assign[i]
                out = gain(i, cur, -1)
                if out < 0 and self.budget <= 0:
                    continue  # large carts: only lines their promotion does not need move
                place(i, cur, -1)
                best, best_p = 0, cur
                for p in mine:
                    if p != cur:
                        g = out + gain(i, p, 1)
                        if g > best:
                            best, best_p = g, p
                place(i, best_p, 1)
                if best_p != cur:
                    assign[i], better = best_p, True
            if not better:
                break
        for p in self.promos:
            amt[p] = pcs[p] = 0
        for p in bundle:
            self.mem[p].clear()
        return assign

    def improve(self, assign: list[int]) -> list[int]:
        """Single-line moves while one takes more off (at most three rounds)."""
        current = self.value(assign)
        for _ in range(3):
            better = False
            for i in self.order:
                keep = assign[i]
                for p in self.choices(i):
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

    # -- bounds --------------------------------------------------------------------------------

    def _bound(self, k: int) -> int:
        """An upper bound of what any completion of this partial assignment takes off.

        Each promotion counts either as *capped* (at most its cut with every undecided
        candidate line) or as *linear* (at most its rate times the amount that joins it); the
        undecided lines then add at most their best rate among their linear candidates. Any
        such split is a valid bound; promotions already at a fixed top tier count as capped."""
        ramt, rpcs, rmem = self.ramt[k], self.rpcs[k], self.rmem[k]
        every = mixed = with_rates = 0
        promos = self.pb.promos
        linear: set[int] = set()
        for p in self.promos:
            a, n = self.amt[p], self.pcs[p]
            if p in ramt:
                d_all = self.d(p, a + ramt[p], n + rpcs[p],
                               tuple(self.mem[p]) + rmem[p] if p in self.bundle else ())
                every += d_all
                r = _rate_cents(promos[p], a)
                r = d_all if d_all < r else r
                with_rates += r
                if d_all < _rate_cents(promos[p], a + ramt[p]):
                    mixed += d_all
                else:
                    linear.add(p)
                    mixed += r
            else:
                d = self.d(p, a, n, tuple(self.mem[p]) if p in self.bundle else ())
                every += d
                mixed += d
                with_rates += d
        if linear:
            amounts, cands = self.pb.amounts, self.pb.cands
            for i in self.order[k:]:
                best = 0
                for p in cands[i]:
                    if p in linear:
                        r = _rate_cents(promos[p], amounts[i])
                        if r > best:
                            best = r
                mixed += best
        cross = min(every, mixed, with_rates + self.rest_rate[k])
        if len(self.combos) == 1:
            return cross + self.outside
        return self._with_coupons(cross)

    def _coupon_combos(self) -> None:
        """Coupon pairs with what they could take off at most and, for coupons over the whole
        cart, the most cross-item discount that still leaves their threshold reached."""
        pb = self.pb
        singles: list[tuple[int, int, bool]] = []  # (coupon, most off, shop)
        for k, c in enumerate(pb.coupons):
            item_e = _eligible(pb.amounts, c, pb.elig[k])
            if item_e <= 0 or item_e < c.threshold:
                continue  # cross-item discounts only lower the eligible amount
            lines = set(pb.elig[k])
            inside = frozenset(p for p in self.promos
                               if all(i in lines for i in self.rmem[0].get(p, ())))
            self.coupon_info[k] = (item_e, c.threshold, inside)
            singles.append((k, min(c.off, item_e), c.shop))
        combos: list[tuple[int, list[int]]] = [(0, [])]
        combos += [(off, [k]) for k, off, _ in singles]
        combos += [(a + b, [ka, kb]) for ka, a, sa in singles for kb, b, sb in singles
                   if sa and not sb]
        self.combos = []
        for off, ks in sorted(combos, key=lambda x: -x[0]):
            cap = None
            for k in ks:
                c = pb.coupons[k]
                if c.all_lines:
                    room = self.coupon_info[k][0] - c.threshold
                    cap = room if cap is None or room < cap else cap
            self.combos.append((off, ks, cap))

    def _with_coupons(self, cross: int) -> int:
        """The bound with coupons: a coupon whose threshold the discounts already decided (on
        promotions within its lines) have broken is out; a whole-cart coupon caps the
        cross-item discount at its eligible amount minus its threshold."""
        current = {p: self.d(p, self.amt[p], self.pcs[p], tuple(self.mem[p]))
                   for p in self.promos}
        feasible: dict[int, bool] = {}
        for k, (item_e, threshold, inside) in self.coupon_info.items():
            taken = sum(current[p] for p in inside)
            if self.pb.coupons[k].all_lines:
                taken += self.outside
            feasible[k] = item_e - taken >= threshold
        best = 0
        for off, ks, cap in self.combos:
            if off + cross <= best:
                break
            if not all(feasible[k] for k in ks):
                continue
            x = cross
            if cap is not None and cap - self.outside < x:
                x = cap - self.outside
                if x < 0:
                    continue
            if x + off > best:
                best = x + off
        return best + self.outside

    # -- the search ----------------------------------------------------------------------------

    def run(self, seed: list[int] | None = None) -> Outcome:
        """The branch and bound from greedy, or from ``seed`` (an assignment found otherwise)
        when that is worth more: its value prunes from the start, so within the same budget
        the search sees a subsequence of the nodes it would see from greedy (any better leaf
        it reaches from greedy it reaches from the seed, no later)."""
        start = self.greedy()
        if seed is not None and self.value(seed) > self.value(start):
            start = seed
        self.best = list(start)
        if self.budget <= 0:
            return Outcome(self.best, 0, False, 0)
        self.best_value = self.value(start)
        self._prepare()
        assign = list(self.base)
        for i in self.order:
            assign[i] = NONE
        self._dfs(0, assign, -1)
        return Outcome(self.best, self.best_value, self.exact, self.nodes)

    def _dfs(self, k: int, assign: list[int], prev_choice: int) -> None:
        self.nodes += 1
        if self.nodes > self.budget:
            self.exact = False
            return
        if k == len(self.order):
            v = self.pb.evaluate(assign) if self.full else self.cross_now()
            if v > self.best_value:
                self.best_value, self.best = v, list(assign)
            return
        if self._bound(k) <= self.best_value:
            return
        i = self.order[k]
        choices = self.choices(i)
        start = 0
        if self.same_as_prev[k] and prev_choice in choices:
            start = choices.index(prev_choice)
        a, q = self.pb.amounts[i], self.pb.qtys[i]
        for p in choices[start:]:
            assign[i] = p
            if p != NONE:
                self.amt[p] += a
                self.pcs[p] += q
                self.mem[p].append(i)
            self._dfs(k + 1, assign, p)
            if p != NONE:
                self.amt[p] -= a
                self.pcs[p] -= q
                self.mem[p].pop()
            if self.nodes > self.budget:
                break
        assign[i] = NONE


def components(problem: Problem, lines: list[int],
               every: dict[int, list[int]] | None = None) -> list[list[int]]:
    """Lines linked by a shared candidate promotion, in the order of their first line
    (``every``: each promotion's candidate lines, when known)."""
    cands = problem.cands
    if every is None:
        every = {}
        for i in lines:
            for p in cands[i]:
                every.setdefault(p, []).append(i)
    seen = set()
    done: set[int] = set()
    out = []
    for i in lines:
        if i in seen:
            continue
        seen.add(i)
        group = [i]
        stack = [i]
        while stack:
            for p in cands[stack.pop()]:
                if p in done:
                    continue
                done.add(p)
                for j in every[p]:
                    if j not in seen:
                        seen.add(j)
                        group.append(j)
                        stack.append(j)
        out.append(group)
    return out


def unsafe_coupons(problem: Problem, every: dict[int, list[int]] | None = None,
                   cut: dict[int, int] | None = None) -> list[int]:
    """Coupons whose value may depend on what the lines join: the most any stack of
    cross-item promotions could take off their lines (per promotion, the lesser of its cut with
    every candidate line and the amount of its candidates among the coupon's lines; or per
    line, its best candidate's rate times its amount, and the rounding) may take
    their eligible amount below their threshold, or below what they and a coupon of the other
    kind take off. A coupon whose threshold the item-level amount misses is never usable."""
    if every is None:
        every = {}
        for i, cs in enumerate(problem.cands):
            for p in cs:
                every.setdefault(p, []).append(i)
    most = {True: max((c.off for c in problem.coupons if c.shop), default=0),
            False: max((c.off for c in problem.coupons if not c.shop), default=0)}
    if cut is None:
        cut = {p: problem.disc(p, tuple(m)) for p, m in every.items()}
    amounts = problem.amounts
    share_most: list[int] = []
    joined = 0

    def by_lines(lines: Iterable[int]) -> int:
        """The most cut on ``lines``: each line's ``share_most``, plus the apportionments'
        residues (fewer cents than the lines that join)."""
        nonlocal joined
        if not share_most:
            share_most.extend(problem.share_most(i) for i in range(len(amounts)))
            joined = sum(1 for cs in problem.cands if cs)
        return sum(share_most[i] for i in lines) + joined

    whole = sum(cut.values())
    total = sum(amounts)
    out = []
    for k, (c, lines) in enumerate(zip(problem.coupons, problem.elig, strict=True)):
        e = total if c.all_lines else sum(amounts[i] for i in lines)
        if e <= 0 or e < c.threshold:
            continue
        if c.all_lines:
            ub = whole
        else:
            mine = set(lines)
            ub = 0
            for p, members in every.items():
                inside = sum(amounts[i] for i in members if i in mine)
                if inside:
                    ub += min(cut[p], inside)
        need = max(c.threshold, c.off + most[not c.shop], 1)
        if e - ub < need and e - by_lines(range(len(amounts)) if c.all_lines
                                          else lines) < need:
            out.append(k)
    return out


def _repair(problem: Problem, assign: list[int], unsafe: list[int], lines: list[int]) -> None:
    """Heuristic for large carts whose coupons compete with the promotions: from the best
    cross-item assignment, take lines of a coupon whose threshold is missed out of their
    promotion (dearest first) while that raises the total; keeps the best seen."""
    best = problem.evaluate(assign)
    searched = set(lines)
    for k in unsafe:
        mine = sorted((i for i in problem.elig[k] if i in searched and assign[i] != NONE),
                      key=lambda i: -problem.amounts[i])
        trial = list(assign)
        for i in mine:
            trial[i] = NONE
            v = problem.evaluate(trial)
            if v > best:
                best = v
                assign[:] = trial


@dataclass
class _ValuePlan:
    """What ``by_cut_values`` computes before its dynamic program."""

    lines: list[int]
    breaks: list[int]  # the cross-item totals at which a whole-cart coupon drops out
    promos: list[int]  # in the order of the steps
    cand_mask: dict[int, int]  # per promotion: its candidate lines, as bits of ``lines``
    later: list[int]  # per step: the lines a later promotion may still take
    cuts: list[dict[int, int]]  # per step: the promotion's cut for each subset of its lines
    groups: list[list[list[int]]]  # per step: its lines by group of interchangeable lines
    estimate: int = 0  # its work, at most VALUE_DP_WORK


def value_plan(problem: Problem, lines: list[int], unsafe: list[int]) -> _ValuePlan | None:
    """The plan of ``by_cut_values`` for ``lines``, or None when its work (subset steps, if
    every set of tracked lines is reached) would exceed VALUE_DP_WORK."""
    total = sum(problem.amounts)
    breaks = sorted({total - max(problem.coupons[k].threshold, 1) for k in unsafe}, reverse=True)
    breaks = [b for b in breaks if b >= 0]
    if not breaks:
        return None
    return _plan_steps(problem, lines, breaks, [])


def _plan_steps(problem: Problem, lines: list[int], breaks: list[int],
                scopes: list[int]) -> _ValuePlan | None:
    """The steps of a dynamic program over the promotions of ``lines`` (see ``value_plan``);
    ``scopes``: line sets (bits of ``lines``) whose lines are interchangeable only with lines
    in the same ones."""
    n = len(lines)
    cands, amounts, qtys = problem.cands, problem.amounts, problem.qtys
    bit = {i: 1 << j for j, i in enumerate(lines)}
    promos = sorted({p for i in lines for p in cands[i]})
    cand_mask = {p: sum(bit[i] for i in lines if p in cands[i]) for p in promos}
    width = {p: bin(cand_mask[p]).count("1") for p in promos}
    if sum(2 ** w for w in width.values()) > VALUE_DP_WORK:
        return None
    cut_of: dict[int, dict[int, int]] = {}
    for p in promos:
        whole = cand_mask[p]
        cp = problem.promos[p]
        table = {0: 0}
        if cp.kind == PromotionKind.BUNDLE:
            members = [lines[j] for j in range(n) if whole >> j & 1]
            sub = whole
            while sub:
                table[sub] = problem.disc(p, tuple(i for i in members if bit[i] & sub))
                sub = (sub - 1) & whole
        else:  # subsets in increasing order: each adds its lowest line to a smaller one
            amt, pcs = {0: 0}, {0: 0}
            sub = (0 - whole) & whole
            while sub:
                low = sub & -sub
                i = lines[low.bit_length() - 1]
                rest = sub ^ low
                a = amt[sub] = amt[rest] + amounts[i]
                q = pcs[sub] = pcs[rest] + qtys[i]
                table[sub] = cut_cents(cp, a, q)
                sub = (sub - whole) & whole
        cut_of[p] = table
    # order: promotions whose lines are shared with few others first keeps the sets small;
    # last, of the widest, the one with the fewest distinct cuts (its step is a closure)
    promos.sort(key=lambda p: (width[p], p))
    widest = max(width.values())
    last = min((p for p in promos if width[p] == widest),
               key=lambda p: (len(set(cut_of[p].values())), p))
    promos.remove(last)
    promos.append(last)
    later = [0] * (len(promos) + 1)
    for j in range(len(promos) - 1, -1, -1):
        later[j] = later[j + 1] | cand_mask[promos[j]]
    # interchangeable lines (same amount, pieces, candidates and scopes: the same cuts
    # whichever of them joins, a bundle aside) are taken in their order: the first k of a group
    alike: dict[tuple, int] = {}
    if not any(problem.promos[p].kind == PromotionKind.BUNDLE for p in promos):
        for j, i in enumerate(lines):
            key = (amounts[i], qtys[i], tuple(cands[i]),
                   tuple(bool(s >> j & 1) for s in scopes))
            alike[key] = alike.get(key, 0) | 1 << j
    else:
        alike = {(j,): 1 << j for j in range(n)}
    groups = [[1 << j for j in range(n) if g >> j & 1] for g in alike.values()]
    estimate, seen = 0, 0
    for j, p in enumerate(promos):
        whole, tracked = cand_mask[p], seen & later[j]
        steps = 1
        if later[j + 1]:  # (states, subsets) pairs
            for g in groups:
                k = len(g)
                if g[0] & whole and g[0] & tracked:
                    steps *= (k + 1) * (k + 2) // 2
                elif g[0] & (whole | tracked):
                    steps *= k + 1
        else:  # states times the distinct cuts of the last promotion
            steps = len(set(cut_of[p].values()))
            for g in groups:
                if g[0] & tracked:
                    steps *= len(g) + 1
        estimate += steps
        seen |= whole
    if estimate > VALUE_DP_WORK:
        return None
    return _ValuePlan(lines, breaks, promos, cand_mask, later, [cut_of[p] for p in promos],
                      [[g for g in groups if g[0] & cand_mask[p]] for p in promos], estimate)


def _free_subsets(groups: list[list[int]], taken: int) -> list[int]:
    """The subsets a step may take: of each group of interchangeable lines, its first k lines
    not in ``taken`` (any k)."""
    subs = [0]
    for g in groups:
        prefixes, acc = [0], 0
        for b in g:
            if not taken & b:
                acc |= b
                prefixes.append(acc)
        if len(prefixes) > 1:
            subs = [x | y for x in subs for y in prefixes]
    return subs


def by_cut_values(problem: Problem, plan: _ValuePlan, base: list[int]) -> tuple[list[int], bool]:
    """The best assignment of ``plan.lines`` (every line that has a candidate) when every
    coupon whose value depends on the assignment covers the whole cart: ``(assign, True)``.

    Then the objective depends on the assignment only through X, the total cross-item
    discount: each whole-cart coupon counts while goods - X reaches its threshold (and stays
    above 0), and the other coupons are safe (the same value whatever the lines join). Between
    two such breakpoints ``X + coupons(X)`` never decreases in X (a coupon only ever loses what
    X takes from the room it applies to), so the best X is, for some breakpoint b, the largest
    achievable X at most b, or the largest achievable X at all. A dynamic program over the
    promotions, one after the other, keeps for every set of lines already taken (forgetting
    lines no later promotion can take) the set of achievable totals as the bits of an integer;
    each promotion takes any subset of its free candidate lines. An assignment reaching each
    candidate X is traced back through the steps and priced with ``evaluate``.
    """
    breaks = plan.breaks
    stages, highs = _cut_reach(plan)
    reached = stages[-1].get(0, 0)
    candidates = [_witness(problem, plan, base, highs, highs[-1][0], False)]  # the largest X
    for x in sorted({(reached & ((1 << (b + 1)) - 1)).bit_length() - 1 for b in breaks},
                    reverse=True):
        if x >= 0:
            candidates.append(_witness(problem, plan, base, stages, x, True))
    return max(candidates, key=problem.evaluate), True


def _cut_reach(plan: _ValuePlan) -> tuple[list[dict[int, int]], list[dict[int, int]]]:
    """The steps of ``by_cut_values``: per step, the reachable totals up to the highest
    breakpoint (bits) and the largest total, of every set of lines taken."""
    lines, breaks, promos = plan.lines, plan.breaks, plan.promos
    cand_mask, later, cuts = plan.cand_mask, plan.later, plan.cuts
    n = len(lines)
    top = breaks[0]  # the bits keep totals up to the highest breakpoint ...
    limit = (1 << (top + 1)) - 1
    stages: list[dict[int, int]] = [{0: 1}]
    highs: list[dict[int, int]] = [{0: 0}]  # ... and, apart, the largest total of each state
    for j, p in enumerate(promos):
        table, whole, keep = cuts[j], cand_mask[p], later[j + 1]
        new: dict[int, int] = {}
        new_high: dict[int, int] = {}
        before = stages[-1]
        if not keep:  # the last step: every subset of the free lines, as a closure
            reach = {sub: (1 << c if c <= top else 0) for sub, c in table.items()}
            most = dict(table)
            for k in range(n):
                if whole >> k & 1:
                    for sub in reach:
                        if sub >> k & 1:
                            reach[sub] |= reach[sub ^ (1 << k)]
                            if most[sub ^ (1 << k)] > most[sub]:
                                most[sub] = most[sub ^ (1 << k)]
            out, high = 0, 0
            for m, h in highs[-1].items():
                free = whole & ~m
                if h + most[free] > high:
                    high = h + most[free]
                bits = before.get(m, 0)
                values = reach[free] if bits else 0
                while values:
                    low = values & -values
                    out |= bits << (low.bit_length() - 1)
                    values ^= low
            stages.append({0: out & limit})
            highs.append({0: high})
            continue
        for m, h in highs[-1].items():
            bits = before.get(m, 0)
            subs = _free_subsets(plan.groups[j], m)
            for sub in subs:
                c = table[sub]
                key = (m | sub) & keep
                if h + c > new_high.get(key, -1):
                    new_high[key] = h + c
                if bits and c <= top:
                    new[key] = new.get(key, 0) | (bits << c)
        stages.append({m: v & limit for m, v in new.items()})
        highs.append(new_high)
    return stages, highs


def _witness(problem: Problem, plan: _ValuePlan, base: list[int], stages: list[dict[int, int]],
             x: int, as_bits: bool) -> list[int]:
    """An assignment of ``lines`` whose cross-item discount is ``x``, backwards through the
    steps of ``by_cut_values``: ``stages`` are its sets of totals (``as_bits``) or the largest
    total of each state (x is then the largest of all)."""
    lines, promos, cuts = plan.lines, plan.promos, plan.cuts
    cand_mask, later = plan.cand_mask, plan.later
    groups = list(plan.groups)
    assign = list(base)
    for i in lines:
        assign[i] = NONE
    state, want = 0, x
    for j in range(len(promos) - 1, -1, -1):
        table, whole, keep = cuts[j], cand_mask[promos[j]], later[j + 1]
        if not keep:  # the last step took any subset (a closure)
            groups[j] = [[b] for g in groups[j] for b in g]
        found = None
        for m, value in stages[j].items():
            if m & keep & ~whole != state & ~whole:
                continue  # the lines this promotion cannot take must already match
            subs = _free_subsets(groups[j], m)
            for sub in subs:
                c = table[sub]
                if (m | sub) & keep == state and c <= want and (
                        value >> (want - c) & 1 if as_bits else value == want - c):
                    found = (m, sub, c)
                    break
            if found:
                break
        if found is None:  # cannot happen: the stages say x is reachable
            raise AssertionError("no witness for a reachable cross-item discount")
        m, sub, c = found
        for k, i in enumerate(lines):
            if sub >> k & 1:
                assign[i] = promos[j]
        state, want = m, want - c
    return assign


_ZEROS: dict[int, tuple[int, ...]] = {}


def _zero(n: int) -> tuple[int, ...]:
    """The one tuple of ``n`` zeros (the dynamic program tells it by identity)."""
    return _ZEROS.setdefault(n, (0,) * n)


@dataclass
class _ScopePlan:
    """What ``_scope_reach`` needs (``optimizer_choices`` makes one per set of scopes): the
    steps, the scopes and the coupons of the choice in play."""

    steps: _ValuePlan
    top: int  # bits keep cross-item totals up to this (the largest whole-cart cap); -1: none
    caps: list[int]  # per scope: the largest in-scope cut any coupon of that scope allows
    # per usable coupon: (index, unsafe, scope (-1: every searched line), eligible amount
    # before the searched lines' cuts, the most cut its threshold allows, off)
    coupons: list[tuple[int, bool, int, int, int, int]]
    inside: set[tuple[int, int]]  # (shop, platform): the shop coupon's lines are all the other's
    apart: set[tuple[int, int]]  # (shop, platform): no line in common
    shop: dict[int, bool]  # per coupon index: a shop coupon
    problem: Problem
    scopes: list[int]  # per scope: its lines, as bits of the searched lines
    outside: int  # the cross-item cut of the lines outside the search (fixed)
    shares: dict[int, list[dict[int, tuple[int, ...]]]] = field(default_factory=dict)
    most_of: list[list[dict[int, int]]] = field(default_factory=list)
    two_most: dict[int, list[int]] = field(default_factory=dict)
    two_values: list[dict[int, int]] = field(default_factory=list)
    # of the last run of ``_scope_reach`` (its witnesses replay them): per scope, the cut on
    # it below which no coupon of the choice cares what it is, and per step and set of lines
    # taken, per scope, the cut up to which the later steps cannot take it past that slack
    slack: list[int] = field(default_factory=list)
    below: list[dict[int, tuple[int, ...]]] = field(default_factory=list)

    def settle(self, j: int, m: int, ys: tuple[int, ...]) -> tuple[int, ...]:
        """``ys`` after step ``j`` with the lines ``m`` taken, each scope cut that can no
        longer reach its coupons' ``slack`` counted as 0 (states that differ only there are
        one state: no threshold or room of the choice can tell them apart)."""
        if not ys:  # no scope (the reachable X as bits only)
            return ys
        below = self.below[j].get(m)
        if below is None:
            return ys
        if len(ys) == 2:  # the usual two scopes, unrolled (it runs once per state)
            (y0, y1), (t0, t1) = ys, below
            y0, y1 = 0 if y0 <= t0 else y0, 0 if y1 <= t1 else y1
            return _zero(2) if not y0 and not y1 else (y0, y1)
        out = tuple(0 if y <= t else y for y, t in zip(ys, below, strict=True))
        return _zero(len(ys)) if not any(out) else out

    def last_two_most(self, free: int) -> list[int]:
        """For the whole cut and the cut off each scope: the most the last two steps can add
        from the lines ``free`` (each line joins one promotion at most), exactly."""
        hit = self.two_most.get(free)
        if hit is not None:
            return hit
        if not self.two_values:
            table, share = self.steps.cuts[-2], self.scope_shares()[-2]
            self.two_values = [table] + [{sub: c - share[sub][d] for sub, c in table.items()}
                                         for d in range(len(self.scopes))]
        mine = free & self.steps.cand_mask[self.steps.promos[-2]]
        other = free & self.steps.cand_mask[self.steps.promos[-1]]
        subs, sub = [], mine
        while True:  # every subset of ``mine`` for the first, what it leaves for the last
            subs.append(sub)
            if not sub:
                break
            sub = (sub - 1) & mine
        out = [max(first[s] + last[other & ~s] for s in subs)
               for first, last in zip(self.two_values, self.step_most()[-1], strict=True)]
        self.two_most[free] = out
        return out

    def step_most(self) -> list[list[dict[int, int]]]:
        """Per step: for the whole cut and for the cut off each scope, the most any subset of
        a set of its candidate lines gives (keyed by that set; computed once). Summed over the
        later steps, for the lines still free, it bounds what they add; for the last step
        alone it is exact, which the lines' best rates are far from."""
        if self.most_of:
            return self.most_of
        shares = self.scope_shares()
        for j, table in enumerate(self.steps.cuts):
            whole = self.steps.cand_mask[self.steps.promos[j]]
            share = shares[j]
            dims = [dict(table)] + [{sub: c - share[sub][d] for sub, c in table.items()}
                                    for d in range(len(self.scopes))]
            for most in dims:
                rest = whole
                while rest:
                    low = rest & -rest
                    rest ^= low
                    for sub in most:
                        if sub & low and most[sub ^ low] > most[sub]:
                            most[sub] = most[sub ^ low]
            self.most_of.append(dims)
        return self.most_of

    def scope_shares(self, quantum: int = 1) -> list[dict[int, tuple[int, ...]]]:
        """Per step and subset: the part of the promotion's cut that lands on each scope
        (apportioned as the engine does), in ``quantum`` units rounded down; computed when
        first needed. Subsets that put nothing on any scope share one ``zero`` tuple."""
        hit = self.shares.get(quantum)
        if hit is not None:
            return hit
        if quantum > 1:
            exact = self.scope_shares()
            zero = _zero(len(self.scopes))
            out = []
            for mine in exact:
                coarse = {}
                for sub, parts in mine.items():
                    q = tuple(x // quantum for x in parts)
                    coarse[sub] = zero if q == zero else q
                out.append(coarse)
            self.shares[quantum] = out
            return out
        problem, lines, scopes = self.problem, self.steps.lines, self.scopes
        zero = _zero(len(scopes))
        out: list[dict[int, tuple[int, ...]]] = []
        for table in self.steps.cuts:
            mine: dict[int, tuple[int, ...]] = {}
            for sub, cut in table.items():
                if not cut or not any(sub & s for s in scopes):
                    mine[sub] = zero
                    continue
                members = sorted((lines[b], b) for b in range(len(lines)) if sub >> b & 1)
                parts = apportion(cut, [problem.amounts[i] for i, _ in members])
                mine[sub] = tuple(
                    cut if not sub & ~s else sum(x for (_, b), x in zip(members, parts,
                                                                        strict=True)
                                                 if s >> b & 1)
                    for s in scopes)
            out.append(mine)
        self.shares[1] = out
        return out


def _cap_x(choice: tuple) -> int | None:
    """The most cross-item cut the choice's whole-cart thresholds allow (None: no limit)."""
    caps = [u[4] for u in choice if u is not None and u[1] and u[2] < 0]
    return min(caps) if caps else None


def _lines_most(line_most: list[int], lines: int, free: int) -> int:
    """The most cut the searched lines ``lines`` (bits) can take from the promotions still
    to come: their best rates (``Problem.share_most``), plus a cent per line still ``free``
    for the apportionments' residues (a residue, fewer cents than its promotion's lines, goes
    to one line, which may be one of ``lines`` whichever lines it came from)."""
    return sum(most for k, most in enumerate(line_most) if lines >> k & 1) + free.bit_count()


def _x_terms(limits: list[tuple[int, int]], fut: int, fut_off: list[int], fut_out: int
             ) -> list[tuple[int, tuple[int, ...]]]:
    """The bounds on the cross-item total X a state can end with, each as (k, scopes): X
    now plus k, minus the state's cut on those scopes. The later steps add at most ``fut``;
    per scoped threshold (scope, the most cut it allows) of ``limits``, X is the cut on the
    scope (at most that) plus the cut off it (at most its cut off it now plus
    ``fut_off[scope]``); with two, X is the cut on both (at most both allow) plus the cut
    off both (each line's cut lands on one scope, both or neither; ``fut_out`` more at
    most)."""
    terms = [(fut, ())]
    for d, cap in limits:
        terms.append((cap + fut_off[d], (d,)))
    if len(limits) == 2:
        (d0, cap0), (d1, cap1) = limits
        terms.append((cap0 + cap1 + fut_out, tuple(sorted((d0, d1)))))
    return terms


def _x_most(terms: list[tuple[int, tuple[int, ...]]], x: int, ys: tuple[int, ...],
            quantum: int = 1) -> int:
    """The most X a state of total ``x`` and scope cuts ``ys`` (in ``quantum`` units) can
    end with, by the ``terms`` of :func:`_x_terms`."""
    return min(x + k - quantum * sum(ys[d] for d in ds) for k, ds in terms)


def _scope_reach(plan: _ScopePlan, needed: list[tuple], floor: int, quantum: int, budget: int,
                 beam: int = 0, skip_last: bool = False
                 ) -> tuple[list[dict[tuple[int, tuple[int, ...]], tuple[int, int]]], int] | None:
    """The dynamic program of ``by_cut_values`` with the cut on each scope in the state: per
    step, for every (lines taken, scope cuts) the reachable X up to the largest whole-cart cap
    (bits) and the largest X. Only what can still beat ``floor`` with one of the ``needed``
    coupon choices is kept (thresholds still kept, largest X so far plus the most the later
    promotions add, plus the coupons' values; ``floor`` counts the searched lines' cut only;
    "the most the later promotions add", in all and off each scope, is the least of the free
    lines' best rates, the sum of each later promotion's best subset of them, and, two steps
    before the end, the exact best of the last two),
    and a state whose scope cuts are all at most
    another's, for the same lines taken, keeps only the X the other does not reach (coupons
    only lose value as the cuts grow); a scope cut past every threshold of its scope counts as
    'too much', and a scope cut that, with the most the later steps can still put on the scope,
    stays within the slack of the choices' coupons there (``_slack``: their thresholds hold
    and their whole offs fit) counts as 0 (``_ScopePlan.settle``: states that differ only
    there are one). The scope cuts count in units of ``quantum`` cents, each step's rounded down:
    with a quantum above a cent a state's scope cuts are at most the true ones, so the choices
    keep every threshold they keep in truth and are worth at least as much (an upper bound,
    with fewer states). ``beam``: only that many states, the most promising, go on after each
    step (a heuristic pass: its stages trace back to true assignments but prove nothing).
    ``skip_last``: the stages stop before the last step (``optimizer_choices`` takes it
    itself).
    (stages, work done), or None when the work would exceed ``budget``."""
    steps, top, caps = plan.steps, plan.top, plan.caps
    later, cuts = steps.later, steps.cuts
    limit = (1 << (top + 1)) - 1 if top >= 0 else 0
    dims = len(caps)
    dead = [c // quantum + 1 for c in caps]
    zero = _zero(dims)
    rest = [0] * (len(cuts) + 1)
    for j in range(len(cuts) - 1, -1, -1):
        rest[j] = rest[j + 1] + max(cuts[j].values())
    checks = []  # per needed choice: (its scope limits, its X cap, the most its coupons give)
    for choice in needed:
        members = [u for u in choice if u is not None]
        checks.append(([(u[2], u[4]) for u in members if u[1] and u[2] >= 0],
                       _cap_x(choice), sum(u[5] for u in members)))
    shares = plan.scope_shares(quantum)
    scopes = plan.scopes
    anywhere = 0  # the lines of some scope
    for scope in scopes:
        anywhere |= scope
    line_most = [plan.problem.share_most(i) for i in steps.lines]
    step_most = plan.step_most()
    cand = [steps.cand_mask[p] for p in steps.promos]
    stages: list[dict[tuple[int, tuple[int, ...]], tuple[int, int]]] = [
        {(0, zero): (1 if top >= 0 else 0, 0)}]
    work = 0
    plan.slack = _slack(plan, needed, dims)
    plan.below = []
    # one choice of two scoped thresholds, no X bits (the usual hard case): each new state is
    # pruned as it is made, before it takes a place in the new stage
    cap2 = [1 << 62, 1 << 62]  # per scope: the most cut the choice's threshold there allows
    fused = not limit and dims == 2 and not beam and quantum == 1 and len(checks) == 1
    if fused:
        limits, _, value = checks[0]
        fused = sorted(d for d, _ in limits) == [0, 1]
        for d, cap in limits:
            cap2[d] = cap
        short = floor - value  # what a state's X must beat, with the coupons' offs
    for j in range(len(cuts) - 1 if skip_last else len(cuts)):
        table, share, keep = cuts[j], shares[j], later[j + 1]
        groups = steps.groups[j]
        ahead = rest[j + 1]
        bounds: dict[int, tuple[int, list[int], list[int], int]] = {}

        def bound_of(m: int, j: int = j, ahead: int = ahead,
                     bounds: dict = bounds) -> tuple[int, list[int], list[int], int]:
            """What the lines still free after lines ``m`` taken can add: in all, off each
            scope, on each scope and off every scope."""
            free, total, off_scope, slack = later[j + 1] & ~m, 0, [0] * dims, 0
            on_scope = [0] * dims
            while free:
                low = free & -free
                free ^= low
                k = low.bit_length() - 1
                total += line_most[k]
                slack += 1  # the apportionments' residues: fewer cents than the lines
                for d in range(dims):
                    if not scopes[d] & low:
                        off_scope[d] += line_most[k]
                    else:
                        on_scope[d] += line_most[k]
            free = later[j + 1] & ~m
            if j + 3 == len(cuts):  # the last two steps, exactly
                by_step = plan.last_two_most(free)
            else:
                by_step = [0] * (dims + 1)
                for k in range(j + 1, len(cuts)):
                    sub = free & cand[k]
                    for d, most_d in enumerate(step_most[k]):
                        by_step[d] += most_d[sub]
            fut = min(ahead, total + slack, by_step[0])
            bound = bounds[m] = (fut, [min(ahead, o + slack, b)
                                       for o, b in zip(off_scope, by_step[1:], strict=True)],
                                 [min(fut, o + slack) for o in on_scope],
                                 min(fut, _lines_most(line_most, free & ~anywhere, free)))
            return bound

        gate = None
        if fused:  # each new state's bound, taken as it is made (see _step_two)
            gates: dict[int, tuple[int, int, int, int]] = {}

            def gate(m: int, gates: dict = gates,
                     limits: list[tuple[int, int]] = checks[0][0]) -> tuple[int, int, int, int]:
                hit = gates.get(m)
                if hit is None:  # the terms of _x_terms as thresholds on X, X - y0, X - y1...
                    fut, fut_off, _, fut_out = bound_of(m)
                    k = {ds: k for k, ds in _x_terms(limits, fut, fut_off, fut_out)}
                    hit = gates[m] = (short - k[()], short - k[(0,)], short - k[(1,)],
                                      short - k[(0, 1)])
                return hit
        new: dict[tuple[int, tuple[int, ...]], tuple[int, int]] = {}
        by_taken: dict[int, list[tuple[tuple[int, ...], int, int]]] = {}
        for (m, ys), (bits, high) in stages[-1].items():
            by_taken.setdefault(m, []).append((ys, bits, high))
        for m, entries in by_taken.items():
            subs = _free_subsets(groups, m)
            if fused:  # the largest X first: a subset's states stop at the first too small
                entries.sort(key=lambda e: -e[2])
            work += len(subs) * len(entries) * (5 if limit else 4) // 4  # bits cost more
            if work > budget:
                return None
            if not limit and dims == 2:  # the bench's two scopes, no whole-cart bits
                _step_two(new, entries, subs, m, keep, table, share, zero, dead, gate, cap2)
                continue
            for sub in subs:
                c = table[sub]
                d = share[sub]
                taken = (m | sub) & keep
                moved = d is not zero
                if moved and dims == 1:
                    d0, cap0 = d[0], dead[0]
                for ys, bits, high in entries:
                    if not moved:
                        key = (taken, ys)
                    elif dims == 1:
                        y = ys[0] + d0
                        key = (taken, (y if y < cap0 else cap0,))
                    else:
                        key = (taken, tuple(y + e if y + e < cap else cap
                                            for y, e, cap in zip(ys, d, dead, strict=True)))
                    nb = (bits << c) & limit if bits else 0
                    nh = high + c if high >= 0 else -1
                    old = new.get(key)
                    if old is None:
                        new[key] = (nb, nh)
                    else:
                        new[key] = (old[0] | nb, nh if nh > old[1] else old[1])
        work += 2 * len(new)  # each new state's bound costs about two (state, subset) steps
        if work > budget:
            return None
        alive = new if fused else {}
        estimates: dict[tuple[int, tuple[int, ...]], int] = {}
        terms_at: dict[tuple[int, int], list[tuple[int, tuple[int, ...]]]] = {}
        for key, (bits, high) in () if fused else new.items():
            m, ys = key
            most = max(high, bits.bit_length() - 1)
            best = floor
            for c, (limits, cap_x, value) in enumerate(checks):
                if any(ys[d] > cap // quantum for d, cap in limits):
                    continue  # a threshold missed
                terms = terms_at.get((m, c))
                if terms is None:
                    bound = bounds.get(m) or bound_of(m)
                    terms = terms_at[(m, c)] = _x_terms(limits, bound[0], bound[1], bound[3])
                x = _x_most(terms, most, ys, quantum)
                if cap_x is not None and cap_x < x:
                    x = cap_x
                if x + value > best:
                    alive[key] = (bits, high)
                    if not beam:
                        break
                    best = x + value
            if beam and key in alive:
                estimates[key] = best
        if beam and len(alive) > beam:  # the most promising states only (a heuristic)
            alive = {key: alive[key] for key in sorted(alive, key=estimates.__getitem__,
                                                       reverse=True)[:beam]}
        if dims:
            plan.below.append({m: tuple(lim - o for o, lim in zip(b[2], plan.slack,
                                                                  strict=True))
                               for m, b in bounds.items()})
            alive = _settled(plan, j, alive)
        stages.append(_pareto(alive) if dims else alive)
    return stages, work


def _slack(plan: _ScopePlan, needed: list[tuple], dims: int) -> list[int]:
    """Per scope: the cut on it up to which every coupon of the ``needed`` choices on it
    keeps its threshold and takes its whole off (after the shop coupon's, for a platform
    coupon): below it, how much is cut there changes nothing (-1: no such cut)."""
    out = [1 << 62] * dims
    for choice in needed:
        s = choice[0]
        for u in choice:
            if u is None or not u[1] or u[2] < 0:
                continue
            _, _, d, e, most, off = u
            room = e - off - (s[5] if s is not None and u is not s else 0)
            out[d] = min(out[d], most, room)
    return [x if x >= 0 else -1 for x in out]


def _settled(plan: _ScopePlan, j: int, states: dict[tuple[int, tuple[int, ...]], tuple[int, int]]
             ) -> dict[tuple[int, tuple[int, ...]], tuple[int, int]]:
    """``states`` after step ``j`` with ``plan.settle`` applied, those made one merged."""
    # the sets of lines taken after which some scope cut can still be settled (a cut is
    # never below 0): only their states are looked at
    below = plan.below[j]
    some = {m for m, b in below.items() if max(b) >= 0}
    if not some:
        return states
    out: dict[tuple[int, tuple[int, ...]], tuple[int, int]] = {}
    settle = plan.settle
    for (m, ys), (bits, high) in states.items():
        key = (m, settle(j, m, ys)) if m in some else (m, ys)
        old = out.get(key)
        if old is None:
            out[key] = (bits, high)
        else:
            out[key] = (old[0] | bits, high if high > old[1] else old[1])
    return out


def _step_two(new: dict[tuple[int, tuple[int, ...]], tuple[int, int]],
              entries: list[tuple[tuple[int, ...], int, int]], subs: list[int], m: int,
              keep: int, table: dict[int, int], share: dict[int, tuple[int, ...]],
              zero: tuple[int, ...], dead: list[int],
              gate: Callable[[int], tuple[int, int, int, int]] | None,
              caps: list[int]) -> None:
    """One step of ``_scope_reach`` for the states of lines ``m`` taken, with two scopes and
    no X bits (no whole-cart coupon competes): the general loop, unrolled (it is most of the
    program's time). With a ``gate`` (one choice, its two thresholds at most ``caps``), a new
    state is made only if it can still beat the floor: per set of lines taken, the gate gives
    what its X must beat, its X minus the cut on each scope, and its X minus both (the
    bounds of ``_scope_reach``, as thresholds)."""
    cap0, cap1 = dead
    top0, top1 = caps
    get = new.get
    low = -(1 << 62)
    for sub in subs:
        c = table[sub]
        d0, d1 = d = share[sub]
        taken = (m | sub) & keep
        a, a0, a1, a01 = gate(taken) if gate is not None else (low, low, low, low)
        if d is zero:
            for ys, _, high in entries:
                nh = high + c
                if nh <= a:
                    break  # the states are by X, largest first (with a gate)
                y0, y1 = ys
                if nh - y0 <= a0 or nh - y1 <= a1 or nh - y0 - y1 <= a01:
                    continue
                key = (taken, ys)
                old = get(key)
                if old is None or nh > old[1]:
                    new[key] = (0, nh)
            continue
        for (y0, y1), _, high in entries:
            y0 += d0
            y1 += d1
            nh = high + c
            if nh <= a:
                break
            if gate is not None and (y0 > top0 or y1 > top1 or nh - y0 <= a0
                                     or nh - y1 <= a1 or nh - y0 - y1 <= a01):
                continue
            key = (taken, (y0 if y0 < cap0 else cap0, y1 if y1 < cap1 else cap1))
            old = get(key)
            if old is None or nh > old[1]:
                new[key] = (0, nh)


def _coupons_most(plan: _ScopePlan, s: tuple | None, p: tuple | None, x: int,
                  ys: tuple[int, ...]) -> int:
    """What the shop coupon ``s`` and the platform coupon ``p`` of ``plan.coupons`` (either
    may be None) take off at cross-item total ``x`` and scope cuts ``ys``, their thresholds
    kept: exact, except for a platform coupon on lines partly the shop coupon's (its room
    depends on how the shop coupon was apportioned), where it is the most they could."""
    o_s = 0
    if s is not None:
        _, unsafe, scope, e, _, off = s
        o_s = min(off, e - (x if scope < 0 else ys[scope])) if unsafe else off
    if p is None:
        return o_s
    kp, unsafe, scope, e, _, off = p
    if not unsafe:  # safe: it fits whatever the shop coupon took
        return o_s + off
    room = e - (x if scope < 0 else ys[scope])
    if s is None or (s[0], kp) in plan.apart:
        return o_s + min(off, room)
    if (s[0], kp) in plan.inside:
        return o_s + max(0, min(off, room - o_s))
    return o_s + (off if scope < 0 else min(off, room))


def _pareto(states: dict[tuple[int, tuple[int, ...]], tuple[int, int]]
            ) -> dict[tuple[int, tuple[int, ...]], tuple[int, int]]:
    """``states`` without what another state of the same lines taken, with no more cut on
    any scope, also reaches: its X bits, and its largest X when the other's is as large."""
    by_mask: dict[int, list[tuple[int, ...]]] = {}
    for m, ys in states:
        by_mask.setdefault(m, []).append(ys)
    out = {}
    for m, yss in by_mask.items():
        if len(yss) == 1:
            out[(m, yss[0])] = states[(m, yss[0])]
            continue
        yss.sort()  # a state's dominators come before it
        if len(yss[0]) == 1:  # one scope: those of a lower cut
            cum_bits, cum_high = 0, -1
            for ys in yss:
                bits, high = states[(m, ys)]
                kept_bits = bits & ~cum_bits
                kept_high = high if high > cum_high else -1
                if kept_bits or kept_high >= 0:
                    out[(m, ys)] = (kept_bits, kept_high)
                cum_bits |= bits
                if high > cum_high:
                    cum_high = high
            continue
        if len(yss[0]) == 2:  # two scopes: the lower ones so far, by rank of the second cut
            rank = {y: r + 1 for r, y in enumerate(sorted({ys[1] for ys in yss}))}
            size = len(rank)
            tree_bits, tree_high = [0] * (size + 1), [-1] * (size + 1)
            for ys in yss:
                bits, high = states[(m, ys)]
                q, ob, oh = rank[ys[1]], 0, -1
                while q:
                    ob |= tree_bits[q]
                    if tree_high[q] > oh:
                        oh = tree_high[q]
                    q -= q & -q
                kept_bits, kept_high = bits & ~ob, high if high > oh else -1
                if kept_bits or kept_high >= 0:
                    out[(m, ys)] = (kept_bits, kept_high)
                q = rank[ys[1]]
                while q <= size:
                    tree_bits[q] |= bits
                    if high > tree_high[q]:
                        tree_high[q] = high
                    q += q & -q
            continue
        seen: list[tuple[tuple[int, ...], int, int]] = []
        for ys in yss:
            bits, high = orig_bits, orig_high = states[(m, ys)]
            for other, ob, oh in seen:
                if all(a <= b for a, b in zip(other, ys, strict=True)):
                    bits &= ~ob
                    if oh >= high:
                        high = -1
            if bits or high >= 0:
                out[(m, ys)] = (bits, high)
            seen.append((ys, orig_bits, orig_high))
    return out


def _scope_witness(problem: Problem, plan: _ScopePlan, base: list[int],
                   stages: list[dict[tuple[int, tuple[int, ...]], tuple[int, int]]],
                   ys: tuple[int, ...], x: int, as_bits: bool, quantum: int,
                   taken: int = 0) -> list[int]:
    """An assignment of the searched lines reaching scope cuts ``ys`` (in ``quantum`` units)
    and cross-item total ``x`` (one of the state's bits, or its largest X), backwards through
    the stages of ``_scope_reach`` (the state of lines ``taken`` of its last stage: with
    ``skip_last``, one step before the end; the lines of the assignment the last step would
    take are left as in ``base`` minus the searched lines, for the caller to set)."""
    steps = plan.steps
    lines, promos, cuts = steps.lines, steps.promos, steps.cuts
    dead = [c // quantum + 1 for c in plan.caps]
    shares = plan.scope_shares(quantum)
    assign = list(base)
    for i in lines:
        assign[i] = NONE
    state, want = (taken, ys), x
    for j in range(len(stages) - 2, -1, -1):
        table, share = cuts[j], shares[j]
        whole, keep = steps.cand_mask[promos[j]], steps.later[j + 1]
        found = None
        for (m, prev), (bits, high) in stages[j].items():
            if m & keep & ~whole != state[0] & ~whole:
                continue  # the lines this promotion cannot take must already match
            for sub in _free_subsets(steps.groups[j], m):
                c = table[sub]
                if (m | sub) & keep != state[0] or c > want or not (
                        bits >> (want - c) & 1 if as_bits else high == want - c):
                    continue
                if plan.settle(j, state[0], tuple(
                        y + d if y + d < cap else cap
                        for y, d, cap in zip(prev, share[sub], dead, strict=True))) == state[1]:
                    found = (m, prev, sub, c)
                    break
            if found:
                break
        if found is None:  # cannot happen: the stages say the state is reachable
            raise AssertionError("no witness for a reachable scope state")
        m, prev, sub, c = found
        for k, i in enumerate(lines):
            if sub >> k & 1:
                assign[i] = promos[j]
        state, want = (m, prev), want - c
    return assign


VALUE_DP_WORK = 1_200_000  # subset steps of by_cut_values (about 0.7 s on this machine)
SHORT_NODES = 10_000  # the search tried first when by_cut_values can take over
SCOPE_DP_WORK = 8_000_000  # (state, subset) steps and bounds of _scope_reach, in all (7-10 s)
EXACT_LINES = 12  # a search over more lines stops at HEURISTIC_NODES
HEURISTIC_NODES = 0


def optimize(problem: Problem, budget: int = NODE_BUDGET, value: bool = True) -> Outcome:
    """The assignment (promotion index or NONE per line) with the most taken off (its
    ``value`` is computed when asked: the engine prices the assignment itself)."""
    n = len(problem.amounts)
    assign = [NONE] * n
    every: dict[int, list[int]] = {}
    for i, cs in enumerate(problem.cands):
        for p in cs:
            every.setdefault(p, []).append(i)
    amounts, qtys, promos = problem.amounts, problem.qtys, problem.promos
    cut = {}
    for p, m in every.items():  # problem.disc(p, tuple(m)), without its memo
        cp = promos[p]
        if cp.kind == PromotionKind.BUNDLE:
            cut[p] = problem.disc(p, tuple(m))
        else:
            amount = pieces = 0
            for i in m:
                amount += amounts[i]
                pieces += qtys[i]
            cut[p] = cut_cents(cp, amount, pieces)
    dead = {p for p, v in cut.items() if v == 0}
    if dead:  # a promotion no choice can bring to a tier: joining it is joining nothing
        problem.cands = [[p for p in cs if p not in dead] for cs in problem.cands]
        for p in dead:
            del every[p], cut[p]
    open_lines = [i for i in range(n) if problem.cands[i]]
    if not open_lines:
        return Outcome(assign, problem.evaluate(assign) if value else -1, True, 0)
    unsafe = unsafe_coupons(problem, every, cut) if problem.coupons else []
    covered = {i for k in unsafe for i in problem.elig[k]}
    joint: list[int] = []
    exact, nodes = True, 0

    def order_of(lines: list[int]) -> list[int]:
        return sorted(lines, key=lambda i: (-problem.amounts[i], -len(problem.cands[i]),
                                            problem.cands[i], i))

    for comp in components(problem, open_lines, every):
        if covered and any(i in covered for i in comp):
            joint.extend(comp)
            continue
        if len(comp) == 1:
            i = comp[0]
            assign[i] = max(problem.cands[i], key=lambda p: (problem.disc(p, (i,)), -p))
            continue
        small = len(comp) <= EXACT_LINES
        out = _Search(problem, order_of(comp), assign, False,
                      budget if small else HEURISTIC_NODES).run()
        for i in comp:
            assign[i] = out.assign[i]
        exact, nodes = exact and out.exact and small, nodes + out.nodes
    if joint and len(joint) <= EXACT_LINES:
        base = list(assign)
        order = order_of(joint)
        # whole-cart coupons only: a short search, then (when it does not finish) the exact
        # dynamic program over the cross-item totals
        plan = value_plan(problem, order, unsafe) if len(joint) == len(open_lines) and all(
            problem.coupons[k].all_lines for k in unsafe) else None
        # otherwise (coupons scoped to some lines, any number of them): the coupons' choice
        # outermost, each choice by the dynamic program over the cuts on its coupons' lines
        choices = plan is None
        out = _Search(problem, order, base, True,
                      min(budget, SHORT_NODES) if plan or choices else budget).run()
        assign = out.assign
        nodes += out.nodes
        if not out.exact and plan:
            better, found_exact = by_cut_values(problem, plan, base)
            if problem.evaluate(better) > problem.evaluate(assign):
                assign = better
            exact = exact and found_exact
        elif not out.exact and choices:
            from storeops.pricing.optimizer_choices import by_coupon_choices

            assign, proven = by_coupon_choices(problem, order, unsafe, base, assign)
            # left open by a platform coupon's room, or past the work cap: the search with
            # its whole budget again, from the best assignment found (its value prunes from
            # the start, so it reaches any better leaf the search from greedy would within
            # that budget: never worse than it; about 0.3 s at most); past the cap and still
            # unfinished, then up to PAIR_ROUNDS rounds of two-line moves
            if not proven and budget > SHORT_NODES:
                more = _Search(problem, order, base, True, budget).run(assign)
                nodes += more.nodes
                if problem.evaluate(more.assign) > problem.evaluate(assign):
                    assign = more.assign
                capped, proven = proven is False, more.exact
                if capped and not proven:
                    from storeops.pricing.optimizer_choices import _pair_moves

                    assign, _ = _pair_moves(problem, order, assign, problem.evaluate(assign))
            exact = exact and bool(proven)
        else:
            exact = exact and out.exact
    elif joint:
        out = _Search(problem, order_of(joint), assign, False, HEURISTIC_NODES).run()
        for i in joint:
            assign[i] = out.assign[i]
        _repair(problem, assign, unsafe, joint)
        exact, nodes = False, nodes + out.nodes
    return Outcome(assign, problem.evaluate(assign) if value else -1, exact, nodes)
