"""Cockpit benchmark: the cockpit's queries over a store with 10 million order lines.

The store is the real Online Retail data (541,909 lines) scaled up: its sale lines are
replicated with dates shifted back by 35 days per copy (weekdays kept), order ids, order numbers
and customer ids made unique per copy, until there are 10,000,000 lines (about 2.75 years of
history). Cancellation invoices (``C…``) become refunds; traffic rows (4 JD sources per SKU and
day sold), ad spend and product statuses are derived deterministically. The snapshot is written
straight to Parquet in the layout :mod:`storeops.metrics.warehouse` reads, with a manifest and a
one-store SQLite database whose ``data_version`` matches it, so the timed calls are the real
service functions end to end (including the data-version check on every call).

Generated once under ``bench/.data/`` and reused. Run::

    .venv/bin/python bench/cockpit_bench.py [--lines 10000000] [--runs 5] [--regenerate]

The 30-day window timed is the busiest 30 days of the history (most order lines).
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import statistics
import sys
import time
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

import polars as pl

# This bench times the queries: the result cache (which would answer repeats in microseconds)
# is off unless the caller sets it.
os.environ.setdefault("STOREOPS_RESULT_CACHE", "0")

ROOT = Path(__file__).resolve().parent
DATA = ROOT / ".data"
CSV = ROOT.parents[1] / "shared" / "data" / "online_retail" / "online_retail.csv.gz"
SHIFT_DAYS = 35
SOURCES = (("search", 53), ("campaign", 22), ("recommend", 15), ("category", 10))
ORDER_SOURCES = ("app", "pc", "wechat")


def _price_e4(col: str) -> pl.Expr:
    """A price text such as ``2.55`` or ``0.165`` as integer 1/10000, without floats."""
    text = pl.col(col).str.strip_chars()
    whole = text.str.split(".").list.get(0).cast(pl.Int64)
    frac = (
        text.str.split(".").list.get(1, null_on_oob=True).fill_null("")
        .str.pad_end(4, "0").str.slice(0, 4).cast(pl.Int64)
    )
    return whole * 10_000 + frac


def _base(csv: Path) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame]:
    raw = pl.read_csv(csv, infer_schema=False)  # every column as text: no float money
    raw = raw.with_columns(
        pl.col("Quantity").cast(pl.Int64).alias("qty"),
        _price_e4("UnitPrice").alias("price_e4"),
        pl.col("InvoiceDate").str.slice(0, 10).str.to_date("%Y-%m-%d").alias("day"),
        pl.col("CustomerID").cast(pl.Float64, strict=False).cast(pl.Int64).alias("customer"),
    )
    codes = raw.group_by("StockCode").agg(pl.col("Description").drop_nulls().first())
    codes = codes.sort("StockCode").with_row_index("product_id", offset=1)
    products = codes.select(
        pl.col("product_id").cast(pl.Int64),
        pl.col("StockCode").alias("platform_sku_id"),
        pl.col("Description").alias("title"),
        pl.col("Description").fill_null("MISC").str.split(" ").list.last().alias("category"),
        pl.when(pl.col("product_id") % 10 == 0).then(pl.lit("off_shelf"))
        .otherwise(pl.lit("on_sale")).alias("status"),
    )
    raw = raw.join(codes.select("StockCode", "product_id"), on="StockCode")
    cents = ((pl.col("price_e4") * pl.col("qty").abs() + 50) // 100)
    sales = raw.filter(
        ~pl.col("InvoiceNo").str.starts_with("C") & (pl.col("qty") > 0) & (pl.col("price_e4") > 0)
    ).with_columns(cents.alias("amount_cents"))
    refunds = raw.filter(pl.col("InvoiceNo").str.starts_with("C")).with_columns(
        cents.alias("amount_cents")
    )
    return products, sales, refunds


def scaled_lines(sales: pl.DataFrame, lines: int) -> pl.DataFrame:
    """``lines`` sale lines: Online Retail's sales copied as often as needed, each copy moved
    SHIFT_DAYS further back in time with its own order ids, order numbers and customers."""
    invoices = sales.select("InvoiceNo").unique().sort("InvoiceNo").with_row_index("inv_idx")
    sales = sales.join(invoices, on="InvoiceNo")
    n_inv = invoices.height
    copies = -(-lines // sales.height)
    parts = [
        sales.select(
            (pl.col("inv_idx").cast(pl.Int64) + k * n_inv + 1).alias("order_id"),
            pl.col("product_id").cast(pl.Int64),
            pl.col("qty").alias("quantity"),
            pl.col("price_e4").alias("unit_price_e4"),
            pl.col("amount_cents"),
            (pl.col("day") - pl.duration(days=k * SHIFT_DAYS)).alias("placed_date"),
            (pl.col("InvoiceNo") + f"-{k}").alias("platform_order_id"),
            (pl.col("customer") + k * 100_000).alias("customer"),
        )
        for k in range(copies)
    ]
    return pl.concat(parts).head(lines)


def generate(lines: int) -> dict:
    DATA.mkdir(parents=True, exist_ok=True)
    products, sales, refunds = _base(CSV)
    copies = -(-lines // sales.height)  # of the file, for the refunds below
    lines_df = scaled_lines(sales, lines).drop("unit_price_e4").rename(
        {"customer": "customer_id"})
    oid = pl.col("order_id")
    # Deterministic order attributes: 2% cancelled, 3% unpaid, sources 60/25/15, freight on 30%.
    lines_df = lines_df.with_columns(
        pl.when(oid % 50 == 0).then(pl.lit("cancelled"))
        .when(oid % 33 == 0).then(pl.lit("wait_pay")).otherwise(pl.lit("finished"))
        .alias("status"),
        pl.when(oid % 20 < 12).then(pl.lit("app")).when(oid % 20 < 17).then(pl.lit("pc"))
        .otherwise(pl.lit("wechat")).alias("source"),
        pl.when(oid % 10 < 3).then(pl.lit(600, pl.Int64)).otherwise(pl.lit(0, pl.Int64))
        .alias("freight_cents"),
        pl.when((oid % 33 == 0) & (oid % 50 != 0)).then(pl.lit(0, pl.Int8))
        .otherwise(pl.lit(1, pl.Int8)).alias("paid"),
        # the same rule as products' status above
        pl.when(pl.col("product_id") % 10 == 0).then(pl.lit(0, pl.Int8))
        .otherwise(pl.lit(1, pl.Int8)).alias("on_sale"),
    ).with_columns(
        # paid ten minutes after placing (UTC text, as the export writes times); no COD
        pl.when(pl.col("paid") == 1)
        .then(pl.col("placed_date").cast(pl.String) + " 02:10:00")
        .otherwise(pl.lit(None, pl.String)).alias("paid_at"),
        pl.lit(None, pl.String).alias("cancelled_at"), pl.lit(0, pl.Int8).alias("cod"),
    ).sort("placed_date", "order_id")

    snap = DATA / "warehouse" / "store_1" / "snap-1-bench"
    snap.mkdir(parents=True, exist_ok=True)
    from storeops.metrics.export import local_columns
    from storeops.metrics.warehouse import TABLES

    def save(name: str, frame: pl.DataFrame) -> int:
        schema = TABLES[name][1]
        frame = frame.select([  # a column the generator does not know stays empty
            pl.col(c).cast(t) if c in frame.columns else pl.lit(None, t).alias(c)
            for c, t in schema.items()
        ])
        frame = local_columns(frame, "Asia/Shanghai")  # deal_date, as the export writes it
        frame.write_parquet(snap / f"{name}.parquet", row_group_size=100_000)
        return frame.height

    rows = {"lines": save("lines", lines_df)}
    orders = lines_df.group_by("order_id").agg(
        pl.col("platform_order_id", "placed_date", "status", "customer_id", "source",
               "freight_cents", "paid", "paid_at", "cancelled_at", "cod").first()
    ).sort("placed_date", "order_id")
    rows["orders"] = save("orders", orders)
    del orders
    first_day = lines_df["placed_date"].min()
    ref = pl.concat([
        refunds.select(
            (pl.col("day") - pl.duration(days=k * SHIFT_DAYS)).alias("refund_date"),
            "amount_cents", pl.col("product_id").cast(pl.Int64),
            pl.lit(None, pl.Int64).alias("order_id"), pl.lit("app").alias("source"),
        ) for k in range(copies)
    ]).filter(pl.col("refund_date") >= first_day).sort("refund_date").with_row_index(
        "refund_id", offset=1)
    rows["refunds"] = save("refunds", ref)
    # Traffic: every (day, SKU) with a sale, split over JD's typical source mix.
    sold = lines_df.group_by("placed_date", "product_id").agg(
        pl.len().alias("n"), pl.col("quantity").sum().alias("units")
    )
    del lines_df
    gc.collect()
    traffic = pl.concat([
        sold.select(
            pl.col("placed_date").alias("day"), "product_id", pl.lit(src).alias("source"),
            (pl.col("n") * 40 * share // 100 + 1).alias("uv"),
        ) for src, share in SOURCES
    ]).with_columns(
        (pl.col("uv") * 3).alias("pv"), (pl.col("uv") * 14).alias("exposure"),
        pl.col("uv").alias("clicks"), (pl.col("uv") // 5).alias("cart_users"),
        (pl.col("uv") * 35 // 100).alias("bounce_visits"),
    ).sort("day")
    rows["traffic"] = save("traffic", traffic)
    days = sold.select(pl.col("placed_date").unique().sort()).to_series()
    ads = pl.DataFrame({"day": days}).join(
        pl.DataFrame({"campaign": ["快车-搜索", "海投", "触点"]}), how="cross"
    ).with_columns(
        pl.lit(30_000, pl.Int64).alias("spend_cents"),
        pl.lit(95_000, pl.Int64).alias("attributed_gmv_cents"),
    )
    rows["ads"] = save("ads", ads)
    rows["products"] = save("products", products)

    # The busiest 30 days: the window the cockpit is timed on.
    per_day = pl.read_parquet(snap / "lines.parquet", columns=["placed_date"]).group_by(
        "placed_date").len().sort("placed_date")
    full = pl.DataFrame({"placed_date": pl.date_range(
        per_day["placed_date"].min(), per_day["placed_date"].max(), eager=True)})
    per_day = full.join(per_day, on="placed_date", how="left").fill_null(0).with_columns(
        pl.col("len").rolling_sum(30).alias("w"))
    best = per_day.sort("w", descending=True, nulls_last=True).row(0, named=True)
    meta = {"lines": rows["lines"], "window_last": best["placed_date"].isoformat(),
            "window_lines": int(best["w"]), "rows": rows}

    db = DATA / "bench.db"
    db.unlink(missing_ok=True)
    url = f"sqlite:///{db}"
    from storeops.catalog.models import Store
    from storeops.db.engine import unit_of_work
    from storeops.db.migrate import upgrade

    upgrade(url)
    with unit_of_work(url) as s:
        s.add(Store(id=1, name="bench", timezone="Asia/Shanghai", currency="CNY",
                    data_version=1))
    meta["schema_version"] = _publish(snap, rows)
    (DATA / "meta.json").write_text(json.dumps(meta, indent=1))
    return meta


def _publish(snap: Path, rows: dict) -> int:
    """Name the generated snapshot as the store's current one; returns its schema version."""
    from storeops.metrics.snapshots import LAYOUT, write_manifest
    from storeops.metrics.warehouse import SCHEMA_VERSION

    write_manifest(snap.parent, {
        "store_id": 1, "data_version": 1, "schema_version": SCHEMA_VERSION, "layout": LAYOUT,
        "snapshot": snap.name, "base_version": 1, "delta": None, "built_at": "bench",
        "rows": rows, "base_rows": rows, "delta_rows": {},
    })
    return SCHEMA_VERSION


def _timed(fn, runs: int) -> tuple[float, object]:  # noqa: ANN001
    times, result = [], None
    for _ in range(runs):
        t0 = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times), result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--lines", type=int, default=10_000_000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--regenerate", action="store_true")
    args = parser.parse_args()
    os.environ["STOREOPS_WAREHOUSE_DIR"] = str(DATA / "warehouse")
    meta_path = DATA / "meta.json"
    meta = json.loads(meta_path.read_text()) if meta_path.exists() else None
    from storeops.metrics.warehouse import SCHEMA_VERSION

    if (args.regenerate or meta is None or meta["lines"] != args.lines
            or meta.get("schema_version") != SCHEMA_VERSION):
        t0 = time.perf_counter()
        meta = generate(args.lines)
        print(f"generated in {time.perf_counter() - t0:.1f} s: {meta['rows']}")
    else:  # the manifest in this checkout's layout (the Parquet files do not change)
        _publish(DATA / "warehouse" / "store_1" / "snap-1-bench", meta["rows"])

    from storeops.db.engine import unit_of_work
    from storeops.metrics import service
    from storeops.metrics.targets import set_target, target_progress

    url = f"sqlite:///{DATA / 'bench.db'}"
    last = date.fromisoformat(meta["window_last"])
    first = last - timedelta(days=29)
    month = f"{last.year:04d}-{last.month:02d}"
    with unit_of_work(url) as s:
        set_target(s, 1, month, "gmv", Decimal("5000000"))
        set_target(s, 1, month, "uv", Decimal("2000000"))
    print(f"rows: {meta['rows']}")
    print(f"30-day window {first} .. {last}: {meta['window_lines']:,} order lines")

    cockpit = {
        "compare (summary + previous period)": lambda: service.compare(url, 1, first, last),
        "series by day": lambda: service.kpi_series(url, 1, first, last, by="day"),
        "traffic by source": lambda: service.traffic_by_source(url, 1, first, last),
        "funnel": lambda: service.funnel(url, 1, first, last),
        "top 10 SKUs": lambda: service.kpi_by(url, 1, first, last, dimension="sku", limit=10),
        "targets progress": lambda: target_progress(url, 1, month, last),
    }
    service.kpi_summary(url, 1, first, last)  # warm-up: opens the views once per process
    card, summary = _timed(lambda: service.kpi_summary(url, 1, first, last), args.runs)
    print(f"\nsingle KPI card (kpi_summary, 30 days): median {card * 1000:.1f} ms "
          f"over {args.runs} runs; gmv {summary['gmv']}, orders {summary['orders']:,}")
    medians = {}
    for name, fn in cockpit.items():
        medians[name], _ = _timed(fn, args.runs)
        print(f"  {name:<40} median {medians[name] * 1000:8.1f} ms")
    total, _ = _timed(lambda: [fn() for fn in cockpit.values()], args.runs)
    print(f"  {'whole cockpit (all of the above)':<40} median {total * 1000:8.1f} ms")
    ok = total < 2.0 and card < 0.2
    print("PASS" if ok else "FAIL", "(limits: cockpit < 2000 ms, card < 200 ms)")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT.parent))
    sys.exit(main())
