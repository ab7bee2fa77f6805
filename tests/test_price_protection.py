"""Price protection (价保): which paid order lines saw a lower price within the window after
payment and what each may claim — the pure rule with worked examples, the database version on
both backends, the CLI, the page and its XLSX."""

from __future__ import annotations

import io
import json
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from openpyxl import load_workbook
from promo_checks_support import app_client
from web_seed import fast_hashing, login, run_cli  # noqa: F401

from storeops.catalog.models import Product, Store
from storeops.common.errors import StoreopsError
from storeops.common.timeutil import local_date
from storeops.db.engine import session_factory, unit_of_work
from storeops.orders.models import Order, OrderLine
from storeops.pricing.models import PriceChange, PricingSettings
from storeops.pricing.protection import PaidLine, PricePoint, claims, window_end
from storeops.pricing.protection_data import load_changes, store_report

SH = ZoneInfo("Asia/Shanghai")
D = Decimal


def sh(*args: int) -> datetime:
    return datetime(*args, tzinfo=SH)


PAID = sh(2026, 11, 1, 10, 0)  # 02:00 UTC


def line(order: str = "A", sku: str = "1001", qty: int = 2, amount: str = "398.00",
         paid: datetime = PAID, line_no: int = 1) -> PaidLine:
    return PaidLine(order, line_no, sku, qty, D(amount), paid)


# --- the pure rule ---------------------------------------------------------------------------

def test_lowest_price_within_seven_days_store_time() -> None:
    # Paid 2 × 199.00 = 398.00 on 11-01 10:00 (Shanghai). Window: up to 11-08 10:00 inclusive.
    # 189.00 on 11-03, 179.00 at exactly 11-08 10:00 (the window's last moment: counts),
    # 169.00 one second later (outside). Lowest inside = 179.00:
    # claim = 398.00 − 179.00 × 2 = 398.00 − 358.00 = 40.00.
    changes = [PricePoint("1001", sh(2026, 11, 3, 10, 0), D("189.00")),
               PricePoint("1001", sh(2026, 11, 8, 10, 0), D("179.00")),
               PricePoint("1001", sh(2026, 11, 8, 10, 0, 1), D("169.00"))]
    r = claims([line()], changes, 7)
    assert [(c.order, c.lowest_price, c.amount) for c in r.claims] == [("A", D("179.00"),
                                                                         D("40.00"))]
    assert r.claims[0].window_end == sh(2026, 11, 8, 10, 0)
    assert r.claims[0].unit_paid == D("199.00")
    assert (r.orders, r.lines, r.amount, r.lines_checked) == (1, 1, D("40.00"), 1)
    # With 15 days the 169.00 counts too: 398.00 − 338.00 = 60.00.
    assert claims([line()], changes, 15).amount == D("60.00")


def test_drops_at_or_before_payment_and_rises_do_not_claim() -> None:
    changes = [PricePoint("1001", sh(2026, 10, 30), D("99.00")),  # before payment
               PricePoint("1001", PAID, D("149.00")),  # at the payment moment: not "later"
               PricePoint("1001", sh(2026, 11, 2), D("209.00"))]  # a rise
    assert claims([line()], changes, 7).claims == ()


def test_one_claim_per_line_against_the_lowest_of_several_drops() -> None:
    # 3 drops and a rise back: 189, 159, 209, 179 → lowest 159.00 once;
    # claim = 398.00 − 159.00 × 2 = 80.00 (not the sum of the drops).
    changes = [PricePoint("1001", sh(2026, 11, 2), D("189.00")),
               PricePoint("1001", sh(2026, 11, 3), D("159.00")),
               PricePoint("1001", sh(2026, 11, 4), D("209.00")),
               PricePoint("1001", sh(2026, 11, 5), D("179.00"))]
    r = claims([line(), line("B", qty=1, amount="199.00")], changes, 7)
    # B: 199.00 − 159.00 = 40.00; total 120.00 over 2 orders.
    assert [(c.order, c.amount) for c in r.claims] == [("A", D("80.00")), ("B", D("40.00"))]
    assert (r.orders, r.lines, r.amount) == (2, 2, D("120.00"))
    assert r.claims[0].lowest_at == sh(2026, 11, 3)


def test_never_negative_and_paid_amount_counts() -> None:
    # Bought at a promotion: 2 units for 300.00 (150.00 each). The list price drops to 179.00
    # (above what was paid): nothing to claim. To 139.00: 300.00 − 278.00 = 22.00.
    assert claims([line(amount="300.00")],
                  [PricePoint("1001", sh(2026, 11, 2), D("179.00"))], 7).claims == ()
    r = claims([line(amount="300.00")], [PricePoint("1001", sh(2026, 11, 2), D("139.00"))], 7)
    assert r.amount == D("22.00")
    # A paid unit price with a fraction of a cent (100.00 for 3): exact, 100.00 − 3 × 33.00 =
    # 1.00, the unit price shown to the cent (33.33).
    r = claims([line(qty=3, amount="100.00")],
               [PricePoint("1001", sh(2026, 11, 2), D("33.00"))], 7)
    assert (r.amount, r.claims[0].unit_paid) == (D("1.00"), D("33.33"))


def test_changes_not_yet_in_effect_do_not_count() -> None:
    changes = [PricePoint("1001", sh(2026, 11, 5), D("100.00"))]
    assert claims([line()], changes, 7, as_of=sh(2026, 11, 4)).claims == ()
    assert claims([line()], changes, 7, as_of=sh(2026, 11, 5)).amount == D("198.00")


def test_window_counts_on_the_store_wall_clock() -> None:
    # New York leaves daylight time on 2026-11-01: paid 10-31 12:00 EDT (16:00 UTC), 7 days
    # later on the wall clock is 11-07 12:00 EST = 17:00 UTC (7 days and 1 hour).
    ny = ZoneInfo("America/New_York")
    paid = datetime(2026, 10, 31, 12, 0, tzinfo=ny)
    end = window_end(paid, 7, "America/New_York")
    assert end.astimezone(UTC) == datetime(2026, 11, 7, 17, 0, tzinfo=UTC)
    late = PricePoint("1001", datetime(2026, 11, 7, 16, 30, tzinfo=UTC), D("150.00"))
    assert claims([line(paid=paid)], [late], 7, tz="America/New_York").amount == D("98.00")
    assert claims([line(paid=paid)], [late], 7, tz="UTC").claims == ()


@pytest.mark.parametrize("days", [6, 16])
def test_days_outside_7_to_15_are_refused(days: int) -> None:
    with pytest.raises(StoreopsError, match="7 to 15"):
        claims([line()], [], days)


# --- the database ----------------------------------------------------------------------------

STORE = "价保店"


def seed(db_url: str, *, days: int | None = None) -> int:
    """SKU 1001 (199.00) and 2001 (59.00); orders paid on 11-01 10:00 Shanghai:
    A: 2 × 1001 (398.00) + 1 × 2001 (59.00); B: 1 × 1001, cancelled; C: 1 × 1001, unpaid;
    D: 1 × 1001 paid 10-20 (before the drop's window); E: 1 × 1001 cancelled_at set.
    1001 drops to 179.00 on 11-04 10:00 and to 169.00 on 11-20 (outside every window)."""
    with unit_of_work(db_url) as s:
        store = Store(name=STORE, timezone="Asia/Shanghai")
        s.add(store)
        s.flush()
        if days is not None:
            s.add(PricingSettings(store_id=store.id, price_protection_days=days))
        p1 = Product(store_id=store.id, platform_sku_id="1001", list_price_cents=19900)
        p2 = Product(store_id=store.id, platform_sku_id="2001", list_price_cents=5900)
        s.add_all([p1, p2])
        s.flush()

        def order(ref: str, paid: datetime | None, lines: list[tuple[Product, int, int]],
                  status: str = "finished", cancelled_at: datetime | None = None) -> None:
            placed = paid or PAID
            o = Order(store_id=store.id, platform_order_id=ref, status=status,
                      placed_at=placed, placed_date=local_date(placed, "Asia/Shanghai"),
                      paid_at=paid, cancelled_at=cancelled_at, content_hash=ref)
            s.add(o)
            s.flush()
            for n, (p, qty, cents) in enumerate(lines, 1):
                s.add(OrderLine(order_id=o.id, store_id=store.id, line_no=n, product_id=p.id,
                                quantity=qty, unit_price_e4=cents * 100 // qty,
                                amount_cents=cents))

        order("A", PAID, [(p1, 2, 39800), (p2, 1, 5900)])
        order("B", PAID, [(p1, 1, 19900)], status="cancelled")
        order("C", None, [(p1, 1, 19900)], status="wait_pay")
        order("D", sh(2026, 10, 20, 10, 0), [(p1, 1, 19900)])
        order("E", PAID, [(p1, 1, 19900)], status="locked", cancelled_at=sh(2026, 11, 2))
        s.add_all([
            PriceChange(store_id=store.id, product_id=p1.id, effective_at=sh(2026, 11, 4, 10),
                        old_price_cents=19900, new_price_cents=17900),
            PriceChange(store_id=store.id, product_id=p1.id, effective_at=sh(2026, 11, 20),
                        old_price_cents=17900, new_price_cents=16900),
        ])
        return store.id


AS_OF = datetime(2026, 12, 1, tzinfo=UTC)


def test_store_report_on_both_backends(db_url: str) -> None:
    store_id = seed(db_url)
    with session_factory(db_url)() as s:
        r = store_report(s, store_id, "Asia/Shanghai", first=date(2026, 10, 1),
                         last=date(2026, 11, 30), as_of=AS_OF)
    # Only A's 1001 line: 398.00 − 2 × 179.00 = 40.00. B cancelled, C unpaid, E cancelled_at,
    # D's window (10-20 .. 10-27) sees no change; 2001 never changed price.
    assert [(c.order, c.sku, c.amount) for c in r.claims] == [("A", "1001", D("40.00"))]
    assert (r.days, r.orders, r.lines, r.amount) == (7, 1, 1, D("40.00"))
    # The store's 15 days reach 11-16 10:00 — still not the 11-20 drop. A changes file of
    # our own instead: 1001 at 150.00 on 11-15 → 398.00 − 300.00 = 98.00.
    with session_factory(db_url)() as s:
        r = store_report(s, store_id, "Asia/Shanghai", first=date(2026, 10, 15),
                         last=date(2026, 11, 30), days=15, as_of=AS_OF,
                         changes=[PricePoint("1001", sh(2026, 11, 15), D("150.00"))])
        assert r.amount == D("98.00")
        assert store_report(s, store_id, "Asia/Shanghai", first=date(2026, 11, 1),
                            last=date(2026, 11, 1), skus=["2001"], as_of=AS_OF).claims == ()


def test_store_setting_and_bounds(db_url: str) -> None:
    store_id = seed(db_url, days=15)
    with session_factory(db_url)() as s:
        r = store_report(s, store_id, "Asia/Shanghai", first=date(2026, 11, 1),
                         last=date(2026, 11, 1), as_of=AS_OF)
        assert r.days == 15 and r.amount == D("40.00")
        with pytest.raises(StoreopsError, match="at most 92 days"):
            store_report(s, store_id, "Asia/Shanghai", first=date(2026, 1, 1),
                         last=date(2026, 12, 1))
        with pytest.raises(StoreopsError, match="7 to 15"):
            store_report(s, store_id, "Asia/Shanghai", days=30)
        with pytest.raises(StoreopsError, match="more than 1 order lines"):
            store_report(s, store_id, "Asia/Shanghai", first=date(2026, 10, 1),
                         last=date(2026, 11, 30), as_of=AS_OF, max_lines=1)
        with pytest.raises(StoreopsError, match="unknown SKU NOPE"):
            store_report(s, store_id, "Asia/Shanghai", skus=["1001", "NOPE"])
        with pytest.raises(StoreopsError, match="at most 200"):
            store_report(s, store_id, "Asia/Shanghai", skus=[str(n) for n in range(201)])


def test_changes_file(tmp_path: Path) -> None:
    f = tmp_path / "changes.csv"
    f.write_text("sku,effective_at,price\n1001,2026-11-05 10:00,179.00\n", encoding="utf-8")
    assert load_changes(f, "Asia/Shanghai") == [PricePoint("1001", sh(2026, 11, 5, 10),
                                                           D("179.00"))]
    y = tmp_path / "changes.yaml"
    y.write_text("changes:\n  - {sku: '1001', effective_at: '2026-11-05T02:00Z', price: 179}\n",
                 encoding="utf-8")
    assert load_changes(y, "Asia/Shanghai")[0].at == sh(2026, 11, 5, 10)
    bad = tmp_path / "bad.csv"
    bad.write_text("sku,effective_at,price\n1001,tomorrow,179.00\n", encoding="utf-8")
    with pytest.raises(StoreopsError, match=r"bad.csv, row 2, effective_at"):
        load_changes(bad, "Asia/Shanghai")
    bad.write_text("sku,effective_at,price\n1001,2026-11-05,abc\n", encoding="utf-8")
    with pytest.raises(StoreopsError, match=r"row 2, price: not a price: abc"):
        load_changes(bad, "Asia/Shanghai")


# --- the CLI ---------------------------------------------------------------------------------

def test_cli_json_text_and_xlsx(sqlite_db_url: str, tmp_path: Path, monkeypatch: Any,
                                capsys: Any) -> None:
    seed(sqlite_db_url)
    out = tmp_path / "claims.xlsx"
    code, stdout, err = run_cli(["promo", "protection", "--store", STORE, "--from", "2026-10-01",
                                 "--to", "2026-11-30", "--json", "--xlsx", str(out),
                                 "--db", sqlite_db_url], monkeypatch, capsys)
    assert code == 0, err
    data = json.loads(stdout)
    # Lines checked: the paid, not cancelled lines of SKUs whose price changed (A's and D's
    # 1001 lines; B, C and E are cancelled or unpaid, 2001 never changed).
    assert data["totals"] == {"orders": 1, "lines": 1, "amount": "40.00", "lines_checked": 2}
    claim = data["claims"][0]
    assert (claim["order"], claim["lowest_price"], claim["window_end"]) == (
        "A", "179.00", "2026-11-08T10:00:00+08:00")
    sheet = load_workbook(out).active
    assert sheet["A2"].value == "A" and sheet["K2"].value == 40.0
    code, stdout, _ = run_cli(["promo", "protection", "--store", STORE, "--from", "2026-10-01",
                               "--to", "2026-11-30", "--db", sqlite_db_url], monkeypatch, capsys)
    assert code == 0 and "可申请 1 单、1 行，共 40.00 元" in stdout
    code, _, err = run_cli(["promo", "protection", "--store", STORE, "--days", "20",
                            "--db", sqlite_db_url], monkeypatch, capsys)
    assert code == 2 and "价保天数须为 7 到 15 天" in err
    code, _, err = run_cli(["promo", "protection", "--store", STORE, "--changes",
                            str(tmp_path / "none.csv"), "--db", sqlite_db_url],
                           monkeypatch, capsys, lang="en")
    assert code == 2 and "cannot read" in err and "none.csv" in err
    bad = tmp_path / "bad.csv"
    bad.write_text("sku,effective_at,price\n1001,明天,179\n", encoding="utf-8")
    code, _, err = run_cli(["promo", "protection", "--store", STORE, "--changes", str(bad),
                            "--db", sqlite_db_url], monkeypatch, capsys)
    assert code == 2 and "bad.csv 第 2 行，effective_at：不是时间" in err and "明天" in err


# --- the page --------------------------------------------------------------------------------

@pytest.fixture
def page_client(db_url: str) -> Any:
    seed(db_url)
    with app_client(db_url, {"owner": "owner", "robot": "integration"}) as c:
        yield c


pytestmark = pytest.mark.usefixtures("fast_hashing")
Q = "/promotions/protection?store=%E4%BB%B7%E4%BF%9D%E5%BA%97&from=2026-10-01&to=2026-11-30"


def test_page_claims_totals_and_xlsx(page_client: Any) -> None:
    login(page_client, "owner")
    r = page_client.get(Q)
    assert r.status_code == 200
    assert 'data-order="A"' in r.text and 'data-order="B"' not in r.text
    assert "¥40.00" in r.text and "¥179.00" in r.text and "2026-11-08 10:00" in r.text
    x = page_client.get(Q.replace("protection?", "protection.xlsx?"))
    assert x.status_code == 200 and x.headers["content-type"].startswith(
        "application/vnd.openxmlformats")
    sheet = load_workbook(io.BytesIO(x.content)).active
    assert [c.value for c in sheet[1]][:2] == ["订单", "行号"]
    assert sheet["A2"].value == "A" and sheet["K2"].value == 40.0 and sheet.max_row == 2


def test_page_refuses_bad_fields_keeping_them(page_client: Any) -> None:
    login(page_client, "owner")
    r = page_client.get(Q + "&days=30")
    assert r.status_code == 422
    assert 'value="30"' in r.text and "价保天数须为 7 到 15 之间的整数" in r.text
    r = page_client.get("/promotions/protection?from=2026-01-01&to=2026-12-01&lang=en")
    assert r.status_code == 422 and "at most 92 days" in r.text
    assert 'value="2026-01-01"' in r.text
    r = page_client.get("/promotions/protection?from=2026-13-01")
    assert r.status_code == 422 and 'aria-invalid="true"' in r.text
    r = page_client.get(Q + "&sku=1001,NOPE&lang=zh-CN")
    assert r.status_code == 422 and 'id="protection-sku-error">店铺中没有 SKU NOPE<' in r.text


def test_page_needs_promo_view(page_client: Any) -> None:
    login(page_client, "robot")
    assert page_client.get(Q).status_code == 403
    assert page_client.get(Q.replace("protection?", "protection.xlsx?")).status_code == 403


def test_window_end_is_seven_days_later() -> None:
    assert window_end(PAID, 7) - PAID == timedelta(days=7)


def test_the_lowest_price_matches_brute_force() -> None:
    """The sparse table that finds a window's lowest price agrees with looking at every change
    (random changes and payments; hypothesis drives them)."""
    from hypothesis import given, settings
    from hypothesis import strategies as st

    base = datetime(2026, 11, 1, tzinfo=UTC)

    @settings(max_examples=200, deadline=None)
    @given(st.lists(st.tuples(st.integers(0, 600), st.integers(50, 200)), max_size=40),
           st.integers(0, 400), st.integers(7, 15))
    def agree(points: list[tuple[int, int]], paid_hour: int, days: int) -> None:
        changes = [PricePoint("S", base + timedelta(hours=h), D(p)) for h, p in points]
        paid = base + timedelta(hours=paid_hour)
        got = claims([line(sku="S", amount="300.00", paid=paid)], changes, days, tz="UTC")
        inside = [c.price for c in changes if paid < c.at <= paid + timedelta(days=days)]
        expected = D("300.00") - 2 * min(inside) if inside else D(0)
        assert got.amount == max(expected, D(0))

    agree()
