"""``storeops stock …`` as a user runs it: receipts, adjustments, counts, transfers, show
(--json), warehouses, safety buffers, and ``stock check``'s exit codes."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import update
from stock_support import make_store
from web_seed import run_cli

from storeops.db.engine import unit_of_work
from storeops.inventory.models import StockLevel


@pytest.fixture
def store_db(db_url: str) -> str:
    with unit_of_work(db_url) as s:
        make_store(s, skus=("100012", "100013"))
    return db_url


def _cli(db: str, monkeypatch, capsys, *args: str, lang: str | None = None):
    return run_cli(["stock", *args, "--db", db], monkeypatch, capsys, lang=lang)


def test_stock_commands_and_show_json(store_db: str, monkeypatch, capsys) -> None:
    def ok(*args: str) -> str:
        code, out, err = _cli(store_db, monkeypatch, capsys, *args)
        assert code == 0, err
        return out

    assert "入库 10 件" in ok("receive", "--store", "旗舰店", "--sku", "100012", "--qty", "10",
                            "--reason", "PO-1")
    assert "上海仓" in ok("warehouse", "add", "--store", "旗舰店", "--code", "sh",
                         "--name", "上海仓")
    ok("transfer", "--sku", "100012", "--qty", "3", "--from", "default", "--to", "sh")
    assert "-2" in ok("adjust", "--sku", "100012", "--qty", "-2", "--reason", "破损")
    assert "+1" in ok("count", "--sku", "100012", "--qty", "4", "--warehouse", "上海仓")
    ok("safety", "--sku", "100012", "--buffer", "1")
    rows = json.loads(ok("show", "--store", "旗舰店", "--json"))
    assert rows == [
        {"sku": "100012", "warehouse": "default", "on_hand": 5, "reserved": 0, "available": 4},
        {"sku": "100012", "warehouse": "sh", "on_hand": 4, "reserved": 0, "available": 4},
    ]
    assert json.loads(ok("show", "--sku", "100013", "--json")) == []
    table = ok("show")
    assert "在库" in table and "100012" in table
    whs = json.loads(ok("warehouse", "list", "--json"))
    assert [(w["code"], w["default"]) for w in whs] == [("default", True), ("sh", False)]
    assert "一致" in ok("check", "--store", "旗舰店")


@pytest.mark.parametrize(("args", "named"), [
    (("receive", "--sku", "NOPE", "--qty", "1"), "NOPE"),
    (("receive", "--sku", "100012", "--qty", "1", "--warehouse", "gz"), "gz"),
    (("show", "--store", "别的店"), "别的店"),
    (("adjust", "--sku", "100012", "--qty", "-1", "--reason", "丢失"), "100012"),
    (("receive", "--sku", "100012", "--qty", "0"), "100012"),
    (("transfer", "--sku", "100012", "--qty", "1", "--from", "default", "--to", "default"),
     "default"),
])
def test_errors_name_what_is_wrong(store_db: str, monkeypatch, capsys, args, named) -> None:
    code, out, err = _cli(store_db, monkeypatch, capsys, *args)
    assert code == 2
    assert "error:" in err and named in err


def test_english_error_names_sku_and_warehouse(store_db: str, monkeypatch, capsys) -> None:
    code, _, err = _cli(store_db, monkeypatch, capsys, "adjust", "--sku", "100012", "--qty",
                        "-1", "--reason", "lost", lang="en")
    assert code == 2
    assert "SKU 100012 in warehouse default" in err and "on hand -1" in err


def test_check_exits_1_naming_each_corrupted_row(store_db: str, monkeypatch, capsys) -> None:
    for sku in ("100012", "100013"):
        assert _cli(store_db, monkeypatch, capsys, "receive", "--sku", sku, "--qty", "5")[0] == 0
    with unit_of_work(store_db) as s:  # someone edits the table by hand
        s.execute(update(StockLevel).values(on_hand=StockLevel.on_hand + 2, reserved=-1))
    code, out, err = _cli(store_db, monkeypatch, capsys, "check", lang="en")
    assert code == 1
    for sku in ("100012", "100013"):
        assert f"SKU {sku}, warehouse default: on hand 7 but its movements sum to 5" in err
        assert f"SKU {sku}, warehouse default: reserved is negative (-1)" in err
    code, _, err = _cli(store_db, monkeypatch, capsys, "check", "--store", "旗舰店")
    assert code == 1 and "在库 7，但流水合计 5" in err


def test_opening_balances_and_channel_share(store_db: str, monkeypatch, capsys) -> None:
    from storeops.catalog.models import Product

    with unit_of_work(store_db) as s:
        s.execute(update(Product).where(Product.platform_sku_id == "100012").values(stock=12))
    code, out, _ = _cli(store_db, monkeypatch, capsys, "opening")
    assert code == 0 and "1 个 SKU" in out
    assert "0 个 SKU" in _cli(store_db, monkeypatch, capsys, "opening")[1]  # again: nothing
    code, out, _ = _cli(store_db, monkeypatch, capsys, "channel", "--share", "50", "--buffer",
                        "1", "--json")
    assert code == 0
    assert json.loads(out) == {"channel": "jd", "share_percent": 50, "buffer": 1, "to_push": [
        {"sku": "100012", "wanted": 5, "published": None, "listed": True}]}
    code, _, err = _cli(store_db, monkeypatch, capsys, "channel", "--share", "150")
    assert code == 2 and "150" in err
    assert _cli(store_db, monkeypatch, capsys, "check")[0] == 0
