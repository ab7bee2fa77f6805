"""Eligibility for flash sales, group buys and the 618 / 11.11 campaigns: each threshold of the
domain reference passing at its boundary and failing just past it, unknown facts never passing,
the campaign timeline, the facts file, the CLI's exit codes and the page."""

from __future__ import annotations

import json
from datetime import date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from promo_checks_support import app_client
from web_seed import fast_hashing, login, run_cli  # noqa: F401

from storeops.catalog.models import Product
from storeops.catalog.stores import get_or_create_store
from storeops.common.errors import StoreopsError
from storeops.db.engine import unit_of_work
from storeops.inventory import service
from storeops.pricing.eligibility import (
    CheckKind,
    Facts,
    Proposal,
    Status,
    Subject,
    check,
    next_campaign_day,
    timeline,
)
from storeops.pricing.eligibility_data import load_facts
from storeops.pricing.models import PromotionRecord

SH = ZoneInfo("Asia/Shanghai")
D = Decimal
GOOD_STORE = Facts(store_score=D("4.8"), positive_review_rate=D("97"), violations_30d=0,
                   sell_through_top_percent=D("10"))
GOOD_SKU = Facts(product_score=D("4.9"))
START = datetime(2026, 11, 11, 10, 0, tzinfo=SH)


def flash(price: str = "69.30", ref: str | None = "99.00", stock: int | None = 200,
          hours: float | None = 2, store: Facts = GOOD_STORE, sku: Facts = GOOD_SKU) -> Subject:
    end = START + timedelta(hours=hours) if hours is not None else None
    return Subject("1001", D(ref) if ref else None, stock,
                   Proposal(price=D(price), start=START if hours is not None else None, end=end),
                   store, sku)


def verdicts(kind: str, subject: Subject) -> dict[str, tuple[str, str]]:
    r = check(kind, subject)
    return {c.requirement: (c.status.value, c.text("zh-CN")) for c in r.checks}


# --- flash sale ------------------------------------------------------------------------------

def test_flash_sale_at_every_boundary_passes() -> None:
    # 69.30 is exactly 70% of 99.00; 2 h slot; 200 units; score 4.6; no violation.
    r = check("flash_sale", flash(sku=Facts(product_score=D("4.6"))))
    assert r.status is Status.PASS
    assert [c.status for c in r.checks] == [Status.PASS] * 5


def test_flash_price_above_70_percent_fails_with_its_numbers() -> None:
    v = verdicts("flash_sale", flash(price="89.00"))
    assert v["flash_price"] == ("fail", "秒杀价 89.00 高于参考价 99.00 的 70%（69.30）")
    # One cent above the limit fails too.
    assert verdicts("flash_sale", flash(price="69.31"))["flash_price"][0] == "fail"
    en = check("flash_sale", flash(price="89.00")).checks[0].text("en")
    assert en == "flash price 89.00 is above 70% of the reference price 99.00 (69.30)"


def test_flash_slot_stock_score_and_violations_just_past_the_threshold_fail() -> None:
    v = verdicts("flash_sale", flash(hours=2 + 1 / 3600, stock=199,
                                     sku=Facts(product_score=D("4.59")),
                                     store=Facts(violations_30d=1)))
    assert v["flash_duration"] == ("fail", "秒杀时长 2.01 小时，超过 2 小时（或时间段无效）")
    assert v["flash_stock"] == ("fail", "可用库存 199 件，少于 200 件")
    assert v["product_score"] == ("fail", "商品评分 4.59 低于 4.6")
    assert v["violations"] == ("fail", "近 30 天违规 1 次（须为 0）")
    # A slot that ends before it starts is no slot.
    assert verdicts("flash_sale", flash(hours=-1))["flash_duration"][0] == "fail"
    # A violation of the SKU fails even when the store's record is clean.
    assert verdicts("flash_sale", flash(sku=Facts(product_score=D("5"), violations_30d=2)))[
        "violations"][0] == "fail"


def test_unknown_facts_are_unknown_never_a_pass() -> None:
    r = check("flash_sale", flash(ref=None, stock=None, hours=None, store=Facts(), sku=Facts()))
    assert [c.status for c in r.checks] == [Status.UNKNOWN] * 5
    assert r.status is Status.UNKNOWN
    assert "商品评分未知——无法检查" in r.checks[3].text("zh-CN")
    # One failure makes the whole result fail, whatever else is unknown.
    r = check("flash_sale", flash(price="99.00", store=Facts(), sku=Facts()))
    assert r.status is Status.FAIL


# --- group buy -------------------------------------------------------------------------------

@pytest.mark.parametrize(("size", "status"), [(2, "pass"), (5, "pass"), (3, "fail"),
                                              (None, "unknown")])
def test_group_size(size: int | None, status: str) -> None:
    s = Subject("1001", D("100.00"), None, Proposal(price=D("80.00"), group_size=size))
    assert verdicts("group_buy", s)["group_size"][0] == status


def test_group_discount_at_15_percent() -> None:
    def v(**terms: Any) -> tuple[str, str]:
        s = Subject("1001", D("100.00"), None, Proposal(group_size=2, **terms))
        return verdicts("group_buy", s)["group_discount"]

    # 85.00 is exactly 15% off 100.00; 85.01 is 14.99% off.
    assert v(price=D("85.00"))[0] == "pass"
    assert v(price=D("85.01")) == (
        "fail", "拼购价 85.01 比参考价 100.00 只低 14.99%，不足 15%（须不高于 85.00）")
    assert v(percent=D("15"))[0] == "pass"  # 100.00 × 85% = 85.00
    assert v(off=D("14.99"))[0] == "fail"
    assert v()[0] == "unknown"


# --- 618 / 11.11 -----------------------------------------------------------------------------

def test_campaign_thresholds_at_the_boundary() -> None:
    edge = Facts(store_score=D("4.5"), positive_review_rate=D("95"), violations_30d=0,
                 sell_through_top_percent=D("30"))
    r = check("618", Subject(None, store_facts=edge))
    assert r.status is Status.PASS and len(r.checks) == 4  # no promotion: no window check
    past = Facts(store_score=D("4.49"), positive_review_rate=D("94.9"), violations_30d=3,
                 sell_through_top_percent=D("30.1"))
    v = verdicts("1111", Subject(None, store_facts=past))
    assert v["store_score"] == ("fail", "店铺评分 4.49 低于 4.5")
    assert v["positive_reviews"] == ("fail", "好评率 94.9% 低于 95%")
    assert v["violations"][0] == "fail"
    assert v["sell_through"] == ("fail", "动销排名类目前 30.1%，不在前 30% 内")
    # A SKU's own sell-through rank wins over the store's.
    v = verdicts("1111", Subject("1001", store_facts=past,
                                 sku_facts=Facts(sell_through_top_percent=D("5"))))
    assert v["sell_through"][0] == "pass"
    assert check("618", Subject(None)).status is Status.UNKNOWN


def test_campaign_window_within_the_months() -> None:
    def window(start: datetime, end: datetime, kind: str = "618") -> str:
        s = Subject(None, proposal=Proposal(start=start, end=end), store_facts=GOOD_STORE)
        return verdicts(kind, s)["campaign_window"][0]

    # 618 runs May 1 – June 30; an end at July 1 00:00 is exclusive: the last day is June 30.
    assert window(datetime(2026, 5, 1, tzinfo=SH), datetime(2026, 7, 1, tzinfo=SH)) == "pass"
    assert window(datetime(2026, 4, 30, 23, tzinfo=SH), datetime(2026, 6, 1, tzinfo=SH)) == \
        "fail"
    assert window(datetime(2026, 6, 18, tzinfo=SH), datetime(2026, 7, 1, 0, 1, tzinfo=SH)) == \
        "fail"
    assert window(datetime(2026, 11, 11, tzinfo=SH), datetime(2026, 11, 12, tzinfo=SH),
                  "1111") == "pass"


def test_timeline_of_618() -> None:
    # T = 2026-06-18: T−45 = 05-04, T−30 = 05-19, T−20 = 05-29, T+3 = 06-21, T+7 = 06-25.
    steps = timeline(date(2026, 6, 18), date(2026, 5, 10))
    assert [(s.key, s.due.isoformat(), s.status) for s in steps] == [
        ("budget", "2026-05-04", "overdue"), ("stock", "2026-05-19", "upcoming"),
        ("creatives", "2026-05-29", "upcoming"), ("first_review", "2026-06-21", "upcoming"),
        ("full_review", "2026-06-25", "upcoming")]
    # On 05-12 the stock step is 7 days away: due.
    assert timeline(date(2026, 6, 18), date(2026, 5, 12))[1].status == "due"
    assert next_campaign_day("618", date(2026, 6, 25)) == date(2026, 6, 18)
    assert next_campaign_day("618", date(2026, 6, 26)) == date(2027, 6, 18)
    assert next_campaign_day(CheckKind.C1111, date(2026, 12, 4)) == date(2027, 11, 11)


# --- the facts file --------------------------------------------------------------------------

def test_facts_file_csv_and_yaml(tmp_path: Path) -> None:
    f = tmp_path / "facts.csv"
    f.write_text("sku,product_score,store_score,positive_review_rate,violations_30d,"
                 "sell_through_top_percent\n,,4.7,96.5%,0,\n1001,4.8,,,,12\n", encoding="utf-8")
    table = load_facts(f)
    assert table.store == Facts(store_score=D("4.7"), positive_review_rate=D("96.5"),
                                violations_30d=0)
    assert table.of("1001") == Facts(product_score=D("4.8"),
                                     sell_through_top_percent=D("12"))
    assert table.of("9999") == Facts()
    y = tmp_path / "facts.yaml"
    y.write_text("store: {store_score: 4.6}\nskus:\n  '1001': {product_score: 4.7}\n",
                 encoding="utf-8")
    assert load_facts(y).of("1001").product_score == D("4.7")


@pytest.mark.parametrize(("text", "named"), [
    ("sku,product_score\n1001,4.8x\n", "row 2, product_score: not a number: '4.8x'"),
    ("sku,product_score\n1001,5.1\n", "row 2, product_score: expected 0–5"),
    ("sku,violations_30d\n,-1\n", "row 2, violations_30d"),
    ("sku,prodcut_score\n1001,4.8\n", "prodcut_score: unknown column"),
    ("product_score\n4.8\n", "sku: column missing"),
])
def test_facts_file_errors_name_row_and_field(tmp_path: Path, text: str, named: str) -> None:
    f = tmp_path / "facts.csv"
    f.write_text(text, encoding="utf-8")
    with pytest.raises(StoreopsError, match=named):
        load_facts(f)


def test_facts_file_errors_in_chinese(tmp_path: Path, monkeypatch: Any, capsys: Any,
                                      files: dict[str, str]) -> None:
    f = tmp_path / "bad.csv"
    f.write_text("sku,store_score\n,9\n", encoding="utf-8")
    code, _, err = cli(files, monkeypatch, capsys, "--kind", "618", "--facts", str(f))
    assert code == 2 and "bad.csv 第 2 行，store_score：须在 0–5 之间：9" in err


# --- CLI and page ----------------------------------------------------------------------------

STORE = "旗舰店"
PROMOS = """promotions:
  - {id: F1, kind: flash_sale, skus: ["1001"], price: "89.00",
     start: "2026-11-11T10:00", end: "2026-11-11T12:00"}
  - {id: F2, kind: flash_sale, skus: ["1001", "1002"], price: "69.00",
     start: "2026-11-11T10:00", end: "2026-11-11T12:00"}
  - {id: G1, kind: group_buy, skus: ["1001"], price: "84.00", group_size: 5}
"""
FACTS = "sku,product_score,store_score,positive_review_rate,violations_30d\n" \
        ",,4.7,96,0\n1001,4.8,,,\n1002,4.7,,,\n"


def seed(db_url: str) -> int:
    """1001: list 99.00, 500 in the product data (no ledger); 1002: list 99.00, 150 received
    into the stock ledger (which wins over its product data)."""
    with unit_of_work(db_url) as s:
        store, _ = get_or_create_store(s, STORE)
        s.add_all([Product(store_id=store.id, platform_sku_id="1001", list_price_cents=9900,
                           stock=500),
                   Product(store_id=store.id, platform_sku_id="1002", list_price_cents=9900,
                           stock=900)])
        s.flush()
        service.receive(s, store.id, "1002", 150, actor="test")
        s.add(PromotionRecord(store_id=store.id, code="F2", kind="flash_sale", status="draft",
                              spec_json=json.dumps({"id": "F2", "kind": "flash_sale",
                                                    "skus": ["1001"], "price": "69.00",
                                                    "start": "2026-11-11T10:00",
                                                    "end": "2026-11-11T12:00"})))
        return store.id


@pytest.fixture
def files(sqlite_db_url: str, tmp_path: Path) -> dict[str, str]:
    seed(sqlite_db_url)
    (tmp_path / "promos.yaml").write_text(PROMOS, encoding="utf-8")
    (tmp_path / "facts.csv").write_text(FACTS, encoding="utf-8")
    return {"db": sqlite_db_url, "promos": str(tmp_path / "promos.yaml"),
            "facts": str(tmp_path / "facts.csv")}


def cli(files: dict[str, str], monkeypatch: Any, capsys: Any, *args: str,
        lang: str | None = None) -> tuple[int, str, str]:
    return run_cli(["promo", "eligibility", "--store", STORE, *args, "--db", files["db"]],
                   monkeypatch, capsys, lang=lang)


def test_cli_exit_codes(files: dict[str, str], monkeypatch: Any, capsys: Any) -> None:
    code, out, _ = cli(files, monkeypatch, capsys, "--kind", "flash_sale", "--promotions",
                       files["promos"], "--promotion", "F1", "--facts", files["facts"])
    assert code == 1 and "✗ 秒杀价 89.00 高于参考价 99.00 的 70%（69.30）" in out
    # F2 over both SKUs: 1001 passes (500 units in the product data); 1002 has 150 available
    # in the ledger (its product data's 900 is not what counts): fails on stock.
    code, out, _ = cli(files, monkeypatch, capsys, "--kind", "flash_sale", "--promotions",
                       files["promos"], "--promotion", "F2", "--facts", files["facts"], "--json")
    data = json.loads(out)
    assert code == 1 and data["status"] == "fail"
    assert [(r["sku"], r["status"]) for r in data["results"]] == [("1001", "pass"),
                                                                  ("1002", "fail")]
    stock = next(c for c in data["results"][1]["checks"] if c["requirement"] == "flash_stock")
    assert stock["params"] == {"stock": "150", "limit": "200"}
    # All pass: exit 0 (the stored promotion F2, SKU 1001).
    code, out, err = cli(files, monkeypatch, capsys, "--kind", "flash_sale", "--promotion",
                         "F2", "--sku", "1001", "--facts", files["facts"])
    assert code == 0, out + err
    # Without the facts file: unknown, not a pass → exit 1.
    code, out, _ = cli(files, monkeypatch, capsys, "--kind", "flash_sale", "--promotion", "F2",
                       "--sku", "1001", lang="en")
    assert code == 1 and "? product score unknown — cannot check" in out
    # Group buy: 84.00 is 15.15% off 99.00, a 5-person group.
    code, out, _ = cli(files, monkeypatch, capsys, "--kind", "group_buy", "--promotions",
                       files["promos"], "--promotion", "G1")
    assert code == 0 and "5 人团" in out


def test_cli_campaign_and_timeline(files: dict[str, str], monkeypatch: Any,
                                   capsys: Any) -> None:
    code, out, _ = cli(files, monkeypatch, capsys, "--kind", "1111", "--facts", files["facts"],
                       "--today", "2026-09-20", "--json")
    data = json.loads(out)
    # Sell-through is not in the facts: unknown → exit 1.
    assert code == 1 and data["status"] == "unknown"
    # T = 2026-11-11: T−45 = 09-27 (due in 7 days), T−30 = 10-12, T−20 = 10-22.
    assert [(s["step"], s["due"], s["status"]) for s in data["timeline"]["steps"]][:3] == [
        ("budget", "2026-09-27", "due"), ("stock", "2026-10-12", "upcoming"),
        ("creatives", "2026-10-22", "upcoming")]


def test_cli_promotions_file_without_a_code(files: dict[str, str], monkeypatch: Any,
                                           capsys: Any) -> None:
    # G1 is the file's only group buy: checked without --promotion (84.00 is 15.15% off 99.00).
    code, out, _ = cli(files, monkeypatch, capsys, "--kind", "group_buy", "--promotions",
                       files["promos"])
    assert code == 0 and "拼购价 84.00 比参考价 99.00 低 15.15%" in out
    # Two flash sales: which one must be said.
    code, _, err = cli(files, monkeypatch, capsys, "--kind", "flash_sale", "--promotions",
                       files["promos"])
    assert code == 2 and "--promotion" in err and "2" in err


@pytest.mark.parametrize(("args", "named"), [
    (("--kind", "flash"), "flash"),
    (("--kind", "flash_sale", "--sku", "NOPE"), "NOPE"),
    (("--kind", "flash_sale"), "--sku"),
    (("--kind", "flash_sale", "--promotion", "ZZ"), "ZZ"),
])
def test_cli_usage_errors_exit_2(files: dict[str, str], monkeypatch: Any, capsys: Any,
                                 args: tuple[str, ...], named: str) -> None:
    code, _, err = cli(files, monkeypatch, capsys, *args)
    assert code == 2 and named in err


@pytest.fixture
def page_client(db_url: str) -> Any:
    seed(db_url)
    with app_client(db_url, {"analyst": "analyst", "robot": "integration"}) as c:
        yield c


pytestmark = pytest.mark.usefixtures("fast_hashing")


def test_page_shows_pass_fail_unknown(page_client: Any) -> None:
    login(page_client, "analyst")
    r = page_client.get("/promotions/eligibility?kind=flash_sale&sku=1001&price=89"
                        "&start=2026-11-11 10:00&end=2026-11-11 12:00&product_score=4.8")
    assert r.status_code == 200
    html = r.text
    assert 'data-requirement="flash_price" data-status="fail"' in html
    assert "秒杀价 89.00 高于参考价 99.00 的 70%（69.30）" in html
    assert 'data-requirement="flash_stock" data-status="pass"' in html
    assert 'data-requirement="product_score" data-status="pass"' in html
    assert 'data-requirement="violations" data-status="unknown"' in html
    # The stored promotion's terms: F2 at 69.00 passes the price.
    r = page_client.get("/promotions/eligibility?kind=flash_sale&sku=1001&promotion=F2")
    assert 'data-requirement="flash_price" data-status="pass"' in r.text
    r = page_client.get("/promotions/eligibility?kind=618&lang=en")
    assert r.status_code == 200 and 'id="campaign-timeline"' in r.text
    assert "store score unknown — cannot check" in r.text


def test_page_field_errors_keep_values(page_client: Any) -> None:
    login(page_client, "analyst")
    r = page_client.get("/promotions/eligibility?kind=flash_sale&sku=1001&price=abc"
                        "&product_score=7")
    assert r.status_code == 422
    assert 'value="abc"' in r.text and 'value="7"' in r.text
    assert 'id="eligibility-price-error"' in r.text and "不是有效的数字" in r.text
    assert 'id="eligibility-product_score-error">须在 0–5 之间<' in r.text
    r = page_client.get("/promotions/eligibility?kind=flash_sale&sku=NOPE")
    assert r.status_code == 422 and 'id="eligibility-sku-error"' in r.text
    assert 'value="NOPE"' in r.text
    r = page_client.get("/promotions/eligibility?kind=flash_sale&sku=1001&promotion=ZZ")
    assert r.status_code == 422 and 'id="eligibility-promotion-error"' in r.text
    assert page_client.get("/promotions/eligibility").status_code == 200  # the empty form


def test_page_needs_promo_view(page_client: Any) -> None:
    login(page_client, "robot")
    assert page_client.get("/promotions/eligibility?kind=618").status_code == 403
