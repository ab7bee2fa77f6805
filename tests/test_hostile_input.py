"""Hostile input and careless users: bounded periods, calendar edges, upload and text limits,
target values out of range (sent or already stored), formulas in CSV exports, security
headers on every response."""

from __future__ import annotations

import asyncio
import csv
import io
import re
from collections.abc import Iterator
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text
from starlette.exceptions import HTTPException
from web_seed import STORE, fast_hashing, login  # noqa: F401

from storeops.api.app import create_app
from storeops.api.limits import BodyLimit
from storeops.catalog.models import Product
from storeops.db.engine import session_factory, unit_of_work
from storeops.metrics.periods import (
    MAX_DAYS_BY,
    PeriodError,
    check_range,
    fitting_cut,
    parse_day,
    previous_period,
)
from storeops.metrics.targets import TargetError, check_value, get_targets
from storeops.web.table_export import id_from_csv

PERIOD = {"from": "2026-10-02", "to": "2026-10-31"}
STATIC = Path(__file__).resolve().parents[1] / "storeops" / "web" / "static"

pytestmark = pytest.mark.usefixtures("fast_hashing")


@pytest.fixture
def sqlite_client(sqlite_db_url: str) -> Iterator[tuple[TestClient, str, int]]:
    """The seeded store on SQLite only: these paths do not depend on the backend."""
    from web_seed import seed_store

    store_id = seed_store(sqlite_db_url)
    with TestClient(create_app(sqlite_db_url, secret_key="test-secret")) as c:
        yield c, sqlite_db_url, store_id


def _csrf(client: TestClient, path: str = "/") -> dict[str, str]:
    """The page's CSRF form field, where the page has one."""
    found = re.search(r'name="csrf_token" value="([^"]+)"', client.get(path).text)
    return {"csrf_token": found.group(1)} if found else {}


# --- periods ---------------------------------------------------------------------------------

def test_period_limits_per_cut_and_calendar_edges() -> None:
    day = MAX_DAYS_BY["day"]
    check_range(date(2020, 1, 1), date(2020, 1, 1).fromordinal(
        date(2020, 1, 1).toordinal() + day - 1), "day")
    with pytest.raises(PeriodError, match=f"at most {day} days"):
        check_range(date(2020, 1, 1), date(2023, 1, 10), "day")
    check_range(date(2015, 1, 1), date(2023, 12, 31), "month")  # 9 years by month: fine
    with pytest.raises(PeriodError, match="at most 3660 days"):
        check_range(date(2000, 1, 1), date(2020, 12, 31))
    for text_ in ("0001-01-01", "9999-12-31", "1969-12-31", "2100-01-01"):
        with pytest.raises(PeriodError, match="outside the calendar"):
            parse_day(text_)
    for text_ in ("20261002", "2026-W40-1", "2026-10-02T00:00", "2026-13-01"):
        with pytest.raises(PeriodError, match="expected YYYY-MM-DD"):
            parse_day(text_)
    with pytest.raises(PeriodError, match="period before"):
        previous_period(date(1970, 1, 1), date(1970, 1, 5))
    assert previous_period(date(2026, 10, 1), date(2026, 10, 31)) == (
        date(2026, 8, 31), date(2026, 9, 30))
    assert fitting_cut(date(2026, 1, 1), date(2026, 12, 31)) == "day"
    assert fitting_cut(date(2018, 1, 1), date(2026, 12, 31)) == "week"


@pytest.mark.parametrize(
    ("path", "params", "message"),
    [
        # The request that drove the server to 19.6 GB.
        ("/api/v1/kpi/series", {"from": "0001-01-01", "to": "9999-12-31", "by": "day"},
         "outside the calendar"),
        ("/api/v1/kpi/series", {"from": "2020-01-01", "to": "2026-10-31", "by": "day"},
         f"at most {MAX_DAYS_BY['day']} days"),
        ("/api/v1/kpi/series", {"from": "1990-01-01", "to": "2026-10-31", "by": "month"},
         "at most 3660 days"),
        ("/api/v1/kpi/summary", {"from": "1971-01-01", "to": "2099-12-31"}, "at most 3660 days"),
        ("/api/v1/kpi/by/sku", {"from": "1971-01-01", "to": "2099-12-31"}, "at most 3660 days"),
        ("/api/v1/kpi/compare", {"from": "0001-01-01", "to": "0001-01-05"},
         "outside the calendar"),
        ("/api/v1/kpi/compare", {"from": "1970-01-01", "to": "1970-01-05"}, "period before"),
        ("/api/v1/kpi/summary", {"to": "1970-01-05"}, "outside the calendar"),
        ("/api/v1/kpi/summary", {"from": "2099-12-31"}, "outside the calendar"),
        ("/api/v1/funnel", {"from": "9999-12-31", "to": "9999-12-31"}, "outside the calendar"),
        ("/api/v1/targets", {"month": "0001-01"}, "outside the calendar"),
    ],
)
def test_unbounded_or_edge_periods_are_a_422_that_says_the_limit(
    sqlite_client: tuple[TestClient, str, int], path: str, params: dict[str, str],
    message: str,
) -> None:
    client, _, _ = sqlite_client
    login(client, "analyst")
    r = client.get(path, params=params)
    assert r.status_code == 422, r.text
    assert message in r.json()["detail"]


def test_long_periods_within_their_cut_answer(
    sqlite_client: tuple[TestClient, str, int],
) -> None:
    client, _, _ = sqlite_client
    login(client, "analyst")
    r = client.get("/api/v1/kpi/series", params={"from": "2017-01-01", "to": "2026-10-31",
                                                 "by": "month"})
    assert r.status_code == 200 and len(r.json()["rows"]) == 118
    assert client.get("/api/v1/kpi/compare", params={"from": "1970-01-06",
                                                      "to": "1970-01-10"}).status_code == 200


def test_pages_show_period_errors_instead_of_failing(
    sqlite_client: tuple[TestClient, str, int],
) -> None:
    client, _, _ = sqlite_client
    login(client, "owner")
    for query in ("from=0001-01-01&to=0001-01-05", "to=1970-01-02", "from=2099-12-31",
                  "from=1971-01-01&to=2099-12-31"):
        for path in ("/", "/skus", "/skus.csv"):
            r = client.get(f"{path}?{query}")
            assert r.status_code == 422, (path, query, r.status_code)
            assert "text/html" in r.headers["content-type"]
    # The overview compares with the period before, which would start before the calendar.
    r = client.get("/?from=1970-01-01&to=1970-01-05")
    assert r.status_code == 422 and "的上一周期早于 1970-01-01" in r.text  # zh-CN by default
    # Five years on the overview: the trend is drawn by week instead of refused.
    r = client.get("/?from=2021-11-01&to=2026-10-31")
    assert r.status_code == 200
    assert "2026-W44" in r.text and "2026-10-31" not in r.text.split('id="chart-options"')[1]


# --- text and upload limits ------------------------------------------------------------------

def test_query_values_have_length_limits(sqlite_client: tuple[TestClient, str, int]) -> None:
    client, _, _ = sqlite_client
    login(client, "analyst")
    r = client.get("/api/v1/kpi/summary", params={"store": "店" * 121})
    assert r.status_code == 422 and "at most 120" in r.json()["detail"]
    r = client.get("/api/v1/kpi/summary", params={"store": "a\x00b"})
    assert r.status_code == 422 and "control characters" in r.json()["detail"]
    r = client.get("/skus", params={"q": "x" * 101})
    assert r.status_code == 422 and "搜索长 101 个字符，最多 100 个" in r.text  # zh-CN
    assert client.get("/skus", params={"q": "x" * 100}).status_code == 200
    r = client.get("/api/v1/me", params={"junk": "y" * 5000})
    assert r.status_code == 422 and "at most" in r.json()["detail"]


def test_form_values_have_length_limits(sqlite_client: tuple[TestClient, str, int]) -> None:
    client, _, _ = sqlite_client
    login(client, "owner")
    files = {"file": ("a.csv", b"a,b\n1,2\n", "text/csv")}
    r = client.post("/api/v1/imports", params={"store": "s" * 121}, data={"kind": "orders"},
                    files=files)
    assert r.status_code == 422 and "at most 120" in r.json()["detail"]
    r = client.post("/import", data={"kind": "orders", "format": "jd", "store": "s" * 121,
                                     **_csrf(client, "/import")}, files=files)
    assert r.status_code == 422 and "120" in r.text
    r = client.post(f"/targets?store={STORE}", data={"month": "2026-10", "gmv": "9" * 41,
                                                     **_csrf(client)})
    assert r.status_code == 422


def test_uploads_stop_at_the_size_limit(sqlite_client: tuple[TestClient, str, int],
                                        monkeypatch: pytest.MonkeyPatch) -> None:
    client, db, _ = sqlite_client
    login(client, "owner")
    monkeypatch.setenv("STOREOPS_MAX_UPLOAD_MB", "0.01")  # 10 KB
    big = b"InvoiceNo,StockCode\n" + b"536365,85123A\n" * 2000  # 28 KB
    # Within the request's allowance for form overhead, but over the limit for the file.
    r = client.post("/api/v1/imports", params={"store": "big"}, data={"kind": "orders"},
                    files={"file": ("big.csv", big, "text/csv")})
    assert r.status_code == 413
    assert "upload limit of 0.01 MB" in r.json()["detail"] and "big.csv" in r.json()["detail"]
    r = client.post("/import", data={"kind": "orders", "format": "jd", "store": "big",
                                     **_csrf(client, "/import")},
                    files={"file": ("big.csv", big, "text/csv")})
    assert r.status_code == 413 and "STOREOPS_MAX_UPLOAD_MB" in r.text
    # A body far over the limit is refused from its Content-Length, before it is read.
    huge = b"x" * (3 << 20)
    r = client.post("/api/v1/imports", data={"kind": "orders"},
                    files={"file": ("huge.csv", huge, "text/csv")})
    assert r.status_code == 413 and "upload limit" in r.json()["detail"]
    with session_factory(db)() as s:
        assert s.execute(text("SELECT COUNT(*) FROM stores WHERE name = 'big'")).scalar() == 0
    # JSON bodies are small.
    r = client.put("/api/v1/targets", content=b'{"month": "' + b"1" * (2 << 20) + b'"}',
                   headers={"content-type": "application/json"})
    assert r.status_code == 413


def test_body_limit_counts_a_stream_without_length(monkeypatch: pytest.MonkeyPatch) -> None:
    """Chunked uploads declare no length: the limit is counted as the bytes arrive."""
    monkeypatch.setenv("STOREOPS_MAX_UPLOAD_MB", "1")
    chunks = [b"x" * (1 << 20)] * 10  # 10 MB in 1 MB chunks; the limit is 1 + 2 MB
    sent: list[int] = []

    async def receive() -> dict[str, Any]:
        body = chunks[len(sent)]
        sent.append(len(body))
        return {"type": "http.request", "body": body, "more_body": len(sent) < len(chunks)}

    async def app(scope: Any, receive_: Any, send: Any) -> None:
        while (await receive_()).get("more_body"):
            pass

    scope = {"type": "http", "method": "POST",
             "headers": [(b"content-type", b"multipart/form-data; boundary=x")]}
    with pytest.raises(HTTPException) as info:
        asyncio.run(BodyLimit(app)(scope, receive, lambda m: None))
    assert info.value.status_code == 413
    assert len(sent) == 4  # stopped at the limit, not after the whole stream


# --- targets ---------------------------------------------------------------------------------

@pytest.mark.parametrize(
    ("metric", "value", "message"),
    [
        ("gmv", "-1", "≥ 0"), ("gmv", "NaN", "finite"), ("gmv", "Infinity", "finite"),
        ("gmv", "1e400", "digits"), ("gmv", "1234567890123456", "at most 15"),
        ("gmv", "12.345", "cents"), ("aov", "-0.01", "≥ 0"), ("uv", "10.5", "whole"),
        ("conversion_rate", "1.5", "fraction"), ("conversion_rate", "-0.1", "≥ 0"),
        ("conversion_rate", "0.1234567", "decimal places"), ("gmv", "lots", "not a number"),
    ],
)
def test_target_values_out_of_range_are_refused(metric: str, value: str, message: str) -> None:
    with pytest.raises(TargetError, match=message):
        check_value(metric, value)


def test_sensible_target_values_are_kept_exactly() -> None:
    assert check_value("gmv", "999999999999.99") == Decimal("999999999999.99")
    assert check_value("gmv", "1200000") == Decimal("1200000")
    assert check_value("uv", "300000") == Decimal("300000")
    assert check_value("conversion_rate", "0.035") == Decimal("0.035")
    assert check_value("conversion_rate", "1") == Decimal("1")


def test_api_refuses_bad_targets_and_stores_nothing(
    sqlite_client: tuple[TestClient, str, int],
) -> None:
    client, db, sid = sqlite_client
    login(client, "operator")
    ok = client.put("/api/v1/targets", json={"month": "2026-10", "targets": {"gmv": "1000"}})
    assert ok.status_code == 200, ok.text
    for targets in ({"gmv": "-5"}, {"gmv": "1e400"}, {"gmv": 1e308}, {"aov": "NaN"},
                    {"uv": "2", "gmv": "12345678901234567"}, {"conversion_rate": 2}):
        r = client.put("/api/v1/targets", json={"month": "2026-10", "targets": targets})
        assert r.status_code == 422, (targets, r.text)
        assert isinstance(r.json()["detail"], str)
    with session_factory(db)() as s:
        assert get_targets(s, sid, "2026-10") == {"gmv": Decimal("1000")}


def test_page_form_shows_the_error_and_stores_nothing(
    sqlite_client: tuple[TestClient, str, int],
) -> None:
    client, db, sid = sqlite_client
    login(client, "operator")
    r = client.post(f"/targets?store={STORE}&from=2026-10-02&to=2026-10-31",
                    data={"month": "2026-10", "gmv": "-500", "aov": "120", **_csrf(client)})
    assert r.status_code == 422
    assert "目标未保存" in r.text and "不小于 0" in r.text
    assert 'value="-500"' in r.text  # what was typed stays in the form
    with session_factory(db)() as s:
        assert get_targets(s, sid, "2026-10") == {}


@pytest.mark.parametrize("stored", ["1e400", "-3", "NaN", "Infinity", "abc", "1" * 40])
def test_a_stored_value_never_breaks_a_page(
    sqlite_client: tuple[TestClient, str, int], stored: str,
) -> None:
    client, db, sid = sqlite_client
    with unit_of_work(db) as s:  # written around the checks, as straight SQL would
        for metric in ("gmv", "conversion_rate", "aov", "uv"):
            s.execute(text(
                "INSERT INTO monthly_targets (store_id, month, metric, value, updated_at) "
                "VALUES (:sid, '2026-10', :metric, :value, CURRENT_TIMESTAMP)"
            ), {"sid": sid, "metric": metric, "value": stored})
    login(client, "owner")
    r = client.get("/", params=PERIOD)
    assert r.status_code == 200
    assert "未设定目标" in r.text
    api = client.get("/api/v1/targets", params={**PERIOD, "month": "2026-10"})
    assert api.status_code == 200 and api.json()["targets"] == {}


# --- CSV exports -----------------------------------------------------------------------------

def test_sku_csv_neutralises_formulas_but_not_numbers(
    sqlite_client: tuple[TestClient, str, int],
) -> None:
    client, db, sid = sqlite_client
    hostile = {"9001": "=HYPERLINK(\"http://evil\",\"x\")", "9002": "+1+cmd|' /C calc'!A0",
               "9003": "-2+3", "9004": "@SUM(A1:A9)", "9005": "\t=1+1", "9006": "\r=1"}
    with unit_of_work(db) as s:
        for sku, title in hostile.items():
            s.add(Product(store_id=sid, platform_sku_id=sku, title=title, category="=cmd()",
                          status="on_sale", seller_code="-12.50"))
    login(client, "analyst")
    r = client.get("/skus.csv", params={**PERIOD, "lang": "en"})
    assert r.status_code == 200
    rows = list(csv.reader(io.StringIO(r.content.decode("utf-8-sig"))))
    header = rows[0]
    by_sku = {id_from_csv(row[0]): dict(zip(header, row, strict=True)) for row in rows[1:]}
    for sku, title in hostile.items():
        assert by_sku[sku]["Product"] == "'" + title
        assert by_sku[sku]["Category"] == "'=cmd()"
        assert by_sku[sku]["Seller code"] == '="-12.50"'  # an ID: text to Excel, not -12.5
    gmv = next(k for k in header if k.startswith("GMV"))
    assert all(not row[gmv].startswith("'") for row in by_sku.values())
    assert Decimal(by_sku["2002"][gmv]) > 0


# --- security headers and the docs page -----------------------------------------------------

def test_security_headers_on_every_response(sqlite_client: tuple[TestClient, str, int]) -> None:
    client, _, _ = sqlite_client
    responses = [client.get("/login"), client.get("/api/v1/me"), client.get("/static/app.css"),
                 client.get("/api/v1/docs"), client.get("/api/v1/openapi.json"),
                 client.get("/no-such-page"), client.get("/", follow_redirects=False)]
    login(client, "analyst")
    responses += [client.get("/", params=PERIOD), client.get("/api/v1/kpi/summary"),
                  client.get("/skus.csv", params=PERIOD), client.get("/?from=bad")]
    for r in responses:
        h = r.headers
        assert h["x-frame-options"] == "DENY", r.url
        assert h["x-content-type-options"] == "nosniff"
        assert h["referrer-policy"] == "same-origin"
        csp = h["content-security-policy"]
        assert "frame-ancestors 'none'" in csp and "script-src 'self'" in csp
        assert "unsafe-eval" not in csp and "script-src 'self' 'unsafe-inline'" not in csp


def test_pages_need_no_inline_script(sqlite_client: tuple[TestClient, str, int]) -> None:
    """script-src 'self' blocks inline scripts: every executable script is a file."""
    client, _, _ = sqlite_client
    login(client, "owner")
    pages = [client.get(p, params=PERIOD).text for p in ("/", "/skus", "/import")]
    pages += [client.get("/api/v1/docs").text]
    for html in pages:
        for attrs, body in re.findall(r"<script([^>]*)>(.*?)</script>", html, re.S):
            assert "src=" in attrs or 'type="application/json"' in attrs, attrs
            assert "src=" not in attrs or not body.strip()
        assert not re.search(r"\son[a-z]+=", html)  # no inline event handlers


def test_api_docs_are_served_from_the_package(sqlite_client: tuple[TestClient, str, int]) -> None:
    client, _, _ = sqlite_client
    r = client.get("/api/v1/docs")
    assert r.status_code == 200
    assert "cdn" not in r.text.lower() and "http" not in r.text.split("<body>")[1]
    srcs = re.findall(r'(?:src|href)="([^"]+)"', r.text)
    assert "/static/swagger-ui/swagger-ui-bundle.js" in srcs
    for src in srcs:
        assert src.startswith("/"), src
        assert client.get(src).status_code == 200, src
    assert 'data-openapi-url="/api/v1/openapi.json"' in r.text
    licence = (STATIC / "swagger-ui" / "LICENSE.txt").read_text()
    assert "Apache License" in licence
