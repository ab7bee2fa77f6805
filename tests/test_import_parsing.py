"""Exact parsing of amounts, prices and counts; contact masking; mapping files."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import polars as pl
import pytest

from storeops.common.money import line_amount_cents
from storeops.importers.mapping import MappingError, load_mapping
from storeops.importers.parsing import cents_of, parse_cents, parse_int, parse_price_e4
from storeops.members.masking import mask_contact, mask_contact_expr


def test_prices_and_amounts_are_exact() -> None:
    texts = ["0.165", "2.55", "1,234.50", "¥12", "-3.335", "0.001", "100", "abc", None, "1e5"]
    e4 = parse_price_e4(pl.Series(texts)).to_list()
    assert e4 == [1650, 25500, 12345000, 120000, -33350, 10, 1000000, None, None, 1000000000]
    cents = parse_cents(pl.Series(texts)).to_list()
    assert cents == [17, 255, 123450, 1200, -334, 0, 10000, None, None, 10000000]
    assert parse_int(pl.Series(["3", "3.0", "3.5", "-2", "x"])).to_list() == [3, 3, None, -2, None]


def test_line_amounts_match_the_money_module() -> None:
    prices = [1650, 25500, 10, 5, 15, 49, 50, 51, 99995, -1650]
    quantities = [1, 3, 7, 1, 3, 1, 1, 1, 3, 2]
    frame = pl.DataFrame({"p": prices, "q": quantities})
    got = frame.select(cents_of(pl.col("p"), pl.col("q"))).to_series().to_list()
    assert got == [line_amount_cents(p, q) for p, q in zip(prices, quantities, strict=True)]
    assert line_amount_cents(1650, 1) == int(Decimal("0.165") * 100 + Decimal("0.5"))


def test_contact_masking() -> None:
    cases = {"13812345678": "138****5678", "+86 139-0000-1111": "861****1111",
             "138****5678": "138****5678", "": None, None: None, "12345": "****"}
    for text, masked in cases.items():
        assert mask_contact(text) == masked
    series = pl.DataFrame({"c": list(cases)}).select(mask_contact_expr("c")).to_series()
    assert series.to_list() == list(cases.values())


def test_mapping_errors(tmp_path: Path) -> None:
    bad = tmp_path / "m.yaml"
    bad.write_text("columns:\n  order_id: A\n", encoding="utf-8")
    with pytest.raises(MappingError, match="sku"):
        load_mapping(bad)
    bad.write_text("columns: [1\n", encoding="utf-8")
    with pytest.raises(MappingError, match="YAML"):
        load_mapping(bad)
    bad.write_text("timezone: Mars/Base\ncolumns: {order_id: a, sku: b, quantity: c, "
                   "unit_price: d, time: e}\n", encoding="utf-8")
    with pytest.raises(MappingError, match="Mars/Base"):
        load_mapping(bad)
    bad.write_text("duplicate_rows: drop\ncolumns: {order_id: a, sku: b, quantity: c, "
                   "unit_price: d, time: e}\n", encoding="utf-8")
    with pytest.raises(MappingError, match="duplicate_rows"):
        load_mapping(bad)
    example = load_mapping(Path(__file__).resolve().parents[1] / "examples" / "mappings"
                           / "online_retail.yaml")
    assert example.duplicate_rows == "keep"
    assert (example.timezone, example.currency, example.refund_order_prefix) == (
        "Europe/London", "GBP", "C")


@pytest.fixture(autouse=True)
def _work_in_tmp_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Rejects files go to the working directory: keep them out of the repository."""
    monkeypatch.chdir(tmp_path)
