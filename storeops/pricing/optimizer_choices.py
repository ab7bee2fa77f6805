"""The exact search of the coupons' choice outermost (pure, integer cents): any number of shop
and platform coupon candidates, scoped or over the whole cart, whose thresholds compete with
the cross-item promotions of at most ``optimizer.EXACT_LINES`` searched lines.

At most one shop and one platform coupon count, so a *choice* of coupons has at most two
thresholds, and so at most two scopes whose cut matters, however many coupons are candidates
(a coupon on every searched line is a scope too: its cut is X). ``by_coupon_choices``:

1. finds the largest cross-item total X of the searched lines (the branch and bound of the
   cross-item cut alone; when it does not finish, a bound);
2. gives every choice (none, one or two coupons) an upper bound: the largest X, at most what
   the threshold of a coupon on every searched line allows, at most what a scoped coupon's
   threshold allows on its lines plus the most the other lines can take, and, for two
   scoped coupons, at most what both thresholds allow plus the most the lines of neither
   can take (each line's cut lands on one or both scopes or off both), plus what its
   coupons take off with their thresholds kept and nothing cut on their lines;
3. finds a first assignment to beat: for the ``CHOICE_REPAIRS`` most promising choices, the
   largest X's assignment with the lines of a missed threshold taken out of their promotions
   (dearest first, while that pays) and single-line moves; then ``PAIR_ROUNDS`` rounds of
   two-line moves on the best;
4. probes the first ``PROBES`` choices by bound and the first ``PROBES`` by largest X plus
   offs (which the best choice usually leads, though its bound may not) with a pass of
   ``_scope_reach`` kept to ``PROBE_BEAM`` states per step, all from the same value (their
   work apart, ``PROBE_WORK`` at most): the one that does best is decided first;
5. then takes the choices by bound, and skips those whose bound the best assignment found
   already reaches. A choice is decided by ``_scope_reach`` (the
   dynamic program over the promotions with the cut on each of the choice's scopes in the
   state, pruned by the best found so far, and per set of lines taken a state with no more
   cut on every scope and no less X dominates), restricted to that choice: one scope or two,
   the thresholds of the choice only. Its last step is a scan per state of the last
   promotion's subsets, dearest first, until one keeps the thresholds (``_last_step``). For
   the first choice so decided, a pass kept to the ``CHOICE_BEAM`` most promising states per
   step comes first (a better assignment to beat makes the exact pass prune far more). Before
   its program, each choice gets a depth-first dive (``_dive``, at most ``DIVE_CHOICE_WORK``
   subsets): the optimum of a choice often lies exactly at its bound (a whole-cart
   threshold leaves room for a cut that some mix of percent and fixed cuts hits to the
   cent), which the breadth-first program reaches only after all of its states, and an
   assignment worth the bound settles the choice at once.

The work of the programs (their (state, subset) steps and bounds) is capped, all choices
together, at ``optimizer.SCOPE_DP_WORK``; past it the best assignment found is returned
unproven. A platform coupon on lines partly the shop coupon's (its room depends on how the
shop coupon was apportioned) has only a bound in the program: when that leaves a choice open
after its states are traced back and priced, the answer is unproven too.
"""

from __future__ import annotations

from storeops.pricing import optimizer as opt
from storeops.pricing.optimizer import NONE, Problem, _coupons_most, _eligible

# witnesses traced back and priced per choice, at most (the states most promising first)
CHOICE_WITNESSES = 16
# states per step of the first pass of a choice, kept to the most promising (0: none)
CHOICE_BEAM = 400
# choices probed by a pass kept to PROBE_BEAM states per step (the first few by bound and by
# largest X and offs), the best of which gets the first CHOICE_BEAM pass
PROBES = 2
PROBE_BEAM = 60
PROBE_WORK = 400_000  # their work in all (about 0.3 s), beside SCOPE_DP_WORK
# choices whose largest-X assignment is repaired for a first assignment to beat, at most
CHOICE_REPAIRS = 6
# rounds of two-line moves on the first assignment to beat (each tries every pair of lines
# and every pair of their choices: about 1,000 evaluations for 12 lines of 4 candidates)
PAIR_ROUNDS = 2
# subsets the depth-first dive of a choice (``_dive``, before its program) may try (0.1 to
# 0.25 s), and the dives of a cart in all (up to about 1 s)
DIVE_CHOICE_WORK = 50_000
DIVE_WORK = 200_000


def by_coupon_choices(problem: Problem, lines: list[int], unsafe: list[int], base: list[int],
                      start: list[int]) -> tuple[list[int], bool | None]:
    """The best assignment of the searched ``lines`` (the rest as in ``base``) and whether it
    is proven the best: True, False past the work cap (or too many steps), None when a
    platform coupon's room left a choice open; ``start``: an assignment to beat."""
    trial = list(base)
    for i in lines:
        trial[i] = NONE
    outside, after = problem.after_cross(trial)  # the lines outside keep their cuts
    position = {i: j for j, i in enumerate(lines)}
    everything = (1 << len(lines)) - 1
    bad = set(unsafe)
    # per usable coupon: (index, unsafe, its searched lines as bits (-1 when safe), eligible
    # amount after the outside cuts, the most cut its threshold allows, off)
    usable: list[tuple[int, bool, int, int, int, int]] = []
    for k, c in enumerate(problem.coupons):
        elig = range(len(after)) if c.all_lines else problem.elig[k]
        e = sum(after[i] for i in elig)
        if k not in bad:
            item_e = _eligible(problem.amounts, c, problem.elig[k])
            if item_e > 0 and item_e >= c.threshold:
                usable.append((k, False, -1, e, e, c.off))
            continue
        most = e - max(c.threshold, 1)
        if most < 0:
            continue  # out of reach whatever the lines join
        mask = sum(1 << position[i] for i in elig if i in position)
        if mask == 0:  # none of its lines searched: its value is fixed
            usable.append((k, False, -1, e, e, min(c.off, e)))
            continue
        usable.append((k, True, mask, e, most, c.off))
    sets = {k: frozenset(range(len(after))) if problem.coupons[k].all_lines
            else frozenset(problem.elig[k]) for k, *_ in usable}
    shop = {k: problem.coupons[k].shop for k, *_ in usable}
    inside, apart = set(), set()
    for ks, *_ in usable:
        for kp, *_ in usable:
            if shop[ks] and not shop[kp]:
                if sets[ks] <= sets[kp]:
                    inside.add((ks, kp))
                elif not sets[ks] & sets[kp]:
                    apart.add((ks, kp))

    # 1. the largest X
    plain = opt._Search(problem, lines, base, False, opt.NODE_BUDGET).run()
    most_x = plain.assign
    if plain.exact:
        high = plain.value
    else:
        high = sum(problem.share_most(i) + 1 for i in lines)

    found, value = start, problem.evaluate(start)
    v = problem.evaluate(most_x)
    if v > value:
        found, value = most_x, v

    # 2. every choice's bound
    line_most = [problem.share_most(i) for i in lines]

    def off_most(mask: int) -> int:
        """The most cut the searched lines outside ``mask`` can take."""
        return min(high, opt._lines_most(line_most, everything & ~mask, everything))

    shops = [None] + [u for u in usable if shop[u[0]]]
    platforms = [None] + [u for u in usable if not shop[u[0]]]
    bounds = _Bounds(inside, apart)
    ranked: list[tuple[int, tuple]] = []
    leads: list[int] = []
    for s in shops:
        for p in platforms:
            choice = (s, p)
            # X is at most what a coupon on every searched line allows, and what the scoped
            # ones allow with nothing cut yet (the bounds of the programs' states)
            scoped = [u for u in choice
                      if u is not None and u[1] and u[2] not in (-1, everything)]
            union = 0
            for u in scoped:
                union |= u[2]
            x = opt._x_most(opt._x_terms([(d, u[4]) for d, u in enumerate(scoped)], high,
                                         [off_most(u[2]) for u in scoped], off_most(union)),
                            0, opt._zero(len(scoped)))
            x = min([x] + [u[4] for u in choice if u is not None and u[1]
                           and u[2] in (-1, everything)])
            # nothing cut on the scoped coupons' lines: each as scope 0 of cut 0
            zeroed = [None if u is None else
                      (u[0], u[1], 0 if u[1] and u[2] >= 0 else -1, *u[3:]) for u in choice]
            offs = _coupons_most(bounds, *zeroed, x, (0,))
            ranked.append((outside + x + offs, choice))
            leads.append(high + offs)  # the largest X and the offs, thresholds aside
    order = sorted(range(len(ranked)), key=lambda r: -leads[r])
    ranked.sort(key=lambda t: -t[0])

    # a good assignment to beat: per promising choice, the largest X's assignment with the
    # lines of its coupons whose threshold is missed taken out of their promotions (dearest
    # first, while that pays), then single-line moves
    mover = opt._Search(problem, lines, base, True, 0)
    for est, choice in ranked[:CHOICE_REPAIRS]:
        if est <= value:
            break
        keys = [u[0] for u in choice if u is not None and u[1]]
        if not keys:
            continue
        assign = list(most_x)
        opt._repair(problem, assign, keys, lines)
        assign = mover.improve(assign)
        v = problem.evaluate(assign)
        if v > value:
            found, value = assign, v
    if PAIR_ROUNDS and ranked and ranked[0][0] > value:
        found, value = _pair_moves(problem, lines, found, value)

    # 3. the choices, most promising first
    budget = opt.SCOPE_DP_WORK
    dives = DIVE_WORK  # what the dives of all choices together may try
    # per set of scopes: the plan of ``_scope_reach`` (its tables and bounds are the same for
    # every choice of those scopes; ``_for_choice`` sets the rest)
    plans: dict[tuple[int, ...], opt._ScopePlan | None] = {}
    parts: dict[tuple[int, int], dict] = {}  # see _scope_shares
    proven: bool | None = True

    def prepared(choice: tuple) -> tuple[opt._ScopePlan, tuple] | None:
        """The plan set for ``choice`` and the choice as it sees it (its coupons' scopes as
        indexes of plan.scopes), or None when the plan's work would be too much."""
        members = [u for u in choice if u is not None]
        # a coupon on every searched line counts as a scope (its cut is X) beside a scoped
        # one; with only such coupons the program keeps the reachable X as bits instead (a
        # scope of X keeps every X as a state of its own, far slower)
        scoped = any(u[1] and u[2] != everything for u in members)
        masks: list[int] = []
        for u in members:
            if u[1] and (scoped or u[2] != everything) and u[2] not in masks:
                masks.append(u[2])
        key = tuple(masks)
        if key not in plans:
            steps = opt._plan_steps(problem, lines, [0], masks)
            plans[key] = None if steps is None else opt._ScopePlan(
                steps, -1, [0] * len(masks), [], inside, apart, shop, problem, masks, outside)
        plan = plans[key]
        if plan is None:
            return None
        if 1 not in plan.shares:
            plan.shares[1] = _scope_shares(problem, plan, parts)
        _for_choice(plan, members, masks)
        return plan, tuple(
            None if u is None else
            (u[0], u[1], masks.index(u[2]) if u[1] and u[2] in masks else -1, *u[3:])
            for u in choice)

    def searched(r: int) -> bool:  # a choice the programs decide
        return ranked[r][0] > value and (any(u is not None and u[1] for u in ranked[r][1])
                                         or not plain.exact)

    # which choice is decided first, with the beam (a good assignment early makes every later
    # program prune far more): of the first few by bound and the first few by largest X and
    # offs, the one whose pass kept to a small beam does best (all from the same value)
    probes = [r for r in dict.fromkeys(list(range(len(ranked)))[:PROBES] + order[:PROBES])
              if searched(r)]
    lead, start_value, best_probe = 0, value, value
    probing = PROBE_WORK  # on top of the programs' budget
    for r in probes if len(probes) > 1 else ():
        ready = prepared(ranked[r][1])
        if ready is None:
            return found, False
        answer = _pass(problem, ready[0], ready[1], base, found, start_value, probing,
                       PROBE_BEAM)
        if answer is None:
            break
        probing -= answer[2]
        if answer[1] > best_probe:
            lead, best_probe = r, answer[1]
            if answer[1] > value:
                found, value = answer[0], answer[1]
    first = True  # the first choice a program decides: a pass kept to a beam first
    for est, choice in (ranked[r] for r in [lead] + [r for r in range(len(ranked))
                                                      if r != lead]):
        if est <= value:
            continue
        members = [u for u in choice if u is not None]
        if not any(u[1] for u in members) and plain.exact:
            # its coupons' thresholds hold whatever the lines join: worth the largest X and
            # its offs at most, which the largest X's assignment already reaches unless a
            # platform coupon's room depends on the shop coupon's shares (left open)
            proven = None
            continue
        ready = prepared(choice)
        if ready is None:
            return found, False
        plan, mine = ready
        if dives > 0:
            found, value, used = _dive(problem, plan, mine, base, found, value, est,
                                       min(dives, DIVE_CHOICE_WORK))
            dives -= used
            if value >= est:  # the choice's bound reached: nothing of it can do better
                continue
        answer = _decide(problem, plan, mine, base, found, value, budget,
                         CHOICE_BEAM if first else 0)
        if answer is None:
            return found, False
        found, value, used, settled = answer
        budget -= used
        first = False
        if not settled:
            proven = None
    return found, proven


def _dive(problem: Problem, plan: opt._ScopePlan, choice: tuple, base: list[int],
          found: list[int], value: int, goal: int, budget: int
          ) -> tuple[list[int], int, int]:
    """A depth-first search of ``choice``'s assignments (the steps of ``plan``, each
    promotion's subsets dearest cut first, pruned by the thresholds and by what the later
    steps can add), stopped when an assignment is worth ``goal`` (the choice's bound: then no
    other is better) or after ``budget`` subsets: the best assignment found and its value.
    The optimum of a choice often lies right at its bound (a whole-cart coupon's threshold
    leaves room for a cut that some mix of the promotions' cuts hits to the cent), which the
    breadth-first program reaches only after all of its states."""
    steps = plan.steps
    cuts, shares, groups = steps.cuts, plan.scope_shares(), steps.groups
    n = len(cuts)
    members = [u for u in choice if u is not None]
    limits = [(u[2], u[4]) for u in members if u[1] and u[2] >= 0]
    cap_x = opt._cap_x(choice)
    offs = sum(u[5] for u in members)
    step_most = plan.step_most()
    cand = [steps.cand_mask[p] for p in steps.promos]
    later = steps.later
    dims = len(plan.scopes)
    outside = plan.outside
    best, target = value - outside, goal - outside
    path = [0] * n
    kept: list[int] | None = None
    seen: set[tuple] = set()
    ordered: dict[tuple[int, int], list[int]] = {}
    work = 0
    anywhere = 0  # the lines of some scope
    for scope in plan.scopes:
        anywhere |= scope
    line_most = [problem.share_most(i) for i in steps.lines]
    outs: dict[int, int] = {}

    def off_both(j: int, m: int) -> int:
        """The most the lines still free off every scope can take."""
        free = later[j] & ~m
        hit = outs.get(free)
        if hit is None:
            hit = outs[free] = opt._lines_most(line_most, free & ~anywhere, free)
        return hit

    def most(j: int, m: int, x: int, ys: tuple[int, ...]) -> int:
        free = later[j] & ~m
        by = [0] * (dims + 1)
        for k in range(j, n):
            sub = free & cand[k]
            for d, most_d in enumerate(step_most[k]):
                by[d] += most_d[sub]
        high = opt._x_most(opt._x_terms(limits, by[0], by[1:], off_both(j, m)), x, ys)
        if cap_x is not None:
            high = min(high, cap_x)
        return high + offs

    def go(j: int, m: int, x: int, ys: tuple[int, ...]) -> None:
        nonlocal best, kept, work
        key = (j, m & later[j], x, ys)
        if key in seen:
            return
        seen.add(key)
        table, share = cuts[j], shares[j]
        subs = ordered.get((j, m))
        if subs is None:
            subs = ordered[(j, m)] = sorted(opt._free_subsets(groups[j], m),
                                            key=lambda s: -table[s])
        for sub in subs:
            work += 1
            c = table[sub]
            nx = x + c
            if cap_x is not None and nx > cap_x:
                continue
            sh = share[sub]
            nys = tuple(a + b for a, b in zip(ys, sh, strict=True))
            if any(nys[d] > cap for d, cap in limits):
                continue
            if j + 1 == n:
                v = nx + _coupons_most(plan, *choice, nx, nys)
                if v <= best:
                    if nx + offs <= best:
                        break  # the rest cut less
                    continue
                best = v
                path[j] = sub
                kept = list(path)
                if best >= target:
                    return
                continue
            if most(j + 1, m | sub, nx, nys) <= best:
                continue
            path[j] = sub
            go(j + 1, m | sub, nx, nys)
            if best >= target or work > budget:
                return

    go(0, 0, 0, opt._zero(dims))
    if kept is None:
        return found, value, work
    assign = list(base)
    lines = steps.lines
    for i in lines:
        assign[i] = NONE
    for j, sub in enumerate(kept):
        for k, i in enumerate(lines):
            if sub >> k & 1:
                assign[i] = steps.promos[j]
    v = problem.evaluate(assign)
    return (assign, v, work) if v > value else (found, value, work)


class _Bounds:
    """What ``_coupons_most`` reads of a plan: which shop coupons' lines are all, or none, of
    a platform coupon's."""

    def __init__(self, inside: set[tuple[int, int]], apart: set[tuple[int, int]]) -> None:
        self.inside = inside
        self.apart = apart


def _for_choice(plan: opt._ScopePlan, members: list[tuple[int, bool, int, int, int, int]],
                masks: list[int]) -> None:
    """Set ``plan`` (of the scopes ``masks``) for one choice of coupons (``members``)."""
    top = -1
    caps = [0] * len(masks)
    coupons = []
    for k, unsafe, mask, e, most, off in members:
        scope = -1
        if unsafe and mask in masks:
            scope = masks.index(mask)
            caps[scope] = max(caps[scope], most)
        elif unsafe:
            top = max(top, most)
        coupons.append((k, unsafe, scope, e, most, off))
    plan.top, plan.caps, plan.coupons = top, caps, coupons


def _decide(problem: Problem, plan: opt._ScopePlan, choice: tuple, base: list[int],
            found: list[int], value: int, budget: int, beam: int = 0
            ) -> tuple[list[int], int, int, bool] | None:
    """The best assignment with this ``choice`` of coupons, if it beats ``value``: (best
    assignment, its value, work done, whether the choice is settled), or None when the work
    would exceed ``budget``. ``beam``: a first pass kept to that many states per step (a good
    assignment to beat makes the exact pass prune far more; its own states prove nothing)."""
    used = 0
    if beam:
        answer = _pass(problem, plan, choice, base, found, value, budget, beam)
        if answer is None:
            return None
        found, value, used, _ = answer
    answer = _pass(problem, plan, choice, base, found, value, budget - used, 0)
    if answer is None:
        return None
    found, value, work, top = answer
    # every state that could beat the value was seen: the choice's best is worth ``top``
    return found, value, used + work, top is None or top <= value


def _pass(problem: Problem, plan: opt._ScopePlan, choice: tuple, base: list[int],
          found: list[int], value: int, budget: int, beam: int
          ) -> tuple[list[int], int, int, int | None] | None:
    """One pass of ``_scope_reach`` for ``choice``, its states pruned below ``value``:
    (best assignment, its value, work, the most any state above the value is worth (None:
    none is)), the best states traced back and priced; None past ``budget``."""
    if not beam and plan.top < 0 and len(plan.steps.cuts) > 1:
        reach = opt._scope_reach(plan, [choice], value - plan.outside, 1, budget,
                                 skip_last=True)
        if reach is None:
            return None
        stages, work = reach
        answer = _last_step(problem, plan, choice, base, stages, found, value, budget - work)
        if answer is None:
            return None
        found, value, more, top = answer
        return found, value, work + more, top
    reach = opt._scope_reach(plan, [choice], value - plan.outside, 1, budget, beam)
    if reach is None:
        return None
    final, work = reach
    ranked: list[tuple[int, tuple[int, ...], int, bool]] = []
    cap_x = opt._cap_x(choice)
    for (_, ys), (bits, most) in final[-1].items():
        if any(u is not None and u[1] and u[2] >= 0 and ys[u[2]] > u[4] for u in choice):
            continue
        if cap_x is None:
            x, as_bits = most, False
        else:
            x, as_bits = (bits & ((1 << (cap_x + 1)) - 1)).bit_length() - 1, True
        if x >= 0:
            est = plan.outside + x + _coupons_most(plan, *choice, x, ys)
            if est > value:
                ranked.append((est, ys, x, as_bits))
    ranked.sort(key=lambda t: -t[0])
    for est, ys, x, as_bits in ranked[:CHOICE_WITNESSES]:
        if est <= value:
            break
        assign = opt._scope_witness(problem, plan, base, final, ys, x, as_bits, 1)
        v = problem.evaluate(assign)
        if v > value:
            found, value = assign, v
    return found, value, work, ranked[0][0] if ranked else None


def _last_step(problem: Problem, plan: opt._ScopePlan, choice: tuple, base: list[int],
               stages: list[dict[tuple[int, tuple[int, ...]], tuple[int, int]]],
               found: list[int], value: int, budget: int
               ) -> tuple[list[int], int, int, int | None] | None:
    """The last step of ``_scope_reach`` for one choice with no whole-cart threshold (no X
    bits): per state before it, the subsets the last promotion may take, by cut, dearest
    first, without those another subset beats (as much cut, no more on any scope), scanned
    until one keeps the choice's thresholds and no later one can do better. Far less work than
    every (state, subset) pair when the states are many. As ``_pass``: (best assignment, its
    value, work, the most a state above ``value`` is worth or None) or None past ``budget``."""
    steps = plan.steps
    j = len(steps.cuts) - 1
    table, share = steps.cuts[j], plan.scope_shares()[j]
    groups = steps.groups[j]
    last = steps.promos[j]
    members = [u for u in choice if u is not None]
    limits = [(u[2], u[4]) for u in members if u[1] and u[2] >= 0]
    offs = sum(u[5] for u in members)
    outside = plan.outside
    best = value - outside  # what a state must beat (the searched lines' cut and coupons)
    records: list[tuple[int, int, tuple[int, ...], int, int]] = []
    options: dict[int, list[tuple[int, tuple[int, ...], int]]] = {}
    work = 0
    for (m, ys), (_, high) in stages[-1].items():
        mine = options.get(m)
        if mine is None:
            subs = _free_subs(groups, m)
            work += len(subs)
            ranked = sorted(((table[sub], share[sub], sub) for sub in subs),
                            key=lambda t: -t[0])
            mine = []
            # without a subset that one of a few kept ones (the least cut on each scope so
            # far, the last kept) beats: as much cut, no more on any scope
            lows: list[tuple[int, ...]] = []
            for c, sh, sub in ranked:
                if any(all(a <= b for a, b in zip(kept, sh, strict=True)) for kept in lows):
                    continue
                mine.append((c, sh, sub))
                lows = [min((lows[d] if lows else sh), sh, key=lambda t, d=d: (t[d], t))
                        for d in range(len(sh))] + [sh]
            work += len(ranked)
            options[m] = mine
        for c, sh, sub in mine:
            work += 1
            if high + c + offs <= best:
                break
            for d, most in limits:
                if ys[d] + sh[d] > most:
                    break
            else:
                final = tuple(y + e for y, e in zip(ys, sh, strict=True))
                v = high + c + _coupons_most(plan, *choice, high + c, final)
                if v > best:
                    best = v
                    records.append((v, m, ys, high, sub))
        if work > budget:
            return None
    lines = steps.lines
    for est, m, ys, high, sub in reversed(records):
        if est + outside <= value:
            break
        assign = opt._scope_witness(problem, plan, base, stages, ys, high, False, 1, taken=m)
        for k, i in enumerate(lines):
            if sub >> k & 1:
                assign[i] = last
        v = problem.evaluate(assign)
        if v > value:
            found, value = assign, v
    return found, value, work, records[-1][0] + outside if records else None


def _free_subs(groups: list[list[int]], taken: int) -> list[int]:
    return opt._free_subsets(groups, taken)


def _scope_shares(problem: Problem, plan: opt._ScopePlan,
                  parts: dict[tuple[int, int], dict]
                  ) -> list[dict[int, tuple[int, ...]]]:
    """``plan.scope_shares()`` (per step and subset, the part of the cut on each scope), the
    part of each promotion's cut on each scope over each subset of its lines computed once
    for every plan of the search (``parts``: (promotion, scope) -> subset -> part; at
    (-1, -1) each apportionment, by (promotion, subset))."""
    steps, scopes = plan.steps, plan.scopes
    lines, amounts = steps.lines, problem.amounts
    zero = opt._zero(len(scopes))
    splits = parts.setdefault((-1, -1), {})  # (promotion, subset) -> (line bit, share) each
    out: list[dict[int, tuple[int, ...]]] = []
    for p, table in zip(steps.promos, steps.cuts, strict=True):
        by_scope = []
        for scope in scopes:
            mine = parts.get((p, scope))
            if mine is None:
                mine = parts[(p, scope)] = {}
                for sub, cut in table.items():
                    if not cut or not sub & scope:
                        continue
                    if not sub & ~scope:
                        mine[sub] = cut
                        continue
                    split = splits.get((p, sub))
                    if split is None:  # in the lines' order, as the engine apportions
                        bits = sorted((b for b in range(len(lines)) if sub >> b & 1),
                                      key=lines.__getitem__)
                        split = splits[(p, sub)] = list(zip(
                            [1 << b for b in bits],
                            opt.apportion(cut, [amounts[lines[b]] for b in bits]),
                            strict=True))
                    mine[sub] = sum(x for b, x in split if scope & b)
            by_scope.append(mine)
        shares: dict[int, tuple[int, ...]] = {}
        if len(by_scope) == 1:
            (first,) = by_scope
            for sub in table:
                v = first.get(sub, 0)
                shares[sub] = (v,) if v else zero
        else:
            for sub in table:
                t = tuple(m.get(sub, 0) for m in by_scope)
                shares[sub] = t if any(t) else zero
        out.append(shares)
    return out


def _pair_moves(problem: Problem, lines: list[int], assign: list[int], value: int
                ) -> tuple[list[int], int]:
    """``assign`` improved by moves of two lines at once (each to nothing or one of its
    candidates), the best move of a round taken, for at most ``PAIR_ROUNDS`` rounds."""
    assign = list(assign)
    options = {i: [NONE, *problem.cands[i]] for i in lines}
    evaluate = problem.evaluate
    for _ in range(PAIR_ROUNDS):
        best, move = value, None
        for a, i in enumerate(lines):
            keep_i = assign[i]
            for j in lines[a + 1:]:
                keep_j = assign[j]
                for p in options[i]:
                    assign[i] = p
                    for q in options[j]:
                        if p == keep_i and q == keep_j:
                            continue
                        assign[j] = q
                        v = evaluate(assign)
                        if v > best:
                            best, move = v, (i, p, j, q)
                    assign[j] = keep_j
                assign[i] = keep_i
        if move is None:
            break
        i, p, j, q = move
        assign[i], assign[j] = p, q
        value = best
    return assign, value
