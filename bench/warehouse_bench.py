"""Warehouse benchmark: full rebuild and incremental refresh of a store with 5 M order lines.

The store is the real Online Retail data (541,909 lines) scaled up as in
``bench/cockpit_bench.py`` (sale lines replicated with dates shifted back 35 days per copy, ids
made unique per copy, cancellation invoices as refunds), written into a real storeops SQLite
database (migrated schema, every fact table) with traffic per (day, SKU, source) and ads per day.
Generated once under ``bench/.data/warehouse/`` and reused.

Timed, medians of ``--runs``:

* **full rebuild**: ``refresh(force=True)``, the whole store exported from SQLite as Arrow
  (ADBC, two child processes; the lines' own columns joined to their orders and SKUs in
  Polars) into a new Parquet base, with the children's peak memory;
* **first KPI query after a day of orders**: one more day of orders (a copy of a busy day,
  stamped with the new ``data_version`` as importers do) is written, then the 30-day
  ``kpi_summary`` that must notice it, refresh incrementally and answer;
* **baseline**: the export before this change (Polars ``read_database`` over the DBAPI
  connection, Python row tuples), every table, in the same go.

Run::

    .venv/bin/python bench/warehouse_bench.py [--lines 5000000] [--runs 3] [--regenerate]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import sqlite3
import statistics
import sys
import time
from collections.abc import Callable
from datetime import date, timedelta
from pathlib import Path

import polars as pl

ROOT = Path(__file__).resolve().parent
DATA = ROOT / ".data" / "warehouse_bench"
DB = DATA / "store.db"
URL = f"sqlite:///{DB}"
SOURCES = (("search", 53), ("campaign", 22), ("recommend", 15), ("category", 10))
GENERATOR_VERSION = 1


def _ingest(conn, table: str, frame: pl.DataFrame) -> None:  # noqa: ANN001
    with conn.cursor() as cur:
        cur.adbc_ingest(table, frame.to_arrow(), mode="append")


def generate(lines: int) -> dict:
    import adbc_driver_sqlite.dbapi as adbc_sqlite
    from cockpit_bench import CSV, SHIFT_DAYS, _base, scaled_lines

    from storeops.db.engine import get_engine
    from storeops.db.migrate import upgrade

    DATA.mkdir(parents=True, exist_ok=True)
    DB.unlink(missing_ok=True)
    for extra in ("-wal", "-shm"):
        Path(str(DB) + extra).unlink(missing_ok=True)
    upgrade(URL)
    # One copy of SQLite per process at a time: close the app's connections before ADBC's.
    get_engine(URL).dispose()
    products, sales, refunds = _base(CSV)
    copies = -(-lines // sales.height)  # of the file, for the refunds below
    ls = scaled_lines(sales, lines)
    ls = ls.with_columns(pl.int_range(1, pl.len() + 1).over("order_id").alias("line_no"))
    oid = pl.col("order_id")
    orders = ls.group_by("order_id").agg(
        pl.col("platform_order_id", "placed_date", "customer").first(),
        pl.col("amount_cents").sum().alias("goods_cents"),
    ).sort("order_id")
    customers = (orders.select(pl.col("customer").drop_nulls().unique().sort())
                 .with_row_index("customer_id", offset=1))
    orders = orders.join(customers, on="customer", how="left").with_columns(
        pl.lit(1, pl.Int64).alias("store_id"),
        pl.when(oid % 50 == 0).then(pl.lit("cancelled"))
        .when(oid % 33 == 0).then(pl.lit("wait_pay")).otherwise(pl.lit("finished"))
        .alias("status"),
        pl.lit(0).alias("deleted"),
        (pl.col("placed_date").cast(pl.String) + " 02:00:00.000000").alias("placed_at"),
        pl.col("placed_date").cast(pl.String),
        pl.when((oid % 33 == 0) & (oid % 50 != 0)).then(pl.lit(None, pl.String))
        .otherwise(pl.col("placed_date").cast(pl.String) + " 02:05:00.000000").alias("paid_at"),
        pl.lit(0, pl.Int64).alias("seller_discount_cents"),
        pl.when(oid % 10 < 3).then(pl.lit(600, pl.Int64)).otherwise(pl.lit(0, pl.Int64))
        .alias("freight_cents"),
        pl.when(oid % 20 < 12).then(pl.lit("app")).when(oid % 20 < 17).then(pl.lit("pc"))
        .otherwise(pl.lit("wechat")).alias("source"),
        pl.lit(0).alias("cod"),
        pl.lit("bench").alias("content_hash"),
        pl.lit(1).alias("row_version"),
        pl.lit("2026-01-01 00:00:00.000000").alias("updated_at"),
    )
    with adbc_sqlite.connect(str(DB)) as conn:
        _ingest(conn, "stores", pl.DataFrame({
            "id": [1], "name": ["bench"], "platform": ["jd"], "timezone": ["Asia/Shanghai"],
            "currency": ["CNY"], "data_version": [1],
            "created_at": ["2026-01-01 00:00:00.000000"],
        }))
        _ingest(conn, "products", products.select(
            pl.col("product_id").cast(pl.Int64).alias("id"), pl.lit(1).alias("store_id"),
            "platform_sku_id", "title", "category", "status", pl.lit(1).alias("row_version"),
            pl.lit("2026-01-01 00:00:00.000000").alias("created_at"),
            pl.lit("2026-01-01 00:00:00.000000").alias("updated_at"),
        ))
        _ingest(conn, "customers", customers.select(
            pl.col("customer_id").cast(pl.Int64).alias("id"), pl.lit(1).alias("store_id"),
            pl.col("customer").cast(pl.String).alias("platform_account"),
            pl.lit("2026-01-01 00:00:00.000000").alias("created_at"),
        ))
        _ingest(conn, "orders", orders.select(
            pl.col("order_id").alias("id"), "store_id", "platform_order_id", "status",
            "deleted", pl.col("customer_id").cast(pl.Int64), "placed_at", "placed_date",
            "paid_at", "goods_cents", "seller_discount_cents", "freight_cents", "source", "cod",
            "content_hash", "row_version", "updated_at",
        ))
        _ingest(conn, "order_lines", ls.select(
            "order_id", pl.lit(1).alias("store_id"), "line_no", "product_id", "quantity",
            "unit_price_e4", "amount_cents",
        ))
        first_day = orders["placed_date"].min()
        ref = pl.concat([
            refunds.select(
                (pl.col("day") - pl.duration(days=k * SHIFT_DAYS)).cast(pl.String)
                .alias("refund_date"), "amount_cents", pl.col("product_id").cast(pl.Int64),
                (pl.col("InvoiceNo") + f"-{k}").alias("platform_refund_id"),
            ) for k in range(copies)
        ]).filter(pl.col("refund_date") >= first_day)
        ref = ref.with_columns(pl.int_range(1, pl.len() + 1).over("platform_refund_id")
                               .alias("line_no"))
        _ingest(conn, "refunds", ref.select(
            pl.lit(1).alias("store_id"), "platform_refund_id", "line_no", "product_id",
            "amount_cents", (pl.col("refund_date") + " 03:00:00.000000").alias("refunded_at"),
            "refund_date", pl.lit(1).alias("row_version"),
        ))
        sold = ls.group_by("placed_date", "product_id").agg(pl.len().alias("n"))
        traffic = pl.concat([
            sold.select(
                pl.col("placed_date").cast(pl.String).alias("day"), "product_id",
                pl.lit(src).alias("source"), (pl.col("n") * 40 * share // 100 + 1).alias("uv"),
            ) for src, share in SOURCES
        ]).with_columns(
            (pl.col("uv") * 3).alias("pv"), (pl.col("uv") * 14).alias("exposure"),
            pl.col("uv").alias("clicks"), (pl.col("uv") // 5).alias("cart_users"),
            (pl.col("uv") * 35 // 100).alias("bounce_visits"),
        )
        _ingest(conn, "traffic_daily", traffic.select(
            pl.lit(1).alias("store_id"), "day", "product_id", "source", "uv", "pv", "exposure",
            "clicks", "cart_users", "bounce_visits", pl.lit(1).alias("row_version"),
        ))
        days = sold.select(pl.col("placed_date").unique().sort().cast(pl.String)).to_series()
        _ingest(conn, "ad_spend_daily", pl.DataFrame({"day": days}).join(
            pl.DataFrame({"campaign": ["快车-搜索", "海投", "触点"]}), how="cross",
        ).select(
            pl.lit(1).alias("store_id"), "day", "campaign",
            pl.lit(30_000, pl.Int64).alias("spend_cents"),
            pl.lit(95_000, pl.Int64).alias("attributed_gmv_cents"),
            pl.lit(0).alias("impressions"), pl.lit(0).alias("clicks"),
            pl.lit(0).alias("attributed_orders"), pl.lit(1).alias("row_version"),
        ))
        conn.commit()
    per_day = ls.group_by("placed_date").len()
    busy = per_day.sort("len", descending=True).row(0, named=True)
    meta = {
        "generator": GENERATOR_VERSION, "lines": ls.height, "orders": orders.height,
        "refunds": ref.height, "traffic": traffic.height,
        "last_day": orders["placed_date"].max(), "busy_day": busy["placed_date"].isoformat(),
        "busy_day_lines": busy["len"],
    }
    (DATA / "meta.json").write_text(json.dumps(meta, indent=1))
    return meta


def add_day(day: date, template: date) -> int:
    """One more day of orders: the template day's orders again, stamped as an import would.

    Returns the order lines written. Straight SQL in one transaction, as a writer does:
    bump the store's data_version, stamp the new rows with it.
    """
    with sqlite3.connect(DB) as conn:
        conn.execute("UPDATE stores SET data_version = data_version + 1 WHERE id = 1")
        version = conn.execute("SELECT data_version FROM stores WHERE id = 1").fetchone()[0]
        top = conn.execute("SELECT MAX(id) FROM orders").fetchone()[0]
        tag = day.isoformat()
        conn.execute(
            "INSERT INTO orders (id, store_id, platform_order_id, status, deleted, customer_id,"
            " placed_at, placed_date, paid_at, goods_cents, seller_discount_cents,"
            " freight_cents, source, cod, content_hash, row_version, updated_at)"
            " SELECT id - (SELECT MIN(id) FROM orders WHERE placed_date = :t) + :top + 1,"
            " store_id, platform_order_id || '@' || :d, status, deleted, customer_id,"
            " :d || substr(placed_at, 11), :d, CASE WHEN paid_at IS NULL THEN NULL"
            " ELSE :d || substr(paid_at, 11) END, goods_cents, seller_discount_cents,"
            " freight_cents, source, cod, content_hash, :v, updated_at"
            " FROM orders WHERE placed_date = :t",
            {"t": template.isoformat(), "d": tag, "top": top, "v": version},
        )
        cur = conn.execute(
            "INSERT INTO order_lines (order_id, store_id, line_no, product_id, quantity,"
            " unit_price_e4, amount_cents)"
            " SELECT n.id, l.store_id, l.line_no, l.product_id, l.quantity, l.unit_price_e4,"
            " l.amount_cents FROM order_lines l JOIN orders o ON o.id = l.order_id"
            " JOIN orders n ON n.platform_order_id = o.platform_order_id || '@' || :d"
            "  AND n.store_id = 1"
            " WHERE o.placed_date = :t",
            {"t": template.isoformat(), "d": tag},
        )
        return cur.rowcount


def old_export() -> int:
    """The export before ADBC: Polars over the DBAPI connection (row tuples), every table."""
    from storeops.db.engine import get_engine
    from storeops.metrics.export import conform
    from storeops.metrics.warehouse import TABLES

    rows = 0
    for sql, schema in TABLES.values():
        with get_engine(URL).connect() as conn:
            raw = conn.connection.dbapi_connection
            batches = [conform(b, schema) for b in pl.read_database(
                sql.format(sid=1), raw, iter_batches=True, batch_size=200_000,
                infer_schema_length=None)]
        rows += sum(b.height for b in batches)
    return rows


def _cpu() -> float:
    """CPU seconds of this process and its finished children (the SQLite export workers)."""
    me, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(
        resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime


def _median(fn: Callable[[], object], runs: int) -> tuple[float, object, float]:
    """Median wall time, the last result, median CPU time (a busy machine inflates wall)."""
    times, cpus, result = [], [], None
    for _ in range(runs):
        c0, t0 = _cpu(), time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - t0)
        cpus.append(_cpu() - c0)
    return statistics.median(times), result, statistics.median(cpus)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--lines", type=int, default=5_000_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--regenerate", action="store_true")
    parser.add_argument("--no-baseline", action="store_true",
                        help="skip the old DBAPI export (about 15 s a run)")
    args = parser.parse_args()
    os.environ["STOREOPS_WAREHOUSE_DIR"] = str(DATA / "wh")
    meta_path = DATA / "meta.json"
    meta = json.loads(meta_path.read_text()) if meta_path.exists() else None
    if (args.regenerate or meta is None or meta.get("lines") != args.lines
            or meta.get("generator") != GENERATOR_VERSION):
        t0 = time.perf_counter()
        meta = generate(args.lines)
        print(f"generated in {time.perf_counter() - t0:.1f} s: {meta}")

    from storeops.metrics import service
    from storeops.metrics.warehouse import refresh

    with sqlite3.connect(DB) as conn:
        last = date.fromisoformat(conn.execute(
            "SELECT MAX(placed_date) FROM orders WHERE store_id = 1").fetchone()[0])
        lines = conn.execute("SELECT COUNT(*) FROM order_lines").fetchone()[0]
    print(f"store: {lines:,} order lines, last day {last}")

    print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    full, snap, full_cpu = _median(lambda: refresh(URL, 1, force=True), args.runs)
    from storeops.metrics import export

    print(f"full rebuild (ADBC → Arrow → Parquet):       median {full:6.2f} s"
          f" (CPU {full_cpu:.1f} s)  {snap.rows}")
    print(f"  export children's peak RSS (last run): {export.last_child_peaks} MB;"
          f" load average now {os.getloadavg()[0]:.1f}")
    print("  export children (last run): " + "; ".join(
        f"{began:.2f}–{done:.2f} s (CPU {cpu:.2f} s)" for began, done, cpu in
        export.last_child_times))

    template = date.fromisoformat(meta["busy_day"])
    service.kpi_summary(URL, 1, last - timedelta(days=29), last)  # views open, process warm
    times = []
    for _ in range(args.runs):
        last += timedelta(days=1)
        added = add_day(last, template)
        t0 = time.perf_counter()
        summary = service.kpi_summary(URL, 1, last - timedelta(days=29), last)
        times.append(time.perf_counter() - t0)
        print(f"  +{added:,} lines on {last}: first query {times[-1] * 1000:.0f} ms,"
              f" orders {summary['orders']:,}")
    inc = statistics.median(times)
    print(f"first KPI query after a day of orders:       median {inc * 1000:6.0f} ms")

    ok = full < 5.0 and inc < 1.0
    if not args.no_baseline:
        base, rows, base_cpu = _median(old_export, args.runs)
        print(f"baseline: old DBAPI export, every table:     median {base:6.2f} s"
              f" (CPU {base_cpu:.1f} s)  ({rows:,} rows, before writing Parquet)")
        print(f"full rebuild vs baseline: {full / base:.2f}× (CPU {full_cpu / base_cpu:.2f}×);"
              f" incremental first query vs baseline: {inc / base:.3f}×")
    print("PASS" if ok else "FAIL", "(limits: full rebuild < 5 s, first query < 1 s)")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    sys.path.insert(0, str(ROOT.parent))
    sys.exit(main())
