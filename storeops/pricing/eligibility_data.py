"""The facts an eligibility check reads (:mod:`storeops.pricing.eligibility`): from the
database (reference price, stock, the promotion) and from a facts file (what storeops does
not hold).

**The facts file** — CSV, or YAML/JSON. CSV: one row per SKU, plus a row with an empty ``sku``
for the store; columns (all but ``sku`` optional, an empty cell is "not known")::

    sku,product_score,store_score,positive_review_rate,violations_30d,sell_through_top_percent
    ,,4.7,96.5,0,
    1001,4.8,,,0,12

- ``product_score``: the SKU's score, 0–5 (flash sale: ≥ 4.6);
- ``store_score``: the store's score, 0–5 (618 / 11.11: ≥ 4.5);
- ``positive_review_rate``: positive reviews in percent, 0–100, ``96.5`` or ``96.5%`` (≥ 95);
- ``violations_30d``: violations in the last 30 days, a whole number (must be 0);
- ``sell_through_top_percent``: sell-through rank in the category as "top N%", 0–100 (≤ 30);
  a SKU's row wins over the store's.

YAML/JSON: ``store: {store_score: 4.7, …}`` and ``skus: {"1001": {product_score: 4.8, …}}``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, fields
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from storeops.catalog.models import Product
from storeops.common.errors import StoreopsError, Term
from storeops.common.money import from_cents
from storeops.common.timeutil import zone
from storeops.pricing.check_files import csv_rows, is_csv, read_text, structured
from storeops.pricing.eligibility import (
    SKU_KINDS,
    CheckKind,
    Eligibility,
    Facts,
    Proposal,
    Subject,
    check,
)
from storeops.pricing.model import Promotion

FACT_COLUMNS = tuple(f.name for f in fields(Facts))
MAX_FACT_ROWS = 100_000
_RANGES = {"product_score": (Decimal(0), Decimal(5)), "store_score": (Decimal(0), Decimal(5)),
           "positive_review_rate": (Decimal(0), Decimal(100)),
           "sell_through_top_percent": (Decimal(0), Decimal(100))}


class EligibilityError(StoreopsError, ValueError):
    pass


@dataclass(frozen=True)
class FactsTable:
    store: Facts = field(default_factory=Facts)
    skus: Mapping[str, Facts] = field(default_factory=dict)

    def of(self, sku: str | None) -> Facts:
        return self.skus.get(sku, Facts()) if sku else Facts()


PROBLEMS = {  # English of each problem; the catalogs say it as errors.terms.promo_checks.<word>
    "unknown_column": "unknown column", "whole_number": "expected a whole number ≥ 0",
    "not_number": "not a number", "range_5": "expected 0–5", "range_100": "expected 0–100",
    "column_missing": "column missing", "too_many_rows": "too many rows",
    "not_sections": "expected store: and skus:",
    "unknown_section": "unknown section", "not_mapping": "expected a mapping",
}


def bad_fact(source: str, row: Any, name: str, value: Any, word: str) -> EligibilityError:
    """A bad fact: the file, row and field, what is wrong (``PROBLEMS[word]``), the value."""
    english = PROBLEMS[word]
    return EligibilityError(f"{source}, row {row}, {name}: {english}: {value!r}",
                            key="promo_checks.fact_bad", source=source, row=row, field=name,
                            value=str(value)[:100],
                            problem=Term(english, f"promo_checks.{word}"))


def parse_fact(name: str, value: Any, source: str = "<form>", row: Any = "-") -> Any:
    """One fact from its text (None for an empty cell); an EligibilityError names the file,
    row and column when it is not a fact."""
    if name not in FACT_COLUMNS:
        raise bad_fact(source, row, name, value, "unknown_column")
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    text = str(value).strip()
    if name == "violations_30d":
        if not text.isdigit():
            raise bad_fact(source, row, name, value, "whole_number")
        return int(text)
    if name == "positive_review_rate":
        text = text.removesuffix("%").strip()
    try:
        number = Decimal(text)
    except InvalidOperation:
        raise bad_fact(source, row, name, value, "not_number") from None
    low, high = _RANGES[name]
    if not number.is_finite() or not low <= number <= high:
        raise bad_fact(source, row, name, value, "range_5" if high == 5 else "range_100")
    return number


def facts_of(item: Mapping[str, Any], source: str, row: Any) -> Facts:
    values = {}
    for name, value in item.items():
        if name == "sku":
            continue
        values[str(name)] = parse_fact(str(name), value, source, row)
    return Facts(**values)


def load_facts(path: Path) -> FactsTable:
    source = str(path)
    text = read_text(path)
    store = Facts()
    skus: dict[str, Facts] = {}
    if is_csv(path):
        header, rows = csv_rows(text)
        if "sku" not in header:
            raise bad_fact(source, 1, "sku", ",".join(header), "column_missing")
        for name in header:
            if name != "sku" and name not in FACT_COLUMNS:
                raise bad_fact(source, 1, name, name, "unknown_column")
        if len(rows) > MAX_FACT_ROWS:
            raise bad_fact(source, len(rows) + 1, "rows", len(rows), "too_many_rows")
        for n, item in enumerate(rows, 2):
            sku = (item.get("sku") or "").strip()
            facts = facts_of(item, source, n)
            if sku:
                skus[sku] = facts
            else:
                store = facts
        return FactsTable(store, skus)
    data = structured(path, text)
    if not isinstance(data, Mapping):
        raise bad_fact(source, 0, "file", type(data).__name__, "not_sections")
    unknown = set(data) - {"store", "skus"}
    if unknown:
        raise bad_fact(source, 0, sorted(map(str, unknown))[0], "", "unknown_section")
    if data.get("store") is not None:
        if not isinstance(data["store"], Mapping):
            raise bad_fact(source, "store", "store", data["store"], "not_mapping")
        store = facts_of(data["store"], source, "store")
    raw = data.get("skus") or {}
    if not isinstance(raw, Mapping):
        raise bad_fact(source, "skus", "skus", raw, "not_mapping")
    for sku, item in raw.items():
        if not isinstance(item, Mapping):
            raise bad_fact(source, f"skus.{sku}", "skus", item, "not_mapping")
        skus[str(sku)] = facts_of(item, source, f"skus.{sku}")
    return FactsTable(store, skus)


# --- the database -----------------------------------------------------------------------------

@dataclass(frozen=True)
class SkuInfo:
    sku: str
    reference_price: Decimal | None
    stock: int | None
    stock_source: str  # ledger | product | none


def sku_info(session: Session, store_id: int, sku: str) -> SkuInfo:
    """A SKU's list price (the reference price) and its available stock: the stock ledger's
    available units when the ledger keeps the SKU, else the product's 库存."""
    from storeops.inventory.service import stock_rows

    product = session.scalar(select(Product).where(Product.store_id == store_id,
                                                   Product.platform_sku_id == sku))
    if product is None:
        raise EligibilityError(f"unknown SKU {sku!r}", key="promo_checks.unknown_sku", sku=sku)
    rows = stock_rows(session, store_id, sku)
    if rows:
        stock, source = sum(r["available"] for r in rows), "ledger"
    elif product.stock is not None:
        stock, source = product.stock, "product"
    else:
        stock, source = None, "none"
    return SkuInfo(sku, from_cents(product.list_price_cents), stock, source)


def proposal_of(promotion: Promotion) -> Proposal:
    return Proposal(code=promotion.id, price=promotion.price, off=promotion.off,
                    percent=promotion.percent, start=promotion.start, end=promotion.end,
                    group_size=promotion.group_size)


def db_promotion(session: Session, store_id: int, code: str) -> Promotion:
    """The store's promotion ``code`` as the engine reads it."""
    from storeops.pricing.models import PromotionRecord
    from storeops.pricing.store import parse_record

    record = session.scalar(select(PromotionRecord).where(PromotionRecord.store_id == store_id,
                                                          PromotionRecord.code == code))
    value = parse_record(record) if record is not None else None
    if not isinstance(value, Promotion):
        raise EligibilityError(f"no promotion {code!r} in this store",
                               key="promo_checks.unknown_promotion", code=code)
    return value


def file_promotion(path: Path, code: str | None, kind: str, tz: str) -> Promotion:
    """The promotion ``code`` of a promotions file; without a code, its only promotion of the
    kind checked (flash_sale, group_buy; any for a campaign)."""
    from storeops.pricing.spec import load_offers

    promotions = load_offers(path, tz).promotions
    if code:
        found = [p for p in promotions if p.id == code]
    else:
        found = [p for p in promotions if kind not in ("flash_sale", "group_buy")
                 or p.kind.value == kind]
    if len(found) != 1:
        raise EligibilityError(
            f"{path}: {'no promotion ' + repr(code) if code else 'name the promotion'} "
            f"(--promotion CODE): found {len(found)}",
            key="promo_checks.pick_promotion", source=str(path), code=code or "",
            count=len(found))
    return found[0]


def skus_to_check(promotion: Promotion | None, skus: Sequence[str]) -> list[str]:
    """The SKUs named, else the promotion's listed SKUs."""
    if skus:
        return list(dict.fromkeys(skus))
    if promotion is not None and promotion.scope.skus:
        return sorted(promotion.scope.skus)
    return []


MAX_SKUS = 200  # SKUs one check may cover


def evaluate(session: Session, store_id: int, tz: str, kind: CheckKind | str,
             skus: Sequence[str], promotion: Promotion | None, facts: FactsTable, *,
             proposal: Proposal | None = None) -> list[Eligibility]:
    """The verdicts of ``kind`` for each SKU (a flash sale or group buy needs one: named, or
    listed by the promotion), or for the store (a campaign without SKUs). ``proposal``: the
    terms checked when they are not the promotion's own (the page's typed values)."""
    kind = CheckKind(kind)
    if proposal is None:
        proposal = proposal_of(promotion) if promotion is not None else Proposal()
    targets = skus_to_check(promotion, skus)
    if len(targets) > MAX_SKUS:
        raise EligibilityError(f"{len(targets)} SKUs: at most {MAX_SKUS} at a time",
                               key="promo_checks.too_many_skus", count=len(targets),
                               limit=MAX_SKUS)
    if kind in SKU_KINDS and not targets:
        raise EligibilityError(f"a {kind.value} check needs a SKU (--sku)",
                               key="promo_checks.sku_needed", kind=kind.value)
    zone_info = zone(tz)
    if not targets:
        return [check(kind, Subject(None, proposal=proposal, store_facts=facts.store),
                      tz=zone_info)]
    out = []
    for sku in targets:
        info = sku_info(session, store_id, sku)
        out.append(check(kind, Subject(sku, info.reference_price, info.stock, proposal,
                                       facts.store, facts.of(sku)), tz=zone_info))
    return out
