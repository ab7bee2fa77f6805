"""The SKU table's change column follows the page's comparison (较上期, 较上周同期, 同比): the
same baseline as the cards, on /skus, the overview's top SKUs and the CSV/XLSX exports."""

from __future__ import annotations

import csv
import io
from datetime import date

import pytest
from fastapi.testclient import TestClient
from test_sku_columns import PERIOD, _headers, _rows
from web_seed import fast_hashing, login  # noqa: F401

from storeops.metrics import service
from storeops.web.format import change_badge

# Logins check passwords with cheap Argon2 parameters: hashing is not what is tested here.
pytestmark = pytest.mark.usefixtures("fast_hashing")

FIRST, LAST = date(2026, 10, 2), date(2026, 10, 31)


def _gmv(db: str, sid: int, first: date, last: date) -> dict[str, float]:
    return {r["platform_sku_id"]: r["gmv"]
            for r in service.kpi_by(db, sid, first, last, dimension="sku")}


def _expected(current: dict, base: dict, sku: str) -> str:
    if not base.get(sku):
        return "—"
    return change_badge("gmv", float(current[sku] / base[sku] - 1))[0]


@pytest.fixture
def gmv(client: TestClient, seeded: tuple[str, int]) -> dict[str, dict[str, float]]:
    """Each SKU's GMV over the period and its baselines (an analyst logged in)."""
    db, sid = seeded
    login(client, "analyst")
    return {"current": _gmv(db, sid, FIRST, LAST),
            "wow": _gmv(db, sid, date(2026, 9, 25), date(2026, 10, 24)),
            "prev": _gmv(db, sid, date(2026, 9, 2), date(2026, 10, 1))}


def test_change_column_compares_with_the_chosen_baseline(
    client: TestClient, gmv: dict[str, dict[str, float]]
) -> None:
    current, week_before, month_before = gmv["current"], gmv["wow"], gmv["prev"]
    sku = "1001"
    # Last year has no sales: 同比 shows "—" where 较上期 shows a change.
    assert _expected(current, month_before, sku) != "—"

    page = client.get(f"/skus?{PERIOD}&compare=wow").text
    headers = _headers(page)
    assert "较上周同期" in headers and "较上期" not in headers
    cells = _rows(page)[sku][1]
    assert cells[headers.index("较上周同期") - 1] == _expected(current, week_before, sku)
    # Sort links and paging keep the comparison.
    assert "compare=wow" in page[page.index("<thead>"):page.index("</thead>")]

    default = client.get(f"/skus?{PERIOD}").text
    headers = _headers(default)
    assert _rows(default)[sku][1][headers.index("较上期") - 1] == _expected(
        current, month_before, sku)

    yoy = client.get(f"/skus?{PERIOD}&compare=yoy").text
    headers = _headers(yoy)
    assert _rows(yoy)[sku][1][headers.index("同比") - 1] == "—"


def test_overview_top_skus_and_exports_follow_the_comparison(
    client: TestClient, gmv: dict[str, dict[str, float]]
) -> None:
    current, week_before = gmv["current"], gmv["wow"]

    overview = client.get(f"/?{PERIOD}&compare=wow").text
    top = overview[overview.index('class="data'):]
    headers = _headers(top)
    assert headers[-1] == "较上周同期"
    assert _rows(top)["1001"][1][-1] == _expected(current, week_before, "1001")

    body = client.get(f"/skus.csv?{PERIOD}&compare=wow").content.decode("utf-8-sig")
    table = list(csv.reader(io.StringIO(body)))
    assert table[0][-1] == "较上周同期"
    row = next(r for r in table[1:] if r[0] == '="1001"')
    change = current["1001"] / week_before["1001"] - 1
    assert row[-1] == f"{change * 100:.2f}%"

    bad = client.get(f"/skus.csv?{PERIOD}&compare=lastcentury")
    assert bad.status_code == 422
