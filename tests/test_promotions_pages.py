"""The promotions pages (/promotions, /promotions/{id}): the calendar's bars, the list and its
filters, conflicts, the import form (errors naming promotion and field, nothing written), the
approve flow through the forms, who may see and do what."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from promotions_support import fake_audit
from sqlalchemy import func, select, update
from web_seed import PASSWORD, fast_hashing, login  # noqa: F401

from storeops.accounts.users import create_user
from storeops.catalog.models import Product
from storeops.db.engine import unit_of_work
from storeops.pricing import service
from storeops.pricing.models import PromotionRecord

pytestmark = pytest.mark.usefixtures("fast_hashing")
REAL_AUDIT = service.run_audit

FILE = {
    "promotions": [
        # 1001 lists at 199.00 with a floor of 150.00 (set below): 129.00 breaks it
        {"id": "CUT-1001", "kind": "direct", "name": "耳机直降", "skus": ["1001"],
         "price": "129.00", "start": "2026-06-10T00:00", "end": "2026-06-13T00:00"},
        {"id": "MJ-ALL", "kind": "full_reduction", "name": "满199减30", "skus": "all",
         "tiers": [{"threshold": "199.00", "off": "30.00"}],
         "start": "2026-05-25T00:00", "end": "2026-06-05T00:00"},
        # 1002 lists at 129.00: 70% is 90.30, the flash price 99.00 is above it
        {"id": "FS-1002", "kind": "flash_sale", "skus": ["1002"], "price": "99.00",
         "start": "2026-07-01T20:00", "end": "2026-07-01T22:00"},
    ],
}


@pytest.fixture
def shop(seeded: tuple[str, int], monkeypatch: pytest.MonkeyPatch) -> tuple[str, int]:
    db_url, store_id = seeded
    monkeypatch.setattr(service, "run_audit", fake_audit)
    with unit_of_work(db_url) as s:
        s.execute(update(Product).where(Product.platform_sku_id == "1001")
                  .values(floor_price_cents=15000))
        create_user(s, "chief", PASSWORD, "owner")
        create_user(s, "robot", PASSWORD, "integration")
    return seeded


def upload(client: Any, data: dict[str, Any] | str, name: str = "promos.json") -> Any:
    body = data if isinstance(data, str) else json.dumps(data, ensure_ascii=False)
    return client.post("/promotions/import", files={"file": (name, body.encode(),
                                                            "application/json")})


def promo_id(db_url: str, code: str) -> int:
    with unit_of_work(db_url) as s:
        return s.scalar(select(PromotionRecord.id).where(PromotionRecord.code == code))


def bars(html: str) -> list[tuple[str, str, str]]:
    """(colspan, status, promotion id) of the calendar's bars, in row order."""
    return re.findall(r'<td colspan="(\d+)" class="promo-bar promo-(\w+)[^"]*" '
                      r'data-promo="(\d+)"', html)


def test_import_calendar_list_and_conflicts(client: Any, shop: tuple[str, int]) -> None:
    db_url, _ = shop
    login(client, "operator")
    page = client.get("/promotions")
    assert page.status_code == 200 and 'data-action="import"' in page.text
    assert "破价审计" in page.text and "/promotions/protection" in page.text
    r = upload(client, FILE)
    assert r.status_code == 200 and "新建 3，修改 0，未变 0" in r.text
    june = client.get("/promotions?month=2026-06")
    # June 2026 has 30 days. CUT-1001: 06-10 .. 06-12 (ends 06-13 00:00): 9 empty, 3 days,
    # 18 after. MJ-ALL runs from May: 06-01 .. 06-04, 4 days, then 26 empty.
    cut, mj = promo_id(db_url, "CUT-1001"), promo_id(db_url, "MJ-ALL")
    assert bars(june.text) == [("4", "draft", str(mj)), ("3", "draft", str(cut))]
    assert '<td colspan="9"></td>' in june.text and '<td colspan="18"></td>' in june.text
    assert "cont-left" in june.text  # MJ-ALL started in May
    # the flash sale only shows in July; the list shows all three
    assert len(bars(client.get("/promotions?month=2026-07").text)) == 1
    assert june.text.count('data-promo-row="') == 3
    # the conflict: FS-1002 above 70% of 1002's price
    assert 'data-conflict="flash_above_reference"' in june.text
    assert "秒杀 FS-1002 的价格 99.00 元高于 SKU 1002 参考价 129.00 元的 70%" in june.text
    flash = client.get("/promotions?kind=flash_sale&month=2026-06")
    assert flash.text.count('data-promo-row="') == 1 and bars(flash.text) == []
    assert client.get("/promotions?status=live").text.count('data-promo-row="') == 0
    en = client.get("/promotions?lang=en&month=2026-06")
    client.cookies.delete("lang")
    assert "Price floor audit" in en.text and "Flash sale FS-1002: its price 99.00" in en.text
    # export: the file the page downloads imports back unchanged
    exported = client.get("/promotions/export")
    assert exported.status_code == 200 and "CUT-1001" in exported.text
    again = upload(client, exported.text, "promotions.yaml")
    assert "新建 0，修改 0，未变 3" in again.text


def test_bad_upload_names_promotion_and_field_and_writes_nothing(client: Any,
                                                                 shop: tuple[str, int]
                                                                 ) -> None:
    db_url, _ = shop
    login(client, "operator")
    bad = json.loads(json.dumps(FILE))
    bad["promotions"][1]["tiers"][0]["off"] = "-5"
    r = upload(client, bad)
    assert r.status_code == 422
    error = re.search(r'data-error="import">([^<]+)<', r.text).group(1)
    assert "MJ-ALL" in error and "off" in error and "promos.json" in error
    with unit_of_work(db_url) as s:
        assert s.scalar(select(func.count()).select_from(PromotionRecord)) == 0
    r = upload(client, "promotions: [oops", "broken.yaml")
    assert r.status_code == 422 and "broken.yaml" in r.text
    r = client.post("/promotions/import", data={"x": "1"})
    assert r.status_code == 422 and 'data-error="import"' in r.text


def test_approve_flow_through_the_forms(client: Any, shop: tuple[str, int]) -> None:
    db_url, _ = shop
    login(client, "operator")
    upload(client, FILE)
    cut = promo_id(db_url, "CUT-1001")
    page = client.get(f"/promotions/{cut}")
    assert page.status_code == 200
    assert 'data-breach="1001"' in page.text and "129.00" in page.text
    assert 'data-action="approve"' not in page.text  # the operator may not approve
    refused = client.post(f"/promotions/{cut}/schedule")
    assert refused.status_code == 422
    assert "促销 CUT-1001：会让 1 个 SKU 低于底价：1001 (129.00 &lt; 150.00)" in refused.text
    assert client.post(f"/promotions/{cut}/approve", data={"reason": "x"}).status_code == 403
    # the owner (not the author) approves: a reason is required
    login(client, "owner")
    page = client.get(f"/promotions/{cut}")
    assert 'data-action="approve"' in page.text
    empty = client.post(f"/promotions/{cut}/approve", data={"reason": "  "})
    assert empty.status_code == 422 and 'data-error="approve"' in empty.text
    ok = client.post(f"/promotions/{cut}/approve", data={"reason": "清库存，老板同意"},
                     follow_redirects=False)
    assert ok.status_code == 303
    page = client.get(ok.headers["location"])
    assert 'data-approved="user:owner"' in page.text and "清库存，老板同意" in page.text
    # the operator schedules it now; the history tells who did what
    login(client, "operator")
    done = client.post(f"/promotions/{cut}/schedule", follow_redirects=False)
    assert done.status_code == 303
    page = client.get(done.headers["location"])
    assert 'data-status="scheduled"' in page.text
    assert re.findall(r'data-history="(\w+)"', page.text) == ["created", "approved",
                                                             "scheduled"]
    assert "user:owner" in page.text and "user:operator" in page.text
    # cancelling needs a reason, kept on the refused form
    no_reason = client.post(f"/promotions/{cut}/cancel", data={"reason": ""})
    assert no_reason.status_code == 422 and 'data-error="cancel"' in no_reason.text
    client.post(f"/promotions/{cut}/start")
    client.post(f"/promotions/{cut}/end")
    page = client.get(f"/promotions/{cut}")
    assert 'data-status="ended"' in page.text and 'data-link="results"' in page.text
    assert 'data-action="cancel"' not in page.text  # nothing more to do


def test_the_author_cannot_approve_own_promotion(client: Any, shop: tuple[str, int]) -> None:
    db_url, _ = shop
    login(client, "owner")
    upload(client, FILE)
    cut = promo_id(db_url, "CUT-1001")
    page = client.get(f"/promotions/{cut}")
    assert 'data-action="approve"' not in page.text and 'data-approve="own"' in page.text
    r = client.post(f"/promotions/{cut}/approve", data={"reason": "自己批"})
    assert r.status_code == 422 and "user:owner 是作者或最后修改人，不能审批" in r.text
    login(client, "chief")  # a second owner may
    assert client.post(f"/promotions/{cut}/approve", data={"reason": "同意"},
                       follow_redirects=False).status_code == 303


def test_who_may_see_and_do_what(client: Any, shop: tuple[str, int]) -> None:
    db_url, _ = shop
    login(client, "operator")
    upload(client, FILE)
    cut = promo_id(db_url, "CUT-1001")
    login(client, "analyst")
    page = client.get("/promotions")
    assert page.status_code == 200 and 'data-action="import"' not in page.text
    detail = client.get(f"/promotions/{cut}")
    assert detail.status_code == 200 and 'data-action="schedule"' not in detail.text
    assert upload(client, FILE).status_code == 403
    assert client.post(f"/promotions/{cut}/schedule").status_code == 403
    assert client.get("/promotions/999999").status_code == 404
    login(client, "robot")  # the integration role: no promotions at all
    assert client.get("/promotions").status_code == 403
    assert client.get(f"/promotions/{cut}").status_code == 403
    assert client.get("/promotions/export").status_code == 403


def test_a_large_store_audits_on_request(client: Any, shop: tuple[str, int],
                                         monkeypatch: pytest.MonkeyPatch) -> None:
    from storeops.web import promotions_pages

    db_url, _ = shop
    monkeypatch.setattr(promotions_pages, "AUTO_AUDIT_SKUS", 4)  # the store has 5 SKUs
    login(client, "operator")
    upload(client, FILE)
    cut = promo_id(db_url, "CUT-1001")
    page = client.get(f"/promotions/{cut}")
    assert 'data-audit="on-request"' in page.text and 'data-breach="' not in page.text
    asked = client.get(f"/promotions/{cut}?audit=1")
    assert 'data-breach="1001"' in asked.text


def test_the_page_with_the_real_audit(client: Any, shop: tuple[str, int],
                                      monkeypatch: pytest.MonkeyPatch) -> None:
    db_url, _ = shop
    monkeypatch.setattr(service, "run_audit", REAL_AUDIT)
    login(client, "operator")
    upload(client, {"promotions": [{"id": "CUT-NOW", "kind": "direct", "skus": ["1001"],
                                    "price": "129.00"}]})
    cut = promo_id(db_url, "CUT-NOW")
    page = client.get(f"/promotions/{cut}")
    # 1001 at 129.00 (no other live or scheduled offer) against its floor of 150.00
    assert re.search(r'data-breach="1001"><td>1001</td><td class="num">150.00</td>'
                     r'<td class="num">129.00</td>\s*<td>CUT-NOW', page.text)
    refused = client.post(f"/promotions/{cut}/schedule")
    assert refused.status_code == 422 and "1001 (129.00 &lt; 150.00)" in refused.text
