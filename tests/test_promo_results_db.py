"""A promotion's results from the database (SQLite and PostgreSQL): the figures of the seeded
example (tests/promo_results_seed.py, computed by hand in tests/test_promo_results.py), the CLI
(JSON, text, XLSX, a promotion not yet ended refused unless --so-far, unknown code), the page
(cards, table, chart options, who may see it) and its XLSX download."""

from __future__ import annotations

import io
import json
import re
from datetime import UTC, datetime
from decimal import Decimal as D
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from promo_results_seed import PROMO_STORE, PromoSeed, seed_promo
from web_seed import PASSWORD, fast_hashing, login, run_cli  # noqa: F401

from storeops.accounts.users import create_user
from storeops.db.engine import session_factory, unit_of_work
from storeops.pricing import results_query

AFTER = datetime(2026, 12, 1, tzinfo=UTC)


def test_figures_from_the_database(db_url: str) -> None:
    seed = seed_promo(db_url)
    with session_factory(db_url)() as s:
        record = results_query.find_promotion(s, seed.store_id, "P1111")
        r = results_query.results_for(s, record, moment=AFTER)
    t = r.total
    # See promo_results_seed's docstring: 375 during, 112.50 baseline, 75 of discount …
    assert (t.during.gmv, t.during.units, t.during.orders, t.during.buyers) == (
        D("375.00"), 6, 4, 3)
    assert (t.baseline.gmv, t.discount_cost, t.during.margin, t.baseline.margin) == (
        D("112.50"), D("75.00"), D("172.20"), D("61.50"))
    assert (t.incremental_gmv, t.incremental_margin, t.roi) == (
        D("262.50"), D("110.70"), D("1.4760"))
    # A's commission is 数码's 5% (category_commissions), B's the store's 8%.
    assert [(c.sku, c.during.commission) for c in r.skus] == [("A", D("12.00")),
                                                               ("B", D("10.80"))]
    assert not r.so_far


def test_running_promotion_refused_unless_so_far(db_url: str) -> None:
    seed = seed_promo(db_url)
    with session_factory(db_url)() as s:
        record = results_query.find_promotion(s, seed.store_id, "LIVE")
        with pytest.raises(results_query.PromoResultsError) as exc:
            results_query.results_for(s, record, moment=AFTER)
        assert exc.value.key == "promo_results.not_ended"
        r = results_query.results_for(s, record, moment=AFTER, so_far=True)
    # From 11-11 10:00 up to AFTER, every SKU: P1111's 375, C's 30 in D1 and D6's 80 (paid
    # at 12:00, after P1111 ended) = 485.
    assert r.so_far and r.end == AFTER and r.total.during.gmv == D("485.00")
    with pytest.raises(results_query.PromoResultsError) as missing:
        with session_factory(db_url)() as s:
            results_query.find_promotion(s, seed.store_id, "NOPE")
    assert missing.value.key == "promo_results.not_found"


# --- the CLI -------------------------------------------------------------------------------


def test_cli_json_and_xlsx(db_url: str, tmp_path: Path, monkeypatch: Any, capsys: Any) -> None:
    seed_promo(db_url)
    out = tmp_path / "结果.xlsx"
    code, stdout, err = run_cli(["promo", "results", "P1111", "--store", PROMO_STORE, "--db",
                                 db_url, "--json", "--xlsx", str(out)], monkeypatch, capsys)
    assert code == 0, err
    data = json.loads(stdout)
    assert data["promotion"] == "P1111" and data["so_far"] is False
    assert (data["start"], data["end"]) == ("2026-11-11T10:00:00+08:00",
                                            "2026-11-11T12:00:00+08:00")
    assert data["total"]["during"]["gmv"] == "375.00"
    assert data["total"]["baseline"]["gmv"] == "112.50"
    assert data["total"]["incremental_gmv"] == "262.50"
    assert data["total"]["discount_cost"] == "75.00"
    assert data["total"]["margin"] == "172.20"
    assert data["total"]["roi"] == "1.4760"
    assert [(s["sku"], s["roi"]) for s in data["skus"]] == [("A", "0.8833"), ("B", "3.8467")]
    assert data["days"] == [{"day": "2026-11-11", "gmv": "375.00", "baseline_gmv": "112.50"}]
    sheet = openpyxl.load_workbook(out).active
    header = [c.value for c in sheet[1]]
    assert header[:5] == ["SKU", "商品名称", "成交金额", "基线成交金额", "增量成交金额"]
    rows = {r[0]: dict(zip(header, r, strict=True))
            for r in sheet.iter_rows(min_row=2, values_only=True)}
    assert set(rows) == {"合计", "A", "B"}
    assert rows["合计"]["成交金额"] == 375 and rows["合计"]["优惠成本"] == 75
    assert rows["合计"]["增量毛利"] == pytest.approx(110.70)
    assert rows["A"]["成交件数"] == 3 and rows["A"]["ROI"] == pytest.approx(0.8833)
    assert rows["B"]["毛利"] == pytest.approx(64.20)


def test_cli_text_and_refusals(db_url: str, monkeypatch: Any, capsys: Any) -> None:
    seed_promo(db_url)
    base = ["promo", "results", "--store", PROMO_STORE, "--db", db_url]
    code, out, err = run_cli([*base[:2], "P1111", *base[2:]], monkeypatch, capsys)
    assert code == 0, err
    assert "促销 P1111：2026-11-11 10:00 至 2026-11-11 12:00" in out
    assert "成交金额 ¥375.00（基线 ¥112.50，增量 ¥262.50）" in out
    assert "ROI 1.4760" in out
    code, out, err = run_cli([*base[:2], "LIVE", *base[2:]], monkeypatch, capsys)
    assert code == 2 and "促销 LIVE 尚未结束" in err and "--so-far" in err
    code, out, err = run_cli([*base[:2], "LIVE", *base[2:]], monkeypatch, capsys, lang="en")
    assert code == 2 and "Promotion LIVE has not ended yet" in err
    code, out, err = run_cli([*base[:2], "LIVE", *base[2:], "--so-far", "--json"], monkeypatch,
                             capsys)
    assert code == 0 and json.loads(out)["so_far"] is True
    code, out, err = run_cli([*base[:2], "NOPE", *base[2:]], monkeypatch, capsys)
    assert code == 2 and "没有编号为 NOPE 的促销" in err


# --- the page ------------------------------------------------------------------------------



@pytest.fixture
def promo_page(seeded: tuple[str, int], fast_hashing: None) -> PromoSeed:  # noqa: F811
    seed = seed_promo(seeded[0])
    with unit_of_work(seeded[0]) as s:
        create_user(s, "robot", PASSWORD, "integration")
    return seed


def card(html: str, key: str) -> str:
    found = re.search(rf'data-metric="{key}">(.*?)</article>', html, re.S)
    assert found, key
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", found.group(1))).strip()


def test_page_cards_table_and_chart(client: Any, promo_page: PromoSeed) -> None:
    login(client, "analyst")  # PROMO_VIEW
    r = client.get(f"/promotions/{promo_page.ended_id}/results")
    assert r.status_code == 200, r.text
    html = r.text
    assert "促销效果" in html and "双11 P1111" in html
    # GMV 375 vs baseline 112.50: ▲ 233.3%, red (a rise)
    assert card(html, "gmv") == "成交金额 ¥375.00 较基线 ▲ 233.3% 基线 ¥112.50"
    assert 'class="change rise"' in html
    assert card(html, "incremental_gmv").startswith("增量成交金额 ¥262.50")
    assert card(html, "discount_cost").startswith("优惠成本 ¥75.00")
    assert "毛利（扣成本与佣金） ¥172.20" in card(html, "margin")
    assert card(html, "roi").startswith("ROI（增量毛利 ÷ 优惠成本） 1.48")
    row_a = re.search(r'<tr data-sku="A">(.*?)</tr>', html, re.S).group(1)
    assert "¥240.00" in row_a and "¥140.00" in row_a and "0.88" in row_a
    options = json.loads(re.search(r'id="chart-options">(.*?)</script>', html, re.S).group(1))
    chart = options["promo_results"]
    assert chart["series"][0]["data"] == [375.0] and chart["series"][1]["data"] == [112.5]
    assert "<script>" not in html.split('id="chart-options"')[0].split("</head>")[1]


def test_page_english_running_promotion_and_missing(client: Any, promo_page: PromoSeed) -> None:
    login(client, "operator")
    r = client.get(f"/promotions/{promo_page.live_id}/results?lang=en")
    assert r.status_code == 200
    assert "The promotion has not ended: figures so far." in r.text
    assert "Promotion results" in r.text
    assert client.get("/promotions/999999/results").status_code == 404


def test_page_and_xlsx_forbidden_without_promo_view(client: Any, promo_page: PromoSeed) -> None:
    login(client, "robot")  # integration: no PROMO_VIEW
    assert client.get(f"/promotions/{promo_page.ended_id}/results").status_code == 403
    assert client.get(f"/promotions/{promo_page.ended_id}/results.xlsx").status_code == 403


def test_xlsx_download(client: Any, promo_page: PromoSeed) -> None:
    login(client, "owner")
    r = client.get(f"/promotions/{promo_page.ended_id}/results.xlsx")
    assert r.status_code == 200
    assert "P1111_results.xlsx" in r.headers["content-disposition"]
    sheet = openpyxl.load_workbook(io.BytesIO(r.content)).active
    assert sheet.title == "促销效果 P1111"
    values = list(sheet.iter_rows(min_row=2, values_only=True))
    assert [v[0] for v in values] == ["合计", "A", "B"]
    assert values[0][2:5] == (375, 112.5, 262.5)


def test_page_of_a_promotion_not_started(client: Any, promo_page: PromoSeed,
                                         seeded: tuple[str, int]) -> None:
    from storeops.pricing.models import PromotionRecord

    with unit_of_work(seeded[0]) as s:
        later = PromotionRecord(
            store_id=promo_page.store_id, code="LATER", kind="direct", status="scheduled",
            spec_json='{"id": "LATER", "kind": "direct", "skus": "all", "off": 5}',
            start_at=datetime(2099, 1, 1, tzinfo=UTC), end_at=datetime(2099, 1, 2, tzinfo=UTC))
        s.add(later)
        s.flush()
        later_id = later.id
    login(client, "analyst")
    r = client.get(f"/promotions/{later_id}/results")
    assert r.status_code == 409 and "促销 LATER 尚未开始" in r.text
    assert client.get(f"/promotions/{later_id}/results.xlsx").status_code == 409
    assert client.get("/promotions/999999/results.xlsx").status_code == 404


def test_scope_of_a_coupon_and_a_bad_spec() -> None:
    from storeops.pricing.models import PromotionRecord

    coupon = PromotionRecord(code="Q1", kind="coupon", spec_json=json.dumps(
        {"id": "Q1", "scope": "shop", "threshold": 100, "off": 10, "skus": ["A"]}))
    scope = results_query.promotion_scope(coupon, "Asia/Shanghai")
    assert scope.covers("A") and not scope.covers("B")
    broken = PromotionRecord(code="X", kind="direct", spec_json="[1, 2]")
    with pytest.raises(results_query.PromoResultsError) as exc:
        results_query.promotion_scope(broken, "Asia/Shanghai")
    assert exc.value.key == "promo_results.bad_spec"
