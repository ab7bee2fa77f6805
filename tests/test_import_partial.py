"""A later file that holds only some lines of a stored order never deletes the others
(issue 10): lines are matched and updated; only a file marked complete replaces orders whole."""

from __future__ import annotations

import shutil
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import select

from storeops.catalog.models import Store
from storeops.db.engine import unit_of_work
from storeops.importers.service import import_file
from storeops.metrics.service import kpi_summary
from storeops.orders.models import Order, OrderLine

ROOT = Path(__file__).resolve().parents[1]
MAPPING = ROOT / "examples" / "mappings" / "online_retail.yaml"
SLICE = Path(__file__).parent / "data" / "import" / "online_retail_slice.csv"
INVOICE = "536551"  # 35 lines in the slice; its first 10 are in the slice's first 2,000 lines
DAY = date(2010, 12, 1)


def _head(tmp_path: Path, lines: int) -> Path:
    target = tmp_path / f"head{lines}.csv"
    with SLICE.open(encoding="utf-8") as src, target.open("w", encoding="utf-8") as dst:
        for i, line in enumerate(src):
            if i >= lines:
                break
            dst.write(line)
    return target


def _order_state(db_url: str) -> tuple[tuple, list[tuple]]:
    with unit_of_work(db_url) as s:
        order = s.scalar(select(Order).where(Order.platform_order_id == INVOICE))
        lines = s.execute(select(OrderLine.line_no, OrderLine.product_id, OrderLine.quantity,
                                 OrderLine.unit_price_e4, OrderLine.amount_cents)
                          .where(OrderLine.order_id == order.id)
                          .order_by(OrderLine.line_no)).all()
        head = (order.id, order.goods_cents, order.freight_cents, order.paid_cents,
                order.content_hash, order.row_version)
        return head, [tuple(r) for r in lines]


def _day(db_url: str) -> dict:
    with unit_of_work(db_url) as s:
        store_id = s.scalar(select(Store.id).where(Store.name == "uk"))
    return kpi_summary(db_url, store_id, DAY, DAY)


def test_first_lines_of_a_file_keep_the_lines_they_omit(db_url: str, tmp_path: Path) -> None:
    whole = tmp_path / "whole.csv"
    shutil.copy(SLICE, whole)
    import_file(db_url, "orders", whole, mapping=MAPPING, store="uk")
    before, day_before = _order_state(db_url), _day(db_url)
    assert len(before[1]) == 35

    summary = import_file(db_url, "orders", _head(tmp_path, 2000), mapping=MAPPING,
                          store="uk")
    assert _order_state(db_url) == before  # same lines, same totals, same row_version
    after = _day(db_url)
    assert (after["gmv"], after["orders"], after["goods_gmv"]) == (
        day_before["gmv"], day_before["orders"], day_before["goods_gmv"])
    assert (summary.orders_updated, summary.orders_created) == (0, 0)
    assert (summary.orders_partial, summary.lines_kept) == (1, 25)
    with unit_of_work(db_url) as s:
        assert s.scalar(select(Store.data_version)) == 1  # nothing changed: no new version

    # the same partial file again changes nothing either
    again = import_file(db_url, "orders", _head(tmp_path, 2000), mapping=MAPPING, store="uk")
    assert (again.orders_updated, again.orders_partial) == (0, 1)
    assert _order_state(db_url) == before


def test_changed_line_of_a_partial_order_is_updated_and_the_rest_kept(
    db_url: str, tmp_path: Path,
) -> None:
    whole = tmp_path / "whole.csv"
    shutil.copy(SLICE, whole)
    import_file(db_url, "orders", whole, mapping=MAPPING, store="uk")
    (order_id, goods, *_rest, version), lines = _order_state(db_url)
    text = _head(tmp_path, 2000).read_text(encoding="utf-8").splitlines(keepends=True)
    # the order's first line: 84970L, quantity 1 at 0.95 → quantity 3
    first = next(i for i, line in enumerate(text) if line.startswith(f"{INVOICE},84970L,"))
    text[first] = text[first].replace(",1,2010-12-01", ",3,2010-12-01")
    changed = tmp_path / "changed.csv"
    changed.write_text("".join(text), encoding="utf-8")
    summary = import_file(db_url, "orders", changed, mapping=MAPPING, store="uk")
    assert (summary.orders_updated, summary.orders_partial, summary.lines_kept) == (1, 1, 25)
    (new_id, new_goods, *_rest, new_version), new_lines = _order_state(db_url)
    assert new_id == order_id and new_goods == goods + 190
    assert new_version > version  # the warehouse sees the change
    assert len(new_lines) == 35
    assert new_lines[0][2] == 3 and new_lines[1:] == lines[1:]
    # other orders of the file were not touched: their row_version stays
    with unit_of_work(db_url) as s:
        assert s.scalar(select(Order.row_version).where(
            Order.platform_order_id == "536365")) == version


def test_a_file_marked_complete_replaces_the_order_whole(db_url: str, tmp_path: Path) -> None:
    whole = tmp_path / "whole.csv"
    shutil.copy(SLICE, whole)
    import_file(db_url, "orders", whole, mapping=MAPPING, store="uk")
    summary = import_file(db_url, "orders", _head(tmp_path, 2000), mapping=MAPPING,
                          store="uk", complete=True)
    assert (summary.orders_updated, summary.orders_partial) == (1, 0)
    assert len(_order_state(db_url)[1]) == 10


def test_cli_complete_flag_and_partial_summary(tmp_path: Path, monkeypatch) -> None:
    from typer.testing import CliRunner

    from storeops.cli import app

    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("STOREOPS_LANG", "en")
    whole = tmp_path / "whole.csv"
    shutil.copy(SLICE, whole)
    db = str(tmp_path / "s.db")
    base = ["import", "orders", "--mapping", str(MAPPING), "--store", "uk", "--db", db]
    assert CliRunner().invoke(app, [*base, str(whole), "--json"]).exit_code == 0
    head = _head(tmp_path, 2000)
    result = CliRunner().invoke(app, [*base, str(head)])
    assert result.exit_code == 0, result.output
    assert "orders only partly in the file" in result.output
    assert "stored lines not in the file, kept" in result.output
    result = CliRunner().invoke(app, [*base, str(head), "--complete", "--json"])
    assert result.exit_code == 0, result.output
    assert '"orders_updated": 1' in result.output


def test_jd_export_cut_inside_an_order(db_url: str, tmp_path: Path) -> None:
    from test_import_jd import base_rows, write_csv

    import_file(db_url, "orders", write_csv(tmp_path / "all.csv", base_rows()), fmt="jd")
    with unit_of_work(db_url) as s:
        before = {o.platform_order_id: (o.goods_cents, o.seller_discount_cents, o.paid_cents,
                                        o.content_hash, o.row_version)
                  for o in s.scalars(select(Order))}
        lines_before = sorted(s.execute(select(OrderLine.order_id, OrderLine.line_no,
                                               OrderLine.amount_cents)).all())
    # an export cut at a row limit: 1001's first line only, 1003's first two
    cut = [base_rows()[i] for i in (0, 3, 4)]
    summary = import_file(db_url, "orders", write_csv(tmp_path / "cut.csv", cut), fmt="jd")
    assert (summary.orders_updated, summary.orders_unchanged) == (0, 2)
    assert (summary.orders_partial, summary.lines_kept) == (2, 2)
    with unit_of_work(db_url) as s:
        assert {o.platform_order_id: (o.goods_cents, o.seller_discount_cents, o.paid_cents,
                                      o.content_hash, o.row_version)
                for o in s.scalars(select(Order))} == before
        assert sorted(s.execute(select(OrderLine.order_id, OrderLine.line_no,
                                       OrderLine.amount_cents)).all()) == lines_before
    # the same cut export, 1001 now finished later: updated, its other line kept, and its
    # lines still add up to what was settled (22.00 after the 3.00 seller discount)
    for row in cut:
        row["订单完成时间"] = "2026-11-14 10:00:00"
    summary = import_file(db_url, "orders", write_csv(tmp_path / "cut2.csv", cut), fmt="jd")
    assert (summary.orders_updated, summary.lines_kept) == (2, 2)
    with unit_of_work(db_url) as s:
        o1 = s.scalar(select(Order).where(Order.platform_order_id == "1001"))
        amounts = s.scalars(select(OrderLine.amount_cents).where(
            OrderLine.order_id == o1.id).order_by(OrderLine.line_no)).all()
        assert (o1.goods_cents, o1.seller_discount_cents, o1.row_version) == (2500, 300, 2)
        assert sum(amounts) == 2200 and len(amounts) == 2


@pytest.fixture(autouse=True)
def _work_in_tmp_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Rejects files go to the working directory: keep them out of the repository."""
    monkeypatch.chdir(tmp_path)
