"""The promotions file and the cart file: reading, checking and writing them.

A promotions file (YAML or JSON) has ``promotions``, ``coupons``, optional ``points`` and an
optional ``timezone`` (times without an offset are in it; Asia/Shanghai by default)::

    timezone: Asia/Shanghai
    promotions:
      - {id: P1, kind: direct, skus: [A], percent: 10, start: "2026-06-18T00:00", end: ...}
      - {id: M1, kind: full_reduction, skus: all, tiers: [{threshold: 199, off: 30}]}
    coupons:
      - {id: C1, scope: shop, threshold: 100, off: 10}
    points: {balance: 1000, rate: 100, max_share: 0.5}

Each entry becomes a value of :mod:`storeops.pricing.model`; ``*_to_dict`` write them back
(``parse(to_dict(x)) == x``). Money is read from the text of the number (never through a
float): at most 2 decimals, never negative. Every mistake is an :class:`OfferSpecError` that
names the file, the entry (its id, else its position) and the field, in the reader's language
(``errors.pricing.*``). ``docs/promotions.md`` describes the format.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from datetime import date, datetime, time
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import yaml

from storeops.common.errors import StoreopsError, Term, localise, os_reason
from storeops.common.timeutil import DEFAULT_TIMEZONE, TimezoneError, zone
from storeops.pricing.model import (
    ALL,
    BundleItem,
    Cart,
    CartLine,
    Coupon,
    CouponScope,
    Gift,
    Offers,
    PointsRule,
    PricingResult,
    Promotion,
    PromotionKind,
    Scope,
    Tier,
)

CENT = Decimal("0.01")
MAX_MONEY = Decimal("999999999.99")
MAX_QTY = 1_000_000

TOP_KEYS = ("timezone", "promotions", "coupons", "points")
SCOPE_KEYS = ("skus", "categories", "exclude_skus", "exclude_categories")
PROMOTION_COMMON = ("id", "kind", "name", *SCOPE_KEYS, "start", "end")
KIND_KEYS: dict[PromotionKind, tuple[str, ...]] = {
    PromotionKind.DIRECT: ("price", "off", "percent"),
    PromotionKind.FLASH_SALE: ("price", "per_order_limit", "quota"),
    PromotionKind.GROUP_BUY: ("price", "group_size"),
    PromotionKind.MEMBER_PRICE: ("member_prices",),
    PromotionKind.MULTI_BUY: ("tiers",),
    PromotionKind.FULL_REDUCTION: ("tiers", "repeat", "cap"),
    PromotionKind.FULL_DISCOUNT: ("tiers",),
    PromotionKind.BUNDLE: ("items", "price"),
    PromotionKind.GIFT: ("tiers", "gifts"),
}
ANY_KIND_KEYS = frozenset(k for keys in KIND_KEYS.values() for k in keys)
COUPON_KEYS = ("id", "scope", "name", "threshold", "off", *SCOPE_KEYS, "start", "end")
POINTS_KEYS = ("balance", "rate", "max_share")
CART_KEYS = ("lines", "member_tier", "group_buy")
LINE_KEYS = ("sku", "qty", "price", "category")
# What a tier of each kind is reached by and what it gives.
TIER_BASIS = {
    PromotionKind.MULTI_BUY: ("qty",),
    PromotionKind.FULL_REDUCTION: ("threshold", "qty"),
    PromotionKind.FULL_DISCOUNT: ("threshold", "qty"),
    PromotionKind.GIFT: ("threshold", "qty"),
}
TIER_GIVES = {
    PromotionKind.MULTI_BUY: ("percent", "off"),
    PromotionKind.FULL_REDUCTION: ("off",),
    PromotionKind.FULL_DISCOUNT: ("percent",),
    PromotionKind.GIFT: (),
}


# --- errors -----------------------------------------------------------------------------------

class Where(Term):
    """Which entry of a file an error is about: a promotion, coupon, points, a cart line … by
    id or, without one, by position (1-based); translated as ``errors.pricing.where.*``."""

    def __new__(cls, section: str, ident: str | None = None,
                index: int | None = None) -> Where:
        if section in ("file", "points", "cart"):
            text = {"file": "the file", "points": "points", "cart": "the cart"}[section]
        elif ident is not None:
            text = f"{section} {ident}"
        else:
            text = f"{section} #{(index or 0) + 1}"
        where = super().__new__(cls, text)
        where.section_name, where.ident, where.index = section, ident, index
        return where

    def localised(self, lang: str) -> str:
        from storeops.web.i18n import translate

        if self.section_name in ("file", "points", "cart"):
            return translate(lang, f"errors.pricing.where.{self.section_name}")
        if self.ident is not None:
            return translate(lang, f"errors.pricing.where.{self.section_name}_id",
                             id=self.ident)
        return translate(lang, f"errors.pricing.where.{self.section_name}_no",
                         no=(self.index or 0) + 1)


class Problem(Term):
    """What is wrong with a field, with its parameters (``errors.pricing.problem.<name>``)."""

    def __new__(cls, name: str, english: str, **params: Any) -> Problem:
        problem = super().__new__(cls, english)
        problem.name, problem.params = name, params
        return problem

    def localised(self, lang: str) -> str:
        from storeops.web.i18n import catalog, translate

        key = f"errors.pricing.problem.{self.name}"
        if key not in catalog(lang):
            return str(self)
        return translate(lang, key, **self.params)


class OfferSpecError(StoreopsError, ValueError):
    """A mistake in a promotions or cart file: ``file``, ``where`` (the entry), ``field``
    (``tiers[2].off``) and ``problem`` (its name in :attr:`problem_name`)."""

    def __init__(self, file: str, where: Where, field: str, problem: Problem) -> None:
        if field:
            message, key = f"{file}: {where}, field {field}: {problem}", "pricing.spec"
        elif where.section_name == "file":
            message, key = f"{file}: {problem}", "pricing.spec_file"
        else:
            message, key = f"{file}: {where}: {problem}", "pricing.spec_entry"
        super().__init__(message, key=key, file=file, where=where, field=field,
                         problem=problem)
        # The English text is the en catalog's, so that scripts and people read the same words.
        self.args = (localise(self, "en"),)
        self.file, self.where, self.field, self.problem_name = file, where, field, problem.name
        self.problem_text = str(problem)

    @property
    def code(self) -> str:
        return f"pricing.{self.problem_name}"

    def loc(self) -> list[str]:
        """Where in a JSON body the mistake is: ``["promotions", "2", "tiers[0].off"]``."""
        section = {"promotion": "promotions", "coupon": "coupons", "line": "lines"}.get(
            self.where.section_name)
        parts: list[str] = []
        if section is not None:
            parts += [section, str(self.where.index if self.where.index is not None else "")]
        elif self.where.section_name == "points":
            parts.append("points")
        if self.field:
            parts += re.split(r"\.|\[(\d+)\]\.?", self.field)
        return [p for p in parts if p]


class _Ctx:
    """Where we are while reading one entry: raises errors that name it."""

    def __init__(self, source: str, where: Where, tz: ZoneInfo) -> None:
        self.source, self.where, self.tz = source, where, tz

    def fail(self, field: str, name: str, english: str, **params: Any) -> OfferSpecError:
        return OfferSpecError(self.source, self.where, field,
                              Problem(name, english, **params))


# --- reading values ---------------------------------------------------------------------------

def _check_keys(ctx: _Ctx, item: Mapping[str, Any], allowed: Sequence[str],
                prefix: str = "", kind: PromotionKind | None = None) -> None:
    unknown = [str(k) for k in item if k not in allowed]
    if not unknown:
        return
    if kind is not None:
        misplaced = [k for k in unknown if k in ANY_KIND_KEYS]
        if misplaced:
            raise ctx.fail(prefix + misplaced[0], "not_for_kind",
                           f"does not apply to kind {kind.value} (its terms: "
                           f"{', '.join(KIND_KEYS[kind])})", kind=kind.value,
                           terms=", ".join(KIND_KEYS[kind]))
    names = ", ".join(unknown)
    raise ctx.fail(prefix + unknown[0], "unknown_keys",
                   f"unknown key(s) {names} (known: {', '.join(allowed)})",
                   keys=names, known=", ".join(allowed))


def _mapping(ctx: _Ctx, value: Any, field: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise ctx.fail(field, "not_mapping", "must be a mapping of keys to values")
    return value


def _list(ctx: _Ctx, value: Any, field: str) -> list[Any]:
    if not isinstance(value, list):
        raise ctx.fail(field, "not_list", "must be a list")
    return value


def _text(ctx: _Ctx, value: Any, field: str, max_len: int = 200,
          numbers: bool = False) -> str:
    if numbers and isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    if not isinstance(value, str) or not value.strip() or len(value.strip()) > max_len:
        raise ctx.fail(field, "not_text", f"must be a text of 1 to {max_len} characters",
                       max=max_len)
    return value.strip()


def _required(ctx: _Ctx, item: Mapping[str, Any], field: str) -> Any:
    value = item.get(field)
    if value is None:
        raise ctx.fail(field, "required", "is required")
    return value


def _money(ctx: _Ctx, value: Any, field: str, positive: bool = False) -> Decimal:
    """A money amount from an int, a Decimal, a decimal string (or a float with at most 2
    decimals): ≥ 0 (> 0 if ``positive``), at most 2 decimals."""
    amount: Decimal | None = None
    if isinstance(value, bool):
        amount = None
    elif isinstance(value, Decimal | int):
        amount = Decimal(value)
    elif isinstance(value, float | str):
        try:
            amount = Decimal(str(value).strip())
        except InvalidOperation:
            amount = None
    if amount is None or not amount.is_finite():
        raise ctx.fail(field, "not_money", f"must be an amount of money such as 99.00, "
                       f"not {value!r}", value=value)
    if amount < 0 or amount > MAX_MONEY:
        raise ctx.fail(field, "money_range", f"must be ≥ 0 and at most {MAX_MONEY}, not "
                       f"{value}", value=value, max=MAX_MONEY)
    if positive and amount == 0:
        raise ctx.fail(field, "money_zero", "must be more than 0")
    if amount != amount.quantize(CENT):
        raise ctx.fail(field, "money_decimals", f"has more than 2 decimals: {value}",
                       value=value)
    return amount


def _percent(ctx: _Ctx, value: Any, field: str) -> Decimal:
    amount: Decimal | None = None
    if isinstance(value, Decimal | int) and not isinstance(value, bool):
        amount = Decimal(value)
    elif isinstance(value, float | str) and not isinstance(value, bool):
        try:
            amount = Decimal(str(value).strip())
        except InvalidOperation:
            amount = None
    if (amount is None or not amount.is_finite() or not 0 < amount < 100
            or amount != amount.quantize(CENT)):
        raise ctx.fail(field, "bad_percent", "must be a percent off between 0 and 100 "
                       f"(exclusive, at most 2 decimals; 9折 is 10), not {value!r}",
                       value=value)
    return amount


def _int(ctx: _Ctx, value: Any, field: str, least: int = 1) -> int:
    number: int | None = None
    if isinstance(value, int) and not isinstance(value, bool):
        number = value
    elif isinstance(value, Decimal) and value.is_finite() and value == value.to_integral():
        number = int(value)
    if number is None or number < least or number > MAX_QTY * 1000:
        raise ctx.fail(field, "not_int", f"must be a whole number ≥ {least}, not {value!r}",
                       least=least, value=value)
    return number


def _bool(ctx: _Ctx, value: Any, field: str) -> bool:
    if not isinstance(value, bool):
        raise ctx.fail(field, "not_bool", f"must be true or false, not {value!r}",
                       value=value)
    return value


def _time(ctx: _Ctx, value: Any, field: str) -> datetime:
    """ISO 8601; a time without an offset (or a date: its midnight) is in the file's zone."""
    moment: datetime | None = None
    if isinstance(value, datetime):
        moment = value
    elif isinstance(value, date):
        moment = datetime.combine(value, time())
    elif isinstance(value, str):
        try:
            moment = datetime.fromisoformat(value.strip())
        except ValueError:
            moment = None
    if moment is None:
        raise ctx.fail(field, "not_time", "must be an ISO 8601 time such as "
                       f"2026-06-18T00:00:00+08:00, not {value!r}", value=value)
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=ctx.tz)


def _window(ctx: _Ctx, item: Mapping[str, Any]) -> tuple[datetime | None, datetime | None]:
    start = _time(ctx, item["start"], "start") if item.get("start") is not None else None
    end = _time(ctx, item["end"], "end") if item.get("end") is not None else None
    if start is not None and end is not None and not start < end:
        raise ctx.fail("end", "end_before_start", f"must be after start ({start.isoformat()})",
                       start=start.isoformat())
    return start, end


def _sku_set(ctx: _Ctx, value: Any, field: str) -> frozenset[str]:
    items = _list(ctx, value, field)
    if not items:
        raise ctx.fail(field, "empty_list", "must list at least one")
    return frozenset(_text(ctx, v, f"{field}[{i}]", 64, numbers=True)
                     for i, v in enumerate(items))


def _scope(ctx: _Ctx, item: Mapping[str, Any], default_all: bool = True,
           sku_default: frozenset[str] | None = None) -> Scope:
    raw = item.get("skus")
    skus: frozenset[str] | None
    if raw is None:
        skus = sku_default
    elif isinstance(raw, str) and raw.strip().lower() == "all":
        skus = None
    elif isinstance(raw, str):
        raise ctx.fail("skus", "bad_skus", f'must be a list of SKUs or "all", not {raw!r}',
                       value=raw)
    else:
        skus = _sku_set(ctx, raw, "skus")
    categories = (_sku_set(ctx, item["categories"], "categories")
                  if item.get("categories") is not None else frozenset())
    if raw is None and not categories and sku_default is None and not default_all:
        raise ctx.fail("skus", "required", 'is required (a list of SKUs or "all", or give '
                       "categories)")
    exclude_skus = (_sku_set(ctx, item["exclude_skus"], "exclude_skus")
                    if item.get("exclude_skus") is not None else frozenset())
    exclude_categories = (_sku_set(ctx, item["exclude_categories"], "exclude_categories")
                          if item.get("exclude_categories") is not None else frozenset())
    return Scope(skus, categories, exclude_skus, exclude_categories)


def _id(ctx: _Ctx, item: Mapping[str, Any]) -> str:
    return _text(ctx, _required(ctx, item, "id"), "id", 64, numbers=True)


def _where_of(section: str, item: Any, index: int | None) -> Where:
    raw = item.get("id") if isinstance(item, Mapping) else None
    ident = str(raw).strip() if isinstance(raw, str | int) and not isinstance(raw, bool) \
        and str(raw).strip() else None
    return Where(section, ident, index)


# --- promotions, coupons, points -------------------------------------------------------------

def _tiers(ctx: _Ctx, kind: PromotionKind, value: Any) -> tuple[Tier, ...]:
    items = _list(ctx, value, "tiers")
    if not items:
        raise ctx.fail("tiers", "empty_list", "must list at least one")
    basis_keys, gives = TIER_BASIS[kind], TIER_GIVES[kind]
    tiers: list[Tier] = []
    basis_used: str | None = None
    for i, raw in enumerate(items):
        at = f"tiers[{i}]"
        tier = _mapping(ctx, raw, at)
        _check_keys(ctx, tier, (*basis_keys, *gives), prefix=f"{at}.")
        present = [k for k in basis_keys if tier.get(k) is not None]
        if len(present) != 1:
            raise ctx.fail(f"{at}.{basis_keys[0]}", "one_of",
                           f"needs exactly one of {' / '.join(basis_keys)}",
                           fields=" / ".join(basis_keys))
        basis = present[0]
        if basis_used is not None and basis != basis_used:
            raise ctx.fail(f"{at}.{basis}", "tier_basis",
                           f"every tier must use {basis_used}", basis=basis_used)
        basis_used = basis
        qty = _int(ctx, tier[basis], f"{at}.qty") if basis == "qty" else None
        threshold = (_money(ctx, tier[basis], f"{at}.threshold", positive=True)
                     if basis == "threshold" else None)
        off = percent = None
        if gives:
            given = [k for k in gives if tier.get(k) is not None]
            if len(given) != 1:
                raise ctx.fail(f"{at}.{gives[0]}", "one_of" if len(gives) > 1 else "required",
                               f"needs exactly one of {' / '.join(gives)}",
                               fields=" / ".join(gives))
            if given[0] == "off":
                off = _money(ctx, tier["off"], f"{at}.off", positive=True)
            else:
                percent = _percent(ctx, tier["percent"], f"{at}.percent")
        if tiers:
            before = tiers[-1]
            previous = before.qty if qty is not None else before.threshold
            if previous is not None and (qty if qty is not None else threshold) <= previous:
                raise ctx.fail(f"{at}.{basis}", "tiers_order",
                               f"tiers must ascend: {tier[basis]} is not above {previous}",
                               value=tier[basis], previous=previous)
        tiers.append(Tier(qty=qty, threshold=threshold, off=off, percent=percent))
    return tuple(tiers)


def _sku_qty_list(ctx: _Ctx, value: Any, field: str) -> list[tuple[str, int]]:
    items = _list(ctx, value, field)
    if not items:
        raise ctx.fail(field, "empty_list", "must list at least one")
    out: list[tuple[str, int]] = []
    for i, raw in enumerate(items):
        at = f"{field}[{i}]"
        entry = _mapping(ctx, raw, at)
        _check_keys(ctx, entry, ("sku", "qty"), prefix=f"{at}.")
        if entry.get("sku") is None:
            raise ctx.fail(f"{at}.sku", "required", "is required")
        sku = _text(ctx, entry["sku"], f"{at}.sku", 64, numbers=True)
        qty = _int(ctx, entry["qty"], f"{at}.qty") if entry.get("qty") is not None else 1
        if any(s == sku for s, _ in out):
            raise ctx.fail(f"{at}.sku", "duplicate_sku", f"SKU {sku} is listed twice", sku=sku)
        out.append((sku, qty))
    return out


def parse_promotion(item: Mapping[str, Any], source: str, tz: str | ZoneInfo | None = None,
                    index: int | None = None) -> Promotion:
    """One entry of ``promotions``."""
    zone_info = _zone_of(tz, source)
    ctx = _Ctx(source, _where_of("promotion", item, index), zone_info)
    item = _mapping(ctx, item, "")
    pid = _id(ctx, item)
    raw_kind = _required(ctx, item, "kind")
    try:
        kind = PromotionKind(str(raw_kind).strip())
    except ValueError:
        choices = ", ".join(k.value for k in PromotionKind)
        raise ctx.fail("kind", "unknown_kind", f"unknown kind {raw_kind!r} (choices: "
                       f"{choices})", value=raw_kind, choices=choices) from None
    _check_keys(ctx, item, (*PROMOTION_COMMON, *KIND_KEYS[kind]), kind=kind)
    name = _text(ctx, item["name"], "name") if item.get("name") is not None else None
    start, end = _window(ctx, item)
    terms: dict[str, Any] = {}
    bundle_skus: frozenset[str] | None = None
    if kind is PromotionKind.DIRECT:
        given = [k for k in ("price", "off", "percent") if item.get(k) is not None]
        if len(given) != 1:
            raise ctx.fail("price", "one_of", "needs exactly one of price / off / percent",
                           fields="price / off / percent")
        if given[0] == "percent":
            terms["percent"] = _percent(ctx, item["percent"], "percent")
        else:
            terms[given[0]] = _money(ctx, item[given[0]], given[0], positive=given[0] == "off")
    elif kind in (PromotionKind.FLASH_SALE, PromotionKind.GROUP_BUY):
        terms["price"] = _money(ctx, _required(ctx, item, "price"), "price")
        for key, least in (("per_order_limit", 1), ("quota", 0), ("group_size", 2)):
            if item.get(key) is not None:
                terms[key] = _int(ctx, item[key], key, least)
    elif kind is PromotionKind.MEMBER_PRICE:
        prices = _mapping(ctx, _required(ctx, item, "member_prices"), "member_prices")
        if not prices:
            raise ctx.fail("member_prices", "empty_list", "must list at least one")
        terms["member_prices"] = {
            _text(ctx, tier, f"member_prices.{tier}", 40, numbers=True):
                _money(ctx, price, f"member_prices.{tier}") for tier, price in prices.items()}
    elif kind is PromotionKind.BUNDLE:
        parts = _sku_qty_list(ctx, _required(ctx, item, "items"), "items")
        if sum(q for _, q in parts) < 2:
            raise ctx.fail("items", "bundle_size", "a bundle needs at least 2 pieces")
        terms["bundle_items"] = tuple(BundleItem(s, q) for s, q in parts)
        terms["price"] = _money(ctx, _required(ctx, item, "price"), "price")
        bundle_skus = frozenset(s for s, _ in parts)
    else:  # tiered kinds
        if kind is PromotionKind.GIFT:
            parts = _sku_qty_list(ctx, _required(ctx, item, "gifts"), "gifts")
            terms["gifts"] = tuple(Gift(s, q) for s, q in parts)
            if item.get("tiers") is not None:
                terms["tiers"] = _tiers(ctx, kind, item["tiers"])
        else:
            terms["tiers"] = _tiers(ctx, kind, _required(ctx, item, "tiers"))
        if kind is PromotionKind.FULL_REDUCTION:
            repeat = _bool(ctx, item["repeat"], "repeat") if "repeat" in item else False
            if repeat and len(terms["tiers"]) != 1:
                raise ctx.fail("tiers", "repeat_one_tier",
                               "a repeating (每满) reduction has exactly one tier")
            if item.get("cap") is not None:
                if not repeat:
                    raise ctx.fail("cap", "cap_needs_repeat", "applies only with repeat: true")
                terms["cap"] = _money(ctx, item["cap"], "cap", positive=True)
            terms["repeat"] = repeat
    scope = _scope(ctx, item, default_all=False, sku_default=bundle_skus)
    return Promotion(id=pid, kind=kind, scope=scope, start=start, end=end, name=name, **terms)


def parse_coupon(item: Mapping[str, Any], source: str, tz: str | ZoneInfo | None = None,
                 index: int | None = None) -> Coupon:
    """One entry of ``coupons``: ``off`` yuan once the eligible amount reaches ``threshold``
    (0 or left out: no threshold)."""
    ctx = _Ctx(source, _where_of("coupon", item, index), _zone_of(tz, source))
    item = _mapping(ctx, item, "")
    cid = _id(ctx, item)
    _check_keys(ctx, item, COUPON_KEYS)
    raw_scope = _required(ctx, item, "scope")
    try:
        scope = CouponScope(str(raw_scope).strip())
    except ValueError:
        raise ctx.fail("scope", "unknown_scope", f"unknown scope {raw_scope!r} (choices: "
                       "shop, platform)", value=raw_scope) from None
    off = _money(ctx, _required(ctx, item, "off"), "off", positive=True)
    threshold = (_money(ctx, item["threshold"], "threshold")
                 if item.get("threshold") is not None else Decimal("0"))
    if threshold and off > threshold:
        raise ctx.fail("off", "off_above_threshold",
                       f"{off} is more than the threshold {threshold}", off=off,
                       threshold=threshold)
    name = _text(ctx, item["name"], "name") if item.get("name") is not None else None
    start, end = _window(ctx, item)
    return Coupon(id=cid, scope=scope, off=off, threshold=threshold, skus=_scope(ctx, item),
                  start=start, end=end, name=name)


def parse_points(item: Mapping[str, Any], source: str) -> PointsRule:
    """The ``points`` object: ``balance`` points, ``rate`` points per 1.00 yuan (100),
    ``max_share`` of the payable payable with points (0 < share ≤ 1, default 1)."""
    ctx = _Ctx(source, Where("points"), ZoneInfo(DEFAULT_TIMEZONE))
    item = _mapping(ctx, item, "")
    _check_keys(ctx, item, POINTS_KEYS)
    balance = _int(ctx, _required(ctx, item, "balance"), "balance", 0)
    rate = _int(ctx, item["rate"], "rate", 1) if item.get("rate") is not None else 100
    share = Decimal("1")
    if item.get("max_share") is not None:
        raw = item["max_share"]
        try:
            share = Decimal(str(raw).strip()) if not isinstance(raw, bool) else Decimal("NaN")
        except InvalidOperation:
            share = Decimal("NaN")
        if not share.is_finite() or not 0 < share <= 1:
            raise ctx.fail("max_share", "bad_share", "must be a share above 0 and at most 1 "
                           f"(0.5 is half), not {raw!r}", value=raw)
    return PointsRule(balance=balance, rate=rate, max_share=share)


def _zone_of(tz: str | ZoneInfo | None, source: str) -> ZoneInfo:
    if isinstance(tz, ZoneInfo):
        return tz
    try:
        return zone(tz or DEFAULT_TIMEZONE)
    except TimezoneError:
        raise OfferSpecError(source, Where("file"), "timezone", Problem(
            "bad_timezone", f"unknown timezone {tz!r}", value=tz)) from None


def parse_offers(data: Any, source: str = "<data>",
                 tz: str | ZoneInfo | None = None) -> Offers:
    """A whole promotions file's content (already read into mappings and lists)."""
    ctx = _Ctx(source, Where("file"), ZoneInfo(DEFAULT_TIMEZONE))
    data = _mapping(ctx, data, "")
    _check_keys(ctx, data, TOP_KEYS)
    if data.get("timezone") is not None:
        tz = _text(ctx, data["timezone"], "timezone", 64)
    zone_info = _zone_of(tz, source)
    seen: dict[str, str] = {}

    def entries(key: str) -> list[Any]:
        return _list(ctx, data[key], key) if data.get(key) is not None else []

    def unique(section: str, ident: str, index: int) -> None:
        if ident in seen:
            raise OfferSpecError(source, Where(section, ident, index), "id", Problem(
                "duplicate_id", f"the id {ident} is used twice (also by {seen[ident]})",
                id=ident, other=seen[ident]))
        seen[ident] = section

    promotions = []
    for i, raw in enumerate(entries("promotions")):
        promotion = parse_promotion(raw, source, zone_info, i)
        unique("promotion", promotion.id, i)
        promotions.append(promotion)
    coupons = []
    for i, raw in enumerate(entries("coupons")):
        coupon = parse_coupon(raw, source, zone_info, i)
        unique("coupon", coupon.id, i)
        coupons.append(coupon)
    points = parse_points(data["points"], source) if data.get("points") is not None else None
    return Offers(tuple(promotions), tuple(coupons), points)


# --- writing ----------------------------------------------------------------------------------

def _money_text(amount: Decimal) -> str:
    value = amount.quantize(CENT, ROUND_HALF_UP)
    return str(value if value != 0 else Decimal("0.00"))


def _number_text(amount: Decimal) -> str:
    return str(amount.normalize()) if amount == amount.to_integral() else str(amount)


def _scope_dict(scope: Scope) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if scope.skus is not None:
        out["skus"] = sorted(scope.skus)
    elif not scope.categories:
        out["skus"] = "all"
    if scope.categories:
        out["categories"] = sorted(scope.categories)
    if scope.exclude_skus:
        out["exclude_skus"] = sorted(scope.exclude_skus)
    if scope.exclude_categories:
        out["exclude_categories"] = sorted(scope.exclude_categories)
    return out


def _window_dict(start: datetime | None, end: datetime | None) -> dict[str, str]:
    out = {}
    if start is not None:
        out["start"] = start.isoformat()
    if end is not None:
        out["end"] = end.isoformat()
    return out


def _put(out: dict[str, Any], value: Any, plain: Sequence[str] = (),
         money: Sequence[str] = (), numbers: Sequence[str] = ()) -> dict[str, Any]:
    """Write the attributes of ``value`` that are set: counts as they are, money with 2
    decimals, percents as short numbers."""
    for keys, text in ((plain, None), (money, _money_text), (numbers, _number_text)):
        for key in keys:
            found = getattr(value, key)
            if found is not None:
                out[key] = text(found) if text else found
    return out


def _tier_dict(tier: Tier) -> dict[str, Any]:
    return _put({}, tier, ("qty",), ("threshold", "off"), ("percent",))


def promotion_to_dict(p: Promotion) -> dict[str, Any]:
    """The entry of ``promotions`` that reads back as ``p`` (money as decimal strings)."""
    out: dict[str, Any] = {"id": p.id, "kind": p.kind.value}
    if p.name is not None:
        out["name"] = p.name
    out.update(_scope_dict(p.scope))
    out.update(_window_dict(p.start, p.end))
    _put(out, p, ("per_order_limit", "quota", "group_size"), ("price", "off"), ("percent",))
    if p.member_prices:
        out["member_prices"] = {t: _money_text(v) for t, v in p.member_prices.items()}
    if p.tiers:
        out["tiers"] = [_tier_dict(t) for t in p.tiers]
    if p.kind is PromotionKind.FULL_REDUCTION and p.repeat:
        out["repeat"] = True
    if p.cap is not None:
        out["cap"] = _money_text(p.cap)
    if p.bundle_items:
        out["items"] = [{"sku": b.sku, "qty": b.qty} for b in p.bundle_items]
    if p.gifts:
        out["gifts"] = [{"sku": g.sku, "qty": g.qty} for g in p.gifts]
    return out


def coupon_to_dict(c: Coupon) -> dict[str, Any]:
    out: dict[str, Any] = {"id": c.id, "scope": c.scope.value}
    if c.name is not None:
        out["name"] = c.name
    out["threshold"] = _money_text(c.threshold)
    out["off"] = _money_text(c.off)
    if c.skus != ALL:
        out.update(_scope_dict(c.skus))
    out.update(_window_dict(c.start, c.end))
    return out


def points_to_dict(p: PointsRule) -> dict[str, Any]:
    return {"balance": p.balance, "rate": p.rate, "max_share": _number_text(p.max_share)}


def offers_to_dict(offers: Offers) -> dict[str, Any]:
    """A whole promotions file."""
    out: dict[str, Any] = {"promotions": [promotion_to_dict(p) for p in offers.promotions],
                           "coupons": [coupon_to_dict(c) for c in offers.coupons]}
    if offers.points is not None:
        out["points"] = points_to_dict(offers.points)
    return out


# --- files ------------------------------------------------------------------------------------

class _Loader(yaml.SafeLoader):
    """YAML without floats or timestamps: a number with a point is a Decimal read from its
    text, a time stays text (read by :func:`_time` in the file's timezone), digits with a
    leading zero stay text."""


def _yaml_decimal(loader: yaml.SafeLoader, node: yaml.ScalarNode) -> Any:
    text = str(loader.construct_scalar(node)).replace("_", "")
    try:
        return Decimal(text)
    except InvalidOperation:
        return loader.construct_yaml_float(node)


# YAML 1.1 reads off/on/yes/no as booleans: ``off: 5`` would be ``False: 5``. Only true and
# false are booleans here.
_Loader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:bool"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()}
_Loader.add_implicit_resolver("tag:yaml.org,2002:bool",
                              re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"),
                              list("tTfF"))
_Loader.add_constructor("tag:yaml.org,2002:float", _yaml_decimal)


def _yaml_int(loader: yaml.SafeLoader, node: yaml.ScalarNode) -> Any:
    """An integer, except digits with a leading zero (a SKU such as 0012 stays text, not the
    octal 10 of YAML 1.1)."""
    text = str(loader.construct_scalar(node))
    if re.fullmatch(r"[-+]?0[0-9_]+", text):
        return text
    return loader.construct_yaml_int(node)


_Loader.add_constructor("tag:yaml.org,2002:int", _yaml_int)
_Loader.add_constructor("tag:yaml.org,2002:timestamp",
                        lambda loader, node: loader.construct_scalar(node))


def _file_error(path: Path, problem: Problem) -> OfferSpecError:
    return OfferSpecError(str(path), Where("file"), "", problem)


def read_data(path: Path | str) -> Any:
    """A YAML or JSON file's content, numbers with a point as Decimal. JSON by its extension
    or its first character; YAML otherwise."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8-sig")
    except OSError as exc:
        raise _file_error(path, Problem("cannot_read", f"cannot read it: {os_reason(exc)}",
                                        reason=os_reason(exc))) from exc
    except UnicodeDecodeError as exc:
        raise _file_error(path, Problem("not_utf8", "is not UTF-8 text")) from exc
    return parse_text(text, str(path), json_hint=path.suffix.lower() == ".json")


def parse_text(text: str, source: str, json_hint: bool = False) -> Any:
    """The content of a YAML or JSON text (JSON if ``json_hint`` or it starts with ``{``)."""
    if json_hint or text.lstrip().startswith(("{", "[")):
        try:
            return json.loads(text, parse_float=Decimal)
        except json.JSONDecodeError as exc:
            if json_hint:
                raise OfferSpecError(source, Where("file"), "", Problem(
                    "bad_json", f"is not valid JSON: line {exc.lineno}, column {exc.colno}: "
                    f"{exc.msg}", line=exc.lineno, column=exc.colno, detail=exc.msg)) from exc
    try:
        return yaml.load(text, Loader=_Loader)  # noqa: S506 - a SafeLoader subclass
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark is not None else 0
        detail = getattr(exc, "problem", None) or str(exc)
        raise OfferSpecError(source, Where("file"), "", Problem(
            "bad_yaml", f"is not valid YAML: line {line}: {detail}", line=line,
            detail=detail)) from exc


def load_offers(path: Path | str, tz: str | ZoneInfo | None = None) -> Offers:
    """The promotions file at ``path`` (YAML or JSON)."""
    return parse_offers(read_data(path), str(path), tz)


# --- the cart ---------------------------------------------------------------------------------

def parse_cart(data: Any, source: str = "<cart>") -> Cart:
    """``{"lines": [{"sku", "qty", "price", "category"?}], "member_tier": null,
    "group_buy": false}``: one line per SKU."""
    ctx = _Ctx(source, Where("cart"), ZoneInfo(DEFAULT_TIMEZONE))
    data = _mapping(ctx, data, "")
    _check_keys(ctx, data, CART_KEYS)
    raw_lines = _list(ctx, _required(ctx, data, "lines"), "lines")
    if not raw_lines:
        raise ctx.fail("lines", "empty_list", "must list at least one")
    if len(raw_lines) > 200:
        raise ctx.fail("lines", "too_many_lines", "at most 200 lines", max=200)
    lines: list[CartLine] = []
    seen: dict[str, int] = {}
    for i, raw in enumerate(raw_lines):
        line_ctx = _Ctx(source, Where("line", None, i), ctx.tz)
        line = _mapping(line_ctx, raw, "")
        _check_keys(line_ctx, line, LINE_KEYS)
        sku = _text(line_ctx, _required(line_ctx, line, "sku"), "sku", 64, numbers=True)
        if sku in seen:
            raise line_ctx.fail("sku", "duplicate_line",
                                f"SKU {sku} is already on line {seen[sku] + 1}: one line per "
                                "SKU", sku=sku, line=seen[sku] + 1)
        seen[sku] = i
        qty = _int(line_ctx, _required(line_ctx, line, "qty"), "qty")
        if qty > MAX_QTY:
            raise line_ctx.fail("qty", "not_int", f"must be a whole number ≥ 1, not {qty}",
                                least=1, value=qty)
        price = _money(line_ctx, _required(line_ctx, line, "price"), "price")
        category = (_text(line_ctx, line["category"], "category", 120, numbers=True)
                    if line.get("category") is not None else None)
        lines.append(CartLine(sku, qty, price, category))
    tier = (_text(ctx, data["member_tier"], "member_tier", 40, numbers=True)
            if data.get("member_tier") is not None else None)
    group = _bool(ctx, data["group_buy"], "group_buy") if "group_buy" in data else False
    return Cart(tuple(lines), member_tier=tier, group_buy=group)


def load_cart(path: Path | str) -> Cart:
    return parse_cart(read_data(path), str(path))


def cart_to_dict(cart: Cart) -> dict[str, Any]:
    lines = []
    for line in cart.lines:
        entry: dict[str, Any] = {"sku": line.sku, "qty": line.qty,
                                 "price": _money_text(line.price)}
        if line.category is not None:
            entry["category"] = line.category
        lines.append(entry)
    return {"lines": lines, "member_tier": cart.member_tier, "group_buy": cart.group_buy}


# --- the answer -------------------------------------------------------------------------------

def result_to_json(r: PricingResult) -> dict[str, Any]:
    """The issue's output shape, money as decimal strings with 2 decimals, plus each
    discount's ``kind`` and ``text``, ``points_used``, ``gifts`` and ``notes``."""
    return {
        "lines": [{
            "sku": line.sku, "qty": line.qty,
            "list_amount": _money_text(line.list_amount),
            "final_amount": _money_text(line.final_amount),
            "discounts": [{"id": d.id, "amount": _money_text(d.amount), "kind": d.kind,
                           "text": d.text} for d in line.discounts],
            "cross_promotion": line.cross_promotion,
        } for line in r.lines],
        "goods_total": _money_text(r.goods_total),
        "discount_total": _money_text(r.discount_total),
        "payable": _money_text(r.payable),
        "applied": list(r.applied),
        "points_used": r.points_used,
        "gifts": [{"sku": g.sku, "qty": g.qty} for g in r.gifts],
        "notes": list(r.notes),
    }

