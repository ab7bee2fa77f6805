"""The weekly and monthly operations reports: their figures equal ``storeops kpi`` to the
cent, in both languages, as XLSX (formats, charts) and PDF (Chinese font embedded); the
command's errors; rebuilding replaces."""

from __future__ import annotations

import json
import re
import zlib
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from conftest import _migrated_sqlite
from web_seed import run_cli, seed_store

from storeops.db.engine import unit_of_work
from storeops.metrics.service import kpi_by, kpi_series, kpi_summary, traffic_by_source
from storeops.metrics.targets import set_target
from storeops.reports.data import ReportError, period_of, week_targets
from storeops.reports.service import build_report

WEEK, WEEK_FIRST, WEEK_LAST = "2026-W43", date(2026, 10, 19), date(2026, 10, 25)
MONTH, MONTH_FIRST, MONTH_LAST = "2026-10", date(2026, 10, 1), date(2026, 10, 31)


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """The web_seed store (60 days to 2026-10-31) with October targets, a weekly report in
    Chinese with its PDF and a monthly one in English, built once for the module."""
    mp = pytest.MonkeyPatch()
    tmp = tmp_path_factory.mktemp("reports")
    mp.setenv("STOREOPS_WAREHOUSE_DIR", str(tmp / "wh"))
    url = _migrated_sqlite(tmp_path_factory, tmp)
    store_id = seed_store(url, users=False)
    with unit_of_work(url) as s:
        set_target(s, store_id, "2026-10", "gmv", Decimal("31000"))
        set_target(s, store_id, "2026-10", "uv", Decimal("31000"))
        set_target(s, store_id, "2026-10", "conversion_rate", Decimal("0.004"))
    weekly = build_report(url, store_id, "weekly", WEEK, "zh-CN", tmp / "w.xlsx", tmp / "w.pdf")
    monthly = build_report(url, store_id, "monthly", MONTH, "en", tmp / "m.xlsx")
    # As stored now: a later test rebuilds the week without a PDF (tests of a module can run
    # out of order on two workers).
    stored_pdf = Path(weekly.pdf_path)
    stored = (stored_pdf.parent.name, stored_pdf.read_bytes())
    yield {"url": url, "id": store_id, "tmp": tmp, "weekly": weekly, "monthly": monthly,
           "stored_weekly_pdf": stored}
    mp.undo()


def kpi_sheet(path: Path) -> tuple[Any, dict[str, dict[str, Any]]]:
    """(workbook, {metric key: {header: cell}}) of the first sheet."""
    wb = openpyxl.load_workbook(path)
    ws = wb.worksheets[0]
    rows = list(ws.iter_rows(values_only=False))
    head_at = next(i for i, r in enumerate(rows) if r[0].value in ("指标", "Metric"))
    heads = [c.value for c in rows[head_at]]
    out = {}
    for r in rows[head_at + 1:]:
        if r[-1].value is None:
            break
        out[r[-1].value] = {h: c for h, c in zip(heads, r, strict=True)}
    return wb, out


def as_money(value: float) -> Decimal:
    return Decimal(str(round(value, 2))).quantize(Decimal("0.01"))


def same(kind: str, cell: Any, expected: Any) -> bool:
    if expected is None:
        return cell.value is None
    if kind == "money":
        return as_money(cell.value) == expected
    if kind == "rate":
        return round(cell.value, 6) == round(expected, 6)
    return cell.value == expected


def test_weekly_figures_equal_kpi_to_the_cent(store: dict[str, Any], monkeypatch, capsys
                                              ) -> None:
    from storeops.metrics.definitions import METRICS

    _, kpis = kpi_sheet(store["tmp"] / "w.xlsx")
    expected = kpi_summary(store["url"], store["id"], WEEK_FIRST, WEEK_LAST)
    previous = kpi_summary(store["url"], store["id"], date(2026, 10, 12), date(2026, 10, 18))
    code, out, err = run_cli(["kpi", "--db", store["url"], "--from", str(WEEK_FIRST),
                              "--to", str(WEEK_LAST), "--json"], monkeypatch, capsys)
    assert code == 0, err
    cli = json.loads(out)
    assert {"gmv", "orders", "aov", "uv", "conversion_rate", "refund_amount"} <= set(kpis)
    for key, cells in kpis.items():
        unit = METRICS[key].unit
        assert same(unit, cells["本期"], expected[key]), key
        assert same(unit, cells["上期"], previous[key]), key
        if unit == "money" and cli[key] is not None:  # the command's JSON: decimal strings
            assert as_money(cells["本期"].value) == Decimal(cli[key]), key
    gmv = kpis["gmv"]
    assert expected["gmv"] > 0
    assert gmv["本期"].number_format == '"¥"#,##0.00'
    assert kpis["orders"]["本期"].number_format == "#,##0"
    assert kpis["conversion_rate"]["本期"].number_format == "0.00%"
    assert "▲" in gmv["较上期"].number_format and "[Red]" in gmv["较上期"].number_format
    # The week's targets: 7 of October's 31 days.
    assert as_money(gmv["目标"].value) == Decimal("7000.00")
    assert kpis["uv"]["目标"].value == 7000
    assert round(gmv["目标完成率"].value, 6) == round(float(expected["gmv"] / 7000), 6)
    # The row keeps the same figures.
    figures = json.loads(store["weekly"].figures_json)
    assert Decimal(figures["kpis"]["gmv"]["value"]) == expected["gmv"]


def test_weekly_sections_agree_with_the_metrics(store: dict[str, Any]) -> None:
    wb = openpyxl.load_workbook(store["tmp"] / "w.xlsx")
    assert wb.sheetnames == ["核心指标", "每日趋势", "流量与漏斗", "热销商品", "滞销商品",
                             "变化原因", "退款", "促销", "库存", "发货时效"]
    daily = wb["每日趋势"]
    days = [r for r in daily.iter_rows(min_row=4, values_only=True) if r[0]]
    series = kpi_series(store["url"], store["id"], WEEK_FIRST, WEEK_LAST, by="day")
    assert [r[0] for r in days] == [s["period"] for s in series]
    assert [as_money(r[1]) for r in days] == [s["gmv"] for s in series]
    assert len(daily._charts) == 1  # the daily trend line
    traffic = wb["流量与漏斗"]
    assert len(traffic._charts) == 1  # the traffic-mix pie
    sources = traffic_by_source(store["url"], store["id"], WEEK_FIRST, WEEK_LAST)
    rows = list(traffic.iter_rows(min_row=4, max_row=3 + len(sources), values_only=True))
    assert [r[0] for r in rows] == ["搜索", "活动", "推荐", "类目/导航"]
    assert [r[1] for r in rows] == [s["uv"] for s in sources]
    top = list(wb["热销商品"].iter_rows(min_row=4, values_only=True))
    ranked = kpi_by(store["url"], store["id"], WEEK_FIRST, WEEK_LAST, dimension="sku")
    assert [(r[0], as_money(r[3]), r[6]) for r in top] == [
        (k["platform_sku_id"], k["gmv"], k["units"]) for k in ranked[:10]]
    refunds = wb["退款"]
    summary = kpi_summary(store["url"], store["id"], WEEK_FIRST, WEEK_LAST)
    assert as_money(refunds["B3"].value) == summary["refund_amount"]


def test_monthly_report_in_english(store: dict[str, Any]) -> None:
    wb, kpis = kpi_sheet(store["tmp"] / "m.xlsx")
    assert wb.sheetnames[:3] == ["KPIs", "Daily trend", "Traffic and funnel"]
    expected = kpi_summary(store["url"], store["id"], MONTH_FIRST, MONTH_LAST)
    assert as_money(kpis["gmv"]["This period"].value) == expected["gmv"]
    assert kpis["gmv"]["Metric"].value == "GMV"
    assert as_money(kpis["gmv"]["Target"].value) == Decimal("31000.00")
    assert round(kpis["conversion_rate"]["Target"].value, 6) == 0.004
    assert "Monthly report 2026-10" in wb.worksheets[0]["A1"].value
    assert store["monthly"].pdf_path is None  # no --pdf: no PDF built


def font_names(pdf: bytes) -> set[str]:
    """The /BaseFont names of a PDF, in plain and in compressed (object stream) objects."""
    names = set(re.findall(rb"/BaseFont\s*/([^\s/>\]]+)", pdf))
    for m in re.finditer(rb"stream\r?\n", pdf):
        try:
            data = zlib.decompressobj().decompress(pdf[m.end():m.end() + 4_000_000])
        except zlib.error:
            continue
        names |= set(re.findall(rb"/BaseFont\s*/([^\s/>\]]+)", data))
    return {n.decode("latin-1") for n in names}


def test_pdf_embeds_the_chinese_font(store: dict[str, Any]) -> None:
    pdf = (store["tmp"] / "w.pdf").read_bytes()
    assert pdf.startswith(b"%PDF")
    names = font_names(pdf)
    # Subset-embedded (ABCDEF+…): the glyphs travel with the file.
    assert any(re.fullmatch(r"[A-Z]{6}\+Noto-?Sans-?CJK.*", n) for n in names), names
    folder, stored = store["stored_weekly_pdf"]
    assert stored == pdf and folder == str(store["id"])


def test_rebuilding_replaces_the_files_and_the_row(store: dict[str, Any]) -> None:
    from sqlalchemy import func, select

    from storeops.reports.models import Report

    again = build_report(store["url"], store["id"], "monthly", MONTH, "en", pdf=False)
    assert again.id == store["monthly"].id
    assert again.xlsx_path == store["monthly"].xlsx_path
    with unit_of_work(store["url"]) as s:
        assert s.scalar(select(func.count()).select_from(Report).where(
            Report.kind == "monthly", Report.period == MONTH, Report.lang == "en")) == 1


def test_week_targets_pro_rata_across_months() -> None:
    targets = {"2026-10": {"gmv": Decimal("31000"), "uv": Decimal("3100"),
                           "aov": Decimal("250")},
               "2026-11": {"gmv": Decimal("60000"), "uv": Decimal("3000"),
                           "aov": Decimal("300")}}
    # 2026-W44: Monday 26 October to Sunday 1 November: 6 October days, 1 November day.
    found = week_targets(targets, date(2026, 10, 26), date(2026, 11, 1))
    assert found["gmv"] == Decimal("8000.00")  # 6 × 1000 + 1 × 2000
    assert found["uv"] == Decimal(700)  # 6 × 100 + 100
    assert found["aov"] == Decimal("250")  # Thursday 29 October: October's
    assert found["conversion_rate"] is None
    assert week_targets({"2026-10": targets["2026-10"]}, date(2026, 10, 26),
                        date(2026, 11, 1))["gmv"] is None  # November has none


def test_periods() -> None:
    p = period_of("weekly", "2026-W01")
    assert (p.first, p.last, p.prev_label) == (date(2025, 12, 29), date(2027 - 1, 1, 4),
                                               "2025-W52")
    m = period_of("monthly", "2026-03")
    assert (m.first, m.last, m.prev_first, m.prev_last) == (
        date(2026, 3, 1), date(2026, 3, 31), date(2026, 2, 1), date(2026, 2, 28))
    for bad in ("2026-W54", "2026-44", "W44", "2026-W4"):
        with pytest.raises(ReportError, match=re.escape(repr(bad))):
            period_of("weekly", bad)


@pytest.mark.parametrize("lang", [None, "en"])
def test_cli_errors_name_the_value(store: dict[str, Any], monkeypatch, capsys,
                                   lang: str | None) -> None:
    db = ["--db", store["url"]]
    out_file = str(store["tmp"] / "x.xlsx")
    code, _, err = run_cli(["report", "weekly", *db, "--week", "2026-W60", "--xlsx",
                            out_file], monkeypatch, capsys, lang)
    assert code == 2 and "2026-W60" in err and "YYYY-Www" in err
    assert ("ISO week" in err) if lang == "en" else ("无效" in err)
    code, _, err = run_cli(["report", "monthly", *db, "--month", "2026-13", "--xlsx",
                            out_file], monkeypatch, capsys, lang)
    assert code == 2 and "2026-13" in err and "YYYY-MM" in err
    missing = store["tmp"] / "no-such-folder" / "r.xlsx"
    code, _, err = run_cli(["report", "monthly", *db, "--month", MONTH, "--xlsx",
                            str(missing)], monkeypatch, capsys, lang)
    assert code == 2 and str(missing) in err and err.startswith("error: ")
    assert ("cannot write" in err) if lang == "en" else ("无法写入" in err)
    code, _, err = run_cli(["report", "monthly", *db, "--month", MONTH, "--xlsx",
                            str(store["tmp"])], monkeypatch, capsys, lang)  # a folder
    assert code == 2 and str(store["tmp"]) in err
    assert not (store["tmp"] / "x.xlsx").exists()


def test_cli_json_equals_kpi_json(store: dict[str, Any], monkeypatch, capsys) -> None:
    out_file = store["tmp"] / "cli.xlsx"
    code, out, err = run_cli(["report", "monthly", "--db", store["url"], "--month", MONTH,
                              "--xlsx", str(out_file), "--json", "--lang", "en"],
                             monkeypatch, capsys)
    assert code == 0, err
    report = json.loads(out)
    code, out, err = run_cli(["kpi", "--db", store["url"], "--from", str(MONTH_FIRST),
                              "--to", str(MONTH_LAST), "--json"], monkeypatch, capsys)
    kpi = json.loads(out)
    assert report["period"] == MONTH and report["from"] == "2026-10-01"
    for key, entry in report["kpis"].items():
        assert entry["value"] == kpi[key], key
    assert openpyxl.load_workbook(out_file).sheetnames[0] == "KPIs"
    code, out, err = run_cli(["report", "weekly", "--db", store["url"], "--week", WEEK,
                              "--xlsx", str(out_file)], monkeypatch, capsys)
    assert code == 0, err
    assert "周报 2026-W43" in out and str(out_file) in out
    assert openpyxl.load_workbook(out_file).sheetnames[0] == "核心指标"


def test_report_figures_on_each_backend(db_url: str, tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("STOREOPS_WAREHOUSE_DIR", str(tmp_path / "wh"))
    store_id = seed_store(db_url, users=False)
    build_report(db_url, store_id, "weekly", WEEK, "en", tmp_path / "w.xlsx", pdf=False)
    _, kpis = kpi_sheet(tmp_path / "w.xlsx")
    expected = kpi_summary(db_url, store_id, WEEK_FIRST, WEEK_LAST)
    for key in ("gmv", "aov", "refund_amount", "uv_value"):
        assert as_money(kpis[key]["This period"].value) == expected[key], key
    assert kpis["orders"]["This period"].value == expected["orders"]


def test_both_languages_have_every_word() -> None:
    from storeops.web.i18n import catalog

    zh = {k for k in catalog("zh-CN") if k.startswith("reports.")}
    en = {k for k in catalog("en") if k.startswith("reports.")}
    assert zh == en and len(zh) > 100
    errors = {k.split(".")[-1] for k in catalog("zh-CN") if k.startswith("errors.reports.")}
    assert {"bad_kind", "bad_week", "cannot_write", "bad_time", "bad_lang"} <= errors
