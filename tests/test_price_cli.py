"""``storeops price CART --promotions FILE [--at] [--json]``: the issue's JSON shape, the
table in the terminal's language, time windows, and errors as ``error:`` lines (exit 2)."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from web_seed import run_cli

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE_CART = ROOT / "docs" / "examples" / "cart.json"
EXAMPLE_PROMOS = ROOT / "docs" / "examples" / "promotions.yaml"

PROMOS = """
promotions:
  - {id: D10, kind: direct, skus: [A], percent: 10,
     start: "2026-06-18T00:00", end: "2026-06-19T00:00"}
  - {id: MJ, kind: full_reduction, skus: all, tiers: [{threshold: 199, off: 30}]}
"""
CART = {"lines": [{"sku": "A", "qty": 2, "price": "100.00"},
                  {"sku": "B", "qty": 1, "price": "50.00"}], "member_tier": None}


@pytest.fixture
def files(tmp_path: Path) -> tuple[Path, Path]:
    cart = tmp_path / "cart.json"
    cart.write_text(json.dumps(CART), encoding="utf-8")
    promos = tmp_path / "promos.yaml"
    promos.write_text(PROMOS, encoding="utf-8")
    return cart, promos


def price_json(monkeypatch: Any, capsys: Any, *argv: str) -> dict[str, Any]:
    code, out, err = run_cli(["price", *argv, "--json"], monkeypatch, capsys)
    assert code == 0, err
    return json.loads(out)


def test_json_has_exactly_the_issue_keys(files: tuple[Path, Path], monkeypatch: Any,
                                         capsys: Any) -> None:
    cart, promos = files
    data = price_json(monkeypatch, capsys, str(cart), "--promotions", str(promos),
                      "--at", "2026-06-18T12:00")
    assert {"lines", "goods_total", "discount_total", "payable", "applied"} <= set(data)
    for line in data["lines"]:
        assert {"sku", "qty", "list_amount", "final_amount", "discounts"} <= set(line)
        for d in line["discounts"]:
            assert {"id", "amount"} <= set(d)
            assert isinstance(d["amount"], str)
    # Inside D10's window: A at 9折 is 90 × 2 = 180.00 (20.00 off), B 50.00; together
    # 230.00 ≥ 199, so 满199减30 takes 30.00: payable 200.00, discounts 50.00.
    assert data["goods_total"] == "250.00"
    assert data["discount_total"] == "50.00"
    assert data["payable"] == "200.00"
    assert data["applied"] == ["D10", "MJ"]
    a, b = data["lines"]
    assert (a["sku"], a["qty"], a["list_amount"]) == ("A", 2, "200.00")
    assert (b["sku"], b["qty"], b["list_amount"]) == ("B", 1, "50.00")
    # The 30.00 is shared in proportion to 180 : 50 — 23.48 and 6.52 (the residue on one
    # line: the shares add up to exactly 30.00).
    mj = {line["sku"]: next(d["amount"] for d in line["discounts"] if d["id"] == "MJ")
          for line in data["lines"]}
    assert sorted(mj.values()) == ["23.48", "6.52"] or sorted(mj.values()) == ["23.47", "6.53"]
    assert sum(Decimal(v) for v in mj.values()) == Decimal("30.00")
    assert sum(Decimal(line["final_amount"]) for line in data["lines"]) == Decimal("200.00")


def test_at_outside_a_window_leaves_the_promotion_out(files: tuple[Path, Path],
                                                      monkeypatch: Any, capsys: Any) -> None:
    cart, promos = files
    # The window ends at 2026-06-19 00:00 Shanghai (exclusive): at that moment D10 is over;
    # 250.00 ≥ 199, only 满199减30: payable 220.00.
    data = price_json(monkeypatch, capsys, str(cart), "--promotions", str(promos),
                      "--at", "2026-06-19T00:00:00+08:00")
    assert data["payable"] == "220.00" and data["applied"] == ["MJ"]
    # 23:59 Shanghai is 15:59 UTC: still inside.
    data = price_json(monkeypatch, capsys, str(cart), "--promotions", str(promos),
                      "--at", "2026-06-18T15:59:00Z")
    assert data["payable"] == "200.00"


def test_docs_example_runs(monkeypatch: Any, capsys: Any) -> None:
    data = price_json(monkeypatch, capsys, str(EXAMPLE_CART), "--promotions",
                      str(EXAMPLE_PROMOS))
    # By hand (docs/promotions.md): earbuds at the PLUS price 279.00 (below 9折 296.10);
    # the best split is the two cases in MULTI (2件9折: 79.80 → 71.82) and earbuds + cable in
    # 满299减50 (279 + 59 = 338 → 288.00): 359.82. Shop coupon 满200减20 → 339.82, 京券 5 →
    # 334.82, 1500 京豆 = 15.00 (≤ 10% of 334.82) → 319.82.
    assert data["goods_total"] == "467.80"
    assert data["payable"] == "319.82"
    assert data["discount_total"] == "147.98"
    assert data["points_used"] == 1500
    assert data["gifts"] == [{"sku": "100020000001", "qty": 1}]
    assert "FLASH-618" not in data["applied"]
    # During the flash sale one case costs 19.90: 59.80 in MULTI → 53.82; 288.00 + 53.82 =
    # 341.82 − 20 − 5 − 15 = 301.82.
    data = price_json(monkeypatch, capsys, str(EXAMPLE_CART), "--promotions",
                      str(EXAMPLE_PROMOS), "--at", "2026-06-18T20:30")
    assert data["payable"] == "301.82" and "FLASH-618" in data["applied"]


@pytest.mark.parametrize(("lang", "words"), [
    (None, ["商品总额", "应付", "200.00", "满199减30"]),
    ("en", ["Goods total", "Payable", "200.00", "Applied: D10, MJ"]),
])
def test_table_in_the_terminal_language(files: tuple[Path, Path], monkeypatch: Any,
                                        capsys: Any, lang: str | None,
                                        words: list[str]) -> None:
    cart, promos = files
    code, out, err = run_cli(["price", str(cart), "--promotions", str(promos), "--at",
                              "2026-06-18T12:00"], monkeypatch, capsys, lang)
    assert code == 0, err
    for word in words:
        assert word in out


@pytest.mark.parametrize(("lang", "expected"), [
    ("en", "promotion D10, field percent: must be a percent off between 0 and 100"),
    (None, "促销 D10，字段 percent：必须是 0 到 100 之间的折扣百分比"),
])
def test_bad_promotions_file_is_an_error_line(files: tuple[Path, Path], monkeypatch: Any,
                                              capsys: Any, lang: str | None,
                                              expected: str) -> None:
    cart, promos = files
    promos.write_text(PROMOS.replace("percent: 10", "percent: 100"), encoding="utf-8")
    code, out, err = run_cli(["price", str(cart), "--promotions", str(promos), "--json"],
                             monkeypatch, capsys, lang)
    assert code == 2 and out == ""
    assert err.startswith("error: ") and str(promos) in err and expected in err


def test_bad_cart_and_bad_time_are_error_lines(files: tuple[Path, Path], monkeypatch: Any,
                                               capsys: Any) -> None:
    cart, promos = files
    cart.write_text(json.dumps({"lines": [{"sku": "A", "qty": 0, "price": "1"}]}),
                    encoding="utf-8")
    code, _, err = run_cli(["price", str(cart), "--promotions", str(promos)], monkeypatch,
                           capsys, "en")
    assert code == 2 and err.startswith("error: ")
    assert f"{cart}: line 1, field qty: must be a whole number ≥ 1, not 0" in err
    code, _, err = run_cli(["price", str(cart), "--promotions", str(promos), "--at",
                            "tomorrow"], monkeypatch, capsys)
    assert code == 2 and "error: --at tomorrow：不是 ISO 8601 时间" in err
    missing = cart.parent / "nope.yaml"
    code, _, err = run_cli(["price", str(cart), "--promotions", str(missing)], monkeypatch,
                           capsys, "en")
    assert code == 2 and err.startswith(f"error: {missing}: cannot read it: ")


def test_at_without_offset_is_in_the_file_timezone(files: tuple[Path, Path],
                                                   monkeypatch: Any, capsys: Any) -> None:
    cart, promos = files
    # In UTC the window is 2026-06-18 00:00–24:00 UTC; 2026-06-18T23:30 (no offset) is in it
    # (in Shanghai time it would be 15:30 UTC, also in). 2026-06-19T06:00 is out in UTC but
    # would be in if read as Shanghai time (22:00 UTC the 18th).
    promos.write_text("timezone: UTC\n" + PROMOS, encoding="utf-8")
    data = price_json(monkeypatch, capsys, str(cart), "--promotions", str(promos),
                      "--at", "2026-06-19T06:00")
    assert data["payable"] == "220.00"
    data = price_json(monkeypatch, capsys, str(cart), "--promotions", str(promos),
                      "--at", "2026-06-18T23:30")
    assert data["payable"] == "200.00"
