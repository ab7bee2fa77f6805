"""Year plans in the database (SQLite and PostgreSQL): split by the store's own last year,
saved and read back, written into monthly_targets (what `target show`, the overview and the
behind-target alert read), re-planned keeping the cells set by hand; and the CLI."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from sqlalchemy import select
from test_metric_facts import Facts
from web_seed import run_cli

from storeops.common.errors import StoreopsError
from storeops.db.engine import session_factory, unit_of_work
from storeops.metrics import target_plan as tp
from storeops.metrics import target_plan_store as store
from storeops.metrics.models import TargetPlanCell
from storeops.metrics.targets import get_targets

D = Decimal
TODAY = date(2025, 1, 10)  # last year (2024) is over


@pytest.fixture(autouse=True)
def _warehouse_in_tmp(tmp_path, monkeypatch):  # noqa: ANN001, ANN202
    monkeypatch.setenv("STOREOPS_WAREHOUSE_DIR", str(tmp_path / "wh"))


def _store(db_url: str) -> Facts:
    """A store whose 2024 sold 100 × the month's number (January 100 … December 1,200) of
    数码, plus 家居 worth 2,200 in June; January had 50 visitors."""
    f = Facts(db_url, name="旗舰店")
    a, b = f.product("A", category="数码"), f.product("B", category="家居")
    for m in range(1, 13):
        f.order(f"2024-{m:02d}-10 10:00", [(a, 1, 10000 * m)])
    f.order("2024-06-20 10:00", [(b, 1, 220000)])
    f.traffic("2024-01-05", a, uv=50)
    return f


def test_plan_saved_read_back_and_written_into_monthly_targets(db_url: str) -> None:
    f = _store(db_url)
    p = store.make_plan(db_url, f.store_id, 2025, "1000000", today=TODAY, by_category=True,
                        actor="alice")
    assert p.basis == "last_year"
    months = {c.period: c for c in p.level(tp.MONTH)}
    # 2024: 100, 200 … 1,200 and June 600 + 2,200: 10,000 in all.
    assert months["2025-01"].gmv == D("10000.00") and months["2025-06"].gmv == D("280000.00")
    assert sum(c.gmv for c in months.values()) == D("1000000.00")
    cats = {c.category: c.gmv for c in p.level(tp.CATEGORY)}
    assert cats == {"数码": D("780000.00"), "家居": D("220000.00")}
    june = {c.category: c.gmv for c in p.month_categories("2025-06")}
    assert june == {"数码": D("60000.00"), "家居": D("220000.00")}
    jan = months["2025-01"]  # January 2024: 1 buyer of 50 visitors, AOV 100
    assert (jan.conversion_rate, jan.aov, jan.uv) == (D("0.0200"), D("100.00"), 5000)
    with session_factory(db_url)() as s:
        assert store.load_plan(s, f.store_id, 2025) == p
        assert store.plan_info(s, f.store_id, 2025)["updated_by"] == "alice"
        assert get_targets(s, f.store_id, "2025-01") == {
            "gmv": D("10000.00"), "uv": D("5000"), "conversion_rate": D("0.0200"),
            "aov": D("100.00")}
        assert get_targets(s, f.store_id, "2025-06") == {"gmv": D("280000.00")}  # no traffic
        assert store.load_plan(s, f.store_id, 2026) is None


def test_edit_and_replan_keep_the_cells_set_by_hand(db_url: str) -> None:
    f = _store(db_url)
    store.make_plan(db_url, f.store_id, 2025, "1000000", today=TODAY, actor="alice")
    stamps = _stamps(db_url)
    p = store.edit_cell(db_url, f.store_id, 2025, (tp.MONTH, "2025-03", ""), "50000",
                        actor="bob")
    assert p.cell((tp.MONTH, "2025-01", "")).gmv == D("3333.33")  # Q1 (60,000) rebalanced 1:2
    with session_factory(db_url)() as s:
        assert get_targets(s, f.store_id, "2025-03")["gmv"] == D("50000.00")
        assert get_targets(s, f.store_id, "2025-02")["gmv"] == D("6666.67")
        assert store.plan_info(s, f.store_id, 2025)["updated_by"] == "bob"
    after = _stamps(db_url)  # only the cells that changed got a new stamp
    assert after["2025-03"] > stamps["2025-03"] and after["2025-01"] > stamps["2025-01"]
    assert after["2025-04"] == stamps["2025-04"] and after["2025-Q2"] == stamps["2025-Q2"]
    # An edit that cannot balance changes nothing.
    with pytest.raises(tp.TargetPlanError) as err:
        store.edit_cell(db_url, f.store_id, 2025, (tp.QUARTER, "2025-Q1", ""), "100")
    assert err.value.key == "target_plan.pinned_over"
    # Re-planning replaces the unpinned cells, keeps March as set.
    p2 = store.make_plan(db_url, f.store_id, 2025, "2000000", today=TODAY, actor="carol")
    assert p2.cell((tp.MONTH, "2025-03", "")).gmv == D("50000.00")
    assert p2.cell((tp.MONTH, "2025-03", "")).pinned
    assert p2.cell((tp.MONTH, "2025-12", "")).gmv == D("240000.00")  # 12% of 2,000,000
    with session_factory(db_url)() as s:
        assert get_targets(s, f.store_id, "2025-12")["gmv"] == D("240000.00")
        assert store.load_plan(s, f.store_id, 2025) == p2
    # A re-plan that the kept cells cannot fit is refused.
    with pytest.raises(StoreopsError):
        store.make_plan(db_url, f.store_id, 2025, "1000", today=TODAY)
    with pytest.raises(tp.TargetPlanError) as err:
        store.edit_cell(db_url, f.store_id, 2030, (tp.MONTH, "2030-03", ""), "1")
    assert err.value.key == "target_plan.no_plan"


def test_no_history_even_split_and_monthly_rates(db_url: str) -> None:
    f = Facts(db_url, name="新店")
    p = store.make_plan(db_url, f.store_id, 2025, "120000", today=TODAY)
    assert p.basis == "even" and {c.gmv for c in p.level(tp.MONTH)} == {D("10000.00")}
    with unit_of_work(db_url) as s:
        assert get_targets(s, f.store_id, "2025-07") == {"gmv": D("10000.00")}
    # The month's rates set by hand: its UV follows, and monthly_targets with it.
    store.edit_month_rates(db_url, f.store_id, 2025, "2025-07", conversion_rate="0.02",
                           aov="250")
    with unit_of_work(db_url) as s:
        assert get_targets(s, f.store_id, "2025-07") == {
            "gmv": D("10000.00"), "uv": D("2000"), "conversion_rate": D("0.0200"),
            "aov": D("250.00")}


def _stamps(db_url: str) -> dict[str, datetime]:
    with session_factory(db_url)() as s:
        return dict(s.execute(select(TargetPlanCell.period, TargetPlanCell.updated_at)
                              .where(TargetPlanCell.level.in_(["month", "quarter"]))).all())


@pytest.fixture
def cli_store(sqlite_db_url: str, monkeypatch: pytest.MonkeyPatch) -> str:
    import storeops.common.timeutil as timeutil

    _store(sqlite_db_url)
    monkeypatch.setattr(timeutil, "utcnow", lambda: datetime(2025, 1, 10, 4, tzinfo=UTC))
    return sqlite_db_url


def test_cli_plan_json_and_target_show(cli_store: str, monkeypatch, capsys) -> None:  # noqa: ANN001
    db = cli_store
    code, out, err = run_cli(["target", "plan", "--db", db, "--year", "2025", "--gmv",
                              "1000000", "--by-category", "--json"], monkeypatch, capsys)
    assert code == 0, err
    data = json.loads(out)
    assert list(data) == ["store", "year", "gmv", "basis", "notes", "quarters", "months",
                          "categories", "month_categories", "saved"]
    assert data["store"] == "旗舰店" and data["gmv"] == "1000000.00" and data["saved"] is True
    assert [q["period"] for q in data["quarters"]] == ["2025-Q1", "2025-Q2", "2025-Q3",
                                                       "2025-Q4"]
    assert data["months"][0] == {"period": "2025-01", "gmv": "10000.00", "share": "0.166667",
                                 "pinned": False, "uv": 5000, "conversion_rate": "0.0200",
                                 "aov": "100.00"}
    code, out, _ = run_cli(["target", "show", "--db", db, "--month", "2025-01", "--as-of",
                            "2025-01-10", "--json"], monkeypatch, capsys)
    assert code == 0
    assert json.loads(out)["metrics"]["gmv"]["target"] == "10000.00"
    # The table, in Chinese by default.
    code, out, _ = run_cli(["target", "plan", "--db", db, "--year", "2025", "--gmv", "1000000",
                            "--dry-run"], monkeypatch, capsys)
    assert code == 0 and "2025-Q4" in out and "访客数" in out and "未保存" in out
    # Edit a cell: pinned, its quarter rebalanced.
    code, out, err = run_cli(["target", "edit", "--db", db, "--year", "2025", "--cell",
                              "2025-03", "--gmv", "50000", "--json"], monkeypatch, capsys)
    assert code == 0, err
    months = {m["period"]: m for m in json.loads(out)["months"]}
    assert months["2025-03"]["pinned"] and months["2025-02"]["gmv"] == "6666.67"
    code, out, err = run_cli(["target", "edit", "--db", db, "--year", "2025", "--cell",
                              "2025-01", "--uv", "1000", "--json"], monkeypatch, capsys)
    jan = json.loads(out)["months"][0]
    assert code == 0 and (jan["uv"], jan["conversion_rate"], jan["aov"]) == (
        1000, "0.0333", "100.00")  # 3,333.33 / (1,000 × 100)
    code, out, err = run_cli(["target", "edit", "--db", db, "--year", "2025", "--cell",
                              "2025-03", "--unpin", "--json"], monkeypatch, capsys)
    assert code == 0 and not json.loads(out)["months"][2]["pinned"]


@pytest.mark.parametrize(("argv", "words"), [
    (["plan", "--year", "2025", "--gmv", "-5"], "不能为负"),
    (["plan", "--year", "2025", "--gmv", "1.234"], "两位小数"),
    (["edit", "--year", "2031", "--cell", "2031-03", "--gmv", "5"], "还没有目标分解"),
    (["edit", "--year", "2025", "--cell", "2025-13", "--gmv", "5"], "不是 2025 年目标中的格"),
    (["edit", "--year", "2025", "--cell", "2025-Q1", "--aov", "5"], "只能在月份上修改"),
    (["edit", "--year", "2025", "--cell", "2025-03"], "没有要修改的内容"),
])
def test_cli_errors(cli_store: str, monkeypatch, capsys, argv: list[str], words: str) -> None:  # noqa: ANN001
    code, out, err = run_cli(["target", *argv, "--db", cli_store], monkeypatch, capsys)
    assert code == 2 and words in err, err
