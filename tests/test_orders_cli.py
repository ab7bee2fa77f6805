"""``storeops order …`` end to end: show (text and JSON, with the timeline), approve, hold,
cancel, merge, split, review-settings and the blacklist, and their errors (exit 2, an
``error:`` line naming the order and store)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from test_orders_service import incoming, new_store
from web_seed import run_cli

from storeops.db.engine import unit_of_work
from storeops.orders import service as svc


@pytest.fixture
def shop(sqlite_db_url: str) -> str:
    """A store 旗舰店 with stock, an allocated order J1 and a held order J2 (remark)."""
    with unit_of_work(sqlite_db_url) as s:
        store = new_store(s, A=10, B=1)
        svc.upsert_order(s, store, incoming("J1", lines=[("A", 2, "50")]), actor="connector:jd")
        svc.upsert_order(s, store, incoming("J2", buyer_remark="周末送"), actor="connector:jd")
    return sqlite_db_url


def cli(db: str, *args: str, mp: Any, cap: Any, lang: str | None = None
        ) -> tuple[int, str, str]:
    return run_cli(["order", *args, "--db", db], mp, cap, lang)


def test_show_text_and_json(shop: str, monkeypatch: Any, capsys: Any) -> None:
    code, out, err = cli(shop, "show", "--store", "旗舰店", "--order", "J1", mp=monkeypatch,
                         cap=capsys)
    assert code == 0, err
    assert "阶段: 已分配库存" in out and "138****5678" in out and "时间线:" in out
    assert "收到订单" in out and "审核通过" in out and "[connector:jd]" in out
    code, out, _ = cli(shop, "show", "--store", "旗舰店", "--order", "J1", "--json",
                       mp=monkeypatch, cap=capsys)
    data = json.loads(out)
    assert (data["order"], data["stage"], data["paid"]) == ("J1", "allocated", "100.00")
    assert [e["kind"] for e in data["timeline"]] == ["received", "under_review", "approved",
                                                    "allocated"]
    assert data["lines"] == [{"line_no": 1, "sku": "A", "title": "商品A", "qty": 2,
                              "unit_price": "50", "amount": "100.00"}]
    assert data["shipments"][0]["state"] == "open"
    code, out, _ = cli(shop, "show", "--store", "旗舰店", "--order", "J2", mp=monkeypatch,
                       cap=capsys, lang="en")
    assert "Stage: Under review" in out and "Held because: 买家留言：周末送" in out


def test_unknown_order_names_order_and_store(shop: str, monkeypatch: Any,
                                             capsys: Any) -> None:
    for command in (["show"], ["approve"], ["cancel"], ["hold", "--reason", "x"]):
        code, out, err = cli(shop, *command, "--store", "旗舰店", "--order", "NOPE",
                             mp=monkeypatch, cap=capsys)
        assert code == 2 and out == ""
        assert err.strip() == "error: 店铺「旗舰店」中没有订单 NOPE"
    code, _, err = cli(shop, "show", "--store", "旗舰店", "--order", "NOPE", mp=monkeypatch,
                       cap=capsys, lang="en")
    assert err.strip() == "error: no order 'NOPE' in store '旗舰店'"
    code, _, err = cli(shop, "show", "--store", "别的店", "--order", "J1", mp=monkeypatch,
                       cap=capsys)
    assert code == 2 and "别的店" in err


def test_approve_hold_cancel(shop: str, monkeypatch: Any, capsys: Any) -> None:
    code, out, err = cli(shop, "approve", "--store", "旗舰店", "--order", "J2", mp=monkeypatch,
                         cap=capsys)
    assert code == 0, err
    assert out.strip() == "订单 J2 已审核通过，阶段：已分配库存"
    code, out, _ = cli(shop, "hold", "--store", "旗舰店", "--order", "J2", "--reason",
                       "改地址", mp=monkeypatch, cap=capsys)
    assert code == 0 and out.strip() == "订单 J2 已挂起：改地址"
    code, out, _ = cli(shop, "cancel", "--store", "旗舰店", "--order", "J2", "--reason",
                       "买家取消", mp=monkeypatch, cap=capsys)
    assert code == 0 and out.strip() == "订单 J2 已取消"
    code, out, err = cli(shop, "approve", "--store", "旗舰店", "--order", "J2", mp=monkeypatch,
                         cap=capsys)
    assert code == 2
    assert err.strip() == "error: 订单 J2：不能从「已取消」变为「已分配库存」"
    code, _, err = cli(shop, "show", "--store", "旗舰店", "--order", "J2", "--json",
                       mp=monkeypatch, cap=capsys)
    timeline = json.loads(_)["timeline"]
    assert [e["kind"] for e in timeline][-3:] == ["under_review", "held", "cancelled"]
    assert timeline[-1]["reason"] == "买家取消" and timeline[-1]["actor"].startswith("user:")


def test_approve_out_of_stock_exits_1(shop: str, monkeypatch: Any, capsys: Any) -> None:
    with unit_of_work(shop) as s:
        store = new_store(s)
        svc.upsert_order(s, store, incoming("J3", lines=[("B", 5, "1")]), actor="connector:jd")
    code, out, _ = cli(shop, "approve", "--store", "旗舰店", "--order", "J3", mp=monkeypatch,
                       cap=capsys)
    assert code == 1
    assert out.strip() == "订单 J3 仍挂起：缺货 / out of stock：SKU B 需 5 件，可用 1 件"


def test_merge_and_split(shop: str, monkeypatch: Any, capsys: Any) -> None:
    with unit_of_work(shop) as s:
        store = new_store(s)
        svc.upsert_order(s, store, incoming("J4", lines=[("A", 3, "1")]), actor="connector:jd")
    code, out, err = cli(shop, "merge", "--store", "旗舰店", "--order", "J1", "--order", "J4",
                         mp=monkeypatch, cap=capsys)
    assert code == 0, err
    assert out.startswith("订单 J1, J4 已合并为包裹")
    code, _, err = cli(shop, "split", "--store", "旗舰店", "--order", "J4", "--by", "stock",
                       mp=monkeypatch, cap=capsys)
    assert code == 2 and "J4" in err  # merged with J1: cannot be split
    code, out, err = cli(shop, "split", "--store", "旗舰店", "--order", "J1", "--parcel", "1:1",
                         "--parcel", "1:1", mp=monkeypatch, cap=capsys)
    assert code == 2 and "J1" in err
    with unit_of_work(shop) as s:
        store = new_store(s)
        svc.upsert_order(s, store, incoming("J5", buyer_account="b5", lines=[("A", 3, "1")]),
                         actor="connector:jd")
    code, out, err = cli(shop, "split", "--store", "旗舰店", "--order", "J5", "--parcel", "1:1",
                         "--parcel", "1:2", mp=monkeypatch, cap=capsys)
    assert code == 0, err
    assert out.strip() == "订单 J5 已拆分为 2 个包裹"
    code, _, err = cli(shop, "split", "--store", "旗舰店", "--order", "J5", "--parcel", "1:1",
                       "--parcel", "1:1", mp=monkeypatch, cap=capsys)
    assert code == 2 and err.strip() == "error: 订单 J5 的商品行 1 共 3 件，拆分后是 2 件"
    code, _, err = cli(shop, "split", "--store", "旗舰店", "--order", "J5", "--parcel", "x",
                       "--parcel", "1:1", mp=monkeypatch, cap=capsys)
    assert code == 2 and "x" in err
    code, _, err = cli(shop, "split", "--store", "旗舰店", "--order", "J5", mp=monkeypatch,
                       cap=capsys)
    assert code == 2 and "--parcel" in err


def test_review_settings(shop: str, monkeypatch: Any, capsys: Any) -> None:
    code, out, _ = cli(shop, "review-settings", "--store", "旗舰店", "--json", mp=monkeypatch,
                       cap=capsys)
    assert json.loads(out) == {"store": "旗舰店", "auto_approve": True, "hold_on_remark": True,
                               "hold_on_incomplete_address": True, "max_amount": None,
                               "max_quantity": None, "brushing": None, "ship_sla_hours": 24,
                               "unpaid_hold_minutes": 30}
    code, out, err = cli(shop, "review-settings", "--store", "旗舰店", "--max-amount", "500",
                         "--max-quantity", "3", "--brushing", "3/24", "--no-hold-on-remark",
                         "--ship-sla-hours", "48", mp=monkeypatch, cap=capsys)
    assert code == 0, err
    assert out.splitlines()[0] == "店铺「旗舰店」的审单规则已保存"
    code, out, _ = cli(shop, "review-settings", "--store", "旗舰店", "--json", mp=monkeypatch,
                       cap=capsys)
    data = json.loads(out)
    assert (data["max_amount"], data["max_quantity"], data["brushing"], data["hold_on_remark"],
            data["ship_sla_hours"]) == ("500.00", 3, "3/24", False, 48)
    # the rules apply to the next order
    with unit_of_work(shop) as s:
        store = new_store(s)
        order, _ = svc.upsert_order(s, store, incoming("J9", lines=[("A", 4, "1")]),
                                    actor="connector:jd")
        # J1 and J2 went to the same address: the third within 24 hours
        assert order.hold_reason == ("商品件数 4 超过上限 3；"
                                     "疑似刷单：24 小时内同一地址已有 3 单（上限 3 单）")
    code, out, _ = cli(shop, "review-settings", "--store", "旗舰店", "--max-amount", "none",
                       "--brushing", "off", "--json", mp=monkeypatch, cap=capsys)
    assert (json.loads(out)["max_amount"], json.loads(out)["brushing"]) == (None, None)
    for args, word in ((["--brushing", "3"], "3"), (["--brushing", "1/24"], "1/24"),
                       (["--max-amount", "-5"], "-5"), (["--max-quantity", "x"], "x"),
                       (["--ship-sla-hours", "49"], "49")):
        code, out, err = cli(shop, "review-settings", "--store", "旗舰店", *args,
                             mp=monkeypatch, cap=capsys)
        assert code == 2 and err.startswith("error: ") and word in err, (args, err)


def test_blacklist(shop: str, monkeypatch: Any, capsys: Any) -> None:
    code, out, _ = cli(shop, "blacklist", "list", "--store", "旗舰店", mp=monkeypatch,
                       cap=capsys)
    assert out.strip() == "店铺「旗舰店」的黑名单为空"
    code, out, _ = cli(shop, "blacklist", "add", "--store", "旗舰店", "--buyer", "bad1",
                       "--reason", "恶意拒收", mp=monkeypatch, cap=capsys)
    assert code == 0 and out.strip() == "已将买家 bad1 加入店铺「旗舰店」的黑名单"
    code, out, _ = cli(shop, "blacklist", "list", "--store", "旗舰店", "--json",
                       mp=monkeypatch, cap=capsys)
    assert [(r["buyer"], r["reason"]) for r in json.loads(out)] == [("bad1", "恶意拒收")]
    with unit_of_work(shop) as s:
        store = new_store(s)
        order, _ = svc.upsert_order(s, store, incoming("J7", buyer_account="bad1"),
                                    actor="connector:jd")
        assert order.hold_reason == "买家在黑名单中"
    code, out, _ = cli(shop, "blacklist", "remove", "--store", "旗舰店", "--buyer", "bad1",
                       mp=monkeypatch, cap=capsys)
    assert code == 0
    code, _, err = cli(shop, "blacklist", "remove", "--store", "旗舰店", "--buyer", "bad1",
                       mp=monkeypatch, cap=capsys)
    assert code == 2 and err.strip() == "error: 买家 bad1 不在店铺「旗舰店」的黑名单中"


def test_cli_on_both_databases(db_url: str, monkeypatch: Any, capsys: Any) -> None:
    with unit_of_work(db_url) as s:
        store = new_store(s, A=5)
        svc.upsert_order(s, store, incoming("P1"), actor="connector:jd")
    code, out, err = cli(db_url, "cancel", "--store", "旗舰店", "--order", "P1",
                         mp=monkeypatch, cap=capsys)
    assert code == 0, err
    code, out, _ = cli(db_url, "show", "--store", "旗舰店", "--order", "P1", "--json",
                       mp=monkeypatch, cap=capsys)
    assert json.loads(out)["stage"] == "cancelled"
