"""``storeops kpi`` and ``storeops target``: the store's numbers in a terminal."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Annotated, Any

import typer

from storeops.common.cli_options import DbOption, JsonOption, StoreOption, cli_lang
from storeops.metrics.definitions import DIMENSIONS, METRIC_KEYS, METRICS, label
from storeops.metrics.periods import BY_CHOICES, PeriodError, check_range, parse_day
from storeops.metrics.render import jsonable

if TYPE_CHECKING:
    from storeops.catalog.stores import StoreInfo


def _lang() -> str:
    return "en" if cli_lang() == "en" else "zh"  # the metric catalog's language codes


def _open_store(db: str | None, store: str | None, *, read_only: bool = False
                ) -> tuple[str, StoreInfo]:
    """(URL, store). ``read_only``: a command that only reads never creates a database (a
    missing SQLite file, or one without storeops' tables, is an error)."""
    from storeops.catalog.stores import find_store
    from storeops.config import resolve_db_url, sqlite_path
    from storeops.db.engine import get_engine
    from storeops.db.migrate import current_revision, ensure_schema

    url = resolve_db_url(db)
    if read_only:
        from sqlalchemy.engine import make_url

        from storeops.common.errors import StoreopsError

        path = sqlite_path(url)
        if (path is not None and not path.is_file()) or current_revision(url) is None:
            where = path or make_url(url).render_as_string(hide_password=True)
            raise StoreopsError(f"no storeops database at {where}: import data first"
                                " (storeops import …) or run `storeops init`",
                                key="db.missing", where=where)
    ensure_schema(url)
    with get_engine(url).connect() as conn:  # Core: the ORM would add ~80 ms to start-up
        found = find_store(conn, store)
    return url, found


def _show(value: Any, key: str) -> str:
    if value is None:
        return "—"
    if METRICS[key].unit == "rate":
        return f"{value:.2%}" if key != "roas" else f"{value:.2f}"
    if METRICS[key].unit == "money":
        return f"{value:,.2f}"
    return f"{value:,}"


def _header(key: str) -> str:
    return f"{label(key, _lang())} ({key})" if _lang() == "zh" else label(key, "en")


def kpi(
    first: Annotated[str, typer.Option("--from", help="First day, YYYY-MM-DD.")],
    last: Annotated[str, typer.Option("--to", help="Last day (inclusive), YYYY-MM-DD.")],
    store: StoreOption = None,
    by: Annotated[str | None, typer.Option(
        "--by", help="Cut into day, week or month, or by sku, category or source.",
    )] = None,
    top: Annotated[int | None, typer.Option(
        "--top", min=1, help="With --by sku|category|source: only the first N rows.",
    )] = None,
    sort: Annotated[str, typer.Option(
        "--sort", help="With --by sku|category|source: the metric to rank by (descending).",
    )] = "gmv",
    metrics: Annotated[str | None, typer.Option(
        "--metrics", help="Columns of a table cut by --by: metric keys separated by commas, or "
        "'all' (default: a core set that fits a terminal). JSON always has every metric.",
    )] = None,
    as_json: JsonOption = False,
    db: DbOption = None,
) -> None:
    """The store's KPIs for a period (store-local days, both ends included), as 京东商智
    counts them: 成交 figures on the day of payment with freight, 下单 on the day of the order."""
    from storeops.metrics.service import kpi_by, kpi_series, kpi_summary

    day_first, day_last = parse_day(first, "--from date"), parse_day(last, "--to date")
    check_range(day_first, day_last)
    _check_cut(by, top, sort)
    columns = _columns(metrics)
    url, st = _open_store(db, store, read_only=True)
    total = kpi_summary(url, st.id, day_first, day_last)
    head = {"store": st.name, "from": day_first, "to": day_last, "currency": st.currency}
    rows: list[dict[str, Any]] | None = None
    if by in BY_CHOICES:
        rows = kpi_series(url, st.id, day_first, day_last, by=by)
    elif by is not None:
        rows = [
            _keyed(row, by) for row in kpi_by(url, st.id, day_first, day_last, dimension=by,
                                              limit=top, order_by=sort)
        ]
    if as_json:
        if rows is None:
            payload: dict[str, Any] = {**head, **total}
        else:
            payload = {**head, "by": by, "rows": rows, "total": {**head, **total}}
        typer.echo(json.dumps(jsonable(payload), ensure_ascii=False))
        return
    # Rich is imported for a table only: --json prints sooner without it.
    from rich import box
    from rich.console import Console
    from rich.measure import Measurement
    from rich.table import Table

    out = Console()
    title = f"{st.name} · {day_first} – {day_last} · {st.currency}"
    if rows is None:
        table = Table(title=title)
        table.add_column("指标" if _lang() == "zh" else "Metric")
        table.add_column("值" if _lang() == "zh" else "Value", justify="right")
        for key in METRIC_KEYS:
            table.add_row(_header(key), _show(total[key], key))
    else:
        column = "period" if by in BY_CHOICES else by
        cells = []
        for row in [*rows, {**total, column: "合计" if _lang() == "zh" else "Total"}]:
            name = row[column] if row[column] is not None else "—"
            if column == "sku" and row.get("title"):
                name = f"{name} {row['title']}"
            cells.append([str(name), *(_show(row[k], k) for k in columns)])
        table = Table(title=title, box=box.SIMPLE_HEAD, show_edge=False)
        table.add_column(column, max_width=40)
        for key in columns:
            table.add_column(label(key, _lang()), justify="right", no_wrap=True)
        for line in cells:
            table.add_row(*line)
        # Wider than the terminal: print it whole (the terminal wraps lines) rather than let
        # Rich squeeze columns until digits hide behind "…".
        wide = Measurement.get(out, out.options.update_width(10_000), table).maximum
        Console(width=max(out.width, wide)).print(table)
        return
    out.print(table)


# A cut table with every metric is ~20 columns: unreadable in a terminal.
TABLE_METRICS = ("gmv", "orders", "buyers", "aov", "uv", "conversion_rate", "refund_amount")


def _columns(text: str | None) -> tuple[str, ...]:
    if text is None:
        return TABLE_METRICS
    if text.strip() == "all":
        return METRIC_KEYS
    keys = tuple(k.strip() for k in text.split(",") if k.strip())
    unknown = [k for k in keys if k not in METRIC_KEYS]
    if unknown or not keys:
        raise PeriodError(f"--metrics: unknown metric(s) {', '.join(unknown) or '(none)'}; "
                          f"choose from {', '.join(METRIC_KEYS)} or 'all'",
                          key="cli.unknown_metrics", unknown=", ".join(unknown) or "—",
                          choices=", ".join(METRIC_KEYS))
    return keys


def _check_cut(by: str | None, top: int | None, sort: str) -> None:
    """Refuse option mixes that would be silently ignored."""
    if by is not None and by not in (*BY_CHOICES, *DIMENSIONS):
        choices = ", ".join((*BY_CHOICES, *DIMENSIONS))
        raise PeriodError(f"--by must be one of {choices}, not {by!r}", key="cli.bad_by",
                          by=by, choices=choices)
    if by not in DIMENSIONS:
        if top is not None or sort != "gmv":
            raise PeriodError("--top and --sort go with --by sku, category or source",
                              key="cli.top_sort_need_dimension")
        return
    if sort not in METRIC_KEYS:
        raise PeriodError(f"--sort must be a metric ({', '.join(METRIC_KEYS)}), not {sort!r}",
                          key="cli.bad_sort", sort=sort, choices=", ".join(METRIC_KEYS))


def _keyed(row: dict[str, Any], by: str) -> dict[str, Any]:
    """A dimension row whose key is under the name of the cut (``sku``: the platform SKU id)."""
    if by == "sku":
        return {"sku": row.get("platform_sku_id"), **row}
    return row


target_app = typer.Typer(help="Monthly targets: set them and see progress.", no_args_is_help=True)


@target_app.command("set")
def target_set(
    month: Annotated[str, typer.Option("--month", help="YYYY-MM")],
    metric: Annotated[str, typer.Option("--metric", help="gmv, uv, conversion_rate or aov")],
    value: Annotated[str, typer.Option("--value", help="Money in currency units; rates 0..1.")],
    store: StoreOption = None,
    db: DbOption = None,
) -> None:
    """Set (or replace) one metric's target for a month."""
    from storeops.db.engine import unit_of_work
    from storeops.metrics.targets import check_value, set_target

    number = check_value(metric, value)
    url, st = _open_store(db, store)
    with unit_of_work(url) as session:
        set_target(session, st.id, month, metric, number)
    typer.echo(f"{st.name} {month} {metric} = {number}")


@target_app.command("show")
def target_show(
    month: Annotated[
        str | None, typer.Option("--month", help="YYYY-MM (default: this month)")
    ] = None,
    as_of: Annotated[
        str | None, typer.Option("--as-of", help="YYYY-MM-DD (default: today)")
    ] = None,
    store: StoreOption = None,
    as_json: JsonOption = False,
    db: DbOption = None,
) -> None:
    """The month's targets and progress to date."""
    from storeops.common.timeutil import local_date, utcnow
    from storeops.metrics.targets import target_progress

    url, st = _open_store(db, store, read_only=True)
    today = local_date(utcnow(), st.timezone)
    day = parse_day(as_of, "--as-of date") if as_of else today
    month = month or f"{day.year:04d}-{day.month:02d}"
    result = target_progress(url, st.id, month, day)
    if as_json:
        typer.echo(json.dumps(jsonable({"store": st.name, **result}), ensure_ascii=False))
        return
    from rich.console import Console
    from rich.table import Table

    table = Table(title=f"{st.name} · {month} · as of {day}")
    for col in ("metric", "target", "actual", "achievement", "expected_to_date", "pace"):
        table.add_column(col, justify="left" if col == "metric" else "right")
    for key, entry in result["metrics"].items():
        table.add_row(
            _header(key), _cell(entry["target"]), _cell(entry["actual"]),
            _pct(entry["achievement"]), _cell(entry.get("expected_to_date")),
            _pct(entry.get("pace")),
        )
    Console().print(table)


@target_app.command("plan")
def target_plan(
    year: Annotated[int, typer.Option("--year", help="The year to plan, YYYY.")],
    gmv: Annotated[str, typer.Option("--gmv", help="The year's GMV target (currency units).")],
    by_category: Annotated[bool, typer.Option(
        "--by-category", help="Also split by category (last year's category shares).")] = False,
    dry_run: Annotated[bool, typer.Option(
        "--dry-run", help="Print the plan only: save nothing, set no monthly target.")] = False,
    store: StoreOption = None,
    as_json: JsonOption = False,
    db: DbOption = None,
) -> None:
    """Split a year's GMV target into quarters and months by last year's shares (evenly
    without history), each month into UV × conversion × AOV; save it and set each month's
    targets (re-planning keeps the cells set by hand with `target edit`)."""
    from storeops.common.cli_options import cli_actor
    from storeops.common.timeutil import local_date, utcnow
    from storeops.metrics.target_plan import money
    from storeops.metrics.target_plan_store import make_plan

    total = money(gmv, "--gmv")
    url, st = _open_store(db, store)
    plan = make_plan(url, st.id, year, total, today=local_date(utcnow(), st.timezone),
                     by_category=by_category, actor=cli_actor(), save=not dry_run)
    _print_plan(st.name, plan, as_json, saved=not dry_run)


@target_app.command("edit")
def target_edit(
    year: Annotated[int, typer.Option("--year", help="The plan's year, YYYY.")],
    cell: Annotated[str, typer.Option(
        "--cell", help="YYYY (the year), YYYY-Qn or YYYY-MM; with --category: that category "
        "of the year or of the month.")],
    gmv: Annotated[str | None, typer.Option("--gmv", help="The cell's GMV (pins it).")] = None,
    category: Annotated[str | None, typer.Option("--category")] = None,
    conversion_rate: Annotated[str | None, typer.Option(
        "--conversion-rate", help="A month's conversion rate, 0..1 (its UV follows).")] = None,
    aov: Annotated[str | None, typer.Option("--aov", help="A month's AOV (its UV follows).")
                   ] = None,
    uv: Annotated[str | None, typer.Option(
        "--uv", help="A month's UV (its conversion rate follows, the AOV kept).")] = None,
    unpin: Annotated[bool, typer.Option(
        "--unpin", help="Let a cell set by hand follow its siblings again.")] = False,
    store: StoreOption = None,
    as_json: JsonOption = False,
    db: DbOption = None,
) -> None:
    """Change one cell of a saved plan: its GMV (pinned; the unpinned cells beside it
    rebalance so that its parent's total holds), a month's conversion rate, AOV or UV, or
    unpin it."""
    from storeops.common.cli_options import cli_actor
    from storeops.metrics import target_plan as tp
    from storeops.metrics.target_plan_store import edit_cell, edit_month_rates, unpin_cell

    key = tp.parse_cell(year, cell, category)
    rates = conversion_rate is not None or aov is not None or uv is not None
    if gmv is None and not rates and not unpin:
        raise tp.TargetPlanError("give --gmv, --conversion-rate, --aov, --uv or --unpin",
                                 key="target_plan.nothing_to_edit")
    if rates and key[0] != tp.MONTH:
        raise tp.TargetPlanError("--conversion-rate, --aov and --uv go with a month (--cell "
                                 f"{year}-03)", key="target_plan.rates_need_month")
    url, st = _open_store(db, store)
    plan = None
    if unpin:
        plan = unpin_cell(url, st.id, year, key, actor=cli_actor())
    if gmv is not None:
        plan = edit_cell(url, st.id, year, key, gmv, actor=cli_actor())
    if rates:
        plan = edit_month_rates(url, st.id, year, key[1], conversion_rate=conversion_rate,
                                aov=aov, uv=uv, actor=cli_actor())
    assert plan is not None
    _print_plan(st.name, plan, as_json, saved=True)


def _print_plan(store: str, plan: Any, as_json: bool, *, saved: bool) -> None:
    from storeops.metrics import target_plan as tp

    data = tp.to_dict(plan)
    if as_json:
        typer.echo(json.dumps({"store": store, **data, "saved": saved}, ensure_ascii=False))
        return
    from rich.console import Console
    from rich.table import Table

    zh = _lang() == "zh"
    out = Console()
    basis = {"last_year": ("按去年占比", "last year's shares"),
             "partial": ("按去年占比（部分月份补齐）", "last year's shares (months filled in)"),
             "even": ("无历史数据，平均分配", "no history: even shares")}[plan.basis]
    out.print(f"{store} · {plan.year} · GMV {plan.gmv:,.2f} · {basis[0 if zh else 1]}")
    for note in plan.notes:
        out.print(f"  {note}")
    pin = " *"

    def money_text(cell: Any) -> str:
        return f"{cell.gmv:,.2f}" + (pin if cell.pinned else "")

    def share_text(cell: Any) -> str:
        return "—" if cell.share is None else f"{cell.share:.2%}"

    quarters = Table(title="季度" if zh else "Quarters")
    for col in ("period", "gmv", "share"):
        quarters.add_column(col, justify="left" if col == "period" else "right")
    for c in plan.level(tp.QUARTER):
        quarters.add_row(c.period, money_text(c), share_text(c))
    out.print(quarters)
    months = Table(title="月度（访客数 × 转化率 × 客单价）" if zh
                   else "Months (UV × conversion × AOV)")
    for col in ("period", "gmv", "share", "uv", "conversion_rate", "aov"):
        months.add_column(col, justify="left" if col == "period" else "right")
    for c in plan.level(tp.MONTH):
        months.add_row(c.period, money_text(c), share_text(c),
                       "—" if c.uv is None else f"{c.uv:,}",
                       "—" if c.conversion_rate is None else f"{c.conversion_rate:.2%}",
                       "—" if c.aov is None else f"{c.aov:,.2f}")
    out.print(months)
    if plan.by_category:
        cats = Table(title="类目" if zh else "Categories")
        for col in ("category", "gmv", "share"):
            cats.add_column(col, justify="left" if col == "category" else "right")
        for c in plan.level(tp.CATEGORY):
            cats.add_row(c.category, money_text(c), share_text(c))
        out.print(cats)
    out.print(("* 手动设定（其余按比例调整）" if zh else "* set by hand (the rest rebalance)")
              + ("" if saved else (" · 未保存（--dry-run）" if zh else " · not saved (--dry-run)")))


def _cell(value: Any) -> str:
    return "—" if value is None else str(jsonable(value))


def _pct(value: float | None) -> str:
    return "—" if value is None else f"{value:.1%}"


def register(app: typer.Typer) -> None:
    """Add this area's commands to the main ``storeops`` app."""
    app.command("kpi")(kpi)
    app.add_typer(target_app, name="target")

