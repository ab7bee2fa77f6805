"""Promotions in the database (storeops.pricing.service / store), on SQLite and PostgreSQL:
import is idempotent, a changed entry is one history line, nothing unmentioned is deleted, a
bad file writes nothing, export reads back unchanged; the launch guard and its approval;
advancing due promotions; price changes."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from promotions_support import FILE, fake_audit, promotions_file, seed_promo_store
from sqlalchemy import func, select

from storeops.catalog.models import Product
from storeops.common.errors import StoreopsError, localise
from storeops.db.engine import unit_of_work
from storeops.pricing import service
from storeops.pricing.lifecycle import IllegalTransition
from storeops.pricing.models import PriceChange, PricingChange, PromotionRecord
from storeops.pricing.store import record_price_change, store_offers

OP, OWNER, OWNER2 = "user:operator", "user:owner", "user:boss"


@pytest.fixture
def shop(db_url: str) -> tuple[str, int]:
    return db_url, seed_promo_store(db_url)


@pytest.fixture
def guarded(shop: tuple[str, int], monkeypatch: pytest.MonkeyPatch) -> tuple[str, int]:
    monkeypatch.setattr(service, "run_audit", fake_audit)
    return shop


def do_import(db_url: str, store_id: int, data: dict[str, Any],
              actor: str = OP) -> service.ImportResult:
    with unit_of_work(db_url) as s:
        return service.import_offers(s, store_id, data, "promos.yaml", actor)


def changes(db_url: str, code: str | None = None) -> list[tuple[str, str | None]]:
    with unit_of_work(db_url) as s:
        q = select(PricingChange.action, PricingChange.actor).order_by(PricingChange.id)
        if code is not None:
            q = q.join(PromotionRecord, PromotionRecord.id == PricingChange.promotion_id) \
                .where(PromotionRecord.code == code)
        return [tuple(r) for r in s.execute(q)]


def record(db_url: str, store_id: int, code: str) -> PromotionRecord:
    with unit_of_work(db_url) as s:
        r = service.find_promotion(s, store_id, code)
        s.expunge(r)
        return r


def test_import_is_idempotent(shop: tuple[str, int]) -> None:
    db_url, store_id = shop
    first = do_import(db_url, store_id, FILE)
    assert first.created == ["CUT-A100", "MJ-199", "Q-10"] and not first.updated
    again = do_import(db_url, store_id, FILE)
    assert again.unchanged == ["CUT-A100", "MJ-199", "Q-10"]
    assert not again.created and not again.updated
    assert changes(db_url) == [("created", OP)] * 3  # the second import wrote nothing
    cut = record(db_url, store_id, "CUT-A100")
    assert (cut.status, cut.version, cut.kind, cut.name, cut.created_by) == \
        ("draft", 1, "direct", "耳机直降", OP)
    # 2026-06-01T00:00+08:00 is 2026-05-31 16:00 UTC
    assert cut.start_at == datetime(2026, 5, 31, 16, 0, tzinfo=UTC)
    assert record(db_url, store_id, "Q-10").kind == "coupon"


def test_changed_entry_is_one_change_row_and_unmentioned_are_kept(shop: tuple[str, int]
                                                                 ) -> None:
    db_url, store_id = shop
    do_import(db_url, store_id, FILE)
    changed = promotions_file(CUT_A100={"price": "169.00"})
    result = do_import(db_url, store_id, changed, actor="user:editor")
    assert result.updated == ["CUT-A100"] and result.unchanged == ["MJ-199", "Q-10"]
    assert changes(db_url, "CUT-A100") == [("created", OP), ("updated", "user:editor")]
    with unit_of_work(db_url) as s:
        row = s.scalars(select(PricingChange).where(PricingChange.action == "updated")).one()
        before, after = json.loads(row.before_json), json.loads(row.after_json)
    assert before["spec"]["price"] == "179.00" and after["spec"]["price"] == "169.00"
    assert (before["version"], after["version"]) == (1, 2)
    assert record(db_url, store_id, "CUT-A100").version == 2
    # a later file naming only the coupon deletes nothing
    only_coupon = {"coupons": [FILE["coupons"][0]]}
    assert do_import(db_url, store_id, only_coupon).unchanged == ["Q-10"]
    with unit_of_work(db_url) as s:
        assert s.scalar(select(func.count()).select_from(PromotionRecord)) == 3


def test_a_bad_entry_writes_nothing_and_names_promotion_and_field(shop: tuple[str, int]
                                                                  ) -> None:
    db_url, store_id = shop
    bad = promotions_file(MJ_199={"tiers": [{"threshold": "abc", "off": "30"}]})
    with pytest.raises(StoreopsError) as info:
        do_import(db_url, store_id, bad)
    assert "MJ-199" in str(info.value) and "threshold" in str(info.value)
    assert "promos.yaml" in str(info.value)
    with unit_of_work(db_url) as s:  # CUT-A100 came first and was fine: not written either
        assert s.scalar(select(func.count()).select_from(PromotionRecord)) == 0
        assert s.scalar(select(func.count()).select_from(PricingChange)) == 0


def test_export_round_trip(shop: tuple[str, int]) -> None:
    db_url, store_id = shop
    do_import(db_url, store_id, {**FILE, "points": {"balance": 0, "rate": 100,
                                                     "max_share": "0.5"}})
    with unit_of_work(db_url) as s:
        data = service.export_offers(s, store_id)
    assert [p["id"] for p in data["promotions"]] == ["CUT-A100", "MJ-199"]
    assert data["coupons"][0]["id"] == "Q-10" and data["points"]["max_share"] == "0.5"
    for fmt in ("yaml", "json"):
        text = service.dump_offers(data, fmt)
        again = do_import(db_url, store_id, service.parse_text(text, f"export.{fmt}"))
        assert again.unchanged == ["CUT-A100", "MJ-199", "Q-10", "points"] and \
            not again.updated
    with unit_of_work(db_url) as s:
        assert service.export_offers(s, store_id, ["live"]) == {"promotions": [],
                                                                "coupons": []}


def test_store_offers_by_status_and_time(shop: tuple[str, int],
                                         monkeypatch: pytest.MonkeyPatch) -> None:
    db_url, store_id = shop
    monkeypatch.setattr(service, "run_audit", lambda *a: type("R", (), {"breaches": []})())
    do_import(db_url, store_id, FILE)
    with unit_of_work(db_url) as s:
        assert store_offers(s, store_id).promotions == ()  # drafts do not count
        service.schedule(s, store_id, "MJ-199", OP)
        service.schedule(s, store_id, "Q-10", OP)
    with unit_of_work(db_url) as s:
        offers = store_offers(s, store_id)
        assert [p.id for p in offers.promotions] == ["MJ-199"]
        assert [c.id for c in offers.coupons] == ["Q-10"]
        before = datetime(2026, 6, 9, tzinfo=UTC)  # MJ-199 starts 06-10 00:00 Shanghai
        assert store_offers(s, store_id, at=before).promotions == ()
        assert len(store_offers(s, store_id, ("draft",)).promotions) == 1


def test_the_guard_and_its_approval(guarded: tuple[str, int]) -> None:
    db_url, store_id = guarded
    # CUT-A100 sells A100 at 179.00 against a floor of 150.00: fine. At 129.00 it breaks it.
    do_import(db_url, store_id, promotions_file(CUT_A100={"price": "129.00"}))
    with pytest.raises(service.NeedsApproval) as info, unit_of_work(db_url) as s:
        service.schedule(s, store_id, "CUT-A100", OP)
    assert "CUT-A100" in str(info.value) and "A100 (129.00 < 150.00)" in str(info.value)
    assert localise(info.value, "zh-CN").startswith(
        "促销 CUT-A100：会让 1 个 SKU 低于底价：A100 (129.00 < 150.00)")
    # the author cannot approve, even with the permission
    with pytest.raises(StoreopsError, match="wrote it and cannot approve"), \
            unit_of_work(db_url) as s:
        service.approve(s, store_id, "CUT-A100", OP, "ok", may_approve=True)
    # someone without promo.approve cannot either
    with pytest.raises(StoreopsError, match="may not approve"), unit_of_work(db_url) as s:
        service.approve(s, store_id, "CUT-A100", "user:analyst", "ok", may_approve=False)
    # a reason is required
    with pytest.raises(StoreopsError, match="a reason is required"), \
            unit_of_work(db_url) as s:
        service.approve(s, store_id, "CUT-A100", OWNER, "  ", may_approve=True)
    assert record(db_url, store_id, "CUT-A100").approved_by is None
    with unit_of_work(db_url) as s:
        service.approve(s, store_id, "CUT-A100", OWNER, "清库存，毛利已核", may_approve=True)
    with unit_of_work(db_url) as s:
        service.schedule(s, store_id, "CUT-A100", OP)
    r = record(db_url, store_id, "CUT-A100")
    assert (r.status, r.breaches_floor, r.approved_by, r.approval_reason) == \
        ("scheduled", True, OWNER, "清库存，毛利已核")
    assert changes(db_url, "CUT-A100") == [("created", OP), ("approved", OWNER),
                                           ("scheduled", OP)]
    with unit_of_work(db_url) as s:
        approved = s.scalars(select(PricingChange)
                             .where(PricingChange.action == "approved")).one()
        assert approved.reason == "清库存，毛利已核"


def test_a_change_after_approval_needs_a_new_one(guarded: tuple[str, int]) -> None:
    db_url, store_id = guarded
    do_import(db_url, store_id, promotions_file(CUT_A100={"price": "129.00"}))
    with unit_of_work(db_url) as s:
        service.approve(s, store_id, "CUT-A100", OWNER, "ok for 129", may_approve=True)
    # changed (still breaking) before it was scheduled: the approval is gone
    do_import(db_url, store_id, promotions_file(CUT_A100={"price": "99.00"}),
              actor="user:editor")
    r = record(db_url, store_id, "CUT-A100")
    assert (r.version, r.approved_by) == (2, None)
    with pytest.raises(service.NeedsApproval), unit_of_work(db_url) as s:
        service.schedule(s, store_id, "CUT-A100", OP)
    # the last editor may not approve the new terms; the creator is still refused too
    for who in ("user:editor", OP):
        with pytest.raises(StoreopsError, match="cannot approve"), unit_of_work(db_url) as s:
            service.approve(s, store_id, "CUT-A100", who, "ok", may_approve=True)
    with unit_of_work(db_url) as s:
        service.approve(s, store_id, "CUT-A100", OWNER2, "ok for 99", may_approve=True)
        service.schedule(s, store_id, "CUT-A100", OP)
    assert record(db_url, store_id, "CUT-A100").status == "scheduled"


def test_changed_scheduled_goes_back_to_draft_and_live_refuses(guarded: tuple[str, int]
                                                               ) -> None:
    db_url, store_id = guarded
    do_import(db_url, store_id, FILE)
    with unit_of_work(db_url) as s:  # 179.00 is above the floor: no approval needed
        service.schedule(s, store_id, "CUT-A100", OP)
        service.schedule(s, store_id, "MJ-199", OP)
        service.start(s, store_id, "MJ-199", OP)
    assert record(db_url, store_id, "CUT-A100").breaches_floor is False
    # a harmless change keeps it scheduled
    do_import(db_url, store_id, promotions_file(CUT_A100={"price": "175.00"}))
    assert record(db_url, store_id, "CUT-A100").status == "scheduled"
    # a change that breaks the floor sends it back to draft, with why
    result = do_import(db_url, store_id, promotions_file(CUT_A100={"price": "140.00"}))
    assert result.unscheduled == ["CUT-A100"]
    r = record(db_url, store_id, "CUT-A100")
    assert (r.status, r.breaches_floor, r.version) == ("draft", True, 3)
    assert changes(db_url, "CUT-A100")[-2:] == [("updated", OP), ("unscheduled", OP)]
    # a live promotion whose new terms break a floor: the whole file is refused
    live_cut = promotions_file(MJ_199={"kind": "direct", "tiers": None, "skus": ["A100"],
                                       "price": "100.00"})
    del live_cut["promotions"][1]["tiers"]
    live_cut["promotions"][0]["price"] = "170.00"
    with pytest.raises(service.NeedsApproval, match="MJ-199 is live"):
        do_import(db_url, store_id, live_cut)
    assert record(db_url, store_id, "MJ-199").kind == "full_reduction"
    assert record(db_url, store_id, "CUT-A100").version == 3  # nothing of the file written


def test_lifecycle_through_the_service(shop: tuple[str, int],
                                       monkeypatch: pytest.MonkeyPatch) -> None:
    db_url, store_id = shop
    monkeypatch.setattr(service, "run_audit", lambda *a: type("R", (), {"breaches": []})())
    do_import(db_url, store_id, FILE)
    with pytest.raises(IllegalTransition, match="cannot go from draft to live"), \
            unit_of_work(db_url) as s:
        service.start(s, store_id, "MJ-199", OP)
    with pytest.raises(StoreopsError, match="a reason is required"), \
            unit_of_work(db_url) as s:
        service.cancel(s, store_id, "MJ-199", OP, "")
    with unit_of_work(db_url) as s:
        service.cancel(s, store_id, "MJ-199", OP, "活动取消")
    with pytest.raises(IllegalTransition, match="cancelled, nothing more"), \
            unit_of_work(db_url) as s:
        service.schedule(s, store_id, "MJ-199", OP)
    with pytest.raises(StoreopsError, match="is cancelled: its terms cannot change"):
        do_import(db_url, store_id, promotions_file(MJ_199={"name": "改名"}))
    with pytest.raises(StoreopsError, match="no promotion 'NOPE'"), unit_of_work(db_url) as s:
        service.schedule(s, store_id, "NOPE", OP)


def test_advance_due(shop: tuple[str, int], monkeypatch: pytest.MonkeyPatch) -> None:
    db_url, store_id = shop
    monkeypatch.setattr(service, "run_audit", lambda *a: type("R", (), {"breaches": []})())
    do_import(db_url, store_id, FILE)
    with unit_of_work(db_url) as s:
        for code in ("CUT-A100", "MJ-199", "Q-10"):
            service.schedule(s, store_id, code, OP)
    # 2026-06-15 12:00 Shanghai: CUT-A100 (06-01..06-20) and MJ-199 (06-10..06-19) run;
    # Q-10 has no window: it goes live at once
    mid = datetime(2026, 6, 15, 4, 0, tzinfo=UTC)
    with unit_of_work(db_url) as s:
        moved = service.advance_due(s, mid)
    assert [(m.code, m.status_to) for m in moved] == [("CUT-A100", "live"), ("MJ-199", "live"),
                                                      ("Q-10", "live")]
    with unit_of_work(db_url) as s:
        assert service.advance_due(s, mid) == []  # nothing more due
    # 06-19 12:00 Shanghai: MJ-199 ended at 06-19 00:00, CUT-A100 still runs
    with unit_of_work(db_url) as s:
        moved = service.advance_due(s, mid + timedelta(days=4), store_id=store_id)
    assert [(m.code, m.status_from, m.status_to) for m in moved] == \
        [("MJ-199", "live", "ended")]
    assert changes(db_url, "MJ-199")[-2:] == [("live", "system:schedule"),
                                              ("ended", "system:schedule")]


def test_record_price_change(shop: tuple[str, int]) -> None:
    db_url, store_id = shop
    with unit_of_work(db_url) as s:
        pid = s.scalar(select(Product.id).where(Product.platform_sku_id == "A200"))
        record_price_change(s, store_id, pid, 8900, OP, "竞品降价")
    with unit_of_work(db_url) as s:
        assert s.get(Product, pid).list_price_cents == 8900
        pc = s.scalars(select(PriceChange)).one()
        assert (pc.old_price_cents, pc.new_price_cents, pc.actor, pc.reason) == \
            (9900, 8900, OP, "竞品降价")
        row = s.scalars(select(PricingChange)).one()
        assert row.action == "price" and row.product_id == pid
        assert json.loads(row.before_json) == {"sku": "A200", "price_cents": 9900}
        with pytest.raises(StoreopsError, match="above 0"):
            record_price_change(s, store_id, pid, 0, OP, None)
        with pytest.raises(StoreopsError, match="now or earlier"):
            record_price_change(s, store_id, pid, 100, OP, None,
                                datetime.now(UTC) + timedelta(days=1))
        # dated back: a change already made on JD
        back = record_price_change(s, store_id, pid, 8800, OP, None,
                                   datetime(2026, 6, 1, tzinfo=UTC))
        assert (back.old_price_cents, s.get(Product, pid).list_price_cents) == (8900, 8800)


def test_the_guard_with_the_real_audit(shop: tuple[str, int]) -> None:
    db_url, store_id = shop
    data = promotions_file(CUT_A100={"price": "129.00", "start": None, "end": None})
    # B300 has no explicit floor: cost 20.00 × (1 + 10% margin) = 22.00 (no commission);
    # a no-threshold coupon of 40.00 on it (list 59.00) reaches 19.00
    data["coupons"].append({"id": "Q-B300", "scope": "shop", "threshold": "0", "off": "40.00",
                            "skus": ["B300"]})
    for entry in data["promotions"]:
        entry.pop("start", None), entry.pop("end", None)
    data["promotions"][0] = {k: v for k, v in data["promotions"][0].items() if v is not None}
    do_import(db_url, store_id, data)
    with unit_of_work(db_url) as s:
        service.set_settings(s, store_id, OWNER, min_margin=Decimal("0.10"))
    with pytest.raises(service.NeedsApproval) as info, unit_of_work(db_url) as s:
        service.schedule(s, store_id, "CUT-A100", OP)
    # MJ-199 is a draft and stacks with nothing yet: A100 at 129.00 alone, below 150.00
    assert [(b.sku, b.lowest_unit_price, b.stack) for b in info.value.breaches] == [
        ("A100", Decimal("129.00"), ("CUT-A100",))]
    with pytest.raises(service.NeedsApproval) as info, unit_of_work(db_url) as s:
        service.schedule(s, store_id, "Q-B300", OP)
    assert [(b.sku, b.floor) for b in info.value.breaches] == [("B300", Decimal("22.00"))]
    with unit_of_work(db_url) as s:  # the 满减 alone keeps every SKU above its floor
        service.schedule(s, store_id, "MJ-199", OP)
        assert service.floor_breaches(s, service.find_promotion(s, store_id, "Q-10")) == []
    with unit_of_work(db_url) as s:
        # with 满199减30 scheduled, A100 at 129.00 joins it with other goods filling the cart to
        # exactly 199.00 (the audit's bound): its share of the 30.00 is 30 × 129/199 = 19.45,
        # 129.00 - 19.45 = 109.55
        found = service.floor_breaches(s, service.find_promotion(s, store_id, "CUT-A100"))
        assert [(b.sku, b.lowest_unit_price, b.stack) for b in found] == [
            ("A100", Decimal("109.55"), ("CUT-A100", "MJ-199"))]
