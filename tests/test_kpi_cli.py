"""``storeops kpi`` and ``storeops target`` as a user runs them."""

from __future__ import annotations

import json
import sys

import pytest
from test_metric_facts import Facts

from storeops import cli

SUMMARY_KEYS = {"gmv", "orders", "buyers", "aov", "units", "refund_amount", "repurchase_rate",
                "uv", "pv", "conversion_rate", "uv_value"}
# Keys the 商智 definitions added beside the ones above (whose names stay).
NEW_KEYS = {"goods_gmv", "placed_amount", "placed_orders", "placed_buyers",
            "placed_conversion_rate", "repurchase_rate_30d", "repurchase_rate_90d"}


@pytest.fixture(autouse=True)
def _warehouse_in_tmp(tmp_path, monkeypatch):  # noqa: ANN001, ANN202
    monkeypatch.setenv("STOREOPS_WAREHOUSE_DIR", str(tmp_path / "wh"))
    monkeypatch.setenv("STOREOPS_LANG", "zh")


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    capsys.readouterr()
    old = sys.argv
    sys.argv = ["storeops", *args]
    try:
        cli.main()
        code = 0
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    finally:
        sys.argv = old
    captured = capsys.readouterr()
    return code, captured.out, captured.err


@pytest.fixture
def store(db_url: str) -> Facts:
    f = Facts(db_url, name="京东旗舰店")
    p = f.product("P1")
    alice = f.customer("alice")
    f.order("2024-03-01 10:00", [(p, 2, 12345)], customer=alice, freight=500)
    f.order("2024-03-05 10:00", [(p, 1, 1000)], customer=alice)
    f.order("2024-03-11 10:00", [(p, 1, 1000)], customer=None)
    f.traffic("2024-03-01", p, uv=100, pv=150)
    return f


def test_kpi_json_summary(store: Facts, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, "kpi", "--db", store.db_url, "--from", "2024-03-01",
                         "--to", "2024-03-11", "--json")
    assert code == 0, err
    data = json.loads(out)
    assert SUMMARY_KEYS | NEW_KEYS <= set(data)
    assert {"store", "from", "to", "currency", "refund_rate", "roas", "sell_through"} <= set(data)
    assert data["store"] == "京东旗舰店" and data["currency"] == "CNY"
    assert data["from"] == "2024-03-01" and data["to"] == "2024-03-11"
    assert data["gmv"] == "148.45"  # money as a decimal string; 商智's: with freight 5.00
    assert data["goods_gmv"] == "143.45"
    assert data["orders"] == 3 and data["buyers"] == 2
    assert data["placed_orders"] == 3 and data["placed_amount"] == "148.45"
    assert data["repurchase_rate"] == 1.0 and data["repurchase_rate_30d"] == 1.0
    assert data["conversion_rate"] == 0.02  # rates as numbers
    assert data["aov"] == "74.23" and data["roas"] is None


def test_kpi_gmv_has_freight_and_the_old_switch_is_gone(
    store: Facts, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = run(capsys, "kpi", "--db", store.db_url, "--from", "2024-03-01",
                       "--to", "2024-03-01", "--json")
    assert code == 0
    assert json.loads(out)["gmv"] == "128.45" and json.loads(out)["goods_gmv"] == "123.45"
    code, out, err = run(capsys, "kpi", "--db", store.db_url, "--from", "2024-03-01",
                         "--to", "2024-03-01", "--json", "--with-freight")
    assert code == 2 and "--with-freight" in err and out == ""


def test_kpi_by_week_rows(store: Facts, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, "kpi", "--db", store.db_url, "--store", "京东旗舰店",
                         "--from", "2024-03-01", "--to", "2024-03-17", "--by", "week", "--json")
    assert code == 0, err
    data = json.loads(out)
    assert [r["period"] for r in data["rows"]] == ["2024-W09", "2024-W10", "2024-W11"]
    assert [r["gmv"] for r in data["rows"]] == ["128.45", "10.00", "10.00"]
    assert all(SUMMARY_KEYS <= set(r) for r in data["rows"])
    assert data["total"]["orders"] == 3


def test_kpi_by_sku_category_and_source(store: Facts, capsys: pytest.CaptureFixture[str]) -> None:
    p2 = store.product("P2", category="hats")
    store.order("2024-03-02 10:00", [(p2, 1, 50000)], customer=None, source="pc")
    code, out, err = run(capsys, "kpi", "--db", store.db_url, "--from", "2024-03-01",
                         "--to", "2024-03-11", "--by", "sku", "--json")
    assert code == 0, err
    data = json.loads(out)
    assert data["by"] == "sku"
    # by GMV, biggest first; by SKU the goods alone (freight belongs to the order)
    assert [(r["sku"], r["title"], r["gmv"]) for r in data["rows"]] == [
        ("P2", "TP2", "500.00"), ("P1", "TP1", "143.45")]
    assert all(SUMMARY_KEYS <= set(r) for r in data["rows"])
    assert data["total"]["gmv"] == "648.45" and data["total"]["goods_gmv"] == "643.45"
    code, out, _ = run(capsys, "kpi", "--db", store.db_url, "--from", "2024-03-01",
                       "--to", "2024-03-11", "--by", "sku", "--sort", "orders", "--top", "1",
                       "--json")
    assert [r["sku"] for r in json.loads(out)["rows"]] == ["P1"]  # 3 orders against 1
    code, out, _ = run(capsys, "kpi", "--db", store.db_url, "--from", "2024-03-01",
                       "--to", "2024-03-11", "--by", "source", "--json")
    # "search" brought the traffic and no order of its own
    assert {r["source"]: r["gmv"] for r in json.loads(out)["rows"]} == {
        "app": "148.45", "pc": "500.00", "search": "0.00"}  # a source holds whole orders
    code, out, _ = run(capsys, "kpi", "--db", store.db_url, "--from", "2024-03-01",
                       "--to", "2024-03-11", "--by", "category")
    assert code == 0
    # The table keeps every digit, even where it is wider than the terminal.
    assert "hats" in out and "500.00" in out and "648.45" in out and "…" not in out


def test_kpi_table_has_chinese_labels(store: Facts, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "kpi", "--db", store.db_url, "--from", "2024-03-01",
                       "--to", "2024-03-11")
    assert code == 0
    assert "成交金额" in out and "148.45" in out and "客单价" in out
    assert "下单金额" in out and "商品成交金额" in out and "143.45" in out


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--from", "2024-02-30", "--to", "2024-03-01"), "bad --from date"),
        (("--from", "2024-03-05", "--to", "2024-03-01"), "starts after it ends"),
        (("--from", "2024-03-01", "--to", "2024-03-02", "--store", "nope"), "no store named"),
        (("--from", "2024-03-01", "--to", "2024-03-02", "--by", "year"), "--by must be"),
        (("--from", "2024-03-01", "--to", "2024-03-02", "--top", "3"), "go with --by sku"),
        (("--from", "2024-03-01", "--to", "2024-03-02", "--by", "day", "--sort", "uv"),
         "go with --by sku"),
        (("--from", "2024-03-01", "--to", "2024-03-02", "--by", "sku", "--sort", "profit"),
         "--sort must be a metric"),
        (("--from", "2024-03-01", "--to", "2024-03-02", "--by", "day", "--metrics", "gmv,x"),
         "unknown metric(s) x"),
    ],
)
def test_kpi_bad_input_exits_2(store: Facts, capsys: pytest.CaptureFixture[str],
                               monkeypatch: pytest.MonkeyPatch,
                               args: tuple[str, ...], message: str) -> None:
    monkeypatch.setenv("STOREOPS_LANG", "en")  # the messages as English says them
    code, out, err = run(capsys, "kpi", "--db", store.db_url, *args)
    assert code == 2
    assert "error:" in err and message in err
    assert out == ""


def test_kpi_needs_store_when_several(store: Facts, capsys: pytest.CaptureFixture[str]) -> None:
    Facts(store.db_url, name="second")
    code, _, err = run(capsys, "kpi", "--db", store.db_url, "--from", "2024-03-01",
                       "--to", "2024-03-02")
    assert code == 2 and "多个店铺" in err and "--store" in err  # zh-CN by default


def test_target_set_and_show(store: Facts, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, "target", "set", "--db", store.db_url, "--month", "2024-03",
                         "--metric", "gmv", "--value", "310")
    assert code == 0, err
    code, out, err = run(capsys, "target", "show", "--db", store.db_url, "--month", "2024-03",
                         "--as-of", "2024-03-11", "--json")
    assert code == 0, err
    gmv = json.loads(out)["metrics"]["gmv"]
    assert gmv["target"] == "310.00" and gmv["actual"] == "148.45"
    assert gmv["expected_to_date"] == "110.00"  # 11 of 31 days
    code, _, err = run(capsys, "target", "set", "--db", store.db_url, "--month", "2024-13",
                       "--metric", "gmv", "--value", "1")
    assert code == 2 and "月份“2024-13”无效" in err
    code, _, err = run(capsys, "target", "set", "--db", store.db_url, "--month", "2024-03",
                       "--metric", "gmv", "--value", "-5")
    assert code == 2 and "不小于 0" in err
