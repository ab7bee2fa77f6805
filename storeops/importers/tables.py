"""Products, daily traffic (京东商智) and daily ad spend (京准通): one row per record,
upserted on its natural key. Headers are accepted as JD exports them (Chinese) or in English.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import polars as pl
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from storeops.ads.models import AdSpendDaily
from storeops.catalog.models import Product
from storeops.catalog.stores import bump_data_version, get_or_create_store, next_data_version
from storeops.common.timeutil import utcnow
from storeops.db.bulk import bulk_insert
from storeops.db.engine import import_transaction
from storeops.importers.mapping import MappingError, read_yaml
from storeops.importers.models import ImportBatch
from storeops.importers.order_rows import ROW, duplicate_of, first_failure
from storeops.importers.order_store import ensure_products, large_cache
from storeops.importers.parsing import (
    EXCEL_NUMBER_REASON,
    excel_number_id,
    parse_cents,
    parse_day,
    parse_int,
)
from storeops.importers.reading import ImportFileError
from storeops.importers.summary import ImportSummary
from storeops.metrics.models import TrafficDaily

COUNT, MONEY, TEXT, DAY = "count", "money", "text", "day"
# Text longer than its column: an id is rejected (cutting it could merge two ids), a
# description is cut.
ID_LIMITS = {"sku": 64, "seller_code": 64}
CUT_LIMITS = {"title": 500, "category": 120, "brand": 120, "campaign": 120}

PRODUCT_STATUS = {"上架": "on_sale", "在售": "on_sale", "on_sale": "on_sale",
                  "下架": "off_shelf", "off_shelf": "off_shelf"}
TRAFFIC_SOURCES = {"搜索": "search", "活动": "campaign", "推荐": "recommend",
                   "类目": "category", "导航": "category", "类目/导航": "category"}


@dataclass(frozen=True)
class Field:
    name: str
    kind: str  # count | money | text | day
    headers: tuple[str, ...]  # accepted headers, first match wins
    required: bool = False


@dataclass(frozen=True)
class TableSpec:
    kind: str
    fields: tuple[Field, ...]
    key: tuple[str, ...]  # fields that identify a record within a store


SPECS = {
    "products": TableSpec("products", (
        Field("sku", TEXT, ("商品ID", "SKU", "sku", "sku_id", "商品编号", "SKU ID"), True),
        Field("seller_code", TEXT, ("货号", "商家SKUID", "seller_code", "Seller code")),
        Field("title", TEXT, ("商品名称", "title", "Title", "name")),
        Field("category", TEXT, ("类目", "category", "Category")),
        Field("brand", TEXT, ("品牌", "brand", "Brand")),
        Field("list_price", MONEY, ("京东价", "售价", "list_price", "price", "Price")),
        Field("cost", MONEY, ("成本价", "cost", "Cost")),
        Field("status", TEXT, ("状态", "上下架状态", "status", "Status")),
        Field("stock", COUNT, ("库存", "库存数量", "stock", "Stock")),
    ), ("sku",)),
    "traffic": TableSpec("traffic", (
        Field("day", DAY, ("日期", "date", "day", "Date"), True),
        Field("sku", TEXT, ("商品ID", "SKU", "sku", "sku_id", "商品编号"), True),
        Field("source", TEXT, ("流量来源", "来源", "source", "Source")),
        Field("uv", COUNT, ("访客数", "uv", "UV", "visitors")),
        Field("pv", COUNT, ("浏览量", "pv", "PV", "page_views")),
        Field("exposure", COUNT, ("曝光量", "曝光次数", "曝光数", "exposure", "impressions")),
        Field("clicks", COUNT, ("点击量", "点击次数", "点击数", "clicks")),
        Field("cart_users", COUNT, ("加购人数", "加购客户数", "cart_users", "add_to_cart_users")),
        Field("bounce_visits", COUNT, ("跳失访客数", "跳失人数", "跳失数", "bounce_visits")),
    ), ("day", "sku", "source")),
    "ads": TableSpec("ads", (
        Field("day", DAY, ("日期", "date", "day", "Date"), True),
        Field("campaign", TEXT, ("计划名称", "推广计划", "campaign", "Campaign"), True),
        Field("spend", MONEY, ("花费", "消耗", "spend", "cost", "Spend")),
        Field("impressions", COUNT, ("展现数", "展现量", "impressions", "Impressions")),
        Field("clicks", COUNT, ("点击数", "点击量", "clicks", "Clicks")),
        Field("attributed_orders", COUNT, ("成交订单数", "总订单行", "attributed_orders",
                                           "orders")),
        Field("attributed_gmv", MONEY, ("成交金额", "总订单金额", "attributed_gmv", "gmv",
                                        "GMV")),
    ), ("day", "campaign")),
}


def load_table_mapping(path: Path | None) -> dict[str, str]:
    """An optional YAML ``columns: {field: header}`` that overrides the known headers."""
    if path is None:
        return {}
    raw = read_yaml(Path(path))
    if not isinstance(raw, dict) or not isinstance(raw.get("columns"), dict):
        raise MappingError(f"{path}: a mapping needs a 'columns:' section",
                           key="mapping.no_columns", file=path)
    return {str(k): str(v) for k, v in raw["columns"].items() if v}


def _resolve_columns(spec: TableSpec, frame: pl.DataFrame, name: str,
                     overrides: dict[str, str]) -> dict[str, str]:
    found: dict[str, str] = {}
    for f in spec.fields:
        headers = (overrides[f.name],) if f.name in overrides else f.headers
        match = next((h for h in headers if h in frame.columns), None)
        if match is None and f.required:
            found_text = ", ".join(c for c in frame.columns if c != ROW)
            raise ImportFileError(
                f"{name}: missing column {' / '.join(headers)} for {f.name}"
                f" (found: {found_text})", key="import.missing_column", file=name,
                headers=" / ".join(headers), found=found_text,
            )
        if match is not None:
            found[f.name] = match
    return found


def check_table_rows(
    spec: TableSpec, frame: pl.DataFrame, name: str, overrides: dict[str, str] | None = None
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """(accepted records with one column per field, rejects)."""
    cols = _resolve_columns(spec, frame, name, overrides or {})
    original = [c for c in frame.columns if c != ROW]
    values: list[pl.Expr | pl.Series] = [duplicate_of(frame, original).alias("dup_of")]
    checks: list[tuple[pl.Expr, str, str, pl.Expr | str]] = [
        (pl.col("dup_of").is_not_null(), "", "duplicate row",
         pl.concat_str(pl.lit("duplicate of row "), pl.col("dup_of").cast(pl.String))),
    ]
    for f in spec.fields:
        col = cols.get(f.name)
        if col is None:
            dtype = pl.Int64 if f.kind in (COUNT, MONEY) else pl.String
            values.append(pl.lit(None, dtype).alias(f.name))
            continue
        source = frame.get_column(col)
        if f.kind == TEXT:
            text = pl.col(col)
            if f.name in CUT_LIMITS:
                text = text.str.slice(0, CUT_LIMITS[f.name])
            values.append(text.alias(f.name))
            if f.name in ID_LIMITS:
                limit = ID_LIMITS[f.name]
                checks.append((pl.col(col).str.len_chars() > limit, col, "text too long",
                               pl.format(f"{f.name} is {{}} characters long, at most {limit}"
                                         " allowed", pl.col(col).str.len_chars())))
            if f.name == "sku":
                checks.append((excel_number_id(pl.col(col)), col, "excel number id",
                               EXCEL_NUMBER_REASON))
        elif f.kind == DAY:
            values.append(parse_day(col).alias(f.name))
        else:
            # empty stays null (zero for counts, unknown for prices); text that is not a
            # number is rejected below
            values.append((parse_int(source) if f.kind == COUNT else parse_cents(source))
                          .alias(f.name))
        if f.required:
            checks.append((pl.col(col).is_null(), col, f"missing {f.name}",
                           f"missing {f.name}"))
        if f.kind == DAY:
            checks.append((pl.col(col).is_not_null() & pl.col(f.name).is_null(), col,
                           "bad date", "not a date"))
        elif f.kind == COUNT:
            checks.append((pl.col(col).is_not_null() & pl.col(f.name).is_null(), col,
                           "bad number",
                           "not a whole number"))
            checks.append((pl.col(f.name) < 0, col, "negative number", "negative count"))
        elif f.kind == MONEY:
            checks.append((pl.col(col).is_not_null() & pl.col(f.name).is_null(), col,
                           "bad amount",
                           "not an amount of money"))
            checks.append((pl.col(f.name) < 0, col, "negative amount", "negative amount"))
    parsed = frame.with_columns(values)
    if spec.kind == "products" and "status" in cols:
        status = pl.col(cols["status"]).replace_strict(PRODUCT_STATUS, default=None)
        parsed = parsed.with_columns(status.alias("status"))
        checks.append((pl.col(cols["status"]).is_not_null() & pl.col("status").is_null(),
                       cols["status"], "unknown status",
                       "unknown status (上架/下架, on_sale/off_shelf)"))
    if spec.kind == "traffic":
        source = pl.col("source").fill_null("all")
        parsed = parsed.with_columns(
            source.replace(TRAFFIC_SOURCES).str.to_lowercase().str.slice(0, 40).alias("source")
        )
    # two rows for the same record (not exact copies): keep the first, say which
    key_first = pl.col(ROW).min().over(list(spec.key))
    judged = parsed.with_columns(first_failure(checks).alias("failure"))
    ok_rows = judged.filter(pl.col("failure").is_null())
    ok_rows = ok_rows.with_columns(key_first.alias("key_first"))
    clash = ok_rows.filter(pl.col("key_first") != pl.col(ROW)).select(
        pl.col(ROW).alias("row"), pl.lit("").alias("field"),
        pl.lit("same record twice").alias("reason_key"),
        pl.concat_str(pl.lit(f"same {' + '.join(spec.key)} as row "),
                      pl.col("key_first").cast(pl.String)).alias("reason"),
    )
    rejects = pl.concat([
        judged.filter(pl.col("failure").is_not_null()).select(
            pl.col(ROW).alias("row"), pl.col("failure").struct.unnest()),
        clash,
    ]).sort("row")
    accepted = ok_rows.filter(pl.col("key_first") == pl.col(ROW)).select(
        ROW, *[f.name for f in spec.fields]
    )
    return accepted, rejects


def import_table(
    db_url: str, kind: str, path: Path, name: str, frame: pl.DataFrame,
    store_name: str | None, summary: ImportSummary, mapping: Path | None,
) -> pl.DataFrame:
    """Check and upsert one products/traffic/ads file; returns its rejects."""
    spec = SPECS[kind]
    accepted, rejects = check_table_rows(spec, frame, name, load_table_mapping(mapping))
    from storeops.importers.service import file_sha256

    now = utcnow()
    with import_transaction(db_url) as session, large_cache(session):
        store, _ = get_or_create_store(session, store_name)
        summary.store = store.name
        version = next_data_version(session, store.id)
        batch = ImportBatch(store_id=store.id, kind=kind, source_name=name,
                            file_sha256=file_sha256(path), status="running", started_at=now)
        session.add(batch)
        session.flush()
        writer = {"products": _upsert_products, "traffic": _upsert_traffic,
                  "ads": _upsert_ads}[kind]
        writer(session, store.id, accepted, summary, version)
        summary.rejected = rejects.height
        summary.imported = summary.read - rejects.height
        summary.unchanged = summary.imported - summary.created - summary.updated
        if summary.created or summary.updated or summary.products_created:
            if bump_data_version(session, store.id) != version:
                raise RuntimeError("data_version moved during the import")
        batch.status = "done"
        batch.rows_read, batch.rows_imported = summary.read, summary.imported
        batch.rows_rejected = summary.rejected
        batch.summary_json = json.dumps(summary.to_dict(), ensure_ascii=False)
        batch.finished_at = utcnow()
        summary.batch_id = batch.id
    return rejects


def _upsert(
    session: Session, model: Any, store_id: int, records: list[dict[str, Any]],
    key: tuple[str, ...], summary: ImportSummary, version: int,
    defaults: dict[str, Any] | None = None,
) -> None:
    """Insert new records, update changed ones (only the fields given), leave the rest; the
    rows inserted or changed carry ``version`` as their ``row_version``.

    ``defaults`` fill empty fields of new records only, so that an update never resets them.
    """
    if not records:  # every row rejected: nothing to match (and no columns to read)
        return
    table = model.__table__
    names = list(records[0])
    existing = {
        tuple(row._mapping[k] for k in key): row._mapping
        for row in session.execute(
            select(table.c.id, *[table.c[n] for n in names]).where(table.c.store_id == store_id)
        )
    }
    fresh, changed = [], []
    for rec in records:
        old = existing.get(tuple(rec[k] for k in key))
        if old is None:
            fresh.append({k: (v if v is not None else (defaults or {}).get(k))
                          for k, v in rec.items()})
            continue
        diff = {k: v for k, v in rec.items() if v is not None and old[k] != v}
        if diff:
            changed.append({"id": old["id"], **diff, "row_version": version})
    if fresh:
        extra: dict[str, Any] = {"row_version": version}
        if model is Product:
            extra |= {"created_at": utcnow(), "updated_at": utcnow()}
        columns = ["store_id", *names, *extra]
        bulk_insert(session.connection(), table, columns,
                    ((store_id, *rec.values(), *extra.values()) for rec in fresh),
                    expected_rows=len(fresh))
    for rec in changed:  # few: a re-import changes little
        session.execute(update(model).where(model.id == rec.pop("id")).values(**rec))
    summary.created += len(fresh)
    summary.updated += len(changed)


def _upsert_products(session: Session, store_id: int, rows: pl.DataFrame,
                     summary: ImportSummary, version: int) -> None:
    records = [
        {"platform_sku_id": r["sku"], "seller_code": r["seller_code"], "title": r["title"],
         "category": r["category"], "brand": r["brand"],
         "list_price_cents": r["list_price"], "cost_cents": r["cost"],
         "status": r["status"], "stock": r["stock"]}
        for r in rows.iter_rows(named=True)
    ]
    _keep_ledger_stock(session, store_id, records, summary)
    _upsert(session, Product, store_id, records, ("platform_sku_id",), summary, version,
            defaults={"status": "on_sale"})


def _keep_ledger_stock(session: Session, store_id: int, records: list[dict[str, Any]],
                       summary: ImportSummary) -> None:
    """A SKU whose stock the ledger keeps (storeops.inventory) keeps the ledger's figure: its
    products.stock is the ledger's available units, changed only through movements (`storeops
    stock count` sets a counted figure). The file's 库存 for it is left out and counted."""
    from storeops.inventory.models import StockLevel

    given = {r["platform_sku_id"] for r in records if r["stock"] is not None}
    if not given:
        return
    managed = set(session.scalars(
        select(Product.platform_sku_id).join(StockLevel, StockLevel.product_id == Product.id)
        .where(Product.store_id == store_id).distinct()))
    for rec in records:
        if rec["stock"] is not None and rec["platform_sku_id"] in managed:
            rec["stock"] = None
            summary.stock_kept += 1


def _product_ids(session: Session, store_id: int, rows: pl.DataFrame,
                 summary: ImportSummary, version: int) -> pl.DataFrame:
    wanted = rows.select("sku", pl.lit(None, pl.String).alias("title"),
                         pl.lit(None, pl.String).alias("seller_code"))
    ids, created = ensure_products(session.connection(), store_id, wanted, utcnow(), version)
    summary.products_created += created
    return rows.join(ids, on="sku", how="left")


def _upsert_traffic(session: Session, store_id: int, rows: pl.DataFrame,
                    summary: ImportSummary, version: int) -> None:
    rows = _product_ids(session, store_id, rows, summary, version)
    records = [
        {"day": r["day"], "product_id": r["product_id"], "source": r["source"],
         **{k: r[k] or 0 for k in ("uv", "pv", "exposure", "clicks", "cart_users",
                                   "bounce_visits")}}
        for r in rows.iter_rows(named=True)
    ]
    _upsert(session, TrafficDaily, store_id, records, ("day", "product_id", "source"), summary,
            version)


def _upsert_ads(session: Session, store_id: int, rows: pl.DataFrame,
                summary: ImportSummary, version: int) -> None:
    records = [
        {"day": r["day"], "campaign": r["campaign"][:120], "spend_cents": r["spend"] or 0,
         "impressions": r["impressions"] or 0, "clicks": r["clicks"] or 0,
         "attributed_orders": r["attributed_orders"] or 0,
         "attributed_gmv_cents": r["attributed_gmv"] or 0}
        for r in rows.iter_rows(named=True)
    ]
    _upsert(session, AdSpendDaily, store_id, records, ("day", "campaign"), summary, version)

